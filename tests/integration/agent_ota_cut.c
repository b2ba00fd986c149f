/*
 * agent_ota_cut.c - hv-agent cut at its own persistence points of an update
 * (docs/ota.md OTA-212) and hv-core's OTA events audited exactly once across
 * such a cut (OTA-210), against the test double of hv-core
 * (tests/double/hvcore_double.h), which outlives the killed hv-agent as
 * hv-core would.
 *
 * Each cut starts hv-agent-test with HV_AGENT_TEST_CUT naming the point: it
 * ends with _exit(86) there, as a power cut would, and the test checks the
 * end state (the slots, the audit chain and its rows) and what a restarted
 * hv-agent (the plain build) does with it. The point is where the cut lands,
 * every run; nothing asserts a duration, waits are bounded polls.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "shell_testlib.h"
#include "hvcore_double.h"

#define CUT_EXIT 86 /* HV_TEST_CUT_EXIT, agent/common/testcut.h */

static char dir[64], ram[128], uri[256], ca[160], bundle[160];
static struct fakecore *fc;
static struct agent_proc agent;
static char *out, *err;

static const struct fakecore_vm vm_rtos = {
	.name = "rtos-demo",
	.state = HVM_VM_RUNNING,
	.reason = HVM_R_BOOTED,
	.vcpus = 1,
	.pcpu_mask = 0x1,
	.mem_bytes = 16ull << 20,
	.criticality = 4,
	.heartbeat = 1,
	.image_version = "1.0.0",
};

#define HVCTL(...) hvctl((const char *const[]){ "--connect", uri, __VA_ARGS__, NULL })

static int hvctl(const char *const *args)
{
	free(out);
	free(err);
	return run_hvctl(args, &out, &err);
}

/* hv-agent on dir; cut: the point hv-agent-test cuts at, or NULL for the
 * plain hv-agent. A killed one's sockets are removed first. */
static void agent_up(const char *cut)
{
	static const char *args[] = { "--cmd-timeout-ms", "5000", "--ota-ca", ca, NULL };
	char p[192];
	snprintf(p, sizeof p, "%s/hv-agent.sock", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/hv-agent-ro.sock", dir);
	unlink(p);
	if (cut)
		setenv("HV_AGENT_TEST_CUT", cut, 1);
	int rc = agent_start(&agent, dir, args);
	unsetenv("HV_AGENT_TEST_CUT");
	cr_assert_eq(rc, 0, "%s", agent.err);
}

/* Waits (bounded) for hv-agent-test to end at its cut point; cr_assert
 * when it ended otherwise. */
static void cut_seen(const char *point)
{
	int status = 0, done = 0;
	for (int i = 0; i < 3000 && !done; i++) { /* up to 60 s on a loaded machine */
		done = waitpid(agent.pid, &status, WNOHANG) == agent.pid;
		if (!done)
			usleep(20000);
	}
	cr_assert(done, "hv-agent-test did not reach the cut point %s", point);
	agent.pid = 0;
	char *log = read_file_text(agent.log);
	char line[128];
	snprintf(line, sizeof line, "hv-agent: test cut at %s\n", point);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == CUT_EXIT,
		  "hv-agent-test ended with status 0x%x, not the cut at %s:\n%s", status, point,
		  log ? log : "");
	cr_assert(log && strstr(log, line), "no cut at %s in the log:\n%s", point, log ? log : "");
	/* the log is appended to by the next start: the cut is seen once */
	FILE *f = fopen(agent.log, "w");
	if (f)
		fclose(f);
	free(log);
}

