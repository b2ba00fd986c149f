/*
 * hvlink_test.c - unit tests of hvlink (agent/hvlink/). Runs against the test
 * double of hv-core (tests/double/hvcore_double.h), the fake management region:
 * validation of the region (MGMT-001/002/010, MGMT-004), slot decoding with
 * the gen protocol (MGMT-150), the command protocol (MGMT-111) including its
 * timeout, the event ring (MGMT-140) and console rings (MGMT-170).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvlink.h"
#include "hvcore_double.h"

static char dir[64];
static char ram[128];
static struct fakecore *fc;
static struct hvlink *lnk;

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/hvlink-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(ram, sizeof ram, "%s/guest-ram", dir);
	fc = NULL;
	lnk = NULL;
}

static void stop_churn(void);

static void teardown(void)
{
	stop_churn();
	hvlink_close(lnk);
	fakecore_destroy(fc);
	unlink(ram);
	rmdir(dir);
}

static void open_link(unsigned timeout_ms)
{
	struct hvlink_config cfg = { .ram_file = ram,
				     .ram_base = FAKECORE_RAM_BASE,
				     .mgmt_base = HVM_DEFAULT_BASE,
				     .cmd_timeout_ms = timeout_ms };
	struct hv_status st;

	cr_assert_eq(hvlink_open(&lnk, &cfg, &st), 0, "%s", st.msg);
}

static void make_core(void)
{
	fc = fakecore_create(ram, FAKECORE_RAM_BASE, HVM_DEFAULT_BASE);
	cr_assert_not_null(fc, "fakecore_create: %s", strerror(errno));
}

static const struct fakecore_vm vm_linux = {
	.name = "linux",
	.state = HVM_VM_RUNNING,
	.reason = HVM_R_BOOTED,
	.vcpus = 2,
	.pcpu_mask = 0x6,
	.mem_bytes = 256ull << 20,
	.criticality = 0,
	.fault_policy = 2,
	.heartbeat = 42,
	.image_version = "1.2.3",
	.uuid = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
		  0xee, 0xff, 0x00 },
};

static const struct fakecore_vm vm_rtos = {
	.name = "rtos",
	.state = HVM_VM_SHUTOFF,
	.reason = HVM_R_DEFINED,
	.vcpus = 1,
	.pcpu_mask = 0x1,
	.mem_bytes = 16ull << 20,
	.criticality = 4,
};

TestSuite(hvlink_region, .init = setup, .fini = teardown);

Test(hvlink_region, missing_file_is_unavailable_and_names_the_file)
{
	struct hv_status st;

	open_link(0);
	cr_assert_eq(hvlink_ensure(lnk, &st), -1);
	cr_assert_eq(st.code, HV_UNAVAILABLE);
	cr_assert_not_null(strstr(st.msg, ram), "%s", st.msg);
	char last[256];
	hvlink_last_error(lnk, last, sizeof last);
	cr_assert_str_eq(last, st.msg);
}

Test(hvlink_region, file_too_small_is_reported)
{
	struct hv_status st;
	int fd = open(ram, O_RDWR | O_CREAT, 0644);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 4096), 0);
	close(fd);
	open_link(0);
	cr_assert_eq(hvlink_ensure(lnk, &st), -1);
	cr_assert_eq(st.code, HV_UNAVAILABLE);
	cr_assert_not_null(strstr(st.msg, "too small"), "%s", st.msg);
}

Test(hvlink_region, zero_magic_means_not_started)
{
	struct hv_status st;

	make_core();
	fakecore_regs(fc)->magic = 0;
	open_link(0);
	cr_assert_eq(hvlink_ensure(lnk, &st), -1);
	cr_assert_eq(st.code, HV_UNAVAILABLE);
	cr_assert_not_null(strstr(st.msg, "not started"), "%s", st.msg);
}

Test(hvlink_region, bad_magic_is_refused_with_the_value)
{
	struct hv_status st;

	make_core();
	fakecore_regs(fc)->magic = 0xdeadbeef;
	open_link(0);
	cr_assert_eq(hvlink_ensure(lnk, &st), -1);
	cr_assert_eq(st.code, HV_UNAVAILABLE);
	cr_assert_not_null(strstr(st.msg, "bad magic 0xdeadbeef"), "%s", st.msg);
}

Test(hvlink_region, other_abi_major_is_refused)
{
	struct hv_status st;
	char ours[32], theirs[32];

	make_core();
	fakecore_regs(fc)->abi_major = HVM_ABI_MAJOR + 1;
	fakecore_regs(fc)->abi_minor = 0;
	open_link(0);
	cr_assert_eq(hvlink_ensure(lnk, &st), -1);
	cr_assert_eq(st.code, HV_FAILED_PRECONDITION);
	/* MGMT-002: the message names both versions, hv-core's and hv-agent's. */
	snprintf(ours, sizeof ours, "ABI %u.%u", HVM_ABI_MAJOR, HVM_ABI_MINOR);
	snprintf(theirs, sizeof theirs, "ABI %u.0", HVM_ABI_MAJOR + 1);
	cr_assert_not_null(strstr(st.msg, theirs), "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, ours), "%s", st.msg);
}

