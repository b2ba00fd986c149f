# hv-agent unit tests: the event log over hvlink and the fake management
# region (the test double of hv-core, tests/double/), and the status mapping tables.
if(TARGET hvagent)
  find_library(HV_HOST_FDT_LIB fdt REQUIRED)
  hv_criterion_test(agent_eventlog_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/agent_eventlog_test.c
    LIBS hvagent ${HV_HOST_FDT_LIB} pthread
    LABELS unit
    DOUBLE)
  hv_criterion_test(agent_status_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/agent_status_test.c
    LIBS hvagent
    LABELS unit)
endif()
if(TARGET hvagent)
  # The budget of refusal rows in the audit log (docs/security.md).
  hv_criterion_test(agent_auditlimit_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/agent_auditlimit_test.c
    LIBS hvagent
    LABELS unit)
endif()
if(TARGET hvauth)
  # docs/security.md's role table against agent/auth/roles.c.
  hv_criterion_test(agent_rolesdoc_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/agent_rolesdoc_test.c
    LIBS hvauth
    LABELS unit)
endif()
if(TARGET hvagent)
  # Reconciliation takes its turn in the operation queue (docs/reconcile.md).
  hv_criterion_test(agent_reconcile_queue_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/agent_reconcile_queue_test.c
    LIBS hvagent ${HV_HOST_FDT_LIB} pthread
    LABELS unit
    DOUBLE)
endif()
if(TARGET hvrpc)
  # Request string fields checked before decoding (agent/rpc/rpc_wire.c).
  hv_criterion_test(agent_wire_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/agent_wire_test.c
    LIBS hvrpc
    LABELS unit)
endif()
if(TARGET hvagent)
  # The GET_STATS record check (MGMT-180) against the test double's records.
  find_library(HV_HOST_FDT_LIB fdt REQUIRED)
  hv_criterion_test(agent_stats_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/agent_stats_test.c
    LIBS hvagent ${HV_HOST_FDT_LIB} pthread
    LABELS unit
    DOUBLE)
endif()
if(TARGET hvagent)
  # Adoption of the boot configuration's VMs into the store (docs/reconcile.md).
  hv_criterion_test(agent_adopt_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/agent_adopt_test.c
    LIBS hvagent ${HV_HOST_FDT_LIB} pthread
    LABELS unit
    DOUBLE)
endif()
if(TARGET hvcommon)
  # The loader of hv-agent's optional libraries (agent/common/lazylib.h).
  hv_criterion_test(agent_lazylib_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/agent_lazylib_test.c
    LIBS hvcommon
    LABELS unit)
endif()
