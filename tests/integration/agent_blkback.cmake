# agent_blkback: hv-agent starts, restarts, adopts and stops the virtio-blk
# backend hv-blkback (MGMT-865..867), the test playing hv-core's side of the
# request ring in the test double's RAM file.
hv_require_program(HV_CURL curl "the virtio-blk backend test scrapes hv-agent with curl")
if(TARGET hv-agent AND TARGET hvctl AND TARGET hv-blkback)
  hv_criterion_test(agent_blkback
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/agent_blkback.c ${CMAKE_CURRENT_LIST_DIR}/agent_harness.c
    INCLUDES ${CMAKE_CURRENT_LIST_DIR}
    LABELS "component;agent;virtio"
    TIMEOUT 300
    DOUBLE)
  target_compile_definitions(agent_blkback PRIVATE HV_CURL="${HV_CURL}")
  add_dependencies(agent_blkback hv-agent hvctl hv-blkback)
endif()
