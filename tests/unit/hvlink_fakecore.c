/*
 * hvlink_fakecore.c - TEST DOUBLE of hv-core's management side (see the
 * header). Deliberately simple: every region write happens under one mutex,
 * commands complete as soon as the thread sees them, a SHUTDOWN completes at
 * once. On DEFINE it only takes the VM's name from the blob's "vm-name"
 * property (libfdt); it does not validate the rest of vm-config.md.
 */
#define _GNU_SOURCE
#include "hvlink_fakecore.h"

#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define ALL_CAPS                                                                                          \
	(HVM_CAP(HVM_CMD_NOP) | HVM_CAP(HVM_CMD_GET_INFO) | HVM_CAP(HVM_CMD_LIST) | HVM_CAP(HVM_CMD_DEFINE) | \
	 HVM_CAP(HVM_CMD_UNDEFINE) | HVM_CAP(HVM_CMD_START) | HVM_CAP(HVM_CMD_SHUTDOWN) |                   \
	 HVM_CAP(HVM_CMD_DESTROY) | HVM_CAP(HVM_CMD_REBOOT) | HVM_CAP(HVM_CMD_RESET) |                       \
	 HVM_CAP(HVM_CMD_SUSPEND) | HVM_CAP(HVM_CMD_RESUME) | HVM_CAP(HVM_CMD_SELFTEST_RESULT) |           \
	 HVM_CAP(HVM_CMD_GET_STATS))

struct fakecore {
	int fd;
	volatile uint8_t *base;
	pthread_mutex_t lock;
	pthread_t thread;
	int running, stop, paused;
	uint64_t commands;
	uint64_t disabled; /* cmd bits answered E_UNKNOWN_CMD */
	enum fakecore_stats_defect stats_defect;
};

volatile struct hvm_regs *fakecore_regs(struct fakecore *fc)
{
	return (volatile struct hvm_regs *)fc->base;
}

volatile uint8_t *fakecore_base(struct fakecore *fc)
{
	return fc->base;
}

struct fakecore *fakecore_create(const char *path, uint64_t ram_base, uint64_t mgmt_base)
{
	uint64_t off = mgmt_base - ram_base;
	struct fakecore *fc = calloc(1, sizeof *fc);

	if (!fc)
		return NULL;
	fc->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	/* A small image staging area (MGMT-004) after the region: the file
	 * stays sparse, so it costs nothing. */
	if (fc->fd < 0 || ftruncate(fc->fd, (off_t)(off + HVM_REGION_SIZE + FAKECORE_STAGING_SIZE)) != 0)
		goto fail;
	void *p = mmap(NULL, HVM_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fc->fd, (off_t)off);
	if (p == MAP_FAILED)
		goto fail;
	fc->base = p;
	pthread_mutex_init(&fc->lock, NULL);

	volatile struct hvm_regs *r = fakecore_regs(fc);
	r->abi_major = HVM_ABI_MAJOR;
	r->abi_minor = HVM_ABI_MINOR;
	r->region_size = HVM_REGION_SIZE;
	r->caps = ALL_CAPS;
	r->max_vms = HVM_MAX_VMS;
	r->off_events = HVM_OFF_EVENTS;
	r->event_count = HVM_EVENT_COUNT;
	r->off_slots = HVM_OFF_SLOTS;
	r->slot_size = sizeof(struct hvm_vm_slot);
	r->off_faults = HVM_OFF_FAULTS;
	r->fault_size = sizeof(struct hvm_fault);
	r->off_consoles = HVM_OFF_CONSOLES;
	r->console_size = sizeof(struct hvm_console);
	r->off_data = HVM_OFF_DATA;
	r->data_size = HVM_DATA_SIZE;
	r->pcpu_count = 4;
	r->staging_base = mgmt_base + HVM_REGION_SIZE;
	r->staging_size = FAKECORE_STAGING_SIZE;
	snprintf((char *)r->hv_version, sizeof r->hv_version, "fakecore-test-double");
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		volatile struct hvm_console *c = (volatile struct hvm_console *)(fc->base + HVM_OFF_CONSOLES +
										   i * sizeof(struct hvm_console));
		c->size = HVM_CONSOLE_SIZE;
		c->vm_id = i;
	}
	__atomic_store_n(&r->hv_state, HVM_HV_READY, __ATOMIC_RELEASE);
	__atomic_store_n(&r->magic, HVM_MAGIC, __ATOMIC_RELEASE);
	return fc;

fail:
	if (fc->fd >= 0)
		close(fc->fd);
	free(fc);
	return NULL;
}

