/*
 * agent_crash.c - hv-agent killed with SIGKILL at random points, against the
 * real hv-core under QEMU and a real sqlite store (REQ-PRD-04, REQ-SAF-14,
 * docs/architecture.md, "The parts": hv-agent may crash at any moment and reconciles
 * on start; docs/reconcile.md "Crash points").
 *
 * Each iteration: hv-agent is running (it reconciled before serving); the
 * test checks the invariants; hvctl sends one random request (define, start,
 * destroy or undefine of one of two test VMs); after a random delay of 10 us
 * to 300 ms hv-agent gets SIGKILL, wherever it is; the store must then pass
 * its integrity check (store_open, while no agent runs); hv-agent starts
 * again and reconciles. Invariants, checked against hv-core's own slots:
 *   1. the store opens (integrity checks pass) after every kill;
 *   2. every VM in the store is defined in hv-core exactly once;
 *   3. hv-core has no VM the store lacks, except its boot VM (rtos-demo);
 *   4. desired states hold: RUNNING -> running, SHUTOFF -> shut off (after
 *      an interrupted Shutdown/Destroy has settled), PAUSED -> paused.
 * The seed is printed; HV_CRASH_SEED repeats a run, HV_CRASH_ITERS sets the
 * number of iterations (default 200). No timing is asserted: waits are bounded
 * polls.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_stack.h"
#include "agent_store_util.h"
#include "store.h"

#define NVMS 2
#define SETTLE_S 30

static struct hvq q;
static struct agent_proc agent;
static char uri[320], dbpath[320];
static struct st_vm vms[NVMS] = {
	{ .name = "ct0",
	  .uuid = "0c7a55e1-0000-4000-8000-000000000001",
	  .cpu = 2,
	  .mem_pa = 0x50000000,
	  .store_pa = 0x44000000 },
	{ .name = "ct1",
	  .uuid = "0c7a55e1-0000-4000-8000-000000000002",
	  .cpu = 3,
	  .mem_pa = 0x52000000,
	  .store_pa = 0x44400000 },
};
static char dtb[NVMS][2][300]; /* two configuration variants each */
static unsigned run_seed;      /* for failure messages */
static int forgotten;          /* interrupted Defines without configuration */
/* The store's VMs of the last snapshot: freed by teardown too, so that a
 * failed assertion (which ends the test) leaks nothing. */
static struct store_vm *snap;

static void setup(void)
{
	memset(&agent, 0, sizeof agent);
	agent_stack_start_core(&q, NULL);
	for (int i = 0; i < NVMS; i++)
		for (unsigned k = 0; k < 2; k++)
			cr_assert_eq(st_prepare(&q, &vms[i], q.dir, k, dtb[i][k], sizeof dtb[i][k]),
				     0, "%s", q.err);
	snprintf(uri, sizeof uri, "unix://%s/hv-agent.sock", q.dir);
	snprintf(dbpath, sizeof dbpath, "%s/hv-agent.db", q.dir);
}

static void teardown(void)
{
	store_vm_list_free(snap);
	snap = NULL;
	agent_stop(&agent);
	hvq_stop(&q);
}

TestSuite(agent_crash, .init = setup, .fini = teardown, .timeout = 600);

/* The store's VMs as hv-agent left them. Invariant 1: it opens. */
static size_t snapshot(struct store_vm **out)
{
	struct store *st;
	struct store_err e;
	size_t n = 0;

	cr_assert_eq(store_open(dbpath, &st, &e), STORE_OK,
		     "the store fails its integrity check after SIGKILL: %s", e.msg);
	enum store_status rc = store_vm_list(st, out, &n, &e);
	store_close(st); /* before asserting */
	cr_assert_eq(rc, STORE_OK, "%s", e.msg);
	return n;
}

static int settled(struct hvq *qq, void *arg)
{
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		struct hvm_vm_slot s;
		if (hvq_read_slot(qq, i, &s) == 0 && s.defined &&
		    (s.state == HVM_VM_SHUTDOWN || s.state == HVM_VM_BLOCKED))
			return 0;
	}
	return 1;
}

