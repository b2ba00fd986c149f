/*
 * main.c - "irq-test", a two-vCPU guest that exercises interrupt
 * virtualization and PSCI and prints what it observed, one result a line,
 * for tests/integration/hvcore_irq.c:
 *
 *   PSCI: version, features, CPU_ON of vCPU 1 (and the refusals of a second
 *   CPU_ON and of a vCPU the VM does not have), AFFINITY_INFO;
 *   GIC isolation: the distributor of SPIs the VM does not have reads as zero
 *   and ignores writes; its own SPIs keep what is written;
 *   SGIs from vCPU 0 to vCPU 1 through ICC_SGI1R_EL1, first one, then eight
 *   at once while vCPU 1 masks interrupts (more than the list registers:
 *   the rest is delivered after the maintenance interrupt);
 *   a pass-through SPI (SPI 60, INTID 92) made pending through the guest's
 *   distributor arrives from the physical GIC, on vCPU 0 and, routed by
 *   GICD_IROUTER, on vCPU 1;
 *   the EL1 physical timer (CNTP) interrupts vCPU 0 like the virtual one
 *   (INTID 30): three expiries, each re-armed from its handler;
 *   the virtual timer ticks vCPU 0's heartbeat as in rtos-demo.
 */
#include "guest.h"
#include "../rtos/gic.h"

#define PSCI_VERSION 0x84000000u
#define PSCI_CPU_ON 0xC4000003u
#define PSCI_AFF_INFO 0xC4000004u
#define PSCI_FEATURES 0x8400000Au
#define PT_INTID 92u     /* SPI 60, see guests/vms/irq-test.dtsi */
#define INTID_PTIMER 30u /* EL1 physical timer, non-secure */
#define PTIMER_SHOTS 3u
#define TICK_HZ 100u

void guest_main(uint64_t dtb);
void secondary_main(uint64_t cpu);
extern char secondary_entry[];

static uint8_t stack1[8192] __attribute__((aligned(16)));
static volatile uint32_t cpu1_up, cpu1_unmask, cpu1_sgi_mask, cpu1_spi, cpu0_spi;
static volatile uint64_t ticks;
static volatile uint32_t self_sgis;
static volatile uint32_t ptimer_irqs;
#define PERF_N 1000u
#define PERF_SGI 3u

static void say(const char *what, uint64_t v)
{
	g_puts("irq-test: ");
	g_puts(what);
	g_puts(" ");
	g_putu(v);
	g_puts("\n");
}

static void say_signed(const char *what, uint64_t v)
{
	g_puts("irq-test: ");
	g_puts(what);
	g_puts((int64_t)v < 0 ? " -" : " ");
	g_putu((int64_t)v < 0 ? (uint64_t)(-(int64_t)v) : v);
	g_puts("\n");
}

static void say_hex(const char *what, uint64_t v)
{
	char buf[19] = "0x";
	int n = 0;
	char tmp[16];
	do {
		tmp[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	for (int i = 0; i < n; i++)
		buf[2 + i] = tmp[n - 1 - i];
	buf[2 + n] = 0;
	g_puts("irq-test: ");
	g_puts(what);
	g_puts(" ");
	g_puts(buf);
	g_puts("\n");
}

static void on_irq0(uint32_t intid)
{
	if (intid == INTID_VTIMER) {
		ticks++;
		vtimer_next();
	} else if (intid == PT_INTID) {
		cpu0_spi++;
	} else if (intid == PERF_SGI) {
		self_sgis++;
	} else if (intid == INTID_PTIMER) {
		/* level-triggered: re-arm (or stop) before the end of interrupt */
		if (++ptimer_irqs < PTIMER_SHOTS)
			__asm__ volatile("msr cntp_tval_el0, %0\n\tisb"
					 :
					 : "r"(vtimer_freq() / 1000));
		else
			__asm__ volatile("msr cntp_ctl_el0, xzr\n\tisb");
	}
}

static uint64_t cntvct(void)
{
	uint64_t v;
	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v) : : "memory");
	return v;
}

