/*
 * agent_ota.c - OTA through hv-agent and hvctl (docs/ota.md "hv-agent"):
 * the real daemon and the real hvctl against the test double of hv-core with
 * its OTA commands on (tests/double/hvcore_double.h), so the agent's side is
 * tested without QEMU: upload with resume, the caps, the minimum rate, a
 * refused bundle leaving nothing installed, install, the trial followed to
 * its end, status, events and history. The real hv-core's side of the same
 * flow is hvctl_ota_stack.c.
 *
 * Every test runs in a fresh directory and stops hv-agent with SIGTERM.
 * Waits are bounded; nothing asserts a duration.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "agent_harness.h"
#include "shell_testlib.h"
#include "fleet_broker.h"
#include "hvcore_double.h"

static char dir[64], ram[128], rw_uri[256], ca[160], fetch_ca[160];
static pid_t servers[3];
static const char *agent_args[16];
static struct fakecore *fc;
static struct agent_proc agent;
static char *out, *err;
/* the fleet link (one test): a real Mosquitto broker with the fleet PKI */
static struct fleet_broker broker;
static int with_broker;
static char fleet_url[64];
#define VEHICLE "test-car"

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

static void start(bool trials_fail, const char *const *extra)
{
	const char **args = agent_args;
	int n = 0;
	args[n++] = "--cmd-timeout-ms";
	args[n++] = "5000";
	args[n++] = "--ota-ca";
	args[n++] = ca;
	args[n++] = "--ota-fetch-ca"; /* OtaFetch's HTTPS servers: the test PKI's server pair */
	args[n++] = fetch_ca;
	for (int i = 0; extra && extra[i] && n < 15; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	snprintf(dir, sizeof dir, "/tmp/agent-ota-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(ram, sizeof ram, "%s/guest-ram", dir);
	snprintf(rw_uri, sizeof rw_uri, "unix://%s/hv-agent.sock", dir);
	snprintf(ca, sizeof ca, "%s/pki/update-ca.crt", dir);
	snprintf(fetch_ca, sizeof fetch_ca, "%s/pki/ca.crt", dir);
	fc = fakecore_create(ram, FAKECORE_RAM_BASE, HVM_DEFAULT_BASE);
	cr_assert_not_null(fc);
	fakecore_set_vm(fc, 0, &vm_rtos);
	fakecore_ota(fc, true, trials_fail);
	fakecore_live_guests(fc, true);
	cr_assert_eq(fakecore_start(fc), 0);
	/* the update PKI and a 2.0.0 and a 1.0.0 bundle of a 600 KiB image */
	cr_assert_eq(test_sh(dir,
			     "$HVCTL pki init --dir pki && head -c 614400 /dev/urandom > img && "
			     "$HVCTL ota bundle --key pki/update-signer.key --cert pki/update-signer.crt "
			     "-o v2.hvota rtos-demo=img@2.0.0 && "
			     "$HVCTL ota bundle --key pki/update-signer.key --cert pki/update-signer.crt "
			     "-o v1.hvota rtos-demo=img@1.0.0"),
		     0);
	if (with_broker) {
		char pki[128];
		snprintf(pki, sizeof pki, "%s/pki", dir);
		cr_assert_eq(test_sh(dir, "$HVCTL pki fleet-init --dir pki --vehicle " VEHICLE), 0);
		cr_assert_eq(fleet_broker_start(&broker, dir, pki, 0), 0, "%s", broker.err);
		snprintf(fleet_url, sizeof fleet_url, "mqtts://127.0.0.1:%d", broker.port);
	}
	cr_assert_eq(agent_start(&agent, dir, args), 0, "%s", agent.err);
}

static void setup(void)
{
	out = err = NULL;
	fc = NULL;
	memset(&agent, 0, sizeof agent);
	memset(&broker, 0, sizeof broker);
	dir[0] = '\0';
}

static void teardown(void)
{
	for (int i = 0; i < 3; i++)
		if (servers[i] > 0) {
			kill(servers[i], SIGTERM);
			waitpid(servers[i], NULL, 0);
			servers[i] = 0;
		}
	int rc = agent_stop(&agent);
	if (with_broker)
		fleet_broker_stop(&broker);
	with_broker = 0;
	if (agent.pid || rc >= 0) {
		char *log = read_file_text(agent.log);
		cr_expect(rc == 0 || rc == -1, "hv-agent exit status %d; log:\n%s", rc,
			  log ? log : "");
		free(log);
	}
	fakecore_destroy(fc);
	free(out);
	free(err);
	if (dir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		cr_expect_eq(system(cmd), 0);
	}
}

#define HVCTL(...) hvctl_run((const char *const[]){ "--connect", rw_uri, __VA_ARGS__, NULL })

static int hvctl_run(const char *const *args)
{
	free(out);
	free(err);
	return run_hvctl(args, &out, &err);
}

static char *path_in_dir(const char *name)
{
	static char p[4][192];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
	return p[k];
}

/* ota status rtos-demo --json, parsed. */
static json_t *status_json(void)
{
	cr_assert_eq(HVCTL("ota", "status", "rtos-demo", "--json"), 0, "%s", err);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	cr_assert_not_null(j, "not JSON: %s\n%s", je.text, out);
	return j;
}

static const char *jpath(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(j, a);
	if (b)
		v = json_object_get(v, b);
	return json_string_value(v) ? json_string_value(v) : "(none)";
}

TestSuite(agent_ota, .init = setup, .fini = teardown, .timeout = 240);

Test(agent_ota, a_bundle_installs_is_confirmed_and_shows_in_status_get_vm_and_history)
{
	start(false, NULL);
	json_t *j = status_json();
	cr_expect_str_eq(jpath(j, "active", NULL), "A");
	cr_expect_str_eq(jpath(j, "slot_a", "version"), "1.0.0");
	cr_expect_str_eq(jpath(j, "slot_b", "state"), "empty");
	json_decref(j);

	cr_assert_eq(HVCTL("ota", "install", path_in_dir("v2.hvota")), 0, "%s\n%s", out, err);
	cr_expect(strstr(out, "rtos-demo: 2.0.0 installed, switched") != NULL, "%s", out);
	cr_expect(strstr(out, "rtos-demo: 2.0.0 confirmed by hv-core (slot B active, floor 2.0.0)"),
		  "%s", out);
	j = status_json();
	cr_expect_str_eq(jpath(j, "active", NULL), "B");
	cr_expect_str_eq(jpath(j, "slot_b", "version"), "2.0.0");
	cr_expect_str_eq(jpath(j, "slot_b", "state"), "good");
	cr_expect_str_eq(jpath(j, "last_result", NULL), "confirmed");
	cr_expect_str_eq(jpath(j, "floor", NULL), "2.0.0");
	json_decref(j);
	cr_assert_eq(HVCTL("ota", "status"), 0, "%s", err);
	cr_expect(strstr(out, "rtos-demo") && strstr(out, "2.0.0 (good)"), "%s", out);
	/* GetVm with_ota, as dominfo shows it */
	cr_assert_eq(HVCTL("dominfo", "rtos-demo"), 0, "%s", err);
	cr_expect(strstr(out, "OTA slots:      B active: A 1.0.0 good, B 2.0.0 good; floor 2.0.0; "
			      "confirmed\n"),
		  "%s", out);

	/* the same bundle again: stored already, installed again above the floor */
	cr_assert_eq(HVCTL("ota", "install", "--no-follow", path_in_dir("v2.hvota")), 0, "%s", err);
	cr_expect(strstr(err, "already holds") != NULL, "%s", err);

	/* a lower version than the floor: hv-core's E_ROLLBACK, named */
	cr_expect_eq(HVCTL("ota", "install", path_in_dir("v1.hvota")), 1, "%s", out);
	cr_expect(strstr(err, "(E_ROLLBACK)") && strstr(err, "below the floor"), "%s", err);

	/* the steps in the audit log, hv-core's own among them */
	for (int i = 0; i < 50; i++) {
		cr_assert_eq(HVCTL("ota", "history"), 0, "%s", err);
		if (strstr(out, "hv-core.ota"))
			break;
		usleep(100000);
	}
	cr_expect(strstr(out, "OtaUpload") && strstr(out, "OtaInstall.install") &&
			  strstr(out, "OtaInstall.switch") && strstr(out, "event=confirmed"),
		  "%s", out);
	cr_assert_eq(HVCTL("ota", "history", "--json"), 0, "%s", err);
	json_t *h = json_loads(out, 0, NULL);
	cr_assert(json_is_array(h) && json_array_size(h) >= 4, "%s", out);
	json_decref(h);
}

/* MGMT-663: a bundle's line `VM.initrd` is VM's initrd: hv-agent installs it
 * with OTA_INSTALL arg[3] = 1 into the VM's initrd slot (the test double of
 * hv-core keeps it apart from the image slots) and switches it with the
 * image, not as a second VM; the history names it. An initrd of a VM that is
 * not defined installs nothing. */
Test(agent_ota, a_vm_initrd_line_is_installed_into_the_initrd_slot_and_switched_with_its_image)
{
	start(false, NULL);
	/* other.hvota, installed first, is signed first: the newest signed
	 * time hv-agent has seen is a floor (OTA-041), and rd.hvota signed a
	 * second before it would be refused as a replay */
	cr_assert_eq(test_sh(dir,
			     "head -c 300000 /dev/urandom > rd && "
			     "$HVCTL ota bundle --key pki/update-signer.key --cert pki/update-signer.crt "
			     "-o other.hvota rtos-demo=img@2.0.0 nosuch.initrd=rd@2.0.0 && "
			     "$HVCTL ota bundle --key pki/update-signer.key --cert pki/update-signer.crt "
			     "-o rd.hvota rtos-demo=img@2.0.0 rtos-demo.initrd=rd@2.0.0"),
		     0);
	cr_expect_neq(HVCTL("ota", "install", path_in_dir("other.hvota")), 0, "%s", out);
	cr_expect(strstr(err, "nosuch") != NULL, "%s", err);
	json_t *j = status_json();
	cr_expect_str_eq(jpath(j, "slot_b", "state"), "empty");
	json_decref(j);

	cr_assert_eq(HVCTL("ota", "install", path_in_dir("rd.hvota")), 0, "%s\n%s", out, err);
	cr_expect(strstr(out, "rtos-demo: 2.0.0 installed, switched") != NULL, "%s", out);
	cr_expect(strstr(out, "rtos-demo.initrd: 2.0.0 installed into the initrd slot, switched "
			      "with its image\n"),
		  "%s", out);
	cr_expect(strstr(out, "rtos-demo: 2.0.0 confirmed by hv-core (slot B active"), "%s", out);
	struct hvm_ota_slot rd;
	cr_assert_eq(fakecore_ota_initrd(fc, 0, 1, &rd), 0);
	cr_expect_eq(rd.state, HVM_SLOT_GOOD);
	cr_expect_eq(rd.size, 300000u);
	cr_expect_str_eq(rd.version, "2.0.0");
	j = status_json();
	cr_expect_str_eq(jpath(j, "slot_b", "state"), "good");
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "slot_b"), "size")),
		     614400);
	/* MGMT-665: the initrd slots in the status */
	cr_expect_str_eq(jpath(j, "initrd_b", "state"), "good");
	cr_expect_str_eq(jpath(j, "initrd_b", "version"), "2.0.0");
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "initrd_b"), "size")),
		     300000);
	json_decref(j);
	cr_assert_eq(HVCTL("ota", "history"), 0, "%s", err);
	cr_expect(strstr(out, "vm=name:rtos-demo kind=initrd version=2.0.0 size=300000") != NULL,
		  "%s", out);
}

