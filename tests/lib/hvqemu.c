/*
 * hvqemu.c - the hv-core-under-QEMU test fixture (see hvqemu.h).
 */
#define _GNU_SOURCE
#include "hvqemu.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>

#define RAM_BASE 0x40000000ull

#ifndef HV_SOURCE_DIR
#define HV_SOURCE_DIR "."
#endif
#ifndef HV_CORE_OUT
#define HV_CORE_OUT "build/hv-core-out"
#endif

/* QEMU processes to kill (and directories to remove) at exit, whatever path the
 * test took. */
static struct {
	pid_t pid;
	char dir[256];
} live[16];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int keep_dirs(void)
{
	const char *keep = getenv("HVQ_KEEP");
	return keep && *keep && strcmp(keep, "0") != 0;
}

static void kill_live(void)
{
	for (unsigned i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i].pid > 0) {
			kill(live[i].pid, SIGKILL);
			waitpid(live[i].pid, NULL, 0);
			live[i].pid = 0;
			if (!keep_dirs())
				nftw(live[i].dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
		}
}

static void track(pid_t pid, const char *dir)
{
	static int registered;
	if (!registered) {
		atexit(kill_live);
		registered = 1;
	}
	for (unsigned i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
		if (dir && live[i].pid == 0) {
			live[i].pid = pid;
			snprintf(live[i].dir, sizeof(live[i].dir), "%s", dir);
			return;
		}
		if (!dir && live[i].pid == pid) {
			live[i].pid = 0;
			return;
		}
	}
}

static void set_err(struct hvq *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct hvq *q, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q->err, sizeof(q->err), fmt, ap);
	va_end(ap);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Appends the last lines of serial.log to q->err: what hv-core said before failing. */
static void append_serial_tail(struct hvq *q)
{
	FILE *f = fopen(q->serial, "r");
	if (!f)
		return;
	char tail[256] = "";
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, sz > 200 ? sz - 200 : 0, SEEK_SET);
	size_t n = fread(tail, 1, sizeof(tail) - 1, f);
	tail[n] = 0;
	fclose(f);
	size_t used = strlen(q->err);
	snprintf(q->err + used, sizeof(q->err) - used, "; serial.log ends: %s", tail);
}

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end == 'G' || *end == 'g')
		v <<= 30;
	else if (*end == 'M' || *end == 'm')
		v <<= 20;
	else if (*end != 0)
		return 0;
	return (size_t)v;
}

int hvq_alive(struct hvq *q)
{
	if (q->pid <= 0)
		return 0;
	int st;
	pid_t r = waitpid(q->pid, &st, WNOHANG);
	if (r == 0)
		return 1;
	track(q->pid, NULL);
	q->pid = 0;
	return 0;
}

/* hv-agent leaves the block backends it started running when it stops, by
 * design (docs/mgmt-abi.md MGMT-867): whoever stops the stack ends them. The
 * backends of a run are named by DIR/blkback/vmN.pid; a pid is signalled only
 * while it is still an hv-blkback (a pid can be reused). */
