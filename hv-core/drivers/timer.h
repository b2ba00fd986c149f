/*
 * timer.h - the generic timer: the system counter as hv-core's clock, and the
 * EL2 physical timer (CNTHP, INTID 26) to sleep a CPU until a deadline.
 */
#ifndef HV_TIMER_H
#define HV_TIMER_H
#include <stdint.h>
void timer_init(void);
uint64_t timer_freq(void);
uint64_t timer_count(void);
uint64_t timer_count_to_ns(uint64_t count);
uint64_t timer_ns_to_count(uint64_t ns);
/* Nanoseconds since hv-core booted. */
uint64_t timer_uptime_ns(void);
/* Sleep in WFI until the counter reaches `deadline` (interrupts stay masked:
 * a pending interrupt wakes WFI anyway). Needs INTID 26 enabled on this CPU. */
void timer_sleep_until(uint64_t deadline);
/* One WFI that ends at the deadline at the latest, or earlier on any
 * interrupt (left pending for the caller to dispatch). */
void timer_wfi_until(uint64_t deadline);
#endif
