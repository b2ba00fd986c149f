/*
 * hvcore_ota.c - hv-core's non-volatile state and A/B image slots under QEMU
 * (docs/mgmt-abi.md MGMT-600..631). The flash bank file lives outside QEMU's
 * state directory, so a test stops QEMU (as a power cut: SIGKILL) and starts it
 * again on the same bank.
 *
 *  - the audit head sequence survives a restart and never goes back; a torn
 *    newest copy of the record falls back to the older one;
 *  - an image installed into the inactive slot, switched to, is confirmed by
 *    hv-core once the guest reports exactly its version with a beating
 *    heartbeat; the floor rises; after a restart hv-core boots it on its own;
 *  - a broken image fails its trial and hv-core boots the previous slot again;
 *  - a version below the floor, a wrong digest and a restart during the
 *    trial are each handled with the named result;
 *  - the VMs of an update group are switched, confirmed and rolled back
 *    together, never one without the others (MGMT-650..656).
 * Waits are bounded; nothing asserts a duration.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvqemu.h"
#include "hvcore_mgmt_util.h"
#include <openssl/evp.h>

#define WAIT_S 60
#define NV_BLOCK 0x40000u

static struct hvq q;
static char tmp[256], nvram[300], slots[300];

static void mk_tmp(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/hv-ota-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	snprintf(nvram, sizeof nvram, "%s/nvram.bin", tmp);
	snprintf(slots, sizeof slots, "%s/slots.bin", tmp);
}

static void teardown(void)
{
	hvq_stop(&q);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	cr_expect_eq(system(cmd), 0);
}

static void boot(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = "rtos-demo";
	o.extra[0] = "--nvram";
	o.extra[1] = nvram;
	o.extra[2] = "--slot-store";
	o.extra[3] = slots;
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
}

static struct hvq_reply cmd(uint32_t c, int id, uint64_t a0, uint64_t a1)
{
	struct hvq_reply rep;
	uint64_t args[6] = { a0, a1 };
	cr_assert_eq(hvq_command(&q, c, (uint32_t)id, args, &rep), 0, "%s", q.err);
	return rep;
}

static void expect(struct hvq_reply rep, uint32_t status, const char *what)
{
	cr_assert_eq(rep.status, status, "%s: status %s (want %s): '%s'", what,
		     hvm_status_name(rep.status), hvm_status_name(status), rep.msg);
}

/* ---- the audit head sequence (MGMT-630, MGMT-631) ---------------------------- */

TestSuite(hvcore_ota, .init = mk_tmp, .fini = teardown, .timeout = 600);

/* ---- the slot store (MGMT-661) ---------------------------------------------- */

static struct hvq_reply define_at(uint64_t mem_pa, const char *extra)
{
	struct mu_vm v = { .name = "st", .cpu = 2, .mem_pa = mem_pa, .extra = extra };
	uint64_t isz;
	cr_assert_eq(mu_stage(&q, "rtos-demo", 0, &isz, v.sha256), 0, "%s", q.err);
	v.image_size = isz;
	char *dts = mu_vm_dts(&v);
	char err[512];
	size_t len;
	void *blob = mu_dtc(dts, &len, err, sizeof(err));
	free(dts);
	cr_assert_not_null(blob, "%s", err);
	struct hvq_reply rep;
	cr_assert_eq(mu_define_blob(&q, blob, len, &rep), 0, "%s", q.err);
	free(blob);
	return rep;
}

static int file_has(const char *path, const char *text)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	return strstr(buf, text) != NULL;
}

/* MGMT-661, MGMT-310: the slot store is the memory node after the RAM, backed
 * by its own file; hv-core takes it from the boot configuration, and a VM whose
 * pass-through device or memory touches it is refused, defining nothing. */
Test(hvcore_ota, the_slot_store_is_hv_cores_own_and_no_vm_touches_it)
{
	boot();
	struct stat st;
	cr_assert_eq(stat(slots, &st), 0, "no slot store file %s", slots);
	cr_assert_eq(st.st_size, 256ll << 20, "slot store of %lld bytes", (long long)st.st_size);
	cr_assert(file_has(q.serial, "ota: slot store 0x80000000+0x10000000"),
		  "hv-core did not take the slot store (serial.log)");
	/* the self-test passed with the store mapped: the VM runs */
	cr_assert_eq(mu_wait_heartbeat(&q, hvq_find_vm(&q, "rtos-demo"), 0, WAIT_S), 0, "%s", q.err);
	uint32_t count0 = q.regs->vm_count;
	uint64_t ev0 = q.regs->ev_head;
	struct hvq_reply r = define_at(0x50000000, "  dev { compatible = \"avirt,passthrough-v1\";"
						   " mmio = <0x0 0x20000000 0x0 0x80100000"
						   " 0x0 0x1000>; };\n");
	expect(r, HVM_E_OVERLAP, "a pass-through range in the slot store");
	cr_expect(strstr(r.msg, "MGMT-310") && strstr(r.msg, "slot store"), "'%s'", r.msg);
	r = define_at(0x80000000, NULL);
	cr_expect_neq(r.status, HVM_OK, "memory in the slot store defined: '%s'", r.msg);
	cr_expect(strstr(r.msg, "0x80000000"), "'%s' does not name the range", r.msg);
	cr_assert_eq(q.regs->vm_count, count0, "a refused DEFINE defined nothing");
	cr_assert_eq(q.regs->ev_head, ev0, "a refused DEFINE appended no event");
}

/* MGMT-500: the boot number counts each boot too. */
Test(hvcore_ota, the_audit_sequence_survives_a_restart_and_never_goes_back)
{
	boot();
	struct hvq_reply r = cmd(HVM_CMD_AUDIT_SEQ_GET, 0, 0, 0);
	expect(r, HVM_OK, "AUDIT_SEQ_GET on a blank bank");
	cr_assert_eq(r.ret[2], 1, "no non-volatile storage");
	cr_assert_eq(r.ret[0], 0);
	cr_assert_eq(r.ret[3], 1, "boot %llu on a blank bank (MGMT-500)",
		     (unsigned long long)r.ret[3]);
	expect(cmd(HVM_CMD_AUDIT_SEQ_SET, 0, 41, 0), HVM_OK, "set 41");
	expect(cmd(HVM_CMD_AUDIT_SEQ_SET, 0, 41, 0), HVM_OK, "the same again");
	r = cmd(HVM_CMD_AUDIT_SEQ_SET, 0, 40, 0);
	expect(r, HVM_E_ROLLBACK, "a lower sequence");
	cr_assert(strstr(r.msg, "MGMT-630"), "'%s' names no clause", r.msg);
	hvq_stop(&q); /* a power cut */
	boot();
	r = cmd(HVM_CMD_AUDIT_SEQ_GET, 0, 0, 0);
	expect(r, HVM_OK, "AUDIT_SEQ_GET after the restart");
	cr_assert_eq(r.ret[0], 41, "sequence %llu after the restart", (unsigned long long)r.ret[0]);
	cr_assert_eq(r.ret[3], 2, "boot %llu after the restart (MGMT-500)",
		     (unsigned long long)r.ret[3]);
	expect(cmd(HVM_CMD_AUDIT_SEQ_SET, 0, 40, 0), HVM_E_ROLLBACK, "lower after the restart");
}

/* The record copy (0 or 1) in the bank file with the higher sequence. */
static int newest_copy(FILE *f)
{
	uint64_t seq[2] = { 0, 0 };
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(fseek(f, (long)i * NV_BLOCK + 16, SEEK_SET), 0);
		cr_assert_eq(fread(&seq[i], 8, 1, f), 1);
	}
	return seq[1] > seq[0];
}

Test(hvcore_ota, a_torn_newest_record_falls_back_to_the_copy_before_it)
{
	boot();
	expect(cmd(HVM_CMD_AUDIT_SEQ_SET, 0, 5, 0), HVM_OK, "set 5");
	expect(cmd(HVM_CMD_AUDIT_SEQ_SET, 0, 9, 0), HVM_OK, "set 9");
	hvq_stop(&q);
	/* a power cut in the middle of writing record "9": one byte of it wrong */
	FILE *f = fopen(nvram, "r+b");
	cr_assert_not_null(f);
	int c = newest_copy(f);
	cr_assert_eq(fseek(f, (long)c * NV_BLOCK + 24, SEEK_SET), 0);
	uint8_t b;
	cr_assert_eq(fread(&b, 1, 1, f), 1);
	b ^= 0x01;
	cr_assert_eq(fseek(f, (long)c * NV_BLOCK + 24, SEEK_SET), 0);
	cr_assert_eq(fwrite(&b, 1, 1, f), 1);
	cr_assert_eq(fclose(f), 0);
	boot();
	struct hvq_reply r = cmd(HVM_CMD_AUDIT_SEQ_GET, 0, 0, 0);
	expect(r, HVM_OK, "AUDIT_SEQ_GET");
	cr_assert_eq(r.ret[0], 5, "sequence %llu: the torn copy was used",
		     (unsigned long long)r.ret[0]);
	/* the next write goes over the torn copy, the good one stays */
	expect(cmd(HVM_CMD_AUDIT_SEQ_SET, 0, 6, 0), HVM_OK, "set 6");
	hvq_stop(&q);
	boot();
	cr_assert_eq(cmd(HVM_CMD_AUDIT_SEQ_GET, 0, 0, 0).ret[0], 6);
}

