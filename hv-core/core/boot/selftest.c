/*
 * selftest.c - hv-core's boot self-test (REQ-SAF-02, REQ-SAF-03), run once on
 * the service CPU after every CPU is up and every boot-time VM is defined, and
 * before any of them starts. Each check reads back what hv-core configured
 * (or walks the tables it built) and compares with what it intended; the
 * check numbers are the bits of hvm_regs.selftest_failed (MGMT-190):
 *
 *   0 GICD      distributor control: affinity routing and Group 1 enabled
 *   1 GICR      every online CPU's redistributor awake, its SGI 0 (IPIs) and
 *               PPI 26 (hypervisor timer) enabled
 *   2 HCR       HCR_EL2 holds the value vcpu_run() loads for every guest
 *               (vcpu_guest_hcr, read from there, not a copy), and that
 *               value has the controls isolation needs (stage 2, IRQ/FIQ/
 *               SError routing, WFI and SMC traps, AArch64 EL1)
 *   3 VTCR      VTCR_EL2 holds the value stage2_activate() loads
 *               (stage2_vtcr), for each VM, and that value has the geometry
 *               the tables are built for
 *   4 VTTBR     VTTBR_EL2 holds each VM's table base and VMID
 *   5 EL2 MMU   hv-core's own translation tables: identity map, device
 *               window below RAM never executable, RAM only where the
 *               platform has RAM, nothing else; TCR_EL2/SCTLR_EL2 as set
 *   6 STAGE2    each VM's stage-2 tables map exactly its memory, its
 *               cooperation page, its channel windows and its pass-through
 *               device windows, nothing else
 *   7 S2 WALK   loopback through the MMU: with each VM's stage 2 loaded (as
 *               a vCPU loads it), the start of its memory translates to its
 *               physical memory and an IPA it does not map faults at stage 2
 *               (AT S12E1R, EL1's MMU off)
 *   8 SGI       loopback through the GIC: an SGI the service CPU sends itself
 *               arrives (acknowledged at ICC_IAR1_EL1)
 *   9 TIMER     loopback of the timer hv-core sleeps on: the EL2 physical
 *               timer, programmed 100 us ahead, raises PPI 26 and it arrives
 *
 * Fault injection (docs/mgmt-abi.md MGMT-191): bit n of `inject` corrupts the
 * subject of check n just before the check reads it (and repairs it after),
 * which proves each check detects a corruption. Check 6's corruption (a
 * mapping of the management region) and check 7's (the walk without the
 * stage-2 enable) go to the first VM only; check 8's is an SGI never sent,
 * check 9's a timer interrupt masked at the timer. A failure of checks 0..5,
 * 8 and 9 affects every VM; a failure of check 6 or 7 only the VM whose
 * tables differ.
 */
#include <string.h>
#include "selftest.h"
#include "vm.h"
#include "hvvmconfig.h"
#include "cpu.h"
#include "platform.h"
#include "sysregs.h"
#include "gicv3.h"
#include "log.h"
#include "mgmt_window.h"
#include "stage2.h"
#include "region.h"
#include "vm_life.h"
#include "mmu.h"
#include "vcpu.h"
#include "timer.h"
#include "ipi.h"

#define R32(a) (*(volatile uint32_t *)(uintptr_t)(a))

#define GICD_CTLR 0x0000
#define GICD_CTLR_ARE (1u << 4)
#define GICD_CTLR_G1 (1u << 1)
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_FRAME 0x20000
#define GICR_SGI 0x10000
#define GICR_ISENABLER0 0x0100
#define GICR_ICENABLER0 0x0180

/* The controls that keep a guest inside its partition (REQ-SAF-19): the value
 * vcpu.c loads must have every one of them. */
#define GUEST_HCR_NEEDED                                                                           \
	(HCR_VM | HCR_SWIO | HCR_FMO | HCR_IMO | HCR_AMO | HCR_TWI | HCR_TSC | HCR_TIDCP |         \
	 HCR_TACR | HCR_RW)
/* The geometry stage2.c's tables are built for (T0SZ=32, SL0=1: start at level
 * 1, TG0 4K, PS 40 bits): the value stage2.c loads must say so. */
