/*
 * vm_life.c - a VM's life after it is defined: boot from the image store, the
 * management lifecycle operations (start, shutdown, destroy, reboot, reset,
 * suspend, resume, undefine), the fault policy (REQ-SAF-01, REQ-SAF-18,
 * REQ-SAF-20, REQ-SAF-22) and the per-tick supervision (shutdown timeouts,
 * watchdog, deferred boots).
 *
 * Who does what. Lifecycle operations run on the service CPU; they never touch
 * a running vCPU's registers. They set a request in struct vm (v->run = 0 to
 * stop, vm->paused to hold, vm->pending_boot to boot again) and kick the vCPU's
 * physical CPU with SGI 0. A physical interrupt always traps a running guest to
 * EL2 (HCR_EL2.IMO), even one that masks its own interrupts, so the vCPU acts
 * on the request at its very next exit (vm_vcpu_check()). A vCPU that stops
 * "parks": it clears its bit in vm->live_mask and returns its CPU to the idle
 * loop on a fresh stack. Memory of a VM is reloaded only when live_mask is 0,
 * i.e. no vCPU can be executing its code (REQ-SAF-19).
 *
 * Faults are decided on the CPU where they happen: the faulting vCPU records
 * the context (MGMT-160), applies the policy, and for stop/restart parks
 * itself after asking the VM's other vCPUs to stop. A restart is completed by
 * the service tick once every vCPU has parked. Neither path waits for hv-agent.
 */
#include <string.h>
#include "vm.h"
#include "cpu.h"
#include "region.h"
#include "heartbeat.h"
#include "trap.h"
#include "timer.h"
#include "sysregs.h"
#include "mmu.h"
#include "sha256.h"
#include "log.h"
#include "fmt.h"
#include "vcpu.h"
#include "vgic.h"
#include "ipi.h"
#include "vm_life.h"
#include "hvvmconfig.h"
#include "guest_boot.h"
#include "stage2.h"

#define IMAGE_MAGIC 0x644D5241u /* "ARM\x64" at 0x38 of an arm64 Image */

extern uint8_t hv_stacks[HV_MAX_CPUS][HV_STACK_SIZE];

uint32_t vm_selftest_failed;

static const char *const fault_names[] = {
	"none",
	"stage-2 abort (access outside its memory)",
	"trapped instruction not emulated",
	"watchdog (heartbeat missed)",
	"guest-reported fault",
	"forbidden hypercall",
};

static const char *fault_name(uint32_t kind)
{
	return kind < sizeof(fault_names) / sizeof(fault_names[0]) ? fault_names[kind] : "fault";
}

/* ---- kicking and parking ------------------------------------------------- */

/* Makes every vCPU of vm trap to EL2 soon: IPI_KICK to its CPU. A physical
 * interrupt traps the guest even while it masks its own interrupts. */
void vm_kick(struct vm *vm)
{
	uint32_t self = cpu_index();
	for (uint32_t i = 0; i < vm->cfg.vcpus; i++)
		if (vm->vcpu[i].pcpu != self)
			ipi_send(vm->vcpu[i].pcpu, IPI_KICK);
}

/* Gives this CPU back to the idle loop on a fresh stack: the frames below (a
 * trap from the guest) are abandoned with the guest context, so any number of
 * stops and restarts never deepens the stack. */
static void __attribute__((noreturn)) park_cpu(void)
{
	uintptr_t top = (uintptr_t)&hv_stacks[cpu_index()][0] + HV_STACK_SIZE;
	write_sysreg(hcr_el2, 0);
	isb();
	__asm__ volatile("mov sp, %0\n\tb cpu_idle" : : "r"(top) : "memory");
	__builtin_unreachable();
}

static void __attribute__((noreturn)) park_vcpu(struct vcpu *v)
{
	vgic_vcpu_stop(v);
	__atomic_and_fetch(&v->vm->live_mask, ~(1u << v->id), __ATOMIC_SEQ_CST);
	park_cpu();
}

void vm_vcpu_entering(struct vcpu *v)
{
	struct vm *vm = v->vm;
	/* Dekker with stop_vcpus(): set live, then look at run; the stopper
	 * clears run, then looks at live. One of the two sees the other. */
	__atomic_or_fetch(&vm->live_mask, 1u << v->id, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&v->run, __ATOMIC_SEQ_CST))
		park_vcpu(v);
}

/* The slow part of vm_vcpu_check (vm.h): a stop or a pause is requested. */
void vm_vcpu_wait(struct vcpu *v)
{
	struct vm *vm = v->vm;
	for (;;) {
		if (!__atomic_load_n(&v->run, __ATOMIC_SEQ_CST))
			park_vcpu(v);
		if (!__atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE))
			return;
		/* SUSPEND: the vCPU does not run until RESUME or DESTROY kicks it */
		timer_sleep_until(timer_count() + timer_ns_to_count(10000000ull));
	}
}

/* Clears run for every vCPU and kicks them; they park at their next exit. */
static void stop_vcpus(struct vm *vm)
{
	for (uint32_t i = 0; i < vm->cfg.vcpus; i++)
		__atomic_store_n(&vm->vcpu[i].run, 0, __ATOMIC_SEQ_CST);
	vm_kick(vm);
}

/* Every change of state ends a pending REBOOT request (MGMT-044): the guest
 * rebooted, or something else (SUSPEND, SHUTDOWN, DESTROY, RESET, a fault)
 * took over, and hv-core no longer forces the reboot. */
static void set_state(struct vm *vm, uint32_t state, uint32_t reason)
{
	vm->reboot_deadline_ns = 0;
	vm->hook_deadline_ns = 0; /* GABI-331: the stop hook ends with any change */
	vm->state = state;
	vm->reason = reason;
}

/* ---- images and boot --------------------------------------------------------- */

/* Whether hv-core found the digest it now holds for image `index` (0 image,
 * 1 initrd) in the image store the last time it looked, and what it holds. */
static const uint8_t *store_want(struct vm *vm, unsigned index)
{
	const struct vmcfg *vc = vm_vmcfg(vm->id);
	if (index == 0)
		return vm->cfg.image_sha256;
	return vc && vc->boot.has_initrd ? vc->boot.initrd_sha256 : NULL;
}

static int store_verified(struct vm *vm, unsigned index)
{
	const uint8_t *want = store_want(vm, index);
	return !want || (vm->store_known[index] && memcmp(vm->store_sha256[index], want, 32) == 0);
}

static void store_remember(struct vm *vm, unsigned index, const uint8_t d[32])
{
	memcpy(vm->store_sha256[index], d, 32);
	vm->store_known[index] = 1;
}

static void store_forget(struct vm *vm)
{
	vm->store_known[0] = vm->store_known[1] = 0;
}

/* REQ-SAF-12, MGMT-303: the image (and initrd) in the image store have the
 * digests hv-core holds for the VM. Hashes only what it has not found there
 * before (store_verified()); the boot hashes its copy in any case. */
static enum hvm_status check_store(struct vm *vm, char *msg, unsigned len)
{
	const struct vm_config *c = &vm->cfg;
	const struct vmcfg *vc = vm_vmcfg(vm->id);
	uint8_t d[32];
	if (!store_verified(vm, 0)) {
		sha256((const uint8_t *)(uintptr_t)c->image_pa, c->image_size, d);
		if (memcmp(d, c->image_sha256, 32) != 0) {
			hv_snprintf(msg, len, "'%s': image SHA-256 differs from the configuration",
				    c->name);
			return HVM_E_HASH;
		}
		store_remember(vm, 0, d);
	}
	if (!store_verified(vm, 1)) { /* REQ-SAF-12 for the initrd as well */
		sha256((const uint8_t *)(uintptr_t)c->initrd_pa, vc->boot.initrd_size, d);
		if (memcmp(d, vc->boot.initrd_sha256, 32) != 0) {
			hv_snprintf(msg, len, "'%s': initrd SHA-256 differs from the configuration",
				    c->name);
			return HVM_E_HASH;
		}
		store_remember(vm, 1, d);
	}
	return HVM_OK;
}

/* Where the image lies, how many bytes to copy and where to: validated against
 * the VM's memory (cheap: the Image header only). Changes nothing. */
