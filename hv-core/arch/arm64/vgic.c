/*
 * vgic.c - virtual interrupt delivery through the GICv3 list registers (see
 * vgic.h). Everything a guest can see of its interrupts lives in struct
 * vgic_dist (per VM) and struct vgic_cpu (per vCPU) under the VM's vGIC lock,
 * with one exception: a vCPU's private pending and hw masks (struct
 * vgic_cpu) change only by atomic read-modify-writes, so that an SGI or PPI
 * is queued with one atomic OR and the flush takes the deliverable ones with
 * one atomic AND, neither under the lock (the injection path of
 * docs/performance.md "Trap path"). The list registers of a physical CPU are
 * only touched by that CPU, right before it enters its vCPU (vgic_flush), so
 * another CPU that makes an interrupt pending only queues it and kicks the
 * owner (IPI_VGIC).
 */
#include <string.h>
#include "vgic.h"
#include "gicv3.h"
#include "ipi.h"
#include "cpu.h"
#include "vcpu.h"
#include "vm.h"
#include "sysregs.h"
#include "log.h"

#define GICD_CTLR_G1 (1u << 1) /* EnableGrp1 (DS = 1: the only group 1 enable) */

static unsigned lr_count(void)
{
	static unsigned n;
	if (!n)
		n = gicv3_lr_count();
	return n;
}

/* The implemented list registers as a mask (the same on every CPU), set by
 * vgic_vcpu_reset before any vCPU's first flush. */
static uint64_t lr_all;

int vgic_vm_init(struct vm *vm, uint32_t nr_spis)
{
	struct vgic_dist *d = &vm->vgic;
	if (nr_spis > VGIC_MAX_SPIS)
		return -1;
	vgic_vm_reset(vm);   /* also turns off the pass-through SPIs of an earlier run */
	spin_lock(&d->lock); /* the lock itself survives: a doorbell may be injecting */
	memset(d->owned_hw, 0, sizeof(d->owned_hw));
	d->nr_spis = (nr_spis + 31) & ~31u;
	spin_unlock(&d->lock);
	return 0;
}

int vgic_assign_hw_spi(struct vm *vm, uint32_t intid)
{
	struct vgic_dist *d = &vm->vgic;
	if (intid < 32 || intid >= 32 + d->nr_spis || intid >= 32 + gicv3_spi_count())
		return -1;
	uint32_t n = intid - 32;
	spin_lock(&d->lock);
	d->owned_hw[n / 32] |= 1u << (n % 32);
	spin_unlock(&d->lock);
	return 0;
}

void vgic_vm_reset(struct vm *vm)
{
	struct vgic_dist *d = &vm->vgic;
	spin_lock(&d->lock);
	for (uint32_t n = 0; n < d->nr_spis; n++)
		if (d->owned_hw[n / 32] & (1u << (n % 32)))
			gicv3_disable_spi(32 + n);
	d->ctlr = 0;
	memset(d->enabled, 0, sizeof(d->enabled));
	memset(d->pending, 0, sizeof(d->pending));
	memset(d->hw, 0, sizeof(d->hw));
	memset(d->icfgr, 0, sizeof(d->icfgr));
	memset(d->prio, 0, sizeof(d->prio));
	memset(d->irouter, 0, sizeof(d->irouter));
	spin_unlock(&d->lock);
}

/* The guest's timers (virtual and EL1 physical) off, their physical
 * interrupts not active: nothing of a vCPU's timers outlives it on this CPU. */
static void timers_silence(void)
{
	write_sysreg(cntv_ctl_el0, 0);
	write_sysreg(cntp_ctl_el0, 0);
	isb();
	gicv3_deactivate(GIC_INTID_VTIMER);
	gicv3_deactivate(GIC_INTID_PTIMER);
}

