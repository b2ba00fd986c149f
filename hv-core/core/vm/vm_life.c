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

/* REQ-SAF-12, MGMT-303: the image (and initrd) at img (initrd) have the digests
 * hv-core holds for the VM. A VM without a digest boots nothing. */
static enum hvm_status check_digests(struct vm *vm, const uint8_t *img, const uint8_t *initrd,
				     char *msg, unsigned len)
{
	const struct vm_config *c = &vm->cfg;
	const struct vmcfg *vc = vm_vmcfg(vm->id);
	uint8_t d[32];
	if (!c->has_sha256) {
		hv_snprintf(msg, len, "'%s': hv-core holds no image SHA-256 for it (MGMT-303)",
			    c->name);
		return HVM_E_HASH;
	}
	sha256(img, c->image_size, d);
	if (memcmp(d, c->image_sha256, 32) != 0) {
		hv_snprintf(msg, len, "'%s': image SHA-256 differs from the configuration", c->name);
		return HVM_E_HASH;
	}
	if (vc && vc->boot.has_initrd) { /* REQ-SAF-12 for the initrd as well */
		sha256(initrd, vc->boot.initrd_size, d);
		if (memcmp(d, vc->boot.initrd_sha256, 32) != 0) {
			hv_snprintf(msg, len, "'%s': initrd SHA-256 differs from the configuration",
				    c->name);
			return HVM_E_HASH;
		}
	}
	return HVM_OK;
}

/* Where the image lies, how many bytes to copy and where to: validated against
 * the VM's memory, and its digest checked (REQ-SAF-12). Changes nothing. */
