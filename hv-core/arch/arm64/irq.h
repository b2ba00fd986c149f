/*
 * irq.h - dispatch of the physical interrupts hv-core takes at EL2: its IPIs
 * (ipi.c), the hypervisor timer (a wake-up only), the GIC maintenance
 * interrupt, and interrupts that belong to the vCPU of this CPU (the virtual
 * timer, pass-through SPIs), which become virtual interrupts (vgic.c).
 */
#ifndef HV_IRQ_H
#define HV_IRQ_H
#include <stdint.h>

/* Acknowledges and handles every interrupt pending for this CPU; returns how
 * many were taken. Runs IPI handlers, which may not return. */
unsigned irq_handle_all(void);
#endif
