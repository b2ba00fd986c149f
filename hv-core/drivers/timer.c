/*
 * timer.c - counter, time conversions and the EL2 hypervisor timer.
 * The service CPU idles in WFI between ticks so QEMU does not spin a host core;
 * interrupts that wake it are dispatched by irq_handle_all().
 */
#include "timer.h"
#include "irq.h"
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

uint64_t timer_freq(void)
{
	return freq;
}

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
	while (timer_count() < deadline) {
		timer_wfi_until(deadline);
		irq_handle_all(); /* IPIs run their handlers here too */
	}
}

void timer_wfi_until(uint64_t deadline)
{
	write_sysreg(cnthp_cval_el2, deadline);
	write_sysreg(cnthp_ctl_el2, CNT_CTL_ENABLE);
	isb();
	if (timer_count() < deadline)
		wfi();
	write_sysreg(cnthp_ctl_el2, 0);
	isb();
}