void vgic_vcpu_reset(struct vcpu *v)
{
	struct vgic_dist *d = &v->vm->vgic;
	timers_silence(); /* in case an earlier run left them active */
	gicv3_vcpu_if_reset();
	spin_lock(&d->lock);
	struct vgic_cpu *c = &v->vgic;
	c->enabled = 0;
	__atomic_store_n(&c->pending, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&c->hw, 0, __ATOMIC_RELAXED);
	c->icfgr1 = 0;
	memset(c->prio, 0, sizeof(c->prio));
	c->waker = 1u << 1; /* ProcessorSleep, as out of reset */
	c->maint = 0;
	spin_unlock(&d->lock);
	uint64_t mpidr = cpu_mpidr();
	gicv3_enable_ppi(mpidr, GIC_INTID_VTIMER);
	gicv3_enable_ppi(mpidr, GIC_INTID_PTIMER); /* GABI-050: CNTP as well */
	gicv3_enable_ppi(mpidr, GIC_INTID_MAINT);
	gicv3_write_ich_hcr(ICH_HCR_EN);
	lr_all = (1ull << lr_count()) - 1;
}

void vgic_vcpu_stop(struct vcpu *v)
{
	timers_silence();
	gicv3_vcpu_if_reset();
	spin_lock(&v->vm->vgic.lock);
	__atomic_store_n(&v->vgic.pending, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&v->vgic.hw, 0, __ATOMIC_RELAXED);
	spin_unlock(&v->vm->vgic.lock);
}

void vgic_cpu_idle(void)
{
	timers_silence();
	gicv3_vcpu_if_reset();
}

/* The vCPU an SPI goes to: IROUTER's Aff0 when it names one of the VM's
 * vCPUs, else vCPU 0 (also for IRM = 1, "any"). Caller holds the lock. */
static struct vcpu *spi_target(struct vm *vm, uint32_t n)
{
	uint64_t r = vm->vgic.irouter[n];
	uint32_t aff0 = (uint32_t)(r & 0xFF);
	if (!(r & (1ull << 31)) && !(r & 0xFF0000FF00ull) && aff0 < vm->cfg.vcpus)
		return &vm->vcpu[aff0];
	return &vm->vcpu[0];
}

static void kick(struct vcpu *t)
{
	if (t->pcpu != cpu_index())
		ipi_send(t->pcpu, IPI_VGIC);
}

int vgic_inject(struct vm *vm, struct vcpu *target, uint32_t intid)
{
	struct vgic_dist *d = &vm->vgic;
	if (intid < 32) {
		if (!target || target->vm != vm)
			return -1;
		__atomic_fetch_or(&target->vgic.pending, 1u << intid, __ATOMIC_RELEASE);
	} else {
		uint32_t n = intid - 32;
		if (n >= d->nr_spis)
			return -1;
		spin_lock(&d->lock);
		d->pending[n / 32] |= 1u << (n % 32);
		target = spi_target(vm, n);
		spin_unlock(&d->lock);
	}
	kick(target);
	return 0;
}

int vgic_owns_hw_spi(struct vcpu *v, uint32_t intid)
{
	struct vgic_dist *d = &v->vm->vgic;
	uint32_t n = intid - 32;
	return intid >= 32 && n < d->nr_spis && (d->owned_hw[n / 32] & (1u << (n % 32)));
}

int vgic_inject_hw(struct vcpu *v, uint32_t intid)
{
	struct vgic_dist *d = &v->vm->vgic;
	struct vcpu *target = v;
	if (intid == GIC_INTID_VTIMER || intid == GIC_INTID_PTIMER) {
		/* hw before pending: a flush that takes the pending bit sees it */
		__atomic_fetch_or(&v->vgic.hw, 1u << intid, __ATOMIC_RELAXED);
		__atomic_fetch_or(&v->vgic.pending, 1u << intid, __ATOMIC_RELEASE);
		return 0;
	}
	if (!vgic_owns_hw_spi(v, intid))
		return -1;
	uint32_t n = intid - 32;
	spin_lock(&d->lock);
	d->pending[n / 32] |= 1u << (n % 32);
	d->hw[n / 32] |= 1u << (n % 32);
	target = spi_target(v->vm, n);
	spin_unlock(&d->lock);
	kick(target);
	return 0;
}