Test(hvlink_region, larger_abi_minor_is_accepted)
{
	struct hv_status st;

	make_core();
	fakecore_regs(fc)->abi_minor = 7;
	open_link(0);
	cr_assert_eq(hvlink_ensure(lnk, &st), 0, "%s", st.msg);
}

Test(hvlink_region, booting_hypervisor_is_unavailable)
{
	struct hv_status st;

	make_core();
	fakecore_regs(fc)->hv_state = HVM_HV_BOOTING;
	open_link(0);
	cr_assert_eq(hvlink_ensure(lnk, &st), -1);
	cr_assert_not_null(strstr(st.msg, "booting"), "%s", st.msg);
	/* ... and becomes available once hv-core is READY: no restart needed. */
	fakecore_regs(fc)->hv_state = HVM_HV_READY;
	cr_assert_eq(hvlink_ensure(lnk, &st), 0, "%s", st.msg);
}

Test(hvlink_region, published_layout_outside_the_region_is_refused)
{
	struct hv_status st;

	make_core();
	fakecore_regs(fc)->off_slots = HVM_REGION_SIZE - 16;
	open_link(0);
	cr_assert_eq(hvlink_ensure(lnk, &st), -1);
	cr_assert_not_null(strstr(st.msg, "layout"), "%s", st.msg);
}

Test(hvlink_region, unaligned_mgmt_base_is_a_config_error)
{
	struct hvlink_config cfg = { .ram_file = ram,
				     .ram_base = FAKECORE_RAM_BASE,
				     .mgmt_base = HVM_DEFAULT_BASE + 12 };
	struct hv_status st;

	cr_assert_eq(hvlink_open(&lnk, &cfg, &st), -1);
	cr_assert_eq(st.code, HV_INVALID_ARGUMENT);
	cfg.mgmt_base = FAKECORE_RAM_BASE - 4096;
	cr_assert_eq(hvlink_open(&lnk, &cfg, &st), -1);
	cr_assert_not_null(strstr(st.msg, "below"), "%s", st.msg);
}

Test(hvlink_region, link_comes_up_when_the_file_appears_later)
{
	struct hv_status st;

	open_link(0);
	cr_assert_eq(hvlink_ensure(lnk, &st), -1);
	make_core();
	cr_assert_eq(hvlink_ensure(lnk, &st), 0, "%s", st.msg);
}

Test(hvlink_region, replaced_file_is_remapped)
{
	struct hvm_vm_slot s;
	struct hv_status st;

	make_core();
	fakecore_set_vm(fc, 0, &vm_linux);
	open_link(0);
	cr_assert_eq(hvlink_find_by_name(lnk, "linux", &s, &st), 0, "%s", st.msg);
	/* QEMU restarted: a new file under the same name. */
	fakecore_destroy(fc);
	unlink(ram);
	make_core();
	fakecore_set_vm(fc, 3, &vm_rtos);
	cr_assert_eq(hvlink_find_by_name(lnk, "linux", &s, &st), -1);
	cr_assert_eq(st.code, HV_NOT_FOUND);
	cr_assert_eq(hvlink_find_by_name(lnk, "rtos", &s, &st), 0, "%s", st.msg);
	cr_assert_eq(s.id, 3);
}

Test(hvlink_region, info_copies_the_register_page)
{
	struct hvlink_info info;
	struct hv_status st;

	make_core();
	fakecore_set_vm(fc, 0, &vm_linux);
	open_link(0);
	cr_assert_eq(hvlink_info(lnk, &info, &st), 0, "%s", st.msg);
	cr_assert_eq(info.abi_major, HVM_ABI_MAJOR);
	cr_assert_eq(info.hv_state, HVM_HV_READY);
	cr_assert_eq(info.vm_count, 1);
	cr_assert_eq(info.pcpu_count, 4);
	cr_assert_str_eq(info.hv_version, FAKECORE_VERSION);
}

TestSuite(hvlink_slots, .init = setup, .fini = teardown);

Test(hvlink_slots, slot_fields_decode)
{
	struct hvm_vm_slot s;
	struct hv_status st;

	make_core();
	fakecore_set_vm(fc, 2, &vm_linux);
	open_link(0);
	cr_assert_eq(hvlink_read_slot(lnk, 2, &s, &st), 0, "%s", st.msg);
	cr_assert_eq(s.defined, 1);
	cr_assert_eq(s.id, 2);
	cr_assert_eq(s.state, HVM_VM_RUNNING);
	cr_assert_eq(s.reason, HVM_R_BOOTED);
	cr_assert_eq(s.vcpus, 2);
	cr_assert_eq(s.pcpu_mask, 0x6);
	cr_assert_eq(s.mem_bytes, 256ull << 20);
	cr_assert_eq(s.fault_policy, 2);
	cr_assert_eq(s.heartbeat, 42);
	cr_assert_str_eq(s.name, "linux");
	cr_assert_str_eq(s.image_version, "1.2.3");
	cr_assert_arr_eq(s.uuid, vm_linux.uuid, 16);
	cr_assert_eq(s.gen % 2, 0);
}