static void setup(void)
{
	out = err = NULL;
	memset(&agent, 0, sizeof agent);
	snprintf(dir, sizeof dir, "/tmp/agent-ota-cut-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(ram, sizeof ram, "%s/guest-ram", dir);
	snprintf(uri, sizeof uri, "unix://%s/hv-agent.sock", dir);
	snprintf(ca, sizeof ca, "%s/pki/update-ca.crt", dir);
	snprintf(bundle, sizeof bundle, "%s/v2.hvota", dir);
	fc = fakecore_create(ram, FAKECORE_RAM_BASE, HVM_DEFAULT_BASE);
	cr_assert_not_null(fc);
	fakecore_set_vm(fc, 0, &vm_rtos);
	fakecore_ota(fc, true, false);
	fakecore_live_guests(fc, true);
	cr_assert_eq(fakecore_start(fc), 0);
	cr_assert_eq(test_sh(dir, "$HVCTL pki init --dir pki && head -c 614400 /dev/urandom > img && "
				  "$HVCTL ota bundle --key pki/update-signer.key "
				  "--cert pki/update-signer.crt -o v2.hvota rtos-demo=img@2.0.0"),
		     0, "the update PKI and bundle (see %s/make.log)", dir);
}

static void teardown(void)
{
	int rc = agent_stop(&agent);
	cr_expect(rc == 0 || rc == -1, "hv-agent exit status %d", rc);
	fakecore_destroy(fc);
	free(out);
	free(err);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(agent_ota_cut, .init = setup, .fini = teardown, .timeout = 300);

static const char *str(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(j, a);
	if (b)
		v = json_object_get(v, b);
	return json_string_value(v) ? json_string_value(v) : "-";
}

/* ota status rtos-demo: "A|B slot-a-state slot-b-state slot-b-version
 * in-trial last-result". */
static const char *slots(void)
{
	static char s[160];
	cr_assert_eq(HVCTL("ota", "status", "rtos-demo", "--json"), 0, "%s", err);
	json_t *j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s", out);
	snprintf(s, sizeof s, "%s %s %s %s %s %s", str(j, "active", NULL),
		 str(j, "slot_a", "state"), str(j, "slot_b", "state"), str(j, "slot_b", "version"),
		 json_is_true(json_object_get(j, "in_trial")) ? "trial" : "no-trial",
		 str(j, "last_result", NULL));
	json_decref(j);
	return s;
}

/* Audit rows of step rpc whose arguments hold want (NULL: any). */
static int rows(const char *rpc, const char *want)
{
	cr_assert_eq(HVCTL("ota", "history", "--json"), 0, "%s", err);
	json_t *j = json_loads(out, 0, NULL);
	cr_assert(json_is_array(j), "%s", out);
	int n = 0;
	size_t i;
	json_t *r;
	json_array_foreach(j, i, r)
	{
		const char *step = json_string_value(json_object_get(r, "step"));
		const char *a = json_string_value(json_object_get(r, "arguments"));
		n += step && a && !strcmp(step, rpc) && (!want || strstr(a, want));
	}
	json_decref(j);
	return n;
}

/* Polls (bounded) until the hv-core.ota rows holding want are at least n. */
static int core_rows_reach(const char *want, int n)
{
	int have = 0;
	for (int i = 0; i < 300 && (have = rows("hv-core.ota", want)) < n; i++)
		usleep(100000);
	return have;
}

/* Every hv-agent restart ends with its audit chain whole. */
static void chain_whole(const char *when)
{
	cr_assert_eq(HVCTL("audit", "verify"), 0, "%s: the audit chain: %s%s", when, out, err);
}

/* The repeated install after a cut: the stored bundle, or the upload from
 * where the cut left it (hvctl's stderr holds said), installed, switched
 * and confirmed. */
static void install_completes(const char *when, const char *said)
{
	cr_assert_eq(HVCTL("ota", "install", bundle), 0, "%s: %s\n%s", when, out, err);
	cr_expect(strstr(err, said) != NULL, "%s: %s", when, err);
	cr_expect(strstr(out, "rtos-demo: 2.0.0 confirmed by hv-core (slot B active, floor 2.0.0)"),
		  "%s: %s", when, out);
	cr_expect_str_eq(slots(), "B good good 2.0.0 no-trial confirmed", "%s", when);
}

/* OTA-212 ota.after-part-sync: an upload stopped after 2000 bytes is synced
 * and its length recorded; the cut comes right after. The restarted hv-agent
 * answers the recorded length, the upload resumes there, nothing was
 * installed in between. */
Test(agent_ota_cut, a_cut_after_a_synced_part_resumes_the_upload_from_its_length)
{
	agent_up("ota.after-part-sync");
	HVCTL("ota", "install", "--stop-after", "2000", "--retries", "0", bundle);
	cut_seen("ota.after-part-sync");
	agent_up(NULL);
	chain_whole("after the cut");
	cr_expect_str_eq(slots(), "A good empty  no-trial none");
	install_completes("after the cut", "resuming the upload at byte 2000 ");
}

/* OTA-212 ota.after-upload: the bundle is verified and renamed KEY.hvota,
 * the client not yet answered. The restarted hv-agent holds it: the repeated
 * install uploads nothing and completes. */
Test(agent_ota_cut, a_cut_after_the_upload_keeps_the_verified_bundle)
{
	agent_up("ota.after-upload");
	cr_expect_neq(HVCTL("ota", "install", bundle), 0, "%s", out);
	cut_seen("ota.after-upload");
	agent_up(NULL);
	chain_whole("after the cut");
	cr_expect_str_eq(slots(), "A good empty  no-trial none");
	/* the request's row only: the completed upload's comes after the answer */
	int uploads = rows("OtaUpload", NULL);
	cr_expect_eq(uploads, 1, "%s", out);
	cr_expect(strstr(out, "\"requested\"") != NULL, "%s", out);
	cr_expect_eq(rows("OtaInstall.install", NULL), 0);
	install_completes("after the cut", "already holds");
}

/* OTA-212 ota.after-install:VM: hv-core holds the image in the inactive
 * slot (READY), the switch not sent. The restarted hv-agent switches nothing
 * on its own: the slot stays READY, the old one active, until the repeated
 * install installs and switches; hv-core's "installed" event, read or not
 * before the cut, is audited once. */
Test(agent_ota_cut, a_cut_after_the_install_leaves_the_slot_ready_until_installed_again)
{
	agent_up("ota.after-install:rtos-demo");
	cr_expect_neq(HVCTL("ota", "install", bundle), 0, "%s", out);
	cut_seen("ota.after-install:rtos-demo");
	agent_up(NULL);
	chain_whole("after the cut");
	cr_expect_str_eq(slots(), "A good ready 2.0.0 no-trial installed");
	cr_expect_eq(rows("OtaInstall.install", "vm=name:rtos-demo version=2.0.0"), 1);
	cr_expect_eq(rows("OtaInstall.switch", NULL), 0);
	cr_expect_eq(core_rows_reach("event=installed", 1), 1);
	install_completes("after the cut", "already holds");
	cr_expect_eq(core_rows_reach("event=installed", 2), 2);
}

/* OTA-212 ota.before-switch:VM: the same state as after the install (the
 * image READY, nothing switched); the repeated install completes it. */
Test(agent_ota_cut, a_cut_before_the_switch_switches_nothing)
{
	agent_up("ota.before-switch:rtos-demo");
	cr_expect_neq(HVCTL("ota", "install", bundle), 0, "%s", out);
	cut_seen("ota.before-switch:rtos-demo");
	agent_up(NULL);
	chain_whole("after the cut");
	cr_expect_str_eq(slots(), "A good ready 2.0.0 no-trial installed");
	cr_expect_eq(rows("OtaInstall.switch", NULL), 0);
	install_completes("after the cut", "already holds");
}

/* OTA-212 ota.after-switch:VM: hv-core took the switch, hv-agent's row of
 * it was not written. The trial is hv-core's (OTA-207): it ends without
 * hv-agent, and the restarted hv-agent reports it from hv-core's events,
 * trial and confirmation once each; it repeats nothing. */
Test(agent_ota_cut, a_cut_after_the_switch_leaves_the_trial_to_hv_core_and_reports_it)
{
	agent_up("ota.after-switch:rtos-demo");
	cr_expect_neq(HVCTL("ota", "install", bundle), 0, "%s", out);
	cut_seen("ota.after-switch:rtos-demo");
	agent_up(NULL);
	chain_whole("after the cut");
	cr_expect_eq(core_rows_reach("event=confirmed", 1), 1);
	cr_expect_str_eq(slots(), "B good good 2.0.0 no-trial confirmed");
	cr_expect_eq(rows("OtaInstall.switch", NULL), 0);
	cr_expect_eq(rows("hv-core.ota", "event=trial"), 1);
	cr_expect_eq(rows("hv-core.ota", "event=installed"), 1);
}

/* The later event that shows the restarted hv-agent's event thread went
 * past everything before it: hv-core's NV_FAILED (write), from the double. */
static void later_event_audited(void)
{
	fakecore_event(fc, HVM_EV_NV_FAILED, 0, 2, 0);
	cr_assert_eq(core_rows_reach("event=nv-failed", 1), 1);
}

/* OTA-210 with the cut ota.event-read:confirmed: hv-agent read hv-core's
 * "confirmed" event and was cut before its row was written. hv-core still
 * holds it (hv-agent acknowledges an OTA event only once its row is
 * written): the restarted hv-agent writes it, once, and each earlier event
 * stays written once. */
Test(agent_ota_cut, an_event_read_but_not_audited_when_cut_is_audited_after_the_restart)
{
	agent_up("ota.event-read:confirmed");
	HVCTL("ota", "install", bundle); /* its end races the cut: either */
	cut_seen("ota.event-read:confirmed");
	agent_up(NULL);
	chain_whole("after the cut");
	cr_expect_eq(core_rows_reach("event=confirmed", 1), 1);
	later_event_audited();
	cr_expect_eq(rows("hv-core.ota", "event=confirmed"), 1);
	cr_expect_eq(rows("hv-core.ota", "event=trial"), 1);
	cr_expect_eq(rows("hv-core.ota", "event=installed"), 1);
	cr_expect_str_eq(slots(), "B good good 2.0.0 no-trial confirmed");
}

/* OTA-210 with the cut ota.event-audited:confirmed: the row of "confirmed"
 * is written, STATE/ota/events-audited not yet. The restarted hv-agent reads
 * the event again and resumes from the audit log's newest hv-core.ota row:
 * not written twice. */
Test(agent_ota_cut, an_event_audited_just_before_the_cut_is_not_audited_twice)
{
	agent_up("ota.event-audited:confirmed");
	HVCTL("ota", "install", bundle);
	cut_seen("ota.event-audited:confirmed");
	agent_up(NULL);
	chain_whole("after the cut");
	later_event_audited();
	cr_expect_eq(rows("hv-core.ota", "event=confirmed"), 1);
	cr_expect_eq(rows("hv-core.ota", "event=trial"), 1);
	cr_expect_eq(rows("hv-core.ota", "event=installed"), 1);
}
