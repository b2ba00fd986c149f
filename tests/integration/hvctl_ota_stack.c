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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_stack.h"
#include "hvctl_testlib.h"
#include "shell_testlib.h"

static struct hvq q;
static struct agent_proc agent;
static char tmp[64], ca[128], bundle[4][128], bootcfg[300];
static const char *extra[5]; /* hv-agent's options: its restarts use them too */

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
	cr_assert_eq(test_sh(tmp, "$HVCTL pki init --dir pki"), 0);
	for (int i = 0; i < 3; i++) {
		int k = slot[i];
		cr_assert_eq(test_sh(tmp,
				     "bash $GI rtos-demo --version %s %s -o v%d.bin && %s $HVCTL ota "
				     "bundle --key pki/update-signer.key --cert pki/update-signer.crt -o "
				     "v%d.hvota rtos-demo=v%d.bin@%s",
				     v[i], k == 3 ? "--broken" : "", k, k == 1 ? "sleep 1 &&" : "",
				     k, k, v[i]),
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

/* REQ-PRD-06 (docs/telemetry.md): WatchHealth carries each VM's A/B slots
 * from the same registry as /metrics, here with hv-core under QEMU doing the
 * install and the confirmation. The Python client (python3-grpcio) follows
 * the stream in on-change mode while 2.0.0 is installed, and compares the
 * slot fields of the confirmation's CAUSE_OTA update with a scrape. */
Test(ota_stack, watch_health_shows_the_slots_as_the_metrics_do)
{
	char listen[32], port_s[16], work[120], marker[140], wout[140];
	int port = loopback_port(), status = 0;
	cr_assert_gt(port, 0);
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	snprintf(port_s, sizeof port_s, "%d", port);
	cr_assert_eq(agent_stop(&agent), 0);
	const char *ex[] = { extra[0],
			     extra[1],
			     extra[2],
			     extra[3],
			     "--metrics-listen",
			     listen,
			     "--metrics-interval-ms",
			     "100",
			     NULL };
	cr_assert_eq(agent_start(&agent, q.dir, ex), 0, "%s", agent.err);
	snprintf(work, sizeof work, "%s/py", tmp);
	snprintf(marker, sizeof marker, "%s/open", work);
	snprintf(wout, sizeof wout, "%s/watch.out", tmp);
	cr_assert_eq(mkdir(work, 0755), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (!freopen(wout, "w", stdout) || dup2(fileno(stdout), 2) < 0)
			_exit(126);
		execl(HV_PYTHON3, HV_PYTHON3,
		      HV_SOURCE_DIR "/tests/integration/agent_python_health_ota.py",
		      HV_SOURCE_DIR "/proto", work, agent.sock, "rtos-demo", marker, port_s,
		      "2.0.0", (char *)NULL);
		_exit(127);
	}
	bool open_ = false, exited = false;
	for (int i = 0; i < 3000 && !open_ && !exited; i++) {
		open_ = access(marker, F_OK) == 0;
		exited = !open_ && waitpid(pid, &status, WNOHANG) == pid;
		if (!open_ && !exited)
			nap_ms(20);
	}
	char *text = NULL;
	if (!open_) {
		if (!exited) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
		text = read_file_text(wout);
		cr_assert_fail("the Python client never received an update:\n%s", text ? text : "");
	}
	int rc = HV("ota", "install", "--window-ms", "1000", "--timeout-ms", "60000", bundle[2]);
	for (int i = 0; i < 6000 && !exited; i++) {
		exited = waitpid(pid, &status, WNOHANG) == pid;
		if (!exited)
			nap_ms(20);
	}
	if (!exited) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	text = read_file_text(wout);
	cr_expect_eq(rc, OK, "%s\n%s", out, err);
	cr_expect(exited && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the Python client did not end with ok:\n%s", text ? text : "");
	cr_expect(text && strstr(text, "CAUSE_OTA") && strstr(text, "\nok\n"), "%s",
		  text ? text : "");
	free(text);
}

/* ---- an update group through hv-agent (suite ota_group) ---- */

/* A second VM, rtos-b, running its own copy of the RTOS demo (QM). */
static const char rtos_b_node[] =
	"\trtos-b {\n\t\tcompatible = \"avirt,vm-config-v1\";\n\t\tvm-name = \"rtos-b\";\n"
	"\t\tuuid = \"5d1e7a00-2b4c-4d6e-9f10-213243546502\";\n"
	"\t\tvcpus = <1>;\n\t\tcpus = <2>;\n"
	"\t\tmemory = <0x0 0x40000000  0x0 0x4B000000  0x0 0x01000000>;\n"
	"\t\tcriticality = \"QM\";\n\t\tfault-policy = \"stop\";\n"
	"\t\tboot-order = <2>;\n\t\tautostart;\n"
	"\t\tboot {\n\t\t\tload-address = <0x0 0x40000000>;\n\t\t\tentry = <0x0 0x40000000>;\n"
	"\t\t\timage-size = <0x0 @SIZE:rtos-b@>;\n\t\t\timage-store = <0x0 @STORE:rtos-b@>;\n"
	"\t\t\timage-sha256 = [@SHA256:rtos-b@];\n\t\t};\n"
	"\t\tvuart {\n\t\t\tcompatible = \"avirt,vuart-v1\";\n\t\t};\n\t};\n";

/* The PKI; bundles g2 (both VMs 2.0.0) and g3 (rtos-demo 3.0.0, rtos-b a
 * broken 3.0.0); hv-core from tmp/core (the build's, with rtos-b.bin beside
 * rtos-demo.bin) booting tmp/cfg.dts: rtos-demo, rtos-b and the update CA;
 * hv-agent adopting that configuration. */
static void setup_group(void)
{
	out = err = NULL;
	snprintf(tmp, sizeof tmp, "/tmp/hvctl-ota-group-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	snprintf(ca, sizeof ca, "%s/pki/update-ca.crt", tmp);
	cr_assert_eq(test_sh(tmp,
			     "$HVCTL pki init --dir pki && bash $GI rtos-demo --version 2.0.0 -o v2.bin "
			     "&& bash $GI rtos-demo --version 3.0.0 -o v3.bin && bash $GI rtos-demo "
			     "--version 3.0.0 --broken -o v3broken.bin && S=\"--key pki/update-signer.key "
			     "--cert pki/update-signer.crt\" && $HVCTL ota bundle $S -o g2.hvota "
			     "rtos-demo=v2.bin@2.0.0 rtos-b=v2.bin@2.0.0 && $HVCTL ota bundle $S -o "
			     "g3.hvota rtos-demo=v3.bin@3.0.0 rtos-b=v3broken.bin@3.0.0"),
		     0, "images or bundles not made (see %s/make.log)", tmp);
	snprintf(bundle[2], sizeof bundle[2], "%s/g2.hvota", tmp);
	snprintf(bundle[3], sizeof bundle[3], "%s/g3.hvota", tmp);
	const char *core = agent_stack_core_dir();
	cr_assert_eq(test_sh(tmp,
			     "mkdir -p core/guests && ln -s %s/hvcore.bin %s/hvcore-test.bin core/ && "
			     "cp %s/guests/rtos-demo.bin core/guests/ && cp core/guests/rtos-demo.bin "
			     "core/guests/rtos-b.bin && openssl x509 -in pki/update-ca.crt -outform der | "
			     "od -An -v -tx1 | tr -d \" \\n\" > ca.hex",
			     core, core, core),
		     0, "tmp/core not made");
	char path[200], hexp[200];
	snprintf(hexp, sizeof hexp, "%s/ca.hex", tmp);
	char *cahex = read_file_text(hexp);
	cr_assert(cahex && *cahex);
	char dtsi[400], line[512];
	snprintf(dtsi, sizeof dtsi, "%s/hv-core/guests/vms/rtos-demo.dtsi", HV_SOURCE_DIR);
	snprintf(path, sizeof path, "%s/cfg.dts", tmp);
	FILE *in = fopen(dtsi, "r"), *o = fopen(path, "w");
	cr_assert(in && o);
	fprintf(o,
		"/dts-v1/;\n/ {\n\tcompatible = \"avirt,system-config-v1\";\n"
		"\thv-core {\n\t\tvehicle-state { source = \"management\"; initial = \"parked\"; };\n"
		"\t\tota { update-ca = [%s]; };\n\t};\n\tvms {\n",
		cahex);
	free(cahex);
	while (fgets(line, sizeof line, in))
		fputs(line, o);
	fprintf(o, "%s\t};\n};\n", rtos_b_node);
	fclose(in);
	cr_assert_eq(fclose(o), 0);
	static char core_dir[200];
	snprintf(core_dir, sizeof core_dir, "%s/core", tmp);
	struct hvq_opts qo = HVQ_OPTS_DEFAULT;
	qo.core_dir = core_dir;
	qo.extra[0] = "--config";
	qo.extra[1] = path;
	memset(&agent, 0, sizeof agent);
	agent_stack_start_core(&q, &qo);
	snprintf(bootcfg, sizeof bootcfg, "%s/bootcfg.dtb", q.dir);
	extra[0] = "--ota-ca";
	extra[1] = ca;
	extra[2] = "--boot-config";
	extra[3] = bootcfg;
	cr_assert_eq(agent_start(&agent, q.dir, extra), 0, "%s", agent.err);
	snprintf(uri, sizeof uri, "unix://%s", agent.sock);
}

TestSuite(ota_group, .init = setup_group, .fini = teardown, .timeout = 900);

/* VM vm's active slot: its version and the last result. */
static void active_of(const char *vm, char *version, size_t vlen, char *result, size_t rlen)
{
	cr_assert_eq(HV("ota", "status", vm, "--json"), OK, "%s", err);
	json_t *j = parse_json(out);
	const char *act = !strcmp(jstr(j, "active", NULL), "B") ? "slot_b" : "slot_a";
	snprintf(version, vlen, "%s", jstr(j, act, "version"));
	snprintf(result, rlen, "%s", jstr(j, "last_result", NULL));
	json_decref(j);
}

/* REQ-SAF-15.4 through hv-agent and hvctl (MGMT-650..656): a bundle of two
 * VMs is installed, switched as one group and confirmed only when both
 * passed; in the next, rtos-b's image never confirms, so both return to
 * 2.0.0: rtos-b for its own failure, rtos-demo for the group's (FAIL_GROUP). */
Test(ota_group, a_group_is_confirmed_whole_and_rolled_back_whole_when_one_vm_fails)
{
	char v[64], r[64];
	cr_assert_eq(HV("ota", "install", "--window-ms", "1000", "--timeout-ms", "60000", bundle[2]),
		     OK, "%s\n%s", out, err);
	cr_expect(strstr(out, "rtos-demo: 2.0.0 confirmed by hv-core") != NULL, "%s", out);
	cr_expect(strstr(out, "rtos-b: 2.0.0 confirmed by hv-core") != NULL, "%s", out);
	active_of("rtos-demo", v, sizeof v, r, sizeof r);
	cr_expect_str_eq(v, "2.0.0");
	active_of("rtos-b", v, sizeof v, r, sizeof r);
	cr_expect_str_eq(v, "2.0.0");
	cr_expect_str_eq(r, "confirmed");

	cr_assert_eq(HV("ota", "install", "--window-ms", "5000", "--timeout-ms", "60000", bundle[3]),
		     FAIL, "%s\n%s", out, err);
	cr_expect(strstr(out, "rtos-demo: the trial of 3.0.0 failed (fail-group)") != NULL, "%s",
		  out);
	cr_expect(strstr(out, "rtos-b: the trial of 3.0.0 failed") != NULL, "%s", out);
	active_of("rtos-demo", v, sizeof v, r, sizeof r);
	cr_expect_str_eq(v, "2.0.0");
	cr_expect_str_eq(r, "fail-group");
	active_of("rtos-b", v, sizeof v, r, sizeof r);
	cr_expect_str_eq(v, "2.0.0");
	cr_expect(strcmp(r, "fail-group") && strncmp(r, "fail-", 5) == 0, "rtos-b: %s", r);
	/* the steps in the history: both rolled back (hv-core's events are
	 * audited by hv-agent's event thread, a moment after the reply) */
	int both = 0;
	for (int i = 0; i < 120 && !both; i++) {
		cr_assert_eq(HV("ota", "history", "--json"), OK, "%s", err);
		both = strstr(out, "vm=name:rtos-demo event=rolled-back") &&
		       strstr(out, "vm=name:rtos-b event=rolled-back");
		if (!both)
			nap_ms(250);
	}
	cr_expect(both, "%s", out);
}

/* ---- power cuts of hv-agent and QEMU together (suite ota_cut) ---- */

/* hv-agent's state lives in tmp/state and hv-core's flash in tmp/nvram.bin,
 * so both outlive the QEMU they were used with; a cut is SIGKILL of hv-agent
 * and QEMU at once, and both start again on the same files. */
static char state[100], nvram[100], ramfile[300];

/* hv-agent on the state of the cut tests, with hv-core's files; with
 * cut_at, hv-agent-test that cuts itself there (docs/ota.md OTA-212). */
static void cut_agent_start(const char *cut_at)
{
	extra[0] = "--ota-ca";
	extra[1] = ca;
	extra[2] = "--boot-config";
	extra[3] = bootcfg;
	static const char *ex[8];
	memcpy(ex, extra, 4 * sizeof *ex);
	ex[4] = "--ram-file";
	ex[5] = ramfile;
	ex[6] = NULL;
	/* the killed agent's sockets are still there: agent_start waits for new ones */
	char p[160];
	snprintf(p, sizeof p, "%s/hv-agent.sock", state);
	unlink(p);
	snprintf(p, sizeof p, "%s/hv-agent-ro.sock", state);
	unlink(p);
	if (cut_at)
		setenv("HV_AGENT_TEST_CUT", cut_at, 1);
	int rc = agent_start(&agent, state, ex);
	unsetenv("HV_AGENT_TEST_CUT");
	cr_assert_eq(rc, 0, "%s", agent.err);
	snprintf(uri, sizeof uri, "unix://%s", agent.sock);
}

static void cut_start(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.extra[0] = "--update-ca";
	o.extra[1] = ca;
	o.extra[2] = "--nvram";
	o.extra[3] = nvram;
	agent_stack_start_core(&q, &o);
	snprintf(bootcfg, sizeof bootcfg, "%s/bootcfg.dtb", q.dir);
	snprintf(ramfile, sizeof ramfile, "%s/guest-ram", q.dir);
	cut_agent_start(NULL);
}

/* The power cut: hv-agent and QEMU killed together, nothing cleaned up. */
static void cut(void)
{
	kill(agent.pid, SIGKILL);
	hvq_stop(&q);
	cr_expect_eq(agent_stop(&agent), 128 + SIGKILL);
}

static void setup_cut(void)
{
	make_bundles();
	memset(&agent, 0, sizeof agent);
	snprintf(state, sizeof state, "%s/state", tmp);
	snprintf(nvram, sizeof nvram, "%s/nvram.bin", tmp);
	cr_assert_eq(mkdir(state, 0700), 0);
	cut_start();
}

TestSuite(ota_cut, .init = setup_cut, .fini = teardown, .timeout = 1500);

/* After a restart: the store opened (hv-agent started), its audit chain
 * verifies, rtos-demo runs one whole version of old or want (never
 * nothing), no trial survived, and the floor is not below floor. */
static void consistent(const char *old, const char *want, const char *floor, const char *when)
{
	cr_assert_eq(HV("audit", "verify"), OK, "%s: the audit chain: %s", when, err);
	char v[64] = "";
	for (int i = 0; i < 240; i++) {
		if (HV("dominfo", "rtos-demo", "--json") == OK) {
			json_t *j = parse_json(out);
			snprintf(v, sizeof v, "%s", jstr(j, "image_version", NULL));
			json_decref(j);
			if (!strcmp(v, old) || !strcmp(v, want))
				break;
		}
		nap_ms(500);
	}
	cr_assert(!strcmp(v, old) || !strcmp(v, want), "%s: rtos-demo runs '%s', not %s or %s",
		  when, v, old, want);
	cr_assert_eq(HV("ota", "status", "rtos-demo", "--json"), OK, "%s", err);
	json_t *j = parse_json(out);
	cr_expect(!json_is_true(json_object_get(j, "in_trial")), "%s: a trial survived: %s", when,
		  out);
	cr_expect(strcmp(jstr(j, "floor", NULL), floor) >= 0, "%s: the floor went down to %s", when,
		  jstr(j, "floor", NULL));
	json_decref(j);
}

/* Cuts at hv-agent's persistence points of an update: during an upload
 * (after a synced part), during OtaInstall once hv-core stored the image
 * (between staging and the switch), and with a --when-allowed switch queued
 * in the store. After each the state is whole, and the update then
 * completes: the upload resumes, the install is repeated, the queued
 * switch runs. */
Test(ota_cut, a_cut_of_hv_agent_and_qemu_at_its_persistence_points_leaves_a_whole_state)
{
	/* 1. a durable part, then a slow resume cut in the middle */
	cr_expect_eq(HV("ota", "install", "--stop-after", "2000", bundle[2]), FAIL, "%s", err);
	cr_assert_eq(test_sh(tmp,
			     "($HVCTL --connect unix://%s/hv-agent.sock ota install --upload-only "
			     "--retries 0 --rate 400 v2.hvota > bg.out 2>&1; echo exit=$? >> bg.out) &",
			     state),
		     0);
	char bgp[160];
	snprintf(bgp, sizeof bgp, "%s/bg.out", tmp);
	char *bg = NULL;
	for (int i = 0; i < 600; i++) {
		free(bg);
		bg = read_file_text(bgp);
		if (bg && strstr(bg, "resuming the upload at byte 2000 "))
			break;
		nap_ms(50);
	}
	cr_assert(bg && strstr(bg, "resuming"), "%s", bg ? bg : "");
	free(bg);
	nap_ms(1000); /* some bytes of the resume on their way */
	cut();
	cut_start();
	consistent("rtos-demo 1.0.0", "rtos-demo 1.0.0", "",
		   "a cut during the upload"); /* the factory image */
	cr_assert_eq(HV("ota", "install", "--window-ms", "1000", "--timeout-ms", "60000", bundle[2]),
		     OK, "%s\n%s", out, err);
	cr_expect(strstr(err, "resuming the upload at byte 2000 ") != NULL, "%s", err);
	cr_expect(strstr(out, "rtos-demo: 2.0.0 confirmed by hv-core") != NULL, "%s", out);
	consistent("2.0.0", "2.0.0", "2.0.0", "after the resumed update");

	/* 2. a cut in OtaInstall once hv-core holds the image: 3.0.0 (broken,
	 * so a switch that got through could only fail). hv-agent-test cuts
	 * itself right after the install (OTA-212 ota.after-install), then
	 * QEMU goes: the switch was never sent. */
	cr_assert_eq(agent_stop(&agent), 0);
	cut_agent_start("ota.after-install:rtos-demo");
	cr_expect_neq(HV("ota", "install", "--no-follow", "--window-ms", "5000", "--timeout-ms",
			 "60000", bundle[3]),
		      OK, "%s", out);
	cr_assert_eq(agent_stop(&agent), 86, "hv-agent-test did not cut at ota.after-install");
	hvq_stop(&q);
	cut_start();
	consistent("2.0.0", "2.0.0", "2.0.0", "a cut between install and switch");
	cr_assert_eq(HV("ota", "history", "--json"), OK, "%s", err);
	cr_expect(strstr(out, "vm=name:rtos-demo version=3.0.0 size=") != NULL, "%s", out);
	cr_expect(strstr(out, "vm=name:rtos-demo version=3.0.0 window_ms=") == NULL,
		  "a switch of 3.0.0 before the cut: %s", out);
	/* the update is repeated from the stored bundle, and ends cleanly: the
	 * broken image rolls back */
	cr_expect_eq(HV("ota", "install", "--window-ms", "5000", "--timeout-ms", "60000", bundle[3]),
		     FAIL, "%s\n%s", out, err);
	cr_expect(strstr(err, "already holds") != NULL, "%s", err);
	cr_expect(strstr(out, "runs 2.0.0 again") != NULL, "%s", out);
	consistent("2.0.0", "2.0.0", "2.0.0", "after the repeated install");
}

/* OTA-212 with QEMU: hv-agent-test cuts itself right after hv-core took
 * the switch of 2.0.0 (ota.after-switch), then QEMU goes, in the trial (its
 * window a minute, so only the cut ends it). No trial survives the restart
 * (MGMT-623): the factory image runs again with the result fail-reset and
 * the floor not raised; hv-agent wrote no row of the switch and repeats
 * nothing on its own; the repeated install completes the update. */
Test(ota_cut, a_cut_right_after_the_switch_ends_the_trial_in_the_old_slot)
{
	cr_assert_eq(agent_stop(&agent), 0);
	cut_agent_start("ota.after-switch:rtos-demo");
	cr_expect_neq(HV("ota", "install", "--no-follow", "--window-ms", "60000", "--timeout-ms",
			 "120000", bundle[2]),
		      OK, "%s", out);
	cr_assert_eq(agent_stop(&agent), 86, "hv-agent-test did not cut at ota.after-switch");
	hvq_stop(&q);
	cut_start();
	consistent("rtos-demo 1.0.0", "rtos-demo 1.0.0", "", "a cut right after the switch");
	cr_assert_eq(HV("ota", "status", "rtos-demo", "--json"), OK, "%s", err);
	json_t *j = parse_json(out);
	cr_expect_str_eq(jstr(j, "last_result", NULL), "fail-reset");
	json_decref(j);
	cr_assert_eq(HV("ota", "history", "--json"), OK, "%s", err);
	cr_expect(strstr(out, "vm=name:rtos-demo version=2.0.0 size=") != NULL, "%s", out);
	cr_expect(strstr(out, "vm=name:rtos-demo version=2.0.0 window_ms=") == NULL,
		  "a row of the cut switch: %s", out);
	cr_assert_eq(HV("ota", "install", "--window-ms", "1000", "--timeout-ms", "60000", bundle[2]),
		     OK, "%s\n%s", out, err);
	cr_expect(strstr(out, "rtos-demo: 2.0.0 confirmed by hv-core") != NULL, "%s", out);
	consistent("2.0.0", "2.0.0", "2.0.0", "after the repeated install");
}

/* Waits (bounded) for hv-agent-test to end on its own at a cut point; its
 * exit status (86 for the cut), or agent_stop's when it did not end. */
static int cut_exit(void)
{
	int status;
	for (int i = 0; i < 3000; i++) { /* up to 60 s on a loaded machine */
		if (waitpid(agent.pid, &status, WNOHANG) == agent.pid) {
			agent.pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		nap_ms(20);
	}
	return agent_stop(&agent);
}

/* OTA-210 under QEMU: hv-agent-test read hv-core's "confirmed" event of
 * 2.0.0 and was cut before writing its row (ota.event-read:confirmed, OTA-212);
 * hv-core runs on and still holds the event in its ring (hv-agent had not
 * acknowledged it): the restarted hv-agent writes it, once, and the trial's
 * row, written before the cut, stays one. */
Test(ota_cut, a_confirmation_read_but_not_audited_at_a_cut_is_audited_once_after_it)
{
	cr_assert_eq(agent_stop(&agent), 0);
	cut_agent_start("ota.event-read:confirmed");
	/* its end races the cut: either */
	HV("ota", "install", "--window-ms", "1000", "--timeout-ms", "60000", bundle[2]);
	cr_assert_eq(cut_exit(), 86, "hv-agent-test did not cut at ota.event-read:confirmed");
	cut_agent_start(NULL);
	int n = 0;
	for (int i = 0; i < 240 && (n = core_ota_rows("confirmed")) < 1; i++)
		nap_ms(250);
	cr_expect_eq(n, 1, "the confirmation was audited %d times", n);
	cr_expect_eq(core_ota_rows("trial"), 1);
	cr_expect_eq(core_ota_rows("installed"), 1);
	consistent("2.0.0", "2.0.0", "2.0.0", "after the cut between reading and auditing");
}

/* A --when-allowed switch queued while driving, then the cut: hv-core comes
 * back parked (its boot configuration), and the restarted hv-agent runs the
 * queued switch from its store; 2.0.0 is confirmed. */
Test(ota_cut, a_queued_switch_survives_a_cut_and_runs_after_it)
{
	cr_assert_eq(HV("vehicle", "set", "driving"), OK, "%s", err);
	cr_assert_eq(HV("ota", "install", "--when-allowed", "--window-ms", "1000", bundle[2]), OK,
		     "%s\n%s", out, err);
	cr_expect(strstr(out, "waits for the safety policy") != NULL, "%s", out);
	cut();
	cut_start();
	int confirmed = 0;
	for (int i = 0; i < 240 && !confirmed; i++) {
		if (HV("ota", "status", "rtos-demo", "--json") == OK) {
			json_t *j = parse_json(out);
			const char *act = !strcmp(jstr(j, "active", NULL), "B") ? "slot_b" : "slot_a";
			confirmed = !strcmp(jstr(j, "last_result", NULL), "confirmed") &&
				    !strcmp(jstr(j, act, "version"), "2.0.0");
			json_decref(j);
		}
		if (!confirmed)
			nap_ms(500);
	}
	cr_expect(confirmed, "the queued switch did not run after the cut: %s", out);
	consistent("2.0.0", "2.0.0", "2.0.0", "after the queued switch");
	cr_assert_eq(HV("pending", "--all", "--json"), OK, "%s", err);
	cr_expect(strstr(out, "\"done\"") != NULL, "%s", out);
}

/* A cut during hv-core's boot-time rollback (MGMT-624): the trial of the
 * broken 3.0.0 is cut with hv-agent; hv-core, booting on the same flash,
 * ends the trial in the previous slot and is cut while it stores that
 * (point 5 of the boot: the boot count's record takes points 1..3, the
 * rollback's 4..6; 5 is after the first half of the rollback's record;
 * hvcore-test.bin's cut words, MGMT-604, placed before boot by a QEMU
 * loader). The next boot ends the trial again from the older record: 2.0.0
 * runs, 3.0.0's slot is bad, the floor stays. */
Test(ota_cut, a_cut_during_hv_cores_boot_time_rollback_ends_in_the_old_version)
{
	cr_assert_eq(HV("ota", "install", "--window-ms", "1000", "--timeout-ms", "60000", bundle[2]),
		     OK, "%s\n%s", out, err);
	cr_assert_eq(HV("ota", "install", "--no-follow", "--window-ms", "5000", "--timeout-ms",
			"60000", bundle[3]),
		     OK, "%s\n%s", out, err);
	int trial = 0;
	for (int i = 0; i < 240 && !trial; i++) {
		char *log = read_file_text(q.serial);
		trial = log && strstr(log, "(3.0.0) booted in trial");
		free(log);
		if (!trial)
			nap_ms(250);
	}
	cr_assert(trial, "3.0.0 never began its trial");
	cut();

	/* hv-core alone, cut at point 5 of its boot: it never becomes READY */
	static char image[300];
	snprintf(image, sizeof image, "%s/hvcore-test.bin", agent_stack_core_dir());
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.extra[0] = "--nvram";
	o.extra[1] = nvram;
	o.extra[2] = "--hv-image";
	o.extra[3] = image;
	o.extra[4] = "--qemu-arg";
	o.extra[5] = "-device";
	o.extra[6] = "--qemu-arg";
	o.extra[7] = "loader,addr=0x41fff020,data=0x000000055443564e,data-len=8";
	int rc = hvq_start(&q, &o);
	cr_assert_neq(rc, 0, "hv-core became READY: the cut point was not reached");
	/* the serial log's tail, in q.err */
	cr_assert(strstr(q.err, "power cut at point 5") != NULL, "%s", q.err);

	cut_start();
	consistent("2.0.0", "2.0.0", "2.0.0", "a cut during the boot-time rollback");
	cr_assert_eq(HV("ota", "status", "rtos-demo", "--json"), OK, "%s", err);
	json_t *j = parse_json(out);
	const char *act = !strcmp(jstr(j, "active", NULL), "B") ? "slot_b" : "slot_a";
	const char *other = !strcmp(act, "slot_b") ? "slot_a" : "slot_b";
	cr_expect_str_eq(jstr(j, act, "version"), "2.0.0");
	cr_expect_str_eq(jstr(j, other, "version"), "3.0.0");
	cr_expect_str_eq(jstr(j, other, "state"), "bad");
	cr_expect_str_eq(jstr(j, "last_result", NULL), "fail-reset");
	json_decref(j);
}

/* Cuts hv-agent-test at cut_at during an install of bundle b (its end
 * races the cut: either), then QEMU; both start again on the same files. */
static void cut_both_at(const char *cut_at, const char *b, const char *stop_after)
{
	cr_assert_eq(agent_stop(&agent), 0);
	cut_agent_start(cut_at);
	if (stop_after)
		HV("ota", "install", "--stop-after", stop_after, "--retries", "0", b);
	else
		HV("ota", "install", "--no-follow", "--window-ms", "1000", "--timeout-ms", "60000",
		   b);
	cr_assert_eq(cut_exit(), 86, "hv-agent-test did not cut at %s", cut_at);
	hvq_stop(&q);
	cut_start();
}

/* The repeated install of 2.0.0 completes the update, with note on stderr. */
static void completes(const char *note)
{
	cr_assert_eq(HV("ota", "install", "--window-ms", "1000", "--timeout-ms", "60000", bundle[2]),
		     OK, "%s\n%s", out, err);
	cr_expect(strstr(err, note) != NULL, "%s", err);
	cr_expect(strstr(out, "rtos-demo: 2.0.0 confirmed by hv-core") != NULL, "%s", out);
	consistent("2.0.0", "2.0.0", "2.0.0", "after the repeated install");
}

/* OTA-212 ota.after-part-sync with QEMU: an upload stopped after 2000
 * bytes, synced, its length recorded, then the cut. The factory image runs,
 * and the upload resumes at the recorded length. */
Test(ota_cut, a_cut_after_a_synced_part_resumes_the_upload_with_qemu)
{
	cut_both_at("ota.after-part-sync", bundle[2], "2000");
	consistent("rtos-demo 1.0.0", "rtos-demo 1.0.0", "", "a cut after a synced part");
	completes("resuming the upload at byte 2000 ");
}

/* OTA-212 ota.after-upload with QEMU: the bundle verified and kept, the
 * client not answered. Nothing was installed; the repeated install uploads
 * nothing ("already holds") and is confirmed. */
Test(ota_cut, a_cut_after_the_upload_keeps_the_bundle_with_qemu)
{
	cut_both_at("ota.after-upload", bundle[2], NULL);
	consistent("rtos-demo 1.0.0", "rtos-demo 1.0.0", "", "a cut after the upload");
	cr_assert_eq(HV("ota", "history", "--json"), OK, "%s", err);
	cr_expect(strstr(out, "vm=name:rtos-demo version=2.0.0 size=") == NULL,
		  "an install before the cut: %s", out);
	completes("already holds");
}

/* OTA-212 ota.before-switch:VM with QEMU: hv-core holds the image, the
 * switch not sent. Nothing is switched on its own: the factory image runs,
 * no row of a switch; the repeated install completes the update. */
Test(ota_cut, a_cut_before_the_switch_switches_nothing_with_qemu)
{
	cut_both_at("ota.before-switch:rtos-demo", bundle[2], NULL);
	consistent("rtos-demo 1.0.0", "rtos-demo 1.0.0", "", "a cut before the switch");
	cr_assert_eq(HV("ota", "history", "--json"), OK, "%s", err);
	cr_expect(strstr(out, "vm=name:rtos-demo version=2.0.0 size=") != NULL, "%s", out);
	cr_expect(strstr(out, "vm=name:rtos-demo version=2.0.0 window_ms=") == NULL,
		  "a row of a switch: %s", out);
	completes("already holds");
}

/* OTA-212 ota.event-audited:confirmed with QEMU: the row of hv-core's
 * "confirmed" written, STATE/ota/events-audited not, then the cut. 2.0.0
 * runs confirmed, and each event of the update is audited once. */
Test(ota_cut, an_event_audited_at_a_cut_with_qemu_is_audited_once)
{
	cut_both_at("ota.event-audited:confirmed", bundle[2], NULL);
	consistent("2.0.0", "2.0.0", "2.0.0", "a cut after auditing the confirmation");
	cr_assert_eq(HV("ota", "status", "rtos-demo", "--json"), OK, "%s", err);
	json_t *j = parse_json(out);
	cr_expect_str_eq(jstr(j, "last_result", NULL), "confirmed");
	json_decref(j);
	cr_expect_eq(core_ota_rows("confirmed"), 1);
	cr_expect_eq(core_ota_rows("trial"), 1);
	cr_expect_eq(core_ota_rows("installed"), 1);
}
