# Unit tests of the store (store/, docs/store.md): real sqlite files in a fresh mkdtemp
# directory per test. Links the store's internal header for migration and hash helpers.
if(TARGET hvstore)
  hv_criterion_test(store_unit_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/store_testlib.c
            ${CMAKE_CURRENT_LIST_DIR}/store_open_test.c
            ${CMAKE_CURRENT_LIST_DIR}/store_migrate_test.c
            ${CMAKE_CURRENT_LIST_DIR}/store_vm_test.c
            ${CMAKE_CURRENT_LIST_DIR}/store_vmcache_test.c
            ${CMAKE_CURRENT_LIST_DIR}/store_config_test.c
            ${CMAKE_CURRENT_LIST_DIR}/store_audit_test.c
            ${CMAKE_CURRENT_LIST_DIR}/store_fault_slot_test.c
            ${CMAKE_CURRENT_LIST_DIR}/store_seal_test.c
            ${CMAKE_CURRENT_LIST_DIR}/store_pending_test.c
            ${CMAKE_CURRENT_LIST_DIR}/store_retain_test.c
    LIBS hvstore
    INCLUDES ${CMAKE_CURRENT_LIST_DIR} ${HV_SOURCE_DIR}/store
    LABELS unit store
    TIMEOUT 300)
endif()
