/*
 * agent_eventlog_test.c - unit tests of hv-agent's event log (agent/events/)
 * over hvlink. Runs against the test double of hv-core
 * (tests/double/hvcore_double.h), the fake management region: names attached to events, acknowledgement (MGMT-130), losses
 * reported as lost_before (MGMT-140), resume points older than the history,
 * a hypervisor restart that begins numbering again, and events held until
 * released (OTA-210).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "eventlog.h"
#include "hvlink.h"
#include "hvcore_double.h"

static char dir[64], ram[128];
static struct fakecore *fc;
static struct hvlink *lnk;
static struct eventlog *evl;

static const struct fakecore_vm vm_a = { .name = "alpha", .state = HVM_VM_SHUTOFF, .vcpus = 1 };

static void setup(void)
{
	struct hvlink_config cfg = { .ram_base = FAKECORE_RAM_BASE, .mgmt_base = HVM_DEFAULT_BASE };
	struct hv_status st;

	snprintf(dir, sizeof dir, "/tmp/agent-ev-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(ram, sizeof ram, "%s/guest-ram", dir);
	fc = fakecore_create(ram, FAKECORE_RAM_BASE, HVM_DEFAULT_BASE);
	cr_assert_not_null(fc);
	fakecore_set_vm(fc, 2, &vm_a);
	cfg.ram_file = ram;
	cr_assert_eq(hvlink_open(&lnk, &cfg, &st), 0, "%s", st.msg);
	evl = NULL;
}

static void teardown(void)
{
	eventlog_stop_and_free(evl);
	hvlink_close(lnk);
	fakecore_destroy(fc);
	unlink(ram);
	rmdir(dir);
}

static void start_log(unsigned capacity)
{
	struct hv_status st;

	evl = eventlog_new(lnk, capacity, 5);
	cr_assert_not_null(evl);
	cr_assert_eq(eventlog_start(evl, &st), 0, "%s", st.msg);
}

/* Reads until n events arrived (bounded: the follower polls every 5 ms). */
static size_t read_n(uint64_t *pos, struct eventlog_rec *out, size_t n)
{
	size_t got = 0;
	for (int i = 0; i < 500 && got < n; i++)
		got += eventlog_read(evl, pos, out + got, n - got, 20);
	return got;
}

TestSuite(agent_eventlog, .init = setup, .fini = teardown, .timeout = 60);

Test(agent_eventlog, events_carry_names_and_are_acknowledged)
{
	struct eventlog_rec r[4];
	uint64_t pos = 0;

	start_log(64);
	fakecore_event(fc, HVM_EV_STARTED, 2, 0, HVM_R_BOOTED);
	fakecore_event(fc, HVM_EV_SUSPENDED, 2, 0, HVM_R_USER);
	cr_assert_eq(read_n(&pos, r, 2), 2);
	cr_assert_eq(r[0].ev.seq, 0);
	cr_assert_eq(r[0].ev.type, HVM_EV_STARTED);
	cr_assert_str_eq(r[0].vm_name, "alpha");
	cr_assert_eq(r[1].ev.type, HVM_EV_SUSPENDED);
	cr_assert_eq(r[1].lost_before, 0);
	cr_assert_eq(pos, 2);
	/* acknowledged to hv-core once recorded */
	for (int i = 0; i < 500 && fakecore_regs(fc)->ev_ack != 2; i++)
		usleep(2000);
	cr_assert_eq(fakecore_regs(fc)->ev_ack, 2);
	struct eventlog_stats es;
	eventlog_stats(evl, &es);
	cr_assert_eq(es.next_seq, 2);
	cr_assert_eq(es.oldest_seq, 0);
	cr_assert_eq(es.lost, 0);
}

Test(agent_eventlog, ring_overflow_before_start_is_reported)
{
	struct eventlog_rec r[1];
	uint64_t pos = 0;

	for (int i = 0; i < 300; i++)
		fakecore_event(fc, HVM_EV_STARTED, 2, (uint32_t)i, 0);
	start_log(1024);
	cr_assert_eq(read_n(&pos, r, 1), 1);
	cr_assert_eq(r[0].ev.seq, 300 - HVM_EVENT_COUNT);
	cr_assert_eq(r[0].lost_before, 300 - HVM_EVENT_COUNT);
	struct eventlog_stats es;
	eventlog_stats(evl, &es);
	cr_assert_eq(es.lost, 300 - HVM_EVENT_COUNT);
}

Test(agent_eventlog, resume_point_older_than_history_counts_as_lost)
{
	struct eventlog_rec r[64];
	uint64_t pos = 99;

	start_log(64);
	for (int i = 0; i < 100; i++)
		fakecore_event(fc, HVM_EV_STARTED, 2, (uint32_t)i, 0);
	cr_assert_eq(read_n(&pos, r, 1), 1); /* wait until all 100 are in */
	pos = 0;
	cr_assert_eq(eventlog_read(evl, &pos, r, 64, 0), 64);
	cr_assert_eq(r[0].ev.seq, 36);
	cr_assert_eq(r[0].lost_before, 36);
	cr_assert_eq(r[1].lost_before, 0);
	cr_assert_eq(pos, 100);
}