/* MGMT-613 in /metrics (docs/telemetry.md): the feeder reads each VM's A/B
 * slots with GET_STATS, and a scrape shows them from memory. */
Test(agent_ota, the_slots_show_in_the_metrics)
{
	char listen[32];
	int port = loopback_port();
	cr_assert_gt(port, 0);
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	const char *extra[] = { "--metrics-listen", listen, "--metrics-interval-ms", "100", NULL };
	start(false, extra);
	cr_assert_eq(HVCTL("ota", "install", path_in_dir("v2.hvota")), 0, "%s\n%s", out, err);
	/* the first scrape marks the registry read; a later sample has the slots */
	int seen = 0;
	for (int i = 0; i < 100 && !seen; i++) {
		seen = test_sh(dir,
			       "exec 3<>/dev/tcp/127.0.0.1/%d && printf \"GET /metrics HTTP/1.0\\r\\n\\r\\n\" "
			       ">&3 && cat <&3 > metrics.txt && grep -q \"^hv_vm_ota_slot_info{name=\\\"rtos-demo\\\""
			       ".*slot=\\\"B\\\",state=\\\"good\\\",version=\\\"2.0.0\\\"} 1\" metrics.txt",
			       port) == 0;
		if (!seen)
			usleep(100000);
	}
	cr_assert(seen, "no slot B good 2.0.0 in the metrics");
	cr_expect_eq(test_sh(dir, "grep -q \"^hv_vm_ota_active_slot{name=\\\"rtos-demo\\\".*slot=\\\"B\\\"} 1\" "
				  "metrics.txt"),
		     0, "no active slot B in the metrics");
	cr_expect_eq(test_sh(dir,
			     "grep -q \"^hv_vm_ota_in_trial{name=\\\"rtos-demo\\\".*} 0\" metrics.txt"),
		     0, "no trial gauge in the metrics");
	cr_expect_eq(test_sh(dir, "grep -q \"^hv_vm_ota_info{name=\\\"rtos-demo\\\".*last_result=\\\"confirmed\\\","
				  "floor=\\\"2.0.0\\\"} 1\" metrics.txt"),
		     0, "no last result or floor in the metrics");
}

