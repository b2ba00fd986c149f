/*
 * hvctl_safety.c - the safety-aware lifecycle through the real stack (suite
 * safety_stack): hv-core under QEMU at EL2, hv-agent on a fresh state
 * directory with its sqlite store, hvctl. Vehicle-state changes and policy
 * refusals arrive on WatchEvents (MGMT-405); a lifecycle command denied with
 * --when-allowed is queued durably, listed and cancellable, survives a
 * restart of hv-agent and runs when the vehicle is parked, its outcome
 * audited and sent as an event (MGMT-450..452).
 *
 * Waits are bounded polls of what the stack reports; no timing is asserted.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_stack.h"
#include "hvctl_testlib.h"

static struct hvq q;
static struct agent_proc agent;

static void stack_setup(void)
{
	out = err = NULL;
	agent_stack_start(&q, &agent, NULL, uri, sizeof uri);
}

static void stack_teardown(void)
{
	agent_stack_stop(&q, &agent);
	free(out);
	free(err);
	out = err = NULL;
}

TestSuite(safety_stack, .init = stack_setup, .fini = stack_teardown, .timeout = 300);

/* A background `hvctl event --loop --json` from the next event on. */
struct watcher {
	pid_t pid;
	char out[300], err[300];
};

static void watch_start(struct watcher *w, const char *name)
{
	char from[32];

	cr_assert_eq(HV("diag", "--json"), OK, "%s", err);
	json_t *j = parse_json(out);
	snprintf(from, sizeof from, "%lld",
		 (long long)json_integer_value(json_object_get(j, "events_head")));
	json_decref(j);
	snprintf(w->out, sizeof w->out, "%s/%s.out", q.dir, name);
	snprintf(w->err, sizeof w->err, "%s/%s.err", q.dir, name);
	int fd = open(w->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	w->pid = spawn_hvctl((const char *const[]){ "--connect", uri, "event", "--loop", "--json",
						    "--from", from, NULL },
			     fd, w->err);
	close(fd);
}

/* Stops the watcher; its output (malloc'd). */
static char *watch_stop(struct watcher *w)
{
	kill(w->pid, SIGINT);
	int rc = wait_exit(w->pid, 30);
	cr_expect_eq(rc, 0, "event --loop after SIGINT: status %d", rc);
	char *text = read_file_text(w->out);
	return text ? text : strdup("");
}

/* The JSON line of the n-th (0-based) event of type `type` in text, parsed. */
static json_t *nth_event(const char *text, const char *type, int n)
{
	char needle[64];
	snprintf(needle, sizeof needle, "\"type\":\"%s\"", type);
	for (const char *l = text; l && *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		char *line = strndup(l, len);
		if (strstr(line, needle) && n-- == 0) {
			json_t *j = json_loads(line, 0, NULL);
			free(line);
			return j;
		}
		free(line);
		l = e ? e + 1 : NULL;
	}
	return NULL;
}

static const char *jstr(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));
	return s ? s : "(none)";
}

/* Polls until `domstate VM` prints state (bounded). */
static int wait_domstate(const char *vm, const char *state, unsigned timeout_s)
{
	char want[64];
	snprintf(want, sizeof want, "%s\n\n", state);
	for (unsigned i = 0; i < timeout_s * 10; i++) {
		if (HV("domstate", vm) == OK && strcmp(out, want) == 0)
			return 0;
		nap_ms(100);
	}
	return -1;
}

/* MGMT-405 through hv-agent: VEHICLE_STATE with the new and previous state,
 * POLICY_DENIED with the operation, state and rule; the dry run raises none. */
