# `hvctl ota bundle|info` and the update PKI of `hvctl pki`, run as a user
# runs them (the real hvctl binary, files only; docs/ota.md OTA-050/051), with
# an image made by scripts/guest-image.sh.
if(TARGET hvctl AND TARGET hvota)
  pkg_check_modules(HVCTL_OTA_JANSSON REQUIRED IMPORTED_TARGET jansson)
  hv_criterion_test(hvctl_ota
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvctl_ota.c
    LIBS PkgConfig::HVCTL_OTA_JANSSON
    LABELS "integration;cli;ota"
    TIMEOUT 120)
  add_dependencies(hvctl_ota hvctl)
  if(TARGET hv-core)
    add_dependencies(hvctl_ota hv-core)
  endif()
endif()
