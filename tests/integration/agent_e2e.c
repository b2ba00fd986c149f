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
