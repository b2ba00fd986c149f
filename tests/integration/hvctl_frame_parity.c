/*
 * hvctl_frame_parity.c - the real hvctl against the real hv-agent (hv-core
 * under QEMU with rtos-demo) prints the same over the local frame protocol
 * as over gRPC (docs/api.md "hvctl and the frame protocol", FRAME-022 and
 * FRAME-026): `dominfo`, `list --all` and `--json dominfo` with and without
 * --grpc, and a change through the read-only socket is refused with the same
 * message and exit status both ways. Against an hv-agent without frames both
 * runs use gRPC and the test still holds. Waits are bounded; nothing asserts
 * a duration.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_harness.h"
#include "hvqemu.h"

static struct hvq q;
static struct agent_proc agent;
static char uri[320];

static void setup(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT; /* rtos-demo */

	memset(&agent, 0, sizeof agent);
	cr_assert_eq(hvq_start(&q, &o), 0, "%s", q.err);
	cr_assert_eq(agent_start(&agent, q.dir, NULL), 0, "%s", agent.err);
	snprintf(uri, sizeof uri, "unix://%s", agent.sock);
}

static void teardown(void)
{
	agent_stop(&agent);
	hvq_stop(&q);
}

struct run {
	int rc;
	char *out, *err;
};

/* hvctl --connect URI [--grpc] [-r] args... */
static struct run hvctl(int grpc, int ro, const char *a1, const char *a2, const char *a3)
{
	const char *args[10];
	int n = 0;
	struct run r = { 0, NULL, NULL };

	args[n++] = "--connect";
	args[n++] = uri;
	if (grpc)
		args[n++] = "--grpc";
	if (ro)
		args[n++] = "-r";
	args[n++] = a1;
	if (a2)
		args[n++] = a2;
	if (a3)
		args[n++] = a3;
	args[n] = NULL;
	r.rc = run_hvctl(args, &r.out, &r.err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* The text without the lines that change from one call to the next. */
static void drop_moving_lines(char *s)
{
	static const char *const moving[] = { "CPU time:", "Heartbeat:" };
	char *w = s;

	for (char *line = s; *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
		int keep = 1;
		for (size_t k = 0; k < sizeof moving / sizeof moving[0]; k++)
			if (strncmp(line, moving[k], strlen(moving[k])) == 0)
				keep = 0;
		if (keep) {
			memmove(w, line, len);
			w += len;
		}
		line += len;
	}
	*w = '\0';
}

static json_t *json_steady(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	cr_assert_not_null(j, "not JSON (%s): %s", e.text, text);
	json_object_del(j, "cpu_time_ns");
	json_object_del(j, "heartbeat");
	json_object_del(j, "heartbeat_age_ns");
	return j;
}

TestSuite(hvctl_frame_parity, .init = setup, .fini = teardown, .timeout = 600);

/* FRAME-022, FRAME-026: the same output with and without --grpc. */
Test(hvctl_frame_parity, reads_print_the_same_with_and_without_grpc)
{
	struct run f = hvctl(0, 0, "list", "--all", NULL), g = hvctl(1, 0, "list", "--all", NULL);
	cr_assert_eq(f.rc, 0, "%s", f.err);
	cr_assert_eq(g.rc, 0, "%s", g.err);
	cr_expect_str_eq(f.out, g.out);
	cr_expect(strstr(f.out, "rtos-demo"), "%s", f.out);
	run_free(&f);
	run_free(&g);

	f = hvctl(0, 0, "dominfo", "rtos-demo", NULL);
	g = hvctl(1, 0, "dominfo", "rtos-demo", NULL);
	cr_assert_eq(f.rc, 0, "%s", f.err);
	cr_assert_eq(g.rc, 0, "%s", g.err);
	drop_moving_lines(f.out);
	drop_moving_lines(g.out);
	cr_expect_str_eq(f.out, g.out);
	cr_expect(strstr(f.out, "Name:           rtos-demo\n"), "%s", f.out);
	run_free(&f);
	run_free(&g);

	f = hvctl(0, 0, "dominfo", "rtos-demo", "--json");
	g = hvctl(1, 0, "dominfo", "rtos-demo", "--json");
	cr_assert_eq(f.rc, 0, "%s", f.err);
	cr_assert_eq(g.rc, 0, "%s", g.err);
	json_t *jf = json_steady(f.out), *jg = json_steady(g.out);
	char *sf = json_dumps(jf, JSON_SORT_KEYS), *sg = json_dumps(jg, JSON_SORT_KEYS);
	cr_expect_str_eq(sf, sg);
	free(sf);
	free(sg);
	json_decref(jf);
	json_decref(jg);
	run_free(&f);
	run_free(&g);

	/* An unknown VM: the same refusal, the same exit status. */
	f = hvctl(0, 0, "dominfo", "no-such-vm", NULL);
	g = hvctl(1, 0, "dominfo", "no-such-vm", NULL);
	cr_expect_eq(f.rc, g.rc);
	cr_expect_eq(f.rc, 4, "%s", f.err);
	cr_expect_str_eq(f.err, g.err);
	run_free(&f);
	run_free(&g);
}

/* FRAME-022: a change over the read-only socket is refused the same way. */
Test(hvctl_frame_parity, readonly_refusal_is_the_same_with_and_without_grpc)
{
	struct run f = hvctl(0, 1, "suspend", "rtos-demo", NULL),
		   g = hvctl(1, 1, "suspend", "rtos-demo", NULL);
	cr_expect_eq(f.rc, 5, "%s", f.err);
	cr_expect_eq(g.rc, 5, "%s", g.err);
	cr_expect_str_eq(f.err, g.err);
	run_free(&f);
	run_free(&g);
}

/* FRAME-020: against an hv-agent that speaks frames, a unary command never
 * loads gRPC (the dynamic loader's own trace says which libraries it
 * mapped); with --grpc it does. So the parity above compares the two paths,
 * not gRPC with itself. */
Test(hvctl_frame_parity, a_unary_command_over_frames_loads_no_grpc)
{
	cr_assert_eq(setenv("LD_DEBUG", "files", 1), 0);
	struct run f = hvctl(0, 0, "dominfo", "rtos-demo", NULL);
	struct run g = hvctl(1, 0, "dominfo", "rtos-demo", NULL);
	unsetenv("LD_DEBUG");
	cr_assert_eq(f.rc, 0, "%s", f.err);
	cr_assert_eq(g.rc, 0, "%s", g.err);
	cr_expect_null(strstr(f.err, "libgrpc"), "gRPC was loaded for a frame call");
	cr_expect_not_null(strstr(g.err, "libgrpc"), "--grpc did not load gRPC");
	run_free(&f);
	run_free(&g);
}
