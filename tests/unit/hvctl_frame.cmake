# hvctl's client (cli/client.c) over the local frame protocol against a test
# double server on a unix socket: the fallback to gRPC and the failures
# (docs/api.md "hvctl and the frame protocol", FRAME-020..).
if(TARGET hvctl)
  pkg_check_modules(HV_FRAME_GRPC REQUIRED IMPORTED_TARGET grpc)
  hv_criterion_test(hvctl_frame_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvctl_frame_test.c ${HV_SOURCE_DIR}/cli/client.c
    LIBS hvcgrpc hvcommon hvproto PkgConfig::HV_FRAME_GRPC pthread
    INCLUDES ${HV_SOURCE_DIR}/cli
    LABELS unit)
endif()

# hvctl's lazily loaded gRPC (cli/grpc_lazy.h) when the library is missing:
# client.c and grpc_setup.c built as hvctl builds them, naming a soname that
# does not exist, and not linked with gRPC.
if(TARGET hvctl)
  hv_criterion_test(hvctl_grpc_lazy_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvctl_grpc_lazy_test.c ${HV_SOURCE_DIR}/cli/client.c
            ${HV_SOURCE_DIR}/cli/grpc_setup.c
    LIBS hvcommon hvproto
    INCLUDES ${HV_SOURCE_DIR}/cli ${HV_FRAME_GRPC_INCLUDE_DIRS}
    LABELS unit)
  target_compile_definitions(hvctl_grpc_lazy_test PRIVATE HVC_GRPC_LAZY
    HVC_GRPC_SONAME="libgrpc-missing.so.0")
endif()
