/*
 * agent_reconcile_queue_test.c - a reconciliation pass is an operation of
 * hv-agent's operation queue (agent/reconcile/reconcile.h): it waits for the
 * operation in progress, never interleaves with one, and a full queue makes
 * it wait and try again rather than fail. Runs against the test double of
 * hv-core (tests/double/hvcore_double.h); the store is a real sqlite file.
 * Waits are bounded polls for states, never timing assertions.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvlink.h"
#include "hvcore_double.h"
#include "opqueue.h"
#include "reconcile.h"
#include "store.h"

static char dir[64], ram[128], db[128];
static struct fakecore *fc;
static struct hvlink *lnk;
static struct store *sto;
static struct hv_opqueue q;
static struct reconcile *rec;

static void setup(void)
{
	struct hvlink_config cfg = { .ram_base = FAKECORE_RAM_BASE, .mgmt_base = HVM_DEFAULT_BASE };
	struct hv_status st;
	struct store_err e;

	snprintf(dir, sizeof dir, "/tmp/agent-recq-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(ram, sizeof ram, "%s/guest-ram", dir);
	snprintf(db, sizeof db, "%s/hv-agent.db", dir);
	fc = fakecore_create(ram, FAKECORE_RAM_BASE, HVM_DEFAULT_BASE);
	cr_assert_not_null(fc);
	cr_assert_eq(fakecore_start(fc), 0);
	cfg.ram_file = ram;
	cr_assert_eq(hvlink_open(&lnk, &cfg, &st), 0, "%s", st.msg);
	cr_assert_eq(store_open(db, &sto, &e), STORE_OK, "%s", e.msg);
	hv_opqueue_init(&q, 2);
	struct reconcile_config rc = { .link = lnk, .store = sto, .ops = &q };
	rec = reconcile_new(&rc);
	cr_assert_not_null(rec);
}

static void teardown(void)
{
	reconcile_free(rec);
	hv_opqueue_destroy(&q);
	store_close(sto);
	hvlink_close(lnk);
	fakecore_destroy(fc);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

TestSuite(reconcile_queue, .init = setup, .fini = teardown, .timeout = 120);

/* Bounded poll (60 s) for a condition. */
#define WAIT_FOR(cond, what)                                                                       \
	do {                                                                                       \
		int ok_ = 0;                                                                       \
		for (int i_ = 0; i_ < 6000; i_++) {                                                \
			if (cond) {                                                                \
				ok_ = 1;                                                           \
				break;                                                             \
			}                                                                          \
			usleep(10000);                                                             \
		}                                                                                  \
		cr_assert(ok_, "timed out waiting for %s", what);                                  \
	} while (0)

/* A waiter: takes its turn (no deadline), then leaves at once. */
static void *waiter(void *arg)
{
	struct hv_status st;
	int *rc = arg;

	*rc = hv_opqueue_enter(&q, "START", 0, &st);
	if (*rc == 0)
		hv_opqueue_leave(&q);
	return NULL;
}

struct pass {
	int done, rc;
	struct hv_status st;
};

static void *run_pass(void *arg)
{
	struct pass *p = arg;

	p->rc = reconcile_run(rec, "test", &p->st);
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static unsigned waiting(void)
{
	struct hv_opqueue_stats s;
	hv_opqueue_stats(&q, &s);
	return s.waiting;
}

static uint64_t refused_full(void)
{
	struct hv_opqueue_stats s;
	hv_opqueue_stats(&q, &s);
	return s.full;
}

Test(reconcile_queue, a_pass_waits_for_the_operation_in_progress)
{
	struct hv_status st;
	struct reconcile_stats rs;
	struct pass p = { 0 };
	pthread_t t;

	cr_assert_eq(hv_opqueue_enter(&q, "DEFINE", 0, &st), 0, "%s", st.msg);
	cr_assert_eq(pthread_create(&t, NULL, run_pass, &p), 0);
	WAIT_FOR(waiting() == 1, "the pass to queue behind the operation");
	reconcile_stats(rec, &rs);
	cr_expect_eq(rs.runs, 0, "no pass ran while the operation was in progress");
	cr_expect_not(__atomic_load_n(&p.done, __ATOMIC_ACQUIRE));
	hv_opqueue_leave(&q);
	pthread_join(t, NULL);
	cr_expect_eq(p.rc, 0, "%s", p.st.msg);
	reconcile_stats(rec, &rs);
	cr_expect_eq(rs.runs, 1);
}

Test(reconcile_queue, a_full_queue_is_retried_not_a_failure)
{
	struct hv_status st;
	struct reconcile_stats rs;
	struct pass p = { 0 };
	pthread_t w[2], t;
	int wrc[2] = { -1, -1 };

	/* One operation in progress and the queue's 2 places taken. */
	cr_assert_eq(hv_opqueue_enter(&q, "DEFINE", 0, &st), 0, "%s", st.msg);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&w[i], NULL, waiter, &wrc[i]), 0);
	WAIT_FOR(waiting() == 2, "the queue to fill");
	cr_assert_eq(pthread_create(&t, NULL, run_pass, &p), 0);
	/* Refused at least twice: it came back after the first refusal. */
	WAIT_FOR(refused_full() >= 2, "the pass to be refused and to try again");
	cr_expect_not(__atomic_load_n(&p.done, __ATOMIC_ACQUIRE), "the pass gave up: %s", p.st.msg);
	hv_opqueue_leave(&q);
	for (int i = 0; i < 2; i++) {
		pthread_join(w[i], NULL);
		cr_expect_eq(wrc[i], 0);
	}
	pthread_join(t, NULL);
	cr_expect_eq(p.rc, 0, "%s", p.st.msg);
	reconcile_stats(rec, &rs);
	cr_expect_eq(rs.runs, 1, "the pass ran once its turn came");
}

Test(reconcile_queue, a_waiting_pass_gives_up_when_hv_agent_stops)
{
	struct hv_status st;

	/* The watcher finds hv-core up (a pass is due) while an operation is
	 * in progress: its pass waits in the queue. Stopping must not wait
	 * for the operation. */
	cr_assert_eq(hv_opqueue_enter(&q, "DEFINE", 0, &st), 0, "%s", st.msg);
	cr_assert_eq(reconcile_start(rec, &st), 0, "%s", st.msg);
	WAIT_FOR(waiting() == 1, "the watcher's pass to queue");
	reconcile_free(rec); /* joins the watcher */
	rec = NULL;
	struct hv_opqueue_stats s;
	hv_opqueue_stats(&q, &s);
	cr_expect_eq(s.waiting, 0);
	cr_expect_eq(s.stopped, 1, "the pass left the queue as stopping");
	hv_opqueue_leave(&q);
}
