# hvcore_irq.cmake - interrupt virtualization under QEMU: the virtual timer in
# rtos-demo, SGIs, list-register overflow, GIC isolation, a pass-through SPI and
# PSCI secondary vCPUs in the two-vCPU irq-test guest.
hv_criterion_test(hvcore_irq
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_irq.c
  LIBS hvqemu
  LABELS "integration;hvcore;qemu"
  TIMEOUT 600)
if(TARGET hv-core)
  add_dependencies(hvcore_irq hv-core)
endif()
