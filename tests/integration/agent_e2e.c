/*
 * agent_e2e.c - END-TO-END: the real hv-core under QEMU at EL2 (tests/lib/
 * hvqemu.h), the real hv-agent mapping its management region from the shared
 * guest-RAM file, and the real hvctl. No test double anywhere.
 *
 * The hv-core image comes from HV_CORE_OUT (the build's hv-core-out, or the
 * environment variable of that name). hv-core implements its commands over
 * time; checks of a lifecycle command accept either its effect or
 * UNIMPLEMENTED, as the capabilities (GetVersion) announce.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_stack.h"

static struct hvq q;
static struct agent_proc agent;
static char uri[320];
static char *out, *err;

static void setup(void)
{
	out = err = NULL;
	agent_stack_start(&q, &agent, NULL, uri, sizeof uri);
}

static void teardown(void)
{
	agent_stack_stop(&q, &agent);
	free(out);
	free(err);
}

#define HVCTL(...) hvctl_run((const char *const[]){ "--connect", uri, __VA_ARGS__, NULL })

static int hvctl_run(const char *const *args)
{
	free(out);
	free(err);
	return run_hvctl(args, &out, &err);
}

static int has_capability(const char *cap)
{
	char quoted[64];
	snprintf(quoted, sizeof quoted, "\"%s\"", cap);
	cr_assert_eq(HVCTL("version", "--json"), 0, "%s", err);
	return strstr(out, quoted) != NULL;
}

TestSuite(agent_e2e, .init = setup, .fini = teardown, .timeout = 300);

Test(agent_e2e, hvctl_sees_hv_core_vms_and_events)
{
	cr_assert_eq(HVCTL("list", "--all"), 0, "%s", err);
	cr_assert_not_null(strstr(out, " Id   Name"), "%s", out);
	cr_assert_not_null(strstr(out, "rtos-demo"), "%s", out);

	cr_assert_eq(HVCTL("dominfo", "rtos-demo"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "Name:           rtos-demo\n"), "%s", out);
	cr_assert_not_null(strstr(out, "State:          running\n"), "%s", out);

	/* hv-core's own DEFINED and STARTED events for the demo guest. */
	cr_assert_eq(HVCTL("event", "rtos-demo", "--oldest", "--count", "2"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "Started"), "%s", out);

	cr_assert_eq(HVCTL("health"), 0, "%s", err);
	cr_assert_str_eq(out, "SERVING\n");
	cr_assert_eq(HVCTL("dominfo", "no-such-vm"), 4); /* hvctl: 4 = not found */
	cr_assert_not_null(strstr(err, "[NOT_FOUND]"), "%s", err);

	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

Test(agent_e2e, destroy_then_start)
{
	/* MGMT-021: hv-core implements every command of ABI 1.x, so both must be advertised. */
	cr_assert(has_capability("destroy") && has_capability("start"),
		  "hv-core does not advertise destroy and start");
	cr_assert_eq(HVCTL("destroy", "rtos-demo"), 0, "%s", err);
	cr_assert_eq(HVCTL("domstate", "rtos-demo", "--reason"), 0, "%s", err);
	cr_assert_str_eq(out, "shut off (destroyed)\n\n");
	cr_assert_eq(HVCTL("start", "rtos-demo"), 0, "%s", err);
	cr_assert_eq(HVCTL("domstate", "rtos-demo"), 0, "%s", err);
	cr_assert_str_eq(out, "running\n\n");
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* The value of "  key=N" in domstats' text output; -1 when absent. */
static long long stat_value(const char *text, const char *key)
{
	char needle[96];
	snprintf(needle, sizeof needle, "  %s=", key);
	const char *p = strstr(text, needle);
	return p ? strtoll(p + strlen(needle), NULL, 10) : -1;
}

Test(agent_e2e, domstats_shows_hv_core_get_stats_record)
{
	/* MGMT-180 through GetStats: the demo guest takes timer interrupts and
	 * makes hypercalls (heartbeat), so hv-core counts exits by class and
	 * injected interrupts. */
	cr_assert_eq(HVCTL("domstats", "rtos-demo"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "Domain: 'rtos-demo'\n"), "%s", out);
	static const char *const keys[] = {
		"hv.exits.wfx",    "hv.exits.hvc",    "hv.exits.smc",
		"hv.exits.dabt",   "hv.exits.iabt",   "hv.exits.sysreg",
		"hv.exits.irq",    "hv.exits.other",  "hv.irqs_injected",
		"fault.count",     "fault.ignored",   "watchdog.expiries",
		"restart.count",   "doorbell.sent",   "doorbell.received",
		"doorbell.denied", "guest.heartbeat", "guest.heartbeat_age_ns"
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		cr_assert_geq(stat_value(out, keys[i]), 0, "%s missing: %s", keys[i], out);
	cr_assert(stat_value(out, "hv.exits.hvc") > 0 || stat_value(out, "hv.exits.irq") > 0, "%s",
		  out);
	cr_assert_gt(stat_value(out, "hv.irqs_injected"), 0, "%s", out);
	cr_assert_gt(stat_value(out, "hv.exits"), 0, "%s", out);

	cr_assert_eq(HVCTL("domstats", "--json"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "\"exits_by_class\""), "%s", out);
	cr_assert_not_null(strstr(out, "\"doorbells_received\""), "%s", out);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}
