/*
 * hvcore_double.c - THE TEST DOUBLE of hv-core's management side (see the
 * header). Deliberately simple: every region write happens under one mutex,
 * commands complete on the first tick that sees them, a SHUTDOWN completes at
 * once. The decoder refuses as hv-core's does (unknown command, VM not
 * defined, state illegal per HVM_COMMAND_TABLE, argument out of range) before
 * any command runs; DEFINE checks the blob is a device tree with a vm-config
 * root naming the VM and its vcpus, not the rest of vm-config.md.
 */
#define _GNU_SOURCE
#include "hvcore_double.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <libfdt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define TICK_NS 200000L /* the service tick of the double: 200 us   */
/* Idle, the double naps longer between ticks, as an idle vehicle should cost
 * nothing: 100 ms after the last command the nap doubles from one tick up to
 * fc->max_nap_ns (IDLE_NAP_MAX_NS unless set); the next command it sees brings
 * the fast tick back. A command that arrives while it naps waits at most one
 * nap. */
#define IDLE_AFTER_NS 100000000ull
#define IDLE_NAP_MAX_NS 20000000L
#define DEFINE_MAX 0x10000u     /* the largest blob hv-core accepts         */
#define SHUTDOWN_MAX_MS 600000u /* MGMT-044: the longest SHUTDOWN timeout   */
#define SELFTEST_CHECKS 10u     /* MGMT-190: boot self-test checks hv-core runs */
#define BAD_MAGIC 0x12345678u
#define FAKE_IMAGE_SLOT 0x200000ull /* MGMT-701: every fake VM has a 2 MiB image slot */

