/*
 * fake_hv.c - TEST DOUBLE: the hypervisor side of the management region,
 * played by a thread over a temporary file, for the conformance suite's unit
 * test only (see fake_hv.h). It follows docs/mgmt-abi.md closely enough that
 * the suite passes it, except for the one flaw each test asks for.
 */
#include <fcntl.h>
#include <libfdt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "fake_hv.h"
#include "hvmgmt.h"

struct fake_vm {
	int used;
	uint32_t state, reason;
	char name[HVM_NAME_LEN];
	uint64_t heartbeat;
};

struct fake_hv {
	enum fake_flaw flaw;
	uint8_t *base;
	struct hvm_regs *r;
	pthread_t thread;
	int stop;
	struct fake_vm vm[HVM_MAX_VMS];
	uint64_t ticks, start_ns;
	int wedged;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t uptime(struct fake_hv *f) { return now_ns() - f->start_ns + 1; }

static struct hvm_vm_slot *slot(struct fake_hv *f, uint32_t i)
{
	return (struct hvm_vm_slot *)(f->base + HVM_OFF_SLOTS) + i;
}

static struct hvm_console *console(struct fake_hv *f, uint32_t i)
{
	return (struct hvm_console *)(f->base + HVM_OFF_CONSOLES) + i;
}

static void event(struct fake_hv *f, uint32_t type, uint32_t vm, uint32_t reason)
{
	uint64_t n = f->r->ev_head;
	struct hvm_event *e = (struct hvm_event *)(f->base + HVM_OFF_EVENTS) + n % HVM_EVENT_COUNT;
	e->time_ns = uptime(f);
	e->type = type;
	e->vm_id = vm;
	e->detail = 0;
	e->reason = reason;
	__atomic_store_n(&e->seq, n, __ATOMIC_RELEASE);
	__atomic_store_n(&f->r->ev_head, n + 1, __ATOMIC_RELEASE);
}

static void publish(struct fake_hv *f, uint32_t i)
{
	struct hvm_vm_slot *s = slot(f, i);
	struct fake_vm *v = &f->vm[i];
	uint32_t gen = s->gen;
	__atomic_store_n(&s->gen, gen + 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	s->defined = v->used ? 1 : 0;
	s->id = i;
	s->state = v->used ? v->state : 0;
	s->reason = v->used ? v->reason : 0;
	s->vcpus = v->used ? 1 : 0;
	s->pcpu_mask = v->used ? 2 : 0;
	s->mem_bytes = v->used ? 16u << 20 : 0;
	s->heartbeat = v->heartbeat;
	memcpy(s->name, v->name, sizeof(s->name));
	__atomic_store_n(&s->gen, gen + 2, __ATOMIC_RELEASE);
}

static void set_state(struct fake_hv *f, uint32_t i, uint32_t st, uint32_t reason, int ev)
{
	f->vm[i].state = st;
	f->vm[i].reason = reason;
	publish(f, i);
	if (ev >= 0)
		event(f, (uint32_t)ev, i, reason);
}

static void console_write(struct fake_hv *f, uint32_t i, const char *text)
{
	struct hvm_console *k = console(f, i);
	uint64_t h = k->head;
	for (const char *p = text; *p; p++, h++)
		k->buf[h % HVM_CONSOLE_SIZE] = (uint8_t)*p;
	__atomic_store_n(&k->head, h, __ATOMIC_RELEASE);
}

struct reply {
	uint32_t status;
	uint64_t ret[6];
	char msg[64];
};

static const char *const cmd_names[HVM_CMD__COUNT] = {
	"NOP", "GET_INFO", "LIST", "DEFINE", "UNDEFINE", "START", "SHUTDOWN", "DESTROY",
	"REBOOT", "RESET", "SUSPEND", "RESUME", "GET_STATS", "LOAD_IMAGE", "READ_CONSOLE",
	"READ_FAULT", "SELFTEST_RESULT",
};

/* MGMT-121: a message longer than 63 bytes keeps its clause id in front (the
 * fake's messages start with it) and is cut with "...". */
static void refuse(struct reply *rp, uint32_t st, const char *msg)
{
	rp->status = st;
	if (strlen(msg) < sizeof(rp->msg))
		snprintf(rp->msg, sizeof(rp->msg), "%s", msg);
	else
		snprintf(rp->msg, sizeof(rp->msg), "%.60s...", msg);
}

/* The legal-in column of MGMT-045, as state bit masks. */
static int legal(uint32_t cmd, uint32_t st)
{
	static const uint32_t in[HVM_CMD__COUNT] = {
		[HVM_CMD_START] = 1u << HVM_VM_SHUTOFF | 1u << HVM_VM_CRASHED,
		[HVM_CMD_SHUTDOWN] = 1u << HVM_VM_RUNNING | 1u << HVM_VM_BLOCKED | 1u << HVM_VM_PAUSED,
		[HVM_CMD_DESTROY] = 1u << HVM_VM_RUNNING | 1u << HVM_VM_BLOCKED | 1u << HVM_VM_PAUSED |
				    1u << HVM_VM_SHUTDOWN | 1u << HVM_VM_CRASHED,
		[HVM_CMD_REBOOT] = 1u << HVM_VM_RUNNING | 1u << HVM_VM_BLOCKED,
		[HVM_CMD_RESET] = 1u << HVM_VM_RUNNING | 1u << HVM_VM_BLOCKED | 1u << HVM_VM_PAUSED |
				  1u << HVM_VM_CRASHED,
		[HVM_CMD_SUSPEND] = 1u << HVM_VM_RUNNING | 1u << HVM_VM_BLOCKED,
		[HVM_CMD_RESUME] = 1u << HVM_VM_PAUSED,
		[HVM_CMD_UNDEFINE] = 1u << HVM_VM_SHUTOFF | 1u << HVM_VM_CRASHED,
		[HVM_CMD_LOAD_IMAGE] = 1u << HVM_VM_SHUTOFF | 1u << HVM_VM_CRASHED,
		[HVM_CMD_GET_STATS] = 0x7Fu,
		[HVM_CMD_READ_CONSOLE] = 0x7Fu,
		[HVM_CMD_READ_FAULT] = 0x7Fu,
	};
	return cmd < HVM_CMD__COUNT && (in[cmd] >> st & 1u);
}

static void do_define(struct fake_hv *f, uint64_t off, uint64_t len, struct reply *rp)
{
	uint64_t dsize = HVM_DATA_SIZE;
	if (len == 0 || off > dsize || len > dsize - off || len > 0x10000 || (off & 7))
		return refuse(rp, HVM_E_BAD_ARG, "DEFINE: blob outside the data area, unaligned or too long");
	void *blob = malloc(len);
	if (!blob)
		return refuse(rp, HVM_E_INTERNAL, "out of memory");
	memcpy(blob, f->base + HVM_OFF_DATA + off, len);
	const char *name = NULL;
	int mlen = 0;
	if (fdt_check_header(blob) != 0 || fdt_totalsize(blob) > len || fdt_check_full(blob, len) != 0) {
		refuse(rp, HVM_E_FDT, "not a valid device tree");
	} else if (fdt_node_check_compatible(blob, 0, "avirt,vm-config-v1") != 0 ||
		   !(name = fdt_getprop(blob, 0, "vm-name", NULL)) || !fdt_getprop(blob, 0, "vcpus", NULL)) {
		refuse(rp, HVM_E_BAD_CONFIG, "not a complete vm-config node");
	} else if (fdt_getprop(blob, 0, "memory", &mlen) && mlen > 24) {
		char msg[160];
		snprintf(msg, sizeof(msg), "VMCFG-041: vm '%s': memory region 1 overlaps region 0 (fake)", name);
		refuse(rp, HVM_E_OVERLAP, msg);
	} else {
		int id = -1;
		for (int i = 0; i < (int)HVM_MAX_VMS; i++) {
			if (f->vm[i].used && strncmp(f->vm[i].name, name, HVM_NAME_LEN) == 0) {
				refuse(rp, HVM_E_EXISTS, "name already defined");
				id = -2;
				break;
			}
			if (!f->vm[i].used && id == -1)
				id = i;
		}
		if (id == -1)
			refuse(rp, HVM_E_NO_SPACE, "VM table full");
		if (id >= 0) {
			struct fake_vm *v = &f->vm[id];
			memset(v, 0, sizeof(*v));
			v->used = 1;
			snprintf(v->name, sizeof(v->name), "%s", name);
			set_state(f, (uint32_t)id, HVM_VM_SHUTOFF, HVM_R_DEFINED, HVM_EV_DEFINED);
			rp->ret[0] = (uint64_t)id;
		}
	}
	free(blob);
}

static void execute(struct fake_hv *f, uint32_t cmd, uint32_t id, const uint64_t *arg, struct reply *rp)
{
	uint64_t caps = f->r->caps;
	if (cmd >= HVM_CMD__COUNT || !(caps & HVM_CAP(cmd))) {
		if (f->flaw == FAKE_OK_UNKNOWN && cmd >= HVM_CMD__COUNT)
			return;
		return refuse(rp, HVM_E_UNKNOWN_CMD, "unknown command");
	}
	if (f->flaw == FAKE_CAPS_LIE && (cmd == HVM_CMD_SUSPEND || cmd == HVM_CMD_RESUME))
		return refuse(rp, HVM_E_UNKNOWN_CMD, "not implemented");
	if (cmd >= HVM_CMD_UNDEFINE && cmd <= HVM_CMD_READ_FAULT) {
		char msg[64];
		snprintf(msg, sizeof(msg), "%s: vm not defined", cmd_names[cmd]);
		if (id >= HVM_MAX_VMS || !f->vm[id].used)
			return refuse(rp, HVM_E_BAD_VM, msg);
		int lax = f->flaw == FAKE_LAX_STATE && cmd == HVM_CMD_RESUME;
		snprintf(msg, sizeof(msg), "%s: illegal in this state", cmd_names[cmd]);
		if (!legal(cmd, f->vm[id].state) && !lax)
			return refuse(rp, HVM_E_STATE, msg);
		if ((cmd == HVM_CMD_SHUTDOWN || cmd == HVM_CMD_REBOOT) && arg[0] > 600000)
			return refuse(rp, HVM_E_BAD_ARG, "timeout above 600000 ms");
	}
	switch (cmd) {
	case HVM_CMD_NOP:
		break;
	case HVM_CMD_GET_INFO: {
		uint32_t n = 0;
		for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
			n += f->vm[i].used ? 1u : 0u;
		rp->ret[0] = n;
		rp->ret[1] = caps;
		rp->ret[2] = uptime(f);
		rp->ret[3] = 100; /* MGMT-101: a heap of 256 pages, 100 free */
		rp->ret[4] = 256;
		break;
	}
	case HVM_CMD_LIST:
		for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
			rp->ret[0] |= f->vm[i].used ? 1ull << i : 0;
		break;
	case HVM_CMD_DEFINE:
		do_define(f, arg[0], arg[1], rp);
		break;
	case HVM_CMD_UNDEFINE:
		memset(&f->vm[id], 0, sizeof(f->vm[id]));
		publish(f, id);
		event(f, HVM_EV_UNDEFINED, id, 0);
		break;
	case HVM_CMD_START:
		set_state(f, id, HVM_VM_RUNNING, HVM_R_BOOTED, HVM_EV_STARTED);
		break;
	case HVM_CMD_SHUTDOWN:
		set_state(f, id, HVM_VM_SHUTOFF, HVM_R_SHUTDOWN, HVM_EV_STOPPED);
		break;
	case HVM_CMD_DESTROY:
		set_state(f, id, HVM_VM_SHUTOFF, HVM_R_DESTROYED, HVM_EV_STOPPED);
		break;
	case HVM_CMD_REBOOT:
		set_state(f, id, HVM_VM_RUNNING, HVM_R_REBOOTED, HVM_EV_STARTED);
		break;
	case HVM_CMD_RESET:
		set_state(f, id, HVM_VM_RUNNING, HVM_R_RESET, HVM_EV_STARTED);
		break;
	case HVM_CMD_SUSPEND:
		set_state(f, id, HVM_VM_PAUSED, HVM_R_USER, HVM_EV_SUSPENDED);
		break;
	case HVM_CMD_RESUME:
		set_state(f, id, HVM_VM_RUNNING, HVM_R_USER, HVM_EV_RESUMED);
		break;
	case HVM_CMD_GET_STATS: {
		struct hvm_stats st;
		memset(&st, 0, sizeof(st));
		st.magic = HVM_STATS_MAGIC;
		st.version = HVM_STATS_VERSION;
		st.size = sizeof(st);
		st.vm_id = id;
		st.state = f->vm[id].state;
		st.time_ns = uptime(f);
		st.heartbeat = f->vm[id].heartbeat;
		memcpy(f->base + HVM_OFF_DATA, &st, sizeof(st));
		rp->ret[0] = sizeof(st);
		break;
	}
	case HVM_CMD_LOAD_IMAGE:
		if (arg[2] > 1)
			refuse(rp, HVM_E_BAD_ARG, "image index");
		else if (arg[0] > f->r->staging_size || arg[1] > f->r->staging_size - arg[0])
			refuse(rp, HVM_E_BAD_ARG, "image outside the staging area");
		break;
	case HVM_CMD_READ_CONSOLE: {
		struct hvm_console *k = console(f, id);
		uint64_t head = k->head, from = arg[0];
		if (from > head)
			return refuse(rp, HVM_E_BAD_ARG, "position beyond head");
		if (head - from > HVM_CONSOLE_SIZE) {
			rp->ret[2] = head - HVM_CONSOLE_SIZE - from;
			from = head - HVM_CONSOLE_SIZE;
		}
		uint64_t n = head - from;
		for (uint64_t j = 0; j < n; j++)
			f->base[HVM_OFF_DATA + j] = k->buf[(from + j) % HVM_CONSOLE_SIZE];
		rp->ret[0] = n;
		rp->ret[1] = from + n;
		break;
	}
	case HVM_CMD_READ_FAULT:
		memcpy(f->base + HVM_OFF_DATA, f->base + HVM_OFF_FAULTS + id * sizeof(struct hvm_fault),
		       sizeof(struct hvm_fault));
		rp->ret[0] = sizeof(struct hvm_fault);
		rp->ret[1] = ((struct hvm_fault *)(f->base + HVM_OFF_DATA))->kind;
		break;
	case HVM_CMD_SELFTEST_RESULT:
		rp->ret[0] = f->r->selftest_failed;
		rp->ret[1] = 7;
		break;
	}
}

static void poll_command(struct fake_hv *f)
{
	struct hvm_regs *r = f->r;
	uint32_t req = __atomic_load_n(&r->req_seq, __ATOMIC_ACQUIRE);
	uint32_t done = __atomic_load_n(&r->done_seq, __ATOMIC_ACQUIRE);
	if (req == done || f->flaw == FAKE_NEVER_COMPLETE || f->wedged)
		return;
	if (f->flaw == FAKE_WEDGE_ON_ABUSE && req != done + 1u) {
		f->wedged = 1;
		return;
	}
	uint32_t cmd = r->cmd, id = r->vm_id;
	uint64_t arg[6];
	memcpy(arg, (const void *)r->arg, sizeof(arg));
	struct reply rp;
	memset(&rp, 0, sizeof(rp));
	execute(f, cmd, id, arg, &rp);
	memcpy((void *)r->ret, rp.ret, sizeof(rp.ret));
	memcpy((void *)r->ret_msg, rp.msg, sizeof(rp.msg));
	r->status = rp.status;
	__atomic_store_n(&r->done_seq, req, __ATOMIC_RELEASE);
}

static void *run(void *arg)
{
	struct fake_hv *f = arg;
	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		f->ticks++;
		if (f->flaw != FAKE_NO_TICKS) {
			f->r->uptime_ns = uptime(f);
			__atomic_store_n(&f->r->hv_ticks, f->ticks, __ATOMIC_RELEASE);
		}
		uint32_t n = 0;
		for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
			if (!f->vm[i].used)
				continue;
			n++;
			if (f->vm[i].state == HVM_VM_RUNNING)
				f->vm[i].heartbeat++;
			publish(f, i);
		}
		f->r->vm_count = n;
		if (f->ticks % 500 == 0 && f->vm[0].used && f->vm[0].state == HVM_VM_RUNNING)
			console_write(f, 0, "witness: still running\n");
		poll_command(f);
		struct timespec ts = { 0, 1000000L };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

struct fake_hv *fake_hv_start(const char *path, enum fake_flaw flaw)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, HVM_REGION_SIZE) != 0) {
		close(fd);
		return NULL;
	}
	void *m = mmap(NULL, HVM_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return NULL;
	struct fake_hv *f = calloc(1, sizeof(*f));
	if (!f) {
		munmap(m, HVM_REGION_SIZE);
		return NULL;
	}
	f->flaw = flaw;
	f->base = m;
	f->r = m;
	f->start_ns = now_ns();
	struct hvm_regs *r = f->r;
	r->abi_major = HVM_ABI_MAJOR;
	r->abi_minor = HVM_ABI_MINOR;
	r->region_size = HVM_REGION_SIZE;
	r->caps = (1ull << HVM_CMD__COUNT) - 1;
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
	r->staging_base = 0x48000000ull;
	r->staging_size = 0x00100000ull;
	r->pcpu_count = 4;
	snprintf(r->hv_version, sizeof(r->hv_version), "fake-hv (test double)");
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		slot(f, i)->id = i;
		struct hvm_fault *fr = (struct hvm_fault *)(f->base + HVM_OFF_FAULTS + i * sizeof(struct hvm_fault));
		fr->magic = HVM_FAULT_MAGIC; /* MGMT-162 */
		fr->version = HVM_FAULT_VERSION;
		fr->size = sizeof(struct hvm_fault);
		console(f, i)->size = HVM_CONSOLE_SIZE;
		console(f, i)->vm_id = i;
	}
	f->vm[0].used = 1;
	snprintf(f->vm[0].name, sizeof(f->vm[0].name), "witness");
	set_state(f, 0, HVM_VM_RUNNING, HVM_R_BOOTED, HVM_EV_STARTED);
	console_write(f, 0, "witness: booted\n");
	r->vm_count = 1;
	__atomic_store_n(&r->magic, flaw == FAKE_BAD_MAGIC ? 0x12345678u : HVM_MAGIC, __ATOMIC_RELEASE);
	__atomic_store_n(&r->hv_state, HVM_HV_READY, __ATOMIC_RELEASE);
	if (pthread_create(&f->thread, NULL, run, f) != 0) {
		munmap(m, HVM_REGION_SIZE);
		free(f);
		return NULL;
	}
	return f;
}

void fake_hv_stop(struct fake_hv *f)
{
	if (!f)
		return;
	__atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
	pthread_join(f->thread, NULL);
	munmap(f->base, HVM_REGION_SIZE);
	free(f);
}