/* MGMT-602: a bank written by hv-core of ABI 2.2 holds a version 1 record: 32
 * bytes of header, 8 VM entries of 240 bytes, the SHA-256. Version 2 adds 8
 * group entries of 24 bytes before the SHA-256, version 3 (MGMT-662) 8 slot
 * store places of 208 bytes after them (MGMT-663: with the initrd slots),
 * version 4 (MGMT-664) 8 slot origins of 64 bytes after those. */
#define NV_V1_BODY (32u + 8u * 240u)
#define NV_V2_BODY (NV_V1_BODY + 8u * 24u)
#define NV_V3_BODY (NV_V2_BODY + 8u * 208u)
#define NV_V4_SIZE (NV_V3_BODY + 8u * 64u + 32u)

/* The newest record made version `old` (the other copy erased) is read, and
 * the next change is written as version 4. */
static void an_old_record_is_read_and_written_back(unsigned old)
{
	uint32_t body = old == 1 ? NV_V1_BODY : old == 2 ? NV_V2_BODY : NV_V3_BODY;
	boot();
	expect(cmd(HVM_CMD_AUDIT_SEQ_SET, 0, 41, 0), HVM_OK, "set 41");
	hvq_stop(&q);
	FILE *f = fopen(nvram, "r+b");
	cr_assert_not_null(f);
	int c = newest_copy(f);
	uint8_t rec[NV_V4_SIZE], blank[NV_V4_SIZE];
	cr_assert_eq(fseek(f, (long)c * NV_BLOCK, SEEK_SET), 0);
	cr_assert_eq(fread(rec, 1, sizeof rec, f), sizeof rec);
	cr_assert_eq(rec[4] | rec[5] << 8, 4, "hv-core wrote record version %u",
		     rec[4] | rec[5] << 8);
	rec[4] = (uint8_t)old;
	uint32_t size = body + 32;
	memcpy(rec + 8, &size, 4);
	cr_assert_eq(EVP_Digest(rec, body, rec + body, NULL, EVP_sha256(), NULL), 1);
	memset(rec + body + 32, 0xFF, sizeof rec - body - 32);
	memset(blank, 0xFF, sizeof blank);
	cr_assert_eq(fseek(f, (long)c * NV_BLOCK, SEEK_SET), 0);
	cr_assert_eq(fwrite(rec, 1, sizeof rec, f), sizeof rec);
	cr_assert_eq(fseek(f, (long)(1 - c) * NV_BLOCK, SEEK_SET), 0);
	cr_assert_eq(fwrite(blank, 1, sizeof blank, f), sizeof blank);
	cr_assert_eq(fclose(f), 0);
	boot();
	struct hvq_reply r = cmd(HVM_CMD_AUDIT_SEQ_GET, 0, 0, 0);
	cr_assert_eq(r.ret[0], 41, "sequence %llu: the version %u record was not read",
		     (unsigned long long)r.ret[0], old);
	expect(cmd(HVM_CMD_AUDIT_SEQ_SET, 0, 42, 0), HVM_OK, "set 42");
	hvq_stop(&q);
	f = fopen(nvram, "rb");
	cr_assert_not_null(f);
	c = newest_copy(f);
	cr_assert_eq(fseek(f, (long)c * NV_BLOCK, SEEK_SET), 0);
	cr_assert_eq(fread(rec, 1, sizeof rec, f), sizeof rec);
	fclose(f);
	cr_assert_eq(rec[4] | rec[5] << 8, 4, "the change was written as version %u",
		     rec[4] | rec[5] << 8);
	memcpy(&size, rec + 8, 4);
	cr_assert_eq(size, NV_V4_SIZE);
	boot();
	cr_assert_eq(cmd(HVM_CMD_AUDIT_SEQ_GET, 0, 0, 0).ret[0], 42);
}

Test(hvcore_ota, a_version_1_record_is_read_and_written_back_as_version_4)
{
	an_old_record_is_read_and_written_back(1);
}

Test(hvcore_ota, a_version_2_record_is_read_and_written_back_as_version_4)
{
	an_old_record_is_read_and_written_back(2);
}

Test(hvcore_ota, a_version_3_record_is_read_and_written_back_as_version_4)
{
	an_old_record_is_read_and_written_back(3);
}

/* ---- A/B slots and the witnessed trial (MGMT-610..625) ----------------------- */

/* tmp/NAME.bin: rtos-demo reporting version (scripts/guest-image.sh). */
static void make_image(const char *name, const char *version, int broken)
{
	char cmdline[1200];
	snprintf(cmdline, sizeof cmdline,
		 "BUILD='%s' bash '%s/scripts/guest-image.sh' rtos-demo --version %s %s -o '%s/%s.bin'",
		 HV_BUILD_DIR, HV_SOURCE_DIR, version, broken ? "--broken" : "", tmp, name);
	int rc = system(cmdline);
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "guest-image.sh %s failed", version);
}

/* Stages tmp/NAME.bin and runs OTA_INSTALL with its digest (one bit flipped
 * with bad_digest) and version. */
static struct hvq_reply install(int id, const char *name, const char *version, int bad_digest)
{
	char path[400];
	snprintf(path, sizeof path, "%s/%s.bin", tmp, name);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	static uint8_t img[1 << 20];
	size_t n = fread(img, 1, sizeof img, f);
	fclose(f);
	cr_assert_gt(n, 0);
	uint8_t *stage = hvq_pa(&q, q.regs->staging_base, n);
	cr_assert_not_null(stage);
	memcpy(stage, img, n);
	struct hvm_ota_image h;
	memset(&h, 0, sizeof h);
	h.magic = HVM_OTA_IMAGE_MAGIC;
	h.size = n;
	cr_assert_eq(EVP_Digest(img, n, h.sha256, NULL, EVP_sha256(), NULL), 1);
	if (bad_digest)
		h.sha256[7] ^= 0x10;
	snprintf(h.version, sizeof h.version, "%s", version);
	memcpy((void *)(q.mgmt + HVM_OFF_DATA), &h, sizeof h);
	return cmd(HVM_CMD_OTA_INSTALL, id, 0, n);
}

static struct hvm_ota_status status(int id)
{
	struct hvm_ota_status s;
	expect(cmd(HVM_CMD_OTA_STATUS, id, 0, 0), HVM_OK, "OTA_STATUS");
	memcpy(&s, (const void *)(q.mgmt + HVM_OFF_DATA), sizeof s);
	cr_assert_eq(s.magic, HVM_OTA_STATUS_MAGIC);
	cr_assert_eq(s.size, sizeof s);
	return s;
}

static int trial_over(struct hvq *h, void *arg)
{
	struct hvq_reply rep;
	uint64_t args[6] = { 0 };
	if (hvq_command(h, HVM_CMD_OTA_STATUS, (uint32_t) * (int *)arg, args, &rep) != 0 ||
	    rep.status != HVM_OK)
		return 0;
	return rep.ret[2] == 0; /* in_trial */
}

struct want_version {
	int id;
	const char *version;
	uint64_t beat_above;
};

static int runs_version(struct hvq *h, void *arg)
{
	struct want_version *w = arg;
	struct hvm_vm_slot s;
	return hvq_read_slot(h, (uint32_t)w->id, &s) == 0 &&
	       (s.state == HVM_VM_RUNNING || s.state == HVM_VM_BLOCKED) &&
	       strcmp(s.image_version, w->version) == 0 && s.heartbeat > w->beat_above;
}

/* Waits until VM id runs `version` with a heartbeat that advances. */
static void wait_runs(int id, const char *version)
{
	struct want_version w = { id, version, 0 };
	cr_assert_eq(hvq_wait(&q, runs_version, &w, WAIT_S), 0, "version %s never ran: %s", version,
		     q.err);
	w.beat_above = mu_slot(&q, id).heartbeat;
	cr_assert_eq(hvq_wait(&q, runs_version, &w, WAIT_S), 0, "%s: heartbeat stuck: %s", version,
		     q.err);
}

/* The VM as booted: its id and the version its built-in image reports. */
static int rtos_demo(char factory[HVM_VERSION_LEN])
{
	int id = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(id, 0);
	cr_assert_eq(mu_wait_heartbeat(&q, id, 0, WAIT_S), 0, "%s", q.err);
	struct hvm_vm_slot s = mu_slot(&q, id);
	memcpy(factory, s.image_version, HVM_VERSION_LEN);
	return id;
}