#define VTCR_GEOMETRY_MASK ((7ull << 16) | (3ull << 14) | (3ull << 6) | 0x3Full)
#define VTCR_GEOMETRY ((2ull << 16) | (0ull << 14) | (1ull << 6) | 32ull)

#define PTE_VALID 1ull
#define PTE_TYPE 3ull
#define PTE_AF (1ull << 10)
#define PTE_XN (1ull << 54)
#define ADDR_1G 0x0000FFFFC0000000ull
#define ADDR_2M 0x0000FFFFFFE00000ull
#define ADDR_4K 0x0000FFFFFFFFF000ull

#define CHECKS 10u

static uint32_t failed, run;

static uint32_t vm_blocked_mask; /* VMs a check-6 failure affects */

static int fail(unsigned check, const char *what)
{
	static const char *const names[CHECKS] = { "GICD",           "GICR",         "HCR_EL2",
						   "VTCR_EL2",       "VTTBR_EL2",    "EL2 tables",
						   "stage-2 tables", "stage-2 walk", "SGI loopback",
						   "timer loopback" };
	hv_log("self-test %u (%s) FAILED: %s", check, names[check], what);
	failed |= 1u << check;
	return 0;
}

static int check_gicd(int inject)
{
	uint64_t ctlr = platform.gicd + GICD_CTLR;
	uint32_t want = GICD_CTLR_ARE | GICD_CTLR_G1;
	if (inject)
		R32(ctlr) = GICD_CTLR_ARE;
	uint32_t got = R32(ctlr) & (GICD_CTLR_ARE | GICD_CTLR_G1 | 1u);
	if (inject)
		R32(ctlr) = want;
	return got == want || fail(0, "GICD_CTLR is not ARE | EnableGrp1");
}

static uint64_t redist_of(uint64_t mpidr)
{
	uint64_t aff = ((mpidr >> 32) & 0xFF) << 24 | (mpidr & 0xFFFFFF);
	for (uint64_t rd = platform.gicr; rd + GICR_FRAME <= platform.gicr + platform.gicr_size;
	     rd += GICR_FRAME) {
		uint64_t typer = *(volatile uint64_t *)(uintptr_t)(rd + GICR_TYPER);
		if ((typer >> 32) == aff)
			return rd;
		if (typer & (1u << 4)) /* Last */
			break;
	}
	return 0;
}

static int check_gicr(int inject)
{
	int ok = 1;
	uint32_t need = (1u << 0) | (1u << GIC_INTID_HYP_TIMER);
	for (uint32_t i = 0; i < platform.ncpus && i < HV_MAX_CPUS; i++) {
		if (!pcpus[i].online)
			continue;
		uint64_t rd = redist_of(pcpus[i].mpidr);
		if (!rd) {
			ok = fail(1, "an online CPU has no redistributor");
			continue;
		}
		int corrupt = inject && i == platform.ncpus - 1;
		if (corrupt)
			R32(rd + GICR_SGI + GICR_ICENABLER0) = 1u << GIC_INTID_HYP_TIMER;
		uint32_t waker = R32(rd + GICR_WAKER);
		uint32_t en = R32(rd + GICR_SGI + GICR_ISENABLER0);
		if (corrupt)
			R32(rd + GICR_SGI + GICR_ISENABLER0) = 1u << GIC_INTID_HYP_TIMER;
		if (waker & 6u)
			ok = fail(1, "a redistributor is asleep");
		if ((en & need) != need)
			ok = fail(1, "SGI 0 or PPI 26 disabled in a redistributor");
	}
	return ok;
}

static int check_hcr(int inject)
{
	uint64_t loaded = vcpu_guest_hcr; /* what every guest entry loads */
	if ((loaded & GUEST_HCR_NEEDED) != GUEST_HCR_NEEDED)
		return fail(2, "the guest controls vcpu_run() loads lack an isolation control");
	write_sysreg(hcr_el2, loaded);
	if (inject)
		write_sysreg(hcr_el2, loaded & ~HCR_TSC);
	isb();
	uint64_t got = read_sysreg(hcr_el2);
	write_sysreg(hcr_el2, 0);
	isb();
	return got == loaded || fail(2, "HCR_EL2 differs from the guest controls written");
}

