# OTA updates through the real stack (hvctl_ota_stack.c): hv-core under QEMU,
# hv-agent, hvctl, images from scripts/guest-image.sh. Deferred like
# hvctl_safety.cmake: the QEMU fixture library comes from the hv-core suite.
function(hv_hvctl_ota_stack_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hvqemu AND TARGET hvota)
    pkg_check_modules(HVCTL_OS_JANSSON REQUIRED IMPORTED_TARGET jansson)
    hv_criterion_test(hvctl_ota_stack
      SOURCES ${HV_SOURCE_DIR}/tests/integration/hvctl_ota_stack.c
              ${HV_SOURCE_DIR}/tests/integration/shell_testlib.c
              ${HV_SOURCE_DIR}/tests/integration/hvctl_testlib.c
              ${HV_SOURCE_DIR}/tests/integration/agent_harness.c
              ${HV_SOURCE_DIR}/tests/integration/agent_stack.c
      LIBS hvqemu PkgConfig::HVCTL_OS_JANSSON
      INCLUDES ${HV_SOURCE_DIR}/tests/integration
      LABELS "integration;cli;qemu;ota"
      TIMEOUT 3600)
    # WatchHealth against /metrics: the Python client (python3-grpcio)
    include(${HV_SOURCE_DIR}/tests/integration/python_client.cmake)
    target_compile_definitions(hvctl_ota_stack PRIVATE HV_PYTHON3="${HV_SYSTEM_PYTHON}")
    add_dependencies(hvctl_ota_stack hv-agent hvctl)
    if(TARGET hv-core)
      add_dependencies(hvctl_ota_stack hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_hvctl_ota_stack_test)
