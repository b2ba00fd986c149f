/*
 * agent_robust.c - hv-agent's gateway under pressure, over real gRPC with the
 * independent Python client (agent_robust_client.py): client deadlines reach
 * the register interface (a command whose deadline passes while it waits is
 * never executed), the bounded queues (hv-agent's operation queue for
 * state-changing RPCs, hvlink's command queue) answer RESOURCE_EXHAUSTED when
 * full while reads keep being served, refused calls reach the audit log at a
 * bounded rate, message size limits, many concurrent
 * clients, SIGTERM with a call in flight, and 10,000 mixed calls under ASan
 * with no leak at exit.
 *
 * Runs against the test double of hv-core (tests/double/hvcore_double.h),
 * which plays the management region; a "slow hv-core command" is a command
 * the paused double holds until the test releases it. Waits are bounded polls for states, never timing assertions.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "double_vms.h"
#include "hvcore_double.h"

#define CLIENT HV_SOURCE_DIR "/tests/integration/agent_robust_client.py"

static char dir[64], ram[128], work[128];
static struct fakecore *fc;
static struct agent_proc agent;
static pid_t kids[4];

static void setup(void)
{
	memset(kids, 0, sizeof kids);
	fc = double_vms_start("/tmp/agent-robust-XXXXXX", dir, sizeof dir, ram, sizeof ram, work,
			      sizeof work);
	/* A long command timeout: a command the paused fake holds stays in
	 * flight until the test releases it. */
	static const char *const extra[] = { "--cmd-timeout-ms", "120000", NULL };
	cr_assert_eq(agent_start(&agent, dir, extra), 0, "%s", agent.err);
}

static void teardown(void)
{
	fakecore_pause(fc, false);
	for (int i = 0; i < 4; i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
		}
	agent_stop(&agent);
	fakecore_destroy(fc);
	remove_tree(dir);
}

TestSuite(agent_robust, .init = setup, .fini = teardown, .timeout = 600);

/* Runs the client synchronously; returns its stdout (caller frees). */
static char *client(const char *const *args)
{
	const char *argv[16] = { CLIENT, HV_SOURCE_DIR "/proto", work };
	int n = 3;
	char *out, *err;

	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	int rc = run_program(HV_SYSTEM_PYTHON, argv, &out, &err);
	cr_assert_eq(rc, 0, "client %s: status %d\nstdout: %s\nstderr: %s", args[0], rc, out, err);
	free(err);
	return out;
}
#define CLIENT_RUN(...) client((const char *const[]){ __VA_ARGS__, NULL })

/* Starts the client in the background, stdout to outfile; slot i of kids. */
static void client_bg(int i, const char *outfile, const char *const *args)
{
	const char *argv[16] = { HV_SYSTEM_PYTHON, CLIENT, HV_SOURCE_DIR "/proto", work };
	int n = 4;

	for (int k = 0; args[k] && n < 15; k++)
		argv[n++] = args[k];
	argv[n] = NULL;
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	kids[i] = pid;
}
#define CLIENT_BG(i, out, ...) client_bg(i, out, (const char *const[]){ __VA_ARGS__, NULL })

/* Waits for background client i; returns its output (caller frees). */
static char *client_wait(int i, const char *outfile)
{
	int status;

	cr_assert_eq(waitpid(kids[i], &status, 0), kids[i]);
	kids[i] = 0;
	char *out = read_file_text(outfile);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "background client failed: %s",
		  out ? out : "");
	return out;
}

static int file_has(const char *path, const char *needle)
{
	char *t = read_file_text(path);
	int yes = t && strstr(t, needle);
	free(t);
	return yes;
}

