/*
 * hvlink_queue_test.c - unit tests of hvlink's command queue (hvlink_cmd.c)
 * against the fake management region: runs against the test double of hv-core
 * (tests/double/hvcore_double.h). One
 * command on the register interface at a time (MGMT-111), a bounded queue
 * behind it that refuses with RESOURCE_EXHAUSTED when full, a caller's
 * deadline or a stopping server taking a waiting command out of the queue
 * before it is ever sent, FIFO order, and reads that never wait for a command.
 *
 * "Stuck" commands are made by pausing the double; the tests wait for
 * states (bounded polls), never for time.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callscope.h"
#include "hvlink.h"
#include "hvcore_double.h"

#define QMAX 3

static char dir[64], ram[128];
static struct fakecore *fc;
static struct hvlink *lnk;

static const struct fakecore_vm vm_rtos = {
	.name = "rtos",
	.state = HVM_VM_SHUTOFF,
	.reason = HVM_R_DEFINED,
	.vcpus = 1,
	.pcpu_mask = 0x1,
	.mem_bytes = 16ull << 20,
};

static void setup(void)
{
	struct hv_status st;

	snprintf(dir, sizeof dir, "/tmp/hvlink-queue-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(ram, sizeof ram, "%s/guest-ram", dir);
	fc = fakecore_create(ram, FAKECORE_RAM_BASE, HVM_DEFAULT_BASE);
	cr_assert_not_null(fc);
	fakecore_set_vm(fc, 0, &vm_rtos);
	cr_assert_eq(fakecore_start(fc), 0);
	/* A long command timeout: a paused fake hv-core holds a command until
	 * the test releases it, never until hvlink gives up. */
	struct hvlink_config cfg = { .ram_file = ram,
				     .ram_base = FAKECORE_RAM_BASE,
				     .mgmt_base = HVM_DEFAULT_BASE,
				     .cmd_timeout_ms = 60000,
				     .queue_max = QMAX };
	cr_assert_eq(hvlink_open(&lnk, &cfg, &st), 0, "%s", st.msg);
}

static void teardown(void)
{
	fakecore_pause(fc, false);
	hvlink_close(lnk);
	fakecore_destroy(fc);
	unlink(ram);
	rmdir(dir);
}

TestSuite(hvlink_queue, .init = setup, .fini = teardown, .timeout = 120);

/* A command run on its own thread. */
struct job {
	pthread_t t;
	uint32_t cmd;
	uint64_t deadline_ns;    /* passed in the command             */
	uint64_t scope_deadline; /* or entered as the call scope       */
	const int *stopping;
	int rc;
	struct hvlink_reply rep;
	struct hv_status st;
	int order; /* completion order                  */
};

static int finished;

