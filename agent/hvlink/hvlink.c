/*
 * hvlink.c - mapping and validating the management region (MGMT-001..004,
 * MGMT-010, MGMT-100), the register page, and names for commands and statuses.
 *
 * The mapping is (re)established lazily by link_get(): hv-agent may start before
 * QEMU creates the RAM file, before hv-core writes the magic, or keep running
 * across a QEMU restart that replaces the file (detected by its inode).
 */
#include "hvlink_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

void link_backoff(unsigned *round)
{
	unsigned r = (*round)++;

	if (r < 64) {
		sched_yield();
		return;
	}
	/* 10 us doubling to 1 ms: hv-core polls req_seq once per service tick. */
	unsigned shift = (r - 64) < 7 ? (r - 64) : 7;
	struct timespec ts = { 0, (long)(10000u << shift) };
	if (ts.tv_nsec > 1000000)
		ts.tv_nsec = 1000000;
	nanosleep(&ts, NULL);
}

int hvlink_open(struct hvlink **out, const struct hvlink_config *cfg, struct hv_status *st)
{
	struct hvlink *l;

	*out = NULL;
	if (!cfg->ram_file || !cfg->ram_file[0])
		return hv_status_set(st, HV_INVALID_ARGUMENT, "no guest RAM file given");
	if (cfg->mgmt_base < cfg->ram_base)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "management base 0x%" PRIx64 " is below the RAM base 0x%" PRIx64,
				     cfg->mgmt_base, cfg->ram_base);
	long page = sysconf(_SC_PAGESIZE);
	if (page <= 0 || (cfg->mgmt_base - cfg->ram_base) % (uint64_t)page != 0)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "management base 0x%" PRIx64
				     " is not page-aligned relative to RAM base 0x%" PRIx64,
				     cfg->mgmt_base, cfg->ram_base);
	l = calloc(1, sizeof *l);
	if (!l)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
	l->ram_file = strdup(cfg->ram_file);
	if (!l->ram_file) {
		free(l);
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
	}
	l->ram_base = cfg->ram_base;
	l->mgmt_base = cfg->mgmt_base;
	l->cmd_timeout_ms = cfg->cmd_timeout_ms ? cfg->cmd_timeout_ms : HVLINK_DEFAULT_CMD_TIMEOUT_MS;
	l->fd = -1;
	pthread_rwlock_init(&l->map_lock, NULL);
	pthread_mutex_init(&l->err_lock, NULL);
	hv_opqueue_init(&l->cmdq, cfg->queue_max ? cfg->queue_max : HVLINK_DEFAULT_QUEUE_MAX);
	snprintf(l->last_err, sizeof l->last_err, "not connected yet");
	*out = l;
	return 0;
}

static void unmap(struct hvlink *l)
{
	if (l->base)
		munmap((void *)l->base, HVM_REGION_SIZE);
	if (l->fd >= 0)
		close(l->fd);
	l->base = NULL;
	l->fd = -1;
}

void hvlink_close(struct hvlink *l)
{
	if (!l)
		return;
	unmap(l);
	pthread_rwlock_destroy(&l->map_lock);
	pthread_mutex_destroy(&l->err_lock);
	hv_opqueue_destroy(&l->cmdq);
	free(l->ram_file);
	free(l);
}

static void remember_error(struct hvlink *l, const struct hv_status *st)
{
	pthread_mutex_lock(&l->err_lock);
	snprintf(l->last_err, sizeof l->last_err, "%s", st ? st->msg : "");
	pthread_mutex_unlock(&l->err_lock);
}

void hvlink_last_error(struct hvlink *l, char *buf, size_t len)
{
	pthread_mutex_lock(&l->err_lock);
	snprintf(buf, len, "%s", l->last_err);
	pthread_mutex_unlock(&l->err_lock);
}

/* Checks an area [off, off + count * size) lies inside the region. */
static int area_ok(uint32_t off, uint32_t count, uint32_t size, uint32_t min_size)
{
	if (size < min_size || count == 0)
		return 0;
	uint64_t end = (uint64_t)off + (uint64_t)count * size;
	return end <= HVM_REGION_SIZE;
}

/* Validates what the region says about itself. Called with the mapping held
 * (shared or exclusive). Fills *out on success. */
