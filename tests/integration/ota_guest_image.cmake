# scripts/guest-image.sh (docs/ota.md OTA-052): the demo images it writes boot
# on the real hv-core under QEMU and report the asked version through the
# cooperation page; a --broken one stops its heartbeat.
hv_criterion_test(ota_guest_image
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/ota_guest_image.c
  LIBS hvqemu
  LABELS "integration;hvcore;qemu;ota"
  TIMEOUT 300)
if(TARGET hv-core)
  add_dependencies(ota_guest_image hv-core)
endif()