Test(safety_stack, vehicle_state_changes_and_refusals_are_events)
{
	struct watcher w;

	watch_start(&w, "events");
	cr_assert_eq(HV("vehicle", "set", "driving"), OK, "%s", err);
	cr_assert_eq(HV("shutdown", "--dry-run", "rtos-demo"), FAIL, "%s", out);
	cr_assert_eq(HV("shutdown", "rtos-demo"), FAIL, "%s", out);
	cr_assert_not_null(strstr(err, "(E_POLICY)"), "%s", err);
	cr_assert_eq(HV("vehicle", "set", "parked"), OK, "%s", err);
	int seen = wait_file(w.out, "\"type\":\"VehicleState\"", 2, 60);
	char *text = watch_stop(&w);
	cr_assert_eq(seen, 0, "no two VEHICLE_STATE events:\n%s", text);

	json_t *e = nth_event(text, "VehicleState", 0);
	cr_assert_not_null(e, "%s", text);
	cr_expect_str_eq(jstr(e, "class"), "vehicle-state");
	cr_expect_str_eq(jstr(e, "vehicle_state"), "driving");
	cr_expect_str_eq(jstr(e, "previous_vehicle_state"), "parked");
	json_decref(e);
	e = nth_event(text, "VehicleState", 1);
	cr_assert_not_null(e, "%s", text);
	cr_expect_str_eq(jstr(e, "vehicle_state"), "parked");
	cr_expect_str_eq(jstr(e, "previous_vehicle_state"), "driving");
	json_decref(e);

	e = nth_event(text, "PolicyDenied", 0);
	cr_assert_not_null(e, "no POLICY_DENIED event:\n%s", text);
	cr_expect_str_eq(jstr(e, "class"), "policy-denied");
	cr_expect_str_eq(jstr(e, "vm_name"), "rtos-demo");
	cr_expect_str_eq(jstr(e, "operation"), "shutdown");
	cr_expect_str_eq(jstr(e, "vehicle_state"), "driving");
	cr_expect_gt(json_integer_value(json_object_get(e, "rule")), 0, "%s", text);
	json_decref(e);
	cr_expect_null(nth_event(text, "PolicyDenied", 1), "a dry run raised an event:\n%s", text);
	free(text);

	/* The same in text, filtered by class. */
	cr_assert_eq(HV("event", "--oldest", "--event", "vehicle-state", "--count", "1"), OK, "%s",
		     err);
	cr_expect_not_null(strstr(out, "event 'vehicle-state': driving (was parked)"), "%s", out);
	cr_assert_eq(HV("event", "--oldest", "--event", "policy-denied", "--count", "1"), OK, "%s",
		     err);
	cr_expect_not_null(strstr(out,
				  "event 'policy-denied' for domain 'rtos-demo': shutdown refused when driving, rule "),
			   "%s", out);
	cr_expect_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* --when-allowed: queued while driving, listed, kept across a restart of
 * hv-agent, run once parked (MGMT-450..452); a cancelled one never runs. */
Test(safety_stack, a_queued_shutdown_survives_an_agent_restart_and_runs_when_parked)
{
	cr_assert_eq(HV("shutdown", "--dry-run", "--when-allowed", "rtos-demo"), USAGE, "%s", err);
	cr_assert_eq(HV("start", "--console", "--when-allowed", "rtos-demo"), USAGE, "%s", err);
	/* Allowed now (parked): runs at once, nothing is queued. */
	cr_assert_eq(HV("suspend", "--when-allowed", "rtos-demo"), OK, "%s", err);
	cr_assert_str_eq(out, "Domain 'rtos-demo' suspended\n\n");
	cr_assert_eq(HV("vehicle", "set", "driving"), OK, "%s", err);
	/* resume is allowed while driving (VMCFG-411) */
	cr_assert_eq(HV("resume", "--when-allowed", "rtos-demo"), OK, "%s", err);
	cr_assert_str_eq(out, "Domain 'rtos-demo' resumed\n\n");

	cr_assert_eq(HV("reboot", "--when-allowed", "rtos-demo"), OK, "%s", err);
	cr_assert_not_null(strstr(out, "Domain 'rtos-demo': reboot denied now (rule "), "%s", out);
	cr_assert_not_null(strstr(out, "queued as pending command 1,"), "%s", out);
	cr_assert_eq(HV("shutdown", "--when-allowed", "rtos-demo"), OK, "%s", err);
	cr_assert_not_null(strstr(out, "queued as pending command 2,"), "%s", out);
	cr_assert_eq(HV("domstate", "rtos-demo"), OK, "%s", err);
	cr_assert_str_eq(out, "running\n\n");

	cr_assert_eq(HV("pending"), OK, "%s", err);
	cr_expect_not_null(strstr(out, " 1    reboot    rtos-demo        pending "), "%s", out);
	cr_expect_not_null(strstr(out, " 2    shutdown  rtos-demo        pending "), "%s", out);
	cr_expect_not_null(strstr(out, "when driving"), "the refusal it waits on: %s", out);
	cr_assert_eq(HV("pending", "cancel", "1"), OK, "%s", err);
	cr_assert_str_eq(out, "Pending command 1 (reboot 'rtos-demo') cancelled\n\n");
	cr_assert_eq(HV("pending", "cancel", "1"), FAIL, "%s", out);
	cr_assert_not_null(strstr(err, "not pending any more (cancelled by "), "%s", err);
	cr_assert_eq(HV("pending", "cancel", "7"), NOT_FOUND, "%s", err);
	cr_assert_eq(HV("pending", "cancel", "x1"), USAGE, "%s", err);

	/* hv-agent restarts; the queue is in its store. */
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
	cr_assert_eq(agent_start(&agent, q.dir, NULL), 0, "%s", agent.err);
	cr_assert_eq(HV("pending", "--json"), OK, "%s", err);
	json_t *j = parse_json(out);
	cr_assert_eq(json_array_size(j), 1, "%s", out);
	json_t *p = json_array_get(j, 0);
	cr_expect_eq(json_integer_value(json_object_get(p, "id")), 2);
	cr_expect_str_eq(jstr(p, "operation"), "shutdown");
	cr_expect_str_eq(jstr(p, "vm"), "rtos-demo");
	cr_expect_str_eq(jstr(p, "state"), "pending");
	char who[64];
	snprintf(who, sizeof who, "unix-rw:uid=%u,", (unsigned)getuid());
	cr_expect(!strncmp(jstr(p, "caller"), who, strlen(who)), "queued by %s, not %s...",
		  jstr(p, "caller"), who);
	json_decref(j);
	cr_assert_eq(HV("domstate", "rtos-demo"), OK, "%s", err);
	cr_assert_str_eq(out, "running\n\n", "a queued command ran while driving");

	struct watcher w;
	watch_start(&w, "pending");
	cr_assert_eq(HV("vehicle", "set", "parked"), OK, "%s", err);
	cr_assert_eq(wait_domstate("rtos-demo", "shut off", 120), 0,
		     "the queued shutdown did not run when parked: %s", out);
	int seen = wait_file(w.out, "\"type\":\"PendingDone\"", 1, 60);
	char *text = watch_stop(&w);
	cr_assert_eq(seen, 0, "no PENDING_DONE event:\n%s", text);
	json_t *e = nth_event(text, "PendingDone", 0);
	cr_assert_not_null(e, "%s", text);
	cr_expect_str_eq(jstr(e, "class"), "pending-done");
	cr_expect_eq(json_integer_value(json_object_get(e, "pending_id")), 2);
	cr_expect_str_eq(jstr(e, "operation"), "shutdown");
	cr_expect_str_eq(jstr(e, "outcome"), "done");
	cr_expect_str_eq(jstr(e, "vm_name"), "rtos-demo");
	json_decref(e);
	free(text);

	cr_assert_eq(HV("pending"), OK, "%s", err);
	cr_expect_null(strstr(out, "rtos-demo"), "nothing waits any more: %s", out);
	cr_assert_eq(HV("pending", "--all", "--json"), OK, "%s", err);
	j = parse_json(out);
	cr_assert_eq(json_array_size(j), 2, "%s", out);
	cr_expect_str_eq(jstr(json_array_get(j, 0), "state"), "done");
	cr_expect_str_eq(jstr(json_array_get(j, 1), "state"), "cancelled");
	json_decref(j);
	/* The cancelled reboot never ran: the VM stays off. */
	cr_assert_eq(HV("domstate", "rtos-demo"), OK, "%s", err);
	cr_assert_str_eq(out, "shut off\n\n");

	cr_assert_eq(HV("audit", "--json"), OK, "%s", err);
	cr_expect_eq(count_of(out, "when_allowed queued=2"), 1, "%s", out);
	cr_expect_eq(count_of(out, "\"hv-agent.pending\""), 1, "%s", out);
	cr_expect_eq(count_of(out, "id=2 op=shutdown vm=name:rtos-demo"), 1, "%s", out);
	cr_expect_geq(count_of(out, "CancelPending"), 2, "request and outcome rows: %s", out);
	cr_expect_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* --when-allowed on every lifecycle verb and `pending` reach help, the man
 * page and the completion from the command table. */
Test(safety_local, when_allowed_and_pending_in_help_man_and_completion)
{
	static const char *const verbs[] = { "start", "shutdown", "destroy", "reboot",
					     "reset", "suspend",  "resume",  "undefine" };
	char *man = read_file_text(MAN_FILE);

	cr_assert_not_null(man, "the build did not write %s", MAN_FILE);
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		cr_assert_eq(HVRAW("help", verbs[i]), OK, "%s", err);
		cr_expect_not_null(strstr(out, "--when-allowed"), "help %s:\n%s", verbs[i], out);
		char words[64];
		snprintf(words, sizeof words, "hvctl %s --when", verbs[i]);
		cr_assert_eq(complete_words(COMPLETION_FILE, words), 0, "%s", err);
		cr_expect_str_eq(out, "--when-allowed\n", "%s", words);
	}
	cr_expect_geq(count_of(man, "when\\-allowed"), 8, "the man page:\n%.2000s", man);
	cr_expect_not_null(strstr(man, "pending"), "the man page lacks pending");
	free(man);
	cr_assert_eq(HVRAW("help", "pending"), OK, "%s", err);
	cr_expect_not_null(strstr(out, "cancel ID"), "%s", out);
	cr_assert_eq(complete_words(COMPLETION_FILE, "hvctl pend"), 0, "%s", err);
	cr_expect_str_eq(out, "pending\n");
	cr_assert_eq(complete_words(COMPLETION_FILE, "hvctl event --event pol"), 0, "%s", err);
	cr_expect_str_eq(out, "policy-denied\n");
}
