# hvcore_virtio.cmake - VIRTIO devices served by the real hv-core under QEMU,
# driven by Debian's unmodified virtio_mmio, virtio-rng and virtio_console
# modules in the Linux guest (REQ-AVP-01, REQ-STD-08; docs/guest-abi.md GABI-480..).
hv_criterion_test(hvcore_virtio
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_virtio.c
  LIBS hvqemu
  LABELS "integration;hvcore;qemu;linux;virtio"
  TIMEOUT 900)
add_dependencies(hvcore_virtio linux-guest)
if(TARGET hv-core)
  add_dependencies(hvcore_virtio hv-core)
endif()
