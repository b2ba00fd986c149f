# hvcore_virtio_blk.cmake - virtio-blk served by the backend process hv-blkback
# for a bare-metal guest under the real hv-core in QEMU (docs/guest-abi.md
# GABI-494): a boot counter on the disk, the backend's reach (ring and bounce
# area only), a backend restart;
# Debian's virtio_blk in the Linux guest mounts the disk and counts its boots.
hv_criterion_test(hvcore_virtio_blk
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_virtio_blk.c
  LIBS hvcore_mgmt_util
  LABELS "integration;hvcore;qemu;virtio;linux"
  TIMEOUT 1800)
if(TARGET hv-core)
  add_dependencies(hvcore_virtio_blk hv-core)
endif()
add_dependencies(hvcore_virtio_blk linux-guest)
if(TARGET hv-blkback)
  add_dependencies(hvcore_virtio_blk hv-blkback)
endif()