/* Only this CPU writes c->injected; GET_STATS reads it from another
 * (vm_irqs_injected): a plain store, no read-modify-write. */
static inline void vgic_count_injected(struct vgic_cpu *c, unsigned n)
{
	__atomic_store_n(&c->injected, c->injected + n, __ATOMIC_RELAXED);
}

/* A list register that makes intid pending, group 1, at priority prio; hw:
 * linked to the physical interrupt of the same number. */
static inline uint64_t lr_value(uint32_t intid, uint8_t prio, int hw)
{
	uint64_t lr = ICH_LR_STATE_P | ICH_LR_GROUP1 | ((uint64_t)prio << ICH_LR_PRIO_SHIFT) | intid;
	if (hw)
		lr |= ICH_LR_HW | ((uint64_t)intid << ICH_LR_PINTID_SHIFT);
	return lr;
}

/* intid in one of the list registers in use (not free): an edge that is
 * already pending merges (1), an active hardware-linked one cannot also be
 * pending and waits (0), an active one becomes active and pending (1); -1
 * when none holds it. Out of line: most flushes find every list register
 * empty (the guest has ended what it was given) and never call it. */
static __attribute__((noinline)) int merge_in_use(uint32_t intid, uint64_t free)
{
	for (uint64_t used = ~free & lr_all; used; used &= used - 1) {
		unsigned n = (unsigned)__builtin_ctzll(used);
		uint64_t lr = gicv3_read_lr(n);
		if ((uint32_t)lr != intid || !(lr & ICH_LR_STATE))
			continue;
		if (lr & ICH_LR_STATE_P)
			return 1;
		if (lr & ICH_LR_HW)
			return 0;
		gicv3_write_lr(n, lr | ICH_LR_STATE_P);
		return 1;
	}
	return -1;
}

/* Puts intid in a list register of this CPU; 1 when done (or merged with an
 * entry already there), 0 when no list register is free. *free holds the
 * empty list registers (ICH_ELRSR_EL2) and is updated. */
static inline int place(uint32_t intid, uint8_t prio, int hw, uint64_t *free)
{
	if (~*free & lr_all) { /* only a list register in use can hold intid already */
		int merged = merge_in_use(intid, *free);
		if (merged >= 0)
			return merged;
	}
	if (!*free)
		return 0;
	unsigned n = (unsigned)__builtin_ctzll(*free);
	gicv3_write_lr(n, lr_value(intid, prio, hw));
	*free &= ~(1ull << n);
	return 1;
}

/*
 * The vCPU's pending private interrupts (SGIs, PPIs) that it has enabled, to
 * the list registers of this CPU, without the lock: one atomic AND takes them
 * and leaves the others pending (a GICR_ICPENDR write that races with it
 * clears what it finds, as on a GIC that is delivering); what does not fit
 * is put back with one atomic OR. The enables and priorities are read as
 * they are; a guest that changes them while the interrupt is in flight sees
 * the old or the new value, as on a GIC. Returns 1 when some did not fit.
 */
static inline int flush_private(struct vgic_cpu *c)
{
	uint32_t en = __atomic_load_n(&c->enabled, __ATOMIC_RELAXED);
	uint32_t cand = __atomic_fetch_and(&c->pending, ~en, __ATOMIC_ACQUIRE) & en;
	if (!cand)
		return 0;
	uint64_t free = gicv3_read_ich_elrsr(); /* RES0 beyond the implemented LRs */
	uint32_t hw = __atomic_load_n(&c->hw, __ATOMIC_RELAXED) & cand, back = 0;
	if (!(cand & (cand - 1)) && free == lr_all) {
		/* the common case: one interrupt, every list register empty (the
		 * guest has ended what it had), so none holds it: list register 0 */
		uint32_t i = (uint32_t)__builtin_ctz(cand);
		gicv3_write_lr(0, lr_value(i, c->prio[i], hw != 0));
		vgic_count_injected(c, 1);
		if (hw)
			__atomic_fetch_and(&c->hw, ~hw, __ATOMIC_RELAXED);
		return 0;
	}
	unsigned placed = 0;
	for (uint32_t m = cand; m; m &= m - 1) {
		uint32_t i = (uint32_t)__builtin_ctz(m);
		if (place(i, c->prio[i], (hw >> i) & 1, &free))
			placed++;
		else
			back |= 1u << i;
	}
	vgic_count_injected(c, placed);
	if (hw & ~back)
		__atomic_fetch_and(&c->hw, ~(hw & ~back), __ATOMIC_RELAXED);
	if (!back)
		return 0;
	__atomic_fetch_or(&c->pending, back, __ATOMIC_RELAXED);
	return 1;
}

