# agent_audit_anchor: the audit sequence kept by hv-core catches a database
# and head file put back together (docs/mgmt-abi.md MGMT-630/631). Deferred:
# hvqemu comes from a later fragment.
function(hv_agent_audit_anchor_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hvqemu)
    pkg_check_modules(HV_ANCHOR_SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
    hv_criterion_test(agent_audit_anchor
      SOURCES ${HV_SOURCE_DIR}/tests/integration/agent_audit_anchor.c
              ${HV_SOURCE_DIR}/tests/integration/agent_harness.c ${HV_SOURCE_DIR}/tests/integration/agent_stack.c
      LIBS hvqemu PkgConfig::HV_ANCHOR_SQLITE3
      INCLUDES ${HV_SOURCE_DIR}/tests/integration
      LABELS "integration;agent;qemu;store;audit;ota"
      TIMEOUT 600)
    add_dependencies(agent_audit_anchor hv-agent hvctl)
    if(TARGET hv-core)
      add_dependencies(agent_audit_anchor hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_agent_audit_anchor_test)
