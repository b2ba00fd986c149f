# hvcore_virtio_bad.cmake - a misbehaving bare-metal guest against hv-core's
# virtio-rng device under QEMU (docs/guest-abi.md GABI-486, REQ-SAF-09).
hv_criterion_test(hvcore_virtio_bad
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_virtio_bad.c
  LIBS hvcore_mgmt_util
  LABELS "integration;hvcore;qemu;virtio"
  TIMEOUT 900)
if(TARGET hv-core)
  add_dependencies(hvcore_virtio_bad hv-core)
endif()