static enum hvm_status image_layout(struct vm *vm, uint64_t *copy, uint64_t *dst_off,
				    uint64_t *entry, char *msg, unsigned len)
{
	const struct vm_config *c = &vm->cfg;
	const uint8_t *img = (const uint8_t *)(uintptr_t)c->image_pa;
	if (!c->has_sha256) {
		hv_snprintf(msg, len, "'%s': hv-core holds no image SHA-256 for it (MGMT-303)",
			    c->name);
		return HVM_E_HASH;
	}
	if (c->entry_ipa == 0) {
		uint32_t magic;
		uint64_t text_offset, image_size;
		memcpy(&magic, img + 0x38, 4);
		memcpy(&text_offset, img + 0x08, 8);
		memcpy(&image_size, img + 0x10, 8);
		if (magic != IMAGE_MAGIC) {
			hv_snprintf(msg, len, "'%s': no arm64 Image at 0x%lx in the image store",
				    c->name, (unsigned long)c->image_pa);
			return HVM_E_BAD_CONFIG;
		}
		*copy = image_size ? image_size : c->image_max;
		if (*copy > c->image_max)
			*copy = c->image_max;
		*dst_off = text_offset;
		*entry = c->mem_ipa + text_offset;
	} else {
		*copy = c->image_size;
		*dst_off = c->load_ipa - c->mem_ipa;
		*entry = c->entry_ipa;
	}
	if (*dst_off >= c->mem_size || *copy > c->mem_size - *dst_off || *copy > c->image_max) {
		hv_snprintf(msg, len, "'%s': image (0x%lx bytes at offset 0x%lx) does not fit",
			    c->name, (unsigned long)*copy, (unsigned long)*dst_off);
		return HVM_E_BAD_CONFIG;
	}
	return HVM_OK;
}

/* image_layout() and the digests of the image store (REQ-SAF-12). */
static enum hvm_status image_plan(struct vm *vm, uint64_t *copy, uint64_t *dst_off, uint64_t *entry,
				  char *msg, unsigned len)
{
	enum hvm_status st = image_layout(vm, copy, dst_off, entry, msg, len);
	return st == HVM_OK ? check_store(vm, msg, len) : st;
}

static void coop_reset(struct vm *vm)
{
	volatile struct hvg_coop_page *c = vm->coop;
	vm->vcpus_stopped = 0; /* a fresh boot: every vCPU may run again */
	memset((void *)c, 0, sizeof(*c));
	c->major = HVG_COOP_MAJOR;
	c->minor = HVG_COOP_MINOR;
	c->size = sizeof(struct hvg_coop_page);
	c->vm_id = vm->id;
	c->watchdog_ms = vm->cfg.watchdog_ms;
	c->selftest_failed = vm_selftest_failed; /* GABI-701 */
	c->hv_time_ns = timer_uptime_ns();
	__atomic_store_n(&c->magic, HVG_COOP_MAGIC, __ATOMIC_RELEASE);
	dcache_clean_range((const void *)c, sizeof(*c));
}

/* ---- long work in units (MGMT-711) --------------------------------------------
 *
 * Clearing a VM's memory, copying an image and hashing it take hundreds of
 * millions of instructions for a Linux-sized VM. They never run inside a
 * supervision pass: a boot or a LOAD_IMAGE is a job of its VM, and the service
 * CPU does one unit of at most WORK_UNIT bytes at a time between passes
 * (vm_work_unit(), mgmt_work()), so the next pass is late by one unit at most.
 * A command whose work is such a job stays pending (MGMT-711) until the job
 * ends; its result is then the command's reply, as if it had run at once. */
#define WORK_UNIT 0x10000ull

enum {
	BOOT_VERIFY_IMAGE, /* the image store, unless store_verified()  */
	BOOT_VERIFY_INITRD,
	BOOT_BEGIN,      /* START: the state is RUNNING from here on   */
	BOOT_PARKED,     /* wait until no vCPU of the last run is live */
	BOOT_CLEAR,      /* REQ-SAF-19: zeroed memory, cleaned to PoC  */
	BOOT_COPY,       /* the image into its memory                  */
	BOOT_PREPARE,    /* device tree, initrd, vGIC (guest_boot.c)   */
	BOOT_HASH_IMAGE, /* MGMT-303: the digests of the copy it runs  */
	BOOT_HASH_INITRD,
	BOOT_LAUNCH,
	BOOT_FAIL_CLEAR, /* a refused copy is cleared again            */
};

enum {
	LOAD_PARKED,   /* a VM just stopped: its vCPUs park first        */
	LOAD_COPY_IN,  /* MGMT-303: once into hv-core's hands            */
	LOAD_HASH,     /* the copy                                       */
	LOAD_COPY_OUT, /* into the image slot, cleaned to PoC            */
	LOAD_CLEAR,    /* the VM's memory used as the private copy       */
};

static uint64_t job_seq;

static void job_next(struct vm_job *j, uint32_t step)
{
	j->step = step;
	j->pos = 0;
}

/* The length of the next unit of a step over len bytes. */
static uint64_t job_unit(const struct vm_job *j, uint64_t len)
{
	uint64_t n = len - j->pos;
	return n > WORK_UNIT ? WORK_UNIT : n;
}

/* One unit of hashing [p, p + len); 1 when the digest is in d. */
static int job_hash(struct vm_job *j, const uint8_t *p, uint64_t len, uint8_t d[32])
{
	if (j->pos == 0)
		sha256_init(&j->sha);
	uint64_t n = job_unit(j, len);
	sha256_update(&j->sha, p + j->pos, n);
	j->pos += n;
	if (j->pos < len)
		return 0;
	sha256_final(&j->sha, d);
	return 1;
}

/* One unit of [dst, dst + len) cleared or copied from src, and cleaned to
 * the point of coherency (a guest runs MMU-off at first); 1 when done. */
static int job_copy(struct vm_job *j, uint8_t *dst, const void *src, uint64_t len)
{
	uint64_t n = job_unit(j, len);
	if (src) {
		memcpy(dst + j->pos, (const uint8_t *)src + j->pos, n);
		dcache_clean_range(dst + j->pos, n);
	} else {
		mem_zero_to_poc(dst + j->pos, n);
	}
	j->pos += n;
	return j->pos >= len;
}

/* The command waiting for the job is answered st (message in vm->job_msg). */
static void job_answer(struct vm *vm, uint32_t st)
{
	if (!vm->job.for_cmd)
		return;
	vm->job_status = st;
	vm->job_done = 1;
	vm->job.for_cmd = 0;
}

/* The job is over with status st. */
static void job_end(struct vm *vm, uint32_t st)
{
	job_answer(vm, st);
	vm->job.kind = VM_JOB_NONE;
}

static void job_fail(struct vm *vm, uint32_t st, uint32_t then)
{
	vm->job.status = st;
	job_next(&vm->job, then);
}

/* A stop, restart or destroy overtakes a boot in progress. */
static void job_cancel(struct vm *vm)
{
	if (vm->job.kind != VM_JOB_BOOT)
		return;
	if (vm->job.for_cmd)
		hv_snprintf(vm->job_msg, sizeof(vm->job_msg), "'%s': its boot was overtaken",
			    vm->cfg.name);
	job_end(vm, HVM_E_STATE);
}

static void job_start(struct vm *vm, uint32_t kind, uint32_t step, int for_cmd)
{
	struct vm_job *j = &vm->job;
	job_cancel(vm); /* a boot in progress is overtaken */
	memset(j, 0, sizeof(*j));
	j->kind = kind;
	j->seq = ++job_seq;
	j->for_cmd = for_cmd;
	j->status = HVM_OK;
	job_next(j, step);
	vm->job_done = 0;
	vm->job_msg[0] = 0;
}

/* A boot that has its layout: a START (for_cmd, the state still stopped) or
 * the reload of a VM whose state is RUNNING already (restart, reset, reboot,
 * the boot configuration). */
static void boot_start(struct vm *vm, int for_cmd, uint32_t reason, uint64_t copy, uint64_t off,
		       uint64_t entry)
{
	job_start(vm, VM_JOB_BOOT, BOOT_VERIFY_IMAGE, for_cmd);
	vm->job.begun = !for_cmd;
	vm->job.reason = reason;
	vm->job.copy = copy;
	vm->job.off = off;
	vm->job.entry = entry;
	vm->pending_boot = 1; /* the watchdog and OTA trials wait for it */
}

static void publish_event(struct vm *vm, uint32_t ev, uint32_t detail);