static int check_vtcr_vttbr(int inject_vtcr, int inject_vttbr)
{
	int ok = 1;
	uint64_t loaded = stage2_vtcr; /* what stage2_activate() loads */
	if ((loaded & VTCR_GEOMETRY_MASK) != VTCR_GEOMETRY)
		ok = fail(3, "the VTCR_EL2 stage2_activate() loads is not the tables' geometry");
	/* that value, read back once on its own */
	write_sysreg(vtcr_el2, loaded);
	if (inject_vtcr)
		write_sysreg(vtcr_el2, loaded & ~0x3Full); /* T0SZ 0 */
	isb();
	if ((read_sysreg(vtcr_el2) & 0xFFFFFull) != (loaded & 0xFFFFFull))
		ok = fail(3, "VTCR_EL2 differs from the stage-2 geometry written");
	struct stage2 none = { 0 };
	int any = 0;
	for (uint32_t i = 0; i <= HVM_MAX_VMS; i++) {
		if (i < HVM_MAX_VMS && !vms[i].used)
			continue;
		if (i == HVM_MAX_VMS && any)
			break;
		const struct stage2 *s2 = i < HVM_MAX_VMS ? &vms[i].s2 : &none;
		any = 1;
		stage2_activate(s2);
		if (inject_vttbr)
			write_sysreg(vttbr_el2, stage2_vttbr(s2) ^ (1ull << 48));
		isb();
		if ((read_sysreg(vtcr_el2) & 0xFFFFFull) != (loaded & 0xFFFFFull))
			ok = fail(3, "VTCR_EL2 differs from the stage-2 geometry written");
		if (read_sysreg(vttbr_el2) != stage2_vttbr(s2))
			ok = fail(4, "VTTBR_EL2 differs from the VM's table base and VMID");
		inject_vttbr = 0; /* one corruption is enough */
	}
	write_sysreg(vttbr_el2, 0);
	isb();
	return ok;
}

static int check_el2_tables(int inject)
{
	uint64_t *l1 = (uint64_t *)(uintptr_t)(read_sysreg(ttbr0_el2) & ADDR_4K);
	uint64_t tcr = read_sysreg(tcr_el2), sctlr = read_sysreg(sctlr_el2);
	int ok = 1;
	if ((tcr & 0x3F) != 32 || !(sctlr & SCTLR_M))
		ok = fail(5, "TCR_EL2.T0SZ or SCTLR_EL2.M not as set");
	uint64_t saved = l1[0];
	if (inject)
		l1[0] &= ~PTE_XN;
	for (uint64_t g = 0; g < 512; g++) {
		uint64_t e = l1[g];
		if (g >= 4 && e) {
			ok = fail(5, "an entry beyond the 4 GiB address space");
			continue;
		}
		if (!(e & PTE_VALID))
			continue;
		if ((e & PTE_TYPE) != 1 || (e & ADDR_1G) != g << 30) {
			ok = fail(5, "an entry is not an identity 1 GiB block");
			continue;
		}
		uint64_t attr = (e >> 2) & 7;
		int ram = g << 30 >= platform.ram_base &&
			  g << 30 < platform.ram_base + platform.ram_size;
		int store = platform.slot_size && g << 30 >= (platform.slot_base & ~0x3FFFFFFFull) &&
			    g << 30 < platform.slot_base + platform.slot_size; /* MGMT-661 */
		if (store && (attr != 1 || !(e & PTE_XN)))
			ok = fail(5, "the slot store is not Normal memory never executed");
		else if (!ram && !store && (attr != 0 || !(e & PTE_XN)))
			ok = fail(5, "a device window is cacheable or executable");
		if (ram && attr != 1)
			ok = fail(5, "RAM is not mapped Normal");
	}
	l1[0] = saved;
	dsb(ish);
	return ok;
}

