/*
 * agent_blkback.c - hv-agent runs the virtio-blk backends (docs/mgmt-abi.md
 * MGMT-865..867) against the test double of hv-core: the test plays hv-core's
 * side of a VM's request ring (MGMT-860..862) in the double's RAM file and the
 * real hv-blkback serves it.
 *   - a request posted before any backend runs waits, and completes once
 *     hv-agent has started hv-blkback, in a session of its own, on
 *     STATE/disks/NAME.disk created at the ring's capacity;
 *   - SIGKILLed, the backend is restarted and the next request completes;
 *   - with hv-agent SIGKILLed the backend keeps serving; a new hv-agent adopts
 *     it (same pid) and audits that;
 *   - undefined, the VM's backend is stopped and its pid file removed;
 *   - a backend that keeps failing is given up on with an alarm.
 * Waits are bounded polls; nothing asserts a duration.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "hvcore_double.h"

#define WIN_PA (HVM_DEFAULT_BASE + HVM_REGION_SIZE) /* the double's staging area */
#define WIN_SIZE 0x10000u
#define CAPACITY (1u << 20)

static struct fakecore *fc;
static struct agent_proc agent;
static char dir[64], ram[128], uri[160];
static volatile struct hvm_blk_ring *ring;
static uint8_t *win;
static char *out, *err;

static const struct fakecore_vm vm_blk = {
	.name = "blkvm",
	.state = HVM_VM_RUNNING,
	.vcpus = 1,
	.pcpu_mask = 2,
	.mem_bytes = 16 << 20,
	.fault_policy = 1,
	.uuid = { 0xb1, 0x0c, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 1 },
};

static const char *in_dir(const char *name)
{
	static char p[4][192];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
	return p[k];
}

/* hv-core's part of VM 0's ring: the header (MGMT-860), `live` last. */
static void ring_init(volatile struct hvm_blk_ring *r, uint64_t win_pa)
{
	r->magic = HVM_BLK_MAGIC;
	r->version = HVM_BLK_VERSION;
	r->size = sizeof(struct hvm_blk_ring);
	r->vm_id = 0;
	r->capacity = CAPACITY;
	r->window_pa = win_pa;
	r->window_size = WIN_SIZE;
	r->epoch = 1;
	__atomic_store_n(&r->live, 1, __ATOMIC_RELEASE);
}

