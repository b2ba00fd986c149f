# agent_audit: hv-agent's keyed audit record attacked on its files
# (docs/security.md "The audit record"). agent_audit runs hv-agent alone;
# agent_audit_stack the real hv-core under QEMU. Deferred: hvqemu comes from
# a later fragment.
function(hv_agent_audit_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hvqemu)
    pkg_check_modules(HV_AUDIT_SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
    hv_criterion_test(agent_audit
      SOURCES ${HV_SOURCE_DIR}/tests/integration/agent_audit.c
              ${HV_SOURCE_DIR}/tests/integration/agent_harness.c ${HV_SOURCE_DIR}/tests/integration/agent_stack.c
      LIBS hvqemu PkgConfig::HV_AUDIT_SQLITE3
      INCLUDES ${HV_SOURCE_DIR}/tests/integration
      LABELS "integration;agent;qemu;store;audit"
      TIMEOUT 900)
    add_dependencies(agent_audit hv-agent hvctl)
    if(TARGET hv-core)
      add_dependencies(agent_audit hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_agent_audit_test)
