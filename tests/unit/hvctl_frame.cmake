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
