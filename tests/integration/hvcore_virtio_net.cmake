# hvcore_virtio_net.cmake - inter-VM virtio-net switched by the real hv-core
# under QEMU: Debian's virtio_net in a Linux guest pings the bare-metal guest
# net-peer over the configured channel (docs/guest-abi.md GABI-493).
hv_criterion_test(hvcore_virtio_net
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_virtio_net.c
  LIBS hvqemu
  LABELS "integration;hvcore;qemu;linux;virtio"
  TIMEOUT 900)
add_dependencies(hvcore_virtio_net linux-guest)
if(TARGET hv-core)
  add_dependencies(hvcore_virtio_net hv-core)
endif()
