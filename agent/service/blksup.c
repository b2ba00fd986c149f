/*
 * blksup.c - hv-agent supervises the virtio-blk backends (blksup.h,
 * docs/mgmt-abi.md MGMT-865..867).
 *
 * One thread looks at every VM slot and its request ring every poll_ms:
 *   - a VM whose ring is live and that has no backend gets one: first a
 *     running hv-blkback for this VM is adopted (the ring's backend_pid, the
 *     pid file), else one is started, unless it is waiting out its restart
 *     delay or was given up on;
 *   - a backend that ended is restarted after a delay that doubles with each
 *     crash in a row (a backend that served BLKSUP_STABLE_NS before it ended
 *     starts the count again); after `give_up` crashes in a row it is not
 *     restarted: an alarm in the log and the audit log, state "failed" in
 *     GetVm, until hv-core sets the ring up anew (the VM's next boot);
 *   - the backend of a VM that is no longer defined (or whose slot now holds
 *     another VM) is stopped and its pid file removed.
 * Meanwhile the guest's requests wait in the ring (MGMT-863).
 */
#define _GNU_SOURCE
#include "blksup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "deadline.h"
#include "log.h"
#include "store.h"
#include "uuid.h"

enum bstate {
	B_NONE,
	B_RUNNING,
	B_ADOPTED,
	B_RESTARTING,
	B_FAILED
};
static const char *const state_names[] = { "", "running", "adopted", "restarting", "failed" };

struct backend {
	int known; /* the slot's VM (uuid) has been seen with a live ring */
	uint8_t uuid[16];
	char name[HVM_NAME_LEN];
	enum bstate state;
	pid_t pid;
	int child; /* started by this hv-agent: waitpid tells how it ended */
	uint32_t restarts, streak;
	uint64_t started_ns, next_ns;
	uint32_t failed_epoch;
	char last_exit[96];
	char disk[PATH_MAX];
};

struct blksup {
	struct blksup_config cfg;
	char prog[PATH_MAX], state_dir[PATH_MAX], ram[PATH_MAX];
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;
	struct backend b[HVM_MAX_VMS];
};

/* ---- the audit log ---- */

static void audit(struct blksup *s, const struct backend *b, uint32_t id, const char *outcome)
{
	struct agent *ag = s->cfg.ag;
	struct store_audit_entry e = { .caller = "hv-agent", .role = "system" };
	struct store_err err;
	char args[160];

	if (!ag || !ag->store)
		return;
	snprintf(args, sizeof args, "vm=name:%s id=%u pid=%d", b->name, id, (int)b->pid);
	e.rpc = "hv-agent.blkback";
	e.args = args;
	e.outcome = outcome;
	pthread_mutex_lock(&ag->audit_lock);
	enum store_status ss = store_audit_append(ag->store, &e, &err);
	pthread_mutex_unlock(&ag->audit_lock);
	if (ss == STORE_OK)
		return;
	__atomic_add_fetch(&ag->audit_failures, 1, __ATOMIC_RELAXED);
	log_error("audit: cannot record the backend of VM '%s' (%s): %s", b->name, outcome, err.msg);
}

/* ---- files ---- */

static void pid_path(const struct blksup *s, uint32_t id, char *out, size_t len)
{
	snprintf(out, len, "%s/blkback/vm%u.pid", s->state_dir, id);
}

