/*
 * gicv3.h - the GICv3 basics hv-core needs so far: distributor on, each CPU's
 * redistributor awake, private interrupts (PPIs) enabled as Group 1, and the
 * CPU interface driven through the ICC system registers. Virtual interrupt
 * injection (list registers) is later work.
 */
#ifndef HV_GICV3_H
#define HV_GICV3_H
#include <stdint.h>

#define GIC_INTID_HYP_TIMER 26
#define GIC_INTID_SPURIOUS  1023

/* Returns 0, or -1 when no redistributor matches this CPU's MPIDR. */
int gicv3_init_dist(uint64_t gicd, uint64_t gicr, uint64_t gicr_size);
int gicv3_init_cpu(uint64_t mpidr);
void gicv3_enable_ppi(uint64_t mpidr, unsigned intid);
uint32_t gicv3_ack(void);
/* Sends SGI `intid` (0..15) to the CPU with this MPIDR (Aff0 < 16). */
void gicv3_send_sgi(uint64_t mpidr, unsigned intid);
void gicv3_eoi(uint32_t intid);
#endif