/* Whether [ipa, +size) -> pa is something VM vm may have mapped. */
static int allowed(const struct vm *vm, const struct vmcfg *vc, uint64_t ipa, uint64_t pa,
		   uint64_t size)
{
	const struct vm_config *c = &vm->cfg;
	if (ipa >= c->mem_ipa && ipa + size <= c->mem_ipa + c->mem_size)
		return pa == ipa - c->mem_ipa + c->mem_pa;
	if (ipa == vm->coop_ipa && size == 0x1000)
		return pa == (uint64_t)(uintptr_t)vm->coop;
	if (mgmt_window_allowed(vm, ipa, pa, size)) /* the management VM's window (MGMT-211) */
		return 1;
	for (uint32_t i = 0; vc && i < vc->nchan; i++) {
		const struct vmcfg_range *w = &vc->chan[i].shm;
		if (ipa >= w->ipa && ipa + size <= w->ipa + w->size)
			return pa == ipa - w->ipa + w->pa;
	}
	for (uint32_t i = 0; vc && i < vc->ndev; i++)
		for (uint32_t j = 0; j < vc->dev[i].nreg; j++) {
			const struct vmcfg_range *w = &vc->dev[i].reg[j];
			if (ipa >= w->ipa && ipa + size <= w->ipa + w->size)
				return pa == ipa - w->ipa + w->pa;
		}
	return 0;
}

static int check_stage2(struct vm *vm, int inject)
{
	const struct vmcfg *vc = vm_vmcfg(vm->id);
	uint64_t *l1 = vm->s2.l1, mapped_mem = 0, inj_slot_saved = 0, *inj_slot = NULL;
	int ok = 1;
	if (inject) {
		/* a block mapping hv-core's management region at IPA 3 GiB + 510 MiB */
		char msg[64];
		if (stage2_map(&vm->s2, 0xDFC00000ull, HV_MGMT_BASE & ~0x1FFFFFull, 0x200000,
			       S2_NORMAL_RW, msg, sizeof(msg)) == HVM_OK) {
			uint64_t *l2 = (uint64_t *)(uintptr_t)(l1[3] & ADDR_4K);
			inj_slot = &l2[(0xDFC00000ull >> 21) & 511];
		}
	}
	for (uint64_t i = 0; i < 512; i++) {
		uint64_t e1 = l1[i];
		if (!(e1 & PTE_VALID))
			continue;
		if (i >= 4 || (e1 & PTE_TYPE) != 3) {
			ok = fail(6,
				  "a stage-2 level-1 entry outside the IPA space or a 1 GiB block");
			continue;
		}
		uint64_t *l2 = (uint64_t *)(uintptr_t)(e1 & ADDR_4K);
		for (uint64_t j = 0; j < 512; j++) {
			uint64_t e2 = l2[j], ipa2 = i << 30 | j << 21;
			if (!(e2 & PTE_VALID))
				continue;
			if ((e2 & PTE_TYPE) == 1) {
				if (!(e2 & PTE_AF) || !allowed(vm, vc, ipa2, e2 & ADDR_2M, 0x200000))
					ok = fail(6, "a stage-2 block maps what the VM does not own");
				else if (ipa2 >= vm->cfg.mem_ipa &&
					 ipa2 < vm->cfg.mem_ipa + vm->cfg.mem_size)
					mapped_mem += 0x200000;
				continue;
			}
			uint64_t *l3 = (uint64_t *)(uintptr_t)(e2 & ADDR_4K);
			for (uint64_t k = 0; k < 512; k++) {
				uint64_t e3 = l3[k], ipa3 = ipa2 | k << 12;
				if (!(e3 & PTE_VALID))
					continue;
				if ((e3 & PTE_TYPE) != 3 || !(e3 & PTE_AF) ||
				    !allowed(vm, vc, ipa3, e3 & ADDR_4K, 0x1000))
					ok = fail(6, "a stage-2 page maps what the VM does not own");
				else if (ipa3 >= vm->cfg.mem_ipa &&
					 ipa3 < vm->cfg.mem_ipa + vm->cfg.mem_size)
					mapped_mem += 0x1000;
			}
		}
	}
	if (mapped_mem != vm->cfg.mem_size)
		ok = fail(6, "a VM's memory is not mapped completely");
	if (inj_slot) {
		*inj_slot = inj_slot_saved;
		dsb(ishst);
	}
	if (!ok)
		vm_blocked_mask |= 1u << vm->id;
	return ok;
}