static void write_pidfile(const struct blksup *s, uint32_t id, pid_t pid)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 40], text[24];

	pid_path(s, id, path, sizeof path);
	snprintf(tmp, sizeof tmp, "%s.new", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int n = snprintf(text, sizeof text, "%d\n", (int)pid);
	if (fd < 0 || write(fd, text, (size_t)n) != n || close(fd) != 0 || rename(tmp, path) != 0) {
		log_warn("blkback: cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
	}
}

static pid_t read_pidfile(const struct blksup *s, uint32_t id)
{
	char path[PATH_MAX + 32], text[24];
	pid_path(s, id, path, sizeof path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	long v = strtol(text, NULL, 10);
	return v > 1 && v < INT32_MAX ? (pid_t)v : 0;
}

/* A name that can be a file name as it is; else the uuid. */
static void disk_path(const struct blksup *s, struct backend *b)
{
	int plain = b->name[0] != '\0' && b->name[0] != '.';
	for (const char *p = b->name; *p && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.';
	char u[HV_UUID_STR_LEN];
	hv_uuid_format(b->uuid, u);
	int n = snprintf(b->disk, sizeof b->disk, "%s/disks/%s.disk", s->state_dir,
			 plain ? b->name : u);
	if (n < 0 || (size_t)n >= sizeof b->disk) /* cannot be: state_dir is short */
		b->disk[0] = '\0';
}

/* Created at the device's capacity on first use, grown if the configuration
 * grew it; never shrunk (the data stays). */
static void prepare_disk(const struct backend *b, uint64_t capacity)
{
	int fd = open(b->disk, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 ||
	    ((uint64_t)st.st_size < capacity && ftruncate(fd, (off_t)capacity) != 0))
		log_warn("blkback: the disk %s of VM '%s': %s (hv-blkback tries again)", b->disk,
			 b->name, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* ---- processes ---- */

/* pid is an hv-blkback serving VM id: its command line says so. A zombie or
 * another program that got the number does not. */
static int is_backend(pid_t pid, uint32_t id)
{
	char path[64], buf[4096], want[16];
	if (pid <= 1)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char *base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	if (strcmp(base, "hv-blkback") != 0)
		return 0;
	snprintf(want, sizeof want, "%u", id);
	for (ssize_t i = 0; i < n;) {
		const char *arg = buf + i;
		size_t l = strlen(arg);
		if (strcmp(arg, "--vm") == 0 && i + (ssize_t)l + 1 < n)
			return strcmp(arg + l + 1, want) == 0;
		i += (ssize_t)l + 1;
	}
	return 0;
}

static void describe_status(int status, char *out, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(out, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status))
		snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
	else
		snprintf(out, len, "ended (status 0x%x)", (unsigned)status);
}

/* Starts hv-blkback for VM id in a session of its own, its output appended
 * to STATE/blkback/vmID.log. 0, or -1 with why. */
static int spawn(struct blksup *s, uint32_t id, struct backend *b, char *why, size_t len)
{
	char vm[16], base[24], region[24], logp[PATH_MAX + 32];
	snprintf(vm, sizeof vm, "%u", id);
	snprintf(base, sizeof base, "0x%" PRIx64, s->cfg.ram_base);
	snprintf(region, sizeof region, "0x%" PRIx64, s->cfg.mgmt_base);
	snprintf(logp, sizeof logp, "%s/blkback/vm%u.log", s->state_dir, id);
	char *const argv[] = { s->prog, "--ram",      s->ram, "--vm",     vm,     "--disk",
			       b->disk, "--ram-base", base,   "--region", region, NULL };
	/* everything the child needs is ready: after fork it only calls
	 * async-signal-safe functions */
	int logfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	sigset_t none;
	sigemptyset(&none);
	long maxfd = sysconf(_SC_OPEN_MAX);
	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		if (logfd >= 0)
			close(logfd);
		if (nullfd >= 0)
			close(nullfd);
		return -1;
	}
	if (pid == 0) {
		setsid(); /* not in hv-agent's session or process group */
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL); /* hv-agent blocks its signals */
		if (nullfd >= 0)
			dup2(nullfd, 0);
		if (logfd >= 0) {
			dup2(logfd, 1);
			dup2(logfd, 2);
		}
		for (long fd = 3; fd < maxfd; fd++)
			close((int)fd);
		execv(argv[0], argv);
		_exit(127);
	}
	if (logfd >= 0)
		close(logfd);
	if (nullfd >= 0)
		close(nullfd);
	b->pid = pid;
	b->child = 1;
	b->started_ns = hv_mono_ns();
	b->state = B_RUNNING;
	write_pidfile(s, id, pid);
	return 0;
}

/* Ends the backend of a VM that went away: SIGTERM (it finishes the request
 * it serves), SIGKILL after 2 s. */
static void stop_backend(struct blksup *s, uint32_t id, struct backend *b, const char *why)
{
	char pidp[PATH_MAX + 32], out[160];
	pid_path(s, id, pidp, sizeof pidp);
	if (b->pid > 0) {
		kill(b->pid, SIGTERM);
		int gone = 0;
		for (int i = 0; i < 200 && !gone; i++) {
			if (b->child)
				gone = waitpid(b->pid, NULL, WNOHANG) == b->pid;
			else
				gone = !is_backend(b->pid, id);
			if (!gone)
				usleep(10000);
		}
		if (!gone) {
			kill(b->pid, SIGKILL);
			if (b->child)
				waitpid(b->pid, NULL, 0);
		}
		unlink(pidp);
		log_info("blkback: stopped hv-blkback %d of VM '%s' (id %u): %s", (int)b->pid,
			 b->name, id, why);
		snprintf(out, sizeof out, "stopped: %s", why);
		audit(s, b, id, out);
	}
	unlink(pidp);
	memset(b, 0, sizeof *b);
}

/* The backend ended (how: `how`). Decides on the restart. */
static void ended(struct blksup *s, uint32_t id, struct backend *b, const char *how, uint32_t epoch)
{
	uint64_t now = hv_mono_ns();
	char out[200];
	snprintf(b->last_exit, sizeof b->last_exit, "%s", how);
	if (now - b->started_ns >= BLKSUP_STABLE_NS)
		b->streak = 0;
	b->streak++;
	pid_t was = b->pid;
	if (b->streak > s->cfg.give_up) {
		b->state = B_FAILED;
		b->failed_epoch = epoch;
		log_error("ALARM: hv-blkback of VM '%s' (id %u) ended %u times in a row (last: %s): "
			  "not restarted; the guest's disk requests wait until the VM boots again "
			  "or hv-agent restarts (log: %s/blkback/vm%u.log)",
			  b->name, id, b->streak, how, s->state_dir, id);
		snprintf(out, sizeof out, "FAILED: %s, %u times in a row: not restarted", how,
			 b->streak);
		audit(s, b, id, out);
		b->pid = 0;
		b->child = 0;
		return;
	}
	b->pid = 0;
	b->child = 0;
	uint64_t delay = (uint64_t)s->cfg.base_delay_ms << (b->streak - 1 < 16 ? b->streak - 1 : 16);
	if (delay > s->cfg.max_delay_ms)
		delay = s->cfg.max_delay_ms;
	b->state = B_RESTARTING;
	b->next_ns = now + delay * 1000000ull;
	log_warn("blkback: hv-blkback %d of VM '%s' (id %u) %s; restarting it in %" PRIu64
		 " ms (the guest's disk requests wait)",
		 (int)was, b->name, id, how, delay);
}

/* ---- the pass ---- */

static void pass_one(struct blksup *s, uint32_t id, const struct hvm_vm_slot *slot,
		     const struct hvlink_blk *ring)
{
	struct backend *b = &s->b[id];
	char why[160], out[200];

	/* how the backend is doing */
	if (b->pid > 0 && b->child) {
		int status;
		pid_t r = waitpid(b->pid, &status, WNOHANG);
		if (r == b->pid || (r < 0 && errno == ECHILD)) {
			char how[96];
			if (r == b->pid)
				describe_status(status, how, sizeof how);
			else
				snprintf(how, sizeof how, "ended");
			ended(s, id, b, how, ring->epoch);
		}
	} else if (b->pid > 0 && !is_backend(b->pid, id)) {
		ended(s, id, b, "ended (adopted: its exit status is its parent's)", ring->epoch);
	}

	/* the VM went away, or the slot holds another one */
	if (b->known && (!slot->defined || memcmp(slot->uuid, b->uuid, 16) != 0)) {
		stop_backend(s, id, b,
			     slot->defined ? "the VM's slot holds another VM"
					   : "the VM is no longer defined");
		return;
	}
	if (!slot->defined || !ring->valid)
		return;
	if (!b->known) {
		b->known = 1;
		memcpy(b->uuid, slot->uuid, 16);
		snprintf(b->name, sizeof b->name, "%s", slot->name);
		disk_path(s, b);
	}
	if (b->pid > 0)
		return;

	/* adopt one that runs already: this hv-agent restarted */
	pid_t cand[2] = { (pid_t)ring->backend_pid, read_pidfile(s, id) };
	for (int i = 0; i < 2; i++)
		if (is_backend(cand[i], id)) {
			b->pid = cand[i];
			b->child = 0;
			b->state = B_ADOPTED;
			b->started_ns = hv_mono_ns();
			write_pidfile(s, id, b->pid);
			log_info("blkback: adopted hv-blkback %d of VM '%s' (id %u)", (int)b->pid,
				 b->name, id);
			audit(s, b, id, "adopted");
			return;
		}

	if (b->state == B_FAILED) {
		if (ring->epoch == b->failed_epoch)
			return;
		b->streak = 0; /* the VM booted again: try again */
		b->state = B_NONE;
	}
	if (b->state == B_RESTARTING && hv_mono_ns() < b->next_ns)
		return;
	int again = b->state == B_RESTARTING;
	prepare_disk(b, ring->capacity);
	if (spawn(s, id, b, why, sizeof why) != 0) {
		log_error("blkback: cannot start %s for VM '%s': %s", s->prog, b->name, why);
		b->started_ns = hv_mono_ns();
		ended(s, id, b, why, ring->epoch);
		return;
	}
	if (again) {
		b->restarts++;
		snprintf(out, sizeof out, "restarted after it %s", b->last_exit);
	} else {
		snprintf(out, sizeof out, "started");
	}
	log_info("blkback: %s hv-blkback %d for VM '%s' (id %u), disk %s",
		 again ? "restarted" : "started", (int)b->pid, b->name, id, b->disk);
	audit(s, b, id, out);
}

static void pass(struct blksup *s)
{
	struct hvm_vm_slot slots[HVM_MAX_VMS];
	uint32_t mask;
	struct hv_status st;

	if (hvlink_read_slots(s->cfg.ag->link, slots, &mask, &st) != 0)
		return; /* hv-core is not up: the backends that run keep running */
	for (uint32_t id = 0; id < HVM_MAX_VMS; id++) {
		struct hvlink_blk ring;
		if (hvlink_read_blk(s->cfg.ag->link, id, &ring, &st) != 0)
			return;
		pass_one(s, id, &slots[id], &ring);
	}
}

static void *run(void *arg)
{
	struct blksup *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		pass(s);
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += (long)(s->cfg.poll_ms % 1000u) * 1000000L;
		until.tv_sec += s->cfg.poll_ms / 1000u + until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		while (!s->stopping && pthread_cond_timedwait(&s->wake, &s->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- the interface ---- */

static int copy(char *dst, size_t len, const char *src, const char *what, struct hv_status *st)
{
	if (!src || !*src || strlen(src) >= len)
		return hv_status_set(st, HV_INVALID_ARGUMENT, "blkback: %s is missing or too long",
				     what);
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

struct blksup *blksup_start(const struct blksup_config *cfg, struct hv_status *st)
{
	struct blksup *s = calloc(1, sizeof *s);
	if (!s) {
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	s->cfg = *cfg;
	if (!s->cfg.poll_ms)
		s->cfg.poll_ms = BLKSUP_POLL_MS;
	if (!s->cfg.base_delay_ms)
		s->cfg.base_delay_ms = BLKSUP_BASE_DELAY_MS;
	if (s->cfg.max_delay_ms < s->cfg.base_delay_ms)
		s->cfg.max_delay_ms = BLKSUP_MAX_DELAY_MS;
	if (!s->cfg.give_up)
		s->cfg.give_up = BLKSUP_GIVE_UP;
	char dir[PATH_MAX + 16];
	if (copy(s->prog, sizeof s->prog, cfg->program, "the hv-blkback program", st) != 0 ||
	    copy(s->state_dir, sizeof s->state_dir - 32, cfg->state_dir, "the state directory",
		 st) != 0 ||
	    copy(s->ram, sizeof s->ram, cfg->ram_file, "the RAM file", st) != 0)
		goto fail;
	if (access(s->prog, X_OK) != 0) {
		hv_status_set(st, HV_INVALID_ARGUMENT,
			      "--blkback %s: not an executable program (%s); 'none' turns the "
			      "virtio-blk backends off",
			      s->prog, strerror(errno));
		goto fail;
	}
	static const char *const subdirs[] = { "disks", "blkback" };
	for (int i = 0; i < 2; i++) {
		snprintf(dir, sizeof dir, "%s/%s", s->state_dir, subdirs[i]);
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			hv_status_set(st, HV_INTERNAL, "cannot create %s: %s", dir, strerror(errno));
			goto fail;
		}
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&s->thread, NULL, run, s);
	if (rc != 0) {
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "cannot start the blkback thread: %s",
			      strerror(rc));
		pthread_cond_destroy(&s->wake);
		pthread_mutex_destroy(&s->lock);
		goto fail;
	}
	log_info("blkback: running %s for the VMs' virtio-blk devices (disks in %s/disks)", s->prog,
		 s->state_dir);
	return s;
fail:
	free(s);
	return NULL;
}

void blksup_stop(struct blksup *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	unsigned n = 0;
	for (uint32_t id = 0; id < HVM_MAX_VMS; id++)
		n += s->b[id].pid > 0;
	if (n)
		log_info("blkback: %u backend(s) keep running; the next hv-agent adopts them", n);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void blksup_get(struct blksup *s, uint32_t id, struct blksup_info *out)
{
	memset(out, 0, sizeof *out);
	if (!s || id >= HVM_MAX_VMS)
		return;
	pthread_mutex_lock(&s->lock);
	const struct backend *b = &s->b[id];
	if (b->known && b->state != B_NONE) {
		out->present = 1;
		snprintf(out->state, sizeof out->state, "%s", state_names[b->state]);
		out->pid = b->pid > 0 ? (uint32_t)b->pid : 0;
		out->restarts = b->restarts;
		snprintf(out->last_exit, sizeof out->last_exit, "%s", b->last_exit);
		snprintf(out->disk, sizeof out->disk, "%s", b->disk);
	}
	pthread_mutex_unlock(&s->lock);
}

void blksup_fill_msg(struct blksup *s, uint32_t id, struct virtio_msg *m)
{
	struct blksup_info in;

	blksup_get(s, id, &in);
	if (!in.present)
		return;
	snprintf(m->backend_state, sizeof m->backend_state, "%s", in.state);
	snprintf(m->backend_exit, sizeof m->backend_exit, "%s", in.last_exit);
	snprintf(m->disk, sizeof m->disk, "%s", in.disk);
	for (size_t i = 0; i < m->n; i++) {
		Hvmgr__V1__VirtioDevice *d = m->ptrs[i];
		if (strcmp(d->type, "blk") != 0)
			continue;
		d->backend_state = m->backend_state;
		d->backend_pid = in.pid;
		d->backend_restarts = in.restarts;
		d->backend_last_exit = m->backend_exit;
		d->disk_path = m->disk;
	}
}