struct fakecore {
	int fd;
	volatile uint8_t *base;
	pthread_mutex_t lock;
	pthread_t thread;
	int running, stop, paused, live, wedged;
	uint64_t commands;
	uint64_t disabled; /* cmd bits answered E_UNKNOWN_CMD */
	uint64_t start_ns;
	enum fakecore_stats_defect stats_defect;
	enum fakecore_flaw flaw;
	/* MGMT-330: every fault record a test set, per VM, as hv-core keeps them */
	struct hvm_fault_entry hist[HVM_MAX_VMS][HVM_FAULT_HISTORY];
	uint64_t hist_seq[HVM_MAX_VMS];
	/* MGMT-600..625, when fakecore_ota turned them on: the slots of each VM */
	int ota_on, ota_fail;
	struct hvm_ota_status ota[HVM_MAX_VMS];
	long max_nap_ns; /* the longest idle nap (fakecore_idle_nap) */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* hv-core's uptime: never 0, so a client can tell it from an unwritten field. */
static uint64_t uptime(struct fakecore *fc)
{
	return now_ns() - fc->start_ns + 1;
}

volatile struct hvm_regs *fakecore_regs(struct fakecore *fc)
{
	return (volatile struct hvm_regs *)fc->base;
}

volatile uint8_t *fakecore_base(struct fakecore *fc)
{
	return fc->base;
}

static volatile struct hvm_vm_slot *slot_at(struct fakecore *fc, uint32_t id)
{
	return HVM_SLOT_AT(fc->base, id);
}

static volatile struct hvm_fault *fault_at(struct fakecore *fc, uint32_t id)
{
	return (volatile struct hvm_fault *)(fc->base + HVM_OFF_FAULTS +
					     id * sizeof(struct hvm_fault));
}

static volatile struct hvm_console *console_at(struct fakecore *fc, uint32_t id)
{
	return (volatile struct hvm_console *)(fc->base + HVM_OFF_CONSOLES +
					       id * sizeof(struct hvm_console));
}

/* The commands the double implements: every row of hv-core's table but those
 * a test disabled. */
static uint64_t caps_of(const struct fakecore *fc)
{
	uint64_t caps = 0;

	for (uint32_t c = 0; c < HVM_CMD__COUNT; c++)
		if (hvm_cmd_name(c))
			caps |= HVM_CAP(c);
	/* MGMT-401..404: the double has no vehicle state or safety policy; it
	 * refuses those commands as unknown, with their caps bits off */
	caps &= ~(HVM_CAP(HVM_CMD_GET_VEHICLE_STATE) | HVM_CAP(HVM_CMD_SET_VEHICLE_STATE) |
		  HVM_CAP(HVM_CMD_GET_POLICY) | HVM_CAP(HVM_CMD_CHECK_POLICY));
	/* MGMT-600..631: nor non-volatile storage or OTA slots */
	caps &= ~(HVM_CAP(HVM_CMD_AUDIT_SEQ_SET) | HVM_CAP(HVM_CMD_AUDIT_SEQ_GET));
	if (!fc->ota_on)
		caps &= ~(HVM_CAP(HVM_CMD_OTA_INSTALL) | HVM_CAP(HVM_CMD_OTA_SWITCH) |
			  HVM_CAP(HVM_CMD_OTA_STATUS));
	return caps & ~fc->disabled;
}

/*
 * The fault record of a VM as hv-core publishes it (MGMT-160), from the
 * fields a test gave. Every record the double writes, in the region or in the
 * data area for READ_FAULT, is made here: a field the ABI fixes (a record
 * header) is filled in this one place.
 */
static void fault_record(struct hvm_fault *out, const struct hvm_fault *in)
{
	*out = *in;
	out->magic = HVM_FAULT_MAGIC; /* MGMT-162: the header is the writer's */
	out->version = HVM_FAULT_VERSION;
	out->size = sizeof *out;
}

/* Writes the record of VM id with the gen protocol. Called with the lock. */
static void put_fault_locked(struct fakecore *fc, uint32_t id, const struct hvm_fault *in)
{
	volatile struct hvm_fault *d = fault_at(fc, id);
	struct hvm_fault rec;
	uint32_t gen = d->gen;

	fault_record(&rec, in);
	rec.gen = gen + 1;
	__atomic_store_n(&d->gen, gen + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy((void *)d, &rec, sizeof rec);
	__atomic_store_n(&d->gen, gen + 2, __ATOMIC_RELEASE);
	if (id < HVM_MAX_VMS && in->kind != HVM_F_NONE) {
		struct hvm_fault_entry *e = &fc->hist[id][fc->hist_seq[id] % HVM_FAULT_HISTORY];
		*e = (struct hvm_fault_entry){ .fault_seq = ++fc->hist_seq[id],
					       .time_ns = in->time_ns,
					       .event_seq = in->seq,
					       .kind = in->kind,
					       .action = in->action,
					       .vcpu = in->vcpu,
					       .esr = in->esr,
					       .far = in->far,
					       .hpfar = in->hpfar,
					       .elr = in->elr };
	}
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
	if (fc->fd < 0 ||
	    ftruncate(fc->fd, (off_t)(off + HVM_REGION_SIZE + FAKECORE_STAGING_SIZE)) != 0)
		goto fail;
	void *p = mmap(NULL, HVM_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fc->fd, (off_t)off);
	if (p == MAP_FAILED)
		goto fail;
	fc->base = p;
	fc->start_ns = now_ns();
	fc->max_nap_ns = IDLE_NAP_MAX_NS;
	pthread_mutex_init(&fc->lock, NULL);

	volatile struct hvm_regs *r = fakecore_regs(fc);
	r->abi_major = HVM_ABI_MAJOR;
	r->abi_minor = HVM_ABI_MINOR;
	r->region_size = HVM_REGION_SIZE;
	r->caps = caps_of(fc);
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
	r->uptime_ns = uptime(fc);
	snprintf((char *)r->hv_version, sizeof r->hv_version, "%s", FAKECORE_VERSION);
	struct hvm_fault none;
	memset(&none, 0, sizeof none);
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		slot_at(fc, i)->id = i;
		put_fault_locked(fc, i, &none);
		console_at(fc, i)->size = HVM_CONSOLE_SIZE;
		console_at(fc, i)->vm_id = i;
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
	s->image_slot_bytes = FAKE_IMAGE_SLOT; /* MGMT-701; no initrd slot */
	s->heartbeat = vm->heartbeat;
	s->criticality = vm->criticality;
	s->fault_policy = vm->fault_policy;
	memcpy((void *)s->uuid, vm->uuid, 16);
	memset((void *)s->name, 0, HVM_NAME_LEN);
	strncpy((char *)s->name, vm->name ? vm->name : "", HVM_NAME_LEN - 1);
	memset((void *)s->image_version, 0, HVM_VERSION_LEN);
	strncpy((char *)s->image_version, vm->image_version ? vm->image_version : "",
		HVM_VERSION_LEN - 1);
	slot_end(s);
	count_vms(fc);
}

void fakecore_set_vm(struct fakecore *fc, uint32_t id, const struct fakecore_vm *vm)
{
	pthread_mutex_lock(&fc->lock);
	set_vm_locked(fc, id, vm);
	pthread_mutex_unlock(&fc->lock);
}

/* An empty slot keeps its id (MGMT-150: id equals the slot index). */
static void clear_vm_locked(struct fakecore *fc, uint32_t id)
{
	volatile struct hvm_vm_slot *s = slot_at(fc, id);

	fc->hist_seq[id] = 0; /* MGMT-330: a new VM, a new history */
	slot_begin(s);
	memset((void *)((volatile uint8_t *)s + 4), 0, sizeof(struct hvm_vm_slot) - 4);
	s->id = id;
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

static void event_locked(struct fakecore *fc, uint32_t type, uint32_t vm_id, uint32_t detail,
			 uint32_t reason)
{
	volatile struct hvm_regs *r = fakecore_regs(fc);
	uint64_t n = r->ev_head;
	volatile struct hvm_event *e =
		(volatile struct hvm_event *)(fc->base + HVM_OFF_EVENTS +
					      (n % HVM_EVENT_COUNT) * sizeof(struct hvm_event));

	if (n - __atomic_load_n(&r->ev_ack, __ATOMIC_ACQUIRE) >= HVM_EVENT_COUNT)
		r->ev_overflow++;
	e->time_ns = uptime(fc);
	e->type = type;
	e->vm_id = vm_id;
	e->detail = detail;
	e->reason = reason;
	__atomic_store_n(&e->seq, n, __ATOMIC_RELEASE);
	__atomic_store_n(&r->ev_head, n + 1, __ATOMIC_RELEASE);
}

void fakecore_event(struct fakecore *fc, uint32_t type, uint32_t vm_id, uint32_t detail,
		    uint32_t reason)
{
	pthread_mutex_lock(&fc->lock);
	event_locked(fc, type, vm_id, detail, reason);
	pthread_mutex_unlock(&fc->lock);
}

/* Appends len bytes to VM id's console ring. Called with the lock. */
static void console_put_locked(struct fakecore *fc, uint32_t id, const volatile uint8_t *p, size_t len)
{
	volatile struct hvm_console *c = console_at(fc, id);
	uint64_t head = c->head;
	for (size_t i = 0; i < len; i++)
		c->buf[(head + i) % HVM_CONSOLE_SIZE] = p[i];
	__atomic_store_n(&c->head, head + len, __ATOMIC_RELEASE);
}

void fakecore_console(struct fakecore *fc, uint32_t id, const void *data, size_t len)
{
	pthread_mutex_lock(&fc->lock);
	console_put_locked(fc, id, data, len);
	pthread_mutex_unlock(&fc->lock);
}

void fakecore_set_fault(struct fakecore *fc, uint32_t id, const struct hvm_fault *f)
{
	pthread_mutex_lock(&fc->lock);
	put_fault_locked(fc, id, f);
	pthread_mutex_unlock(&fc->lock);
}

void fakecore_live_guests(struct fakecore *fc, bool live)
{
	pthread_mutex_lock(&fc->lock);
	fc->live = live;
	pthread_mutex_unlock(&fc->lock);
}

void fakecore_disable_cmd(struct fakecore *fc, uint32_t cmd)
{
	pthread_mutex_lock(&fc->lock);
	fc->disabled |= 1ull << cmd;
	fakecore_regs(fc)->caps = caps_of(fc);
	pthread_mutex_unlock(&fc->lock);
}

void fakecore_stats_defect(struct fakecore *fc, enum fakecore_stats_defect d)
{
	pthread_mutex_lock(&fc->lock);
	fc->stats_defect = d;
	pthread_mutex_unlock(&fc->lock);
}

void fakecore_flaw(struct fakecore *fc, enum fakecore_flaw flaw)
{
	pthread_mutex_lock(&fc->lock);
	fc->flaw = flaw;
	__atomic_store_n(&fakecore_regs(fc)->magic,
			 flaw == FAKECORE_BAD_MAGIC ? BAD_MAGIC : HVM_MAGIC, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&fc->lock);
}

uint64_t fakecore_commands(struct fakecore *fc)
{
	pthread_mutex_lock(&fc->lock);
	uint64_t n = fc->commands;
	pthread_mutex_unlock(&fc->lock);
	return n;
}

/* ---- the command decoder of the double (MGMT-020, MGMT-030, MGMT-045) ---- */

struct reply {
	uint32_t status;
	uint64_t ret[6];
	char msg[64];
};

/* A refusal. MGMT-121: a message too long for ret_msg is cut and ends in
 * "..."; the double's long messages start with their clause id, so it stays. */
static void refuse(struct reply *rp, uint32_t status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void refuse(struct reply *rp, uint32_t status, const char *fmt, ...)
{
	char full[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(full, sizeof full, fmt, ap);
	va_end(ap);
	rp->status = status;
	if (strlen(full) < sizeof rp->msg)
		snprintf(rp->msg, sizeof rp->msg, "%s", full);
	else
		snprintf(rp->msg, sizeof rp->msg, "%.60s...", full);
}

static void set_state(struct fakecore *fc, uint32_t id, uint32_t state, uint32_t reason)
{
	volatile struct hvm_vm_slot *s = slot_at(fc, id);

	slot_begin(s);
	s->state = state;
	s->reason = reason;
	slot_end(s);
}

static void transition(struct fakecore *fc, uint32_t id, uint32_t state, uint32_t reason,
		       uint32_t event)
{
	set_state(fc, id, state, reason);
	event_locked(fc, event, id, 0, reason);
}

/* MGMT-047: arg[0] = offset of the blob in the data area (8-byte aligned),
 * arg[1] = its length. */
static void do_define(struct fakecore *fc, const uint64_t *arg, struct reply *rp)
{
	uint64_t off = arg[0], len = arg[1];
	if (len == 0 || len > DEFINE_MAX || off > HVM_DATA_SIZE || len > HVM_DATA_SIZE - off) {
		refuse(rp, HVM_E_BAD_ARG, "DEFINE: blob outside the data area or over %u bytes",
		       DEFINE_MAX);
		return;
	}
	if (off & 7) {
		refuse(rp, HVM_E_BAD_ARG, "DEFINE: blob offset not 8-byte aligned (VMCFG-001)");
		return;
	}
	void *blob = malloc(len);
	if (!blob) {
		refuse(rp, HVM_E_INTERNAL, "DEFINE: out of memory");
		return;
	}
	memcpy(blob, (const void *)(fc->base + HVM_OFF_DATA + off), len);
	const char *name = NULL;
	int mlen = 0;
	uint32_t free_id = HVM_MAX_VMS;
	if (fdt_check_header(blob) != 0 || fdt_totalsize(blob) > len ||
	    fdt_check_full(blob, len) != 0) {
		refuse(rp, HVM_E_FDT, "configuration blob is not a device tree");
	} else if (fdt_node_check_compatible(blob, 0, "avirt,vm-config-v1") != 0 ||
		   !(name = fdt_getprop(blob, 0, "vm-name", NULL)) || !name[0] ||
		   strlen(name) >= HVM_NAME_LEN || !fdt_getprop(blob, 0, "vcpus", NULL)) {
		refuse(rp, HVM_E_BAD_CONFIG, "not a vm-config root with vm-name and vcpus");
	} else if (fdt_getprop(blob, 0, "memory", &mlen) && mlen > 24) {
		/* a second memory region: the double places VMs in one region only */
		refuse(rp, HVM_E_OVERLAP,
		       "VMCFG-041: vm '%s': memory region 1 overlaps region 0 (double)", name);
	} else {
		for (uint32_t i = 0; i < HVM_MAX_VMS && rp->status == HVM_OK; i++) {
			volatile struct hvm_vm_slot *s = slot_at(fc, i);
			if (s->defined && strncmp((const char *)s->name, name, HVM_NAME_LEN) == 0)
				refuse(rp, HVM_E_EXISTS, "DEFINE: name '%s' already defined", name);
			else if (!s->defined && free_id == HVM_MAX_VMS)
				free_id = i;
		}
		if (rp->status == HVM_OK && free_id == HVM_MAX_VMS)
			refuse(rp, HVM_E_NO_SPACE, "DEFINE: VM table full");
	}
	if (rp->status == HVM_OK) {
		struct fakecore_vm vm = { .name = name,
					  .state = HVM_VM_SHUTOFF,
					  .reason = HVM_R_DEFINED,
					  .vcpus = 1,
					  .pcpu_mask = 1,
					  .mem_bytes = 64ull << 20 };
		/* As hv-core does: the configuration's uuid property (16 bytes), zeros without one. */
		int ulen = 0;
		const void *u = fdt_getprop(blob, 0, "uuid", &ulen);
		if (u && ulen == 16)
			memcpy(vm.uuid, u, 16);
		set_vm_locked(fc, free_id, &vm);
		rp->ret[0] = free_id;
		event_locked(fc, HVM_EV_DEFINED, free_id, 0, HVM_R_DEFINED);
	}
	free(blob);
}

/* MGMT-180: a record built from the slot, with fixed exit, interrupt and
 * doorbell counts so tests can check each one reaches the client; or the
 * defect a test asked for. */
/* MGMT-850: the double's VMs have no VIRTIO devices. */
static void do_virtio(struct fakecore *fc, uint32_t id, struct reply *rp)
{
	struct hvm_virtio v;

	memset(&v, 0, sizeof v);
	v.magic = HVM_VIRTIO_MAGIC;
	v.version = HVM_VIRTIO_VERSION;
	v.size = sizeof v;
	v.vm_id = id;
	rp->ret[0] = sizeof v;
	rp->ret[1] = 0;
	memcpy((void *)(fc->base + HVM_OFF_DATA), &v, sizeof v);
}

static void do_stats(struct fakecore *fc, uint32_t id, struct reply *rp)
{
	volatile struct hvm_vm_slot *sl = slot_at(fc, id);
	struct hvm_stats s;

	memset(&s, 0, sizeof s);
	s.magic = HVM_STATS_MAGIC;
	s.version = HVM_STATS_VERSION;
	s.size = sizeof s;
	s.vm_id = id;
	s.state = sl->state;
	s.time_ns = uptime(fc);
	s.cpu_time_ns = sl->cpu_time_ns;
	for (unsigned c = 0; c < HVM_EXIT__COUNT; c++) {
		s.exits_by_class[c] = 10u + c;
		s.exits += s.exits_by_class[c];
	}
	s.irqs_injected = 7;
	/* the fault and denial counts agree with the slot (MGMT-180) */
	s.faults = sl->fault_count;
	s.restarts = sl->restart_count;
	s.doorbells_sent = 3;
	s.doorbells_received = 4;
	s.doorbells_denied = sl->doorbells_denied;
	s.heartbeat = sl->heartbeat;
	s.heartbeat_age_ns = sl->heartbeat_age_ns;
	rp->ret[0] = sizeof s;
	switch (fc->stats_defect) {
	case FAKECORE_STATS_OK:
		break;
	case FAKECORE_STATS_BAD_MAGIC:
		s.magic = BAD_MAGIC;
		break;
	case FAKECORE_STATS_BAD_VERSION:
		s.version = 9;
		break;
	case FAKECORE_STATS_BAD_SIZE:
		s.size = 128;
		break;
	case FAKECORE_STATS_SHORT:
		rp->ret[0] = 64;
		break;
	}
	memcpy((void *)(fc->base + HVM_OFF_DATA), &s, sizeof s);
}

/* MGMT-049: bytes from position arg[0] on; ret = count, next, bytes lost. */
static void do_read_console(struct fakecore *fc, uint32_t id, uint64_t from, struct reply *rp)
{
	volatile struct hvm_console *k = console_at(fc, id);
	uint64_t head = k->head;

	if (from > head) {
		refuse(rp, HVM_E_BAD_ARG, "READ_CONSOLE: position %llu is beyond head %llu",
		       (unsigned long long)from, (unsigned long long)head);
		return;
	}
	if (head - from > HVM_CONSOLE_SIZE) {
		rp->ret[2] = head - HVM_CONSOLE_SIZE - from;
		from = head - HVM_CONSOLE_SIZE;
	}
	uint64_t n = head - from;
	for (uint64_t j = 0; j < n; j++)
		fc->base[HVM_OFF_DATA + j] = k->buf[(from + j) % HVM_CONSOLE_SIZE];
	rp->ret[0] = n;
	rp->ret[1] = from + n;
}

static void do_read_fault(struct fakecore *fc, uint32_t id, struct reply *rp)
{
	struct hvm_fault rec;

	/* the region's record, made by fault_record() */
	memcpy(&rec, (const void *)fault_at(fc, id), sizeof rec);
	memcpy((void *)(fc->base + HVM_OFF_DATA), &rec, sizeof rec);
	rp->ret[0] = sizeof rec;
	rp->ret[1] = rec.kind;
}

/* MGMT-330: the entries after fault_seq `after`, oldest first. */
static void do_read_fault_history(struct fakecore *fc, uint32_t id, uint64_t after, struct reply *rp)
{
	struct hvm_fault_history h = { .magic = HVM_FHIST_MAGIC,
				       .version = HVM_FHIST_VERSION,
				       .size = sizeof h,
				       .vm_id = id,
				       .entry_size = sizeof(struct hvm_fault_entry) };
	uint64_t n = fc->hist_seq[id];
	uint64_t from = after + 1;

	if (n > HVM_FAULT_HISTORY && from < n - HVM_FAULT_HISTORY + 1) {
		h.lost = n - HVM_FAULT_HISTORY + 1 - from;
		from = n - HVM_FAULT_HISTORY + 1;
	}
	h.total = n;
	for (uint64_t s = from; s <= n; s++)
		h.entry[h.count++] = fc->hist[id][(s - 1) % HVM_FAULT_HISTORY];
	memcpy((void *)(fc->base + HVM_OFF_DATA), &h, sizeof h);
	rp->ret[0] = sizeof h;
	rp->ret[1] = h.count;
	rp->ret[2] = h.total;
}

/* ---- OTA slots (MGMT-610..625), as far as the double goes ---- */

/* Dotted-number order (docs/ota.md OTA-012): <0, 0, >0. */
static int ver_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		unsigned long x = strtoul(a, (char **)&a, 10), y = strtoul(b, (char **)&b, 10);
		if (x != y)
			return x < y ? -1 : 1;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
	}
	return 0;
}

static struct hvm_ota_status *ota_of(struct fakecore *fc, uint32_t id)
{
	struct hvm_ota_status *o = &fc->ota[id];
	if (o->magic != HVM_OTA_STATUS_MAGIC) {
		/* before the first update: slot A GOOD with the configured image */
		memset(o, 0, sizeof *o);
		o->magic = HVM_OTA_STATUS_MAGIC;
		o->version = HVM_OTA_STATUS_VERSION;
		o->size = sizeof *o;
		o->vm_id = id;
		o->nv_present = 1;
		o->slot[0].state = HVM_SLOT_GOOD;
		o->slot[0].durable = 1;
		snprintf(o->slot[0].version, sizeof o->slot[0].version, "%s",
			 (const char *)slot_at(fc, id)->image_version);
	}
	return o;
}

/* The signed form: the version of the manifest's image line for the VM. */
static int manifest_version(const char *m, size_t len, const char *vm, char *ver, size_t vlen)
{
	char line[256], name[64], v[64];
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(m + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (m + at)) : len - at;
		snprintf(line, sizeof line, "%.*s", (int)(n < 255 ? n : 255), m + at);
		if (sscanf(line, "image %63s %63s", name, v) == 2 && strcmp(name, vm) == 0) {
			if (strlen(v) >= vlen)
				return -1;
			memcpy(ver, v, strlen(v) + 1);
			return 0;
		}
		at += n + 1;
	}
	return -1;
}

static void do_ota_install(struct fakecore *fc, uint32_t id, const uint64_t *arg, struct reply *rp)
{
	volatile struct hvm_regs *r = fakecore_regs(fc);
	const uint8_t *d = (const uint8_t *)fc->base + HVM_OFF_DATA;
	struct hvm_ota_status *o = ota_of(fc, id);
	char ver[HVM_VERSION_LEN] = "", line[HVM_NAME_LEN + 8];

	if (arg[3] > 1) {
		refuse(rp, HVM_E_BAD_ARG, "OTA_INSTALL: arg[3] %llu is not 0 or 1 (MGMT-663)",
		       (unsigned long long)arg[3]);
		return;
	}
	/* MGMT-663: the initrd's manifest line is `NAME.initrd` */
	snprintf(line, sizeof line, arg[3] ? "%s.initrd" : "%s", (const char *)slot_at(fc, id)->name);
	if (arg[1] == 0 || arg[0] > r->staging_size || arg[1] > r->staging_size - arg[0]) {
		refuse(rp, HVM_E_BAD_ARG, "OTA_INSTALL: outside the staging area");
		return;
	}
	if (arg[2] == 1) {
		struct hvm_ota_signed h;
		memcpy(&h, d, sizeof h);
		const char *m = (const char *)d + sizeof h;
		if (h.magic != HVM_OTA_SIGNED_MAGIC || h.manifest_len == 0 ||
		    h.manifest_len > HVM_OTA_MANIFEST_MAX || h.sigblock_len == 0 ||
		    h.sigblock_len > HVM_OTA_SIGBLOCK_MAX) {
			refuse(rp, HVM_E_BAD_ARG, "OTA_INSTALL: bad signed header (MGMT-643)");
			return;
		}
		if (strncmp(m, "hv-ota-manifest 1\n", 18) != 0 ||
		    manifest_version(m, h.manifest_len, line, ver, sizeof ver) != 0) {
			refuse(rp, HVM_E_SIGNATURE, "OTA_INSTALL: no image line for the VM");
			return;
		}
		rp->ret[0] = h.manifest_len;
		rp->ret[1] = h.sigblock_len;
	} else {
		struct hvm_ota_image img;
		memcpy(&img, d, sizeof img);
		if (img.magic != HVM_OTA_IMAGE_MAGIC || img.size != arg[1]) {
			refuse(rp, HVM_E_BAD_ARG, "OTA_INSTALL: bad image header (MGMT-612)");
			return;
		}
		snprintf(ver, sizeof ver, "%.*s", (int)sizeof img.version - 1, img.version);
	}
	if (o->in_trial) {
		refuse(rp, HVM_E_STATE, "'%s': a trial is in progress (MGMT-620)",
		       (const char *)slot_at(fc, id)->name);
		return;
	}
	if (o->floor[0] && ver_cmp(ver, o->floor) < 0) {
		refuse(rp, HVM_E_ROLLBACK, "version %s is below the floor %s (MGMT-625)", ver,
		       o->floor);
		return;
	}
	struct hvm_ota_slot *t = arg[3] ? &o->initrd[1 - o->active] : &o->slot[1 - o->active];
	memset(t, 0, sizeof *t);
	t->state = HVM_SLOT_READY;
	t->durable = 1;
	t->size = arg[1];
	snprintf(t->version, sizeof t->version, "%s", ver);
	o->last_result = HVM_OTA_INSTALLED;
	event_locked(fc, HVM_EV_OTA_INSTALLED, id, 1 - o->active, 0);
}

static void do_ota_switch(struct fakecore *fc, uint32_t id, struct reply *rp)
{
	struct hvm_ota_status *o = ota_of(fc, id);
	uint32_t target = 1 - o->active;

	if (o->in_trial || o->slot[target].state != HVM_SLOT_READY) {
		refuse(rp, HVM_E_STATE, "OTA_SWITCH: no READY slot (MGMT-621)");
		return;
	}
	struct hvm_ota_slot *rd = &o->initrd[target];
	if (rd->state == HVM_SLOT_READY && strcmp(rd->version, o->slot[target].version) != 0) {
		refuse(rp, HVM_E_STATE, "OTA_SWITCH: image %s and initrd %s (MGMT-663)",
		       o->slot[target].version, rd->version);
		return;
	}
	o->active = target;
	o->in_trial = 1;
	o->trial_left_ms = 1000;
	o->slot[target].state = HVM_SLOT_TRIAL;
	if (rd->state == HVM_SLOT_READY)
		rd->state = HVM_SLOT_TRIAL;
	event_locked(fc, HVM_EV_OTA_TRIAL, id, target, 0);
}

/* A trial ends on the next tick: confirmed, or rolled back (fakecore_ota). */
static void ota_tick(struct fakecore *fc)
{
	for (uint32_t id = 0; fc->ota_on && id < HVM_MAX_VMS; id++) {
		struct hvm_ota_status *o = &fc->ota[id];
		if (o->magic != HVM_OTA_STATUS_MAGIC || !o->in_trial)
			continue;
		o->in_trial = 0;
		o->trial_left_ms = 0;
		struct hvm_ota_slot *rd = &o->initrd[o->active];
		if (rd->state == HVM_SLOT_TRIAL) /* MGMT-663: the initrd follows its image */
			rd->state = fc->ota_fail ? HVM_SLOT_BAD : HVM_SLOT_GOOD;
		if (!fc->ota_fail) {
			o->slot[o->active].state = HVM_SLOT_GOOD;
			snprintf(o->floor, sizeof o->floor, "%s", o->slot[o->active].version);
			o->last_result = HVM_OTA_CONFIRMED;
			event_locked(fc, HVM_EV_OTA_CONFIRMED, id, o->active, 0);
		} else {
			o->slot[o->active].state = HVM_SLOT_BAD;
			o->active = 1 - o->active;
			o->last_result = HVM_OTA_FAIL_TIMEOUT;
			event_locked(fc, HVM_EV_OTA_ROLLED_BACK, id, HVM_OTA_FAIL_TIMEOUT, 0);
		}
	}
}

int fakecore_ota_initrd(struct fakecore *fc, uint32_t id, uint32_t s, struct hvm_ota_slot *out)
{
	if (id >= HVM_MAX_VMS || s > 1)
		return -1;
	pthread_mutex_lock(&fc->lock);
	*out = ota_of(fc, id)->initrd[s];
	pthread_mutex_unlock(&fc->lock);
	return 0;
}

void fakecore_ota(struct fakecore *fc, bool on, bool trials_fail)
{
	pthread_mutex_lock(&fc->lock);
	fc->ota_on = on;
	fc->ota_fail = trials_fail;
	fakecore_regs(fc)->caps = caps_of(fc);
	pthread_mutex_unlock(&fc->lock);
}

static void execute(struct fakecore *fc, uint32_t cmd, uint32_t id, const uint64_t *arg,
		    struct reply *rp)
{
	volatile struct hvm_regs *r = fakecore_regs(fc);

	if (cmd >= 64 || !(r->caps & HVM_CAP(cmd)) || !hvm_cmd_name(cmd)) {
		if (fc->flaw == FAKECORE_OK_UNKNOWN && cmd >= HVM_CMD__COUNT)
			return;
		refuse(rp, HVM_E_UNKNOWN_CMD, "unknown command %u", cmd);
		return;
	}
	if (fc->flaw == FAKECORE_CAPS_LIE && (cmd == HVM_CMD_SUSPEND || cmd == HVM_CMD_RESUME)) {
		refuse(rp, HVM_E_UNKNOWN_CMD, "unknown command %u", cmd);
		return;
	}
	const char *name = hvm_cmd_name(cmd);
	if (hvm_cmd_needs_vm(cmd)) {
		if (id >= HVM_MAX_VMS || !slot_at(fc, id)->defined) {
			refuse(rp, HVM_E_BAD_VM, "%s: no VM with id %u", name, id);
			return;
		}
		uint32_t st = slot_at(fc, id)->state;
		int lax = fc->flaw == FAKECORE_LAX_STATE && cmd == HVM_CMD_RESUME;
		if (!(hvm_cmd_legal_states(cmd) & HVM_ST(st)) && !lax) {
			const char *st_name = hvm_vm_state_name(st);
			refuse(rp, HVM_E_STATE, "%s is illegal in state %s (MGMT-045)", name,
			       st_name ? st_name : "?");
			return;
		}
	}
	switch (cmd) {
	case HVM_CMD_NOP:
		break;
	case HVM_CMD_GET_INFO:
		rp->ret[0] = r->vm_count;
		rp->ret[1] = r->caps;
		rp->ret[2] = uptime(fc);
		rp->ret[3] = 100; /* MGMT-101: a heap of 256 pages, 100 free */
		rp->ret[4] = 256;
		break;
	case HVM_CMD_LIST:
		for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
			if (slot_at(fc, i)->defined)
				rp->ret[0] |= 1ull << i;
		break;
	case HVM_CMD_DEFINE:
		do_define(fc, arg, rp);
		break;
	case HVM_CMD_UNDEFINE:
		clear_vm_locked(fc, id);
		event_locked(fc, HVM_EV_UNDEFINED, id, 0, 0);
		break;
	case HVM_CMD_START:
		transition(fc, id, HVM_VM_RUNNING, HVM_R_BOOTED, HVM_EV_STARTED);
		break;
	case HVM_CMD_SHUTDOWN:
		if (arg[0] > SHUTDOWN_MAX_MS) {
			refuse(rp, HVM_E_BAD_ARG, "SHUTDOWN: timeout above %u ms", SHUTDOWN_MAX_MS);
			return;
		}
		transition(fc, id, HVM_VM_SHUTOFF, HVM_R_SHUTDOWN, HVM_EV_STOPPED);
		break;
	case HVM_CMD_DESTROY:
		transition(fc, id, HVM_VM_SHUTOFF, HVM_R_DESTROYED, HVM_EV_STOPPED);
		break;
	case HVM_CMD_REBOOT:
		if (arg[0] > SHUTDOWN_MAX_MS) {
			refuse(rp, HVM_E_BAD_ARG, "REBOOT: timeout above %u ms", SHUTDOWN_MAX_MS);
			return;
		}
		transition(fc, id, HVM_VM_RUNNING, HVM_R_REBOOTED, HVM_EV_STARTED);
		break;
	case HVM_CMD_RESET:
		transition(fc, id, HVM_VM_RUNNING, HVM_R_RESET, HVM_EV_STARTED);
		break;
	case HVM_CMD_SUSPEND:
		transition(fc, id, HVM_VM_PAUSED, HVM_R_USER, HVM_EV_SUSPENDED);
		break;
	case HVM_CMD_RESUME:
		transition(fc, id, HVM_VM_RUNNING, HVM_R_USER, HVM_EV_RESUMED);
		break;
	case HVM_CMD_GET_STATS:
		do_stats(fc, id, rp);
		break;
	case HVM_CMD_LOAD_IMAGE: /* MGMT-048: the ranges only; the double loads nothing */
		if (arg[2] > 1)
			refuse(rp, HVM_E_BAD_ARG,
			       "LOAD_IMAGE: image index %llu: only 0 (image), 1 (initrd)",
			       (unsigned long long)arg[2]);
		else if (arg[1] == 0 || arg[0] > r->staging_size || arg[1] > r->staging_size - arg[0])
			refuse(rp, HVM_E_BAD_ARG, "LOAD_IMAGE: outside the staging area");
		else if (arg[1] > (arg[2] ? 0 : FAKE_IMAGE_SLOT)) /* MGMT-302, MGMT-701 */
			refuse(rp, HVM_E_BAD_ARG, "LOAD_IMAGE: %llu bytes exceed the slot",
			       (unsigned long long)arg[1]);
		break;
	case HVM_CMD_READ_CONSOLE:
		do_read_console(fc, id, arg[0], rp);
		break;
	case HVM_CMD_GET_VIRTIO:
		do_virtio(fc, id, rp);
		break;
	case HVM_CMD_READ_FAULT:
		do_read_fault(fc, id, rp);
		break;
	case HVM_CMD_SELFTEST_RESULT:
		rp->ret[0] = r->selftest_failed;
		rp->ret[1] = SELFTEST_CHECKS;
		break;
	case HVM_CMD_READ_FAULT_HISTORY:
		do_read_fault_history(fc, id, arg[0], rp);
		break;
	case HVM_CMD_WRITE_CONSOLE: /* MGMT-801: the double's guest echoes what it receives */
		if (arg[0] == 0 || arg[0] > HVM_CONSOLE_INPUT_MAX) {
			refuse(rp, HVM_E_BAD_ARG,
			       "WRITE_CONSOLE: %llu bytes; 1..%u at once (MGMT-801)",
			       (unsigned long long)arg[0], HVM_CONSOLE_INPUT_MAX);
			break;
		}
		console_put_locked(fc, id, fc->base + HVM_OFF_DATA, (size_t)arg[0]);
		rp->ret[0] = arg[0];
		rp->ret[1] = 64;
		break;
	case HVM_CMD_OTA_INSTALL:
		do_ota_install(fc, id, arg, rp);
		break;
	case HVM_CMD_OTA_SWITCH:
		do_ota_switch(fc, id, rp);
		break;
	case HVM_CMD_OTA_STATUS:
		memcpy((void *)(fc->base + HVM_OFF_DATA), ota_of(fc, id), sizeof fc->ota[id]);
		break;
	}
}

/* Answers the pending command, if any. Called with the lock. */
static void poll_command(struct fakecore *fc)
{
	volatile struct hvm_regs *r = fakecore_regs(fc);
	uint32_t req = __atomic_load_n(&r->req_seq, __ATOMIC_ACQUIRE);
	uint32_t done = r->done_seq;

	if (req == done || fc->flaw == FAKECORE_NEVER_COMPLETE || fc->wedged)
		return;
	if (fc->flaw == FAKECORE_WEDGE_ON_ABUSE && req != done + 1u) {
		fc->wedged = 1;
		return;
	}
	uint64_t arg[6];
	struct reply rp;
	for (int i = 0; i < 6; i++)
		arg[i] = r->arg[i];
	memset(&rp, 0, sizeof rp);
	execute(fc, r->cmd, r->vm_id, arg, &rp);
	for (int i = 0; i < 6; i++)
		r->ret[i] = rp.ret[i];
	memcpy((void *)r->ret_msg, rp.msg, sizeof rp.msg);
	r->status = rp.status;
	fc->commands++;
	__atomic_store_n(&r->done_seq, req, __ATOMIC_RELEASE);
}

/* One service tick: liveness, the guests' heartbeats, then a command. */
static void tick(struct fakecore *fc)
{
	volatile struct hvm_regs *r = fakecore_regs(fc);

	if (fc->flaw != FAKECORE_NO_TICKS) {
		r->uptime_ns = uptime(fc);
		__atomic_store_n(&r->hv_ticks, r->hv_ticks + 1, __ATOMIC_RELEASE);
	}
	for (uint32_t i = 0; fc->live && i < HVM_MAX_VMS; i++) {
		volatile struct hvm_vm_slot *s = slot_at(fc, i);
		if (!s->defined || s->state != HVM_VM_RUNNING)
			continue;
		slot_begin(s);
		s->heartbeat++;
		slot_end(s);
	}
	ota_tick(fc);
	poll_command(fc);
}

static void *serve(void *arg)
{
	struct fakecore *fc = arg;
	struct timespec nap = { 0, TICK_NS };
	uint64_t seen = 0, busy_ns = now_ns();

	for (;;) {
		pthread_mutex_lock(&fc->lock);
		if (fc->stop) {
			pthread_mutex_unlock(&fc->lock);
			break;
		}
		if (!fc->paused)
			tick(fc);
		uint64_t now = now_ns();
		if (fc->commands != seen) {
			seen = fc->commands;
			busy_ns = now;
		}
		pthread_mutex_unlock(&fc->lock);
		if (now - busy_ns < IDLE_AFTER_NS)
			nap.tv_nsec = TICK_NS;
		else if (nap.tv_nsec < fc->max_nap_ns)
			nap.tv_nsec =
				nap.tv_nsec * 2 < fc->max_nap_ns ? nap.tv_nsec * 2 : fc->max_nap_ns;
		nanosleep(&nap, NULL);
	}
	return NULL;
}

void fakecore_idle_nap(struct fakecore *fc, long max_nap_ns)
{
	pthread_mutex_lock(&fc->lock);
	fc->max_nap_ns = max_nap_ns < TICK_NS      ? TICK_NS
			 : max_nap_ns > 999999999L ? 999999999L
						   : max_nap_ns;
	pthread_mutex_unlock(&fc->lock);
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