static void boot_launch(struct vm *vm)
{
	const struct vm_config *c = &vm->cfg;
	struct vm_job *j = &vm->job;
	/* The image is new instructions at addresses another VM (or an earlier run of
	 * this one) may have executed: invalidate every CPU's instruction cache to the
	 * point of unification before any vCPU of this VM fetches from it. */
	__asm__ volatile("dsb ish\n\tic ialluis\n\tdsb ish\n\tisb" : : : "memory");
	coop_reset(vm);
	vm->entry_ipa = j->entry;
	spin_lock(&vm->lock);
	heartbeat_reset(vm, timer_uptime_ns());
	spin_unlock(&vm->lock);
	struct vcpu *v = &vm->vcpu[0];
	v->entry = j->entry;
	v->x0 = j->x0; /* IPA of its device tree */
	vm->pending_boot = 0;
	__atomic_store_n(&v->run, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&pcpus[v->pcpu].vcpu, v, __ATOMIC_RELEASE);
	if (v->pcpu != cpu_index())
		ipi_send(v->pcpu, IPI_WAKE);
	hv_log("vm %u '%s' booting at IPA 0x%lx (%lu bytes from 0x%lx)", vm->id, c->name,
	       (unsigned long)j->entry, (unsigned long)j->copy, (unsigned long)c->image_pa);
}

/* The boot failed (its status and message are set): the VM stops, SHUTOFF
 * (FAILED) once it had begun, unchanged for a START refused before. A START,
 * RESET or REBOOT's fallback answered already (MGMT-713: the VM BLOCKED while
 * its boot goes on) gets a BOOT_FAILED event with the status first. */
static void boot_failed(struct vm *vm)
{
	struct vm_job *j = &vm->job;
	vm->pending_boot = 0;
	if (j->begun) {
		hv_log("vm %u '%s' could not boot: %s", vm->id, vm->cfg.name, vm->job_msg);
		int starting = vm->state == HVM_VM_BLOCKED;
		set_state(vm, HVM_VM_SHUTOFF, HVM_R_FAILED);
		if (starting)
			publish_event(vm, HVM_EV_BOOT_FAILED, j->status);
		publish_event(vm, HVM_EV_STOPPED, 0);
	}
	job_end(vm, j->status);
}

/* One unit of checking the image (index 0) or initrd (1) in the image store
 * against the digest hv-core holds (store_want, REQ-SAF-12); on to step
 * `next` once it matches, the boot failed with E_HASH when it does not. */
static int verify_unit(struct vm *vm, unsigned index, uint64_t pa, uint64_t size, uint32_t next)
{
	struct vm_job *j = &vm->job;
	uint8_t d[32];
	if (store_verified(vm, index)) {
		job_next(j, next);
		return 1;
	}
	if (!job_hash(j, (const uint8_t *)(uintptr_t)pa, size, d))
		return 1;
	if (memcmp(d, store_want(vm, index), 32) != 0) {
		hv_snprintf(vm->job_msg, sizeof(vm->job_msg),
			    "'%s': %s SHA-256 differs from the configuration", vm->cfg.name,
			    index ? "initrd" : "image");
		j->status = HVM_E_HASH;
		boot_failed(vm);
		return 1;
	}
	store_remember(vm, index, d);
	job_next(j, next);
	return 1;
}

/* One unit of vm's boot; 0 when it cannot go on yet (vCPUs still live). */
static int boot_unit(struct vm *vm)
{
	struct vm_job *j = &vm->job;
	const struct vm_config *c = &vm->cfg;
	const struct vmcfg *vc = vm_vmcfg(vm->id);
	uint8_t *ram = (uint8_t *)(uintptr_t)c->mem_pa;
	char *msg = vm->job_msg;
	unsigned len = sizeof(vm->job_msg);
	uint8_t d[32];
	switch (j->step) {
	case BOOT_VERIFY_IMAGE:
		return verify_unit(vm, 0, c->image_pa, c->image_size, BOOT_VERIFY_INITRD);
	case BOOT_VERIFY_INITRD:
		return verify_unit(vm, 1, c->initrd_pa, vc ? vc->boot.initrd_size : 0, BOOT_BEGIN);
	case BOOT_BEGIN:
		if (!j->begun) {
			/* the state is RUNNING before a vCPU can run: a guest that
			 * faults at once must find it so, or its CRASHED would be
			 * overwritten */
			vm->paused = 0;
			set_state(vm, HVM_VM_RUNNING, j->reason);
			publish_event(vm, HVM_EV_STARTED, 0);
			j->begun = 1;
		}
		job_next(j, BOOT_PARKED);
		return 1;
	case BOOT_PARKED:
		if (__atomic_load_n(&vm->live_mask, __ATOMIC_SEQ_CST) != 0) {
			/* the vCPUs of the last run are on their way out: a START
			 * is answered now, as it always was in this case */
			job_answer(vm, HVM_OK);
			return 0;
		}
		job_next(j, BOOT_CLEAR);
		return 1;
	case BOOT_CLEAR: /* REQ-SAF-19: nothing left from an earlier run */
		if (job_copy(j, ram, NULL, c->mem_size)) {
			vm_test_hook(VM_HOOK_BOOT, (volatile uint8_t *)(uintptr_t)c->image_pa,
				     j->copy);
			job_next(j, BOOT_COPY);
		}
		return 1;
	case BOOT_COPY: /* cleaned unit by unit; guest_boot_prepare() cleans its own */
		if (job_copy(j, ram + j->off, (const void *)(uintptr_t)c->image_pa, j->copy))
			job_next(j, BOOT_PREPARE);
		return 1;
	case BOOT_PREPARE: {
		uint32_t st = guest_boot_prepare(vm, c->mem_ipa + j->off, j->copy, &j->x0, msg, len);
		if (st != HVM_OK)
			job_fail(vm, st, BOOT_FAIL_CLEAR);
		else
			job_next(j, BOOT_HASH_IMAGE);
		return 1;
	}
	case BOOT_HASH_IMAGE:
		/* MGMT-303: the digests of the very bytes the VM runs, in its own
		 * memory (no vCPU of it is live, nothing else maps it) */
		if (job_hash(j, ram + j->off, c->image_size, d)) {
			if (memcmp(d, c->image_sha256, 32) != 0) {
				hv_snprintf(msg, len,
					    "'%s': image SHA-256 differs from the configuration",
					    c->name);
				job_fail(vm, HVM_E_HASH, BOOT_FAIL_CLEAR);
			} else {
				job_next(j, BOOT_HASH_INITRD);
			}
		}
		return 1;
	case BOOT_HASH_INITRD:
		if (!vc || !vc->boot.has_initrd || !c->initrd_ipa) {
			job_next(j, BOOT_LAUNCH);
		} else if (job_hash(j, ram + (c->initrd_ipa - c->mem_ipa), vc->boot.initrd_size, d)) {
			if (memcmp(d, vc->boot.initrd_sha256, 32) != 0) {
				hv_snprintf(msg, len,
					    "'%s': initrd SHA-256 differs from the configuration",
					    c->name);
				job_fail(vm, HVM_E_HASH, BOOT_FAIL_CLEAR);
			} else {
				job_next(j, BOOT_LAUNCH);
			}
		}
		return 1;
	case BOOT_LAUNCH:
		if (vm->state == HVM_VM_BLOCKED) {
			/* MGMT-713: a START's boot is done; RUNNING before a vCPU
			 * can run (a guest that faults at once finds it so) */
			set_state(vm, HVM_VM_RUNNING, j->reason);
			publish_event(vm, HVM_EV_STARTED, 0);
		}
		boot_launch(vm);
		job_end(vm, HVM_OK);
		return 1;
	case BOOT_FAIL_CLEAR:
		if (job_copy(j, ram, NULL, c->mem_size)) {
			store_forget(vm); /* what it copied was not what it had checked */
			boot_failed(vm);
		}
		return 1;
	default:
		job_end(vm, HVM_E_INTERNAL);
		return 1;
	}
}

/* The reload of a VM already RUNNING (restart, reset, reboot, its boot
 * configuration): its boot is done in units from the next one on. */
static void boot_request(struct vm *vm)
{
	char msg[96];
	uint64_t copy, off, entry;
	vm->pending_boot = 1;
	enum hvm_status st = image_layout(vm, &copy, &off, &entry, msg, sizeof(msg));
	if (st != HVM_OK) {
		hv_log("vm %u '%s' could not boot: %s", vm->id, vm->cfg.name, msg);
		int starting = vm->state == HVM_VM_BLOCKED; /* a guest's own reset */
		vm->pending_boot = 0;
		set_state(vm, HVM_VM_SHUTOFF, HVM_R_FAILED);
		if (starting)
			publish_event(vm, HVM_EV_BOOT_FAILED, st);
		publish_event(vm, HVM_EV_STOPPED, 0);
		return;
	}
	boot_start(vm, 0, vm->reason, copy, off, entry);
}

static int load_unit(struct vm *vm);