/* Cost figures for docs/performance.md ("Hypervisor"): run under QEMU -icount shift=0 (one
 * instruction = 1 ns of virtual time, the counter ticks every 16 ns) they are
 * instruction counts of the whole machine for PERF_N round trips each. */
static void perf(void)
{
	gic_enable_private(0, PERF_SGI, 0x80);
	uint64_t t0 = cntvct();
	for (uint32_t i = 1; i <= PERF_N; i++) {
		gic_send_sgi(0, PERF_SGI); /* trapped write, virtual SGI to itself */
		while (self_sgis != i)
			;
	}
	uint64_t t1 = cntvct();
	for (uint32_t i = 1; i <= PERF_N; i++) {
		cpu0_spi = 0;
		mmio_write32(GIC_GICD + 0x200 + (PT_INTID / 32) * 4, 1u << (PT_INTID % 32));
		while (cpu0_spi != 1)
			;
	}
	uint64_t t2 = cntvct();
	for (uint32_t i = 1; i <= PERF_N; i++)
		g_hvc(HVG_HC_NULL, 0, 0, 0);
	uint64_t t3 = cntvct();
	say("perf rounds", PERF_N);
	say("perf sgi-self ticks", t1 - t0);
	say("perf spi-passthrough ticks", t2 - t1);
	say("perf hvc-null ticks", t3 - t2);
}

static void on_irq1(uint32_t intid)
{
	if (intid < 16)
		cpu1_sgi_mask |= 1u << intid;
	else if (intid == PT_INTID)
		cpu1_spi++;
}

void secondary_main(uint64_t cpu)
{
	irq_install(on_irq1);
	gic_cpu_init((unsigned)cpu);
	for (uint32_t i = 1; i < 10; i++)
		gic_enable_private((unsigned)cpu, i, 0x80);
	cpu1_up = (uint32_t)cpu + 100;
	irq_unmask();
	/* the burst test: after the first SGI mask interrupts, tell vCPU 0, and
	 * stay masked until it has sent eight more */
	while (!(cpu1_sgi_mask & (1u << 1)))
		;
	irq_mask();
	cpu1_unmask = 2;
	while (cpu1_unmask != 1)
		;
	irq_unmask();
	for (;;)
		__asm__ volatile("wfi");
}

static int wait_for(volatile uint32_t *p, uint32_t value)
{
	for (uint64_t spin = 0; spin < 200000000ull; spin++)
		if (*p == value)
			return 1;
	return 0;
}

