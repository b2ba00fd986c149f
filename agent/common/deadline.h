/*
 * deadline.h - the clock deadlines are measured on, and the arithmetic on it
 * that hv-agent and hvctl share: a deadline some milliseconds from now, the
 * time left until one, and the absolute times pthread_cond_timedwait takes.
 *
 * Deadlines are CLOCK_MONOTONIC nanoseconds (uint64_t), 0 meaning "none"
 * where a caller allows one (callscope.h, opqueue.h, hvlink_cmd).
 */
#ifndef HV_DEADLINE_H
#define HV_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define HV_NS_PER_MS 1000000ull
#define HV_NS_PER_SEC 1000000000ull

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t hv_mono_ns(void);

/* The deadline ms milliseconds from now. */
uint64_t hv_deadline_after_ms(uint64_t ms);

/* Whether deadline (0 = none: never) has passed. */
bool hv_deadline_passed(uint64_t deadline_ns);

/* Nanoseconds left until deadline; 0 once it has passed. */
uint64_t hv_ns_left(uint64_t deadline_ns);

/* The absolute time ms milliseconds from now on clock clk, for
 * pthread_cond_timedwait on a condition variable that uses clk. */
struct timespec hv_timespec_after_ms(clockid_t clk, unsigned ms);

/* A time in nanoseconds (a deadline) as a timespec on the same clock. */
struct timespec hv_timespec_of_ns(uint64_t ns);

#endif /* HV_DEADLINE_H */