/* The VM's pending SPIs that go to v, to the list registers of this CPU,
 * under the lock. Returns 1 when some did not fit. Out of line: the private
 * interrupts' path in vgic_flush stays small. */
static __attribute__((noinline)) int flush_spis(struct vcpu *v)
{
	struct vgic_dist *d = &v->vm->vgic;
	unsigned placed = 0;
	int left = 0;
	isb(); /* the list registers flush_private just wrote count as used */
	uint64_t free = gicv3_read_ich_elrsr();
	spin_lock(&d->lock);
	for (uint32_t w = 0; w < d->nr_spis / 32; w++) {
		uint32_t spis = d->pending[w] & d->enabled[w];
		while (spis) {
			uint32_t b = (uint32_t)__builtin_ctz(spis);
			uint32_t n = w * 32 + b;
			spis &= spis - 1;
			if (spi_target(v->vm, n) != v)
				continue;
			if (place(32 + n, d->prio[n], (d->hw[w] >> b) & 1, &free)) {
				d->pending[w] &= ~(1u << b);
				d->hw[w] &= ~(1u << b);
				placed++;
			} else {
				left = 1;
			}
		}
	}
	spin_unlock(&d->lock);
	vgic_count_injected(&v->vgic, placed);
	return left;
}

/* The maintenance interrupt on underflow (ICH_HCR_EL2.UIE) on when some
 * interrupts did not fit, off otherwise. The register is written only when
 * that changes, not on every flush. */
static inline void underflow_irq(int on)
{
	uint64_t want = ICH_HCR_EN | (on ? ICH_HCR_UIE : 0);
	if (gicv3_read_ich_hcr() != want)
		gicv3_write_ich_hcr(want);
}

/*
 * The private interrupts first, then the SPIs (under the lock, only when one
 * is pending). Each interrupt placed is counted in the vCPU's injected (only
 * this CPU writes it; the VM's irqs_injected is their sum, vm_irqs_injected).
 */
void vgic_flush(struct vcpu *v)
{
	struct vgic_dist *d = &v->vm->vgic;
	int left = 0;
	if (__atomic_load_n(&d->ctlr, __ATOMIC_RELAXED) & GICD_CTLR_G1) {
		left = flush_private(&v->vgic);
		if (vgic_spis_pending(d))
			left |= flush_spis(v);
	}
	/* more than fits: a maintenance interrupt when the list registers are
	 * (nearly) empty again brings us back here to refill them */
	underflow_irq(left);
}

int vgic_has_pending(struct vcpu *v)
{
	unsigned nlr = lr_count();
	uint64_t free = gicv3_read_ich_elrsr();
	for (unsigned n = 0; n < nlr; n++)
		if (!(free & (1ull << n)) && (gicv3_read_lr(n) & ICH_LR_STATE_P))
			return 1;
	struct vgic_dist *d = &v->vm->vgic;
	int any = 0;
	spin_lock(&d->lock);
	if (d->ctlr & GICD_CTLR_G1) {
		any = (__atomic_load_n(&v->vgic.pending, __ATOMIC_RELAXED) & v->vgic.enabled) != 0;
		for (uint32_t w = 0; !any && w < d->nr_spis / 32; w++) {
			uint32_t spis = d->pending[w] & d->enabled[w];
			while (spis && !any) {
				uint32_t b = (uint32_t)__builtin_ctz(spis);
				spis &= spis - 1;
				any = spi_target(v->vm, w * 32 + b) == v;
			}
		}
	}
	spin_unlock(&d->lock);
	return any;
}