Test(hvlink_slots, read_slots_reports_defined_mask)
{
	struct hvm_vm_slot s[HVM_MAX_VMS];
	uint32_t mask;
	struct hv_status st;

	make_core();
	fakecore_set_vm(fc, 0, &vm_linux);
	fakecore_set_vm(fc, 5, &vm_rtos);
	open_link(0);
	cr_assert_eq(hvlink_read_slots(lnk, s, &mask, &st), 0, "%s", st.msg);
	cr_assert_eq(mask, (1u << 0) | (1u << 5));
	cr_assert_str_eq(s[5].name, "rtos");
}

Test(hvlink_slots, find_by_name_uuid_id_and_not_found)
{
	struct hvm_vm_slot s;
	struct hv_status st;

	make_core();
	fakecore_set_vm(fc, 1, &vm_linux);
	open_link(0);
	cr_assert_eq(hvlink_find_by_uuid(lnk, vm_linux.uuid, &s, &st), 0, "%s", st.msg);
	cr_assert_eq(s.id, 1);
	cr_assert_eq(hvlink_find_by_id(lnk, 1, &s, &st), 0, "%s", st.msg);
	cr_assert_eq(hvlink_find_by_name(lnk, "nope", &s, &st), -1);
	cr_assert_eq(st.code, HV_NOT_FOUND);
	cr_assert_not_null(strstr(st.msg, "'nope'"), "%s", st.msg);
	cr_assert_eq(hvlink_find_by_id(lnk, 7, &s, &st), -1);
	cr_assert_eq(st.code, HV_NOT_FOUND);
	cr_assert_eq(hvlink_read_slot(lnk, 99, &s, &st), -1);
	cr_assert_eq(st.code, HV_NOT_FOUND);
	cr_assert_not_null(strstr(st.msg, "99"), "%s", st.msg);
}

Test(hvlink_slots, unterminated_name_is_cut_not_overrun)
{
	struct hvm_vm_slot s;
	struct hv_status st;

	make_core();
	fakecore_set_vm(fc, 0, &vm_linux);
	memset((void *)HVM_SLOT_AT(fakecore_base(fc), 0)->name, 'A', HVM_NAME_LEN);
	open_link(0);
	cr_assert_eq(hvlink_read_slot(lnk, 0, &s, &st), 0, "%s", st.msg);
	cr_assert_eq(strlen(s.name), HVM_NAME_LEN - 1);
}

Test(hvlink_slots, slot_claiming_another_id_is_not_believed)
{
	struct hvm_vm_slot s;
	struct hv_status st;

	make_core();
	fakecore_set_vm(fc, 0, &vm_linux);
	HVM_SLOT_AT(fakecore_base(fc), 0)->id = 9;
	open_link(0);
	cr_assert_eq(hvlink_read_slot(lnk, 0, &s, &st), -1);
	cr_assert_eq(st.code, HV_DATA_LOSS);
}

Test(hvlink_slots, writer_stuck_mid_write_gives_an_error_not_a_hang)
{
	struct hvm_vm_slot s;
	struct hv_status st;

	make_core();
	fakecore_set_vm(fc, 0, &vm_linux);
	fakecore_hold_slot(fc, 0, true);
	open_link(0);
	cr_assert_eq(hvlink_read_slot(lnk, 0, &s, &st), -1);
	cr_assert_eq(st.code, HV_UNAVAILABLE);
	cr_assert_not_null(strstr(st.msg, "slot 0"), "%s", st.msg);
	fakecore_hold_slot(fc, 0, false);
	cr_assert_eq(hvlink_read_slot(lnk, 0, &s, &st), 0, "%s", st.msg);
}

/* A writer that rewrites slot 0 continuously with every counter equal to
 * one value; a torn copy would show two different values. */
static volatile int churn_stop;
static pthread_t churn_thread;
static int churn_running;

static void *churn(void *arg)
{
	struct fakecore_vm vm = vm_linux;
	(void)arg;
	for (uint64_t i = 1; !churn_stop; i++) {
		vm.heartbeat = i;
		vm.mem_bytes = i;
		vm.pcpu_mask = i;
		vm.vcpus = (uint32_t)i;
		fakecore_set_vm(fc, 0, &vm);
		/* Far busier than hv-core (one refresh per service tick), but
		 * leaves readers a window, as any real writer does. */
		sched_yield();
	}
	return NULL;
}

static void stop_churn(void)
{
	if (churn_running) {
		churn_stop = 1;
		pthread_join(churn_thread, NULL);
		churn_running = 0;
	}
}