int vm_work_unit(void)
{
	struct vm *next = NULL;
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		struct vm *vm = &vms[i];
		if (!vm->used || vm->job.kind == VM_JOB_NONE)
			continue;
		if (!next || vm->job.seq < next->job.seq)
			next = vm;
	}
	if (!next)
		return 0;
	if (next->job.kind == VM_JOB_LOAD)
		return load_unit(next);
	if (boot_unit(next))
		return 1;
	/* the oldest waits for its vCPUs to park: any other job meanwhile */
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		struct vm *vm = &vms[i];
		if (vm != next && vm->used && vm->job.kind != VM_JOB_NONE)
			return vm->job.kind == VM_JOB_LOAD ? load_unit(vm) : boot_unit(vm);
	}
	return 0;
}

void vm_work_drain(void)
{
	while (vm_work_unit())
		;
}

int vm_job_result(uint32_t id, uint32_t *status, char *msg, unsigned len)
{
	if (id >= HVM_MAX_VMS || !vms[id].job_done)
		return 0;
	struct vm *vm = &vms[id];
	vm->job_done = 0;
	*status = vm->job_status;
	strlcpy(msg, vm->job_msg, len);
	return 1;
}

/* ---- management operations (service CPU; the decoder checked MGMT-045) ------ */

static void publish_event(struct vm *vm, uint32_t ev, uint32_t detail)
{
	vm_publish_slot(vm);
	events_append(ev, vm->id, detail, vm->reason);
}

/* MGMT-300: hv-core's own verdict, never the copy in the shared block */
static enum hvm_status selftest_gate(struct vm *vm, char *msg, unsigned len)
{
	if (!vm->selftest_blocked)
		return HVM_OK;
	hv_snprintf(msg, len, "'%s': a boot self-test it depends on failed", vm->cfg.name);
	return HVM_E_SELFTEST;
}

enum hvm_status vm_op_start(struct vm *vm, uint32_t reason, char *msg, unsigned len)
{
	enum hvm_status st = selftest_gate(vm, msg, len);
	if (st != HVM_OK)
		return st;
	uint64_t copy, off, entry;
	st = image_plan(vm, &copy, &off, &entry, msg, len);
	if (st != HVM_OK)
		return st; /* refused: nothing changed */
	/* the state is RUNNING before a vCPU can run: a guest that faults at once
	 * must find it so, or its CRASHED would be overwritten */
	vm->paused = 0;
	set_state(vm, HVM_VM_RUNNING, reason);
	publish_event(vm, HVM_EV_STARTED, 0);
	boot_start(vm, 0, reason, copy, off, entry); /* in units (MGMT-711) */
	return HVM_OK;
}

/* MGMT-713: the command is answered now; the digests of the image store,
 * then the boot, in units (MGMT-711) while the VM is BLOCKED with the boot's
 * reason; RUNNING (STARTED) when it launches, SHUTOFF (FAILED) with a
 * BOOT_FAILED event when it cannot. For START, RESET and REBOOT's fallback. */
static void boot_blocked(struct vm *vm, uint32_t reason, uint64_t copy, uint64_t off, uint64_t entry)
{
	vm->paused = 0;
	/* a new run: its slot shows no heartbeat of the last one meanwhile */
	vm->coop->heartbeat = 0;
	spin_lock(&vm->lock);
	heartbeat_reset(vm, timer_uptime_ns());
	spin_unlock(&vm->lock);
	set_state(vm, HVM_VM_BLOCKED, reason);
	vm_publish_slot(vm);
	boot_start(vm, 0, reason, copy, off, entry);
}

enum hvm_status vm_op_start_cmd(struct vm *vm, uint32_t reason, char *msg, unsigned len)
{
	enum hvm_status st = selftest_gate(vm, msg, len);
	if (st != HVM_OK)
		return st;
	uint64_t copy, off, entry;
	st = image_layout(vm, &copy, &off, &entry, msg, len);
	if (st != HVM_OK)
		return st; /* refused: nothing changed */
	boot_blocked(vm, reason, copy, off, entry);
	return HVM_OK;
}

int vm_starting(const struct vm *vm)
{
	return vm->state == HVM_VM_BLOCKED && (vm->job.kind == VM_JOB_BOOT || vm->pending_boot);
}

enum hvm_status vm_start(struct vm *vm, char *msg, unsigned msglen)
{
	if (vm->state != HVM_VM_SHUTOFF && vm->state != HVM_VM_CRASHED) {
		hv_snprintf(msg, msglen, "'%s' is not shut off or crashed", vm->cfg.name);
		return HVM_E_STATE;
	}
	return vm_op_start(vm, HVM_R_BOOTED, msg, msglen);
}

void vm_op_destroy(struct vm *vm, uint32_t reason)
{
	stop_vcpus(vm);
	job_cancel(vm);
	vm->paused = 0;
	vm->pending_boot = 0;
	set_state(vm, HVM_VM_SHUTOFF, reason);
	publish_event(vm, HVM_EV_STOPPED, 0);
	hv_log("vm %u '%s' shut off (reason %u)", vm->id, vm->cfg.name, reason);
}

/* The time a guest gets to answer SHUTDOWN (MGMT-046) or REBOOT (MGMT-044):
 * 0 means the default, above the maximum is refused. */
static enum hvm_status answer_timeout(const char *cmd, const char *clause, uint64_t *timeout_ms,
				      char *msg, unsigned len)
{
	if (*timeout_ms == 0)
		*timeout_ms = VM_SHUTDOWN_DEFAULT_MS;
	if (*timeout_ms > VM_SHUTDOWN_MAX_MS) {
		hv_snprintf(msg, len, "%s: timeout %lu ms is above %u ms (%s)", cmd,
			    (unsigned long)*timeout_ms, VM_SHUTDOWN_MAX_MS, clause);
		return HVM_E_BAD_ARG;
	}
	return HVM_OK;
}

enum hvm_status vm_op_shutdown(struct vm *vm, uint64_t timeout_ms, char *msg, unsigned len)
{
	enum hvm_status st = answer_timeout("SHUTDOWN", "MGMT-046", &timeout_ms, msg, len);
	if (st != HVM_OK)
		return st;
	volatile struct hvg_coop_page *c = vm->coop;
	vm->shutdown_seq = c->hv_request_seq + 1;
	c->hv_request = HVG_REQ_SHUTDOWN;
	__atomic_store_n(&c->hv_request_seq, vm->shutdown_seq, __ATOMIC_RELEASE); /* GABI: REQ-SAF-21 */
	vm->shutdown_deadline_ns = timer_uptime_ns() + timeout_ms * 1000000ull;
	vm->paused = 0; /* a paused guest must run to shut down */
	set_state(vm, HVM_VM_SHUTDOWN, HVM_R_USER);
	publish_event(vm, HVM_EV_SHUTDOWN, (uint32_t)timeout_ms);
	vm_kick(vm);
	return HVM_OK;
}

/* REBOOT is graceful (MGMT-044, GABI-025): the guest is asked through its
 * cooperation page and restarts itself (PSCI SYSTEM_RESET, vm_guest_reset()).
 * The VM stays RUNNING meanwhile; vm_tick() resets it at the deadline, so a
 * guest that never answers (no cooperation support) is rebooted all the same. */
enum hvm_status vm_op_reboot(struct vm *vm, uint64_t timeout_ms, char *msg, unsigned len)
{
	enum hvm_status st = answer_timeout("REBOOT", "MGMT-044", &timeout_ms, msg, len);
	if (st != HVM_OK)
		return st;
	uint64_t copy, off, entry;
	/* the fallback's layout only: the image store's digests are checked by
	 * the boot itself, in units (MGMT-713) */
	st = image_layout(vm, &copy, &off, &entry, msg, len);
	if (st != HVM_OK)
		return st; /* the fallback could not boot it: refuse now, change nothing */
	volatile struct hvg_coop_page *c = vm->coop;
	uint32_t seq = c->hv_request_seq + 1;
	c->hv_request = HVG_REQ_REBOOT;
	__atomic_store_n(&c->hv_request_seq, seq, __ATOMIC_RELEASE);
	dcache_clean_range((const void *)c, sizeof(*c));
	vm->reboot_deadline_ns = timer_uptime_ns() + timeout_ms * 1000000ull;
	vm_kick(vm);
	hv_log("vm %u '%s': reboot requested (%lu ms to answer)", vm->id, vm->cfg.name,
	       (unsigned long)timeout_ms);
	return HVM_OK;
}