Test(hvcore_ota, an_update_is_confirmed_then_booted_after_a_restart_and_not_undercut)
{
	char factory[HVM_VERSION_LEN];
	make_image("v2", "2.0.0", 0);
	make_image("v1", "1.0.0", 0);
	boot();
	int id = rtos_demo(factory);
	uint64_t ev0 = q.regs->ev_head;

	expect(install(id, "v2", "2.0.0", 0), HVM_OK, "OTA_INSTALL 2.0.0");
	struct hvm_ota_status s = status(id);
	cr_assert_eq(s.active, 0);
	cr_assert_eq(s.slot[0].state, HVM_SLOT_GOOD);
	cr_assert_eq(s.slot[0].durable, 1, "the running image is kept as the rollback target");
	cr_assert_eq(s.slot[1].state, HVM_SLOT_READY);
	cr_assert_str_eq(s.slot[1].version, "2.0.0");
	wait_runs(id, factory); /* installing does not touch the running VM */

	expect(cmd(HVM_CMD_OTA_SWITCH, id, 1000, 60000), HVM_OK, "OTA_SWITCH");
	cr_assert_eq(hvq_wait(&q, trial_over, &id, WAIT_S), 0, "trial never ended: %s", q.err);
	s = status(id);
	cr_assert_eq(s.last_result, HVM_OTA_CONFIRMED, "result %u", s.last_result);
	cr_assert_eq(s.active, 1);
	cr_assert_eq(s.slot[1].state, HVM_SLOT_GOOD);
	cr_assert_eq(s.slot[0].state, HVM_SLOT_GOOD);
	cr_assert_str_eq(s.floor, "2.0.0");
	wait_runs(id, "2.0.0");
	cr_assert_eq(mu_count_events(&q, HVM_EV_OTA_INSTALLED, (uint32_t)id, ev0), 1);
	cr_assert_eq(mu_count_events(&q, HVM_EV_OTA_TRIAL, (uint32_t)id, ev0), 1);
	cr_assert_eq(mu_count_events(&q, HVM_EV_OTA_CONFIRMED, (uint32_t)id, ev0), 1);

	/* MGMT-625: below the floor is a rollback, refused, nothing changed */
	struct hvq_reply r = install(id, "v1", "1.0.0", 0);
	expect(r, HVM_E_ROLLBACK, "OTA_INSTALL 1.0.0");
	cr_assert(strstr(r.msg, "MGMT-625"), "'%s'", r.msg);
	struct hvm_ota_status after = status(id);
	cr_assert_eq(memcmp(after.slot, s.slot, sizeof s.slot), 0,
		     "a refused install changed a slot");

	/* MGMT-624: after a power cut hv-core boots the confirmed slot itself */
	hvq_stop(&q);
	boot();
	wait_runs(id, "2.0.0");
	s = status(id);
	cr_assert_eq(s.active, 1);
	cr_assert_str_eq(s.floor, "2.0.0");
	expect(install(id, "v1", "1.0.0", 0), HVM_E_ROLLBACK, "1.0.0 after the restart");
}

Test(hvcore_ota, a_broken_image_fails_its_trial_and_the_old_one_runs_again)
{
	char factory[HVM_VERSION_LEN];
	make_image("v3", "3.0.0", 1);
	boot();
	int id = rtos_demo(factory);
	uint64_t ev0 = q.regs->ev_head;
	expect(install(id, "v3", "3.0.0", 0), HVM_OK, "OTA_INSTALL 3.0.0 (broken)");
	expect(cmd(HVM_CMD_OTA_SWITCH, id, 1000, 60000), HVM_OK, "OTA_SWITCH");
	cr_assert_eq(hvq_wait(&q, trial_over, &id, WAIT_S), 0, "trial never ended: %s", q.err);
	struct hvm_ota_status s = status(id);
	cr_assert_eq(s.last_result, HVM_OTA_FAIL_WATCHDOG, "result %u", s.last_result);
	cr_assert_eq(s.active, 0);
	cr_assert_eq(s.slot[1].state, HVM_SLOT_BAD);
	cr_assert_eq(s.slot[0].state, HVM_SLOT_GOOD);
	cr_assert_str_eq(s.floor, "", "the floor rose without a confirmation");
	wait_runs(id, factory);
	cr_assert_eq(mu_count_events(&q, HVM_EV_OTA_ROLLED_BACK, (uint32_t)id, ev0), 1);
	/* a bad slot is not switched to again */
	expect(cmd(HVM_CMD_OTA_SWITCH, id, 0, 0), HVM_E_STATE, "switch to the bad slot");
}

Test(hvcore_ota, a_wrong_digest_and_a_reset_during_the_trial)
{
	char factory[HVM_VERSION_LEN];
	make_image("v2", "2.0.0", 0);
	boot();
	int id = rtos_demo(factory);
	struct hvq_reply r = install(id, "v2", "2.0.0", 1);
	expect(r, HVM_E_HASH, "OTA_INSTALL with another digest");
	cr_assert_eq(status(id).slot[1].state, HVM_SLOT_EMPTY);
	expect(cmd(HVM_CMD_OTA_SWITCH, id, 0, 0), HVM_E_STATE, "switch to an empty slot");
	expect(cmd(HVM_CMD_OTA_SWITCH, id, 5000, 1000), HVM_E_BAD_ARG, "window above the timeout");

	/* a trial a power cut interrupts is not confirmed: the old slot boots */
	expect(install(id, "v2", "2.0.0", 0), HVM_OK, "OTA_INSTALL 2.0.0");
	expect(cmd(HVM_CMD_OTA_SWITCH, id, 600000, 600000), HVM_OK, "OTA_SWITCH, long window");
	wait_runs(id, "2.0.0");
	cr_assert_eq(status(id).in_trial, 1);
	hvq_stop(&q);
	boot();
	wait_runs(id, factory);
	struct hvm_ota_status s = status(id);
	cr_assert_eq(s.last_result, HVM_OTA_FAIL_RESET, "result %u", s.last_result);
	cr_assert_eq(s.active, 0);
	cr_assert_eq(s.slot[1].state, HVM_SLOT_BAD);
	cr_assert_eq(s.in_trial, 0);
}

/* MGMT-621: the switch of an ASIL VM (rtos-demo is ASIL-B) obeys the safety
 * policy as the reset it performs: refused while driving, nothing changed;
 * allowed once parked. */
Test(hvcore_ota, the_switch_of_an_asil_vm_obeys_the_safety_policy)
{
	char factory[HVM_VERSION_LEN];
	make_image("v2", "2.0.0", 0);
	boot();
	int id = rtos_demo(factory);
	expect(install(id, "v2", "2.0.0", 0), HVM_OK, "OTA_INSTALL while parked");
	expect(cmd(HVM_CMD_SET_VEHICLE_STATE, 0, HVM_VS_DRIVING, 0), HVM_OK, "driving");
	struct hvm_ota_status before = status(id);
	struct hvq_reply r = cmd(HVM_CMD_OTA_SWITCH, id, 1000, 60000);
	expect(r, HVM_E_POLICY, "OTA_SWITCH while driving");
	struct hvm_ota_status after = status(id);
	cr_assert_eq(after.active, before.active);
	cr_assert_eq(after.in_trial, 0);
	cr_assert_eq(after.slot[1].state, HVM_SLOT_READY, "the refused switch changed the slot");
	wait_runs(id, factory);
	expect(cmd(HVM_CMD_SET_VEHICLE_STATE, 0, HVM_VS_PARKED, 0), HVM_OK, "parked");
	expect(cmd(HVM_CMD_OTA_SWITCH, id, 1000, 60000), HVM_OK, "OTA_SWITCH when parked");
	cr_assert_eq(hvq_wait(&q, trial_over, &id, WAIT_S), 0, "trial never ended: %s", q.err);
	cr_assert_eq(status(id).last_result, HVM_OTA_CONFIRMED);
	wait_runs(id, "2.0.0");
}

/* More VM nodes for boot_with(), and the hv-core output directory to boot
 * from (NULL: the build's). */
static const char *more_vms = "";
static const char *boot_extra = ""; /* more properties of rtos-demo's boot node */
static const char *core_dir;
static const char *hv_image; /* --hv-image, NULL: hvcore.bin */

/* tmp/cfg.dts: rtos-demo's node with `prop` added, as a boot configuration;
 * hv_extra (or "") goes into its hv-core node. */
static void boot_with(const char *prop, const char *hv_extra)
{
	char path[400], dtsi[400], line[512];
	snprintf(dtsi, sizeof dtsi, "%s/hv-core/guests/vms/rtos-demo.dtsi", HV_SOURCE_DIR);
	snprintf(path, sizeof path, "%s/cfg.dts", tmp);
	FILE *in = fopen(dtsi, "r"), *out = fopen(path, "w");
	cr_assert(in && out);
	fprintf(out,
		"/dts-v1/;\n/ {\n\tcompatible = \"avirt,system-config-v1\";\n"
		"\thv-core { vehicle-state { source = \"management\"; initial = \"parked\"; };\n"
		"%s };\n\tvms {\n",
		hv_extra);
	while (fgets(line, sizeof line, in)) {
		fputs(line, out);
		if (strstr(line, "autostart;"))
			fprintf(out, "\t%s\n", prop);
		if (strstr(line, "image-sha256"))
			fprintf(out, "\t\t%s\n", boot_extra);
	}
	fprintf(out, "%s\t};\n};\n", more_vms);
	fclose(in);
	cr_assert_eq(fclose(out), 0);
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.core_dir = core_dir;
	o.extra[0] = "--nvram";
	o.extra[1] = nvram;
	o.extra[2] = "--config";
	o.extra[3] = path;
	o.extra[4] = "--slot-store";
	o.extra[5] = slots;
	o.extra[6] = hv_image ? "--hv-image" : NULL;
	o.extra[7] = hv_image;
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
}

/* VMCFG-600: the confirmation window comes from the VM's configuration when
 * OTA_SWITCH names none; a value out of range is refused. */
