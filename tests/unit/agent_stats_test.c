/*
 * agent_stats_test.c - UNIT: the GET_STATS record check (MGMT-180,
 * agent/service/stats_record.c) against hand-made bytes and records from the
 * fake management region: runs against the test double of hv-core
 * (tests/double/hvcore_double.h).
 * A record with a wrong magic, version, size, length or VM id must be refused
 * as INTERNAL naming the field; a good one must come through whole.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hvlink.h"
#include "hvcore_double.h"
#include "stats_record.h"
#include "virtio_record.h"

static char dir[64], ram[128];
static struct fakecore *fc;
static struct hvlink *lnk;

static const struct fakecore_vm vm_a = {
	.name = "alpha", .state = HVM_VM_RUNNING, .vcpus = 1, .heartbeat = 42
};

static void setup(void)
{
	struct hvlink_config cfg = { .ram_base = FAKECORE_RAM_BASE, .mgmt_base = HVM_DEFAULT_BASE };
	struct hv_status st;

	snprintf(dir, sizeof dir, "/tmp/agent-stats-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(ram, sizeof ram, "%s/guest-ram", dir);
	fc = fakecore_create(ram, FAKECORE_RAM_BASE, HVM_DEFAULT_BASE);
	cr_assert_not_null(fc);
	fakecore_set_vm(fc, 2, &vm_a);
	cr_assert_eq(fakecore_start(fc), 0);
	cfg.ram_file = ram;
	cr_assert_eq(hvlink_open(&lnk, &cfg, &st), 0, "%s", st.msg);
}

static void teardown(void)
{
	hvlink_close(lnk);
	fakecore_destroy(fc);
	unlink(ram);
	rmdir(dir);
}

TestSuite(agent_stats, .init = setup, .fini = teardown, .timeout = 30);

/* GET_STATS for VM 2 through hvlink, then the check; returns its result. */
static int fetch(struct hvm_stats *rec, struct hv_status *st)
{
	uint8_t buf[sizeof(struct hvm_stats)];
	struct hvlink_cmd c = {
		.cmd = HVM_CMD_GET_STATS, .vm_id = 2, .data_out = buf, .data_out_cap = sizeof buf
	};
	struct hvlink_reply rep;

	cr_assert_eq(hvlink_command(lnk, &c, &rep, st), 0, "%s", st->msg);
	cr_assert_eq(rep.status, HVM_OK, "%s", rep.msg);
	return stats_record_check(buf, sizeof buf, rep.ret[0], 2, rec, st);
}

Test(agent_stats, a_good_record_comes_through_whole)
{
	struct hvm_stats rec;
	struct hv_status st = { 0 };

	cr_assert_eq(fetch(&rec, &st), 0, "%s", st.msg);
	cr_assert_eq(rec.vm_id, 2);
	cr_assert_eq(rec.state, HVM_VM_RUNNING);
	for (unsigned c = 0; c < HVM_EXIT__COUNT; c++)
		cr_assert_eq(rec.exits_by_class[c], 10u + c);
	cr_assert_eq(rec.irqs_injected, 7);
	cr_assert_eq(rec.doorbells_received, 4);
	cr_assert_eq(rec.heartbeat, 42);
}

static void expect_refused(enum fakecore_stats_defect d, const char *needle)
{
	struct hvm_stats rec;
	struct hv_status st = { 0 };

	fakecore_stats_defect(fc, d);
	cr_assert_eq(fetch(&rec, &st), -1);
	cr_assert_eq(st.code, HV_INTERNAL, "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, needle), "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, "MGMT-180"), "%s", st.msg);
}

Test(agent_stats, a_wrong_magic_is_internal_naming_it)
{
	expect_refused(FAKECORE_STATS_BAD_MAGIC, "magic 0x12345678, expected 0x54535648");
}

Test(agent_stats, a_wrong_version_is_internal_naming_it)
{
	expect_refused(FAKECORE_STATS_BAD_VERSION, "version 9, expected 1");
}

Test(agent_stats, a_wrong_size_field_is_internal_naming_it)
{
	expect_refused(FAKECORE_STATS_BAD_SIZE, "size field 128, expected 256");
}

Test(agent_stats, a_wrong_length_is_internal_naming_it)
{
	expect_refused(FAKECORE_STATS_SHORT, "length of 64 bytes, expected 256");
}

Test(agent_stats, a_record_of_another_vm_or_too_few_bytes_is_refused)
{
	struct hvm_stats good = {
		.magic = HVM_STATS_MAGIC, .version = HVM_STATS_VERSION, .size = 256, .vm_id = 5
	};
	struct hvm_stats rec;
	struct hv_status st = { 0 };

	cr_assert_eq(stats_record_check(&good, sizeof good, 256, 3, &rec, &st), -1);
	cr_assert_not_null(strstr(st.msg, "it describes VM 5"), "%s", st.msg);
	cr_assert_eq(stats_record_check(&good, 100, 256, 5, &rec, &st), -1);
	cr_assert_not_null(strstr(st.msg, "only 100 bytes"), "%s", st.msg);
	cr_assert_eq(stats_record_check(&good, sizeof good, 256, 5, &rec, &st), 0, "%s", st.msg);
}

/* MGMT-850: GET_VIRTIO's record is checked as GET_STATS' is. */
Test(agent_stats, a_wrong_virtio_record_is_internal_naming_the_field)
{
	struct hvm_virtio good = { .magic = HVM_VIRTIO_MAGIC,
				   .version = HVM_VIRTIO_VERSION,
				   .size = sizeof good,
				   .vm_id = 2,
				   .count = 1 };
	struct hvm_virtio bad, rec;
	struct hv_status st = { 0 };

	good.dev[0].type = 4;
	cr_assert_eq(virtio_record_check(&good, sizeof good, sizeof good, 1, 2, &rec, &st), 0, "%s",
		     st.msg);
	cr_assert_eq(rec.dev[0].type, 4);
	cr_assert_str_eq(virtio_type_word(rec.dev[0].type), "rng");
	cr_assert_eq(virtio_record_check(&good, sizeof good, 304, 1, 2, &rec, &st), -1);
	cr_assert_not_null(strstr(st.msg, "length of 304 bytes, expected 400"), "%s", st.msg);
	bad = good;
	bad.magic = 0;
	cr_assert_eq(virtio_record_check(&bad, sizeof bad, sizeof bad, 1, 2, &rec, &st), -1);
	cr_assert_not_null(strstr(st.msg, "magic 0x00000000"), "%s", st.msg);
	cr_assert_eq(virtio_record_check(&good, sizeof good, sizeof good, 1, 3, &rec, &st), -1);
	cr_assert_not_null(strstr(st.msg, "it describes VM 2"), "%s", st.msg);
	cr_assert_eq(virtio_record_check(&good, sizeof good, sizeof good, 2, 2, &rec, &st), -1);
	cr_assert_not_null(strstr(st.msg, "count 1 (ret[1] 2)"), "%s", st.msg);
	bad = good;
	bad.count = 5;
	cr_assert_eq(virtio_record_check(&bad, sizeof bad, sizeof bad, 5, 2, &rec, &st), -1);
	cr_assert_not_null(strstr(st.msg, "at most 4"), "%s", st.msg);
	bad = good;
	bad.dev[2].bytes = 1;
	cr_assert_eq(virtio_record_check(&bad, sizeof bad, sizeof bad, 1, 2, &rec, &st), -1);
	cr_assert_not_null(strstr(st.msg, "entry 2 past the count 1 is not zero"), "%s", st.msg);
}