Test(agent_eventlog, nothing_new_returns_zero_after_waiting)
{
	struct eventlog_rec r[1];
	uint64_t pos = 0;

	start_log(64);
	cr_assert_eq(eventlog_read(evl, &pos, r, 1, 10), 0);
	cr_assert_eq(pos, 0);
}

Test(agent_eventlog, hypervisor_restart_restarts_numbering)
{
	struct eventlog_rec r[8];
	uint64_t pos = 0;

	start_log(64);
	for (int i = 0; i < 5; i++)
		fakecore_event(fc, HVM_EV_STARTED, 2, 0, 0);
	cr_assert_eq(read_n(&pos, r, 5), 5);
	cr_assert_eq(pos, 5);

	/* QEMU restarted: a new RAM file, events numbered from 0 again. */
	fakecore_destroy(fc);
	unlink(ram);
	fc = fakecore_create(ram, FAKECORE_RAM_BASE, HVM_DEFAULT_BASE);
	cr_assert_not_null(fc);
	fakecore_set_vm(fc, 2, &vm_a);
	fakecore_event(fc, HVM_EV_DEFINED, 2, 0, 0);
	fakecore_event(fc, HVM_EV_STARTED, 2, 0, 0);
	cr_assert_eq(read_n(&pos, r, 2), 2);
	cr_assert_eq(r[0].ev.seq, 0);
	cr_assert_eq(r[0].ev.type, HVM_EV_DEFINED);
	cr_assert_eq(r[1].ev.seq, 1);
}

/* An event log that holds hv-core's CONFIRMED events (eventlog_hold). */
static void start_held(void)
{
	struct hv_status st;

	evl = eventlog_new(lnk, 64, 5);
	cr_assert_not_null(evl);
	eventlog_hold(evl, 1ull << HVM_EV_OTA_CONFIRMED);
	cr_assert_eq(eventlog_start(evl, &st), 0, "%s", st.msg);
}

/* OTA-210: a held event is not acknowledged before it is released, so an
 * hv-agent that stops between reading and recording it begins at it again;
 * once released, the acknowledgement passes it. */
Test(agent_eventlog, a_held_event_stays_in_hv_cores_ring_until_released)
{
	struct eventlog_rec r[4];
	uint64_t pos = 0, first = 0;

	start_held();
	fakecore_event(fc, HVM_EV_STARTED, 2, 0, HVM_R_BOOTED);
	fakecore_event(fc, HVM_EV_OTA_CONFIRMED, 2, 1, 0);
	fakecore_event(fc, HVM_EV_STOPPED, 2, 0, HVM_R_USER);
	cr_assert_eq(read_n(&pos, r, 3), 3);
	/* stopped before the release: acknowledged up to the held event only */
	eventlog_stop_and_free(evl);
	cr_assert_eq(fakecore_regs(fc)->ev_ack, 1);

	start_held();
	pos = 0;
	cr_assert_eq(read_n(&pos, r, 2), 2);
	cr_assert_eq(eventlog_first(evl, &first), 0);
	cr_assert_eq(first, 1);
	cr_assert_eq(r[0].ev.seq, 1);
	cr_assert_eq(r[0].ev.type, HVM_EV_OTA_CONFIRMED);
	eventlog_release(evl, r[0].ev.seq + 1);
	for (int i = 0; i < 500 && fakecore_regs(fc)->ev_ack != 3; i++)
		usleep(2000);
	cr_assert_eq(fakecore_regs(fc)->ev_ack, 3);
	/* a release from before a restart of hv-core (ahead of every event) is ignored */
	eventlog_release(evl, 100);
	fakecore_event(fc, HVM_EV_OTA_CONFIRMED, 2, 1, 0);
	cr_assert_eq(read_n(&pos, r, 1), 1);
	eventlog_stop_and_free(evl);
	evl = NULL;
	cr_assert_eq(fakecore_regs(fc)->ev_ack, 3);
}

/* A held event that falls out of the history unread (its readers are told
 * of the loss) holds the acknowledgement no longer. */
Test(agent_eventlog, a_held_event_out_of_the_history_is_not_held)
{
	struct eventlog_rec r[1];
	uint64_t pos = 100;

	start_held();
	fakecore_event(fc, HVM_EV_OTA_CONFIRMED, 2, 1, 0);
	for (int i = 0; i < 100; i++)
		fakecore_event(fc, HVM_EV_STARTED, 2, 0, HVM_R_BOOTED);
	cr_assert_eq(read_n(&pos, r, 1), 1);
	cr_assert_eq(r[0].ev.seq, 100);
	for (int i = 0; i < 500 && fakecore_regs(fc)->ev_ack != 101; i++)
		usleep(2000);
	cr_assert_eq(fakecore_regs(fc)->ev_ack, 101);
}