Test(hvcore_ota, the_confirmation_window_comes_from_the_configuration)
{
	char factory[HVM_VERSION_LEN];
	make_image("v2", "2.0.0", 0);
	boot_with("ota-confirm-ms = <300000>;", "");
	int id = rtos_demo(factory);
	expect(install(id, "v2", "2.0.0", 0), HVM_OK, "OTA_INSTALL");
	expect(cmd(HVM_CMD_OTA_SWITCH, id, 0, 0), HVM_OK, "OTA_SWITCH with no window");
	wait_runs(id, "2.0.0");
	struct hvm_ota_status s = status(id);
	cr_assert_eq(s.in_trial, 1, "confirmed before the configured window");
	cr_assert_gt(s.trial_left_ms, 300000, "time left %llu ms: not the configured window",
		     (unsigned long long)s.trial_left_ms);
	hvq_stop(&q);

	boot_with("ota-confirm-ms = <5>;", "");
	cr_assert_eq(hvq_find_vm(&q, "rtos-demo"), -1, "a window of 5 ms was accepted");
	char *log = NULL;
	size_t n = 0;
	FILE *f = fopen(q.serial, "r");
	cr_assert_not_null(f);
	cr_assert_gt(getdelim(&log, &n, 0, f), 0);
	fclose(f);
	cr_assert(strstr(log, "VMCFG-600"), "the refusal names no rule:\n%s", log);
	free(log);
}

/* ---- hv-core's own check of a signed manifest (MGMT-640..643) --------------- */

