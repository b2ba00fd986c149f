# The local frame protocol on hv-agent's unix sockets (docs/api.md FRAME-001..):
# frames and gRPC side by side on the same sockets, hv-core played by its
# test double, the gRPC side by the independent Python client.
include(${CMAKE_CURRENT_LIST_DIR}/python_client.cmake)
if(TARGET hv-agent)
  hv_criterion_test(agent_frame
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/agent_frame.c ${CMAKE_CURRENT_LIST_DIR}/agent_harness.c
            ${CMAKE_CURRENT_LIST_DIR}/double_vms.c
    LIBS hvcommon hvproto
    INCLUDES ${CMAKE_CURRENT_LIST_DIR}
    LABELS "component;agent;python"
    TIMEOUT 300
    DOUBLE)
  target_compile_definitions(agent_frame PRIVATE HV_SYSTEM_PYTHON="${HV_SYSTEM_PYTHON}")
  add_dependencies(agent_frame hv-agent)
endif()