void vgic_maintenance(void)
{
	struct vcpu *v = cpu_current()->vcpu;
	uint64_t misr = gicv3_read_ich_misr();
	if (misr & ICH_MISR_U)
		gicv3_write_ich_hcr(gicv3_read_ich_hcr() & ~ICH_HCR_UIE);
	if (v && ++v->vgic.maint == 1)
		hv_log("vm %u '%s' vCPU %u: more virtual interrupts than list registers, refilled on the maintenance interrupt",
		       v->vm->id, v->vm->cfg.name, v->id); /* once per boot: a sign of interrupt load */
	/* the refill itself happens in vgic_flush() on the way back to the guest */
}

/*
 * The fast path of an SGI a vCPU sends to itself alone (Linux's irq_work, the
 * perf guest's measure): this CPU's list registers hold this vCPU's
 * interrupts, so the SGI goes straight into one, without the pending mask and
 * the flush on the way out. Only when the vGIC would deliver it at once: the
 * distributor on, the SGI enabled and not already queued (an older one must
 * not be overtaken). Returns 0 when the general path must take it (also when
 * no list register is free).
 */
static int sgi_to_self(struct vcpu *v, uint32_t intid)
{
	struct vgic_cpu *c = &v->vgic;
	uint32_t bit = 1u << intid;
	if (!(__atomic_load_n(&v->vm->vgic.ctlr, __ATOMIC_RELAXED) & GICD_CTLR_G1) ||
	    !(__atomic_load_n(&c->enabled, __ATOMIC_RELAXED) & bit) ||
	    (__atomic_load_n(&c->pending, __ATOMIC_RELAXED) & bit))
		return 0;
	uint64_t free = gicv3_read_ich_elrsr();
	if (!place(intid, c->prio[intid], 0, &free))
		return 0;
	vgic_count_injected(c, 1);
	return 1;
}

/* Kicks the CPUs of the vCPUs in mask. Out of line: an SGI to the sender
 * alone kicks nobody and so calls nothing. */
static __attribute__((noinline)) void kick_each(struct vm *vm, uint32_t mask)
{
	for (uint32_t m = mask; m; m &= m - 1)
		kick(&vm->vcpu[__builtin_ctz(m)]);
}

/* ICC_SGI1R_EL1 fields: IRM (every vCPU but the sender), and Aff1, Aff2,
 * RS and Aff3, which name no vCPU unless 0 (vCPU i has affinity 0.0.0.i). */
#define SGIR_IRM (1ull << 40)
#define SGIR_NOT_AFF0 (0xFFull << 16 | 0xFFull << 32 | 0xFull << 44 | 0xFFull << 48)
_Static_assert(HV_MAX_VCPUS < 16, "an SGI's target list is 16 bits");

void vgic_sgi_write(struct vcpu *v, uint64_t val)
{
	struct vm *vm = v->vm;
	uint32_t intid = (uint32_t)(val >> 24) & 0xF;
	uint32_t all = (1u << vm->cfg.vcpus) - 1, targets; /* vcpus <= HV_MAX_VCPUS < 16 */
	v->vgic.sgis_sent++;
	if (val & SGIR_IRM)
		targets = all & ~(1u << v->id);
	else if (val & SGIR_NOT_AFF0)
		return;
	else
		targets = (uint32_t)val & all;
	if (targets == 1u << v->id) { /* the sender alone: no kick */
		if (!sgi_to_self(v, intid))
			__atomic_fetch_or(&v->vgic.pending, 1u << intid, __ATOMIC_RELEASE);
		return;
	}
	/* one atomic OR per target, no lock; then a kick for each target but the
	 * sender, which is on this CPU: its own exit flushes */
	for (uint32_t m = targets; m; m &= m - 1)
		__atomic_fetch_or(&vm->vcpu[__builtin_ctz(m)].vgic.pending, 1u << intid,
				  __ATOMIC_RELEASE);
	if (targets & ~(1u << v->id))
		kick_each(vm, targets & ~(1u << v->id));
}