/* Runs a shell command line in tmp; its exit status. */
static int sh(const char *line)
{
	char cmdline[2048];
	snprintf(cmdline, sizeof cmdline,
		 "cd '%s' && HVCTL='%s/hvctl' bash -c '%s' >/dev/null 2>'%s/.err'", tmp, HV_BIN_DIR,
		 line, tmp);
	int rc = system(cmdline);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static uint8_t *slurp(const char *name, size_t *len)
{
	char path[400];
	snprintf(path, sizeof path, "%s/%s", tmp, name);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	static uint8_t buf[4][1 << 20];
	static int next;
	uint8_t *b = buf[next++ % 4];
	*len = fread(b, 1, sizeof buf[0], f);
	fclose(f);
	return b;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Stages image `index` of bundle tmp/NAME.hvota, and its manifest and
 * signature block in the data area, for OTA_INSTALL (MGMT-643) with arg[1]
 * the returned length; edit, when set, changes the copy of the manifest
 * first; flip_image changes one staged byte. */
static size_t stage_signed(const char *name, unsigned index, void (*edit)(uint8_t *, size_t),
			   int flip_image)
{
	char file[128];
	size_t n;
	snprintf(file, sizeof file, "%s.hvota", name);
	uint8_t *b = slurp(file, &n);
	cr_assert_gt(n, 24);
	uint32_t mlen = be32(b + 12), slen = be32(b + 16);
	uint8_t *man = b + 24, *sig = man + mlen, *seg = sig + slen;
	for (unsigned i = 0; i < index && seg + 40 <= b + n; i++)
		seg += 40 + be64(seg + 32);
	cr_assert(seg + 40 <= b + n, "bundle %s too short", name);
	size_t ilen = (size_t)be64(seg + 32);
	cr_assert(seg + 40 + ilen <= b + n, "bundle %s: segment %u too short", name, index);
	uint8_t *stage = hvq_pa(&q, q.regs->staging_base, ilen);
	cr_assert_not_null(stage);
	memcpy(stage, seg + 40, ilen);
	if (flip_image)
		stage[ilen / 2] ^= 0x01;
	if (edit)
		edit(man, mlen);
	struct hvm_ota_signed h = { HVM_OTA_SIGNED_MAGIC, mlen, slen, 0 };
	volatile uint8_t *d = q.mgmt + HVM_OFF_DATA;
	memcpy((void *)d, &h, sizeof h);
	memcpy((void *)(d + sizeof h), man, mlen);
	memcpy((void *)(d + sizeof h + mlen), sig, slen);
	return ilen;
}

static struct hvq_reply signed_install_nth(int id, const char *name, unsigned index,
					   void (*edit)(uint8_t *, size_t), int flip_image)
{
	struct hvq_reply rep;
	uint64_t args[6] = { 0, stage_signed(name, index, edit, flip_image), 1 };
	cr_assert_eq(hvq_command(&q, HVM_CMD_OTA_INSTALL, (uint32_t)id, args, &rep), 0, "%s", q.err);
	return rep;
}

static struct hvq_reply signed_install(int id, const char *name, void (*edit)(uint8_t *, size_t),
				       int flip_image)
{
	return signed_install_nth(id, name, 0, edit, flip_image);
}

/* The manifest's version 2.0.0 reads 9.0.0: what the signer did not sign. */
static void raise_version(uint8_t *m, size_t n)
{
	for (size_t i = 0; i + 6 <= n; i++)
		if (memcmp(m + i, " 2.0.0", 6) == 0) {
			m[i + 1] = '9';
			return;
		}
	cr_assert_fail("no version 2.0.0 in the manifest");
}

/* Whether `path` holds the bytes of file `want` at offset off. */
static int holds_file_at(const char *path, long off, const char *want)
{
	FILE *a = fopen(path, "rb"), *b = fopen(want, "rb");
	int same = a && b && fseek(a, off, SEEK_SET) == 0;
	for (int x, y; same && (y = fgetc(b)) != EOF;)
		same = (x = fgetc(a)) == y;
	if (a)
		fclose(a);
	if (b)
		fclose(b);
	return same;
}

#define STORE_CFG "ota { slot-store = @SLOT-STORE@; };"

/* MGMT-662, VMCFG-602: a VM whose ota-slot-size exceeds a flash slot keeps its
 * A/B slots in the slot store: the installed image is in the store's file
 * after a power cut (SIGKILL), with the image it replaces beside it, and the
 * next boot switches to it from there. */
Test(hvcore_ota, large_slots_live_in_the_slot_store_and_survive_a_power_cut)
{
	char factory[HVM_VERSION_LEN], path[400], orig[400];
	make_image("v2", "2.0.0", 0);
	boot_with("ota-slot-size = <0x0 0x7ff000>;", STORE_CFG);
	int id = rtos_demo(factory);
	expect(install(id, "v2", "2.0.0", 0), HVM_OK, "OTA_INSTALL into the slot store");
	struct hvm_ota_status s = status(id);
	cr_assert_eq(s.slot[1].state, HVM_SLOT_READY);
	hvq_stop(&q); /* SIGKILL: the power cut */

	/* slots of 8 MiB (rounded up to 2 MiB): A at 0, B at 8 MiB */
	snprintf(path, sizeof path, "%s/v2.bin", tmp);
	snprintf(orig, sizeof orig, "%s/guests/rtos-demo.bin", HV_CORE_OUT);
	cr_assert(holds_file_at(slots, 0x800000, path), "slot B in the store is not 2.0.0");
	cr_assert(holds_file_at(slots, 0, orig), "slot A in the store is not the image replaced");

	boot_with("ota-slot-size = <0x0 0x7ff000>;", STORE_CFG);
	id = rtos_demo(factory);
	s = status(id);
	cr_assert_eq(s.slot[1].state, HVM_SLOT_READY, "slot B not ready after the restart");
	expect(cmd(HVM_CMD_OTA_SWITCH, id, 0, 0), HVM_OK, "OTA_SWITCH");
	wait_runs(id, "2.0.0");
	cr_assert_eq(hvq_wait(&q, trial_over, &id, 120), 0, "%s", q.err);
	s = status(id);
	cr_assert_eq(s.active, 1);
	cr_assert_eq(s.slot[1].state, HVM_SLOT_GOOD);
}

/* Flips one bit of the slot store's file at off: QEMU maps the file shared,
 * so hv-core's slot store changes behind its back (a flash fault). */
static void flip_slot_store_byte(long off)
{
	FILE *f = fopen(slots, "r+b");
	cr_assert_not_null(f, "%s", slots);
	cr_assert_eq(fseek(f, off, SEEK_SET), 0);
	int c = fgetc(f);
	cr_assert_neq(c, EOF);
	cr_assert_eq(fseek(f, off, SEEK_SET), 0);
	cr_assert_neq(fputc(c ^ 0x01, f), EOF);
	cr_assert_eq(fclose(f), 0);
}

/* The detail of the first event `type` of VM id from ring sequence `from`,
 * -1 when there is none. */
static int64_t event_detail(uint32_t type, int id, uint64_t from)
{
	uint64_t head = __atomic_load_n(&q.regs->ev_head, __ATOMIC_ACQUIRE);
	for (uint64_t n = from; n < head; n++) {
		struct hvm_event e;
		if (hvq_read_event(&q, n, &e) == 0 && e.type == type && e.vm_id == (uint32_t)id)
			return e.detail;
	}
	return -1;
}

/* MGMT-621, MGMT-713: the switch of a shut-off VM hashes nothing while it
 * holds the command: it answers, and the VM is BLOCKED while its boot job
 * checks the slot's image in units. A slot whose bytes no longer have their
 * digest fails that boot (BOOT_FAILED, E_HASH), which fails the trial: the
 * slot BAD, the previous one active again, the VM still off with the old
 * image in place, which then starts. */
Test(hvcore_ota, the_switch_of_a_shut_off_vm_hashes_in_its_boot_job)
{
	char factory[HVM_VERSION_LEN];
	make_image("v2", "2.0.0", 0);
	boot_with("ota-slot-size = <0x0 0x7ff000>;", STORE_CFG);
	int id = rtos_demo(factory);
	expect(install(id, "v2", "2.0.0", 0), HVM_OK, "OTA_INSTALL into the slot store");
	expect(cmd(HVM_CMD_DESTROY, id, 0, 0), HVM_OK, "DESTROY");
	cr_assert_eq(mu_wait_state(&q, id, HVM_VM_SHUTOFF, HVM_R_DESTROYED, WAIT_S), 0, "%s", q.err);
	flip_slot_store_byte(0x800000 + 64); /* slot B, after it was verified */

	uint64_t ev0 = q.regs->ev_head;
	expect(cmd(HVM_CMD_OTA_SWITCH, id, 1000, 60000), HVM_OK,
	       "OTA_SWITCH (answered before the boot's work, MGMT-713)");
	cr_assert_eq(hvq_wait(&q, trial_over, &id, WAIT_S), 0, "trial never ended: %s", q.err);
	cr_assert_eq(event_detail(HVM_EV_BOOT_FAILED, id, ev0), HVM_E_HASH,
		     "no BOOT_FAILED event with E_HASH");
	cr_assert_eq(mu_count_events(&q, HVM_EV_STARTED, (uint32_t)id, ev0), 0,
		     "the changed image was started");
	struct hvm_ota_status s = status(id);
	cr_assert_eq(s.last_result, HVM_OTA_FAIL_FAULT, "result %u", s.last_result);
	cr_assert_eq(s.active, 0);
	cr_assert_eq(s.slot[1].state, HVM_SLOT_BAD);
	cr_assert_eq(s.slot[0].state, HVM_SLOT_GOOD);
	cr_assert_str_eq(s.floor, "");
	cr_assert_eq(event_detail(HVM_EV_OTA_ROLLED_BACK, id, ev0), HVM_OTA_FAIL_FAULT);
	cr_assert_eq(mu_slot(&q, id).state, HVM_VM_SHUTOFF, "a VM off before the switch stays off");

	expect(cmd(HVM_CMD_START, id, 0, 0), HVM_OK, "START of the old image");
	wait_runs(id, factory);
}

/* Stages tmp/NAME.bin and installs it into the initrd slot (arg[3] = 1). */
static struct hvq_reply install_initrd(int id, const char *name, const char *version)
{
	char path[400];
	snprintf(path, sizeof path, "%s/%s.bin", tmp, name);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	static uint8_t rd[1 << 20];
	size_t n = fread(rd, 1, sizeof rd, f);
	fclose(f);
	uint8_t *stage = hvq_pa(&q, q.regs->staging_base, n);
	cr_assert_not_null(stage);
	memcpy(stage, rd, n);
	struct hvm_ota_image h;
	memset(&h, 0, sizeof h);
	h.magic = HVM_OTA_IMAGE_MAGIC;
	h.size = n;
	cr_assert_eq(EVP_Digest(rd, n, h.sha256, NULL, EVP_sha256(), NULL), 1);
	snprintf(h.version, sizeof h.version, "%s", version);
	memcpy((void *)(q.mgmt + HVM_OFF_DATA), &h, sizeof h);
	struct hvq_reply rep;
	uint64_t args[6] = { 0, n, 0, 1 };
	cr_assert_eq(hvq_command(&q, HVM_CMD_OTA_INSTALL, (uint32_t)id, args, &rep), 0, "%s", q.err);
	return rep;
}

/* MGMT-663: a VM that boots an initrd is switched only when the image and
 * the initrd of the same version are both installed; the switch copies both
 * from the slot store, so the guest's RAM holds the new initrd; after a power
 * cut the store's file holds both initrd slots. rtos-demo stands in for Linux
 * here: its "initrd" is any file, placed where the configuration says. */
Test(hvcore_ota, the_image_and_its_initrd_are_switched_together)
{
	char factory[HVM_VERSION_LEN], path[400];
	make_image("v2", "2.0.0", 0);
	snprintf(path, sizeof path, "%s/rd2.bin", tmp);
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	for (int i = 0; i < 300000; i++)
		fputc((i * 7 + i / 251) & 0xFF, f);
	cr_assert_eq(fclose(f), 0);
	boot_extra = "initrd-address = <0x0 0x40800000>; initrd-size = <0x0 @SIZE:bad-access@>;"
		     " initrd-store = <0x0 @STORE:bad-access@>;"
		     " initrd-sha256 = [@SHA256:bad-access@];";
	boot_with("", STORE_CFG);
	int id = rtos_demo(factory);
	expect(install(id, "v2", "2.0.0", 0), HVM_OK, "OTA_INSTALL of the image");
	struct hvq_reply r = cmd(HVM_CMD_OTA_SWITCH, id, 0, 0);
	expect(r, HVM_E_STATE, "OTA_SWITCH without the initrd");
	cr_expect(strstr(r.msg, "MGMT-663"), "'%s'", r.msg);
	r = install_initrd(id, "rd2", "2.0.0");
	expect(r, HVM_OK, "OTA_INSTALL of the initrd");
	expect(cmd(HVM_CMD_OTA_SWITCH, id, 0, 0), HVM_OK, "OTA_SWITCH with both");
	wait_runs(id, "2.0.0");
	cr_assert_eq(hvq_wait(&q, trial_over, &id, 120), 0, "%s", q.err);
	struct hvm_ota_status s = status(id);
	cr_assert_eq(s.active, 1);
	cr_assert_eq(s.slot[1].state, HVM_SLOT_GOOD);
	/* the guest's RAM (16 MiB at 0x49000000 for IPA 0x40000000) holds it */
	const uint8_t *ram = hvq_pa(&q, 0x49800000, 300000);
	cr_assert_not_null(ram);
	for (int i = 0; i < 300000; i++)
		cr_assert_eq(ram[i], (uint8_t)((i * 7 + i / 251) & 0xFF),
			     "the guest's initrd differs at byte %d", i);
	/* image slots of 2 MiB (its image place), initrd slots after them */
	cr_assert(file_has(q.serial, "slots in the slot store at 0x0, 0x200000 bytes each"),
		  "the slots were not placed as expected");
	hvq_stop(&q); /* SIGKILL */
	boot_extra = "";
	cr_assert(holds_file_at(slots, 0x600000, path), "initrd slot B in the store is not rd2");
}

/* MGMT-661, MGMT-662: a VM whose slots are in the slot store, booted once
 * without it, boots the image of its configuration and installs nothing;
 * nothing of another VM's slots in the flash bank is touched. */
Test(hvcore_ota, slots_in_a_missing_slot_store_are_not_used)
{
	char factory[HVM_VERSION_LEN];
	make_image("v2", "2.0.0", 0);
	boot_with("ota-slot-size = <0x0 0x7ff000>;", STORE_CFG);
	int id = rtos_demo(factory);
	expect(install(id, "v2", "2.0.0", 0), HVM_OK, "OTA_INSTALL into the slot store");
	hvq_stop(&q);
	boot_with("ota-slot-size = <0x0 0x7ff000>;", "");
	id = rtos_demo(factory);
	cr_assert(file_has(q.serial, "a slot store this boot lacks (MGMT-661)"),
		  "the missing store was not said");
	struct hvq_reply r = install(id, "v2", "2.0.0", 0);
	expect(r, HVM_E_NO_SPACE, "OTA_INSTALL without the slot store");
	cr_expect(strstr(r.msg, "MGMT-662"), "'%s'", r.msg);
}

/* VMCFG-602: a slot size above 1 GiB is refused naming the clause. */
Test(hvcore_ota, an_oversized_slot_size_is_refused)
{
	boot_with("ota-slot-size = <0x1 0x0>;", STORE_CFG);
	cr_assert_eq(hvq_find_vm(&q, "rtos-demo"), -1, "a slot of 4 GiB was accepted");
	cr_assert(file_has(q.serial, "VMCFG-602"), "the refusal does not name VMCFG-602");
}

/* The /hv-core/ota node naming tmp/ca.der as the update CA of system car-7. */
static const char *trust_node(void)
{
	size_t n;
	uint8_t *der = slurp("ca.der", &n);
	static char hv[16384];
	size_t o = (size_t)snprintf(hv, sizeof hv, "\t\tota { system = \"car-7\"; update-ca = [");
	for (size_t i = 0; i < n && o + 4 < sizeof hv; i++)
		o += (size_t)snprintf(hv + o, sizeof hv - o, "%02x", der[i]);
	snprintf(hv + o, sizeof hv - o, "]; };");
	return hv;
}

Test(hvcore_ota, hv_core_installs_only_what_a_trusted_signer_signed)
{
	char factory[HVM_VERSION_LEN];
	make_image("v2", "2.0.0", 0);
	cr_assert_eq(sh("$HVCTL pki init --dir pki && $HVCTL pki init --dir other"), 0);
	cr_assert_eq(sh("$HVCTL ota bundle --key pki/update-signer.key --cert "
			"pki/update-signer.crt -o good.hvota --system car-7 rtos-demo=v2.bin@2.0.0 "
			"&& $HVCTL ota bundle --key other/update-signer.key --cert "
			"other/update-signer.crt -o foreign.hvota --system car-7 rtos-demo=v2.bin@2.0.0 "
			"&& $HVCTL ota bundle --key pki/update-signer.key --cert "
			"pki/update-signer.crt -o othervm.hvota --system car-7 web=v2.bin@2.0.0 "
			"&& $HVCTL ota bundle --key pki/update-signer.key --cert "
			"pki/update-signer.crt -o othersys.hvota --system car-8 rtos-demo=v2.bin@2.0.0 "
			"&& openssl x509 -in pki/update-ca.crt -outform der -out ca.der"),
		     0, "PKI or bundles not made");
	boot_with("", trust_node());
	int id = rtos_demo(factory);

	expect(install(id, "v2", "2.0.0", 0), HVM_E_SIGNATURE, "a bare digest with a trust anchor");
	struct hvq_reply r = signed_install(id, "good", raise_version, 0);
	expect(r, HVM_E_SIGNATURE, "a changed manifest");
	cr_assert(strstr(r.msg, "MGMT-641"), "'%s'", r.msg);
	r = signed_install(id, "foreign", NULL, 0);
	expect(r, HVM_E_SIGNATURE, "a signer of another CA");
	cr_assert(strstr(r.msg, "chain"), "'%s'", r.msg);
	r = signed_install(id, "othervm", NULL, 0);
	expect(r, HVM_E_SIGNATURE, "a manifest for another VM");
	cr_assert(strstr(r.msg, "no image for VM"), "'%s'", r.msg);
	r = signed_install(id, "othersys", NULL, 0);
	expect(r, HVM_E_SIGNATURE, "another system");
	cr_assert(strstr(r.msg, "another system"), "'%s'", r.msg);
	expect(signed_install(id, "good", NULL, 1), HVM_E_HASH, "a changed image byte");
	cr_assert_eq(status(id).slot[1].state, HVM_SLOT_EMPTY, "a refused install left a slot");

	expect(signed_install(id, "good", NULL, 0), HVM_OK, "the signed bundle");
	struct hvm_ota_status s = status(id);
	cr_assert_eq(s.slot[1].state, HVM_SLOT_READY);
	cr_assert_str_eq(s.slot[1].version, "2.0.0", "the version is the manifest's");
	expect(cmd(HVM_CMD_OTA_SWITCH, id, 1000, 60000), HVM_OK, "OTA_SWITCH");
	cr_assert_eq(hvq_wait(&q, trial_over, &id, WAIT_S), 0, "trial never ended: %s", q.err);
	cr_assert_eq(status(id).last_result, HVM_OTA_CONFIRMED);
	wait_runs(id, "2.0.0");
}

/* ---- update groups (MGMT-650..656) ------------------------------------------ */

/* A second VM, rtos-b, runs its own copy of the RTOS demo: tmp/core is the
 * build's hv-core output with guests/rtos-b.bin beside rtos-demo.bin (copies:
 * hv-qemu.sh takes an image's size from the file it names). */
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

static void two_vm_core(void)
{
	static char dir[300];
	snprintf(dir, sizeof dir, "%s/core", tmp);
	char line[1200];
	snprintf(line, sizeof line,
		 "mkdir -p core/guests && ln -s %s/hvcore.bin %s/hvcore-test.bin core/ && "
		 "cp %s/guests/rtos-demo.bin core/guests/ && cp core/guests/rtos-demo.bin "
		 "core/guests/rtos-b.bin",
		 HV_CORE_OUT, HV_CORE_OUT, HV_CORE_OUT);
	cr_assert_eq(sh(line), 0, "tmp/core not made");
	core_dir = dir;
	more_vms = rtos_b_node;
}

struct both {
	int a, b;
};

static int both_over(struct hvq *h, void *arg)
{
	struct both *w = arg;
	return trial_over(h, &w->a) && trial_over(h, &w->b);
}

/* MGMT-650..653: a manifest naming two VMs makes them one group: neither is
 * switched alone or with an image from another bundle; a switch of either
 * switches both; they are confirmed together, and when one fails its trial
 * both run their previous images again. A power cut in the group's trial
 * brings both back (MGMT-654). */
Test(hvcore_ota, an_update_group_is_switched_confirmed_and_rolled_back_whole)
{
	char factory[HVM_VERSION_LEN];
	make_image("v2", "2.0.0", 0);
	make_image("v3", "3.0.0", 0);
	make_image("v3broken", "3.0.0", 1);
	cr_assert_eq(sh("$HVCTL pki init --dir pki && openssl x509 -in pki/update-ca.crt "
			"-outform der -out ca.der && S=\"--key pki/update-signer.key --cert "
			"pki/update-signer.crt --system car-7\" && "
			"$HVCTL ota bundle $S -o g2.hvota rtos-demo=v2.bin@2.0.0 rtos-b=v2.bin@2.0.0 && "
			"$HVCTL ota bundle $S -o g3.hvota rtos-demo=v3.bin@3.0.0 "
			"rtos-b=v3broken.bin@3.0.0 && $HVCTL ota bundle $S -o b2.hvota "
			"rtos-b=v2.bin@2.0.0"),
		     0, "PKI or bundles not made");
	two_vm_core();
	boot_with("", trust_node());
	struct both w = { rtos_demo(factory), hvq_find_vm(&q, "rtos-b") };
	cr_assert_geq(w.b, 0, "rtos-b not defined");
	cr_assert_eq(mu_wait_heartbeat(&q, w.b, 0, WAIT_S), 0, "%s", q.err);

	/* one VM of the group installed: neither switches */
	expect(signed_install_nth(w.a, "g2", 0, NULL, 0), HVM_OK, "rtos-demo of g2");
	struct hvq_reply r = cmd(HVM_CMD_OTA_SWITCH, w.a, 1000, 60000);
	expect(r, HVM_E_STATE, "switch of half a group");
	cr_assert(strstr(r.msg, "1 of the 2") && strstr(r.msg, "MGMT-651"), "'%s'", r.msg);
	expect(cmd(HVM_CMD_OTA_SWITCH, w.b, 1000, 60000), HVM_E_STATE, "rtos-b, nothing installed");
	/* the other VM's image from another bundle does not complete it */
	expect(signed_install(w.b, "b2", NULL, 0), HVM_OK, "rtos-b alone");
	r = cmd(HVM_CMD_OTA_SWITCH, w.a, 1000, 60000);
	expect(r, HVM_E_STATE, "images mixed from two bundles");
	cr_assert(strstr(r.msg, "1 of the 2"), "'%s'", r.msg);
	cr_assert_eq(status(w.a).in_trial, 0);
	cr_assert_eq(status(w.b).in_trial, 0);

	/* MGMT-654: a power cut in the group's trial: both back */
	expect(signed_install_nth(w.b, "g2", 1, NULL, 0), HVM_OK, "rtos-b of g2");
	struct hvm_ota_status s = status(w.a);
	cr_assert_eq(s.group_vms, (1u << w.a) | (1u << w.b), "group_vms 0x%x", s.group_vms);
	expect(cmd(HVM_CMD_OTA_SWITCH, w.b, 600000, 600000), HVM_OK, "switch of rtos-b");
	cr_assert_eq(status(w.a).in_trial, 1, "rtos-b was switched without rtos-demo");
	wait_runs(w.a, "2.0.0");
	wait_runs(w.b, "2.0.0");
	hvq_stop(&q);
	boot_with("", trust_node());
	wait_runs(w.a, factory);
	wait_runs(w.b, factory);
	for (int i = 0; i < 2; i++) {
		s = status(i ? w.b : w.a);
		cr_assert_eq(s.last_result, HVM_OTA_FAIL_RESET, "vm %d: result %u", i, s.last_result);
		cr_assert_eq(s.active, 0);
		cr_assert_eq(s.in_trial, 0);
	}

	/* installed again, switched by rtos-demo, confirmed together */
	expect(signed_install_nth(w.a, "g2", 0, NULL, 0), HVM_OK, "rtos-demo of g2 again");
	expect(signed_install_nth(w.b, "g2", 1, NULL, 0), HVM_OK, "rtos-b of g2 again");
	uint64_t ev0 = q.regs->ev_head;
	expect(cmd(HVM_CMD_OTA_SWITCH, w.a, 1000, 60000), HVM_OK, "switch of the group");
	cr_assert_eq(hvq_wait(&q, both_over, &w, WAIT_S), 0, "trials never ended: %s", q.err);
	for (int i = 0; i < 2; i++) {
		s = status(i ? w.b : w.a);
		cr_assert_eq(s.last_result, HVM_OTA_CONFIRMED, "vm %d: result %u", i, s.last_result);
		cr_assert_eq(s.active, 1);
		cr_assert_str_eq(s.floor, "2.0.0");
		cr_assert_eq(mu_count_events(&q, HVM_EV_OTA_CONFIRMED, (uint32_t)(i ? w.b : w.a), ev0),
			     1);
	}
	wait_runs(w.a, "2.0.0");
	wait_runs(w.b, "2.0.0");

	/* MGMT-653: rtos-b's 3.0.0 is broken: rtos-demo's good 3.0.0 goes too */
	expect(signed_install_nth(w.a, "g3", 0, NULL, 0), HVM_OK, "rtos-demo of g3");
	expect(signed_install_nth(w.b, "g3", 1, NULL, 0), HVM_OK, "rtos-b of g3 (broken)");
	ev0 = q.regs->ev_head;
	/* a window well beyond the broken image's half second of heartbeats */
	expect(cmd(HVM_CMD_OTA_SWITCH, w.a, 5000, 60000), HVM_OK, "switch to g3");
	cr_assert_eq(hvq_wait(&q, both_over, &w, WAIT_S), 0, "trials never ended: %s", q.err);
	s = status(w.b);
	cr_assert_eq(s.last_result, HVM_OTA_FAIL_WATCHDOG, "rtos-b: result %u", s.last_result);
	cr_assert_eq(s.active, 1);
	cr_assert_eq(s.slot[0].state, HVM_SLOT_BAD);
	cr_assert_str_eq(s.floor, "2.0.0");
	s = status(w.a);
	cr_assert_eq(s.last_result, HVM_OTA_FAIL_GROUP, "rtos-demo: result %u", s.last_result);
	cr_assert_eq(s.active, 1);
	cr_assert_eq(s.slot[0].state, HVM_SLOT_BAD);
	cr_assert_str_eq(s.floor, "2.0.0", "the floor rose without the group's confirmation");
	cr_assert_eq(mu_count_events(&q, HVM_EV_OTA_CONFIRMED, (uint32_t)w.a, ev0), 0);
	cr_assert_eq(mu_count_events(&q, HVM_EV_OTA_ROLLED_BACK, (uint32_t)w.a, ev0), 1);
	wait_runs(w.a, "2.0.0");
	wait_runs(w.b, "2.0.0");
}

/* ---- power cuts at every persistence point (MGMT-604) ------------------------ */

/* hvcore-test.bin's power-cut words (MGMT-604): "NVCT", the point to cut at,
 * the points passed since boot (the test sets it to 0 before a phase), 1 once
 * cut. */
#define CUT_FLAG 0x41FFF020ull
#define CUT_MAGIC 0x5443564Eu

static volatile uint32_t *cut_words(struct hvq *h)
{
	return hvq_pa(h, CUT_FLAG, 16);
}

struct step_wait {
	uint64_t seq, ev0;  /* the command's sequence; events from here */
	struct both *trial; /* NULL: the command's completion            */
};

static int trial_ended(struct hvq *h, int id, uint64_t ev0)
{
	return mu_count_events(h, HVM_EV_OTA_CONFIRMED, (uint32_t)id, ev0) +
		       mu_count_events(h, HVM_EV_OTA_ROLLED_BACK, (uint32_t)id, ev0) >
	       0;
}

/* Reads only memory, so that a halted hv-core does not stall it. */
static int step_over(struct hvq *h, void *arg)
{
	struct step_wait *w = arg;
	if (cut_words(h)[3] == 1)
		return 1;
	if (w->trial)
		return trial_ended(h, w->trial->a, w->ev0) && trial_ended(h, w->trial->b, w->ev0);
	return __atomic_load_n(&h->regs->done_seq, __ATOMIC_ACQUIRE) >= w->seq;
}

/* One step of an update of the group w: OTA_INSTALL of image `index` of
 * bundle tmp/NAME.hvota into VM id, or (name NULL) OTA_SWITCH of VM id and
 * the end of the group's trials. 1 when the power was cut during it. */
static int step(struct both *w, int id, const char *name, unsigned index)
{
	volatile struct hvm_regs *r = q.regs;
	struct step_wait sw = { __atomic_load_n(&r->done_seq, __ATOMIC_ACQUIRE) + 1, r->ev_head,
				NULL };
	uint64_t args[6] = { 500, 60000 }; /* OTA_SWITCH: window, timeout */
	uint32_t c = HVM_CMD_OTA_SWITCH;
	if (name) {
		c = HVM_CMD_OTA_INSTALL;
		args[0] = 0;
		args[1] = stage_signed(name, index, NULL, 0);
		args[2] = 1;
	}
	r->cmd = c;
	r->vm_id = (uint32_t)id;
	for (int i = 0; i < 6; i++)
		r->arg[i] = args[i];
	__atomic_store_n(&r->req_seq, sw.seq, __ATOMIC_RELEASE);
	cr_assert_eq(hvq_wait(&q, step_over, &sw, WAIT_S), 0, "%s", q.err);
	if (cut_words(&q)[3] == 1)
		return 1;
	char msg[64];
	for (int i = 0; i < 63; i++)
		msg[i] = r->ret_msg[i];
	msg[63] = 0;
	cr_assert_eq(r->status, HVM_OK, "%s of vm %d: %s", name ? name : "switch", id, msg);
	if (name)
		return 0;
	sw.trial = w;
	cr_assert_eq(hvq_wait(&q, step_over, &sw, WAIT_S), 0, "trials: %s", q.err);
	return cut_words(&q)[3] == 1;
}

/* The steps of phase 0 (g2: both VMs to 2.0.0, confirmed) or 1 (g3: rtos-b's
 * image reports 3.0.0, its manifest line says 3.0.1, so the group rolls
 * back); bounds[k] = points passed after step k. 1 when the power was cut. */
static int phase(struct both *w, int ph, uint32_t bounds[3])
{
	const char *b = ph ? "g3" : "g2";
	int cut = step(w, w->a, b, 0);
	if (bounds)
		bounds[0] = cut_words(&q)[2];
	if (!cut)
		cut = step(w, w->b, b, 1);
	if (bounds)
		bounds[1] = cut_words(&q)[2];
	if (!cut)
		cut = step(w, w->a, NULL, 0);
	if (bounds)
		bounds[2] = cut_words(&q)[2];
	return cut;
}

/* The version VM id runs, once it runs one with a beating heartbeat. */
static void running_version(int id, char v[HVM_VERSION_LEN])
{
	cr_assert_eq(mu_wait_heartbeat(&q, id, 0, WAIT_S), 0, "%s", q.err);
	memcpy(v, mu_slot(&q, id).image_version, HVM_VERSION_LEN);
	wait_runs(id, v);
}

/* a >= b in dotted-number order; "" is below every version. */
static int ota_floor_ge(const char *a, const char *b)
{
	unsigned x[4] = { 0 }, y[4] = { 0 };
	if (!b[0])
		return 1;
	if (!a[0])
		return 0;
	sscanf(a, "%u.%u.%u.%u", &x[0], &x[1], &x[2], &x[3]);
	sscanf(b, "%u.%u.%u.%u", &y[0], &y[1], &y[2], &y[3]);
	for (int i = 0; i < 4; i++)
		if (x[i] != y[i])
			return x[i] > y[i];
	return 1;
}

/* After the restart that follows a cut at point n: no trial survived; both
 * VMs run, the same update (old or new), never one without the other; the
 * floors are equal, not below floor0, and the new version's when it runs. */
static int check_after_cut(struct both *w, unsigned n, const char *old, const char *new,
			   const char *floor0)
{
	char va[HVM_VERSION_LEN], vb[HVM_VERSION_LEN];
	running_version(w->a, va);
	running_version(w->b, vb);
	struct hvm_ota_status a = status(w->a), b = status(w->b);
	cr_assert(!a.in_trial && !b.in_trial, "point %u: a trial survived the restart", n);
	cr_assert(strcmp(va, old) == 0 || strcmp(va, new) == 0, "point %u: rtos-demo runs '%s'", n,
		  va);
	cr_assert_str_eq(va, vb, "point %u: a mixed group: rtos-demo %s, rtos-b %s", n, va, vb);
	cr_assert_str_eq(a.floor, b.floor, "point %u: floors %s and %s", n, a.floor, b.floor);
	cr_assert(ota_floor_ge(a.floor, floor0), "point %u: floor %s went below %s", n, a.floor,
		  floor0);
	if (strcmp(va, new) != 0)
		return 0;
	cr_assert_str_eq(a.floor, new, "point %u: %s runs, floor %s", n, new, a.floor);
	return 1;
}

/* MGMT-604: the power is cut (hvcore-test.bin halts at persistence point n,
 * the test kills QEMU) at each point of installing, switching and confirming
 * a group of two VMs (phase 0), and of installing, switching and rolling back
 * a failing one (phase 1, from the bank as phase 0 left it); after the
 * restart, hv-core on its own ends any trial, both VMs run the same update,
 * old or new, and no floor went down. Every point of the switch and of the
 * trial's end is cut, and every other point of the installs, so that the
 * test stays within a few minutes on a loaded machine. */
Test(hvcore_ota, a_power_cut_at_any_persistence_point_leaves_a_whole_group, .timeout = 900)
{
	char factory[HVM_VERSION_LEN];
	make_image("v2", "2.0.0", 0);
	make_image("v3", "3.0.0", 0);
	cr_assert_eq(sh("$HVCTL pki init --dir pki && openssl x509 -in pki/update-ca.crt "
			"-outform der -out ca.der && S=\"--key pki/update-signer.key --cert "
			"pki/update-signer.crt --system car-7\" && "
			"$HVCTL ota bundle $S -o g2.hvota rtos-demo=v2.bin@2.0.0 rtos-b=v2.bin@2.0.0 && "
			"$HVCTL ota bundle $S -o g3.hvota rtos-demo=v3.bin@3.0.0 "
			"rtos-b=v3.bin@3.0.1"),
		     0, "PKI or bundles not made");
	two_vm_core();
	static char img[300], nv0[300];
	snprintf(img, sizeof img, "%s/hvcore-test.bin", HV_CORE_OUT);
	hv_image = img;
	snprintf(nv0, sizeof nv0, "%s/nv-phase1.bin", tmp);

	/* a run without a cut counts the points of each step */
	uint32_t bounds[2][3];
	boot_with("", trust_node());
	struct both w = { rtos_demo(factory), hvq_find_vm(&q, "rtos-b") };
	cr_assert_geq(w.b, 0);
	/* points count from the phase's start: a boot passes some of its own
	 * (it counts itself in the record, MGMT-500) */
	cut_words(&q)[2] = 0;
	cr_assert_eq(phase(&w, 0, bounds[0]), 0);
	hvq_stop(&q);
	char line[700], restore[700];
	snprintf(line, sizeof line, "cp '%s' '%s'", nvram, nv0);
	snprintf(restore, sizeof restore, "cp '%s' '%s'", nv0, nvram);
	cr_assert_eq(system(line), 0);
	boot_with("", trust_node());
	check_after_cut(&w, 0, "2.0.0", "2.0.0", "2.0.0");
	cut_words(&q)[2] = 0;
	cr_assert_eq(phase(&w, 1, bounds[1]), 0);
	cr_assert_str_eq(status(w.b).floor, "2.0.0");
	hvq_stop(&q);
	cr_log_info("points: phase 0 %u/%u/%u, phase 1 %u/%u/%u", bounds[0][0], bounds[0][1],
		    bounds[0][2], bounds[1][0], bounds[1][1], bounds[1][2]);

	unsigned cuts = 0, news[2] = { 0, 0 };
	for (int ph = 0; ph < 2; ph++) {
		for (uint32_t n = 1; n <= bounds[ph][2]; n++) {
			/* every point of the switch and of its end; every other
			 * point of the installs (their points repeat per VM) */
			if (n <= bounds[ph][1] && (n + (uint32_t)ph) % 2 == 0)
				continue;
			if (ph == 0)
				unlink(nvram);
			else
				cr_assert_eq(system(restore), 0);
			boot_with("", trust_node());
			cr_assert_eq(mu_wait_heartbeat(&q, w.a, 0, WAIT_S), 0, "%s", q.err);
			cr_assert_eq(mu_wait_heartbeat(&q, w.b, 0, WAIT_S), 0, "%s", q.err);
			volatile uint32_t *cw = cut_words(&q);
			cw[2] = 0;
			cw[1] = n;
			cw[0] = CUT_MAGIC;
			cr_assert_eq(phase(&w, ph, NULL), 1, "phase %d: point %u never came", ph, n);
			hvq_stop(&q); /* the power cut */
			boot_with("", trust_node());
			if (ph == 0)
				news[0] += check_after_cut(&w, n, factory, "2.0.0", "");
			else
				news[1] += check_after_cut(&w, n, "2.0.0", "3.0.0", "2.0.0");
			hvq_stop(&q);
			cuts++;
		}
	}
	cr_assert_geq(cuts, 20, "only %u points cut", cuts);
	/* a cut after the group's confirmation was stored: the new update */
	cr_assert_geq(news[0], 1, "no cut left the confirmed update of phase 0");
	cr_assert_eq(news[1], 0, "the failing update of phase 1 survived a cut");
	cr_log_info("%u power cuts; the new update ran after %u of phase 0's", cuts, news[0]);
}

/* MGMT-663: a signed bundle with the lines `rtos-demo` and `rtos-demo.initrd`
 * installs the image and the initrd (arg[3] = 1), each checked against its
 * own line, and is one VM of its update group: the switch takes both. */
/* hv-core with an update trust anchor and a slot store, rtos-demo booting a
 * stand-in initrd; both.hvota (and, with other, other.hvota: the same lines,
 * another bundle) of rtos-demo 2.0.0 and its initrd. rtos-demo's id. */
static int initrd_core(int other)
{
	char factory[HVM_VERSION_LEN];
	make_image("v2", "2.0.0", 0);
	cr_assert_eq(sh("head -c 200000 /dev/urandom > rd2.bin && $HVCTL pki init --dir pki && "
			"$HVCTL ota bundle --key pki/update-signer.key --cert "
			"pki/update-signer.crt -o both.hvota --system car-7 rtos-demo=v2.bin@2.0.0 "
			"rtos-demo.initrd=rd2.bin@2.0.0 && "
			"openssl x509 -in pki/update-ca.crt -outform der -out ca.der"),
		     0, "PKI or bundle not made");
	if (other)
		cr_assert_eq(sh("$HVCTL ota bundle --key pki/update-signer.key --cert "
				"pki/update-signer.crt -o other.hvota --system car-7 "
				"rtos-demo=v2.bin@2.0.0 rtos-demo.initrd=rd2.bin@2.0.0"),
			     0, "second bundle not made");
	boot_extra = "initrd-address = <0x0 0x40800000>; initrd-size = <0x0 @SIZE:bad-access@>;"
		     " initrd-store = <0x0 @STORE:bad-access@>;"
		     " initrd-sha256 = [@SHA256:bad-access@];";
	static char hv[16500];
	snprintf(hv, sizeof hv, "%s", trust_node());
	char *end = strrchr(hv, '}');
	cr_assert_not_null(end);
	snprintf(end, sizeof hv - (size_t)(end - hv), "slot-store = @SLOT-STORE@; };");
	boot_with("", hv);
	boot_extra = "";
	return rtos_demo(factory);
}

Test(hvcore_ota, a_signed_bundle_installs_the_image_and_its_initrd)
{
	int id = initrd_core(0);
	struct hvq_reply r;
	uint64_t args[6] = { 0, stage_signed("both", 1, NULL, 1), 1, 1 };
	cr_assert_eq(hvq_command(&q, HVM_CMD_OTA_INSTALL, (uint32_t)id, args, &r), 0, "%s", q.err);
	expect(r, HVM_E_HASH, "a changed initrd byte");
	expect(signed_install(id, "both", NULL, 0), HVM_OK, "the image");
	/* MGMT-665: the initrd never had an update: initrd A is the configured one */
	struct hvm_ota_status mid = status(id);
	cr_expect_eq(mid.initrd[0].state, HVM_SLOT_GOOD, "MGMT-665: initrd A GOOD before its update");
	cr_expect_eq(mid.initrd[1].state, HVM_SLOT_EMPTY, "MGMT-665: initrd B EMPTY");
	args[1] = stage_signed("both", 1, NULL, 0);
	cr_assert_eq(hvq_command(&q, HVM_CMD_OTA_INSTALL, (uint32_t)id, args, &r), 0, "%s", q.err);
	expect(r, HVM_OK, "the initrd");
	expect(cmd(HVM_CMD_OTA_SWITCH, id, 1000, 60000), HVM_OK, "OTA_SWITCH");
	cr_assert_eq(hvq_wait(&q, trial_over, &id, WAIT_S), 0, "trial never ended: %s", q.err);
	cr_assert_eq(status(id).last_result, HVM_OTA_CONFIRMED);
}

/* MGMT-664: the image of one bundle and the initrd of another, of the same
 * version and the same bytes, are not switched (E_MIXED, nothing changed);
 * the initrd of the image's own bundle is. */
Test(hvcore_ota, an_image_and_an_initrd_from_different_bundles_are_not_switched)
{
	int id = initrd_core(1);
	struct hvq_reply r;
	uint64_t args[6] = { 0, 0, 1, 1 };
	expect(signed_install(id, "both", NULL, 0), HVM_OK, "the image of both.hvota");
	args[1] = stage_signed("other", 1, NULL, 0);
	cr_assert_eq(hvq_command(&q, HVM_CMD_OTA_INSTALL, (uint32_t)id, args, &r), 0, "%s", q.err);
	expect(r, HVM_OK, "the initrd of other.hvota");
	struct hvm_ota_status before = status(id);
	cr_expect_eq(before.initrd[1].state, HVM_SLOT_READY, "MGMT-665: initrd B in OTA_STATUS");
	cr_expect_eq(before.initrd[1].size, 200000u);
	r = cmd(HVM_CMD_OTA_SWITCH, id, 1000, 60000);
	expect(r, HVM_E_MIXED, "image and initrd of two bundles");
	cr_expect(strstr(r.msg, "different bundles") != NULL, "%s", r.msg);
	struct hvm_ota_status after = status(id);
	cr_expect_eq(after.active, before.active);
	cr_expect_eq(after.in_trial, 0);
	cr_expect_eq(after.slot[1].state, HVM_SLOT_READY);
	cr_expect_eq(after.nv_seq, before.nv_seq, "the refused switch wrote the record");
	args[1] = stage_signed("both", 1, NULL, 0);
	cr_assert_eq(hvq_command(&q, HVM_CMD_OTA_INSTALL, (uint32_t)id, args, &r), 0, "%s", q.err);
	expect(r, HVM_OK, "the initrd of both.hvota");
	expect(cmd(HVM_CMD_OTA_SWITCH, id, 1000, 60000), HVM_OK, "OTA_SWITCH");
	cr_assert_eq(hvq_wait(&q, trial_over, &id, WAIT_S), 0, "trial never ended: %s", q.err);
	cr_assert_eq(status(id).last_result, HVM_OTA_CONFIRMED);
}
