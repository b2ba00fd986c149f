/*
 * hvcore_linux_ota.c - an OTA update of the Linux guest, kernel and initrd,
 * through the product path (docs/ota.md OTA-213, OTA-214; docs/mgmt-abi.md
 * MGMT-660..664): the real hv-core under QEMU with the linux VM and its slot
 * store, the real hv-agent and the real hvctl, bundles of Debian's Image and
 * the initramfs made by scripts/guest-image.sh linux and signed by the
 * update signer of `hvctl pki init` (hv-core and hv-agent both hold the
 * update CA, so hv-core checks each manifest itself):
 *
 *  - 2.0.0: `hvctl ota install` puts the Image into slot B and the initrd
 *    into initrd slot B, hv-core switches both, Linux boots from them, /init
 *    reports 2.0.0 and hv-core confirms; `ota status` shows slot B good;
 *  - 3.0.0 --broken: its /init stops the heartbeat after two beats, hv-core
 *    ends the trial and runs 2.0.0 again on its own (exit 1 of `hvctl ota
 *    install`), /init of slot B reporting 2.0.0 once more;
 *  - (suite hvcore_linux_ota_disk) the same with the linux-blk VM, whose
 *    data disk hv-blkback serves under hv-agent: the boot count /init keeps
 *    on it goes on across the update and the rollback (REQ-SAF-15.6).
 *
 * The Linux boot under hv-core takes tens of seconds under load; every wait
 * is bounded and nothing asserts a duration. QEMU and hv-agent are stopped
 * in the teardown whatever happened.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_harness.h"
#include "hvqemu.h"

static struct hvq q;
static struct agent_proc agent;
static char tmp[64], ca[128], uri[320];
static const char *agent_extra[5];
static char *out, *err;

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

/* The update PKI and the bundles v2.hvota (2.0.0) and v3.hvota (3.0.0,
 * broken), each the Image and the initrd. */
static void make_bundles(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/hvcore-linux-ota-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	snprintf(ca, sizeof ca, "%s/pki/update-ca.crt", tmp);
	cr_assert_eq(sh("$HVCTL pki init --dir pki"), 0, "see %s/make.log", tmp);
	for (int v = 2; v <= 3; v++)
		cr_assert_eq(sh("bash $GI linux --version %d.0.0 %s -o v%d && $HVCTL ota bundle "
				"--key pki/update-signer.key --cert pki/update-signer.crt -o "
				"v%d.hvota linux=v%d/Image@%d.0.0 "
				"linux.initrd=v%d/initramfs.cpio.gz@%d.0.0",
				v, v == 3 ? "--broken" : "", v, v, v, v, v, v),
			     0, "bundle %d.0.0 not made (see %s/make.log)", v, tmp);
}

/* The stack with guest (linux, or linux-blk with its data disk served by
 * hv-blkback, which hv-agent starts). */
static void start(const char *guest)
{
	out = err = NULL;
	memset(&agent, 0, sizeof agent);
	make_bundles();
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = guest;
	o.ready_timeout_s = 300;
	o.extra[0] = "--update-ca"; /* hv-core checks each manifest (MGMT-643) */
	o.extra[1] = ca;
	cr_assert_eq(hvq_start(&q, &o), 0, "%s", q.err);
	agent_extra[0] = "--ota-ca";
	agent_extra[1] = ca;
	if (strcmp(guest, "linux-blk") == 0) {
		agent_extra[2] = "--blkback";
		agent_extra[3] = HV_BIN_DIR "/hv-blkback";
	}
	cr_assert_eq(agent_start(&agent, q.dir, agent_extra), 0, "%s", agent.err);
	snprintf(uri, sizeof uri, "unix://%s", agent.sock);
}

static void setup(void)
{
	start("linux");
}

static void setup_disk(void)
{
	start("linux-blk");
}

static void teardown(void)
{
	agent_stop(&agent);
	hvq_stop(&q);
	free(out);
	free(err);
	out = err = NULL;
	if (tmp[0]) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
		cr_expect_eq(system(cmd), 0);
	}
}

static int hvctl_run(const char *const *args)
{
	free(out);
	free(err);
	out = err = NULL;
	return run_hvctl(args, &out, &err);
}
#define HVCTL(...) hvctl_run((const char *const[]){ "--connect", uri, __VA_ARGS__, NULL })

static volatile struct hvm_console *console(int id)
{
	return (volatile struct hvm_console *)(q.mgmt + HVM_OFF_CONSOLES +
					       (size_t)id * sizeof(struct hvm_console));
}

/* 1 when VM id's console ring holds text. */
static int console_has(int id, const char *text)
{
	static char buf[HVM_CONSOLE_SIZE + 1];
	volatile struct hvm_console *c = console(id);
	uint64_t head = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);
	uint64_t from = head > HVM_CONSOLE_SIZE ? head - HVM_CONSOLE_SIZE : 0;
	size_t n = 0;
	for (uint64_t p = from; p < head; p++)
		buf[n++] = (char)c->buf[p % HVM_CONSOLE_SIZE];
	buf[n] = 0;
	return strstr(buf, text) != NULL;
}

/* `hvctl ota status linux --json`, parsed (caller json_decref's). */
static json_t *ota_status(void)
{
	cr_assert_eq(HVCTL("ota", "status", "linux", "--json"), 0, "%s", err);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	cr_assert_not_null(j, "not JSON (%s): %s", je.text, out);
	return j;
}

