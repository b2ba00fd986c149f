/*
 * vgic_mmio.c - the emulated GICv3 distributor and redistributors a guest
 * programs (see vgic.h). The windows are not mapped in stage 2: every access
 * traps and lands here. A guest sees only its own interrupts: its SGIs and
 * PPIs in its redistributor frames, and SPIs 32..32+nr_spis-1 in the
 * distributor; every register of an interrupt it does not have reads as zero
 * and ignores writes (REQ-SAF-19). LPIs and the ITS are not offered
 * (GICD_TYPER.LPIS = 0, no ITS window).
 */
#include "vgic.h"
#include "gicv3.h"
#include "cpu.h"
#include "vcpu.h"
#include "vm.h"
#include "ipi.h"

#define GICD_CTLR 0x0000
#define GICD_TYPER 0x0004
#define GICD_IIDR 0x0008
#define GICD_TYPER2 0x000C
#define GICD_IGROUPR 0x0080
#define GICD_ISENABLER 0x0100
#define GICD_ICENABLER 0x0180
#define GICD_ISPENDR 0x0200
#define GICD_ICPENDR 0x0280
#define GICD_IPRIORITYR 0x0400
#define GICD_ICFGR 0x0C00
#define GICD_IROUTER 0x6000
#define GICD_ID_BASE 0xFFD0

#define GICR_CTLR 0x0000
#define GICR_IIDR 0x0004
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_SGI 0x10000

#define CTLR_DS (1u << 6)
#define CTLR_ARE (1u << 4)
#define CTLR_ENABLES 0x3u
#define HV_IIDR 0x0000043Bu /* implementer Arm (JEP106 0x43B), product 0, revision 0 */

/* GICv3 peripheral/component ids from 0xFFD0: PIDR4..7, PIDR0..3, CIDR0..3;
 * PIDR2 = 0x3B says architecture version 3 (Linux checks it). */
static const uint8_t id_regs[12] = { 0x44, 0, 0, 0, 0x92, 0xB4, 0x3B, 0, 0x0D, 0xF0, 0x05, 0xB1 };

int vgic_mmio_claims(struct vm *vm, uint64_t ipa)
{
	return (ipa >= VGIC_GICD_IPA && ipa < VGIC_GICD_IPA + VGIC_GICD_SIZE) ||
	       (ipa >= VGIC_GICR_IPA && ipa < VGIC_GICR_IPA + VGIC_GICR_STRIDE * vm->cfg.vcpus);
}

/* Set/clear-enable, set/clear-pending words: bit view of 32 interrupts. */
enum bitreg {
	B_SENABLE,
	B_CENABLE,
	B_SPEND,
	B_CPEND
};

static uint32_t sync_hw_spi(struct vm *vm, uint32_t n)
{
	/* a pass-through SPI follows its virtual twin: enabled and routed to the
	 * physical CPU of the vCPU the guest routes it to */
	struct vgic_dist *d = &vm->vgic;
	if (!(d->owned_hw[n / 32] & (1u << (n % 32))))
		return 0;
	if (d->enabled[n / 32] & (1u << (n % 32))) {
		uint64_t r = d->irouter[n];
		uint32_t aff0 = (uint32_t)(r & 0xFF);
		struct vcpu *t = (!(r & (1ull << 31)) && aff0 < vm->cfg.vcpus) ? &vm->vcpu[aff0]
									       : &vm->vcpu[0];
		gicv3_route_spi(32 + n, pcpus[t->pcpu].mpidr);
	} else {
		gicv3_disable_spi(32 + n);
	}
	return 1;
}

static uint64_t id_read(uint32_t off)
{
	return off >= GICD_ID_BASE && off < GICD_ID_BASE + 48 && !(off & 3)
		       ? id_regs[(off - GICD_ID_BASE) / 4]
		       : 0;
}