enum hvm_status vm_op_restart(struct vm *vm, uint32_t reason, char *msg, unsigned len)
{
	uint64_t copy, off, entry;
	enum hvm_status st = image_layout(vm, &copy, &off, &entry, msg, len);
	if (st != HVM_OK)
		return st; /* refused: nothing changed */
	stop_vcpus(vm);
	/* MGMT-713: answered now, the VM BLOCKED while its boot goes on once
	 * its vCPUs parked (MGMT-711) */
	boot_blocked(vm, reason, copy, off, entry);
	return HVM_OK;
}

void vm_op_suspend(struct vm *vm)
{
	__atomic_store_n(&vm->paused, 1, __ATOMIC_RELEASE);
	vm_kick(vm);
	set_state(vm, HVM_VM_PAUSED, HVM_R_USER);
	publish_event(vm, HVM_EV_SUSPENDED, 0);
}

void vm_op_resume(struct vm *vm)
{
	spin_lock(&vm->lock);
	heartbeat_reset_age(vm, timer_uptime_ns()); /* paused time is not a missed heartbeat */
	spin_unlock(&vm->lock);
	__atomic_store_n(&vm->paused, 0, __ATOMIC_RELEASE);
	vm_kick(vm);
	set_state(vm, HVM_VM_RUNNING, HVM_R_USER);
	publish_event(vm, HVM_EV_RESUMED, 0);
}

/* LOAD_IMAGE in units (MGMT-711). MGMT-303: the staged bytes are copied once
 * into memory no client or guest can write (the stopped VM's own RAM, cleared
 * again before its next boot), that copy is hashed, and only a match replaces
 * the slot; a client that changes the staging area meanwhile gains nothing. */
enum hvm_status vm_op_load(struct vm *vm, uint32_t index, const volatile uint8_t *src,
			   uint64_t size, const uint8_t want[32], char *msg, unsigned len)
{
	const struct vm_config *c = &vm->cfg;
	uint64_t max = index ? c->initrd_max : c->image_max;
	if (size > max || size > c->mem_size) { /* MGMT-302: before a byte is written */
		hv_snprintf(msg, len, "'%s': %lu bytes exceed the %s slot of %lu bytes (MGMT-302)",
			    c->name, (unsigned long)size, index ? "initrd" : "image",
			    (unsigned long)max);
		return HVM_E_BAD_ARG;
	}
	job_start(vm, VM_JOB_LOAD, LOAD_PARKED, 1);
	struct vm_job *j = &vm->job;
	j->src = src;
	j->size = size;
	j->index = index;
	memcpy(j->want, want, 32);
	/* a VM just stopped may still have a vCPU on its way out: the kick
	 * makes that a matter of microseconds; waited for, bounded */
	j->park_until_ns = timer_uptime_ns() + 200000000ull;
	return (enum hvm_status)VM_PENDING;
}

static int load_unit(struct vm *vm)
{
	struct vm_job *j = &vm->job;
	const struct vm_config *c = &vm->cfg;
	uint8_t *priv = (uint8_t *)(uintptr_t)c->mem_pa;
	uint8_t *slot = (uint8_t *)(uintptr_t)(j->index ? c->initrd_pa : c->image_pa);
	const char *what = j->index ? "initrd" : "image";
	uint8_t d[32];
	switch (j->step) {
	case LOAD_PARKED:
		if (__atomic_load_n(&vm->live_mask, __ATOMIC_SEQ_CST) == 0) {
			job_next(j, LOAD_COPY_IN);
			return 1;
		}
		if (timer_uptime_ns() < j->park_until_ns)
			return 0;
		hv_snprintf(vm->job_msg, sizeof(vm->job_msg),
			    "'%s' is still stopping its vCPUs; try again", c->name);
		job_end(vm, HVM_E_STATE);
		return 1;
	case LOAD_COPY_IN: { /* read once: only the copy is used */
		uint64_t t0 = timer_uptime_ns(), n = job_unit(j, j->size);
		memcpy(priv + j->pos, (const void *)(j->src + j->pos), n); /* private: no clean */
		j->pos += n;
		j->copy += timer_uptime_ns() - t0; /* the units' own time */
		if (j->pos >= j->size) {
			vm_test_hook(VM_HOOK_LOADED, (volatile uint8_t *)j->src, j->size);
			job_next(j, LOAD_HASH);
		}
		return 1;
	}
	case LOAD_HASH: {
		uint64_t t0 = timer_uptime_ns();
		int end = job_hash(j, priv, j->size, d);
		j->off += timer_uptime_ns() - t0;
		if (!end)
			return 1;
		/* docs/performance.md: under -icount shift=0 a nanosecond is an
		 * instruction; the figures count the units only, not the
		 * supervision passes between them */
		hv_log("vm %u '%s': %lu bytes staged: copy %lu ns, SHA-256 %lu ns", vm->id, c->name,
		       (unsigned long)j->size, (unsigned long)j->copy, (unsigned long)j->off);
	}
		if (memcmp(d, j->want, 32) != 0) {
			hv_snprintf(vm->job_msg, sizeof(vm->job_msg),
				    "'%s': staged %s SHA-256 differs from its configuration",
				    c->name, what);
			job_fail(vm, HVM_E_HASH, LOAD_CLEAR);
			return 1;
		}
		vm->store_known[j->index] = 0; /* the slot changes from here on */
		job_next(j, LOAD_COPY_OUT);
		return 1;
	case LOAD_COPY_OUT:
		if (job_copy(j, slot, priv, j->size)) {
			store_remember(vm, j->index, j->want);
			hv_log("vm %u '%s': %s of %lu bytes loaded into the store at 0x%lx", vm->id,
			       c->name, what, (unsigned long)j->size, (unsigned long)slot);
			job_next(j, LOAD_CLEAR);
		}
		return 1;
	case LOAD_CLEAR:
		if (job_copy(j, priv, NULL, j->size))
			job_end(vm, j->status);
		return 1;
	default:
		job_end(vm, HVM_E_INTERNAL);
		return 1;
	}
}

/* A VM just stopped may still have a vCPU on its way out: the kick makes that
 * a matter of microseconds, so wait for it, bounded. */
static enum hvm_status wait_parked(struct vm *vm, char *msg, unsigned len)
{
	uint64_t until = timer_count() + timer_ns_to_count(200000000ull);
	while (__atomic_load_n(&vm->live_mask, __ATOMIC_SEQ_CST) != 0 && timer_count() < until)
		__asm__ volatile("yield");
	if (__atomic_load_n(&vm->live_mask, __ATOMIC_SEQ_CST) != 0) {
		hv_snprintf(msg, len, "'%s' is still stopping its vCPUs; try again", vm->cfg.name);
		return HVM_E_STATE;
	}
	return HVM_OK;
}

enum hvm_status vm_op_undefine(struct vm *vm, char *msg, unsigned len)
{
	enum hvm_status st = wait_parked(vm, msg, len);
	if (st != HVM_OK)
		return st;
	uint32_t id = vm->id;
	for (uint32_t i = 0; i < vm->cfg.vcpus; i++) {
		struct pcpu *p = &pcpus[vm->vcpu[i].pcpu];
		if (__atomic_load_n(&p->vcpu, __ATOMIC_ACQUIRE) == &vm->vcpu[i])
			__atomic_store_n(&p->vcpu, NULL, __ATOMIC_RELEASE);
	}
	hv_log("vm %u '%s' undefined", id, vm->cfg.name);
	spin_lock(&vm->lock); /* a peer's doorbell in progress finishes first */
	vm->used = 0;
	spin_unlock(&vm->lock);
	stage2_destroy(&vm->s2); /* its table pages back to the heap: no leak per cycle */
	mgmt_clear_slot(id);
	events_append(HVM_EV_UNDEFINED, id, 0, HVM_R_UNKNOWN);
	return HVM_OK;
}

/* ---- faults ------------------------------------------------------------------ */

/* MGMT-052: a fault that leaves the VM running (policy ignore, a guest
 * report) appends its FAULT/WATCHDOG event and logs its line at most once per
 * VM and fault kind per FAULT_EVENT_GAP_NS, so a guest faulting or reporting in
 * a loop can neither push other VMs' events out of the ring nor hold the log.
 * Every occurrence is still counted (fault_count, faults_ignored) and written
 * to the fault record. The next event of that kind carries the number left
 * unreported in detail bits 8..31 (HVM_EV_FAULT_SUPPRESSED). A fault that
 * stops or restarts the VM is always reported. Caller holds vm->lock.
 * Returns 1 when the event is due, with *quiet = occurrences not reported. */
#define FAULT_EVENT_GAP_NS 100000000ull