static long rss_kib(pid_t pid)
{
	char p[64], line[256];
	long kib = -1;

	snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Holds one Start of "rtos" in the paused fake hv-core, in background slot 0. */
static void hold_start(char *outfile, size_t len)
{
	snprintf(outfile, len, "%s/held.out", dir);
	fakecore_pause(fc, true);
	CLIENT_BG(0, outfile, "call", agent.sock, "Start", "rtos", "300");
	WAIT_FOR(double_outstanding(fc), "the Start to reach hv-core");
}

/* The audit log has a row containing needle (a line "rpc|identity|outcome"). */
static int audit_has(const char *needle)
{
	char *out = CLIENT_RUN("audit", agent.sock);
	int yes = strstr(out, needle) != NULL;
	free(out);
	return yes;
}

/* An audit row of rpc by this test's uid/gid on the read-write socket
 * (whatever its pid) whose outcome is `outcome`. */
static int audit_row_has(const char *rpc, const char *outcome)
{
	char *out = CLIENT_RUN("audit", agent.sock);
	char want[160];
	int yes = 0;

	snprintf(want, sizeof want, "%s|unix-rw:uid=%u,gid=%u,pid=", rpc, (unsigned)getuid(),
		 (unsigned)getgid());
	for (char *p = out; !yes && (p = strstr(p, want)) != NULL; p++) {
		char *bar = strchr(p + strlen(want), '|');
		char *eol = strchr(p, '\n');
		yes = bar && (!eol || bar < eol) && !strncmp(bar + 1, outcome, strlen(outcome));
	}
	free(out);
	return yes;
}

Test(agent_robust, deadline_passing_in_the_queue_means_the_command_never_runs)
{
	char held[160];

	hold_start(held, sizeof held);
	/* Destroy with a 1 s deadline waits behind the held Start in hv-agent's
	 * operation queue, where every state-changing RPC waits. */
	char *out = CLIENT_RUN("call", agent.sock, "Destroy", "linux", "1");
	cr_expect(strncmp(out, "DEADLINE_EXCEEDED|", 18) == 0, "%s", out);
	free(out);
	/* Its handler gave up at the deadline, while the Start is still held:
	 * its audit row (written when the handler ends) is there before the
	 * fake hv-core is released, and says the command was not sent. */
	WAIT_FOR(audit_row_has("hvmgr.v1.Hvmgr/Destroy",
			       "DEADLINE_EXCEEDED: DESTROY not sent: the caller's deadline passed while it waited for its turn (1 operation ahead of it)"),
		 "the Destroy's audit row while the Start is held");
	cr_expect(double_outstanding(fc), "the Start is still held");

	fakecore_pause(fc, false);
	out = client_wait(0, held);
	cr_expect_str_eq(out, "OK|\n");
	free(out);
	/* A later command goes through the same FIFO: had the Destroy stayed
	 * queued it would have run first, and Suspend would find linux off. */
	out = CLIENT_RUN("call", agent.sock, "Suspend", "linux", "60");
	cr_expect_str_eq(out, "OK|\n");
	free(out);
	cr_expect_eq(fakecore_commands(fc), 2, "only Start and Suspend reached hv-core");
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

Test(agent_robust, full_command_queue_is_resource_exhausted_and_reads_still_served)
{
	char held[160], flood[160], marker[160];

	hold_start(held, sizeof held);
	snprintf(flood, sizeof flood, "%s/flood.out", dir);
	snprintf(marker, sizeof marker, "%s/flood.full", dir);
	/* 16 more commands fill the queue (HVLINK_DEFAULT_QUEUE_MAX); the
	 * client probes until it is refused, then reads through the same
	 * socket while all of them wait. */
	CLIENT_BG(1, flood, "flood", agent.sock, "16", marker);
	WAIT_FOR(access(marker, F_OK) == 0 || waitpid(kids[1], NULL, WNOHANG) != 0,
		 "the queue to fill");
	cr_assert_eq(access(marker, F_OK), 0, "flood client ended early: %s", read_file_text(flood));
	fakecore_pause(fc, false);
	char *out = client_wait(1, flood);
	cr_expect(strncmp(out, "ok|", 3) == 0, "%s", out);
	cr_log_info("queue full: %s", out);
	free(out);
	out = client_wait(0, held);
	cr_expect_str_eq(out, "OK|\n");
	free(out);
	cr_expect_eq(fakecore_commands(fc), 17,
		     "the held Start and the 16 queued commands, nothing else");
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

Test(agent_robust, full_operation_queue_is_resource_exhausted_and_never_reaches_hv_core)
{
	char held[160], flood[160], marker[160];

	/* The held Start is the operation in progress; 16 Resets wait behind
	 * it in hv-agent's operation queue (AGENT_OPS_MAX) and the client
	 * probes with more until one is refused at once, then reads. */
	hold_start(held, sizeof held);
	snprintf(flood, sizeof flood, "%s/flood.out", dir);
	snprintf(marker, sizeof marker, "%s/flood.full", dir);
	CLIENT_BG(1, flood, "flood_ops", agent.sock, "16", marker);
	WAIT_FOR(access(marker, F_OK) == 0 || waitpid(kids[1], NULL, WNOHANG) != 0,
		 "the queue to fill");
	cr_assert_eq(access(marker, F_OK), 0, "flood client ended early: %s", read_file_text(flood));
	cr_expect_eq(fakecore_commands(fc), 0, "nothing but the held Start reached hv-core yet");
	fakecore_pause(fc, false);
	char *out = client_wait(1, flood);
	cr_expect(strncmp(out, "ok|", 3) == 0, "%s", out);
	cr_log_info("operation queue full: %s", out);
	free(out);
	out = client_wait(0, held);
	cr_expect_str_eq(out, "OK|\n");
	free(out);
	/* Refused and expired probes never reached hv-core. */
	cr_expect_eq(fakecore_commands(fc), 17,
		     "the held Start and the 16 queued Resets, nothing else");
	cr_expect(audit_has("RESOURCE_EXHAUSTED: RESET not sent: hv-core executes one management operation at a time and 16 more are already waiting"),
		  "the refusal is audited");
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

Test(agent_robust, refused_calls_flood_the_audit_log_at_a_bounded_rate)
{
	enum {
		N = 300
	};
	char n[16];
	unsigned rows, suppressed, summaries;
	double secs;

	snprintf(n, sizeof n, "%d", N);
	char *out = CLIENT_RUN("refusals", agent.ro_sock, agent.sock, n);
	cr_assert_eq(sscanf(out, "ok|%u|%u|%u|%lf", &rows, &suppressed, &summaries, &secs), 4, "%s",
		     out);
	cr_log_info("%d refusals in %.2f s: %u rows, %u counted in %u summaries", N, secs, rows,
		    suppressed, summaries);
	free(out);
	/* Every refusal is accounted for, one by one or in a summary ... */
	cr_expect_eq(rows + suppressed, N, "%u rows + %u suppressed", rows, suppressed);
	cr_expect_eq(summaries > 0, suppressed > 0);
	/* ... and one-by-one rows never exceed the budget of the windows the
	 * calls spanned (10 a second; a true bound however slow the machine). */
	cr_expect_leq(rows, 10u * ((unsigned)secs + 1), "%u rows in %.2f s", rows, secs);
	/* The chain still verifies: hv-agent checks it when it starts. */
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
	static const char *const extra[] = { "--cmd-timeout-ms", "120000", NULL };
	cr_assert_eq(agent_start(&agent, dir, extra), 0, "restart: %s", agent.err);
}

Test(agent_robust, oversized_requests_are_resource_exhausted_without_harm)
{
	char *out = CLIENT_RUN("big", agent.sock);
	cr_expect_str_eq(out, "ok\n");
	free(out);
	cr_expect_eq(fakecore_commands(fc), 0, "nothing oversized reached hv-core");
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
	cr_expect(!file_has(agent.log, "Sanitizer"), "sanitizer report in %s", agent.log);
}

Test(agent_robust, many_concurrent_clients)
{
	char *out = CLIENT_RUN("mixed", agent.sock, agent.ro_sock, "3200", "64");
	cr_expect(strncmp(out, "ok|3200|", 8) == 0, "%s", out);
	free(out);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
	/* 2 of every 5 calls go to the read-only socket, half of them refused. */
	cr_expect(file_has(agent.log, "hv-agent-ro.sock: 1280 calls, 640 refused by authorization"),
		  "counters in %s", agent.log);
}

Test(agent_robust, sigterm_lets_the_call_in_flight_finish_and_refuses_new_ones)
{
	char held[160];

	hold_start(held, sizeof held);
	pid_t pid = agent.pid;
	cr_assert_eq(kill(pid, SIGTERM), 0);
	WAIT_FOR(file_has(agent.log, "SIGTERM: stopping"), "hv-agent to begin stopping");
	char *out = CLIENT_RUN("call", agent.sock, "GetVersion", "-", "10");
	cr_expect(strncmp(out, "UNAVAILABLE|", 12) == 0, "a new call while stopping: %s", out);
	free(out);

	fakecore_pause(fc, false);
	out = client_wait(0, held);
	cr_expect_str_eq(out, "OK|\n", "the call in flight finished");
	free(out);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not exit 0");
	cr_expect_eq(fakecore_commands(fc), 1);
	cr_expect(file_has(agent.log, "stopped"), "%s", agent.log);
	cr_expect(access(agent.sock, F_OK) != 0, "socket left behind");
}

Test(agent_robust, ten_thousand_mixed_calls_twice_leak_nothing)
{
	/* ASan keeps freed memory in a quarantine (256 MiB by default), which
	 * would hide the daemon's own footprint: restart it with a small one.
	 * Leak detection stays on. */
	cr_assert_eq(agent_stop(&agent), 0);
	char opts[512];
	const char *old = getenv("ASAN_OPTIONS");
	snprintf(opts, sizeof opts, "%s%squarantine_size_mb=1:detect_leaks=1", old ? old : "",
		 old && *old ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	static const char *const extra[] = { "--cmd-timeout-ms", "120000", NULL };
	cr_assert_eq(agent_start(&agent, dir, extra), 0, "%s", agent.err);

	long before = rss_kib(agent.pid);
	char *out = CLIENT_RUN("mixed", agent.sock, agent.ro_sock, "10000", "8");
	cr_expect(strncmp(out, "ok|10000|", 9) == 0, "%s", out);
	long after = rss_kib(agent.pid);
	/* A second round shows whether the size levels off. */
	char *again = CLIENT_RUN("mixed", agent.sock, agent.ro_sock, "10000", "8");
	cr_expect(strncmp(again, "ok|10000|", 9) == 0, "%s", again);
	long after2 = rss_kib(agent.pid);
	/* For the record (not asserted): time and the daemon's resident size. */
	out[strcspn(out, "\n")] = '\0';
	again[strcspn(again, "\n")] = '\0';
	fprintf(stderr,
		"agent_robust: 10000 calls took %s s, 10000 more %s s; hv-agent RSS %ld KiB before, %ld KiB after 10000, %ld KiB after 20000\n",
		strrchr(out, '|') + 1, strrchr(again, '|') + 1, before, after, after2);
	free(out);
	free(again);
	cr_assert_eq(agent_stop(&agent), 0,
		     "hv-agent did not exit 0 (a LeakSanitizer report exits 23)");
	cr_expect(!file_has(agent.log, "LeakSanitizer"), "leak report in %s", agent.log);
	cr_expect(!file_has(agent.log, "AddressSanitizer"), "ASan report in %s", agent.log);
	cr_expect(file_has(agent.log, "hv-agent-ro.sock: 8000 calls, 4000 refused by authorization"),
		  "counters in %s", agent.log);
	cr_expect(file_has(agent.log, "hv-agent.sock: 12000 calls, 0 refused"), "counters in %s",
		  agent.log);
}