/* Whether s2 maps ipa (a walk of the tables, as check 6 reads them). */
static int s2_maps(const struct stage2 *s2, uint64_t ipa)
{
	uint64_t e = s2->l1[(ipa >> 30) & 511];
	if (ipa >> 32 || !(e & PTE_VALID))
		return 0;
	e = ((const uint64_t *)(uintptr_t)(e & ADDR_4K))[(ipa >> 21) & 511];
	if (!(e & PTE_VALID) || (e & PTE_TYPE) == 1)
		return (e & PTE_VALID) != 0;
	e = ((const uint64_t *)(uintptr_t)(e & ADDR_4K))[(ipa >> 12) & 511];
	return (e & PTE_VALID) != 0;
}

static uint64_t at_s12e1r(uint64_t ipa)
{
	__asm__ volatile("at s12e1r, %0" : : "r"(ipa) : "memory");
	isb();
	return read_sysreg(par_el1);
}

static int check_s2_walk(struct vm *vm, int inject)
{
	const struct vm_config *c = &vm->cfg;
	static const uint64_t holes[] = { 0xFFFFF000ull, 0x3FFFF000ull, 0xBFFFF000ull };
	uint64_t sctlr = read_sysreg(sctlr_el1), hole = 0;
	for (unsigned i = 0; i < sizeof(holes) / sizeof(holes[0]) && !hole; i++)
		if (!s2_maps(&vm->s2, holes[i]))
			hole = holes[i];
	int ok = 1;
	write_sysreg(sctlr_el1, SCTLR_EL1_RES1); /* EL1 MMU off: stage 1 is the identity */
	stage2_activate(&vm->s2);
	/* the stage-2 enable the vCPU code loads; the injection leaves it out */
	write_sysreg(hcr_el2, inject ? vcpu_guest_hcr & ~HCR_VM : vcpu_guest_hcr);
	isb();
	uint64_t par = at_s12e1r(c->mem_ipa);
	if ((par & 1) || (par & 0x0000FFFFFFFFF000ull) != (c->mem_pa & ADDR_4K))
		ok = fail(7, "the start of a VM's memory does not translate to that memory");
	if (hole) {
		par = at_s12e1r(hole);
		if (!(par & 1) || !(par & (1u << 9)))
			ok = fail(7, "an IPA the VM does not map does not fault at stage 2");
	}
	write_sysreg(hcr_el2, 0);
	write_sysreg(vttbr_el2, 0);
	write_sysreg(sctlr_el1, sctlr);
	write_sysreg(par_el1, 0);
	isb();
	if (!ok)
		vm_blocked_mask |= 1u << vm->id;
	return ok;
}

static int check_sgi_loop(int inject)
{
	uint64_t daif = read_sysreg(daif);
	__asm__ volatile("msr daifset, #2" ::: "memory"); /* taken here, not by the vector */
	if (!inject)
		gicv3_send_sgi(pcpus[cpu_index()].mpidr, 0);
	uint32_t got = 1023;
	for (unsigned i = 0; i < 100000 && got != 0; i++) {
		got = gicv3_ack();
		if (got < 1020 && got != 0)
			gicv3_eoi(got); /* something else: it is re-raised if still due */
	}
	if (got == 0)
		gicv3_eoi(0);
	write_sysreg(daif, daif);
	isb();
	return got == 0 || fail(8, "an SGI the CPU sent itself did not arrive");
}

/* Takes interrupts at ICC_IAR1_EL1 (IRQs masked) until want arrives or the
 * counter passes until; others are ended (re-raised if still due). */
static int irq_arrives(uint32_t want, uint64_t until)
{
	for (;;) {
		uint32_t got = gicv3_ack();
		if (got == want) {
			gicv3_eoi(got);
			return 1;
		}
		if (got < 1020)
			gicv3_eoi(got);
		if (timer_count() >= until)
			return 0;
	}
}

static int check_timer_loop(int inject)
{
	uint64_t daif = read_sysreg(daif);
	__asm__ volatile("msr daifset, #2" ::: "memory");
	uint64_t now = timer_count();
	write_sysreg(cnthp_cval_el2, now + timer_ns_to_count(100000ull));
	/* ENABLE, and IMASK when injected: the interrupt never leaves the timer */
	write_sysreg(cnthp_ctl_el2, inject ? 3ull : 1ull);
	isb();
	/* 1 s: a working timer answers in 100 us; the bound only has to outlast a
	 * machine model whose timer thread the host starves (QEMU on a loaded
	 * host), and it costs time only when the check fails */
	int ok = irq_arrives(GIC_INTID_HYP_TIMER, now + timer_ns_to_count(1000000000ull));
	write_sysreg(cnthp_ctl_el2, 0);
	write_sysreg(daif, daif);
	isb();
	return ok || fail(9, "the EL2 timer's interrupt did not arrive");
}