static int fault_event_due(struct vm *vm, uint32_t kind, int always, uint64_t now, uint32_t *quiet)
{
	uint32_t k = kind < VM_FAULT_KINDS ? kind : 0;
	*quiet = 0;
	if (!always && vm->fault_ev_ns[k] && now - vm->fault_ev_ns[k] < FAULT_EVENT_GAP_NS) {
		if (vm->fault_ev_quiet[k] < HVM_EV_FAULT_SUPPRESSED_MAX)
			vm->fault_ev_quiet[k]++;
		return 0;
	}
	*quiet = vm->fault_ev_quiet[k];
	vm->fault_ev_quiet[k] = 0;
	vm->fault_ev_ns[k] = now ? now : 1;
	return 1;
}

/* Fills the fault record (MGMT-160) with the gen protocol; caller holds vm->lock.
 * f may be NULL (watchdog: no guest context is at hand on the service CPU).
 * With emit 0 (MGMT-052) no event is appended and seq keeps naming the last
 * event of that kind. */
static void record_fault(struct vm *vm, struct vcpu *v, struct trap_frame *f, uint32_t kind,
			 uint64_t esr, uint32_t action, uint32_t event_type, uint32_t detail,
			 int emit)
{
	volatile struct hvm_fault *r = mgmt_fault(vm->id);
	uint32_t k = kind < VM_FAULT_KINDS ? kind : 0;
	mgmt_fault_begin(vm->id);
	mgmt_fault_header(r);
	r->kind = kind;
	r->time_ns = timer_uptime_ns();
	r->vcpu = v ? v->id : 0;
	r->action = action;
	r->esr = esr;
	r->far = f ? read_sysreg(far_el2) : 0;
	r->hpfar = f ? read_sysreg(hpfar_el2) : 0;
	r->elr = f ? f->elr : 0;
	r->spsr = f ? f->spsr : 0;
	r->sp_el1 = f ? read_sysreg(sp_el1) : 0;
	for (unsigned i = 0; i < 31; i++)
		r->x[i] = f ? f->x[i] : 0;
	if (emit) { /* MGMT-052: the gap counts from the event's own time */
		uint64_t stamp = 0;
		vm->fault_ev_seq[k] =
			events_append_stamped(event_type, vm->id, detail, vm->reason, &stamp);
		vm->fault_ev_ns[k] = stamp ? stamp : 1;
	}
	r->seq = vm->fault_ev_seq[k];
	/* MGMT-330: the history keeps every fault, reported as an event or not */
	struct hvm_fault_entry *h = &vm->fault_hist[vm->fault_seq % HVM_FAULT_HISTORY];
	memset(h, 0, sizeof(*h));
	h->fault_seq = ++vm->fault_seq;
	h->time_ns = r->time_ns;
	h->event_seq = r->seq;
	h->kind = kind;
	h->action = action;
	h->vcpu = r->vcpu;
	h->esr = esr;
	h->far = r->far;
	h->hpfar = r->hpfar;
	h->elr = r->elr;
	mgmt_fault_end(vm->id);
}

void vm_fault_history(struct vm *vm, uint64_t after, struct hvm_fault_history *out)
{
	spin_lock(&vm->lock); /* the history is written under vm->lock */
	uint64_t newest = vm->fault_seq;
	uint64_t oldest = newest > HVM_FAULT_HISTORY ? newest - HVM_FAULT_HISTORY + 1 : 1;
	uint64_t first = after + 1 > oldest ? after + 1 : oldest;
	out->magic = HVM_FHIST_MAGIC;
	out->version = HVM_FHIST_VERSION;
	out->size = sizeof(*out);
	out->vm_id = vm->id;
	out->entry_size = sizeof(struct hvm_fault_entry);
	out->total = newest;
	out->lost = after < newest && first > after + 1 ? first - after - 1 : 0;
	out->count = 0;
	for (uint64_t s = first; s <= newest; s++)
		out->entry[out->count++] = vm->fault_hist[(s - 1) % HVM_FAULT_HISTORY];
	spin_unlock(&vm->lock);
}

/* MGMT-333: tells the guest which of its vCPUs the policy stopped (GABI-330). */
static void publish_vcpus_stopped(struct vm *vm)
{
	volatile struct hvg_coop_page *c = vm->coop;
	__atomic_store_n(&c->vcpus_stopped, vm->vcpus_stopped, __ATOMIC_RELEASE);
	dcache_clean_range((const void *)c, sizeof(*c));
}

void vm_vcpu_started(struct vm *vm, uint32_t vcpu)
{
	if (!(vm->vcpus_stopped & (1u << vcpu)))
		return;
	vm->vcpus_stopped &= ~(1u << vcpu);
	publish_vcpus_stopped(vm);
}

/* Policy stop-vcpu (VMCFG-330): whether another vCPU of the VM still runs, so
 * that v alone can stop. Caller holds vm->lock (PSCI CPU_ON and CPU_OFF change
 * run under it). */
static int other_vcpu_runs(struct vm *vm, struct vcpu *v)
{
	for (uint32_t i = 0; v && i < vm->cfg.vcpus; i++)
		if (i != v->id && __atomic_load_n(&vm->vcpu[i].run, __ATOMIC_SEQ_CST))
			return 1;
	return 0;
}

static uint32_t restart_max(const struct vm *vm)
{
	return vm->cfg.restart_max > VM_RESTART_RING ? VM_RESTART_RING : vm->cfg.restart_max;
}

/* Policy restarts within the last restart_window_ms. Caller holds vm->lock. */
static uint32_t restarts_recent(const struct vm *vm, uint64_t now)
{
	uint64_t window = (uint64_t)vm->cfg.restart_window_ms * 1000000ull;
	uint32_t recent = 0;
	for (uint32_t i = 0; i < VM_RESTART_RING && i < vm->restart_ring; i++) {
		uint64_t t = vm->restart_times[i];
		if (t && now - t < window)
			recent++;
	}
	return recent;
}

uint32_t vm_restarts_left(const struct vm *vm, uint64_t now)
{
	uint32_t max = restart_max(vm), recent = restarts_recent(vm, now);
	return recent >= max ? 0 : max - recent;
}

/* REQ-SAF-20 (VMCFG-025): a restart is allowed while fewer than restart_max
 * restarts happened in the last restart_window_ms. Caller holds vm->lock. */
static int restart_allowed(struct vm *vm, uint64_t now)
{
	if (restarts_recent(vm, now) >= restart_max(vm))
		return 0;
	vm->restart_times[vm->restart_ring % VM_RESTART_RING] = now;
	vm->restart_ring++;
	return 1;
}

/* The fault policy's decision for a fault of v (NULL: the watchdog). Caller
 * holds vm->lock; a restart it allows is counted against the budget. */
static uint32_t decide(struct vm *vm, struct vcpu *v, uint64_t now)
{
	if (vm->cfg.fault_policy == VM_FP_IGNORE)
		return HVM_ACT_IGNORE;
	if (vm->cfg.fault_policy == VM_FP_STOP_VCPU && other_vcpu_runs(vm, v))
		return HVM_ACT_VCPU_STOP; /* MGMT-333 */
	if (vm->cfg.fault_policy == VM_FP_RESTART && restart_allowed(vm, now))
		return HVM_ACT_RESTART;
	return vm->cfg.fault_policy == VM_FP_RESTART ? HVM_ACT_BUDGET_STOP : HVM_ACT_STOP;
}

/* Stops every vCPU of vm for action (STOP, RESTART, BUDGET_STOP) decided on a
 * fault of kind, and sets the state; returns the lifecycle event to append.
 * Caller holds vm->lock. */
static uint32_t enact(struct vm *vm, uint32_t action, uint32_t kind)
{
	for (uint32_t i = 0; i < vm->cfg.vcpus; i++)
		__atomic_store_n(&vm->vcpu[i].run, 0, __ATOMIC_SEQ_CST);
	vm->paused = 0;
	if (action == HVM_ACT_RESTART) {
		vm->restart_count++;
		vm->pending_boot = 1;
		set_state(vm, HVM_VM_RUNNING, HVM_R_RESTARTED);
		return HVM_EV_RESTARTED;
	}
	vm->pending_boot = 0;
	set_state(vm, HVM_VM_CRASHED, kind == HVM_F_WATCHDOG ? HVM_R_WATCHDOG : HVM_R_CRASHED);
	return HVM_EV_CRASHED;
}

static void stop_hook_begin(struct vm *vm, uint32_t kind, uint64_t now);

/* Applies the fault policy to vm; returns the action taken (HVM_ACT_*). The
 * caller parks the faulting vCPU for STOP and RESTART. A stop or restart of
 * the whole VM for a vCPU's fault waits for the stop hook (GABI-331) when the
 * VM has a grace period and another of its vCPUs still runs: the faulting
 * vCPU stops now, the others are told, and the service tick carries the
 * decision out when the guest acknowledges or the grace period ends. */
