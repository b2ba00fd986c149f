/*
 * main.c - "sysreg-probe", a guest that looks for what a VM must not see or
 * touch of the physical CPU (docs/guest-abi.md GABI-061, REQ-SAF-19):
 * 1. state left by an earlier run on the same CPU: it checks that FP/SIMD
 *    register d31 and TPIDR_EL0/TPIDR_EL1 do not hold the pattern it writes
 *    there itself (the second boot on the same CPU would find it otherwise);
 * 2. debug registers: MDSCR_EL1 and a breakpoint register read back 0 after a
 *    write, OSLSR_EL1 says "OS lock implemented, unlocked", ACTLR_EL1 and
 *    PMUSERENR_EL0 read 0;
 * 3. the PMU cycle counter (PMCCNTR_EL0), which hv-core does not emulate: a
 *    guest fault of kind UNDEF_TRAP under the VM's fault policy. With policy
 *    ignore the read gives 0 and the guest beats its heartbeat.
 */
#include "guest.h"

#define PATTERN 0x5EC12E7A11ull

void guest_main(uint64_t dtb);

#define MRS(reg)                                                                                   \
	({                                                                                         \
		uint64_t v_;                                                                       \
		__asm__ volatile("mrs %0, " reg : "=r"(v_));                                       \
		v_;                                                                                \
	})
#define MSR(reg, v) __asm__ volatile("msr " reg ", %0" : : "r"((uint64_t)(v)))

static uint64_t read_d31(void)
{
	uint64_t v;
	__asm__ volatile(".arch_extension fp\n\tfmov %0, d31" : "=r"(v));
	return v;
}

static void write_d31(uint64_t v)
{
	__asm__ volatile(".arch_extension fp\n\tfmov d31, %0" : : "r"(v));
}

static void check(const char *what, uint64_t got, uint64_t want)
{
	g_puts("sysreg-probe: ");
	g_puts(what);
	g_puts(got == want ? " ok\n" : " UNEXPECTED\n");
}

void guest_main(uint64_t dtb)
{
	volatile struct hvg_coop_page *cp = g_start("sysreg-probe", "sysreg-probe 1.0.0");
	if (!cp)
		return;
	cp->heartbeat = 1;

	/* CPACR_EL1.FPEN = 3: FP/SIMD usable at EL1 */
	MSR("cpacr_el1", 3ull << 20);
	__asm__ volatile("isb");
	int leaked =
		read_d31() == PATTERN || MRS("tpidr_el0") == PATTERN || MRS("tpidr_el1") == PATTERN;
	g_puts(leaked ? "sysreg-probe: state of an earlier run LEAKED\n"
		      : "sysreg-probe: registers clean at entry\n");
	write_d31(PATTERN);
	MSR("tpidr_el0", PATTERN);
	MSR("tpidr_el1", PATTERN);

	MSR("mdscr_el1", 1ull << 15); /* MDE: would enable breakpoints */
	check("MDSCR_EL1 reads as zero", MRS("mdscr_el1"), 0);
	MSR("dbgbvr0_el1", 0x40000000ull);
	check("DBGBVR0_EL1 reads as zero", MRS("dbgbvr0_el1"), 0);
	MSR("oslar_el1", 0);
	check("OSLSR_EL1 unlocked", MRS("oslsr_el1"), 8);
	MSR("pmuserenr_el0", 0);
	check("PMUSERENR_EL0 reads as zero", MRS("pmuserenr_el0"), 0);
	check("ACTLR_EL1 reads as zero", MRS("actlr_el1"), 0);

	g_puts("sysreg-probe: reading the PMU cycle counter\n");
	uint64_t cycles = MRS("pmccntr_el0");
	g_puts("sysreg-probe: survived, PMCCNTR_EL0 = ");
	g_putu(cycles);
	g_puts("\n");
	for (uint64_t n = 2;; n++) {
		cp->heartbeat = n;
		g_sleep_ms(50);
	}
}
