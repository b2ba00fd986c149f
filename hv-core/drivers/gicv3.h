/*
 * gicv3.h - the physical GICv3 as hv-core drives it at EL2: distributor on,
 * each CPU's redistributor awake, private interrupts enabled as Group 1, the
 * CPU interface through the ICC system registers with split EOI (EOImode 1:
 * ICC_EOIR1 drops the priority, ICC_DIR deactivates), so an interrupt handed
 * to a guest through a hardware-linked list register stays active until the
 * guest deactivates it. The virtual CPU interface registers (ICH_*) used by
 * the vGIC are named here too.
 */
#ifndef HV_GICV3_H
#define HV_GICV3_H
#include <stdint.h>
#include "sysregs.h"

#define GIC_INTID_HYP_TIMER 26
#define GIC_INTID_VTIMER 27
#define GIC_INTID_PTIMER 30 /* EL1 physical timer (CNTP), the guest's as well */
#define GIC_INTID_MAINT 25
#define GIC_INTID_SPURIOUS 1023

/* Returns 0, or -1 when no redistributor matches this CPU's MPIDR. */
int gicv3_init_dist(uint64_t gicd, uint64_t gicr, uint64_t gicr_size);
int gicv3_init_cpu(uint64_t mpidr);
/* SPIs the distributor implements (GICD_TYPER.ITLinesNumber). */
uint32_t gicv3_spi_count(void);
void gicv3_enable_ppi(uint64_t mpidr, unsigned intid);
void gicv3_disable_ppi(uint64_t mpidr, unsigned intid);
/* Routes SPI intid (>= 32) to the CPU with this MPIDR, level/edge as the
 * device needs, and enables it. */
void gicv3_route_spi(unsigned intid, uint64_t mpidr);
void gicv3_disable_spi(unsigned intid);
/* Sets the SPI pending at the distributor (GICD_ISPENDR), as a device would. */
void gicv3_set_spi_pending(unsigned intid);
uint32_t gicv3_ack(void);
/* Priority drop and deactivation: the interrupt is finished at EL2. */
void gicv3_eoi(uint32_t intid);
/* Priority drop only: the interrupt stays active (handed to a guest). */
void gicv3_drop(uint32_t intid);
void gicv3_deactivate(uint32_t intid);
/* Sends SGI `intid` (0..15) to the CPU with this MPIDR (Aff0 < 16). */
void gicv3_send_sgi(uint64_t mpidr, unsigned intid);

/* Virtual CPU interface (EL2 view), Arm IHI 0069 chapter 12 */
#define ICH_HCR_EN (1ull << 0)
#define ICH_HCR_UIE (1ull << 1)
#define ICH_MISR_EOI (1ull << 0)
#define ICH_MISR_U (1ull << 1)
#define ICH_LR_STATE_P (1ull << 62)
#define ICH_LR_STATE_A (1ull << 63)
#define ICH_LR_STATE (3ull << 62)
#define ICH_LR_HW (1ull << 61)
#define ICH_LR_GROUP1 (1ull << 60)
#define ICH_LR_EOI (1ull << 41)
#define ICH_LR_PRIO_SHIFT 48
#define ICH_LR_PINTID_SHIFT 32

unsigned gicv3_lr_count(void);
/* List register n (below gicv3_lr_count(), at most 16): one small accessor
 * per register, chosen by index (gicv3.c). */
extern uint64_t (*const gicv3_lr_read[16])(void);
extern void (*const gicv3_lr_write[16])(uint64_t v);
static inline uint64_t gicv3_read_lr(unsigned n)
{
	return gicv3_lr_read[n & 15]();
}
static inline void gicv3_write_lr(unsigned n, uint64_t v)
{
	gicv3_lr_write[n & 15](v);
}
/* ICH_HCR_EL2: inline, read on every flush (written only when it changes) */
static inline uint64_t gicv3_read_ich_hcr(void)
{
	return read_sysreg(S3_4_C12_C11_0);
}
void gicv3_write_ich_hcr(uint64_t v);
uint64_t gicv3_read_ich_misr(void);
/* ICH_ELRSR_EL2: the empty list registers; inline, read on every flush */
static inline uint64_t gicv3_read_ich_elrsr(void)
{
	return read_sysreg(S3_4_C12_C11_5);
}
void gicv3_write_ich_vmcr(uint64_t v);
/* Clears the virtual interface: list registers, active priorities, VMCR. */
void gicv3_vcpu_if_reset(void);
#endif
