/*
 * main.c - "perf", a measuring guest for docs/performance.md ("Hypervisor"): it times
 * batches of (a) an empty loop, (b) the null hypercall HVG_HC_NULL (a full
 * guest -> EL2 -> guest round trip) and (c) a read of the virtual PL011's
 * flag register (a trapped, emulated MMIO access) and (d) an SGI to itself
 * (the trapped ICC_SGI1R_EL1 write, the virtual interrupt injected through a
 * list register, taken, acknowledged and ended by a nine-instruction handler,
 * vectors.S) and (e) a virtual SPI made pending by the guest's own write of
 * GICD_ISPENDR (a trapped distributor write; the SPI goes through the vGIC's
 * pending bits and flush, the general path of every injection but an SGI to
 * itself) and (f) the virtual timer made to fire at once (CNTV_TVAL 0: the
 * physical PPI 27 taken at EL2, the virtual one through the pending mask and
 * the flush, hardware-linked), all with the virtual counter. Then (g) the
 * virtual timer's latency: LAT_N times the timer armed 1024 instructions
 * ahead, the ticks from its deadline until this loop sees the handler's
 * count, smallest and largest (REQ-SAF-17, docs/performance.md).
 * Under QEMU -icount shift=S every instruction advances virtual time by 2^S ns,
 * so counter ticks convert to instructions executed, deterministically.
 * It prints the smallest batch of each kind (the least disturbed by other
 * CPUs) and powers off. A wait for "its" interrupt ends once the count has
 * reached the one it wants (`perf_irqs - want < 0`, not `!=`), so interrupts
 * it did not ask for (a granted doorbell, bench/el2_sections.sh --granted)
 * end a wait early instead of never.
 */
#include "guest.h"
#include "../rtos/gic.h"

#define N 1000u
#define BATCHES 5u
#define PSCI_SYSTEM_OFF 0x84000008u
#define PERF_SGI 3u
#define VTIMER_PPI 27u
#define LAT_N 20000u           /* about 30 ms of virtual time: the 10 ms service tick falls in */
#define LAT_AHEAD 64u          /* ticks (16 instructions each) between arming and the deadline */
#define PERF_SPI 40u           /* a virtual SPI of the VM (every VM has 32..95) */
#define GICD_BASE 0x08000000ul /* the vGIC's distributor (VMCFG-091) */
#define GICD_ISENABLER(n) (0x100u + 4u * (n))
#define GICD_ISPENDR(n) (0x200u + 4u * (n))
#define GICD_IPRIORITYR 0x400u

void guest_main(uint64_t dtb);

extern char perf_vectors[];
volatile uint32_t perf_irqs; /* counted by the IRQ vector (vectors.S) */

static inline uint64_t cntvct(void)
{
	uint64_t v;
	__asm__ volatile("isb; mrs %0, cntvct_el0; isb" : "=r"(v));
	return v;
}

static uint64_t run(int kind)
{
	volatile uint32_t *fr = (volatile uint32_t *)0x09000018ul; /* UARTFR */
	uint64_t best = ~0ull;
	for (unsigned b = 0; b < BATCHES; b++) {
		uint64_t t0 = cntvct();
		for (unsigned i = 0; i < N; i++) {
			if (kind == 1) {
				g_hvc(HVG_HC_NULL, 0, 0, 0);
			} else if (kind == 2) {
				(void)*fr;
			} else if (kind == 3) {
				uint32_t want = perf_irqs + 1;
				gic_send_sgi(0, PERF_SGI);
				while ((int32_t)(perf_irqs - want) < 0)
					;
			} else if (kind == 4) {
				uint32_t want = perf_irqs + 1;
				mmio_write32(GICD_BASE + GICD_ISPENDR(PERF_SPI / 32),
					     1u << (PERF_SPI % 32));
				while ((int32_t)(perf_irqs - want) < 0)
					;
			} else if (kind == 5) {
				uint32_t want = perf_irqs + 1;
				__asm__ volatile("msr cntv_tval_el0, xzr\n\tmsr cntv_ctl_el0, %0"
						 :
						 : "r"(1ul)
						 : "memory");
				while ((int32_t)(perf_irqs - want) < 0)
					;
			} else
				__asm__ volatile("" ::: "memory");
		}
		uint64_t t = cntvct() - t0;
		if (t < best)
			best = t;
	}
	return best;
}

/* (g): the smallest and largest delay, in ticks, from the virtual timer's
 * deadline until the interrupted loop sees its handler ran. */
static void vtimer_latency(uint64_t *lo, uint64_t *hi)
{
	*lo = ~0ull;
	*hi = 0;
	for (unsigned i = 0; i < LAT_N; i++) {
		uint32_t want = perf_irqs + 1;
		uint64_t cval = cntvct() + LAT_AHEAD;
		__asm__ volatile("msr cntv_cval_el0, %0\n\tmsr cntv_ctl_el0, %1\n\tisb"
				 :
				 : "r"(cval), "r"(1ul)
				 : "memory");
		while ((int32_t)(perf_irqs - want) < 0)
			;
		uint64_t lat = cntvct() - cval;
		if (lat < *lo)
			*lo = lat;
		if (lat > *hi)
			*hi = lat;
	}
}

void guest_main(uint64_t dtb)
{
	uint64_t freq;
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
	__asm__ volatile("msr vbar_el1, %0\n\tisb" : : "r"(perf_vectors) : "memory");
	gic_dist_init();
	gic_cpu_init(0);
	gic_enable_private(0, PERF_SGI, 0x80);
	gic_enable_private(0, VTIMER_PPI, 0x80);
	/* the SPI: priority, enabled; IROUTER 0 routes it to vCPU 0 */
	*(volatile uint8_t *)(GICD_BASE + GICD_IPRIORITYR + PERF_SPI) = 0x80;
	mmio_write32(GICD_BASE + GICD_ISENABLER(PERF_SPI / 32), 1u << (PERF_SPI % 32));
	irq_unmask();
	uint64_t base = run(0), hvc = run(1), mmio = run(2), sgi = run(3), spi = run(4);
	uint64_t vtimer = run(5), lat_lo, lat_hi;
	vtimer_latency(&lat_lo, &lat_hi);
	g_puts("perf: freq ");
	g_putu(freq);
	g_puts(" n ");
	g_putu(N);
	g_puts(" loop ");
	g_putu(base);
	g_puts(" hvc_null ");
	g_putu(hvc);
	g_puts(" mmio_read ");
	g_putu(mmio);
	g_puts(" sgi_self ");
	g_putu(sgi);
	g_puts(" spi_pend ");
	g_putu(spi);
	g_puts(" ticks\n");
	/* a second line: hv-core's console log breaks long lines */
	g_puts("perf: vtimer ");
	g_putu(vtimer);
	g_puts(" lat_min ");
	g_putu(lat_lo);
	g_puts(" lat_max ");
	g_putu(lat_hi);
	g_puts(" ticks, done\n");
	g_hvc(PSCI_SYSTEM_OFF, 0, 0, 0);
}