static enum hvm_status image_plan(struct vm *vm, uint64_t *copy, uint64_t *dst_off, uint64_t *entry,
				  char *msg, unsigned len)
{
	const struct vm_config *c = &vm->cfg;
	const uint8_t *img = (const uint8_t *)(uintptr_t)c->image_pa;
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
	return check_digests(vm, img, (const uint8_t *)(uintptr_t)c->initrd_pa, msg, len);
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

/* Loads the image into clean memory and hands vCPU 0 to its CPU. Only with no
 * vCPU live. Secondary vCPUs wait for the guest's PSCI CPU_ON. */
static enum hvm_status boot_now(struct vm *vm, char *msg, unsigned len)
{
	uint64_t copy, off, entry;
	enum hvm_status st = image_plan(vm, &copy, &off, &entry, msg, len);
	if (st != HVM_OK)
		return st;
	const struct vm_config *c = &vm->cfg;
	/* REQ-SAF-19: a VM starts from clean memory, nothing left from an earlier run */
	uint8_t *ram = (uint8_t *)(uintptr_t)c->mem_pa;
	memset(ram, 0, c->mem_size);
	vm_test_hook(VM_HOOK_BOOT, (volatile uint8_t *)(uintptr_t)c->image_pa, copy);
	memcpy(ram + off, (const void *)(uintptr_t)c->image_pa, copy);
	uint64_t x0 = 0; /* device tree, initrd, fresh vGIC (guest_boot.c) */
	st = guest_boot_prepare(vm, c->mem_ipa + off, copy, &x0, msg, len);
	/* MGMT-303: the digests of the very bytes the VM runs, in its own memory
	 * (no vCPU of it is live, nothing else maps it) */
	if (st == HVM_OK)
		st = check_digests(vm, ram + off,
				   c->initrd_ipa ? ram + (c->initrd_ipa - c->mem_ipa) : NULL, msg,
				   len);
	if (st != HVM_OK) {
		memset(ram, 0, c->mem_size);
		return st;
	}
	dcache_clean_range(ram, c->mem_size);
	/* The image is new instructions at addresses another VM (or an earlier run of
	 * this one) may have executed: invalidate every CPU's instruction cache to the
	 * point of unification before any vCPU of this VM fetches from it. */
	__asm__ volatile("dsb ish\n\tic ialluis\n\tdsb ish\n\tisb" : : : "memory");
	coop_reset(vm);
	vm->entry_ipa = entry;
	spin_lock(&vm->lock);
	heartbeat_reset(vm, timer_uptime_ns());
	spin_unlock(&vm->lock);
	struct vcpu *v = &vm->vcpu[0];
	v->entry = entry;
	v->x0 = x0; /* IPA of its device tree */
	__atomic_store_n(&v->run, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&pcpus[v->pcpu].vcpu, v, __ATOMIC_RELEASE);
	if (v->pcpu != cpu_index())
		ipi_send(v->pcpu, IPI_WAKE);
	hv_log("vm %u '%s' booting at IPA 0x%lx (%lu bytes from 0x%lx)", vm->id, c->name,
	       (unsigned long)entry, (unsigned long)copy, (unsigned long)c->image_pa);
	return HVM_OK;
}

/* Boots now, or once the vCPUs of the previous run have parked. */
static enum hvm_status boot_or_defer(struct vm *vm, char *msg, unsigned len)
{
	if (__atomic_load_n(&vm->live_mask, __ATOMIC_SEQ_CST) == 0)
		return boot_now(vm, msg, len);
	uint64_t copy, off, entry;
	enum hvm_status st = image_plan(vm, &copy, &off, &entry, msg, len);
	if (st == HVM_OK)
		vm->pending_boot = 1;
	return st;
}

/* ---- management operations (service CPU; the decoder checked MGMT-045) ------ */

static void publish_event(struct vm *vm, uint32_t ev, uint32_t detail)
{
	vm_publish_slot(vm);
	events_append(ev, vm->id, detail, vm->reason);
}

enum hvm_status vm_op_start(struct vm *vm, uint32_t reason, char *msg, unsigned len)
{
	/* MGMT-300: hv-core's own verdict, never the copy in the shared block */
	if (vm->selftest_blocked) {
		hv_snprintf(msg, len, "'%s': a boot self-test it depends on failed", vm->cfg.name);
		return HVM_E_SELFTEST;
	}
	uint64_t copy, off, entry;
	enum hvm_status st = image_plan(vm, &copy, &off, &entry, msg, len);
	if (st != HVM_OK)
		return st; /* refused: nothing changed */
	/* the state is RUNNING before a vCPU can run: a guest that faults at once
	 * must find it so, or its CRASHED would be overwritten */
	vm->paused = 0;
	set_state(vm, HVM_VM_RUNNING, reason);
	publish_event(vm, HVM_EV_STARTED, 0);
	st = boot_or_defer(vm, msg, len);
	if (st != HVM_OK) {
		set_state(vm, HVM_VM_SHUTOFF, HVM_R_FAILED);
		publish_event(vm, HVM_EV_STOPPED, 0);
	}
	return st;
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
	st = image_plan(vm, &copy, &off, &entry, msg, len);
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
	enum hvm_status st = image_plan(vm, &copy, &off, &entry, msg, len);
	if (st != HVM_OK)
		return st;
	stop_vcpus(vm);
	vm->paused = 0;
	vm->pending_boot = 1; /* completed by vm_tick() once the vCPUs parked */
	set_state(vm, HVM_VM_RUNNING, reason);
	publish_event(vm, HVM_EV_STARTED, 0);
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

enum hvm_status vm_op_load(struct vm *vm, uint32_t index, const volatile uint8_t *src,
			   uint64_t size, const uint8_t want[32], char *msg, unsigned len)
{
	const struct vm_config *c = &vm->cfg;
	enum hvm_status st = wait_parked(vm, msg, len);
	if (st != HVM_OK)
		return st;
	uint64_t slot = index ? c->initrd_pa : c->image_pa;
	uint64_t max = index ? c->initrd_max : c->image_max;
	if (size > max || size > c->mem_size) { /* MGMT-302: before a byte is written */
		hv_snprintf(msg, len, "'%s': %lu bytes exceed the %s slot of %lu bytes (MGMT-302)",
			    c->name, (unsigned long)size, index ? "initrd" : "image",
			    (unsigned long)max);
		return HVM_E_BAD_ARG;
	}
	/* MGMT-303: copy once into memory no client or guest can write (the
	 * stopped VM's own RAM, cleared again before its next boot), then hash
	 * that copy, and only a match replaces the slot */
	uint8_t *priv = (uint8_t *)(uintptr_t)c->mem_pa;
	uint64_t t0 = timer_uptime_ns();
	memcpy(priv, (const void *)src, size); /* read once: only the copy is used */
	vm_test_hook(VM_HOOK_LOADED, (volatile uint8_t *)src, size);
	uint64_t t1 = timer_uptime_ns();
	uint8_t d[32];
	sha256(priv, size, d);
	/* docs/performance.md: under -icount shift=0 a nanosecond is an instruction */
	hv_log("vm %u '%s': %lu bytes staged: copy %lu ns, SHA-256 %lu ns", vm->id, c->name,
	       (unsigned long)size, (unsigned long)(t1 - t0),
	       (unsigned long)(timer_uptime_ns() - t1));
	if (memcmp(d, want, 32) != 0) {
		memset(priv, 0, size);
		hv_snprintf(msg, len, "'%s': staged %s SHA-256 differs from its configuration",
			    c->name, index ? "initrd" : "image");
		return HVM_E_HASH;
	}
	memcpy((uint8_t *)(uintptr_t)slot, priv, size);
	memset(priv, 0, size);
	dcache_clean_range((const void *)(uintptr_t)slot, size);
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
 * the change is published. Called with vm->lock held; releases it. */
static void guest_ended(struct vm *vm, int pending_boot, uint32_t state, uint32_t event,
			uint32_t reason)
{
	for (uint32_t i = 0; i < vm->cfg.vcpus; i++)
		__atomic_store_n(&vm->vcpu[i].run, 0, __ATOMIC_SEQ_CST);
	vm->paused = 0;
	vm->pending_boot = pending_boot;
	set_state(vm, state, reason);
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
	/* vm_tick() boots it once every vCPU has parked */
	guest_ended(vm, 1, HVM_VM_RUNNING, HVM_EV_STARTED, HVM_R_REBOOTED);
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
		vm->pending_boot = 0;
		if (boot_now(vm, msg, sizeof(msg)) != HVM_OK) {
			hv_log("vm %u '%s' could not boot: %s", vm->id, vm->cfg.name, msg);
			set_state(vm, HVM_VM_SHUTOFF, HVM_R_FAILED);
			publish_event(vm, HVM_EV_STOPPED, 0);
		}
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
