/*
 * hvctl_ota_stack.c - OTA updates through the real stack (suite ota_stack):
 * hv-core under QEMU at EL2 with its flash bank, hv-agent on a fresh state
 * directory, hvctl, and rtos-demo images made by scripts/guest-image.sh and
 * signed with the update signer of `hvctl pki init`:
 *
 *  - a 2.0.0 bundle uploads, installs and is confirmed by hv-core; `ota
 *    status` shows it active and good; a --broken 3.0.0 fails its trial and
 *    rtos-demo runs 2.0.0 again on its own; a 1.0.0 bundle is refused as a
 *    rollback (E_ROLLBACK);
 *  - the VM's stored configuration and its revision history are the same
 *    after the update and the rollback as before (REQ-SAF-15.6);
 *  - the switch of the ASIL rtos-demo while driving is refused (E_POLICY),
 *    and with --when-allowed it waits as a pending command that runs after
 *    `vehicle set parked`;
 *  - a rollback that happens while hv-agent is stopped is audited when it
 *    starts again, once (OTA-210).
 *
 * hv-core's boot configuration names the same update CA (VMCFG-601), so both
 * hv-agent and hv-core check each manifest's signature (MGMT-640..643; the
 * digest form is refused). Waits are bounded polls; no timing is asserted.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_stack.h"
#include "hvctl_testlib.h"

static struct hvq q;
static struct agent_proc agent;
static char tmp[64], ca[128], bundle[4][128], bootcfg[300];
static const char *extra[5]; /* hv-agent's options: its restarts use them too */

/* A shell line in tmp (BUILD, HVCTL and GI set); its exit status. */
__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
	char line[1024], cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd,
		 "cd '%s' && BUILD='%s' HVCTL='%s/hvctl' GI='%s/scripts/guest-image.sh' "
		 "bash -c '%s' >>'%s/make.log' 2>&1",
		 tmp, HV_BUILD_DIR, HV_BIN_DIR, HV_SOURCE_DIR, line, tmp);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The PKI, images 1.0.0, 2.0.0, 3.0.0 (broken) and their bundles. */