static const char *jstr(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(j, a);
	if (b)
		v = json_object_get(v, b);
	return json_string_value(v) ? json_string_value(v) : "(none)";
}

static int linux_id(void)
{
	cr_assert_eq(HVCTL("dominfo", "linux", "--json"), 0, "%s", err);
	json_t *j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s", out);
	int id = (int)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	return id;
}

TestSuite(hvcore_linux_ota, .init = setup, .fini = teardown, .timeout = 2000);

Test(hvcore_linux_ota, a_linux_bundle_is_confirmed_and_a_broken_one_rolls_back)
{
	/* the trial's timeout covers a Linux boot under load; the window is
	 * hv-core's default */
	cr_assert_eq(HVCTL("ota", "install", "--timeout-ms", "600000",
			   strcat(strcpy((char[128]){ 0 }, tmp), "/v2.hvota")),
		     0, "%s\n%s", out, err);
	cr_expect(strstr(out, "linux: 2.0.0 installed, switched"), "%s", out);
	cr_expect(strstr(out, "linux.initrd: 2.0.0 installed into the initrd slot, switched with "
			      "its image"),
		  "%s", out);
	cr_expect(strstr(out, "linux: 2.0.0 confirmed by hv-core (slot B active"), "%s", out);
	int id = linux_id();
	cr_expect(console_has(id, "hv-linux-guest: image version 2.0.0"),
		  "/init of the new initrd never reported 2.0.0");
	json_t *j = ota_status();
	cr_expect_str_eq(jstr(j, "active", NULL), "B");
	cr_expect_str_eq(jstr(j, "slot_b", "version"), "2.0.0");
	cr_expect_str_eq(jstr(j, "slot_b", "state"), "good");
	cr_expect_str_eq(jstr(j, "initrd_b", "version"), "2.0.0"); /* MGMT-665 */
	cr_expect_str_eq(jstr(j, "initrd_b", "state"), "good");
	cr_expect_str_eq(jstr(j, "last_result", NULL), "confirmed");
	json_decref(j);

	/* the broken 3.0.0: hv-core rolls back on its own */
	cr_assert_eq(HVCTL("ota", "install", "--timeout-ms", "600000",
			   strcat(strcpy((char[128]){ 0 }, tmp), "/v3.hvota")),
		     1, "%s\n%s", out, err);
	cr_expect(strstr(out, "linux: the trial of 3.0.0 failed"), "%s", out);
	cr_expect(console_has(id, "broken image: heartbeat stopped"), "the broken /init never ran");
	j = ota_status();
	cr_expect_str_eq(jstr(j, "active", NULL), "B");
	cr_expect_str_eq(jstr(j, "slot_b", "version"), "2.0.0");
	cr_expect_str_eq(jstr(j, "slot_a", "state"), "bad");
	cr_expect_str_eq(jstr(j, "initrd_a", "state"), "bad");
	cr_expect_str_eq(jstr(j, "initrd_a", "version"), "3.0.0");
	json_decref(j);
	cr_assert_eq(HVCTL("ota", "history"), 0, "%s", err);
	cr_expect(strstr(out, "kind=initrd version=3.0.0"), "%s", out);
}

/* Polls VM id's console until it shows text (bounded). */
static void wait_console(int id, const char *text)
{
	for (int i = 0; i < 600 * 5 && !console_has(id, text); i++)
		nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
	cr_assert(console_has(id, text), "the console never showed '%s'", text);
}

/* REQ-SAF-15.6: the Linux guest with its persistent data disk (linux-blk,
 * docs/guest-abi.md GABI-494): /init counts its boots in /data/boots. The
 * count written before the update goes on after the update (2.0.0) and
 * after the rollback from the broken 3.0.0: the disk is the VM's, not the
 * slot's. */
TestSuite(hvcore_linux_ota_disk, .init = setup_disk, .fini = teardown, .timeout = 2000);

Test(hvcore_linux_ota_disk, the_data_disk_keeps_its_data_across_an_update_and_a_rollback)
{
	int id = linux_id();
	wait_console(id, "hv-linux-guest: data boots=1");
	char v2[128], v3[128];
	snprintf(v2, sizeof v2, "%s/v2.hvota", tmp);
	snprintf(v3, sizeof v3, "%s/v3.hvota", tmp);
	cr_assert_eq(HVCTL("ota", "install", "--timeout-ms", "600000", v2), 0, "%s\n%s", out, err);
	cr_expect(strstr(out, "linux: 2.0.0 confirmed by hv-core"), "%s", out);
	wait_console(id, "hv-linux-guest: data boots=2");
	cr_assert_eq(HVCTL("ota", "install", "--timeout-ms", "600000", v3), 1, "%s\n%s", out, err);
	cr_expect(strstr(out, "linux: the trial of 3.0.0 failed"), "%s", out);
	/* boot 3 was the broken 3.0.0, boot 4 is 2.0.0 again */
	wait_console(id, "hv-linux-guest: data boots=4");
	json_t *j = ota_status();
	cr_expect_str_eq(jstr(j, "active", NULL), "B");
	cr_expect_str_eq(jstr(j, "slot_b", "version"), "2.0.0");
	json_decref(j);
}