static void stop_backends(const char *dir)
{
	char pat[PATH_MAX];
	glob_t g;
	snprintf(pat, sizeof pat, "%s/blkback/vm*.pid", dir);
	if (glob(pat, 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char buf[32] = { 0 }, path[64], cmd[256] = { 0 };
		int fd = open(g.gl_pathv[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		pid_t pid = n > 0 ? (pid_t)atoi(buf) : 0;
		if (pid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, cmd, sizeof cmd - 1);
		close(fd);
		if (n > 0 && strstr(cmd, "hv-blkback"))
			kill(pid, SIGKILL);
	}
	globfree(&g);
}

void hvq_stop(struct hvq *q)
{
	if (q->pid > 0) {
		kill(q->pid, SIGKILL);
		waitpid(q->pid, NULL, 0);
		track(q->pid, NULL);
		q->pid = 0;
	}
	if (q->ram) {
		munmap(q->ram, q->ram_size);
		q->ram = NULL;
		q->mgmt = NULL;
		q->regs = NULL;
	}
	if (q->dir[0]) {
		stop_backends(q->dir);
		if (keep_dirs())
			fprintf(stderr, "hvqemu: keeping %s\n", q->dir);
		else
			nftw(q->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
		q->dir[0] = 0;
	}
}

static int map_ram(struct hvq *q, const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || (size_t)st.st_size != q->ram_size) {
		close(fd);
		return -1; /* not (fully) created yet */
	}
	void *p = mmap(NULL, q->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	q->ram = p;
	q->mgmt = (volatile uint8_t *)q->ram + (HVM_DEFAULT_BASE - RAM_BASE);
	q->regs = (volatile struct hvm_regs *)q->mgmt;
	return 0;
}

static int ready(struct hvq *q, void *arg)
{
	if (!q->ram) {
		char path[300];
		snprintf(path, sizeof(path), "%s/guest-ram", q->dir);
		if (map_ram(q, path) != 0)
			return 0;
	}
	return __atomic_load_n(&q->regs->magic, __ATOMIC_ACQUIRE) == HVM_MAGIC &&
	       (__atomic_load_n(&q->regs->hv_state, __ATOMIC_ACQUIRE) == HVM_HV_READY ||
		__atomic_load_n(&q->regs->hv_state, __ATOMIC_ACQUIRE) == HVM_HV_SELFTEST_FAILED);
}

int hvq_start(struct hvq *q, const struct hvq_opts *o)
{
	static const struct hvq_opts defaults = HVQ_OPTS_DEFAULT;
	if (!o)
		o = &defaults;
	memset(q, 0, sizeof(*q));
	const char *mem = o->mem ? o->mem : "1G";
	q->ram_size = parse_size(mem);
	if (q->ram_size < (HVM_DEFAULT_BASE - RAM_BASE) + HVM_REGION_SIZE) {
		set_err(q,
			"memory size '%s' is not understood or too small for the management region",
			mem);
		return -1;
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(q->dir, sizeof(q->dir), "%s/hvq-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(q->dir)) {
		set_err(q, "mkdtemp %s: %s", q->dir, strerror(errno));
		q->dir[0] = 0;
		return -1;
	}
	snprintf(q->serial, sizeof(q->serial), "%s/serial.log", q->dir);

	char script[512], smp[16];
	snprintf(script, sizeof(script), "%s/scripts/hv-qemu.sh",
		 o->source_dir ? o->source_dir : HV_SOURCE_DIR);
	snprintf(smp, sizeof(smp), "%d", o->smp ? o->smp : 4);
	const char *argv[64];
	int n = 0;
	argv[n++] = script;
	argv[n++] = "--dir";
	argv[n++] = q->dir;
	argv[n++] = "--core";
	argv[n++] = o->core_dir ? o->core_dir : HV_CORE_OUT;
	argv[n++] = "--mem";
	argv[n++] = mem;
	argv[n++] = "--smp";
	argv[n++] = smp;
	for (int i = 0; i < HVQ_MAX_GUESTS && o->guests[i]; i++) {
		argv[n++] = "--guest";
		argv[n++] = o->guests[i];
	}
	if (o->icount)
		argv[n++] = "--icount";
	for (int i = 0; i < 8 && o->extra[i]; i++)
		argv[n++] = o->extra[i];
	argv[n++] = "--foreground";
	argv[n] = NULL;

	pid_t parent = getpid();
	uint64_t t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0) {
		set_err(q, "fork: %s", strerror(errno));
		hvq_stop(q);
		return -1;
	}
	if (pid == 0) {
		/* QEMU must not outlive the test, even if the test is killed */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
		}
		execv(script, (char *const *)argv);
		fprintf(stderr, "hvqemu: exec %s: %s\n", script, strerror(errno));
		_exit(127);
	}
	q->pid = pid;
	track(pid, q->dir);

	unsigned timeout = o->ready_timeout_s ? o->ready_timeout_s : 60;
	if (hvq_wait(q, ready, NULL, timeout) != 0) {
		char why[512];
		snprintf(why, sizeof(why), "hv-core did not become READY: %.400s", q->err);
		memcpy(q->err, why, sizeof(q->err));
		append_serial_tail(q);
		char keep[sizeof(q->err)];
		memcpy(keep, q->err, sizeof(keep));
		hvq_stop(q);
		memcpy(q->err, keep, sizeof(q->err));
		return -1;
	}
	q->ready_ms = now_ms() - t0;
	return 0;
}

int hvq_wait(struct hvq *q, int (*pred)(struct hvq *q, void *arg), void *arg, unsigned timeout_s)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_s * 1000;
	for (;;) {
		if (pred(q, arg))
			return 0;
		if (!hvq_alive(q)) {
			set_err(q, "QEMU exited");
			return -1;
		}
		if (now_ms() >= deadline) {
			set_err(q, "gave up after %u s", timeout_s);
			return -1;
		}
		sleep_ms(20);
	}
}

struct console_text {
	int id;
	const char *text;
	char buf[HVM_CONSOLE_SIZE + 1];
};

static int console_has(struct hvq *q, void *arg)
{
	struct console_text *c = arg;
	hvq_read_console(q, (uint32_t)c->id, c->buf, sizeof(c->buf));
	return strstr(c->buf, c->text) != NULL;
}

int hvq_wait_console(struct hvq *q, int id, const char *text, unsigned timeout_s)
{
	static struct console_text c; /* 16 KiB: not on a test's stack */
	c.id = id;
	c.text = text;
	if (hvq_wait(q, console_has, &c, timeout_s) == 0)
		return 0;
	char why[sizeof(q->err)];
	memcpy(why, q->err, sizeof(why));
	size_t n = strlen(c.buf);
	fprintf(stderr, "console of VM %d, its end:\n%s\n", id, c.buf + (n > 3000 ? n - 3000 : 0));
	set_err(q, "console of VM %d never showed '%s' (%s)", id, text, why);
	return -1;
}

void *hvq_pa(struct hvq *q, uint64_t pa, size_t len)
{
	if (!q->ram || pa < RAM_BASE || pa - RAM_BASE > q->ram_size ||
	    len > q->ram_size - (pa - RAM_BASE))
		return NULL;
	return q->ram + (pa - RAM_BASE);
}

struct done_arg {
	uint32_t seq;
};

static int cmd_done(struct hvq *q, void *arg)
{
	return __atomic_load_n(&q->regs->done_seq, __ATOMIC_ACQUIRE) == ((struct done_arg *)arg)->seq;
}

int hvq_command(struct hvq *q, uint32_t cmd, uint32_t vm_id, const uint64_t *args,
		struct hvq_reply *rep)
{
	volatile struct hvm_regs *r = q->regs;
	if (!r) {
		set_err(q, "not started");
		return -1;
	}
	struct done_arg d = { __atomic_load_n(&r->done_seq, __ATOMIC_ACQUIRE) + 1 };
	r->cmd = cmd;
	r->vm_id = vm_id;
	for (int i = 0; i < 6; i++)
		r->arg[i] = args ? args[i] : 0;
	__atomic_store_n(&r->req_seq, d.seq, __ATOMIC_RELEASE);
	if (hvq_wait(q, cmd_done, &d, 10) != 0) {
		char why[sizeof(q->err)];
		snprintf(why, sizeof(why), "command %u not completed: %.400s", cmd, q->err);
		memcpy(q->err, why, sizeof(q->err));
		return -1;
	}
	memset(rep, 0, sizeof(*rep));
	rep->status = r->status;
	for (int i = 0; i < 6; i++)
		rep->ret[i] = r->ret[i];
	for (int i = 0; i < 63; i++)
		rep->msg[i] = r->ret_msg[i];
	return 0;
}

/* Copies a gen-protected structure: retry while odd or changed (MGMT-150).
 * The writer is a QEMU vCPU thread that a loaded host may preempt in the
 * middle of an update: after the first thousand tries, each try waits 100 µs,
 * and the reader gives up only when the structure has not been stable for
 * 2 s. */
static int read_gen(struct hvq *q, volatile void *src, void *dst, size_t len)
{
	volatile uint32_t *gen = src;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned tries = 0;; tries++) {
		uint32_t g1 = __atomic_load_n(gen, __ATOMIC_ACQUIRE);
		if (!(g1 & 1)) {
			for (size_t i = 0; i < len; i++)
				((uint8_t *)dst)[i] = ((volatile uint8_t *)src)[i];
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(gen, __ATOMIC_RELAXED) == g1)
				return 0;
		}
		if (tries < 1000)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) * 1000000000ll + (now.tv_nsec - t0.tv_nsec) >
		    2000000000ll)
			break;
		usleep(100);
	}
	set_err(q, "structure kept changing while being read (2 s)");
	return -1;
}