static void make_bundles(void)
{
	out = err = NULL;
	snprintf(tmp, sizeof tmp, "/tmp/hvctl-ota-stack-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	snprintf(ca, sizeof ca, "%s/pki/update-ca.crt", tmp);
	/* 1.0.0 signed last: its signed time is not older than any seen
	 * (OTA-041), so it is refused for its version, by hv-core */
	static const char *const v[] = { "2.0.0", "3.0.0", "1.0.0" };
	static const int slot[] = { 2, 3, 1 };
	cr_assert_eq(sh("$HVCTL pki init --dir pki"), 0);
	for (int i = 0; i < 3; i++) {
		int k = slot[i];
		cr_assert_eq(sh("bash $GI rtos-demo --version %s %s -o v%d.bin && %s $HVCTL ota "
				"bundle --key pki/update-signer.key --cert pki/update-signer.crt -o "
				"v%d.hvota rtos-demo=v%d.bin@%s",
				v[i], k == 3 ? "--broken" : "", k, k == 1 ? "sleep 1 &&" : "", k, k,
				v[i]),
			     0, "making bundle %s failed (see %s/make.log)", v[i], tmp);
		snprintf(bundle[k], sizeof bundle[k], "%s/v%d.hvota", tmp, k);
	}
}

/* The bundles, then the stack with hv-agent trusting the update CA. */
static void setup(void)
{
	make_bundles();
	extra[0] = "--ota-ca";
	extra[1] = ca;
	extra[2] = "--boot-config";
	extra[3] = bootcfg;
	/* hv-core gets the same update CA in its boot configuration (VMCFG-601):
	 * it checks each manifest's signature itself (MGMT-640..643) */
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.extra[0] = "--update-ca";
	o.extra[1] = ca;
	memset(&agent, 0, sizeof agent);
	agent_stack_start_core(&q, &o);
	/* hv-agent adopts the boot configuration's VMs (their stored
	 * configuration is what REQ-SAF-15.6 compares) */
	snprintf(bootcfg, sizeof bootcfg, "%s/bootcfg.dtb", q.dir);
	cr_assert_eq(agent_start(&agent, q.dir, extra), 0, "%s", agent.err);
	snprintf(uri, sizeof uri, "unix://%s", agent.sock);
}

static void teardown(void)
{
	agent_stack_stop(&q, &agent);
	free(out);
	free(err);
	out = err = NULL;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(ota_stack, .init = setup, .fini = teardown, .timeout = 900);

static const char *jstr(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(j, a);
	if (b)
		v = json_object_get(v, b);
	return json_string_value(v) ? json_string_value(v) : "(none)";
}

/* Polls until rtos-demo's guest reports version (bounded). */
static int wait_guest_version(const char *version, unsigned timeout_s)
{
	for (unsigned i = 0; i < timeout_s * 2; i++) {
		if (HV("dominfo", "rtos-demo", "--json") == OK) {
			json_t *j = parse_json(out);
			int ok = !strcmp(jstr(j, "image_version", NULL), version);
			json_decref(j);
			if (ok)
				return 0;
		}
		nap_ms(500);
	}
	return -1;
}

/* What an update must leave alone (REQ-SAF-15.6): the VM's stored
 * configuration and its revision history, as hvctl prints them. */
static char *user_data(void)
{
	cr_assert_eq(HV("dumpconfig", "rtos-demo"), OK, "%s", err);
	size_t n = strlen(out);
	char *cfg = strdup(out);
	cr_assert_eq(HV("config-history", "rtos-demo"), OK, "%s", err);
	char *all = malloc(n + strlen(out) + 2);
	cr_assert_not_null(all);
	sprintf(all, "%s\n%s", cfg, out);
	free(cfg);
	return all;
}

Test(ota_stack, an_update_is_confirmed_a_broken_one_rolls_back_and_an_older_one_is_refused)
{
	char *before = user_data();
	cr_assert_eq(HV("ota", "install", "--window-ms", "1000", "--timeout-ms", "60000", bundle[2]),
		     OK, "%s\n%s", out, err);
	cr_expect(strstr(out, "rtos-demo: 2.0.0 confirmed by hv-core") != NULL, "%s", out);
	/* hv-core checked the signature with its own trust anchor (MGMT-643) */
	char serial[600];
	snprintf(serial, sizeof serial, "%s/serial.log", q.dir);
	char *log = read_file_text(serial);
	cr_expect(log && strstr(log, "ota: update trust anchor configured"), "no trust anchor");
	free(log);
	cr_assert_eq(HV("ota", "status", "rtos-demo", "--json"), OK, "%s", err);
	json_t *j = parse_json(out);
	const char *act = !strcmp(jstr(j, "active", NULL), "B") ? "slot_b" : "slot_a";
	cr_expect_str_eq(jstr(j, act, "version"), "2.0.0");
	cr_expect_str_eq(jstr(j, act, "state"), "good");
	cr_expect_str_eq(jstr(j, "floor", NULL), "2.0.0");
	json_decref(j);
	cr_expect_eq(wait_guest_version("2.0.0", 60), 0, "rtos-demo does not report 2.0.0");

	/* --broken never confirms: hv-core rolls back on its own. Its heartbeat
	 * stops after 10 beats, which on a starved host can take longer than a
	 * short window: a window of 5 s cannot be filled by them */
	cr_assert_eq(HV("ota", "install", "--window-ms", "5000", "--timeout-ms", "60000", bundle[3]),
		     FAIL, "%s\n%s", out, err);
	cr_expect(strstr(out, "the trial of 3.0.0 failed") && strstr(out, "runs 2.0.0 again"), "%s",
		  out);
	cr_expect_eq(wait_guest_version("2.0.0", 60), 0, "rtos-demo does not run 2.0.0 again");
	cr_assert_eq(HV("ota", "status", "rtos-demo", "--json"), OK, "%s", err);
	j = parse_json(out);
	act = !strcmp(jstr(j, "active", NULL), "B") ? "slot_b" : "slot_a";
	cr_expect_str_eq(jstr(j, act, "version"), "2.0.0");
	cr_expect_str_eq(jstr(j, !strcmp(act, "slot_b") ? "slot_a" : "slot_b", "state"), "bad");
	json_decref(j);

	/* older than the floor */
	cr_expect_eq(HV("ota", "install", bundle[1]), FAIL, "%s", out);
	cr_expect(strstr(err, "(E_ROLLBACK)") != NULL, "%s", err);

	cr_assert_eq(HV("ota", "history"), OK, "%s", err);
	cr_expect(strstr(out, "event=rolled-back") || strstr(out, "event=confirmed"), "%s", out);

	/* REQ-SAF-15.6: an update and a rollback changed no configuration */
	char *after = user_data();
	cr_expect_str_eq(after, before, "the VM's configuration changed");
	free(before);
	free(after);
}

Test(ota_stack, an_asil_switch_while_driving_is_refused_or_waits_for_parked)
{
	cr_assert_eq(HV("vehicle", "set", "driving"), OK, "%s", err);
	cr_expect_eq(HV("ota", "install", "--window-ms", "1000", bundle[2]), FAIL, "%s", out);
	cr_expect(strstr(err, "(E_POLICY)") != NULL, "%s", err);

	cr_assert_eq(HV("ota", "install", "--when-allowed", "--window-ms", "1000", bundle[2]), OK,
		     "%s\n%s", out, err);
	cr_expect(strstr(out, "the switch waits for the safety policy as pending command") != NULL,
		  "%s", out);
	cr_assert_eq(HV("pending", "--json"), OK, "%s", err);
	cr_expect(strstr(out, "otaswitch") != NULL, "%s", out);

	cr_assert_eq(HV("vehicle", "set", "parked"), OK, "%s", err);
	int confirmed = 0;
	for (int i = 0; i < 240 && !confirmed; i++) {
		nap_ms(500);
		if (HV("ota", "status", "rtos-demo", "--json") != OK)
			continue;
		json_t *j = parse_json(out);
		const char *act = !strcmp(jstr(j, "active", NULL), "B") ? "slot_b" : "slot_a";
		confirmed = !strcmp(jstr(j, "last_result", NULL), "confirmed") &&
			    !strcmp(jstr(j, act, "version"), "2.0.0");
		json_decref(j);
	}
	cr_expect(confirmed, "the queued switch did not run and confirm: %s", out);
	cr_assert_eq(HV("pending", "--all", "--json"), OK, "%s", err);
	cr_expect(strstr(out, "\"done\"") != NULL, "%s", out);
}

/* The hv-core.ota audit rows about rtos-demo holding event, counted. */
static int core_ota_rows(const char *event)
{
	cr_assert_eq(HV("ota", "history", "--json"), OK, "%s", err);
	json_t *j = parse_json(out);
	char want[64];
	snprintf(want, sizeof want, "event=%s ", event);
	int n = 0;
	size_t i;
	json_t *r;
	json_array_foreach(j, i, r)
	{
		const char *rpc = json_string_value(json_object_get(r, "step"));
		const char *a = json_string_value(json_object_get(r, "arguments"));
		n += rpc && a && !strcmp(rpc, "hv-core.ota") && strstr(a, "vm=name:rtos-demo ") &&
		     strstr(a, want);
	}
	json_decref(j);
	return n;
}

/* OTA-210: hv-agent is stopped during the trial of the broken 3.0.0;
 * hv-core rolls back on its own; the started hv-agent audits the rollback
 * from hv-core's event ring, and a second restart does not audit it again. */
Test(ota_stack, a_rollback_while_hv_agent_is_stopped_is_audited_once_when_it_starts)
{
	cr_assert_eq(HV("ota", "install", "--window-ms", "1000", "--timeout-ms", "60000", bundle[2]),
		     OK, "%s\n%s", out, err);
	cr_assert_eq(core_ota_rows("rolled-back"), 0);
	cr_assert_eq(HV("ota", "install", "--no-follow", "--window-ms", "5000", "--timeout-ms",
			"60000", bundle[3]),
		     OK, "%s\n%s", out, err);
	cr_assert_eq(agent_stop(&agent), 0);
	/* hv-core alone: its log says when the trial failed */
	char serial[600];
	snprintf(serial, sizeof serial, "%s/serial.log", q.dir);
	int rolled = 0;
	for (int i = 0; i < 240 && !rolled; i++) {
		char *log = read_file_text(serial);
		rolled = log && strstr(log, "'rtos-demo': trial of slot");
		free(log);
		if (!rolled)
			nap_ms(500);
	}
	cr_assert(rolled, "hv-core did not roll back");
	cr_assert_eq(agent_start(&agent, q.dir, extra), 0, "%s", agent.err);
	int n = 0;
	for (int i = 0; i < 120 && !(n = core_ota_rows("rolled-back")); i++)
		nap_ms(500);
	cr_expect_eq(n, 1, "the rollback is audited %d times", n);
	cr_assert_eq(HV("ota", "history"), OK, "%s", err);
	cr_expect(strstr(out, "event=rolled-back") != NULL, "%s", out);

	/* once: a restart reads the ring again, and writes nothing twice */
	int confirmed = core_ota_rows("confirmed");
	cr_assert_eq(agent_stop(&agent), 0);
	cr_assert_eq(agent_start(&agent, q.dir, extra), 0, "%s", agent.err);
	cr_assert_eq(HV("ota", "status", "rtos-demo"), OK, "%s", err);
	nap_ms(2000); /* a chance to write a row twice; the count is what is checked */
	cr_expect_eq(core_ota_rows("rolled-back"), 1);
	cr_expect_eq(core_ota_rows("confirmed"), confirmed);
}
