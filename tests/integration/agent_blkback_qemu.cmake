# agent_blkback_qemu: hv-agent runs a VM's virtio-blk backend through the real
# stack (hv-core under QEMU, the blk-test guest, hv-agent, hvctl): a killed
# backend is restarted, a killed hv-agent leaves it serving. Deferred: hvqemu
# and hvcore_mgmt_util come from fragments included later.
function(hv_agent_blkback_qemu_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hv-blkback AND TARGET hvqemu
     AND TARGET hvcore_mgmt_util)
    pkg_check_modules(AGENT_BLK_JANSSON REQUIRED IMPORTED_TARGET jansson)
    hv_criterion_test(agent_blkback_qemu
      SOURCES ${HV_SOURCE_DIR}/tests/integration/agent_blkback_qemu.c
              ${HV_SOURCE_DIR}/tests/integration/agent_harness.c
      LIBS hvcore_mgmt_util hvqemu PkgConfig::AGENT_BLK_JANSSON
      INCLUDES ${HV_SOURCE_DIR}/tests/integration
      LABELS "integration;agent;hvcore;qemu;virtio"
      TIMEOUT 1500)
    add_dependencies(agent_blkback_qemu hv-agent hvctl hv-blkback)
    if(TARGET hv-core)
      add_dependencies(agent_blkback_qemu hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_agent_blkback_qemu_test)
