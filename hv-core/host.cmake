# hv-core/host.cmake - hv-core's portable C, built for host programs (hvctl,
# unit tests, fuzzers) from this one definition. Include it from a host
# CMakeLists.txt or tests fragment; it defines:
#
#   hvcore_host           static library of the portable sources. Its users see
#                         hv-core/include only: hvvmconfig.h (docs/vm-config.md),
#                         hvmgmt.h, hvguest.h.
#   hvcore_host_internal  hvcore_host plus the internal headers of those
#                         sources (fmt.h, mgmt_cmd.h, sha256.h), for the tests
#                         that check them from inside.
#   HVCORE_INCLUDE_DIR, HVCORE_HOST_INTERNAL_DIRS, HVCORE_HOST_INCLUDE_FLAGS
#   (-I flags of both, for builds that call a compiler directly),
#   HVCORE_HOST_HEADERS (the headers behind those flags) and the
#   source lists HVCORE_FMT_SOURCES, HVCORE_VMCFG_SOURCES,
#   HVCORE_MGMT_CMD_SOURCES, HVCORE_SHA256_SOURCES, HVCORE_HOST_SOURCES;
#   HVCORE_VIRTQ_SOURCES, HVCORE_VIRTQ_INCLUDE_FLAGS and HVCORE_VIRTQ_HEADERS
#   (the split-virtqueue walker, self-contained, for its fuzzer).
set(HVCORE_DIR ${CMAKE_CURRENT_LIST_DIR})
set(HVCORE_INCLUDE_DIR ${HVCORE_DIR}/include)
set(HVCORE_HOST_INTERNAL_DIRS
  ${HVCORE_DIR}/core/mgmt ${HVCORE_DIR}/core/base ${HVCORE_DIR}/lib)

set(HVCORE_FMT_SOURCES ${HVCORE_DIR}/lib/fmt.c)
# the VM configuration interface: blob reader, rules, cross-VM rules, guest device tree
set(HVCORE_VMCFG_SOURCES
  ${HVCORE_DIR}/core/config/vmcfg_read.c
  ${HVCORE_DIR}/core/config/vmconfig.c
  ${HVCORE_DIR}/core/config/vmconfig_system.c
  ${HVCORE_DIR}/core/config/guest_fdt.c)
# the management command decoder; its back end (mgmt_be_*) is the user's
set(HVCORE_MGMT_CMD_SOURCES ${HVCORE_DIR}/core/mgmt/mgmt_cmd.c)
set(HVCORE_SHA256_SOURCES ${HVCORE_DIR}/core/base/sha256.c)
# the split-virtqueue walker (GABI-483, GABI-486): portable, with its own header
set(HVCORE_VIRTQ_SOURCES ${HVCORE_DIR}/core/virtio/virtqueue.c)
set(HVCORE_VIRTQ_INCLUDE_FLAGS -I${HVCORE_DIR}/core/virtio)
set(HVCORE_VIRTQ_HEADERS ${HVCORE_DIR}/core/virtio/virtqueue.h)
set(HVCORE_HOST_SOURCES ${HVCORE_FMT_SOURCES} ${HVCORE_VMCFG_SOURCES}
  ${HVCORE_MGMT_CMD_SOURCES} ${HVCORE_SHA256_SOURCES})

# every header those sources may include, for builds that track them by hand
file(GLOB HVCORE_HOST_HEADERS ${HVCORE_INCLUDE_DIR}/*.h)
foreach(dir ${HVCORE_HOST_INTERNAL_DIRS})
  file(GLOB headers ${dir}/*.h)
  list(APPEND HVCORE_HOST_HEADERS ${headers})
endforeach()

set(HVCORE_HOST_INCLUDE_FLAGS -I${HVCORE_INCLUDE_DIR})
foreach(dir ${HVCORE_HOST_INTERNAL_DIRS})
  list(APPEND HVCORE_HOST_INCLUDE_FLAGS -I${dir})
endforeach()

if(NOT TARGET hvcore_host)
  find_library(HVCORE_FDT_LIB fdt REQUIRED)
  add_library(hvcore_host STATIC ${HVCORE_HOST_SOURCES})
  target_include_directories(hvcore_host PUBLIC ${HVCORE_INCLUDE_DIR}
                                         PRIVATE ${HVCORE_HOST_INTERNAL_DIRS})
  target_link_libraries(hvcore_host PUBLIC ${HVCORE_FDT_LIB})

  add_library(hvcore_host_internal INTERFACE)
  target_include_directories(hvcore_host_internal INTERFACE ${HVCORE_HOST_INTERNAL_DIRS})
  target_link_libraries(hvcore_host_internal INTERFACE hvcore_host)
endif()