Test(hvlink_slots, gen_protocol_never_returns_a_torn_slot)
{
	struct hvm_vm_slot s;
	struct hv_status st;

	struct fakecore_vm first = vm_linux;
	first.heartbeat = first.mem_bytes = first.pcpu_mask = first.vcpus = 0;
	make_core();
	fakecore_set_vm(fc, 0, &first);
	open_link(0);
	churn_stop = 0;
	cr_assert_eq(pthread_create(&churn_thread, NULL, churn, NULL), 0);
	churn_running = 1;
	for (int i = 0; i < 20000; i++) {
		cr_assert_eq(hvlink_read_slot(lnk, 0, &s, &st), 0, "%s", st.msg);
		cr_assert_eq(s.mem_bytes, s.heartbeat);
		cr_assert_eq(s.pcpu_mask, s.heartbeat);
		cr_assert_eq(s.vcpus, (uint32_t)s.heartbeat);
	}
	stop_churn();
}

Test(hvlink_slots, fault_record_is_copied)
{
	struct hvm_fault f, out;
	struct hv_status st;

	make_core();
	memset(&f, 0, sizeof f);
	f.kind = HVM_F_STAGE2_ABORT;
	f.esr = 0x92000046;
	f.far = 0x12345000;
	f.x[30] = 0xabc;
	fakecore_set_fault(fc, 3, &f);
	open_link(0);
	cr_assert_eq(hvlink_read_fault(lnk, 3, &out, &st), 0, "%s", st.msg);
	cr_assert_eq(out.kind, HVM_F_STAGE2_ABORT);
	cr_assert_eq(out.esr, 0x92000046);
	cr_assert_eq(out.far, 0x12345000);
	cr_assert_eq(out.x[30], 0xabc);
	cr_assert_eq(out.magic, HVM_FAULT_MAGIC);
	cr_assert_eq(out.size, sizeof out);
}

/* MGMT-162: a record whose magic, version or size is wrong is refused, naming the field. */
Test(hvlink_slots, fault_record_with_a_bad_header_is_refused)
{
	static const struct {
		size_t off, width;
		uint32_t value;
		const char *says;
	} bad[] = {
		{ offsetof(struct hvm_fault, magic), 4, 0x12345678u, "magic 0x12345678" },
		{ offsetof(struct hvm_fault, version), 2, 7, "version 7" },
		{ offsetof(struct hvm_fault, size), 2, 0x148, "size field 328" },
	};
	struct hvm_fault f, out;
	struct hv_status st;

	make_core();
	memset(&f, 0, sizeof f);
	f.kind = HVM_F_UNDEF_TRAP;
	open_link(0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		fakecore_set_fault(fc, 2, &f);
		volatile uint8_t *rec =
			fakecore_base(fc) + HVM_OFF_FAULTS + 2 * sizeof(struct hvm_fault);
		if (bad[i].width == 4)
			*(volatile uint32_t *)(rec + bad[i].off) = bad[i].value;
		else
			*(volatile uint16_t *)(rec + bad[i].off) = (uint16_t)bad[i].value;
		cr_assert_eq(hvlink_read_fault(lnk, 2, &out, &st), -1, "%s accepted", bad[i].says);
		cr_assert_eq(st.code, HV_DATA_LOSS);
		cr_assert_not_null(strstr(st.msg, bad[i].says), "%s", st.msg);
		cr_assert_not_null(strstr(st.msg, "fault record 2"), "%s", st.msg);
		cr_assert_not_null(strstr(st.msg, "MGMT-162"), "%s", st.msg);
	}
}

TestSuite(hvlink_cmd, .init = setup, .fini = teardown);

/* A small VM configuration blob: a root node with a "vm-name" property. */
static int build_dtb(const char *name, void *buf, int size)
{
	if (fdt_create(buf, size) || fdt_finish_reservemap(buf) || fdt_begin_node(buf, "") ||
	    fdt_property_string(buf, "compatible", "avirt,vm-config-v1") ||
	    fdt_property_string(buf, "vm-name", name) || fdt_property_u32(buf, "vcpus", 1) ||
	    fdt_end_node(buf) || fdt_finish(buf))
		return -1;
	return 0;
}

static int run_cmd(uint32_t cmd, uint32_t vm, struct hvlink_reply *rep, struct hv_status *st)
{
	struct hvlink_cmd c = { .cmd = cmd, .vm_id = vm };
	return hvlink_command(lnk, &c, rep, st);
}

Test(hvlink_cmd, round_trip_changes_state)
{
	struct hvlink_reply rep;
	struct hvm_vm_slot s;
	struct hv_status st;

	make_core();
	fakecore_set_vm(fc, 1, &vm_rtos);
	cr_assert_eq(fakecore_start(fc), 0);
	open_link(0);
	cr_assert_eq(run_cmd(HVM_CMD_START, 1, &rep, &st), 0, "%s", st.msg);
	cr_assert_eq(rep.status, HVM_OK);
	cr_assert_eq(hvlink_read_slot(lnk, 1, &s, &st), 0, "%s", st.msg);
	cr_assert_eq(s.state, HVM_VM_RUNNING);
	cr_assert_eq(s.reason, HVM_R_BOOTED);
	volatile struct hvm_regs *r = fakecore_regs(fc);
	cr_assert_eq(r->req_seq, r->done_seq);
}