/* The same slots on WatchHealth (docs/telemetry.md): the independent Python
 * client follows the stream in on-change mode while a bundle is installed,
 * tried and confirmed; the update of the confirmation (cause OTA) carries the
 * slots, and they equal what a scrape of /metrics shows. */
Test(agent_ota, watch_health_carries_the_slots_as_the_metrics_show_them)
{
	char listen[32], port_s[8], work[192], marker[192], wout[192], *text;
	int port = loopback_port(), status = -1;
	cr_assert_gt(port, 0);
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	snprintf(port_s, sizeof port_s, "%d", port);
	const char *extra[] = { "--metrics-listen", listen, "--metrics-interval-ms", "100", NULL };
	start(false, extra);
	snprintf(work, sizeof work, "%s/py", dir);
	snprintf(marker, sizeof marker, "%s/py/open", dir);
	snprintf(wout, sizeof wout, "%s/watch.out", dir);
	cr_assert_eq(mkdir(work, 0755), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(wout, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(HV_PYTHON3, HV_PYTHON3,
		      HV_SOURCE_DIR "/tests/integration/agent_python_health_ota.py",
		      HV_SOURCE_DIR "/proto", work, agent.sock, "rtos-demo", marker, port_s,
		      "2.0.0", (char *)NULL);
		_exit(127);
	}
	servers[0] = pid; /* teardown stops it if the test ends early */
	bool open_ = false, exited = false;
	for (int i = 0; i < 3000 && !open_ && !exited; i++) {
		open_ = access(marker, F_OK) == 0;
		exited = !open_ && waitpid(pid, &status, WNOHANG) == pid;
		if (!open_ && !exited)
			usleep(20000);
	}
	if (exited)
		servers[0] = 0;
	text = read_file_text(wout);
	cr_assert(open_, "the Python client never received an update:\n%s", text ? text : "");
	free(text);
	cr_assert_eq(HVCTL("ota", "install", path_in_dir("v2.hvota")), 0, "%s\n%s", out, err);
	for (int i = 0; i < 3000 && !exited; i++) {
		exited = waitpid(pid, &status, WNOHANG) == pid;
		if (!exited)
			usleep(20000);
	}
	if (exited)
		servers[0] = 0;
	text = read_file_text(wout);
	cr_expect(exited && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the Python client did not end with ok:\n%s", text ? text : "");
	cr_expect(text && strstr(text, "CAUSE_OTA") && strstr(text, "\nok\n"), "%s",
		  text ? text : "");
	free(text);
}

Test(agent_ota, a_failed_trial_ends_with_exit_1_and_the_old_slot_active)
{
	start(true, NULL);
	cr_expect_eq(HVCTL("ota", "install", path_in_dir("v2.hvota")), 1, "%s\n%s", out, err);
	cr_expect(strstr(out, "the trial of 2.0.0 failed (fail-timeout); hv-core runs 1.0.0 again "
			      "(slot A)"),
		  "%s", out);
	json_t *j = status_json();
	cr_expect_str_eq(jpath(j, "active", NULL), "A");
	cr_expect_str_eq(jpath(j, "slot_b", "state"), "bad");
	json_decref(j);
}

Test(agent_ota, an_upload_cut_in_the_middle_resumes_from_the_stored_offset)
{
	start(false, NULL);
	cr_expect_eq(HVCTL("ota", "install", "--stop-after", "300000", path_in_dir("v2.hvota")), 1,
		     "%s", err);
	cr_expect(strstr(err, "the stream ended at byte 300000") != NULL, "%s", err);
	struct stat sb;
	cr_assert_eq(system("true"), 0);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "test $(stat -c %%a %s/ota/*.part) = 600", dir);
	cr_expect_eq(system(cmd), 0, "the stored part is not mode 0600");
	cr_assert_eq(HVCTL("ota", "install", "--upload-only", path_in_dir("v2.hvota")), 0, "%s\n%s",
		     out, err);
	cr_expect(strstr(err, "resuming the upload at byte 300000") != NULL, "%s", err);
	cr_expect(strstr(out, "stored and verified by hv-agent") != NULL, "%s", out);
	json_t *j = status_json();
	cr_expect_str_eq(jpath(j, "slot_b", "state"), "empty"); /* uploaded, not installed */
	json_decref(j);
	cr_assert_eq(HVCTL("ota", "install", path_in_dir("v2.hvota")), 0, "%s\n%s", out, err);
	cr_expect(strstr(err, "already holds") != NULL, "%s", err);
	cr_expect(strstr(out, "2.0.0 confirmed") != NULL, "%s", out);
	cr_expect_eq(stat(path_in_dir("ota"), &sb), 0);
}

Test(agent_ota, a_bundle_over_the_cap_is_refused_before_anything_is_stored)
{
	static const char *const extra[] = { "--ota-max-bytes", "100000", NULL };
	start(false, extra);
	cr_expect_eq(HVCTL("ota", "install", path_in_dir("v2.hvota")), 1, "%s", err);
	cr_expect(strstr(err, "too-large") && strstr(err, "--ota-max-bytes"), "%s", err);
	json_t *j = status_json();
	cr_expect_str_eq(jpath(j, "slot_b", "state"), "empty");
	json_decref(j);
}

Test(agent_ota, a_too_slow_sender_is_refused)
{
	static const char *const extra[] = { "--ota-min-rate", "200000", "--ota-rate-window-ms",
					     "1000", NULL };
	start(false, extra);
	cr_expect_eq(HVCTL("ota", "install", "--rate", "20000", "--retries", "0",
			   path_in_dir("v2.hvota")),
		     1, "%s", err);
	cr_expect(strstr(err, "below the minimum rate") && strstr(err, "--ota-min-rate"), "%s", err);
	cr_expect(strstr(err, "[DEADLINE_EXCEEDED]") != NULL, "%s", err);
	json_t *j = status_json();
	cr_expect_str_eq(jpath(j, "slot_b", "state"), "empty");
	json_decref(j);
}

Test(agent_ota, a_changed_payload_byte_is_refused_and_changes_no_slot)
{
	start(false, NULL);
	/* one byte in the middle of the image */
	cr_assert_eq(test_sh(dir, "printf \"\\\\x55\" | dd of=v2.hvota bs=1 seek=400000 conv=notrunc "
				  "status=none"),
		     0);
	cr_expect_eq(HVCTL("ota", "install", path_in_dir("v2.hvota")), 1, "%s", err);
	cr_expect(strstr(err, "bundle refused (payload-digest)") != NULL, "%s", err);
	json_t *j = status_json();
	cr_expect_str_eq(jpath(j, "active", NULL), "A");
	cr_expect_str_eq(jpath(j, "slot_b", "state"), "empty");
	json_decref(j);
	/* nothing kept: a new upload starts from 0 */
	cr_expect_eq(test_sh(dir, "ls ota/*.part ota/*.hvota"), 2, "a refused bundle was kept");
	/* a bundle signed by a key of another CA */
	cr_assert_eq(test_sh(dir, "$HVCTL pki init --dir other && "
				  "$HVCTL ota bundle --key other/update-signer.key --cert "
				  "other/update-signer.crt -o foreign.hvota rtos-demo=img@2.0.0"),
		     0);
	cr_expect_eq(HVCTL("ota", "install", path_in_dir("foreign.hvota")), 1, "%s", err);
	cr_expect(strstr(err, "bundle refused (untrusted-signer)") != NULL, "%s", err);
	/* truncated, or a byte appended: not the size the manifest declares */
	cr_assert_eq(test_sh(dir, "head -c 500000 foreign.hvota > trunc.hvota && cp foreign.hvota long.hvota "
				  "&& printf x >> long.hvota"),
		     0);
	cr_expect_eq(HVCTL("ota", "install", path_in_dir("trunc.hvota")), 1, "%s", err);
	cr_expect(strstr(err, "bytes the manifest declares") != NULL, "%s", err);
	cr_expect_eq(HVCTL("ota", "install", path_in_dir("long.hvota")), 1, "%s", err);
	cr_expect(strstr(err, "bytes the manifest declares") != NULL, "%s", err);
	/* no file, no bundle */
	cr_expect_eq(HVCTL("ota", "install", path_in_dir("missing.hvota")), 4, "%s", err);
	cr_expect_eq(HVCTL("ota", "install", path_in_dir("img")), 1, "%s", err);
	cr_expect(strstr(err, "not an OTA bundle") != NULL, "%s", err);
	cr_expect_eq(HVCTL("ota", "install"), 2, "%s", err);
}

/* The durable length hv-agent recorded for the one upload in its directory. */
static unsigned long long recorded_len(void)
{
	char cmd[256], buf[64] = "";
	snprintf(cmd, sizeof cmd, "cat %s/ota/*.len 2>/dev/null", dir);
	FILE *p = popen(cmd, "r");
	if (p) {
		if (!fgets(buf, sizeof buf, p))
			buf[0] = '\0';
		pclose(p);
	}
	return strtoull(buf, NULL, 10);
}

Test(agent_ota, an_upload_resumes_after_hv_agent_was_killed_from_what_reached_the_disk)
{
	start(false, NULL);
	/* 12 MiB: more than one 4 MiB sync; sent at 2 MB/s in the background */
	cr_assert_eq(test_sh(dir,
			     "head -c 12582912 /dev/urandom > big && $HVCTL ota bundle --key "
			     "pki/update-signer.key --cert pki/update-signer.crt -o big.hvota "
			     "rtos-demo=big@2.0.0 && ($HVCTL --connect unix://%s/hv-agent.sock ota install "
			     "--upload-only --retries 0 --rate 2000000 big.hvota > bg.out 2>&1; echo "
			     "exit=$? >> bg.out) &",
			     dir),
		     0);
	unsigned long long seen = 0;
	for (int i = 0; i < 600 && (seen = recorded_len()) < 4194304ull; i++)
		usleep(50000);
	cr_assert_geq(seen, 4194304ull, "no 4 MiB were synced");
	kill(agent.pid, SIGKILL); /* as a power cut: no clean-up */
	cr_expect_eq(agent_stop(&agent), 128 + SIGKILL);
	char *bg = NULL;
	for (int i = 0; i < 600; i++) {
		free(bg);
		bg = read_file_text(path_in_dir("bg.out"));
		if (bg && strstr(bg, "exit="))
			break;
		usleep(50000);
	}
	cr_assert(bg && strstr(bg, "exit=1"), "the cut upload: %s", bg ? bg : "(no output)");
	free(bg);
	unsigned long long durable = recorded_len();
	cr_assert_geq(durable, seen);

	/* the killed agent's sockets are still there: agent_start waits for new ones */
	unlink(agent.sock);
	unlink(agent.ro_sock);
	cr_assert_eq(agent_start(&agent, dir, agent_args), 0, "%s", agent.err);
	cr_assert_eq(HVCTL("ota", "install", "--upload-only", path_in_dir("big.hvota")), 0,
		     "%s\n%s", out, err);
	char want[96];
	snprintf(want, sizeof want, "resuming the upload at byte %llu of", durable);
	cr_expect(strstr(err, want) != NULL, "want '%s': %s", want, err);
	cr_expect(strstr(out, "stored and verified by hv-agent") != NULL, "%s", out);
}

/* Serves dir/FILE over HTTPS at URL (tests/unit/fleet_fetch_server.py with
 * the test PKI's server pair, which names 127.0.0.1); drop_after >= 0 cuts
 * the first answer after that many bytes. Requests are logged to dir/LOG. */
static void serve(int k, const char *file, const char *log, long drop_after, char *url, size_t url_len)
{
	char crt[192], key[192], path[192], logp[192], drop[24];
	snprintf(crt, sizeof crt, "%s/pki/server.crt", dir);
	snprintf(key, sizeof key, "%s/pki/server.key", dir);
	snprintf(path, sizeof path, "%s/%s", dir, file);
	snprintf(logp, sizeof logp, "%s/%s", dir, log);
	snprintf(drop, sizeof drop, "%ld", drop_after);
	const char *argv[] = { HV_PYTHON3,
			       HV_FETCH_SERVER,
			       crt,
			       key,
			       path,
			       logp,
			       drop_after >= 0 ? "--drop-after" : NULL,
			       drop,
			       NULL };
	int p[2];
	cr_assert_eq(pipe(p), 0);
	servers[k] = fork();
	cr_assert_geq(servers[k], 0);
	if (servers[k] == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	FILE *f = fdopen(p[0], "r");
	int port = 0;
	cr_assert_eq(fscanf(f, "%d", &port), 1, "the HTTPS server did not start");
	fclose(f);
	snprintf(url, url_len, "https://127.0.0.1:%d/bundle", port);
}

/* docs/fleet.md "OTA over the link": hv-agent fetches the bundle itself
 * (OtaFetch), resumes after a dropped connection, and stores it only when it
 * is the bundle the caller named and verifies; then it installs like an
 * uploaded one. A file that is not the one named is refused and not kept. */
Test(agent_ota, hv_agent_fetches_a_bundle_from_an_https_url_resumes_and_installs_it)
{
	char url[128], url1[128], url2[128];
	start(false, NULL);
	cr_assert_eq(test_sh(dir, "$HVCTL pki init --dir other && $HVCTL ota bundle --key "
				  "other/update-signer.key --cert other/update-signer.crt -o foreign.hvota "
				  "rtos-demo=img@2.0.0"),
		     0);
	serve(0, "v2.hvota", "fetch.log", 200000, url, sizeof url);
	serve(1, "v1.hvota", "fetch1.log", -1, url1, sizeof url1);
	serve(2, "foreign.hvota", "fetch2.log", -1, url2, sizeof url2);

	/* the file at url1 is not v2.hvota: refused by its digest, nothing kept */
	cr_expect_eq(HVCTL("ota", "install", "--url", url1, path_in_dir("v2.hvota")), 1, "%s\n%s",
		     out, err);
	cr_expect(strstr(err, "DATA_LOSS") || strstr(err, "digest"), "%s", err);
	cr_expect_eq(test_sh(dir, "ls ota/*.hvota"), 2, "a refused fetch was kept");
	/* the very file named, but signed by a key of another CA: fetched,
	 * refused by the verification, deleted */
	cr_expect_eq(HVCTL("ota", "install", "--url", url2, path_in_dir("foreign.hvota")), 1, "%s",
		     err);
	cr_expect(strstr(err, "bundle refused (untrusted-signer)") != NULL, "%s", err);
	cr_expect_eq(test_sh(dir, "ls ota/*.hvota ota/*.fetch"), 2, "a refused fetch was kept");
	/* not https */
	cr_expect_eq(HVCTL("ota", "install", "--url", "http://127.0.0.1:1/x", path_in_dir("v2.hvota")),
		     1, "%s", err);
	cr_expect(strstr(err, "https") != NULL, "%s", err);

	/* the first answer is cut after 200,000 bytes: resumed with a range */
	cr_assert_eq(HVCTL("ota", "install", "--url", url, path_in_dir("v2.hvota")), 0, "%s\n%s",
		     out, err);
	cr_expect(strstr(out, "fetched by hv-agent from") != NULL, "%s", out);
	cr_expect(strstr(out, "rtos-demo: 2.0.0 confirmed by hv-core"), "%s", out);
	cr_expect_eq(test_sh(dir, "grep -q 'bytes=200000-' fetch.log"), 0,
		     "no resumed range request");
	cr_expect_eq(test_sh(dir, "ls ota/*.hvota"), 0, "the fetched bundle is not stored");
	json_t *j = status_json();
	cr_expect_str_eq(jpath(j, "slot_b", "version"), "2.0.0");
	json_decref(j);
	/* asked again (a campaign's retry): the stored bundle answers, no download */
	cr_assert_eq(HVCTL("ota", "install", "--upload-only", "--url", url, path_in_dir("v2.hvota")),
		     0, "%s\n%s", out, err);
	cr_expect(strstr(out, "(0 bytes this time)") != NULL, "%s", out);
	/* audited */
	cr_assert_eq(HVCTL("audit", "--json"), 0, "%s", err);
	cr_expect(strstr(out, "OtaFetch") != NULL, "%s", out);
}

/* The arguments of the audit rows of OTA step rpc (hvctl ota history
 * --json), one a line. */
static char *audit_rows(const char *rpc)
{
	cr_assert_eq(HVCTL("ota", "history", "--json"), 0, "%s", err);
	size_t cap = strlen(out) + 1, n = 0;
	char *acc = calloc(1, cap);
	cr_assert_not_null(acc);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	cr_assert_not_null(j, "not JSON: %s", je.text);
	size_t i;
	json_t *r;
	json_array_foreach(j, i, r)
	{
		const char *name = json_string_value(json_object_get(r, "step"));
		const char *args = json_string_value(json_object_get(r, "arguments"));
		if (name && args && !strcmp(name, rpc) && n + strlen(args) + 2 <= cap)
			n += (size_t)sprintf(acc + n, "%s\n", args);
	}
	json_decref(j);
	return acc;
}

/* Polls (bounded) until an audit row of rpc holds want; its rows then. */
static char *wait_audit(const char *rpc, const char *want)
{
	char *rows = NULL;
	for (int i = 0; i < 300; i++) {
		free(rows);
		rows = audit_rows(rpc);
		if (strstr(rows, want))
			break;
		usleep(100000);
	}
	return rows;
}

/* OTA-209: the part of an abandoned upload is removed once its newest byte
 * is older than --ota-part-max-age (when an upload comes, periodically and
 * at start-up), each removal an audit row; the part an upload is writing is
 * never removed, however old its time stamp. Ages are made with touch -d. */
Test(agent_ota, abandoned_upload_parts_are_removed_after_their_age_never_one_being_written)
{
	static const char *const extra[] = { "--ota-part-max-age", "3600", NULL };
	start(false, extra);
	/* B: v1 cut after 200,000 bytes, then two hours old */
	cr_expect_eq(HVCTL("ota", "install", "--stop-after", "200000", path_in_dir("v1.hvota")), 1,
		     "%s", err);
	cr_assert_eq(test_sh(dir, "touch -d \"2 hours ago\" ota/*.part ota/*.len"), 0);
	/* A: v2 cut after 300,000 bytes; its upload removed B */
	cr_expect_eq(HVCTL("ota", "install", "--stop-after", "300000", path_in_dir("v2.hvota")), 1,
		     "%s", err);
	char *rows = wait_audit("OtaUpload.expire", "bytes=200000");
	cr_expect(strstr(rows, "when=upload") && strstr(rows, "max_age_s=3600"), "%s", rows);
	free(rows);
	cr_expect_eq(test_sh(dir,
			     "test $(ls ota/*.part | wc -l) = 1 && test $(ls ota/*.len | wc -l) = 1"),
		     0, "B's files are still there, or A's are gone");

	/* A resumed slowly in the background and made two hours old while it is
	 * written; another upload (refused: one at a time) sweeps meanwhile */
	cr_assert_eq(test_sh(dir,
			     "($HVCTL --connect unix://%s/hv-agent.sock ota install --upload-only "
			     "--retries 0 --rate 20000 v2.hvota > bg.out 2>&1; echo exit=$? >> bg.out) &",
			     dir),
		     0);
	char *bg = NULL;
	for (int i = 0; i < 300; i++) {
		free(bg);
		bg = read_file_text(path_in_dir("bg.out"));
		if (bg && strstr(bg, "resuming the upload at byte 300000"))
			break;
		usleep(50000);
	}
	cr_assert(bg && strstr(bg, "resuming the upload at byte 300000"), "%s", bg ? bg : "");
	cr_assert_eq(test_sh(dir, "touch -d \"2 hours ago\" ota/*.part ota/*.len"), 0);
	cr_expect_eq(HVCTL("ota", "install", "--upload-only", "--retries", "0",
			   path_in_dir("v1.hvota")),
		     1, "%s", err);
	cr_expect(strstr(err, "another upload is in progress") != NULL, "%s", err);
	for (int i = 0; i < 1200; i++) {
		free(bg);
		bg = read_file_text(path_in_dir("bg.out"));
		if (bg && strstr(bg, "exit="))
			break;
		usleep(50000);
	}
	cr_expect(bg && strstr(bg, "exit=0"), "the upload being written was disturbed: %s",
		  bg ? bg : "");
	free(bg);
	rows = audit_rows("OtaUpload.expire");
	cr_expect(strstr(rows, "bytes=300000") == NULL, "the part being written was removed: %s",
		  rows);
	free(rows);
	cr_expect_eq(test_sh(dir, "ls ota/*.hvota"), 0, "the completed upload is not stored");

	/* C: an abandoned part found at start-up */
	cr_expect_eq(HVCTL("ota", "install", "--stop-after", "100000", path_in_dir("v1.hvota")), 1,
		     "%s", err);
	cr_assert_eq(agent_stop(&agent), 0);
	cr_assert_eq(test_sh(dir, "touch -d \"2 hours ago\" ota/*.part ota/*.len"), 0);
	cr_assert_eq(agent_start(&agent, dir, agent_args), 0, "%s", agent.err);
	rows = wait_audit("OtaUpload.expire", "when=start-up");
	cr_expect(strstr(rows, "bytes=100000 ") != NULL, "%s", rows);
	free(rows);
	cr_expect_eq(test_sh(dir, "ls ota/*.part ota/*.len"), 2, "C's files are still there");
	cr_expect_eq(test_sh(dir, "ls ota/*.hvota"), 0, "a stored bundle was removed");
}

/* hvctl through the broker as fleet-ROLE of the test PKI. */
static int fleet_hvctl(const char *role, const char *const *args)
{
	static char ca_p[192], crt[192], key[192];
	snprintf(ca_p, sizeof ca_p, "%s/pki/fleet-ca.crt", dir);
	snprintf(crt, sizeof crt, "%s/pki/fleet-%s.crt", dir, role);
	snprintf(key, sizeof key, "%s/pki/fleet-%s.key", dir, role);
	const char *argv[32] = { "--fleet", fleet_url, "--vehicle", VEHICLE, "--ca",
				 ca_p,      "--cert",  crt,         "--key", key };
	size_t n = 10;
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return hvctl_run(argv);
}
#define FLEET(role, ...) fleet_hvctl(role, (const char *const[]){ __VA_ARGS__, NULL })

/* docs/fleet.md "OTA over the link", end to end through a real Mosquitto
 * broker: a backend with no connection to the vehicle but the broker has
 * hv-agent fetch the bundle from an HTTPS URL (OtaFetch), install it and
 * follows the trial to its confirmation, every call signed by the backend's
 * fleet certificate; a viewer may not; the steps are audited with the
 * signer's identity. */
Test(agent_ota, a_backend_installs_a_bundle_by_url_through_the_fleet_broker)
{
	static const char *const extra[] = { "--fleet",
					     fleet_url,
					     "--vehicle",
					     VEHICLE,
					     "--fleet-backoff-max-ms",
					     "1000",
					     "--fleet-telemetry-ms",
					     "0",
					     NULL };
	char url[128];
	with_broker = 1;
	start(false, extra);
	serve(0, "v2.hvota", "fetch.log", 200000, url, sizeof url);
	int online = 0;
	for (int i = 0; i < 60 && !online; i++) {
		online = FLEET("viewer", "ota", "status", "rtos-demo") == 0;
		if (!online)
			usleep(500000);
	}
	cr_assert(online, "the vehicle never answered through the broker: %s", err);
	/* a viewer may read, not install */
	cr_expect_neq(FLEET("viewer", "ota", "install", "--url", url, path_in_dir("v2.hvota")), 0);
	cr_expect(strstr(err, "PERMISSION_DENIED") != NULL, "%s", err);
	cr_expect_eq(test_sh(dir, "ls ota/*.hvota"), 2, "a refused caller's fetch was stored");

	cr_assert_eq(FLEET("admin", "ota", "install", "--url", url, path_in_dir("v2.hvota")), 0,
		     "%s\n%s", out, err);
	cr_expect(strstr(out, "2.0.0 confirmed") != NULL, "%s", out);
	cr_expect_eq(test_sh(dir, "grep -q \"bytes=200000-\" fetch.log"), 0,
		     "no resumed range request");
	json_t *j = status_json();
	cr_expect_str_eq(jpath(j, "active", NULL), "B");
	cr_expect_str_eq(jpath(j, "slot_b", "version"), "2.0.0");
	json_decref(j);
	char *rows = audit_rows("OtaFetch");
	cr_expect(strstr(rows, url) != NULL, "%s", rows);
	free(rows);
	cr_assert_eq(HVCTL("audit", "--json", "--max", "1000"), 0, "%s", err);
	cr_expect(strstr(out, "fleet-admin") != NULL, "the fleet caller is not in the audit: %s",
		  out);
}