static const char *state_name(uint32_t s)
{
	static const char *const n[] = { "nostate",  "running", "blocked", "paused",
					 "shutdown", "shutoff", "crashed" };
	return s < 7 ? n[s] : "?";
}

/* Invariants 2-4 against hv-core's slots, after hv-agent reconciled. */
static void check(const struct store_vm *sv, size_t n, int iter)
{
	/* An interrupted Shutdown/Destroy is finished by a graceful SHUTDOWN; a
	 * START is answered while hv-core still boots the VM, BLOCKED (MGMT-713). */
	cr_assert_eq(hvq_wait(&q, settled, NULL, SETTLE_S), 0,
		     "iteration %d (seed %u): a VM stays in state SHUTDOWN or BLOCKED: %s", iter,
		     run_seed, q.err);
	for (size_t i = 0; i < n; i++) {
		int id = -1;
		uint32_t state = 0;
		int c = st_count(&q, sv[i].name, &id, &state);
		if (sv[i].latest_rev == 0) {
			/* Killed between storing the VM and its configuration:
			 * reconciliation forgets it (docs/reconcile.md). */
			cr_assert_eq(c, 0,
				     "iteration %d (seed %u): '%s' without configuration is in hv-core",
				     iter, run_seed, sv[i].name);
			forgotten++;
			continue;
		}
		cr_assert_eq(c, 1,
			     "iteration %d (seed %u): stored VM '%s' is defined %d times in hv-core",
			     iter, run_seed, sv[i].name, c);
		uint32_t want = sv[i].desired == STORE_VM_RUNNING  ? HVM_VM_RUNNING
				: sv[i].desired == STORE_VM_PAUSED ? HVM_VM_PAUSED
								   : HVM_VM_SHUTOFF;
		cr_assert_eq(state, want, "iteration %d (seed %u): '%s' is %s, desired %s", iter,
			     run_seed, sv[i].name, state_name(state),
			     store_vm_state_name(sv[i].desired));
	}
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		struct hvm_vm_slot s;
		if (hvq_read_slot(&q, i, &s) != 0 || !s.defined || strcmp(s.name, "rtos-demo") == 0)
			continue;
		int stored = 0;
		for (size_t j = 0; j < n; j++)
			stored |= strcmp(sv[j].name, s.name) == 0 && sv[j].latest_rev > 0;
		cr_assert(stored,
			  "iteration %d (seed %u): hv-core has '%s' (id %u), which the store lost",
			  iter, run_seed, s.name, i);
	}
}