static void cpu_check_ipi(unsigned kind);

uint32_t selftest_run(uint32_t inject)
{
	ipi_register(IPI_CHECK, cpu_check_ipi); /* MGMT-712, run-time checks 2..4 */
	failed = 0;
	vm_blocked_mask = 0;
	check_gicd(inject & 1);
	check_gicr(inject & 2);
	check_hcr(inject & 4);
	check_vtcr_vttbr(inject & 8, inject & 16);
	check_el2_tables(inject & 32);
	int inject_s2 = (inject & 64) != 0; /* the first VM only: shows the per-VM scope */
	int inject_walk = (inject & 128) != 0;
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
		if (vms[i].used) {
			check_stage2(&vms[i], inject_s2);
			check_s2_walk(&vms[i], inject_walk);
			inject_s2 = inject_walk = 0;
		}
	check_sgi_loop(inject & 256);
	check_timer_loop(inject & 512);
	run = CHECKS;
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
		if (vms[i].used && ((failed & 0x33Fu) || (vm_blocked_mask & (1u << i))))
			vms[i].selftest_blocked = 1;
	hv_log("self-test: %u checks, failed mask 0x%x%s", run, failed,
	       inject ? " (fault injection on)" : "");
	return failed;
}

/* ---- run-time checks (REQ-SAF-04, docs/mgmt-abi.md MGMT-712) -------------------
 *
 * On every service tick, after the supervision pass: the distributor's and the
 * online CPUs' redistributors' settings (checks 0 and 1, as at boot), the EL2
 * registers of every CPU that runs a guest (checks 2..4, on that CPU, see
 * cpu_check_ipi), and the stage-2 tables of one VM, round robin (check 6): the first time a VM is seen
 * (after its DEFINE) its tables get the full check of the boot self-test, and
 * their checksum is kept; from then on a checksum that differs is a failure.
 * A failure is a hypervisor fault, contained: the VMs it concerns (every VM
 * for checks 0 and 1, the one VM for check 6) are shut off with reason
 * SELFTEST and held back like a VM whose boot self-test failed (START answers
 * E_SELFTEST), a SELFTEST event carries the check bit, and selftest_failed
 * and hv_state say so. */
static struct {
	uint32_t gen;
	int known;
	uint64_t sum;
} s2_ref[HVM_MAX_VMS];
static uint32_t rt_next;

static void contain(struct vm *vm, uint32_t bit)
{
	vm->selftest_blocked = 1;
	if (vm->state != HVM_VM_SHUTOFF && vm->state != HVM_VM_CRASHED)
		vm_op_destroy(vm, HVM_R_SELFTEST);
	else
		vm->reason = HVM_R_SELFTEST;
	vm_publish_slot(vm);
	events_append(HVM_EV_SELFTEST, vm->id, bit, HVM_R_SELFTEST);
}

static void runtime_failed(uint32_t check, struct vm *only)
{
	uint32_t bit = 1u << check;
	failed |= bit;
	volatile struct hvm_regs *r = mgmt_regs();
	r->selftest_failed = failed;
	__atomic_store_n(&r->hv_state, HVM_HV_SELFTEST_FAILED, __ATOMIC_RELEASE);
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
		if (vms[i].used && (!only || only == &vms[i]))
			contain(&vms[i], bit);
	/* GABI-701: the guests that run on are told too */
	vm_selftest_failed = failed;
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
		if (vms[i].used && vms[i].coop) {
			vms[i].coop->selftest_failed = failed;
			dcache_clean_range((const void *)vms[i].coop, sizeof(*vms[i].coop));
		}
}