static void setup(void)
{
	out = err = NULL;
	memset(&agent, 0, sizeof agent);
	snprintf(dir, sizeof dir, "/tmp/agent-blk-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(ram, sizeof ram, "%s/guest-ram", dir);
	snprintf(uri, sizeof uri, "unix://%s/hv-agent.sock", dir);
	fc = fakecore_create(ram, FAKECORE_RAM_BASE, HVM_DEFAULT_BASE);
	cr_assert_not_null(fc);
	fakecore_set_vm(fc, 0, &vm_blk);
	fakecore_live_guests(fc, true);
	cr_assert_eq(fakecore_start(fc), 0);
	ring = (volatile struct hvm_blk_ring *)(fakecore_base(fc) + HVM_OFF_BLK);
	int fd = open(ram, O_RDWR);
	cr_assert_geq(fd, 0);
	win = mmap(NULL, WIN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   (off_t)(WIN_PA - FAKECORE_RAM_BASE));
	close(fd);
	cr_assert_neq(win, MAP_FAILED);
	ring_init(ring, WIN_PA);
}

static pid_t pidfile_pid(void)
{
	char *t = read_file_text(in_dir("blkback/vm0.pid"));
	pid_t p = t ? (pid_t)atoi(t) : 0;
	free(t);
	return p;
}

static void teardown(void)
{
	pid_t b = pidfile_pid();
	agent_stop(&agent);
	/* the backends outlive hv-agent by design: end the test's own */
	if (b > 1)
		kill(b, SIGKILL);
	if (ring && ring->backend_pid > 1 && (pid_t)ring->backend_pid != b)
		kill((pid_t)ring->backend_pid, SIGKILL);
	if (win && win != MAP_FAILED)
		munmap(win, WIN_SIZE);
	win = NULL;
	ring = NULL;
	fakecore_destroy(fc);
	fc = NULL;
	free(out);
	free(err);
	if (dir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		cr_expect_eq(system(cmd), 0);
	}
}

TestSuite(agent_blkback, .init = setup, .fini = teardown, .timeout = 300);

static char metrics_at[64];

static void start_agent(const char *program)
{
	static const char *args[10];
	int n = 0;
	snprintf(metrics_at, sizeof metrics_at, "127.0.0.1:%d", loopback_port());
	args[n++] = "--metrics-listen";
	args[n++] = metrics_at;
	args[n++] = "--metrics-interval-ms";
	args[n++] = "200";
	args[n++] = "--blkback";
	args[n++] = program;
	args[n] = NULL;
	unlink(agent.sock); /* a killed agent's sockets: agent_start waits for new ones */
	unlink(agent.ro_sock);
	cr_assert_eq(agent_start(&agent, dir, args), 0, "%s", agent.err);
}

/* Posts one request of one 512-byte segment at window offset `off`. */
static uint32_t post(uint32_t type, uint64_t sector, uint32_t off)
{
	uint32_t n = ring->posted;
	volatile struct hvm_blk_req *r = &ring->req[n % HVM_BLK_SLOTS];
	r->type = type;
	r->nseg = 1;
	r->sector = sector;
	r->status = 0xff;
	r->epoch = ring->epoch;
	r->seg[0].off = off;
	r->seg[0].len = 512;
	__atomic_store_n(&ring->posted, n + 1, __ATOMIC_RELEASE);
	return n + 1;
}

static void wait_done(uint32_t n, const char *what)
{
	for (int i = 0; i < 1200 && __atomic_load_n(&ring->done, __ATOMIC_ACQUIRE) < n; i++)
		usleep(50000);
	char *log = read_file_text(agent.log);
	cr_assert_geq(ring->done, n, "%s: done %u, posted %u; hv-agent's log:\n%s", what,
		      ring->done, ring->posted, log ? log : "");
	free(log);
	cr_assert_eq(ring->req[(n - 1) % HVM_BLK_SLOTS].status, HVM_BLK_S_OK, "%s", what);
}

static int log_has(const char *text)
{
	char *log = read_file_text(agent.log);
	int has = log && strstr(log, text);
	free(log);
	return has;
}

static void wait_log(const char *text)
{
	for (int i = 0; i < 1200 && !log_has(text); i++)
		usleep(50000);
	char *log = read_file_text(agent.log);
	cr_assert(log && strstr(log, text), "hv-agent's log lacks '%s':\n%s", text, log ? log : "");
	free(log);
}

/* The value of the first series of `metric` in a scrape whose labels hold
 * `label`; -1 when there is none (after bounded retries). */
/* The value of metric's first series whose labels contain label, scraped
 * until it is want (the registry is refreshed by samples: a scrape right
 * after a change may still show the previous one); the last value seen, or
 * -1 when no scrape had the series, after a bounded number of tries. */
static long scrape(const char *metric, const char *label, long want)
{
	char url[96], key[96];
	long seen = -1;
	snprintf(url, sizeof url, "http://%s/metrics", metrics_at);
	snprintf(key, sizeof key, "\n%s{", metric);
	for (int i = 0; i < 100; i++) {
		free(out);
		free(err);
		out = err = NULL;
		if (run_program(HV_CURL, (const char *const[]){ "-sf", url, NULL }, &out, &err) == 0)
			for (const char *p = out; (p = strstr(p, key)); p++) {
				const char *end = strchr(p + 1, '\n');
				const char *lab = strstr(p, label);
				const char *close = strstr(p, "} ");
				if (lab && close && lab < close && (!end || close < end)) {
					seen = strtol(close + 2, NULL, 10);
					break;
				}
			}
		if (seen == want)
			return seen;
		usleep(100000);
	}
	return seen;
}

static int alive(pid_t p)
{
	char path[64], *st;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)p);
	st = read_file_text(path);
	int ok = st && !strstr(st, ") Z ") && !strstr(st, ") X ");
	free(st);
	return ok;
}

Test(agent_blkback, agent_starts_restarts_and_adopts_the_backend_and_stops_it_at_undefine)
{
	start_agent(HV_BIN_DIR "/hv-blkback");

	/* a write posted before any backend runs waits, then completes */
	memset(win, 0xA5, 512);
	wait_done(post(HVM_BLK_OUT, 3, 0), "the first write");
	pid_t first = (pid_t)ring->backend_pid;
	cr_assert_gt(first, 1);
	cr_expect_eq(getsid(first), first, "hv-blkback runs in a session of its own");
	cr_expect_eq(pidfile_pid(), first);
	struct stat sb;
	cr_assert_eq(stat(in_dir("disks/blkvm.disk"), &sb), 0, "the disk in the state directory");
	cr_expect_eq(sb.st_size, CAPACITY, "created at the ring's capacity");
	uint8_t sec[512];
	int fd = open(in_dir("disks/blkvm.disk"), O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, sec, 512, 3 * 512), 512);
	close(fd);
	cr_expect_eq(sec[0], 0xA5);
	cr_expect_eq(sec[511], 0xA5);

	/* SIGKILLed: hv-agent restarts it, the next request completes */
	kill(first, SIGKILL);
	memset(win + 4096, 0, 512);
	wait_done(post(HVM_BLK_IN, 3, 4096), "the read after the backend's death");
	pid_t second = (pid_t)ring->backend_pid;
	cr_expect_neq(second, first);
	cr_expect_eq(win[4096], 0xA5);
	wait_log("restarted hv-blkback");
	cr_expect(log_has("killed by signal 9"));
	/* and in the metrics (MGMT-866) */
	cr_expect_eq(scrape("hv_vm_blkback_restarts_total", "blkvm", 1), 1, "%s", out);
	cr_expect_eq(scrape("hv_vm_blkback_up", "state=\"running\"", 1), 1, "%s", out);

	/* hv-agent SIGKILLed: the backend keeps serving */
	kill(agent.pid, SIGKILL);
	cr_expect_eq(agent_stop(&agent), 128 + SIGKILL);
	memset(win + 8192, 0x5A, 512);
	wait_done(post(HVM_BLK_OUT, 4, 8192), "a write while hv-agent is down");
	cr_expect_eq((pid_t)ring->backend_pid, second);

	/* a new hv-agent adopts it: same pid, audited */
	start_agent(HV_BIN_DIR "/hv-blkback");
	char adopted[64];
	snprintf(adopted, sizeof adopted, "adopted hv-blkback %d", (int)second);
	wait_log(adopted);
	cr_expect(alive(second));
	free(out);
	free(err);
	out = err = NULL;
	cr_assert_eq(run_hvctl((const char *const[]){ "--connect", uri, "audit", NULL }, &out, &err),
		     0, "%s", err);
	cr_expect(strstr(out, "hv-agent.blkback") && strstr(out, "adopted"), "%s", out);

	/* undefined: its backend is stopped, its pid file removed */
	fakecore_clear_vm(fc, 0);
	for (int i = 0; i < 600 && alive(second); i++)
		usleep(50000);
	cr_expect(!alive(second), "the backend of an undefined VM is stopped");
	wait_log("the VM is no longer defined");
	cr_expect_eq(access(in_dir("blkback/vm0.pid"), F_OK), -1);
	cr_expect_eq(access(in_dir("disks/blkvm.disk"), F_OK), 0, "the data disk stays");
}