void guest_main(uint64_t dtb)
{
	g_puts("irq-test: hello\n");
	volatile struct hvg_coop_page *cp = g_coop_page();
	if (!cp)
		return;
	g_set_version(cp, "irq-test 1.0.0");
	say_hex("dtb", dtb);

	/* PSCI */
	say_hex("psci version", g_hvc(PSCI_VERSION, 0, 0, 0).a0);
	say("psci features cpu_on", g_hvc(PSCI_FEATURES, PSCI_CPU_ON, 0, 0).a0);
	say("psci affinity_info cpu1 before", g_hvc(PSCI_AFF_INFO, 1, 0, 0).a0);

	/* GIC isolation: INTID 200 and 500 are not this VM's (it has 32..95) */
	irq_install(on_irq0);
	gic_dist_init();
	gic_cpu_init(0);
	uint32_t typer = mmio_read32(GIC_GICD + 0x4);
	say("typer itlines", typer & 0x1F);
	say("typer lpis", (typer >> 17) & 1);
	say("typer2", mmio_read32(GIC_GICD + 0xC));
	mmio_write32(GIC_GICD + 0x100 + (200 / 32) * 4, 0xFFFFFFFFu);
	say_hex("foreign isenabler", mmio_read32(GIC_GICD + 0x100 + (200 / 32) * 4));
	*(volatile uint8_t *)(GIC_GICD + 0x400 + 200) = 0xA0;
	say_hex("foreign ipriority", *(volatile uint8_t *)(GIC_GICD + 0x400 + 200));
	*(volatile uint64_t *)(GIC_GICD + 0x6000 + 8 * 500) = 1;
	say_hex("foreign irouter", *(volatile uint64_t *)(GIC_GICD + 0x6000 + 8 * 500));
	*(volatile uint8_t *)(GIC_GICD + 0x400 + PT_INTID) = 0xA0;
	say_hex("own ipriority", *(volatile uint8_t *)(GIC_GICD + 0x400 + PT_INTID));
	mmio_write32(GIC_GICD + 0x100 + (PT_INTID / 32) * 4, 1u << (PT_INTID % 32));
	say_hex("own isenabler", mmio_read32(GIC_GICD + 0x100 + (PT_INTID / 32) * 4));

	/* timer on vCPU 0 */
	gic_enable_private(0, INTID_VTIMER, 0xA0);
	vtimer_start_periodic(vtimer_freq() / TICK_HZ);
	irq_unmask();

	/* CPU_ON */
	uint64_t top = (uint64_t)(uintptr_t)(stack1 + sizeof(stack1));
	say_signed("psci cpu_on cpu1",
		   g_hvc(PSCI_CPU_ON, 1, (uint64_t)(uintptr_t)secondary_entry, top).a0);
	say("cpu1 up", wait_for(&cpu1_up, 101));
	say_signed("psci cpu_on cpu1 again",
		   g_hvc(PSCI_CPU_ON, 1, (uint64_t)(uintptr_t)secondary_entry, top).a0);
	say_signed("psci cpu_on bad entry", g_hvc(PSCI_CPU_ON, 1, 0x10, top).a0);
	say_signed("psci cpu_on cpu5",
		   g_hvc(PSCI_CPU_ON, 5, (uint64_t)(uintptr_t)secondary_entry, top).a0);
	say("psci affinity_info cpu1 after", g_hvc(PSCI_AFF_INFO, 1, 0, 0).a0);

	/* one SGI, then vCPU 1 masks; eight more while masked, then unmask */
	gic_send_sgi(1, 1);
	say("sgi 1 received", wait_for(&cpu1_unmask, 2));
	for (uint32_t i = 2; i < 10; i++)
		gic_send_sgi(1, i);
	for (volatile int d = 0; d < 100000; d++)
		;
	cpu1_unmask = 1;
	say_hex("sgis received by cpu1", (wait_for(&cpu1_sgi_mask, 0x3FE), cpu1_sgi_mask));

	/* pass-through SPI: pending via the distributor -> physical GIC -> back */
	mmio_write32(GIC_GICD + 0x200 + (PT_INTID / 32) * 4, 1u << (PT_INTID % 32));
	say("passthrough spi on cpu0", wait_for(&cpu0_spi, 1));
	*(volatile uint64_t *)(GIC_GICD + 0x6000 + 8 * PT_INTID) = 1; /* route to vCPU 1 */
	mmio_write32(GIC_GICD + 0x200 + (PT_INTID / 32) * 4, 1u << (PT_INTID % 32));
	say("passthrough spi on cpu1", wait_for(&cpu1_spi, 1));

	*(volatile uint64_t *)(GIC_GICD + 0x6000 + 8 * PT_INTID) = 0; /* back to vCPU 0 */

	/* EL1 physical timer: 1 ms, enabled, not masked; the handler re-arms it */
	gic_enable_private(0, INTID_PTIMER, 0xA0);
	__asm__ volatile("msr cntp_tval_el0, %0\n\tmsr cntp_ctl_el0, %1\n\tisb"
			 :
			 : "r"(vtimer_freq() / 1000), "r"(1ul));
	say("ptimer interrupts", wait_for(&ptimer_irqs, PTIMER_SHOTS) ? ptimer_irqs : 0);
	perf();

	cp->guest_state = HVG_GS_RUNNING;
	g_puts("irq-test: done\n");
	uint64_t beat = 0;
	for (;;) {
		__asm__ volatile("wfi");
		if (ticks / 5 > beat) {
			beat = ticks / 5;
			cp->heartbeat = beat;
			if (beat % 20 == 0)
				say("timer ticks", ticks);
		}
	}
}