static volatile struct hvm_vm_slot *slot_at(struct fakecore *fc, uint32_t id)
{
	return HVM_SLOT_AT(fc->base, id);
}

/* The writer half of the gen protocol (MGMT-150). Called with the lock. */
static void slot_begin(volatile struct hvm_vm_slot *s)
{
	__atomic_store_n(&s->gen, s->gen + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void slot_end(volatile struct hvm_vm_slot *s)
{
	__atomic_store_n(&s->gen, s->gen + 1, __ATOMIC_RELEASE);
}

static void count_vms(struct fakecore *fc)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
		n += slot_at(fc, i)->defined ? 1 : 0;
	fakecore_regs(fc)->vm_count = n;
}

static void set_vm_locked(struct fakecore *fc, uint32_t id, const struct fakecore_vm *vm)
{
	volatile struct hvm_vm_slot *s = slot_at(fc, id);

	slot_begin(s);
	s->defined = 1;
	s->id = id;
	s->state = vm->state;
	s->reason = vm->reason;
	s->vcpus = vm->vcpus;
	s->pcpu_mask = vm->pcpu_mask;
	s->mem_bytes = vm->mem_bytes;
	s->heartbeat = vm->heartbeat;
	s->criticality = vm->criticality;
	s->fault_policy = vm->fault_policy;
	memcpy((void *)s->uuid, vm->uuid, 16);
	memset((void *)s->name, 0, HVM_NAME_LEN);
	strncpy((char *)s->name, vm->name ? vm->name : "", HVM_NAME_LEN - 1);
	memset((void *)s->image_version, 0, HVM_VERSION_LEN);
	strncpy((char *)s->image_version, vm->image_version ? vm->image_version : "", HVM_VERSION_LEN - 1);
	slot_end(s);
	count_vms(fc);
}

void fakecore_set_vm(struct fakecore *fc, uint32_t id, const struct fakecore_vm *vm)
{
	pthread_mutex_lock(&fc->lock);
	set_vm_locked(fc, id, vm);
	pthread_mutex_unlock(&fc->lock);
}

static void clear_vm_locked(struct fakecore *fc, uint32_t id)
{
	volatile struct hvm_vm_slot *s = slot_at(fc, id);

	slot_begin(s);
	memset((void *)((volatile uint8_t *)s + 4), 0, sizeof(struct hvm_vm_slot) - 4);
	slot_end(s);
	count_vms(fc);
}

void fakecore_clear_vm(struct fakecore *fc, uint32_t id)
{
	pthread_mutex_lock(&fc->lock);
	clear_vm_locked(fc, id);
	pthread_mutex_unlock(&fc->lock);
}

void fakecore_hold_slot(struct fakecore *fc, uint32_t id, bool held)
{
	volatile struct hvm_vm_slot *s = slot_at(fc, id);

	pthread_mutex_lock(&fc->lock);
	if (held != ((s->gen & 1u) != 0))
		__atomic_store_n(&s->gen, s->gen + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&fc->lock);
}

static void event_locked(struct fakecore *fc, uint32_t type, uint32_t vm_id, uint32_t detail, uint32_t reason)
{
	volatile struct hvm_regs *r = fakecore_regs(fc);
	uint64_t n = r->ev_head;
	volatile struct hvm_event *e =
		(volatile struct hvm_event *)(fc->base + HVM_OFF_EVENTS + (n % HVM_EVENT_COUNT) * sizeof(struct hvm_event));

	if (n - __atomic_load_n(&r->ev_ack, __ATOMIC_ACQUIRE) >= HVM_EVENT_COUNT)
		r->ev_overflow++;
	e->time_ns = r->uptime_ns;
	e->type = type;
	e->vm_id = vm_id;
	e->detail = detail;
	e->reason = reason;
	__atomic_store_n(&e->seq, n, __ATOMIC_RELEASE);
	__atomic_store_n(&r->ev_head, n + 1, __ATOMIC_RELEASE);
}

void fakecore_event(struct fakecore *fc, uint32_t type, uint32_t vm_id, uint32_t detail, uint32_t reason)
{
	pthread_mutex_lock(&fc->lock);
	event_locked(fc, type, vm_id, detail, reason);
	pthread_mutex_unlock(&fc->lock);
}

void fakecore_console(struct fakecore *fc, uint32_t id, const void *data, size_t len)
{
	volatile struct hvm_console *c =
		(volatile struct hvm_console *)(fc->base + HVM_OFF_CONSOLES + id * sizeof(struct hvm_console));
	const uint8_t *p = data;

	pthread_mutex_lock(&fc->lock);
	uint64_t head = c->head;
	for (size_t i = 0; i < len; i++)
		c->buf[(head + i) % HVM_CONSOLE_SIZE] = p[i];
	__atomic_store_n(&c->head, head + len, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&fc->lock);
}

void fakecore_set_fault(struct fakecore *fc, uint32_t id, const struct hvm_fault *f)
{
	volatile struct hvm_fault *d =
		(volatile struct hvm_fault *)(fc->base + HVM_OFF_FAULTS + id * sizeof(struct hvm_fault));

	pthread_mutex_lock(&fc->lock);
	uint32_t gen = d->gen;
	__atomic_store_n(&d->gen, gen + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	/* like hv-core: the header is the writer's (MGMT-162), the rest follows gen */
	d->magic = HVM_FAULT_MAGIC;
	d->version = HVM_FAULT_VERSION;
	d->size = sizeof *f;
	memcpy((uint8_t *)&d->kind, &f->kind, sizeof *f - offsetof(struct hvm_fault, kind));
	__atomic_store_n(&d->gen, gen + 2, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&fc->lock);
}

void fakecore_disable_cmd(struct fakecore *fc, uint32_t cmd)
{
	pthread_mutex_lock(&fc->lock);
	fc->disabled |= 1ull << cmd;
	fakecore_regs(fc)->caps &= ~(1ull << cmd);
	pthread_mutex_unlock(&fc->lock);
}

uint64_t fakecore_commands(struct fakecore *fc)
{
	pthread_mutex_lock(&fc->lock);
	uint64_t n = fc->commands;
	pthread_mutex_unlock(&fc->lock);
	return n;
}

/* ---- the command decoder of the double (MGMT-020, MGMT-045) ---- */

static uint32_t refuse(volatile struct hvm_regs *r, uint32_t status, const char *msg)
{
	snprintf((char *)r->ret_msg, sizeof r->ret_msg, "%s", msg);
	return status;
}

static void set_state(struct fakecore *fc, uint32_t id, uint32_t state, uint32_t reason)
{
	volatile struct hvm_vm_slot *s = slot_at(fc, id);

	slot_begin(s);
	s->state = state;
	s->reason = reason;
	slot_end(s);
}

static int in(uint32_t state, uint32_t mask)
{
	return (mask >> state) & 1u;
}
#define S(x) (1u << HVM_VM_##x)

static uint32_t do_define(struct fakecore *fc, volatile struct hvm_regs *r)
{
	uint64_t off = r->arg[0], len = r->arg[1];
	if (off > HVM_DATA_SIZE || len > HVM_DATA_SIZE - off)
		return refuse(r, HVM_E_BAD_ARG, "blob outside the data area");
	const void *blob = (const void *)(fc->base + HVM_OFF_DATA + off);
	if (len < 40 || fdt_check_header(blob) != 0 || fdt_totalsize(blob) > len)
		return refuse(r, HVM_E_FDT, "configuration blob is not a device tree");
	/* vm-config.md's "vm-name" (VMCFG-020) of the first node that has one. */
	const char *name = NULL;
	int depth = 0;
	for (int node = 0; node >= 0 && !name; node = fdt_next_node(blob, node, &depth))
		name = fdt_getprop(blob, node, "vm-name", NULL);
	if (!name || !name[0] || strlen(name) >= HVM_NAME_LEN)
		return refuse(r, HVM_E_BAD_CONFIG, "no usable vm-name property");
	uint32_t free_id = HVM_MAX_VMS;
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		volatile struct hvm_vm_slot *s = slot_at(fc, i);
		if (s->defined && strcmp((const char *)s->name, name) == 0)
			return refuse(r, HVM_E_EXISTS, "name already defined");
		if (!s->defined && free_id == HVM_MAX_VMS)
			free_id = i;
	}
	if (free_id == HVM_MAX_VMS)
		return refuse(r, HVM_E_NO_SPACE, "VM table full");
	struct fakecore_vm vm = { .name = name, .state = HVM_VM_SHUTOFF, .reason = HVM_R_DEFINED,
				  .vcpus = 1, .pcpu_mask = 1, .mem_bytes = 64ull << 20 };
	/* As hv-core does: the configuration's uuid property (16 bytes), zeros without one. */
	for (int node = 0, d = 0; node >= 0; node = fdt_next_node(blob, node, &d)) {
		int ulen = 0;
		const void *u = fdt_getprop(blob, node, "uuid", &ulen);
		if (u && ulen == 16) {
			memcpy(vm.uuid, u, 16);
			break;
		}
	}
	set_vm_locked(fc, free_id, &vm);
	r->ret[0] = free_id;
	event_locked(fc, HVM_EV_DEFINED, free_id, 0, HVM_R_DEFINED);
	return HVM_OK;
}

/* MGMT-180: a record built from the slot, with fixed per-class exit counts so
 * tests can check each one reaches the client; or the defect a test asked for. */
static uint32_t do_stats(struct fakecore *fc, volatile struct hvm_regs *r, uint32_t id)
{
	volatile struct hvm_vm_slot *sl = slot_at(fc, id);
	struct hvm_stats s;

	memset(&s, 0, sizeof s);
	s.magic = HVM_STATS_MAGIC;
	s.version = HVM_STATS_VERSION;
	s.size = sizeof s;
	s.vm_id = id;
	s.state = sl->state;
	s.time_ns = r->uptime_ns;
	s.cpu_time_ns = sl->cpu_time_ns;
	for (unsigned c = 0; c < HVM_EXIT__COUNT; c++) {
		s.exits_by_class[c] = 10u + c;
		s.exits += s.exits_by_class[c];
	}
	s.irqs_injected = 7;
	s.faults = sl->fault_count;
	s.faults_ignored = 1;
	s.watchdog_expiries = 2;
	s.restarts = sl->restart_count;
	s.doorbells_sent = 3;
	s.doorbells_received = 4;
	s.doorbells_denied = 5;
	s.heartbeat = sl->heartbeat;
	s.heartbeat_age_ns = sl->heartbeat_age_ns;
	r->ret[0] = sizeof s;
	switch (fc->stats_defect) {
	case FAKECORE_STATS_OK:
		break;
	case FAKECORE_STATS_BAD_MAGIC:
		s.magic = 0x12345678u;
		break;
	case FAKECORE_STATS_BAD_VERSION:
		s.version = 9;
		break;
	case FAKECORE_STATS_BAD_SIZE:
		s.size = 128;
		break;
	case FAKECORE_STATS_SHORT:
		r->ret[0] = 64;
		break;
	}
	memcpy((void *)(fc->base + HVM_OFF_DATA), &s, sizeof s);
	return HVM_OK;
}

void fakecore_stats_defect(struct fakecore *fc, enum fakecore_stats_defect d)
{
	pthread_mutex_lock(&fc->lock);
	fc->stats_defect = d;
	pthread_mutex_unlock(&fc->lock);
}

static uint32_t execute(struct fakecore *fc, volatile struct hvm_regs *r)
{
	uint32_t cmd = r->cmd, id = r->vm_id;

	for (int i = 0; i < 6; i++)
		r->ret[i] = 0;
	memset((void *)r->ret_msg, 0, sizeof r->ret_msg);
	if (cmd >= 64 || (fc->disabled & (1ull << cmd)) || cmd >= HVM_CMD__COUNT)
		return refuse(r, HVM_E_UNKNOWN_CMD, "command not implemented");
	switch (cmd) {
	case HVM_CMD_NOP:
		return HVM_OK;
	case HVM_CMD_GET_INFO:
		r->ret[0] = r->vm_count;
		r->ret[1] = r->caps;
		r->ret[2] = r->uptime_ns;
		return HVM_OK;
	case HVM_CMD_LIST:
		for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
			if (slot_at(fc, i)->defined)
				r->ret[0] |= 1ull << i;
		return HVM_OK;
	case HVM_CMD_DEFINE:
		return do_define(fc, r);
	case HVM_CMD_SELFTEST_RESULT:
		r->ret[0] = r->selftest_failed;
		r->ret[1] = 5;
		return HVM_OK;
	default:
		break;
	}
	if (id >= HVM_MAX_VMS || !slot_at(fc, id)->defined)
		return refuse(r, HVM_E_BAD_VM, "vm not defined");
	uint32_t st = slot_at(fc, id)->state;
	switch (cmd) {
	case HVM_CMD_UNDEFINE:
		if (!in(st, S(SHUTOFF) | S(CRASHED)))
			return refuse(r, HVM_E_STATE, "undefine needs a stopped VM");
		clear_vm_locked(fc, id);
		event_locked(fc, HVM_EV_UNDEFINED, id, 0, 0);
		return HVM_OK;
	case HVM_CMD_START:
		if (!in(st, S(SHUTOFF) | S(CRASHED)))
			return refuse(r, HVM_E_STATE, "VM is already running");
		set_state(fc, id, HVM_VM_RUNNING, HVM_R_BOOTED);
		event_locked(fc, HVM_EV_STARTED, id, 0, HVM_R_BOOTED);
		return HVM_OK;
	case HVM_CMD_SHUTDOWN:
		if (!in(st, S(RUNNING) | S(BLOCKED) | S(PAUSED)))
			return refuse(r, HVM_E_STATE, "VM is not running");
		set_state(fc, id, HVM_VM_SHUTOFF, HVM_R_SHUTDOWN);
		event_locked(fc, HVM_EV_STOPPED, id, 0, HVM_R_SHUTDOWN);
		return HVM_OK;
	case HVM_CMD_DESTROY:
		if (!in(st, S(RUNNING) | S(BLOCKED) | S(PAUSED) | S(SHUTDOWN) | S(CRASHED)))
			return refuse(r, HVM_E_STATE, "VM is not running");
		set_state(fc, id, HVM_VM_SHUTOFF, HVM_R_DESTROYED);
		event_locked(fc, HVM_EV_STOPPED, id, 0, HVM_R_DESTROYED);
		return HVM_OK;
	case HVM_CMD_REBOOT:
		if (!in(st, S(RUNNING) | S(BLOCKED)))
			return refuse(r, HVM_E_STATE, "VM is not running");
		set_state(fc, id, HVM_VM_RUNNING, HVM_R_REBOOTED);
		return HVM_OK;
	case HVM_CMD_RESET:
		if (!in(st, S(RUNNING) | S(BLOCKED) | S(PAUSED) | S(CRASHED)))
			return refuse(r, HVM_E_STATE, "VM is not running");
		set_state(fc, id, HVM_VM_RUNNING, HVM_R_RESET);
		return HVM_OK;
	case HVM_CMD_SUSPEND:
		if (!in(st, S(RUNNING) | S(BLOCKED)))
			return refuse(r, HVM_E_STATE, "VM is not running");
		set_state(fc, id, HVM_VM_PAUSED, HVM_R_USER);
		event_locked(fc, HVM_EV_SUSPENDED, id, 0, HVM_R_USER);
		return HVM_OK;
	case HVM_CMD_RESUME:
		if (!in(st, S(PAUSED)))
			return refuse(r, HVM_E_STATE, "VM is not paused");
		set_state(fc, id, HVM_VM_RUNNING, HVM_R_USER);
		event_locked(fc, HVM_EV_RESUMED, id, 0, HVM_R_USER);
		return HVM_OK;
	case HVM_CMD_GET_STATS:
		return do_stats(fc, r, id);
	default:
		return refuse(r, HVM_E_UNKNOWN_CMD, "command not implemented");
	}
}

static void *serve(void *arg)
{
	struct fakecore *fc = arg;
	volatile struct hvm_regs *r = fakecore_regs(fc);
	struct timespec nap = { 0, 200000 }; /* 200 us */

	for (;;) {
		pthread_mutex_lock(&fc->lock);
		if (fc->stop) {
			pthread_mutex_unlock(&fc->lock);
			break;
		}
		if (!fc->paused) {
			r->hv_ticks++;
			r->uptime_ns += 200000;
			uint32_t req = __atomic_load_n(&r->req_seq, __ATOMIC_ACQUIRE);
			if (req != r->done_seq) {
				r->status = execute(fc, r);
				fc->commands++;
				__atomic_store_n(&r->done_seq, req, __ATOMIC_RELEASE);
			}
		}
		pthread_mutex_unlock(&fc->lock);
		nanosleep(&nap, NULL);
	}
	return NULL;
}

int fakecore_start(struct fakecore *fc)
{
	if (pthread_create(&fc->thread, NULL, serve, fc) != 0)
		return -1;
	fc->running = 1;
	return 0;
}

void fakecore_pause(struct fakecore *fc, bool paused)
{
	pthread_mutex_lock(&fc->lock);
	fc->paused = paused;
	pthread_mutex_unlock(&fc->lock);
}

void fakecore_destroy(struct fakecore *fc)
{
	if (!fc)
		return;
	if (fc->running) {
		pthread_mutex_lock(&fc->lock);
		fc->stop = 1;
		pthread_mutex_unlock(&fc->lock);
		pthread_join(fc->thread, NULL);
	}
	munmap((void *)fc->base, HVM_REGION_SIZE);
	close(fc->fd);
	pthread_mutex_destroy(&fc->lock);
	free(fc);
}