static pid_t spawn_hvctl(const char *const *args)
{
	const char *argv[12] = { HV_BIN_DIR "/hvctl", "--connect", uri };
	int n = 3;

	for (int i = 0; args[i] && n < 11; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

/* How long hvctl takes to start, connect and get an answer (`list`): the
 * kill delays are counted from about when a request reaches hv-agent.
 * Calibration only; nothing is asserted about it. */
static long client_latency_us(void)
{
	long best = -1;
	for (int i = 0; i < 3; i++) {
		long t0 = now_us();
		pid_t c = spawn_hvctl((const char *const[]){ "list", "--all", NULL });
		waitpid(c, NULL, 0);
		long t = now_us() - t0;
		if (best < 0 || t < best)
			best = t;
	}
	return best;
}

/* Four times in five, a kill aimed at the request's own processing: from
 * 60 % of the client's latency (about when the request arrives) to that
 * latency plus 60 ms later (its store writes and one or two hv-core commands
 * of a 10 ms service tick). Otherwise 10 us .. about 330 ms spread over the powers of two, so
 * that kills before the request arrives and long after it are likely too. */
static long random_delay_us(unsigned *seed, long latency)
{
	if (rand_r(seed) % 5 != 0)
		return latency * 6 / 10 + rand_r(seed) % (latency + 60000);
	long base = 10L << (rand_r(seed) % 15);
	return base + rand_r(seed) % base;
}

static const struct store_vm *stored(const struct store_vm *sv, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(sv[i].name, name) == 0)
			return &sv[i];
	return NULL;
}

/* 0 define, 1 start, 2 destroy, 3 undefine: mostly what changes something
 * in the VM's state, sometimes a request hv-core or hv-agent refuses. */
static int pick_op(unsigned *seed, const struct store_vm *sv, size_t n, const char *name)
{
	const struct store_vm *v = stored(sv, n, name);
	int r = rand_r(seed) % 100;

	if (!v)
		return r < 85 ? 0 : 1 + r % 3;
	if (v->desired == STORE_VM_RUNNING)
		return r < 60 ? 2 : r < 75 ? 3 : r < 90 ? 0 : 1;
	return r < 45 ? 1 : r < 75 ? 3 : r < 90 ? 0 : 2;
}

Test(agent_crash, sigkill_at_random_points_never_loses_or_duplicates_a_vm)
{
	const char *env = getenv("HV_CRASH_SEED");
	const unsigned seed0 = env && *env ? (unsigned)strtoul(env, NULL, 0)
					   : (unsigned)time(NULL) ^ (unsigned)getpid();
	unsigned seed = seed0;
	run_seed = seed0;
	long latency = -1;
	int iters = getenv("HV_CRASH_ITERS") ? atoi(getenv("HV_CRASH_ITERS")) : 200;
	static const char *const ops[] = { "define", "start", "destroy", "undefine" };
	int done[4] = { 0 }, ok[4] = { 0 };

	fprintf(stderr, "agent_crash: seed %u (HV_CRASH_SEED=%u repeats this run), %d iterations\n",
		seed0, seed0, iters);
	size_t n = 0;
	for (int it = 0; it < iters; it++) {
		for (int i = 0; i < NVMS; i++)
			cr_assert_eq(st_restage(&q, &vms[i]), 0, "%s", q.err);
		cr_assert_eq(agent_start(&agent, q.dir, NULL), 0, "iteration %d (seed %u): %s", it,
			     seed0, agent.err);
		if (it > 0)
			check(snap, n, it);
		if (latency < 0)
			latency = client_latency_us();

		int v = rand_r(&seed) % NVMS, op = pick_op(&seed, snap, n, vms[v].name);
		pid_t c;
		if (op == 0) /* a stored VM gets the other variant: a new revision */
			c = spawn_hvctl((const char *const[]){
				"define",
				dtb[v][stored(snap, n, vms[v].name) ? rand_r(&seed) % 2 : 0], NULL });
		else
			c = spawn_hvctl((const char *const[]){ ops[op], vms[v].name, NULL });
		cr_assert_gt(c, 0);
		store_vm_list_free(snap);
		snap = NULL;
		long delay = random_delay_us(&seed, latency);
		sleep_us(delay);
		kill(agent.pid, SIGKILL);
		int status;
		waitpid(agent.pid, &status, 0);
		agent.pid = 0;
		/* The killed agent leaves its socket files; agent_start waits for
		 * them to appear, so they go first (hv-agent replaces stale ones). */
		unlink(agent.sock);
		unlink(agent.ro_sock);
		/* The client gets its answer or an error; it never hangs (bounded). */
		int cst = 0;
		for (int w = 0; w < 1000 && waitpid(c, &cst, WNOHANG) == 0; w++)
			sleep_us(10000);
		if (kill(c, SIGKILL) == 0)
			waitpid(c, &cst, 0);
		done[op]++;
		if (WIFEXITED(cst) && WEXITSTATUS(cst) == 0)
			ok[op]++;
		n = snapshot(&snap);
	}
	cr_assert_eq(agent_start(&agent, q.dir, NULL), 0, "%s", agent.err);
	check(snap, n, iters);
	store_vm_list_free(snap);
	snap = NULL;
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
	fprintf(stderr,
		"agent_crash: seed %u: client latency %ld us; define %d (%d answered OK), start %d (%d), destroy %d (%d), undefine %d (%d); %d interrupted defines forgotten\n",
		seed0, latency, done[0], ok[0], done[1], ok[1], done[2], ok[2], done[3], ok[3],
		forgotten);
}
