/*
 * gic.c - GICv3, vector table and virtual timer for the test guests (gic.h).
 */
#include "gic.h"

#define GICD_CTLR 0x0000
#define GICR_WAKER 0x0014
#define GICR_SGI 0x10000
#define GICR_ISENABLER0 (GICR_SGI + 0x0100)
#define GICR_IPRIORITYR (GICR_SGI + 0x0400)

extern char irq_vectors[];
static irq_fn handlers[8]; /* per CPU (MPIDR Aff0) */
static uint64_t period_ticks;

static unsigned this_cpu(void)
{
	uint64_t mpidr;
	__asm__ volatile("mrs %0, mpidr_el1" : "=r"(mpidr));
	return (unsigned)(mpidr & 7);
}

void irq_dispatch(void);
void irq_dispatch(void)
{
	irq_fn handler = handlers[this_cpu()];
	uint64_t iar;
	__asm__ volatile("mrs %0, S3_0_C12_C12_0" : "=r"(iar)); /* ICC_IAR1_EL1 */
	uint32_t intid = (uint32_t)iar & 0xFFFFFF;
	if (intid >= 1020)
		return;
	if (handler)
		handler(intid);
	__asm__ volatile("msr S3_0_C12_C12_1, %0" : : "r"(iar)); /* ICC_EOIR1_EL1 */
}

void irq_install(irq_fn fn)
{
	handlers[this_cpu()] = fn;
	__asm__ volatile("msr vbar_el1, %0\n\tisb" : : "r"(irq_vectors) : "memory");
}

void gic_dist_init(void)
{
	/* ARE_NS | EnableGrp1NS | EnableGrp1S as Linux writes it; hv-core keeps
	 * the enables it implements */
	mmio_write32(GIC_GICD + GICD_CTLR, (1u << 4) | 3u);
}

void gic_cpu_init(unsigned cpu)
{
	uintptr_t rd = GIC_GICR + cpu * GIC_GICR_STRIDE;
	mmio_write32(rd + GICR_WAKER, mmio_read32(rd + GICR_WAKER) & ~(1u << 1));
	while (mmio_read32(rd + GICR_WAKER) & (1u << 2))
		;
	uint64_t sre;
	__asm__ volatile("mrs %0, S3_0_C12_C12_5" : "=r"(sre)); /* ICC_SRE_EL1 */
	__asm__ volatile("msr S3_0_C12_C12_5, %0\n\tisb" : : "r"(sre | 1));
	__asm__ volatile("msr S3_0_C4_C6_0, %0" : : "r"(0xF0ul));       /* ICC_PMR_EL1 */
	__asm__ volatile("msr S3_0_C12_C12_7, %0\n\tisb" : : "r"(1ul)); /* ICC_IGRPEN1_EL1 */
}

void gic_enable_private(unsigned cpu, uint32_t intid, uint8_t prio)
{
	uintptr_t rd = GIC_GICR + cpu * GIC_GICR_STRIDE;
	*(volatile uint8_t *)(rd + GICR_IPRIORITYR + intid) = prio;
	mmio_write32(rd + GICR_ISENABLER0, 1u << intid);
}

void gic_send_sgi(unsigned target_cpu, uint32_t intid)
{
	uint64_t v = ((uint64_t)(intid & 0xF) << 24) | (1ul << target_cpu);
	__asm__ volatile("dsb ish\n\tmsr S3_0_C12_C11_5, %0\n\tisb"
			 :
			 : "r"(v)
			 : "memory"); /* ICC_SGI1R_EL1 */
}

uint64_t vtimer_freq(void)
{
	uint64_t f;
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
	return f;
}

void vtimer_start_periodic(uint64_t period)
{
	uint64_t now;
	period_ticks = period;
	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(now));
	__asm__ volatile("msr cntv_cval_el0, %0" : : "r"(now + period));
	__asm__ volatile("msr cntv_ctl_el0, %0\n\tisb" : : "r"(1ul)); /* ENABLE, not masked */
}

void vtimer_next(void)
{
	uint64_t cval, now;
	__asm__ volatile("mrs %0, cntv_cval_el0" : "=r"(cval));
	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(now));
	cval += period_ticks;
	if (cval <= now) /* fell behind (host busy): skip, do not burst */
		cval = now + period_ticks;
	__asm__ volatile("msr cntv_cval_el0, %0\n\tisb" : : "r"(cval));
}
