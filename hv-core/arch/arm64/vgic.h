/*
 * vgic.h - GICv3 virtualization for guests: virtual interrupts delivered
 * through the list registers of the CPU's virtual interface (ICH_LR<n>_EL2),
 * a per-vCPU queue for what does not fit (refilled on the maintenance
 * interrupt, INTID 25), the virtual timer and pass-through SPIs linked to
 * their physical interrupt (ICH_LR.HW), SGIs between the vCPUs of one VM
 * (trapped ICC_SGI1R_EL1 writes), and the emulated distributor and
 * redistributors (vgic_mmio.c): never mapped in stage 2, so a guest sees and
 * configures only its own interrupts (REQ-SAF-19).
 *
 * Guest-physical windows, as on QEMU virt (VMCFG-091 in docs/vm-config.md):
 * distributor VGIC_GICD_IPA (64 KiB), redistributors from VGIC_GICR_IPA, one
 * 128 KiB frame per vCPU.
 */
#ifndef HV_VGIC_H
#define HV_VGIC_H
#include <stdint.h>
#include "spinlock.h"

#define VGIC_GICD_IPA 0x08000000ull
#define VGIC_GICD_SIZE 0x10000ull
#define VGIC_GICR_IPA 0x080A0000ull
#define VGIC_GICR_STRIDE 0x20000ull
#define VGIC_MAX_SPIS 64u /* virtual SPIs per VM: INTIDs 32..95 */
#define VGIC_NR_IRQS (32u + VGIC_MAX_SPIS)
#define VGIC_SPI_WORDS (VGIC_MAX_SPIS / 32u)
_Static_assert(VGIC_SPI_WORDS * 32u == 64u, "vgic_spis_pending reads the SPIs as one 64-bit word");

/* Per vCPU: its private interrupts (SGIs 0-15, PPIs 16-31), its redistributor. */
struct vgic_cpu {
	uint32_t enabled; /* GICR_ISENABLER0                                   */
	uint32_t pending; /* pending, not yet in a list register (atomic RMW)   */
	uint32_t hw;      /* pending ones that are a held physical interrupt
			   * (atomic RMW, set before pending)                  */
	uint32_t icfgr1;  /* PPI trigger configuration                         */
	uint8_t prio[32];
	uint32_t waker;     /* GICR_WAKER.ProcessorSleep                         */
	uint64_t injected;  /* virtual interrupts written to list registers      */
	uint64_t maint;     /* maintenance interrupts taken                      */
	uint64_t sgis_sent; /* SGIs this vCPU generated                          */
};

/* Per VM: the distributor and its SPIs. */
struct vgic_dist {
	spinlock_t lock; /* all vGIC state of the VM, private parts included  */
	uint32_t ctlr;
	uint32_t nr_spis; /* SPIs this VM has (multiple of 32, <= VGIC_MAX_SPIS) */
	uint32_t enabled[VGIC_SPI_WORDS];
	union { /* the pending SPIs, by word; pending_any: all of them at once */
		uint32_t pending[VGIC_SPI_WORDS];
		uint64_t pending_any;
	};
	uint32_t hw[VGIC_SPI_WORDS];       /* pending ones that are held physical SPIs */
	uint32_t owned_hw[VGIC_SPI_WORDS]; /* pass-through: the physical SPI of the same number */
	uint32_t icfgr[VGIC_SPI_WORDS * 2];
	uint8_t prio[VGIC_MAX_SPIS];
	uint64_t irouter[VGIC_MAX_SPIS];
};

struct vm;
struct vcpu;

/* At VM creation: nr_spis virtual SPIs (rounded up to 32, at most
 * VGIC_MAX_SPIS). Returns 0 or -1 when too many. */
int vgic_vm_init(struct vm *vm, uint32_t nr_spis);
/* Hands physical SPI intid (32 + n) to this VM (pass-through, VMCFG-060).
 * Returns 0, or -1 when it is outside the VM's SPIs or the GIC's. */
int vgic_assign_hw_spi(struct vm *vm, uint32_t intid);
/* Resets the VM's distributor state (before each start). */
void vgic_vm_reset(struct vm *vm);
/* On v's physical CPU, before its first entry: virtual interface and
 * redistributor state back to reset, physical PPIs it needs enabled. */
void vgic_vcpu_reset(struct vcpu *v);
/* On v's physical CPU when the vCPU stops: releases held physical interrupts. */
void vgic_vcpu_stop(struct vcpu *v);

/* The calling CPU runs no guest any more (it idles): silence what a stopped
 * vCPU left behind (its virtual timer, list registers, a held interrupt). */
void vgic_cpu_idle(void);

/* Makes virtual interrupt intid pending: for intid < 32 on target, for an SPI
 * on the vCPU its IROUTER names (target is then ignored and may be NULL with
 * vm given). Kicks the target's physical CPU when it is another one.
 * Returns 0, or -1 when the VM has no such interrupt. */
int vgic_inject(struct vm *vm, struct vcpu *target, uint32_t intid);
/* The physical interrupt intid (virtual timer or a pass-through SPI) was
 * acknowledged on v's CPU and its priority dropped: hand it to the guest; its
 * deactivation by the guest deactivates the physical one. 0, or -1 when not
 * this VM's. */
int vgic_inject_hw(struct vcpu *v, uint32_t intid);
int vgic_owns_hw_spi(struct vcpu *v, uint32_t intid);
/* Fills free list registers from the pending queue; on v's CPU right before
 * entering the guest. Asks for a maintenance interrupt when the queue does not
 * fit. */
void vgic_flush(struct vcpu *v);

/* Whether vgic_flush has anything to do for the vCPU with private state c in
 * the VM with distributor d: one of its private interrupts or any of the
 * VM's SPIs is pending. Read without the lock: one that another CPU makes
 * pending after this read comes with a kick (IPI_VGIC), whose exit flushes
 * it; one left over from an earlier flush is still pending here. So most
 * exits skip the lock and the list registers (ICH_HCR_EL2 stays as the last
 * flush left it). */
static inline int vgic_spis_pending(const struct vgic_dist *d)
{
	/* one load: the words beyond the VM's nr_spis stay 0 */
	return __atomic_load_n(&d->pending_any, __ATOMIC_ACQUIRE) != 0;
}
static inline int vgic_flush_needed(const struct vgic_cpu *c, const struct vgic_dist *d)
{
	return __atomic_load_n(&c->pending, __ATOMIC_ACQUIRE) || vgic_spis_pending(d);
}
/* Whether v has a virtual interrupt to take (pending in a list register or
 * queued and enabled): a trapped WFI returns at once. */
int vgic_has_pending(struct vcpu *v);
/* The maintenance interrupt (INTID 25) on this CPU. */
void vgic_maintenance(void);
/* A trapped write of ICC_SGI1R_EL1 (or ASGI1R/SGI0R) by v. */
void vgic_sgi_write(struct vcpu *v, uint64_t val);

/* Emulated distributor/redistributor (vgic_mmio.c). claims: ipa is in one of
 * the VM's GIC windows. access: 0, or -1 for an access the GIC does not allow
 * (misaligned, wrong width): a guest fault. */
int vgic_mmio_claims(struct vm *vm, uint64_t ipa);
int vgic_mmio_access(struct vcpu *v, uint64_t ipa, int is_write, unsigned bytes, uint64_t *val);
#endif