static void *run_job(void *arg)
{
	struct job *j = arg;
	struct hvlink_cmd c;

	memset(&c, 0, sizeof c);
	c.cmd = j->cmd;
	c.deadline_ns = j->deadline_ns;
	struct hv_callscope cs = { .deadline_ns = j->scope_deadline, .stopping = j->stopping };
	hv_callscope_enter(&cs);
	j->rc = hvlink_command(lnk, &c, &j->rep, &j->st);
	hv_callscope_leave();
	j->order = __atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void start_job(struct job *j, uint32_t cmd)
{
	j->cmd = cmd;
	cr_assert_eq(pthread_create(&j->t, NULL, run_job, j), 0);
}

/* Bounded wait (30 s) for a condition on the link or the region. */
#define WAIT_FOR(cond, what)                                                                       \
	do {                                                                                       \
		int ok_ = 0;                                                                       \
		for (int i_ = 0; i_ < 30000; i_++) {                                               \
			if (cond) {                                                                \
				ok_ = 1;                                                           \
				break;                                                             \
			}                                                                          \
			usleep(1000);                                                              \
		}                                                                                  \
		cr_assert(ok_, "timed out waiting for %s", what);                                  \
	} while (0)

static uint32_t waiting(void)
{
	struct hvlink_counters c;
	hvlink_counters(lnk, &c);
	return c.queue_waiting;
}

static int outstanding(void)
{
	volatile struct hvm_regs *r = fakecore_regs(fc);
	return __atomic_load_n(&r->req_seq, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(&r->done_seq, __ATOMIC_ACQUIRE);
}

/* One command submitted and held by the paused fake hv-core. */
static void hold_one(struct job *a)
{
	fakecore_pause(fc, true);
	start_job(a, HVM_CMD_NOP);
	WAIT_FOR(outstanding(), "the first command to be submitted");
}

Test(hvlink_queue, full_queue_refuses_at_once_and_sends_nothing)
{
	struct job a = { 0 }, w[QMAX];
	struct hvlink_cmd c;
	struct hvlink_reply rep;
	struct hv_status st;

	memset(w, 0, sizeof w);
	hold_one(&a);
	for (int i = 0; i < QMAX; i++)
		start_job(&w[i], HVM_CMD_NOP);
	WAIT_FOR(waiting() == QMAX, "the queue to fill");

	memset(&c, 0, sizeof c);
	c.cmd = HVM_CMD_START;
	cr_assert_eq(hvlink_command(lnk, &c, &rep, &st), -1);
	cr_expect_eq(st.code, HV_RESOURCE_EXHAUSTED, "%s", st.msg);
	cr_expect_not_null(strstr(st.msg, "START not sent"), "%s", st.msg);
	cr_expect_not_null(strstr(st.msg, "3 more are already waiting"), "%s", st.msg);

	fakecore_pause(fc, false);
	pthread_join(a.t, NULL);
	for (int i = 0; i < QMAX; i++) {
		pthread_join(w[i].t, NULL);
		cr_expect_eq(w[i].rc, 0, "%s", w[i].st.msg);
	}
	cr_expect_eq(a.rc, 0, "%s", a.st.msg);
	/* The refused START never reached hv-core: 1 + QMAX NOPs did. */
	cr_expect_eq(fakecore_commands(fc), 1 + QMAX);
	struct hvm_vm_slot s;
	cr_assert_eq(hvlink_read_slot(lnk, 0, &s, &st), 0, "%s", st.msg);
	cr_expect_eq(s.state, HVM_VM_SHUTOFF);
	struct hvlink_counters cnt;
	hvlink_counters(lnk, &cnt);
	cr_expect_eq(cnt.queue_full, 1);
	cr_expect_eq(cnt.queue_peak, QMAX);
}

static void deadline_case(int in_scope)
{
	struct job a = { 0 }, b = { 0 }, c = { 0 };

	hold_one(&a);
	/* START with a deadline that passes while the NOP holds the interface. */
	uint64_t dl = hv_mono_ns() + 100000000ull;
	if (in_scope)
		b.scope_deadline = dl;
	else
		b.deadline_ns = dl;
	start_job(&b, HVM_CMD_START);
	pthread_join(b.t, NULL);
	cr_expect_eq(b.rc, -1);
	cr_expect_eq(b.st.code, HV_DEADLINE_EXCEEDED, "%s", b.st.msg);
	cr_expect_not_null(strstr(b.st.msg, "START not sent"), "%s", b.st.msg);
	cr_expect_not_null(strstr(b.st.msg, "1 operation ahead"), "%s", b.st.msg);
	cr_expect_eq(waiting(), 0, "the expired command left the queue");

	/* The queue still works: the next command runs after the first. */
	start_job(&c, HVM_CMD_NOP);
	WAIT_FOR(waiting() == 1, "the next command to queue");
	fakecore_pause(fc, false);
	pthread_join(a.t, NULL);
	pthread_join(c.t, NULL);
	cr_expect_eq(a.rc, 0, "%s", a.st.msg);
	cr_expect_eq(c.rc, 0, "%s", c.st.msg);
	cr_expect_eq(fakecore_commands(fc), 2, "START must never have been sent");
	struct hvm_vm_slot s;
	struct hv_status st;
	cr_assert_eq(hvlink_read_slot(lnk, 0, &s, &st), 0, "%s", st.msg);
	cr_expect_eq(s.state, HVM_VM_SHUTOFF, "the VM was not started");
	struct hvlink_counters cnt;
	hvlink_counters(lnk, &cnt);
	cr_expect_eq(cnt.queue_expired, 1);
}

Test(hvlink_queue, deadline_in_the_command_expires_in_the_queue_unsent)
{
	deadline_case(0);
}

Test(hvlink_queue, call_scope_deadline_expires_in_the_queue_unsent)
{
	deadline_case(1);
}

Test(hvlink_queue, deadline_already_passed_is_not_sent_even_when_free)
{
	struct hvlink_cmd c;
	struct hvlink_reply rep;
	struct hv_status st;

	memset(&c, 0, sizeof c);
	c.cmd = HVM_CMD_START;
	c.deadline_ns = hv_mono_ns() - 1;
	cr_assert_eq(hvlink_command(lnk, &c, &rep, &st), -1);
	cr_expect_eq(st.code, HV_DEADLINE_EXCEEDED, "%s", st.msg);
	cr_expect_eq(fakecore_commands(fc), 0);
}

Test(hvlink_queue, stopping_server_takes_waiters_out_unsent)
{
	struct job a = { 0 }, b = { 0 };
	int stopping = 0;

	hold_one(&a);
	b.stopping = &stopping;
	start_job(&b, HVM_CMD_START);
	WAIT_FOR(waiting() == 1, "the START to queue");
	__atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
	pthread_join(b.t, NULL);
	cr_expect_eq(b.rc, -1);
	cr_expect_eq(b.st.code, HV_UNAVAILABLE, "%s", b.st.msg);
	cr_expect_not_null(strstr(b.st.msg, "shutting down"), "%s", b.st.msg);
	fakecore_pause(fc, false);
	pthread_join(a.t, NULL);
	cr_expect_eq(a.rc, 0, "the command in flight completes: %s", a.st.msg);
	cr_expect_eq(fakecore_commands(fc), 1);
}

Test(hvlink_queue, waiting_commands_run_in_arrival_order)
{
	struct job a = { 0 }, w[QMAX];

	memset(w, 0, sizeof w);
	hold_one(&a);
	for (int i = 0; i < QMAX; i++) {
		start_job(&w[i], HVM_CMD_NOP);
		WAIT_FOR(waiting() == (uint32_t)i + 1, "a command to queue");
	}
	fakecore_pause(fc, false);
	pthread_join(a.t, NULL);
	for (int i = 0; i < QMAX; i++)
		pthread_join(w[i].t, NULL);
	for (int i = 0; i < QMAX; i++)
		cr_expect_eq(w[i].order, a.order + 1 + i, "command %d finished %d-th", i, w[i].order);
}

Test(hvlink_queue, reads_do_not_wait_for_a_stuck_command)
{
	struct job a = { 0 }, w = { 0 };
	struct hvm_vm_slot slots[HVM_MAX_VMS], s;
	struct hvlink_info info;
	struct hv_status st;
	uint32_t mask;

	hold_one(&a);
	start_job(&w, HVM_CMD_NOP);
	WAIT_FOR(waiting() == 1, "a command to queue");
	/* Both commands are still held: these return without them. */
	for (int i = 0; i < 1000; i++) {
		cr_assert_eq(hvlink_read_slot(lnk, 0, &s, &st), 0, "%s", st.msg);
		cr_assert_eq(hvlink_read_slots(lnk, slots, &mask, &st), 0, "%s", st.msg);
		cr_assert_eq(hvlink_find_by_name(lnk, "rtos", &s, &st), 0, "%s", st.msg);
		cr_assert_eq(hvlink_info(lnk, &info, &st), 0, "%s", st.msg);
	}
	cr_expect(outstanding(), "the command was still outstanding during the reads");
	fakecore_pause(fc, false);
	pthread_join(a.t, NULL);
	pthread_join(w.t, NULL);
	cr_expect_eq(a.rc, 0);
	cr_expect_eq(w.rc, 0);
}