int hvq_read_slot(struct hvq *q, uint32_t id, struct hvm_vm_slot *out)
{
	if (id >= HVM_MAX_VMS)
		return -1;
	return read_gen(q, HVM_SLOT_AT(q->mgmt, id), out, sizeof(*out));
}

int hvq_read_fault(struct hvq *q, uint32_t id, struct hvm_fault *out)
{
	if (id >= HVM_MAX_VMS)
		return -1;
	return read_gen(q, q->mgmt + HVM_OFF_FAULTS + id * sizeof(struct hvm_fault), out,
			sizeof(*out));
}

int hvq_find_vm(struct hvq *q, const char *name)
{
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		struct hvm_vm_slot s;
		if (hvq_read_slot(q, i, &s) == 0 && s.defined &&
		    strncmp(s.name, name, sizeof(s.name)) == 0)
			return (int)i;
	}
	return -1;
}

size_t hvq_read_console(struct hvq *q, uint32_t id, char *buf, size_t len)
{
	if (id >= HVM_MAX_VMS || len == 0)
		return 0;
	volatile struct hvm_console *c =
		(volatile struct hvm_console *)(q->mgmt + HVM_OFF_CONSOLES +
						id * sizeof(struct hvm_console));
	uint64_t head = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);
	uint64_t avail = head < HVM_CONSOLE_SIZE ? head : HVM_CONSOLE_SIZE;
	if (avail > len - 1)
		avail = len - 1;
	for (uint64_t i = 0; i < avail; i++)
		buf[i] = (char)c->buf[(head - avail + i) % HVM_CONSOLE_SIZE];
	buf[avail] = 0;
	return (size_t)avail;
}

int hvq_read_event(struct hvq *q, uint64_t seq, struct hvm_event *out)
{
	volatile struct hvm_regs *r = q->regs;
	uint64_t head = __atomic_load_n(&r->ev_head, __ATOMIC_ACQUIRE);
	if (seq >= head || head - seq > HVM_EVENT_COUNT)
		return -1;
	volatile struct hvm_event *e =
		(volatile struct hvm_event *)(q->mgmt + HVM_OFF_EVENTS) + (seq % HVM_EVENT_COUNT);
	if (__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) != seq)
		return -1;
	out->seq = seq;
	out->time_ns = e->time_ns;
	out->type = e->type;
	out->vm_id = e->vm_id;
	out->detail = e->detail;
	out->reason = e->reason;
	return __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) == seq ? 0 : -1;
}