/* Checks 2, 3 and 4 on every CPU that runs a guest: the EL2 registers are
 * per CPU, so each service tick sends IPI_CHECK to every online CPU, and the
 * handler, on that CPU, with its vCPU exited (or in a trapped WFI), compares
 * HCR_EL2, VTCR_EL2 and VTTBR_EL2 with what vcpu_run() and stage2_activate()
 * loaded for that vCPU: three reads and compares per CPU and tick. A CPU
 * whose vCPU is not live (idle, parking, starting) has nothing loaded and is
 * skipped. A mismatch stops that vCPU at once (it parks as the handler
 * returns) and is recorded for the next tick, which contains the VM. */
static struct {
	uint32_t bit; /* 0: nothing found; else the failed check's bit */
	uint32_t vm;
	uint64_t got, want;
} cpu_found[HV_MAX_CPUS];

static void cpu_test_corrupt(uint32_t cpu);

static void cpu_check_ipi(unsigned kind)
{
	(void)kind;
	uint32_t cpu = cpu_index();
	struct vcpu *v = cpu_current()->vcpu;
	if (!v || !__atomic_load_n(&v->run, __ATOMIC_ACQUIRE) ||
	    !(__atomic_load_n(&v->vm->live_mask, __ATOMIC_ACQUIRE) & (1u << v->id)) ||
	    __atomic_load_n(&cpu_found[cpu].bit, __ATOMIC_ACQUIRE))
		return;
	const uint64_t want[3] = { vcpu_guest_hcr, stage2_vtcr & 0xFFFFFull,
				   stage2_vttbr(&v->vm->s2) };
	const uint64_t got[3] = { read_sysreg(hcr_el2), read_sysreg(vtcr_el2) & 0xFFFFFull,
				  read_sysreg(vttbr_el2) };
	for (unsigned n = 0; n < 3; n++)
		if (got[n] != want[n]) {
			cpu_found[cpu].vm = v->vm->id;
			cpu_found[cpu].got = got[n];
			cpu_found[cpu].want = want[n];
			__atomic_store_n(&cpu_found[cpu].bit, 1u << (2 + n), __ATOMIC_RELEASE);
			/* this vCPU does not enter its guest again: it parks when the
			 * interrupt returns (vm_vcpu_check); the tick stops the rest */
			__atomic_store_n(&v->run, 0, __ATOMIC_SEQ_CST);
			return;
		}
	cpu_test_corrupt(cpu); /* after the check: the next tick finds it */
}

/* On the service CPU: what the CPUs found since the last tick, contained;
 * then every online CPU is asked to check again. */
static void cpu_checks_tick(void)
{
	for (uint32_t c = 0; c < platform.ncpus && c < HV_MAX_CPUS; c++) {
		uint32_t bit = __atomic_load_n(&cpu_found[c].bit, __ATOMIC_ACQUIRE);
		if (!bit)
			continue;
		uint32_t id = cpu_found[c].vm;
		static const char *const names[3] = { "HCR_EL2", "VTCR_EL2", "VTTBR_EL2" };
		hv_log("run-time check %u (%s) FAILED on CPU %u: 0x%lx, loaded 0x%lx; vm %u",
		       (unsigned)__builtin_ctz(bit), names[__builtin_ctz(bit) - 2], c,
		       (unsigned long)cpu_found[c].got, (unsigned long)cpu_found[c].want, id);
		if (id < HVM_MAX_VMS && vms[id].used)
			runtime_failed((uint32_t)__builtin_ctz(bit), &vms[id]);
		__atomic_store_n(&cpu_found[c].bit, 0, __ATOMIC_RELEASE);
	}
	for (uint32_t c = 0; c < platform.ncpus && c < HV_MAX_CPUS; c++)
		if (pcpus[c].online && pcpus[c].vcpu)
			ipi_send(c, IPI_CHECK);
}

#ifdef HV_TEST_HOOKS
/* MGMT-712, test builds only: while the words at HV_CORRUPT_FLAG hold
 * "CORR", a mask and a VM id, the next tick corrupts what the mask names
 * (2: the last online CPU's redistributor disables SGI 0; 64: an entry of
 * that VM's stage-2 tables maps 2 MiB more; 4 and 16: on the CPU of that VM's
 * vCPU 0, HCR_EL2 loses the WFI trap, or VTTBR_EL2 another VMID, done by
 * that CPU after its next check) before the checks, once; the fourth word
 * counts it (for 4 and 16: when that CPU made it). */