static int validate(struct hvlink *l, struct hvlink_layout *out, struct hv_status *st)
{
	volatile struct hvm_regs *r = link_regs(l);
	uint32_t magic = __atomic_load_n(&r->magic, __ATOMIC_ACQUIRE);

	if (magic == 0)
		return hv_status_set(st, HV_UNAVAILABLE,
				     "no management region at 0x%" PRIx64
				     " in %s yet (hv-core not started)",
				     l->mgmt_base, l->ram_file);
	if (magic != HVM_MAGIC)
		return hv_status_set(st, HV_UNAVAILABLE,
				     "bad magic 0x%08x at 0x%" PRIx64
				     " in %s (expected 0x%08x \"HVMG\"; wrong --mgmt-base or --ram-base?)",
				     magic, l->mgmt_base, l->ram_file, HVM_MAGIC);
	uint16_t major = r->abi_major, minor = r->abi_minor;
	if (major != HVM_ABI_MAJOR)
		return hv_status_set(st, HV_FAILED_PRECONDITION,
				     "hv-core speaks management ABI %u.%u, hv-agent speaks ABI %u.%u: the major versions differ (MGMT-002); use an hv-agent built for ABI %u",
				     major, minor, HVM_ABI_MAJOR, HVM_ABI_MINOR, major);
	uint32_t hv_state = __atomic_load_n(&r->hv_state, __ATOMIC_ACQUIRE);
	if (hv_state == HVM_HV_BOOTING)
		return hv_status_set(st, HV_UNAVAILABLE,
				     "hv-core is still booting (hv_state BOOTING)");

	struct hvlink_layout lay = {
		.max_vms = r->max_vms,
		.off_events = r->off_events,
		.event_count = r->event_count,
		.off_slots = r->off_slots,
		.slot_size = r->slot_size,
		.off_faults = r->off_faults,
		.fault_size = r->fault_size,
		.off_consoles = r->off_consoles,
		.console_size = r->console_size,
		.off_data = r->off_data,
		.data_size = r->data_size,
	};
	if (r->region_size < HVM_REGION_SIZE)
		return hv_status_set(st, HV_UNAVAILABLE,
				     "management region claims %u bytes, ABI %u needs %u",
				     r->region_size, HVM_ABI_MAJOR, HVM_REGION_SIZE);
	if (lay.max_vms == 0)
		return hv_status_set(st, HV_UNAVAILABLE, "management region publishes max_vms 0");
	/* Our tables hold HVM_MAX_VMS; a later minor version with more slots is
	 * served up to that many. */
	if (lay.max_vms > HVM_MAX_VMS)
		lay.max_vms = HVM_MAX_VMS;
	if (!area_ok(lay.off_events, lay.event_count, sizeof(struct hvm_event),
		     sizeof(struct hvm_event)) ||
	    !area_ok(lay.off_slots, lay.max_vms, lay.slot_size, sizeof(struct hvm_vm_slot)) ||
	    !area_ok(lay.off_faults, lay.max_vms, lay.fault_size, sizeof(struct hvm_fault)) ||
	    !area_ok(lay.off_consoles, lay.max_vms, lay.console_size, 0x40 + 1) ||
	    !area_ok(lay.off_data, 1, lay.data_size, 1) || lay.off_events < sizeof(struct hvm_regs))
		return hv_status_set(st, HV_UNAVAILABLE,
				     "management region publishes a layout outside its %u bytes (events 0x%x x%u, slots 0x%x x%u, faults 0x%x x%u, consoles 0x%x x%u, data 0x%x+%u)",
				     HVM_REGION_SIZE, lay.off_events, lay.event_count, lay.off_slots,
				     lay.slot_size, lay.off_faults, lay.fault_size, lay.off_consoles,
				     lay.console_size, lay.off_data, lay.data_size);
	*out = lay;
	return 0;
}

