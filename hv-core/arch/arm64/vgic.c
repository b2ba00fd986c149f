/*
 * vgic.c - virtual interrupt delivery through the GICv3 list registers (see
 * vgic.h). Everything a guest can see of its interrupts lives in struct
 * vgic_dist (per VM) and struct vgic_cpu (per vCPU) under the VM's vGIC lock;
 * the list registers of a physical CPU are only touched by that CPU, right
 * before it enters its vCPU (vgic_flush), so another CPU that makes an
 * interrupt pending only queues it and kicks the owner (IPI_VGIC).
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
	c->pending = 0;
	c->hw = 0;
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
}

void vgic_vcpu_stop(struct vcpu *v)
{
	timers_silence();
	gicv3_vcpu_if_reset();
	spin_lock(&v->vm->vgic.lock);
	v->vgic.pending = 0;
	v->vgic.hw = 0;
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
		spin_lock(&d->lock);
		target->vgic.pending |= 1u << intid;
		spin_unlock(&d->lock);
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
		spin_lock(&d->lock);
		v->vgic.pending |= 1u << intid;
		v->vgic.hw |= 1u << intid;
		spin_unlock(&d->lock);
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

/* Puts intid in a list register of this CPU; 1 when done (or merged with an
 * entry already there), 0 when no list register is free. *free holds the
 * empty list registers (ICH_ELRSR_EL2) and is updated. */
static int place(uint32_t intid, uint8_t prio, int hw, uint64_t *free)
{
	/* only the list registers in use can hold intid already */
	for (uint64_t used = ~*free & ((1ull << lr_count()) - 1); used; used &= used - 1) {
		unsigned n = (unsigned)__builtin_ctzll(used);
		uint64_t lr = gicv3_read_lr(n);
		if ((uint32_t)lr != intid || !(lr & ICH_LR_STATE))
			continue;
		if (lr & ICH_LR_STATE_P)
			return 1; /* already pending: an edge merges */
		if (lr & ICH_LR_HW)
			return 0; /* cannot be active and pending: wait */
		gicv3_write_lr(n, lr | ICH_LR_STATE_P);
		return 1;
	}
	if (!*free)
		return 0;
	unsigned n = (unsigned)__builtin_ctzll(*free);
	uint64_t lr = ICH_LR_STATE_P | ICH_LR_GROUP1 | ((uint64_t)prio << ICH_LR_PRIO_SHIFT) | intid;
	if (hw)
		lr |= ICH_LR_HW | ((uint64_t)intid << ICH_LR_PINTID_SHIFT);
	gicv3_write_lr(n, lr);
	*free &= ~(1ull << n);
	return 1;
}

void vgic_flush(struct vcpu *v)
{
	struct vgic_dist *d = &v->vm->vgic;
	struct vgic_cpu *c = &v->vgic;
	uint64_t free = gicv3_read_ich_elrsr() & ((1ull << lr_count()) - 1);
	int left = 0;
	uint64_t before = c->injected;
	spin_lock(&d->lock);
	if (d->ctlr & GICD_CTLR_G1) {
		uint32_t cand = c->pending & c->enabled;
		while (cand) {
			uint32_t i = (uint32_t)__builtin_ctz(cand);
			cand &= cand - 1;
			if (place(i, c->prio[i], (c->hw >> i) & 1, &free)) {
				c->pending &= ~(1u << i);
				c->hw &= ~(1u << i);
				c->injected++;
			} else {
				left = 1;
			}
		}
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
					c->injected++;
				} else {
					left = 1;
				}
			}
		}
	}
	spin_unlock(&d->lock);
	if (c->injected != before) /* GET_STATS/slot irqs_injected: every kind, per VM */
		__atomic_add_fetch(&v->vm->stats.irqs_injected, c->injected - before,
				   __ATOMIC_RELAXED);
	/* more than fits: a maintenance interrupt when the list registers are
	 * (nearly) empty again brings us back here to refill them */
	gicv3_write_ich_hcr(ICH_HCR_EN | (left ? ICH_HCR_UIE : 0));
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
		any = (v->vgic.pending & v->vgic.enabled) != 0;
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

void vgic_sgi_write(struct vcpu *v, uint64_t val)
{
	struct vm *vm = v->vm;
	struct vgic_dist *d = &vm->vgic;
	uint32_t intid = (uint32_t)(val >> 24) & 0xF;
	uint32_t all = vm->cfg.vcpus >= 16 ? 0xFFFFu : (1u << vm->cfg.vcpus) - 1, targets;
	v->vgic.sgis_sent++;
	if (val & (1ull << 40)) /* IRM: every vCPU but the sender */
		targets = all & ~(1u << v->id);
	else if ((val >> 16) & 0xFF || (val >> 32) & 0xFF || (val >> 44) & 0xF || (val >> 48) & 0xFF)
		return; /* vCPU i has affinity 0.0.0.i: other Aff1/Aff2/Aff3/RS name no vCPU */
	else
		targets = (uint32_t)val & all;
	/* every target under one lock; the sender is on this CPU and needs no kick */
	spin_lock(&d->lock);
	for (uint32_t m = targets; m; m &= m - 1)
		vm->vcpu[__builtin_ctz(m)].vgic.pending |= 1u << intid;
	spin_unlock(&d->lock);
	for (uint32_t m = targets & ~(1u << v->id); m; m &= m - 1)
		kick(&vm->vcpu[__builtin_ctz(m)]);
}
