# The Linux guest (Debian arm64 kernel + busybox initramfs, hv-core/guests/linux) and
# the test that boots it directly on QEMU. The artifacts land in
# ${CMAKE_BINARY_DIR}/linux-guest; build.sh fetches the Debian packages on first use
# and returns at once when the outputs are up to date.
add_custom_target(linux-guest ALL
  COMMAND ${CMAKE_SOURCE_DIR}/hv-core/guests/linux/build.sh ${CMAKE_BINARY_DIR}/linux-guest
  COMMENT "Linux guest: kernel Image and initramfs"
  VERBATIM)

hv_criterion_test(linux_direct
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/linux_direct.c
  INCLUDES ${CMAKE_SOURCE_DIR}/hv-core/include
  LABELS integration
  TIMEOUT 300)
add_dependencies(linux_direct linux-guest)