static uint32_t apply_policy(struct vm *vm, struct vcpu *v, struct trap_frame *f, uint32_t kind,
			     uint64_t esr)
{
	uint64_t now = timer_uptime_ns();
	uint32_t fault_ev = kind == HVM_F_WATCHDOG ? HVM_EV_WATCHDOG : HVM_EV_FAULT;
	uint32_t lifecycle_ev = 0, quiet;
	int hook = 0;
	spin_lock(&vm->lock);
	vm->fault_count++;
	vm->stats.faults_by_kind[kind < VM_FAULT_KINDS ? kind : 0]++;
	if (kind == HVM_F_WATCHDOG)
		vm->stats.watchdog_expiries++;
	uint32_t action = decide(vm, v, now);
	if (action == HVM_ACT_IGNORE) {
		vm->stats.faults_ignored++;
	} else if (action == HVM_ACT_VCPU_STOP) {
		/* MGMT-333: the faulting vCPU stops alone, the VM stays RUNNING */
		__atomic_store_n(&v->run, 0, __ATOMIC_SEQ_CST);
		vm->vcpus_stopped |= 1u << v->id;
		publish_vcpus_stopped(vm);
	} else if (v && vm->cfg.stop_grace_ms && vm->state == HVM_VM_RUNNING &&
		   !vm->hook_deadline_ns && other_vcpu_runs(vm, v)) {
		hook = 1; /* GABI-331: the faulting vCPU stops now, the VM at the hook's end */
		__atomic_store_n(&v->run, 0, __ATOMIC_SEQ_CST);
	} else {
		lifecycle_ev = enact(vm, action, kind);
	}
	int emit = fault_event_due(vm, kind, action > HVM_ACT_IGNORE, now, &quiet);
	record_fault(vm, v, f, kind, esr, action, fault_ev,
		     kind | quiet << HVM_EV_FAULT_SUPPRESSED_SHIFT, emit);
	if (lifecycle_ev)
		events_append(lifecycle_ev, vm->id,
			      lifecycle_ev == HVM_EV_RESTARTED ? vm->restart_count : kind,
			      vm->reason);
	if (hook) {
		vm->hook_then = VM_HOOK_THEN_ACTION;
		vm->hook_action = action;
		vm->hook_kind = kind;
		stop_hook_begin(vm, kind, now);
	}
	spin_unlock(&vm->lock);
	/* MGMT-052, MGMT-150: an ignored fault republishes the VM's status slot
	 * only with its (rate-limited) event; the service tick refreshes
	 * fault_count every tick anyway. Rewriting the slot on every fault of a
	 * guest faulting in a loop kept it odd or changing nearly all the time,
	 * so hv-agent (and any reader of the gen protocol) could not get a
	 * consistent copy of it, nor of the whole slot table, while it lasted. */
	if (emit || action != HVM_ACT_IGNORE)
		vm_publish_slot(vm);
	if (action != HVM_ACT_IGNORE && action != HVM_ACT_VCPU_STOP && !hook)
		vm_kick(vm);
	static const char *const act_names[] = { "recorded",
						 "ignored",
						 "VM stopped",
						 "VM restarting",
						 "restart budget exhausted, VM stopped",
						 "faulting vCPU stopped, the others run on" };
	if (emit)
		hv_log("vm %u '%s' FAULT: %s (ESR 0x%lx, ELR 0x%lx, vCPU %u): %s (%u more not "
		       "reported)",
		       vm->id, vm->cfg.name, fault_name(kind), (unsigned long)esr,
		       (unsigned long)(f ? f->elr : 0), v ? v->id : 0,
		       action < 6 ? act_names[action] : "?", quiet);
	return action;
}

/* VMCFG-700 (REQ-SAF-18): under abort-policy inject, a stage-2 abort (a data
 * or instruction abort at a guest-physical address outside the VM's memory
 * and devices) is the guest's to handle: counted and recorded like any fault
 * (rate-limited events, MGMT-052), then delivered as a synchronous external
 * abort, so a guest OS contains it in the faulting process. */
static int abort_injected(struct vcpu *v, struct trap_frame *f, uint32_t kind, uint64_t esr)
{
	struct vm *vm = v->vm;
	uint32_t ec = ESR_EC(esr);
	if (kind != HVM_F_STAGE2_ABORT || vm->cfg.abort_policy != VMCFG_AP_INJECT ||
	    (ec != EC_DABT_LOW && ec != EC_IABT_LOW))
		return 0;
	uint32_t quiet;
	spin_lock(&vm->lock);
	vm->fault_count++;
	int emit = fault_event_due(vm, kind, 0, timer_uptime_ns(), &quiet);
	record_fault(vm, v, f, kind, esr, HVM_ACT_INJECTED, HVM_EV_FAULT,
		     kind | quiet << HVM_EV_FAULT_SUPPRESSED_SHIFT, emit);
	spin_unlock(&vm->lock);
	if (emit) {
		vm_publish_slot(vm);
		hv_log("vm %u '%s' FAULT: %s (ESR 0x%lx, ELR 0x%lx, vCPU %u): delivered to the guest "
		       "as a synchronous external abort (%u more not reported)",
		       vm->id, vm->cfg.name, fault_name(kind), (unsigned long)esr,
		       (unsigned long)f->elr, v->id, quiet);
	}
	trap_inject_sea(f, esr);
	return 1;
}

void vm_fault(struct vcpu *v, struct trap_frame *f, uint32_t kind, uint64_t esr)
{
	if (abort_injected(v, f, kind, esr))
		return;
	/* REQ-SAF-01/22: contain and record it here, without waiting for the agent */
	uint32_t action = apply_policy(v->vm, v, f, kind, esr);
	if (action != HVM_ACT_IGNORE)
		park_vcpu(v);
	/* ignore: step over the faulting instruction (an SError has none) */
	if (kind == HVM_F_STAGE2_ABORT || kind == HVM_F_UNDEF_TRAP) {
		uint32_t ec = ESR_EC(esr);
		if (ec != 0x2F) /* not an SError */
			f->elr += (esr & ESR_IL) ? 4 : 2;
	}
}

void vm_fault_report(struct vcpu *v, struct trap_frame *f, uint64_t code)
{
	struct vm *vm = v->vm;
	uint32_t quiet;
	spin_lock(&vm->lock);
	vm->fault_count++;
	vm->stats.faults_by_kind[HVM_F_GUEST_REPORT]++;
	/* MGMT-052, GABI-033: a guest reporting in a loop is rate-limited */
	int emit = fault_event_due(vm, HVM_F_GUEST_REPORT, 0, timer_uptime_ns(), &quiet);
	record_fault(vm, v, f, HVM_F_GUEST_REPORT, read_sysreg(esr_el2), HVM_ACT_NONE, HVM_EV_FAULT,
		     HVM_F_GUEST_REPORT | quiet << HVM_EV_FAULT_SUPPRESSED_SHIFT, emit);
	spin_unlock(&vm->lock);
	if (emit)
		hv_log("vm %u '%s' reports fault code 0x%lx (%u more reports not logged)", vm->id,
		       vm->cfg.name, (unsigned long)code, quiet);
}

/* The guest ended its run (PSCI SYSTEM_RESET or SYSTEM_OFF): every vCPU stops,
 * the VM takes state for reason, to boot again when pending_boot is set, and
 * the change is published with event (0: none). Called with vm->lock held;
 * releases it. */
static void guest_ended(struct vm *vm, int pending_boot, uint32_t state, uint32_t event,
			uint32_t reason)
{
	for (uint32_t i = 0; i < vm->cfg.vcpus; i++)
		__atomic_store_n(&vm->vcpu[i].run, 0, __ATOMIC_SEQ_CST);
	vm->paused = 0;
	vm->pending_boot = pending_boot;
	set_state(vm, state, reason);
	if (event)
		events_append(event, vm->id, 0, reason);
	spin_unlock(&vm->lock);
	vm_publish_slot(vm);
	vm_kick(vm);
}