Test(agent_blkback, a_backend_that_keeps_failing_is_given_up_with_an_alarm)
{
	/* a "backend" that fails at once, every time */
	const char *prog = in_dir("hv-blkback");
	FILE *f = fopen(prog, "w");
	cr_assert_not_null(f);
	fprintf(f, "#!/bin/sh\necho 'cannot serve' >&2\nexit 3\n");
	fclose(f);
	cr_assert_eq(chmod(prog, 0700), 0);
	start_agent(prog);
	wait_log("ALARM: hv-blkback of VM 'blkvm' (id 0) ended 6 times in a row");
	cr_expect(log_has("exited with status 3"));
	free(out);
	free(err);
	out = err = NULL;
	cr_assert_eq(run_hvctl((const char *const[]){ "--connect", uri, "audit", NULL }, &out, &err),
		     0, "%s", err);
	cr_expect(strstr(out, "FAILED"), "%s", out);
	char *vmlog = read_file_text(in_dir("blkback/vm0.log"));
	cr_expect(vmlog && strstr(vmlog, "cannot serve"), "the backend's output goes to its log");
	free(vmlog);
}

Test(agent_blkback, a_blkback_option_naming_no_program_is_refused)
{
	static const char *args[] = { "--blkback", "/nonexistent/hv-blkback", NULL };
	cr_assert_neq(agent_start(&agent, dir, args), 0);
	char *log = read_file_text(agent.log);
	cr_expect(log && strstr(log, "--blkback /nonexistent/hv-blkback: not an executable program"),
		  "%s", log ? log : "");
	free(log);
	/* refused before anything was made */
	cr_expect_eq(access(in_dir("hv-agent.db"), F_OK), -1);
	cr_expect_eq(access(in_dir("disks"), F_OK), -1);
}

/* MGMT-868: a backend whose machine's RAM file was removed ends by itself; one
 * whose file keeps its name keeps serving. Its own RAM file here (sparse, the
 * ring at region 0 of RAM based at 0), so the test double's is untouched. */
Test(agent_blkback, a_backend_ends_when_its_machines_ram_file_is_removed)
{
	const char *own = in_dir("own-ram");
	const char *log = in_dir("own-backend.log");
	const uint64_t win_pa = 0x100000u, size = 0x200000u;
	int fd = open(own, O_RDWR | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	volatile struct hvm_blk_ring *r =
		mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, HVM_OFF_BLK);
	close(fd);
	cr_assert_neq(r, MAP_FAILED);
	ring_init(r, win_pa);

	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (lfd >= 0)
			dup2(lfd, 2);
		execl(HV_BIN_DIR "/hv-blkback", "hv-blkback", "--ram", own, "--vm", "0", "--disk",
		      in_dir("own.disk"), "--ram-base", "0", "--region", "0", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 300 && r->backend_pid != (uint32_t)pid; i++)
		usleep(20000);
	cr_assert_eq(r->backend_pid, (uint32_t)pid, "hv-blkback never took the ring");
	/* the file still has its name: the backend keeps going past its check */
	usleep(1500000);
	int status = 0;
	cr_expect_eq(waitpid(pid, &status, WNOHANG), 0, "hv-blkback ended with its RAM file there");
	cr_assert_eq(unlink(own), 0);
	pid_t w = 0;
	for (int i = 0; i < 1500 && w == 0; i++) { /* bounded: a hang fails, not a slow run */
		w = waitpid(pid, &status, WNOHANG);
		if (w == 0)
			usleep(20000);
	}
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		cr_assert_fail("hv-blkback did not end after its RAM file was removed");
	}
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	char *text = read_file_text(log);
	cr_expect(text && strstr(text, "was removed: its machine is gone"), "%s", text ? text : "");
	free(text);
	munmap((void *)r, 0x1000);
}
