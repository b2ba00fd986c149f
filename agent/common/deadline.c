/*
 * deadline.c - deadline arithmetic on CLOCK_MONOTONIC (deadline.h).
 */
#include "deadline.h"

uint64_t hv_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * HV_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t hv_deadline_after_ms(uint64_t ms)
{
	return hv_mono_ns() + ms * HV_NS_PER_MS;
}

bool hv_deadline_passed(uint64_t deadline_ns)
{
	return deadline_ns && hv_mono_ns() >= deadline_ns;
}

uint64_t hv_ns_left(uint64_t deadline_ns)
{
	uint64_t now = hv_mono_ns();

	return deadline_ns > now ? deadline_ns - now : 0;
}

struct timespec hv_timespec_after_ms(clockid_t clk, unsigned ms)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * (long)HV_NS_PER_MS;
	if (ts.tv_nsec >= (long)HV_NS_PER_SEC) {
		ts.tv_sec++;
		ts.tv_nsec -= (long)HV_NS_PER_SEC;
	}
	return ts;
}

struct timespec hv_timespec_of_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / HV_NS_PER_SEC), (long)(ns % HV_NS_PER_SEC) };

	return ts;
}
