# agent_image: LoadImage end to end (real hv-core under QEMU, hv-agent, hvctl,
# and cli/client.c as a raw gRPC client for uploads hvctl would never send).
# Deferred: hvqemu and hvcore_mgmt_util come from later fragments.
function(hv_agent_image_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hvqemu AND TARGET hvcore_mgmt_util)
    pkg_check_modules(HV_IMG_GRPC REQUIRED IMPORTED_TARGET grpc)
    hv_criterion_test(agent_image
      SOURCES ${HV_SOURCE_DIR}/tests/integration/agent_image.c
              ${HV_SOURCE_DIR}/tests/integration/agent_harness.c ${HV_SOURCE_DIR}/tests/integration/agent_stack.c
              ${HV_SOURCE_DIR}/tests/integration/agent_store_util.c ${HV_SOURCE_DIR}/cli/client.c
      LIBS hvcore_mgmt_util hvqemu hvcgrpc hvcommon hvproto PkgConfig::HV_IMG_GRPC
      INCLUDES ${HV_SOURCE_DIR}/tests/integration ${HV_SOURCE_DIR}/cli
      LABELS "integration;agent;qemu"
      TIMEOUT 600)
    add_dependencies(agent_image hv-agent hvctl)
    if(TARGET hv-core)
      add_dependencies(agent_image hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_agent_image_test)
