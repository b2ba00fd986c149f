/*
 * gic.h - the guest side of interrupts for hv-core's bare-metal test guests:
 * a GICv3 driven like on hardware (distributor and redistributor MMIO at the
 * QEMU virt addresses the guest ABI gives, CPU interface through the ICC
 * system registers), an EL1 vector table, and the virtual timer.
 */
#ifndef GUEST_GIC_H
#define GUEST_GIC_H
#include <stdint.h>

#define GIC_GICD 0x08000000ul
#define GIC_GICR 0x080A0000ul
#define GIC_GICR_STRIDE 0x20000ul
#define INTID_VTIMER 27u

typedef void (*irq_fn)(uint32_t intid);

/* Vector table on this CPU; fn (this CPU's) is called for each acknowledged interrupt
 * (end of interrupt is written after it returns). */
void irq_install(irq_fn fn);
static inline void irq_unmask(void)
{
	__asm__ volatile("msr daifclr, #2" ::: "memory");
}
static inline void irq_mask(void)
{
	__asm__ volatile("msr daifset, #2" ::: "memory");
}

void gic_dist_init(void);        /* once: distributor on, affinity routing */
void gic_cpu_init(unsigned cpu); /* per CPU: its redistributor, CPU interface */
void gic_enable_private(unsigned cpu, uint32_t intid, uint8_t prio);
void gic_send_sgi(unsigned target_cpu, uint32_t intid);

static inline uint32_t mmio_read32(uintptr_t a)
{
	return *(volatile uint32_t *)a;
}
static inline void mmio_write32(uintptr_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}

uint64_t vtimer_freq(void);
/* Virtual timer: first expiry after period ticks, then every period ticks
 * (CNTV_CVAL advanced from the previous deadline: a fixed period). */
void vtimer_start_periodic(uint64_t period);
void vtimer_next(void);
#endif