Test(hvlink_cmd, refusal_comes_back_with_status_and_message)
{
	struct hvlink_reply rep;
	struct hv_status st;

	make_core();
	fakecore_set_vm(fc, 0, &vm_linux);
	cr_assert_eq(fakecore_start(fc), 0);
	open_link(0);
	cr_assert_eq(run_cmd(HVM_CMD_START, 0, &rep, &st), 0, "%s", st.msg);
	cr_assert_eq(rep.status, HVM_E_STATE);
	cr_assert_str_eq(rep.msg, "START is illegal in state RUNNING (MGMT-045)");
	cr_assert_eq(run_cmd(HVM_CMD_START, 9, &rep, &st), 0, "%s", st.msg);
	cr_assert_eq(rep.status, HVM_E_BAD_VM);
	struct hvlink_counters cnt;
	hvlink_counters(lnk, &cnt);
	cr_assert_eq(cnt.commands_sent, 2);
	cr_assert_eq(cnt.commands_failed, 2);
}

Test(hvlink_cmd, many_commands_keep_sequence_numbers_in_step)
{
	struct hvlink_reply rep;
	struct hv_status st;

	make_core();
	cr_assert_eq(fakecore_start(fc), 0);
	/* Start close to the wrap of the 32-bit sequence (MGMT-110). */
	fakecore_regs(fc)->req_seq = 0xfffffff0u;
	fakecore_regs(fc)->done_seq = 0xfffffff0u;
	open_link(0);
	for (int i = 0; i < 40; i++) {
		cr_assert_eq(run_cmd(HVM_CMD_NOP, 0, &rep, &st), 0, "%s", st.msg);
		cr_assert_eq(rep.status, HVM_OK);
	}
	cr_assert_eq(fakecore_commands(fc), 40);
	cr_assert_eq(fakecore_regs(fc)->done_seq, 0xfffffff0u + 40u);
}

Test(hvlink_cmd, data_area_carries_the_define_blob_and_ret0)
{
	uint8_t dtb[512];
	cr_assert_eq(build_dtb("new", dtb, sizeof dtb), 0);
	struct hvlink_cmd c = { .cmd = HVM_CMD_DEFINE,
				.arg = { 0, fdt_totalsize(dtb) },
				.data_in = dtb,
				.data_in_len = fdt_totalsize(dtb) };
	struct hvlink_reply rep;
	struct hvm_vm_slot s;
	struct hv_status st;

	make_core();
	fakecore_set_vm(fc, 0, &vm_linux);
	cr_assert_eq(fakecore_start(fc), 0);
	open_link(0);
	cr_assert_eq(hvlink_command(lnk, &c, &rep, &st), 0, "%s", st.msg);
	cr_assert_eq(rep.status, HVM_OK, "%u %s", rep.status, rep.msg);
	cr_assert_eq(rep.ret[0], 1);
	cr_assert_eq(hvlink_read_slot(lnk, 1, &s, &st), 0, "%s", st.msg);
	cr_assert_str_eq(s.name, "new");
}

Test(hvlink_cmd, oversized_data_is_refused_before_submission)
{
	struct hvlink_reply rep;
	struct hv_status st;
	static uint8_t big[HVM_DATA_SIZE + 1];
	struct hvlink_cmd c = { .cmd = HVM_CMD_DEFINE, .data_in = big, .data_in_len = sizeof big };

	make_core();
	cr_assert_eq(fakecore_start(fc), 0);
	open_link(0);
	cr_assert_eq(hvlink_command(lnk, &c, &rep, &st), -1);
	cr_assert_eq(st.code, HV_INVALID_ARGUMENT);
	cr_assert_eq(fakecore_commands(fc), 0);
}

