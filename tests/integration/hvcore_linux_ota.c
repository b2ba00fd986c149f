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
 *  - (suite hvcore_linux_ota_cut) QEMU killed during the Image's write, the
 *    initrd's write, the new pair's trial and after its confirmation, then
 *    started again on the same flash and slot store files: one whole pair
 *    runs, the store file agrees with the record, no trial survives, the
 *    floor never goes down (MGMT-660).
 *
 * The Linux boot under hv-core takes tens of seconds under load; every wait
 * is bounded and nothing asserts a duration. QEMU and hv-agent are stopped
 * in the teardown whatever happened.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
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
#include "shell_testlib.h"

static struct hvq q;
static struct agent_proc agent;
static char tmp[64], ca[128], uri[320];
static const char *agent_extra[5];
static char *out, *err;

/* The update PKI and the bundles v2.hvota (2.0.0) and v3.hvota (3.0.0,
 * broken), each the Image and the initrd. */
static void make_bundles(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/hvcore-linux-ota-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	snprintf(ca, sizeof ca, "%s/pki/update-ca.crt", tmp);
	cr_assert_eq(test_sh(tmp, "$HVCTL pki init --dir pki"), 0, "see %s/make.log", tmp);
	for (int v = 2; v <= 3; v++)
		cr_assert_eq(test_sh(tmp,
				     "bash $GI linux --version %d.0.0 %s -o v%d && $HVCTL ota bundle "
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

/* ---- a power cut during the Linux guest's update (MGMT-660) --------------- */

static char nvfile[128], slotfile[128];
static pid_t installer;

static void setup_cut(void)
{
	out = err = NULL;
	memset(&agent, 0, sizeof agent);
	installer = 0;
	make_bundles();
	snprintf(nvfile, sizeof nvfile, "%s/nv.bin", tmp);
	snprintf(slotfile, sizeof slotfile, "%s/slots.bin", tmp);
}

static void teardown_cut(void)
{
	if (installer > 0) {
		kill(installer, SIGKILL);
		waitpid(installer, NULL, 0);
		installer = 0;
	}
	teardown();
}

/* hv-core with the linux VM on the state files nvfile and slotfile (they
 * stay across the power cut, as the flash and the slot store do). */
static void boot_linux(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = "linux";
	o.ready_timeout_s = 300;
	const char *x[] = { "--update-ca", ca, "--nvram", nvfile, "--slot-store", slotfile };
	for (int i = 0; i < 6; i++)
		o.extra[i] = x[i];
	cr_assert_eq(hvq_start(&q, &o), 0, "%s", q.err);
}

/* The whole serial log of this boot (caller frees). */
static char *serial_text(void)
{
	FILE *f = fopen(q.serial, "r");
	if (!f)
		return strdup("");
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	cr_assert_not_null(m);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	return buf;
}

/* The linux VM's slots in the slot store file (MGMT-662), as hv-core's log
 * gives them: image A at base, image B after it, then initrd A and B. */
static uint64_t store_base, img_slot, initrd_slot;

static uint64_t slot_off(int s)
{
	return store_base +
	       (s < 2 ? (uint64_t)s * img_slot : 2 * img_slot + (uint64_t)(s - 2) * initrd_slot);
}

static long file_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	fclose(f);
	return n;
}

/* 1 when the 4 KiB of file a at offset oa equal those of file b at ob. */
static int same_page(const char *a, uint64_t oa, const char *b, uint64_t ob)
{
	unsigned char x[4096], y[4096];
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	int same = fa && fb && fseek(fa, (long)oa, SEEK_SET) == 0 &&
		   fseek(fb, (long)ob, SEEK_SET) == 0 && fread(x, 1, sizeof x, fa) == sizeof x &&
		   fread(y, 1, sizeof y, fb) == sizeof y && memcmp(x, y, sizeof x) == 0;
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

enum cut_at {
	CUT_IMAGE,
	CUT_INITRD,
	CUT_TRIAL,
	CUT_CONFIRMED
};

struct cut_wait {
	enum cut_at at;
	char image[160], initrd[160];
};

/* The moment to cut: the write of slot B (image or initrd) has passed half
 * of the new bytes, or hv-core has booted the new pair in trial. Reads the
 * serial log and the slot store file only. */
static int cut_now(struct hvq *h, void *arg)
{
	(void)h;
	struct cut_wait *w = arg;
	char *log = serial_text();
	const char *g = strstr(log, "ota: 'linux': slots in the slot store at ");
	if (g && !img_slot)
		sscanf(g,
		       "ota: 'linux': slots in the slot store at 0x%" SCNx64 ", 0x%" SCNx64
		       " bytes each; initrd 0x%" SCNx64,
		       &store_base, &img_slot, &initrd_slot);
	int now = 0;
	if (w->at == CUT_TRIAL) {
		now = strstr(log, "booted in trial") != NULL;
	} else if (w->at == CUT_CONFIRMED) {
		now = strstr(log, "(2.0.0) confirmed; floor 2.0.0") != NULL;
	} else if (img_slot && initrd_slot) {
		const char *f = w->at == CUT_IMAGE ? w->image : w->initrd;
		uint64_t half = (uint64_t)file_size(f) / 2 & ~4095ull;
		now = same_page(slotfile, slot_off(w->at == CUT_IMAGE ? 1 : 3) + half, f, half);
	}
	free(log);
	return now;
}

/* sha256sum of len bytes of the slot store file at off, as hex. */
static void store_sha(uint64_t off, uint64_t len, char hex[65])
{
	char line[512];
	snprintf(line, sizeof line, "tail -c +%" PRIu64 " '%s' | head -c %" PRIu64 " | sha256sum",
		 off + 1, slotfile, len);
	FILE *p = popen(line, "r");
	cr_assert_not_null(p);
	cr_assert_eq(fscanf(p, "%64s", hex), 1);
	pclose(p);
}

/* Slot s's bytes in the store have the digest its NV record gives, unless
 * the record says the slot holds nothing to run (empty or bad) or its bytes
 * are not in the store (not durable: the VM's configured image). */
static void slot_agrees(const struct hvm_ota_slot *sl, int s, const char *where)
{
	if (sl->state == HVM_SLOT_EMPTY || sl->state == HVM_SLOT_BAD || !sl->durable)
		return;
	char got[65], want[65];
	store_sha(slot_off(s), sl->size, got);
	for (int i = 0; i < 32; i++)
		snprintf(want + 2 * i, 3, "%02x", sl->sha256[i]);
	cr_assert_str_eq(got, want, "%s: slot %d of the store and its NV record differ", where, s);
}

/* The version /init of this boot reported on the console ("" none yet). */
static void console_version(int id, char v[HVM_VERSION_LEN])
{
	static const char tag[] = "hv-linux-guest: image version ";
	static char buf[HVM_CONSOLE_SIZE + 1];
	volatile struct hvm_console *c = console(id);
	uint64_t head = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);
	size_t n = 0;
	for (uint64_t p = head > HVM_CONSOLE_SIZE ? head - HVM_CONSOLE_SIZE : 0; p < head; p++)
		buf[n++] = (char)c->buf[p % HVM_CONSOLE_SIZE];
	buf[n] = 0;
	v[0] = 0;
	const char *t = strstr(buf, tag);
	if (t)
		sscanf(t + sizeof tag - 1, "%31[0-9.]", v);
}

static struct hvm_ota_status raw_status(int id)
{
	struct hvq_reply rep;
	uint64_t args[6] = { 0 };
	struct hvm_ota_status s;
	cr_assert_eq(hvq_command(&q, HVM_CMD_OTA_STATUS, (uint32_t)id, args, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_OK, "OTA_STATUS: %s", rep.msg);
	memcpy(&s, (const void *)(q.mgmt + HVM_OFF_DATA), sizeof s);
	cr_assert_eq(s.magic, HVM_OTA_STATUS_MAGIC);
	return s;
}

/* One power cut at `at` during `hvctl ota install` of 2.0.0 onto a fresh
 * flash and slot store, and the boot after it: the linux VM runs one whole
 * pair, the factory one or 2.0.0, whose image and initrd records name the
 * version /init reports; the bytes of every slot the record counts on are
 * in the store file; no trial survived; the floor is not raised by an
 * update that was never confirmed, and a cut after the confirmation was
 * stored leaves 2.0.0 running with its floor. Returns 1 when 2.0.0 runs. */
static int cut_once(enum cut_at at, const char *factory)
{
	static const char *names[] = { "the image write", "the initrd write", "the trial",
				       "the confirmation" };
	struct cut_wait w = { .at = at };
	snprintf(w.image, sizeof w.image, "%s/v2/Image", tmp);
	snprintf(w.initrd, sizeof w.initrd, "%s/v2/initramfs.cpio.gz", tmp);
	unlink(nvfile);
	unlink(slotfile);
	store_base = img_slot = initrd_slot = 0;
	boot_linux();
	cr_assert_eq(agent_start(&agent, q.dir, agent_extra), 0, "%s", agent.err);
	snprintf(uri, sizeof uri, "unix://%s", agent.sock);
	char bundle[128], logf[160];
	snprintf(bundle, sizeof bundle, "%s/v2.hvota", tmp);
	snprintf(logf, sizeof logf, "%s/install.log", tmp);
	installer = fork();
	cr_assert_geq(installer, 0);
	if (installer == 0) {
		if (!freopen(logf, "w", stdout) || dup2(fileno(stdout), 2) < 0)
			_exit(127);
		execl(HV_BIN_DIR "/hvctl", "hvctl", "--connect", uri, "ota", "install",
		      "--timeout-ms", "600000", bundle, (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(hvq_wait(&q, cut_now, &w, 900), 0, "%s never came: %s (see %s)", names[at],
		     q.err, logf);
	char *log = serial_text();
	int image_done = strstr(log, "version 2.0.0 installed into slot B") != NULL;
	int initrd_done = strstr(log, "initrd 2.0.0 installed into initrd slot B") != NULL;
	free(log);
	hvq_stop(&q); /* SIGKILL: the power cut */
	agent_stop(&agent);
	kill(installer, SIGKILL);
	waitpid(installer, NULL, 0);
	installer = 0;
	cr_log_info("cut during %s: image %s, initrd %s", names[at],
		    image_done ? "installed" : "not installed",
		    initrd_done ? "installed" : "not installed");

	boot_linux();
	int id = hvq_find_vm(&q, "linux");
	cr_assert_geq(id, 0);
	cr_assert_eq(hvq_wait_console(&q, id, "hv-linux-guest: image version ", 900), 0, "%s", q.err);
	char v[HVM_VERSION_LEN];
	console_version(id, v);
	cr_assert(strcmp(v, factory) == 0 || strcmp(v, "2.0.0") == 0,
		  "after a cut during %s /init reports '%s'", names[at], v);
	struct hvm_ota_status s = raw_status(id);
	cr_log_info("after the restart: /init reports %s; slot %c active; image A %u '%s', B %u "
		    "'%s'; initrd A %u '%s', B %u '%s'; floor '%s'",
		    v, s.active ? 'B' : 'A', s.slot[0].state, s.slot[0].version, s.slot[1].state,
		    s.slot[1].version, s.initrd[0].state, s.initrd[0].version, s.initrd[1].state,
		    s.initrd[1].version, s.floor);
	cr_assert(!s.in_trial, "after a cut during %s a trial survived the restart", names[at]);
	/* the image and the initrd hv-core boots: the active slot's when its
	 * bytes are in the store (durable), else the configured factory ones */
	const struct hvm_ota_slot *pair[2] = { &s.slot[s.active], &s.initrd[s.active] };
	for (int k = 0; k < 2; k++) {
		const char *booted = pair[k]->durable ? pair[k]->version : factory;
		cr_assert(strcmp(booted, v) == 0 || (!booted[0] && strcmp(v, factory) == 0),
			  "%s: /init reports %s, the %s booted is '%s' (slot %u)", names[at], v,
			  k ? "initrd" : "image", booted, s.active);
	}
	for (int k = 0; k < 2; k++) {
		slot_agrees(&s.slot[k], k, names[at]);
		slot_agrees(&s.initrd[k], 2 + k, names[at]);
	}
	if (at == CUT_CONFIRMED) { /* stored before it was logged: 2.0.0 stays */
		cr_assert_str_eq(v, "2.0.0", "a confirmed 2.0.0 gone after the cut");
		cr_assert_str_eq(s.floor, "2.0.0", "the floor went down to '%s'", s.floor);
	} else {
		cr_assert_str_eq(s.floor, "", "%s: floor '%s' from an unconfirmed update",
				 names[at], s.floor);
	}
	hvq_stop(&q);
	return strcmp(v, "2.0.0") == 0;
}

TestSuite(hvcore_linux_ota_cut, .init = setup_cut, .fini = teardown_cut, .timeout = 2400);

/* MGMT-660, MGMT-661..663: QEMU killed while hv-core writes the Image into
 * slot B (past half of it), while it writes the initrd into initrd slot B,
 * once it has booted the new pair in trial before any confirmation, and
 * once it has stored the confirmation; each time hv-core, started again on
 * the same flash and slot store, runs one whole pair, the store holds what
 * the record says, and the floor never goes down. */
Test(hvcore_linux_ota_cut, a_power_cut_during_a_linux_update_leaves_one_whole_pair)
{
	char factory[HVM_VERSION_LEN];
	boot_linux();
	int id = hvq_find_vm(&q, "linux");
	cr_assert_geq(id, 0);
	cr_assert_eq(hvq_wait_console(&q, id, "hv-linux-guest: image version ", 900), 0, "%s", q.err);
	console_version(id, factory);
	cr_assert(factory[0] && strcmp(factory, "2.0.0") != 0, "factory '%s'", factory);
	hvq_stop(&q);
	agent_extra[0] = "--ota-ca";
	agent_extra[1] = ca;
	agent_extra[2] = NULL;
	for (int at = CUT_IMAGE; at <= CUT_CONFIRMED; at++)
		cut_once((enum cut_at)at, factory);
}