static void dist_access(struct vm *vm, uint32_t off, int wr, unsigned bytes, uint64_t *val)
{
	struct vgic_dist *d = &vm->vgic;
	uint32_t nspi = d->nr_spis;
	uint64_t r = 0;
	uint32_t v32 = (uint32_t)*val;

	if (off == GICD_CTLR && bytes == 4) {
		if (wr)
			d->ctlr = v32 & CTLR_ENABLES;
		else
			r = d->ctlr | CTLR_ARE | CTLR_DS;
	} else if (off == GICD_TYPER && bytes == 4) {
		/* ITLinesNumber for this VM's SPIs, IDbits = 9 (10 bits), no LPIs, no
		 * extended SPIs, CPUNumber = vCPUs - 1 */
		r = (nspi / 32) | (9u << 19) | ((vm->cfg.vcpus - 1) << 5);
	} else if (off == GICD_IIDR && bytes == 4) {
		r = HV_IIDR;
	} else if (off >= GICD_IGROUPR && off < GICD_IGROUPR + 0x80 && bytes == 4) {
		uint32_t w = (off - GICD_IGROUPR) / 4;            /* word w: INTIDs 32w.. */
		r = (w >= 1 && w <= nspi / 32) ? 0xFFFFFFFFu : 0; /* all Group 1, RAO/WI */
	} else if (off >= GICD_ISENABLER && off < GICD_IPRIORITYR && bytes == 4) {
		enum bitreg kind = (enum bitreg)((off - GICD_ISENABLER) / 0x80);
		uint32_t w = ((off - GICD_ISENABLER) % 0x80) / 4;
		if (kind <= B_CPEND && w >= 1 && w <= nspi / 32) {
			uint32_t s = w - 1;
			uint32_t *en = &d->enabled[s], *pe = &d->pending[s];
			if (!wr) {
				r = kind <= B_CENABLE ? *en : *pe;
			} else {
				uint32_t old_en = *en;
				switch (kind) {
				case B_SENABLE:
					*en |= v32;
					break;
				case B_CENABLE:
					*en &= ~v32;
					break;
				case B_SPEND:
					/* pass-through SPIs get pending at the physical
					 * GIC, as the device would make them; only the
					 * bits written are visited */
					*pe |= v32 & ~d->owned_hw[s];
					for (uint32_t m = v32 & d->owned_hw[s]; m; m &= m - 1)
						gicv3_set_spi_pending(32 + s * 32 +
								      (uint32_t)__builtin_ctz(m));
					break;
				case B_CPEND:
					*pe &= ~(v32 & ~d->hw[s]);
					break;
				}
				for (uint32_t m = old_en ^ *en; m; m &= m - 1)
					sync_hw_spi(vm, s * 32 + (uint32_t)__builtin_ctz(m));
			}
		}
		/* ISACTIVER/ICACTIVER and registers of absent INTIDs: RAZ/WI */
	} else if (off >= GICD_IPRIORITYR && off < GICD_IPRIORITYR + 0x400 &&
		   (bytes == 1 || bytes == 4)) {
		uint32_t intid = off - GICD_IPRIORITYR;
		for (unsigned i = 0; i < bytes; i++, intid++) {
			if (intid < 32 || intid >= 32 + nspi)
				continue;
			if (wr)
				d->prio[intid - 32] = (uint8_t)(v32 >> (8 * i)) & 0xF8; /* 5 bits */
			else
				r |= (uint64_t)d->prio[intid - 32] << (8 * i);
		}
	} else if (off >= GICD_ICFGR && off < GICD_ICFGR + 0x100 && bytes == 4) {
		uint32_t w = (off - GICD_ICFGR) / 4; /* word w: INTIDs 16w.. */
		if (w >= 2 && w < 2 + nspi / 16) {
			if (wr)
				d->icfgr[w - 2] = v32 & 0xAAAAAAAAu;
			else
				r = d->icfgr[w - 2];
		}
	} else if (off >= GICD_IROUTER + 8 * 32 && off < GICD_IROUTER + 8 * (32 + nspi) &&
		   (bytes == 8 || bytes == 4)) {
		uint32_t n = (off - GICD_IROUTER) / 8 - 32;
		unsigned shift = (off & 4) ? 32 : 0;
		uint64_t mask = (bytes == 8 ? ~0ull : 0xFFFFFFFFull) << shift;
		if (wr) {
			uint64_t nv = (d->irouter[n] & ~mask) | ((*val << shift) & mask);
			d->irouter[n] = nv & 0xFF800000FFFFFFull; /* Aff3, IRM, Aff2..0 */
			sync_hw_spi(vm, n);
		} else {
			r = (d->irouter[n] & mask) >> shift;
		}
	} else if (!wr && bytes == 4) {
		r = id_read(off);
	}
	if (!wr)
		*val = r;
}