void vm_guest_reset(struct vcpu *v)
{
	struct vm *vm = v->vm;
	spin_lock(&vm->lock);
	if (vm->state == HVM_VM_SHUTDOWN) {
		/* a guest answering a SHUTDOWN request with a reboot is off:
		 * what was asked for is a VM that stops (MGMT-046) */
		spin_unlock(&vm->lock);
		vm_guest_poweroff(v);
	}
	/* MGMT-713: BLOCKED (REBOOTED) while its boot goes on; vm_tick() starts
	 * the boot job once every vCPU has parked, which makes it RUNNING with
	 * STARTED, or SHUTOFF (FAILED) with BOOT_FAILED */
	vm->coop->heartbeat = 0;
	heartbeat_reset(vm, timer_uptime_ns());
	guest_ended(vm, 1, HVM_VM_BLOCKED, 0, HVM_R_REBOOTED);
	hv_log("vm %u '%s' reset by the guest (PSCI SYSTEM_RESET): booting again", vm->id,
	       vm->cfg.name);
	park_vcpu(v);
}

void vm_guest_poweroff(struct vcpu *v)
{
	struct vm *vm = v->vm;
	spin_lock(&vm->lock);
	guest_ended(vm, 0, HVM_VM_SHUTOFF, HVM_EV_STOPPED, HVM_R_SHUTDOWN);
	hv_log("vm %u '%s' powered off", vm->id, vm->cfg.name);
	park_vcpu(v);
}

/* ---- stop hook (REQ-SAF-21, GABI-331) -------------------------------------------- */

/* hv-core is about to stop or restart vm while its vCPUs can still run (the
 * watchdog, a vCPU's fault under policy stop or restart, a SHUTDOWN whose
 * timeout ran out): the guest is asked through its cooperation page and the
 * stop-hook interrupt on each running vCPU to save its safety data within
 * stop-grace-ms (VMCFG-331). The stop happens at the deadline, or sooner when
 * the guest acknowledges the request (READY_FOR_OFF, guest_ack_seq). kind is
 * the fault kind, HVM_F_NONE for a SHUTDOWN. The caller sets hook_then. */
static void stop_hook_begin(struct vm *vm, uint32_t kind, uint64_t now)
{
	volatile struct hvg_coop_page *c = vm->coop;
	uint64_t grace_ns = (uint64_t)vm->cfg.stop_grace_ms * 1000000ull;
	vm->hook_seq = c->hv_request_seq + 1;
	c->stop_reason = kind;
	c->stop_deadline_ns = now + grace_ns;
	c->hv_request = HVG_REQ_STOP_IMMINENT;
	__atomic_store_n(&c->hv_request_seq, vm->hook_seq, __ATOMIC_RELEASE);
	dcache_clean_range((const void *)c, sizeof(*c));
	vm->hook_deadline_ns = now + grace_ns;
	for (uint32_t i = 0; i < vm->cfg.vcpus; i++)
		if (__atomic_load_n(&vm->vcpu[i].run, __ATOMIC_SEQ_CST))
			vgic_inject(vm, &vm->vcpu[i], HVG_STOP_HOOK_INTID);
	hv_log("vm %u '%s': %s, stopping in %u ms (stop hook)", vm->id, vm->cfg.name,
	       kind == HVM_F_NONE ? "shutdown timeout" : fault_name(kind), vm->cfg.stop_grace_ms);
}

/* Whether any vCPU of vm may still run guest code: the stop hook needs one. */
static int any_vcpu_runs(struct vm *vm)
{
	for (uint32_t i = 0; i < vm->cfg.vcpus; i++)
		if (__atomic_load_n(&vm->vcpu[i].run, __ATOMIC_SEQ_CST))
			return 1;
	return 0;
}

/* Whether the stop hook in progress is over: acknowledged or timed out. */
static int stop_hook_done(struct vm *vm, uint64_t now)
{
	volatile struct hvg_coop_page *c = vm->coop;
	return now >= vm->hook_deadline_ns ||
	       (c->guest_state == HVG_GS_READY_FOR_OFF && c->guest_ack_seq == vm->hook_seq);
}

/* The end of the stop hook of a vCPU's fault: the stop or restart decided at
 * the fault (recorded then, with the faulting vCPU's context). */
static void hook_enact(struct vm *vm)
{
	spin_lock(&vm->lock);
	uint32_t ev = enact(vm, vm->hook_action, vm->hook_kind);
	events_append(ev, vm->id, ev == HVM_EV_RESTARTED ? vm->restart_count : vm->hook_kind,
		      vm->reason);
	spin_unlock(&vm->lock);
	vm_publish_slot(vm);
	vm_kick(vm);
	hv_log("vm %u '%s': stop hook over, %s", vm->id, vm->cfg.name,
	       ev == HVM_EV_RESTARTED ? "restarting" : "stopped");
}

/* ---- service tick ---------------------------------------------------------------- */

void vm_tick(struct vm *vm, uint64_t now)
{
	char msg[96];
	if (vm->pending_boot && __atomic_load_n(&vm->live_mask, __ATOMIC_SEQ_CST) == 0) {
		/* a restart the fault policy or the guest asked for: the boot
		 * is done in units between passes (MGMT-711) */
		if (vm->job.kind == VM_JOB_NONE)
			boot_request(vm);
		return;
	}
	/* GABI-494: virtio-blk requests the backend completed */
	if (vm->state != HVM_VM_SHUTOFF && vm->state != HVM_VM_CRASHED)
		virtio_set_poll(&vm->virtio);
	if (vm->state == HVM_VM_SHUTDOWN) {
		volatile struct hvg_coop_page *c = vm->coop;
		if (vm->hook_deadline_ns) { /* GABI-331 after the SHUTDOWN timeout */
			if (stop_hook_done(vm, now)) {
				hv_log("vm %u '%s' did not shut down in time: destroyed after its "
				       "stop hook",
				       vm->id, vm->cfg.name);
				vm_op_destroy(vm, HVM_R_DESTROYED);
			}
		} else if (c->guest_state == HVG_GS_READY_FOR_OFF &&
			   c->guest_ack_seq == vm->shutdown_seq) {
			hv_log("vm %u '%s' is ready for off", vm->id, vm->cfg.name);
			vm_op_destroy(vm, HVM_R_SHUTDOWN);
		} else if (now >= vm->shutdown_deadline_ns) {
			if (vm->cfg.stop_grace_ms && !vm->paused && any_vcpu_runs(vm)) {
				spin_lock(&vm->lock);
				vm->hook_then = VM_HOOK_THEN_DESTROY;
				stop_hook_begin(vm, HVM_F_NONE, now);
				spin_unlock(&vm->lock);
				return;
			}
			hv_log("vm %u '%s' did not shut down in time: destroyed", vm->id,
			       vm->cfg.name);
			vm_op_destroy(vm, HVM_R_DESTROYED);
		}
		return;
	}
	/* MGMT-044: a REBOOT the guest did not carry out in time */
	if (vm->reboot_deadline_ns && (vm->state == HVM_VM_RUNNING || vm->state == HVM_VM_BLOCKED) &&
	    now >= vm->reboot_deadline_ns) {
		hv_log("vm %u '%s' did not reboot in time: reset", vm->id, vm->cfg.name);
		if (vm_op_restart(vm, HVM_R_REBOOTED, msg, sizeof(msg)) != HVM_OK) {
			hv_log("vm %u '%s' could not boot: %s", vm->id, vm->cfg.name, msg);
			vm_op_destroy(vm, HVM_R_FAILED);
		}
		return;
	}
	/* GABI-331: the stop waits for the guest's stop hook */
	if (vm->hook_deadline_ns) {
		if (vm->state == HVM_VM_RUNNING && stop_hook_done(vm, now)) {
			vm->hook_deadline_ns = 0;
			if (vm->hook_then == VM_HOOK_THEN_ACTION) {
				hook_enact(vm);
			} else {
				vm->hb_changed_ns = now;
				apply_policy(vm, NULL, NULL, HVM_F_WATCHDOG, 0);
			}
		}
		return;
	}
	/* REQ-SAF-13: the watchdog, only while the guest is supposed to run */
	/* (hb_changed_ns may be a little after now: the slot refresh samples later) */
	if (vm->state == HVM_VM_RUNNING && vm->cfg.watchdog_ms && !vm->pending_boot &&
	    now > vm->hb_changed_ns &&
	    now - vm->hb_changed_ns > (uint64_t)vm->cfg.watchdog_ms * 1000000ull) {
		if (vm->cfg.stop_grace_ms && vm->cfg.fault_policy != VM_FP_IGNORE) {
			spin_lock(&vm->lock);
			vm->hook_then = VM_HOOK_THEN_POLICY;
			stop_hook_begin(vm, HVM_F_WATCHDOG, now);
			spin_unlock(&vm->lock);
			return;
		}
		vm->hb_changed_ns = now; /* re-armed: an ignored expiry fires once per timeout */
		apply_policy(vm, NULL, NULL, HVM_F_WATCHDOG, 0);
	}
}
