/*
 * timer.c - counter, time conversions and the EL2 hypervisor timer.
 * The service CPU idles in WFI between ticks so QEMU does not spin a host core.
 */
#include "timer.h"
#include "gicv3.h"
#include "sysregs.h"

static uint64_t freq = 62500000;
static uint64_t boot_count;

void timer_init(void)
{
	uint64_t f = read_sysreg(cntfrq_el0);
	if (f)
		freq = f;
	boot_count = read_sysreg(cntpct_el0);
}

uint64_t timer_freq(void) { return freq; }

uint64_t timer_count(void)
{
	isb();
	return read_sysreg(cntpct_el0);
}

uint64_t timer_count_to_ns(uint64_t c)
{
	return (c / freq) * 1000000000ull + ((c % freq) * 1000000000ull) / freq;
}

uint64_t timer_ns_to_count(uint64_t ns)
{
	return (ns / 1000000000ull) * freq + ((ns % 1000000000ull) * freq) / 1000000000ull;
}

uint64_t timer_uptime_ns(void)
{
	return timer_count_to_ns(timer_count() - boot_count);
}

void timer_sleep_until(uint64_t deadline)
{
	write_sysreg(cnthp_cval_el2, deadline);
	write_sysreg(cnthp_ctl_el2, CNT_CTL_ENABLE);
	isb();
	while (timer_count() < deadline) {
		wfi();
		uint32_t intid = gicv3_ack();
		if (intid != GIC_INTID_SPURIOUS)
			gicv3_eoi(intid);
	}
	write_sysreg(cnthp_ctl_el2, 0);
	isb();
}