#define HV_CORRUPT_FLAG 0x41FFF020ull
#define HV_CORRUPT_MAGIC 0x52524F43u      /* "CORR" */
static uint32_t cpu_corrupt[HV_MAX_CPUS]; /* per CPU: what it corrupts (mask 4, 16) */

static void test_corrupt(void)
{
	volatile uint32_t *flag = (volatile uint32_t *)(uintptr_t)HV_CORRUPT_FLAG;
	if (flag[0] != HV_CORRUPT_MAGIC)
		return;
	uint32_t what = flag[1], id = flag[2];
	flag[0] = 0;
	if (what & 2) { /* the last online CPU no longer takes its wake-up SGI */
		uint32_t last = 0;
		for (uint32_t i = 0; i < platform.ncpus && i < HV_MAX_CPUS; i++)
			if (pcpus[i].online)
				last = i;
		uint64_t rd = redist_of(pcpus[last].mpidr);
		if (rd)
			R32(rd + GICR_SGI + GICR_ICENABLER0) = 1u << 0;
	}
	if ((what & 64) && id < HVM_MAX_VMS && vms[id].used) {
		char msg[64];
		stage2_map(&vms[id].s2, 0xDFC00000ull, HV_MGMT_BASE & ~0x1FFFFFull, 0x200000,
			   S2_NORMAL_RW, msg, sizeof(msg));
		dsb(ishst);
	}
	if ((what & 20) && id < HVM_MAX_VMS && vms[id].used) {
		__atomic_store_n(&cpu_corrupt[vms[id].vcpu[0].pcpu], what & 20, __ATOMIC_RELEASE);
		return; /* counted by that CPU */
	}
	flag[3]++;
}

static void cpu_test_corrupt(uint32_t cpu)
{
	uint32_t what = __atomic_exchange_n(&cpu_corrupt[cpu], 0, __ATOMIC_ACQ_REL);
	if (!what)
		return;
	if (what & 4)
		write_sysreg(hcr_el2, read_sysreg(hcr_el2) & ~HCR_TWI);
	if (what & 16)
		write_sysreg(vttbr_el2, read_sysreg(vttbr_el2) ^ (1ull << 55));
	isb();
	volatile uint32_t *flag = (volatile uint32_t *)(uintptr_t)HV_CORRUPT_FLAG;
	flag[3]++;
}
#else
static void test_corrupt(void)
{
}

static void cpu_test_corrupt(uint32_t cpu)
{
	(void)cpu;
}
#endif

void selftest_tick(void)
{
	test_corrupt();
	cpu_checks_tick(); /* checks 2..4 on the CPUs that run guests */
	/* checks 0 and 1 as at boot (fail() records and logs), until one fails */
	if (!(failed & 1u) && !check_gicd(0))
		runtime_failed(0, NULL);
	if (!(failed & 2u) && !check_gicr(0))
		runtime_failed(1, NULL);
	/* check 6, one VM per tick */
	for (uint32_t n = 0; n < HVM_MAX_VMS; n++) {
		uint32_t i = (rt_next + n) % HVM_MAX_VMS;
		struct vm *vm = &vms[i];
		if (!vm->used || vm->selftest_blocked)
			continue;
		rt_next = i + 1;
		if (!s2_ref[i].known || s2_ref[i].gen != vm->gen) {
			/* a VM not seen yet: its tables in full, then their checksum */
			uint32_t mask = vm_blocked_mask;
			int ok = check_stage2(vm, 0);
			vm_blocked_mask = mask;
			s2_ref[i].gen = vm->gen;
			s2_ref[i].known = ok;
			s2_ref[i].sum = stage2_checksum(&vm->s2);
			if (!ok)
				runtime_failed(6, vm);
		} else if (stage2_checksum(&vm->s2) != s2_ref[i].sum) {
			hv_log("run-time check 6 (stage-2 tables) FAILED: vm %u '%s': its tables "
			       "changed",
			       vm->id, vm->cfg.name);
			s2_ref[i].known = 0;
			runtime_failed(6, vm);
		}
		break;
	}
}

uint32_t selftest_failed_mask(void)
{
	return failed;
}
uint32_t selftest_checks_run(void)
{
	return run;
}