Test(hvlink_cmd, silent_hypervisor_times_out_with_a_clear_error)
{
	struct hvlink_reply rep;
	struct hv_status st;

	make_core();
	fakecore_set_vm(fc, 1, &vm_rtos);
	open_link(100); /* nobody answers: the double's thread is not running */
	cr_assert_eq(run_cmd(HVM_CMD_START, 1, &rep, &st), -1);
	cr_assert_eq(st.code, HV_DEADLINE_EXCEEDED);
	cr_assert_not_null(strstr(st.msg, "did not complete START"), "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, "unresponsive"), "%s", st.msg);
	struct hvlink_counters cnt;
	hvlink_counters(lnk, &cnt);
	cr_assert_eq(cnt.commands_timed_out, 1);

	/* Once hv-core answers, the outstanding command completes first and the
	 * next command goes through normally (MGMT-113). */
	cr_assert_eq(fakecore_start(fc), 0);
	cr_assert_eq(run_cmd(HVM_CMD_NOP, 0, &rep, &st), 0, "%s", st.msg);
	cr_assert_eq(rep.status, HVM_OK);
	cr_assert_eq(fakecore_commands(fc), 2);
}

Test(hvlink_cmd, outstanding_command_blocks_the_next_with_unavailable)
{
	struct hvlink_reply rep;
	struct hv_status st;

	make_core();
	fakecore_regs(fc)->req_seq = 5; /* left outstanding by someone else */
	fakecore_regs(fc)->done_seq = 4;
	open_link(100);
	cr_assert_eq(run_cmd(HVM_CMD_NOP, 0, &rep, &st), -1);
	cr_assert_eq(st.code, HV_UNAVAILABLE);
	cr_assert_not_null(strstr(st.msg, "still outstanding"), "%s", st.msg);
}

Test(hvlink_cmd, no_command_while_booting)
{
	struct hvlink_reply rep;
	struct hv_status st;

	make_core();
	fakecore_regs(fc)->hv_state = HVM_HV_BOOTING;
	cr_assert_eq(fakecore_start(fc), 0);
	open_link(100);
	cr_assert_eq(run_cmd(HVM_CMD_NOP, 0, &rep, &st), -1);
	cr_assert_eq(st.code, HV_UNAVAILABLE);
	cr_assert_eq(fakecore_commands(fc), 0);
}

TestSuite(hvlink_rings, .init = setup, .fini = teardown);

Test(hvlink_rings, events_are_read_in_order_and_acked)
{
	struct hvm_event ev[8];
	struct hv_status st;
	uint64_t pos, head, lost;
	size_t n;

	make_core();
	open_link(0);
	fakecore_event(fc, HVM_EV_DEFINED, 1, 0, HVM_R_DEFINED);
	fakecore_event(fc, HVM_EV_STARTED, 1, 0, HVM_R_BOOTED);
	fakecore_event(fc, HVM_EV_FAULT, 1, HVM_F_UNDEF_TRAP, HVM_R_CRASHED);
	cr_assert_eq(hvlink_event_start(lnk, &pos, &head, &st), 0, "%s", st.msg);
	cr_assert_eq(pos, 0);
	cr_assert_eq(head, 3);
	cr_assert_eq(hvlink_read_events(lnk, &pos, ev, 8, &n, &lost, &st), 0, "%s", st.msg);
	cr_assert_eq(n, 3);
	cr_assert_eq(lost, 0);
	cr_assert_eq(ev[1].seq, 1);
	cr_assert_eq(ev[1].type, HVM_EV_STARTED);
	cr_assert_eq(ev[2].detail, HVM_F_UNDEF_TRAP);
	cr_assert_eq(pos, 3);
	cr_assert_eq(hvlink_ack_events(lnk, pos, &st), 0);
	cr_assert_eq(fakecore_regs(fc)->ev_ack, 3);
	/* A reader that starts now continues after the acknowledged events. */
	cr_assert_eq(hvlink_event_start(lnk, &pos, &head, &st), 0);
	cr_assert_eq(pos, 3);
}

Test(hvlink_rings, overflow_is_counted_as_lost)
{
	struct hvm_event ev[HVM_EVENT_COUNT];
	struct hv_status st;
	uint64_t pos = 0, lost;
	size_t n;

	make_core();
	open_link(0);
	for (int i = 0; i < 300; i++)
		fakecore_event(fc, HVM_EV_STARTED, 0, (uint32_t)i, 0);
	cr_assert_eq(hvlink_read_events(lnk, &pos, ev, HVM_EVENT_COUNT, &n, &lost, &st), 0, "%s",
		     st.msg);
	cr_assert_eq(lost, 300 - HVM_EVENT_COUNT);
	cr_assert_eq(n, HVM_EVENT_COUNT);
	cr_assert_eq(ev[0].seq, 300 - HVM_EVENT_COUNT);
	cr_assert_eq(ev[0].detail, 300 - HVM_EVENT_COUNT);
	cr_assert_eq(pos, 300);
	cr_assert_gt(fakecore_regs(fc)->ev_overflow, 0);
}

Test(hvlink_rings, console_bytes_wrap_and_report_loss)
{
	char buf[HVM_CONSOLE_SIZE];
	struct hv_status st;
	uint64_t start, next, lost;
	size_t n;

	make_core();
	open_link(0);
	fakecore_console(fc, 2, "hello\n", 6);
	cr_assert_eq(hvlink_read_console(lnk, 2, 0, buf, sizeof buf, &n, &start, &next, &lost, &st),
		     0, "%s", st.msg);
	cr_assert_eq(n, 6);
	cr_assert_eq(memcmp(buf, "hello\n", 6), 0);
	cr_assert_eq(next, 6);
	cr_assert_eq(lost, 0);

	/* Write more than the ring holds: the oldest bytes are gone. */
	static char blob[HVM_CONSOLE_SIZE + 100];
	for (size_t i = 0; i < sizeof blob; i++)
		blob[i] = (char)('a' + i % 26);
	fakecore_console(fc, 2, blob, sizeof blob);
	cr_assert_eq(hvlink_read_console(lnk, 2, next, buf, sizeof buf, &n, &start, &next, &lost, &st),
		     0, "%s", st.msg);
	cr_assert_eq(lost, 100);
	cr_assert_eq(n, HVM_CONSOLE_SIZE);
	cr_assert_eq(start, 6 + 100);
	cr_assert_eq(buf[0], blob[100]);
	cr_assert_eq(buf[n - 1], blob[sizeof blob - 1]);
	cr_assert_eq(next, 6 + sizeof blob);
}

Test(hvlink_rings, corrupt_console_header_is_an_error)
{
	char buf[16];
	struct hv_status st;
	uint64_t start, next, lost;
	size_t n;

	make_core();
	volatile struct hvm_console *c =
		(volatile struct hvm_console *)(fakecore_base(fc) + HVM_OFF_CONSOLES);
	c->size = 0xffffffffu;
	open_link(0);
	cr_assert_eq(hvlink_read_console(lnk, 0, 0, buf, sizeof buf, &n, &start, &next, &lost, &st),
		     -1);
	cr_assert_eq(st.code, HV_DATA_LOSS);
}

/* ---- the image staging area (MGMT-004, MGMT-048) ---- */

TestSuite(hvlink_staging, .init = setup, .fini = teardown);

Test(hvlink_staging, a_write_lands_in_the_staging_area_of_the_ram_file)
{
	struct hv_status st;
	uint64_t base, size;
	const char msg[] = "guest image bytes";

	make_core();
	open_link(0);
	cr_assert_eq(hvlink_staging_info(lnk, &base, &size, &st), 0, "%s", st.msg);
	cr_assert_eq(base, HVM_DEFAULT_BASE + HVM_REGION_SIZE);
	cr_assert_eq(size, FAKECORE_STAGING_SIZE);
	/* Across a page boundary and at the very end. */
	cr_assert_eq(hvlink_staging_write(lnk, 4090, msg, sizeof msg, &st), 0, "%s", st.msg);
	cr_assert_eq(hvlink_staging_write(lnk, size - 3, "end", 3, &st), 0, "%s", st.msg);
	int fd = open(ram, O_RDONLY);
	char got[sizeof msg], end[3];
	uint64_t at = base - FAKECORE_RAM_BASE;
	cr_assert_eq(pread(fd, got, sizeof got, (off_t)(at + 4090)), (ssize_t)sizeof got);
	cr_assert_eq(pread(fd, end, 3, (off_t)(at + size - 3)), 3);
	close(fd);
	cr_assert_eq(memcmp(got, msg, sizeof msg), 0);
	cr_assert_eq(memcmp(end, "end", 3), 0);
}

Test(hvlink_staging, a_write_beyond_the_area_is_refused_naming_its_size)
{
	struct hv_status st;

	make_core();
	open_link(0);
	cr_assert_eq(hvlink_staging_write(lnk, FAKECORE_STAGING_SIZE - 2, "abc", 3, &st), -1);
	cr_assert_eq(st.code, HV_INVALID_ARGUMENT);
	cr_assert_not_null(strstr(st.msg, "do not fit the 4194304-byte staging area"), "%s", st.msg);
	cr_assert_eq(hvlink_staging_write(lnk, UINT64_MAX - 1, "abc", 3, &st), -1);
	cr_assert_eq(st.code, HV_INVALID_ARGUMENT, "%s", st.msg);
}

Test(hvlink_staging, a_staging_area_the_region_publishes_badly_is_refused)
{
	struct hv_status st;
	uint64_t base, size;

	make_core();
	open_link(0);
	fakecore_regs(fc)->staging_size = 0;
	cr_assert_eq(hvlink_staging_write(lnk, 0, "a", 1, &st), -1);
	cr_assert_eq(st.code, HV_FAILED_PRECONDITION, "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, "staging_size 0"), "%s", st.msg);
	/* Beyond the end of the RAM file: never mapped. */
	fakecore_regs(fc)->staging_size = 1ull << 40;
	cr_assert_eq(hvlink_staging_info(lnk, &base, &size, &st), -1);
	cr_assert_eq(st.code, HV_UNAVAILABLE, "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, "beyond the end of"), "%s", st.msg);
	/* Below guest RAM. */
	fakecore_regs(fc)->staging_size = 4096;
	fakecore_regs(fc)->staging_base = 0x1000;
	cr_assert_eq(hvlink_staging_write(lnk, 0, "a", 1, &st), -1);
	cr_assert_not_null(strstr(st.msg, "outside guest RAM"), "%s", st.msg);
}

/* ---- OTA commands (MGMT-612, MGMT-613, MGMT-620, MGMT-621, MGMT-643) ---- */

TestSuite(hvlink_ota, .init = setup, .fini = teardown);

static void ota_core(bool fail)
{
	make_core();
	fakecore_set_vm(fc, 0, &vm_linux);
	fakecore_ota(fc, true, fail);
	cr_assert_eq(fakecore_start(fc), 0);
	open_link(2000);
}

Test(hvlink_ota, status_install_switch_and_the_confirmed_slot)
{
	struct hvm_ota_status s;
	struct hvlink_reply rep;
	struct hv_status st;
	uint8_t sha[32] = { 1, 2, 3 };

	ota_core(false);
	cr_assert_eq(hvlink_ota_status(lnk, 0, 0, &s, &rep, &st), 0, "%s", st.msg);
	cr_assert_eq(rep.status, HVM_OK);
	cr_expect_eq(s.active, 0);
	cr_expect_eq(s.slot[0].state, HVM_SLOT_GOOD);
	cr_expect_str_eq(s.slot[0].version, "1.2.3");
	cr_assert_eq(hvlink_staging_write(lnk, 0, "image", 5, &st), 0, "%s", st.msg);
	cr_assert_eq(hvlink_ota_install_digest(lnk, 0, HVLINK_OTA_IMAGE, 0, 5, sha, "2.0.0", &rep,
					       &st),
		     0, "%s", st.msg);
	cr_assert_eq(rep.status, HVM_OK, "%s", rep.msg);
	cr_assert_eq(hvlink_ota_status(lnk, 0, 0, &s, &rep, &st), 0, "%s", st.msg);
	cr_expect_eq(s.slot[1].state, HVM_SLOT_READY);
	cr_expect_str_eq(s.slot[1].version, "2.0.0");
	cr_expect_eq(s.slot[1].size, 5);
	cr_assert_eq(hvlink_ota_switch(lnk, 0, 0, 0, &rep, &st), 0, "%s", st.msg);
	cr_assert_eq(rep.status, HVM_OK, "%s", rep.msg);
	for (int i = 0; i < 500; i++) {
		cr_assert_eq(hvlink_ota_status(lnk, 0, 0, &s, &rep, &st), 0, "%s", st.msg);
		if (!s.in_trial)
			break;
		usleep(10000);
	}
	cr_expect_eq(s.active, 1);
	cr_expect_eq(s.last_result, HVM_OTA_CONFIRMED);
	cr_expect_str_eq(s.floor, "2.0.0");
	/* below the floor: E_ROLLBACK, nothing changed */
	cr_assert_eq(hvlink_ota_install_digest(lnk, 0, HVLINK_OTA_IMAGE, 0, 5, sha, "1.0.0", &rep,
					       &st),
		     0, "%s", st.msg);
	cr_expect_eq(rep.status, HVM_E_ROLLBACK, "%s", rep.msg);
}

Test(hvlink_ota, the_signed_form_carries_manifest_and_signature_block)
{
	static const char manifest[] = "hv-ota-manifest 1\nsystem s\nimage linux 3.1.0 5 00\n";
	struct hvlink_reply rep;
	struct hv_status st;
	struct hvm_ota_status s;

	ota_core(false);
	cr_assert_eq(hvlink_ota_install_signed(lnk, 0, HVLINK_OTA_IMAGE, 16, 5, manifest,
					       sizeof manifest - 1, "sig", 3, &rep, &st),
		     0, "%s", st.msg);
	cr_assert_eq(rep.status, HVM_OK, "%s", rep.msg);
	cr_expect_eq(rep.ret[0], sizeof manifest - 1);
	cr_expect_eq(rep.ret[1], 3);
	cr_assert_eq(hvlink_ota_status(lnk, 0, 0, &s, &rep, &st), 0, "%s", st.msg);
	cr_expect_str_eq(s.slot[1].version, "3.1.0");
	/* bounds checked before anything is sent */
	cr_expect_eq(hvlink_ota_install_signed(lnk, 0, HVLINK_OTA_IMAGE, 0, 5, manifest, 0, "sig",
					       3, &rep, &st),
		     -1);
	cr_expect_eq(st.code, HV_INVALID_ARGUMENT);
	cr_expect_eq(hvlink_ota_install_digest(lnk, 0, HVLINK_OTA_IMAGE, 0, 5,
					       (const uint8_t *)manifest,
					       "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15", &rep, &st),
		     -1);
	cr_expect_eq(st.code, HV_INVALID_ARGUMENT);
}

Test(hvlink_ota, a_failed_trial_rolls_back)
{
	struct hvm_ota_status s;
	struct hvlink_reply rep;
	struct hv_status st;
	uint8_t sha[32] = { 0 };

	ota_core(true);
	cr_assert_eq(hvlink_ota_install_digest(lnk, 0, HVLINK_OTA_IMAGE, 0, 5, sha, "3.0.0", &rep,
					       &st),
		     0, "%s", st.msg);
	cr_assert_eq(hvlink_ota_switch(lnk, 0, 1000, 60000, &rep, &st), 0, "%s", st.msg);
	cr_assert_eq(rep.status, HVM_OK, "%s", rep.msg);
	for (int i = 0; i < 500; i++) {
		cr_assert_eq(hvlink_ota_status(lnk, 0, 0, &s, &rep, &st), 0, "%s", st.msg);
		if (!s.in_trial)
			break;
		usleep(10000);
	}
	cr_expect_eq(s.active, 0);
	cr_expect_eq(s.slot[1].state, HVM_SLOT_BAD);
	cr_expect_eq(s.last_result, HVM_OTA_FAIL_TIMEOUT);
	/* a switch to a slot that is not READY */
	cr_assert_eq(hvlink_ota_switch(lnk, 0, 0, 0, &rep, &st), 0, "%s", st.msg);
	cr_expect_eq(rep.status, HVM_E_STATE);
}
