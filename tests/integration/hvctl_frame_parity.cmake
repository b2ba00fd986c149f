# hvctl_frame_parity: the real hvctl against the real hv-agent (hv-core under
# QEMU) prints the same over the local frame protocol as over gRPC (--grpc).
# Deferred: hvqemu comes from a later fragment.
function(hv_hvctl_frame_parity_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hvqemu)
    pkg_check_modules(HVCTL_FP_JANSSON REQUIRED IMPORTED_TARGET jansson)
    hv_criterion_test(hvctl_frame_parity
      SOURCES ${HV_SOURCE_DIR}/tests/integration/hvctl_frame_parity.c
              ${HV_SOURCE_DIR}/tests/integration/agent_harness.c
      LIBS hvqemu PkgConfig::HVCTL_FP_JANSSON
      INCLUDES ${HV_SOURCE_DIR}/tests/integration
      LABELS "integration;cli;qemu"
      TIMEOUT 900)
    add_dependencies(hvctl_frame_parity hv-agent hvctl)
    if(TARGET hv-core)
      add_dependencies(hvctl_frame_parity hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_hvctl_frame_parity_test)