static void redist_access(struct vm *vm, struct vcpu *t, uint32_t off, int wr, unsigned bytes,
			  uint64_t *val)
{
	struct vgic_cpu *c = &t->vgic;
	uint64_t r = 0;
	uint32_t v32 = (uint32_t)*val;

	if (off < GICR_SGI) {
		if (off == GICR_TYPER && (bytes == 8 || bytes == 4)) {
			/* affinity 0.0.0.id, processor number id, Last on the final frame */
			uint64_t typer = ((uint64_t)t->id << 32) | ((uint64_t)t->id << 8) |
					 (t->id == vm->cfg.vcpus - 1 ? 1u << 4 : 0);
			r = bytes == 8 ? typer : (uint32_t)typer;
		} else if (off == GICR_TYPER + 4 && bytes == 4) {
			r = t->id;
		} else if (off == GICR_IIDR && bytes == 4) {
			r = HV_IIDR;
		} else if (off == GICR_WAKER && bytes == 4) {
			if (wr)
				c->waker = v32 & (1u << 1);
			else
				r = c->waker |
				    (c->waker << 1); /* ChildrenAsleep follows ProcessorSleep */
		} else if (!wr && bytes == 4) {
			r = id_read(off); /* GICR_CTLR, STATUSR, PROPBASER...: RAZ/WI */
		}
	} else {
		off -= GICR_SGI;
		if (off == GICD_IGROUPR && bytes == 4) {
			r = 0xFFFFFFFFu;
		} else if (off >= GICD_ISENABLER && off < GICD_ISENABLER + 0x200 && !(off & 0x7F) &&
			   bytes == 4) {
			enum bitreg kind = (enum bitreg)((off - GICD_ISENABLER) / 0x80);
			if (!wr) {
				r = kind <= B_CENABLE
					    ? c->enabled
					    : __atomic_load_n(&c->pending, __ATOMIC_RELAXED);
			} else {
				switch (kind) {
				case B_SENABLE:
					c->enabled |= v32;
					break;
				case B_CENABLE:
					c->enabled &= ~v32;
					break;
				case B_SPEND: /* atomic: the flush takes bits without the lock */
					__atomic_fetch_or(&c->pending,
							  v32 & ~((1u << GIC_INTID_VTIMER) |
								  (1u << GIC_INTID_PTIMER)),
							  __ATOMIC_RELEASE);
					break;
				case B_CPEND:
					__atomic_fetch_and(&c->pending,
							   ~(v32 & ~__atomic_load_n(&c->hw,
										    __ATOMIC_RELAXED)),
							   __ATOMIC_RELAXED);
					break;
				}
			}
		} else if (off >= GICD_IPRIORITYR && off < GICD_IPRIORITYR + 32 &&
			   (bytes == 1 || bytes == 4)) {
			uint32_t intid = off - GICD_IPRIORITYR;
			for (unsigned i = 0; i < bytes; i++, intid++) {
				if (wr)
					c->prio[intid] = (uint8_t)(v32 >> (8 * i)) & 0xF8;
				else
					r |= (uint64_t)c->prio[intid] << (8 * i);
			}
		} else if (off == GICD_ICFGR && bytes == 4) {
			r = 0xAAAAAAAAu; /* SGIs: edge, fixed */
		} else if (off == GICD_ICFGR + 4 && bytes == 4) {
			if (wr)
				c->icfgr1 = v32 & 0xAAAAAAAAu;
			else
				r = c->icfgr1;
		}
		/* active state, IGRPMODR0, NSACR: RAZ/WI */
	}
	if (!wr)
		*val = r;
}

int vgic_mmio_access(struct vcpu *v, uint64_t ipa, int is_write, unsigned bytes, uint64_t *val)
{
	struct vm *vm = v->vm;
	if (ipa & (bytes - 1))
		return -1; /* the GIC architecture requires naturally aligned accesses */
	spin_lock(&vm->vgic.lock);
	if (ipa < VGIC_GICD_IPA + VGIC_GICD_SIZE) {
		dist_access(vm, (uint32_t)(ipa - VGIC_GICD_IPA), is_write, bytes, val);
	} else {
		uint64_t rel = ipa - VGIC_GICR_IPA;
		struct vcpu *t = &vm->vcpu[rel / VGIC_GICR_STRIDE];
		redist_access(vm, t, (uint32_t)(rel % VGIC_GICR_STRIDE), is_write, bytes, val);
	}
	spin_unlock(&vm->vgic.lock);
	/* enabling or pending an interrupt may make it deliverable on another vCPU */
	uint32_t o = (uint32_t)(ipa < VGIC_GICD_IPA + VGIC_GICD_SIZE
					? ipa - VGIC_GICD_IPA
					: (ipa - VGIC_GICR_IPA) % VGIC_GICR_STRIDE) &
		     0xFFFF;
	int wake = o == GICD_CTLR || (o >= GICD_ISENABLER && o < GICD_ISENABLER + 0x80) ||
		   (o >= GICD_ISPENDR && o < GICD_ISPENDR + 0x80);
	if (is_write && wake)
		for (uint32_t i = 0; i < vm->cfg.vcpus; i++)
			if (vm->vcpu[i].run && vm->vcpu[i].pcpu != cpu_index())
				ipi_send(vm->vcpu[i].pcpu, IPI_VGIC);
	return 0;
}