/* Opens and maps the file. Called with the write lock held. */
static int map_region(struct hvlink *l, struct hv_status *st)
{
	uint64_t off = l->mgmt_base - l->ram_base;
	struct stat sb;
	int fd;

	unmap(l);
	fd = open(l->ram_file, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return hv_status_set(st, HV_UNAVAILABLE, "cannot open guest RAM file %s: %s%s",
				     l->ram_file, strerror(errno),
				     errno == ENOENT ? " (is hv-core running under QEMU?)" : "");
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return hv_status_set(st, HV_UNAVAILABLE, "guest RAM file %s is not a regular file",
				     l->ram_file);
	}
	/* Guest RAM holds every guest's memory: its owner's only. A file we own
	 * that others may read (created under a wider umask) is narrowed. */
	if ((sb.st_mode & 077) && sb.st_uid == geteuid()) {
		if (fchmod(fd, sb.st_mode & 0700) == 0)
			log_warn("guest RAM file %s had mode %04o; narrowed to %04o", l->ram_file,
				 (unsigned)(sb.st_mode & 07777), (unsigned)(sb.st_mode & 0700));
		else
			log_warn("guest RAM file %s has mode %04o and cannot be narrowed: %s",
				 l->ram_file, (unsigned)(sb.st_mode & 07777), strerror(errno));
	}
	if ((uint64_t)sb.st_size < off + HVM_REGION_SIZE) {
		close(fd);
		return hv_status_set(st, HV_UNAVAILABLE,
				     "guest RAM file %s is %lld bytes, too small for the management region at 0x%" PRIx64
				     " (offset 0x%" PRIx64
				     " + 1 MiB; wrong --ram-base or --mgmt-base?)",
				     l->ram_file, (long long)sb.st_size, l->mgmt_base, off);
	}
	void *p = mmap(NULL, HVM_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	if (p == MAP_FAILED) {
		int e = errno;
		close(fd);
		return hv_status_set(st, HV_UNAVAILABLE, "cannot map %s at offset 0x%" PRIx64 ": %s",
				     l->ram_file, off, strerror(e));
	}
	l->base = p;
	l->fd = fd;
	l->dev = sb.st_dev;
	l->ino = sb.st_ino;
	__atomic_add_fetch(&l->cnt.maps, 1, __ATOMIC_RELAXED);
	return 0;
}

/* True when the file at the path is still the one we mapped. */
static int same_file(struct hvlink *l)
{
	struct stat sb;

	if (stat(l->ram_file, &sb) < 0)
		return 0;
	return sb.st_dev == l->dev && sb.st_ino == l->ino;
}

int link_get(struct hvlink *l, struct hv_status *st)
{
	struct hvlink_layout lay;

	/* Fast path: mapped, same file, still valid, same layout. */
	pthread_rwlock_rdlock(&l->map_lock);
	if (l->base && same_file(l) && validate(l, &lay, st) == 0 &&
	    memcmp(&lay, &l->lay, sizeof lay) == 0)
		return 0;
	pthread_rwlock_unlock(&l->map_lock);

	/* Slow path: (re)map under the write lock, then validate again shared. */
	pthread_rwlock_wrlock(&l->map_lock);
	int rc = 0;
	if (!l->base || !same_file(l))
		rc = map_region(l, st);
	if (rc == 0)
		rc = validate(l, &lay, st);
	if (rc == 0)
		l->lay = lay;
	pthread_rwlock_unlock(&l->map_lock);
	if (rc != 0) {
		remember_error(l, st);
		return -1;
	}
	pthread_rwlock_rdlock(&l->map_lock);
	if (l->base && validate(l, &lay, st) == 0 && memcmp(&lay, &l->lay, sizeof lay) == 0) {
		remember_error(l, NULL);
		return 0;
	}
	pthread_rwlock_unlock(&l->map_lock);
	if (st && st->code == HV_OK)
		hv_status_set(st, HV_UNAVAILABLE, "management region changed while connecting");
	remember_error(l, st);
	return -1;
}

void link_put(struct hvlink *l)
{
	pthread_rwlock_unlock(&l->map_lock);
}

int hvlink_ensure(struct hvlink *l, struct hv_status *st)
{
	if (link_get(l, st) != 0)
		return -1;
	link_put(l);
	return 0;
}

int hvlink_info(struct hvlink *l, struct hvlink_info *out, struct hv_status *st)
{
	if (link_get(l, st) != 0)
		return -1;
	volatile struct hvm_regs *r = link_regs(l);
	memset(out, 0, sizeof *out);
	out->abi_major = r->abi_major;
	out->abi_minor = r->abi_minor;
	out->region_size = r->region_size;
	out->hv_state = __atomic_load_n(&r->hv_state, __ATOMIC_ACQUIRE);
	out->caps = r->caps;
	out->max_vms = l->lay.max_vms;
	out->vm_count = r->vm_count;
	out->uptime_ns = __atomic_load_n(&r->uptime_ns, __ATOMIC_RELAXED);
	out->hv_ticks = __atomic_load_n(&r->hv_ticks, __ATOMIC_RELAXED);
	out->pcpu_count = r->pcpu_count;
	out->selftest_failed = r->selftest_failed;
	out->ev_head = __atomic_load_n(&r->ev_head, __ATOMIC_ACQUIRE);
	out->ev_ack = __atomic_load_n(&r->ev_ack, __ATOMIC_RELAXED);
	out->ev_overflow = __atomic_load_n(&r->ev_overflow, __ATOMIC_RELAXED);
	memcpy(out->hv_version, (const void *)r->hv_version, sizeof r->hv_version);
	out->hv_version[sizeof r->hv_version] = '\0';
	link_put(l);
	return 0;
}

void hvlink_counters(struct hvlink *l, struct hvlink_counters *out)
{
	out->commands_sent = __atomic_load_n(&l->cnt.commands_sent, __ATOMIC_RELAXED);
	out->commands_failed = __atomic_load_n(&l->cnt.commands_failed, __ATOMIC_RELAXED);
	out->commands_timed_out = __atomic_load_n(&l->cnt.commands_timed_out, __ATOMIC_RELAXED);
	out->maps = __atomic_load_n(&l->cnt.maps, __ATOMIC_RELAXED);
	struct hv_opqueue_stats qs;
	hvlink_queue_stats(l, &qs);
	out->queue_full = qs.full;
	out->queue_expired = qs.expired;
	out->queue_stopped = qs.stopped;
	out->queue_waiting = qs.waiting;
	out->queue_peak = qs.peak;
	out->queue_max = qs.max;
}

void hvlink_queue_stats(struct hvlink *l, struct hv_opqueue_stats *out)
{
	hv_opqueue_stats(&l->cmdq, out);
}

const char *hvlink_cmd_name(uint32_t cmd)
{
	static _Thread_local char other[24];
	const char *n = hvm_cmd_name(cmd); /* MGMT-020: hv-core's own table */

	if (n)
		return n;
	snprintf(other, sizeof other, "command %u", cmd);
	return other;
}

const char *hvlink_hvm_status_name(uint32_t status)
{
	static _Thread_local char other[24];
	const char *n = hvm_status_name(status); /* MGMT-030 */

	if (n)
		return n;
	snprintf(other, sizeof other, "status %u", status);
	return other;
}
