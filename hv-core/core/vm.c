/*
 * vm.c - VM creation from a configuration, start, and the ends of a VM's life
 * that hv-core decides on its own: guest fault and guest power-off.
 */
#include <string.h>
#include "vm.h"
#include "cpu.h"
#include "platform.h"
#include "mgmt.h"
#include "console.h"
#include "heartbeat.h"
#include "heap.h"
#include "mmu.h"
#include "trap.h"
#include "timer.h"
#include "sysregs.h"
#include "gicv3.h"
#include "log.h"
#include "fmt.h"

struct vm vms[HVM_MAX_VMS];

#define IMAGE_MAGIC 0x644D5241u /* "ARM\x64" at 0x38 of an arm64 Image */

uint32_t vm_count(void)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
		n += vms[i].used ? 1 : 0;
	return n;
}

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static enum hvm_status check_config(const struct vm_config *c, char *msg, unsigned len)
{
	if (strnlen(c->name, HVM_NAME_LEN) == 0 || strnlen(c->name, HVM_NAME_LEN) == HVM_NAME_LEN) {
		hv_snprintf(msg, len, "name is empty or longer than %u bytes", HVM_NAME_LEN - 1);
		return HVM_E_BAD_CONFIG;
	}
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
		if (vms[i].used && strcmp(vms[i].cfg.name, c->name) == 0) {
			hv_snprintf(msg, len, "a VM named '%s' is already defined", c->name);
			return HVM_E_EXISTS;
		}
	if (c->vcpus == 0 || c->vcpus > HV_MAX_VCPUS ||
	    (uint32_t)__builtin_popcountll(c->pcpu_mask) != c->vcpus) {
		hv_snprintf(msg, len, "'%s': %u vCPUs need as many CPUs in pcpu_mask 0x%lx (max %u)",
			    c->name, c->vcpus, (unsigned long)c->pcpu_mask, HV_MAX_VCPUS);
		return HVM_E_BAD_CONFIG;
	}
	for (uint32_t p = 0; p < 64; p++) {
		if (!(c->pcpu_mask & (1ull << p)))
			continue;
		if (p == 0 || p >= platform.ncpus) {
			hv_snprintf(msg, len, "'%s': CPU %u is %s", c->name, p,
				    p == 0 ? "the service CPU" : "not present");
			return HVM_E_CPU;
		}
		for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
			if (vms[i].used && (vms[i].cfg.pcpu_mask & (1ull << p))) {
				hv_snprintf(msg, len, "'%s': CPU %u already runs '%s'", c->name, p,
					    vms[i].cfg.name);
				return HVM_E_CPU;
			}
	}
	if (c->mem_size == 0 || ((c->mem_pa | c->mem_ipa | c->mem_size) & 0x1FFFFF)) {
		hv_snprintf(msg, len, "'%s': memory must be a non-empty multiple of 2 MiB, 2 MiB aligned",
			    c->name);
		return HVM_E_BAD_CONFIG;
	}
	if (c->mem_pa < HV_GUEST_BASE || c->mem_pa + c->mem_size > platform.ram_base + platform.ram_size ||
	    c->mem_pa + c->mem_size < c->mem_pa) {
		hv_snprintf(msg, len, "'%s': memory 0x%lx+0x%lx is outside guest RAM 0x%lx..0x%lx",
			    c->name, (unsigned long)c->mem_pa, (unsigned long)c->mem_size,
			    (unsigned long)HV_GUEST_BASE,
			    (unsigned long)(platform.ram_base + platform.ram_size));
		return HVM_E_OVERLAP;
	}
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
		if (vms[i].used && overlaps(c->mem_pa, c->mem_size, vms[i].cfg.mem_pa, vms[i].cfg.mem_size)) {
			hv_snprintf(msg, len, "'%s': memory overlaps '%s'", c->name, vms[i].cfg.name);
			return HVM_E_OVERLAP;
		}
	if (c->mem_ipa + c->mem_size > (1ull << 32) ||
	    overlaps(c->mem_ipa, c->mem_size, VPL011_IPA, 0x1000) ||
	    overlaps(c->mem_ipa, c->mem_size, HV_COOP_IPA, 0x1000)) {
		hv_snprintf(msg, len, "'%s': guest-physical memory 0x%lx+0x%lx collides with a device or 4 GiB",
			    c->name, (unsigned long)c->mem_ipa, (unsigned long)c->mem_size);
		return HVM_E_BAD_CONFIG;
	}
	if (c->image_max == 0 || c->image_pa < HV_STORE_BASE ||
	    c->image_pa + c->image_max > HV_STORE_BASE + HV_STORE_SIZE) {
		hv_snprintf(msg, len, "'%s': image 0x%lx+0x%lx is outside the image store", c->name,
			    (unsigned long)c->image_pa, (unsigned long)c->image_max);
		return HVM_E_BAD_CONFIG;
	}
	return HVM_OK;
}

enum hvm_status vm_create(const struct vm_config *cfg, struct vm **out, char *msg, unsigned msglen)
{
	enum hvm_status st = check_config(cfg, msg, msglen);
	if (st != HVM_OK)
		return st;
	uint32_t id = 0;
	while (id < HVM_MAX_VMS && vms[id].used)
		id++;
	if (id == HVM_MAX_VMS) {
		hv_snprintf(msg, msglen, "VM table full (%u VMs)", HVM_MAX_VMS);
		return HVM_E_NO_SPACE;
	}
	struct vm *vm = &vms[id];
	memset(vm, 0, sizeof(*vm));
	vm->id = id;
	vm->cfg = *cfg;
	vm->coop = page_alloc(1);
	if (!vm->coop) {
		hv_snprintf(msg, msglen, "'%s': out of memory for the cooperation page", cfg->name);
		return HVM_E_INTERNAL;
	}
	vm->coop_ipa = HV_COOP_IPA;
	/* VMID 0 is left unused so a stale VTTBR never matches a live VM */
	if ((st = stage2_init(&vm->s2, (uint16_t)(id + 1), msg, msglen)) != HVM_OK ||
	    (st = stage2_map(&vm->s2, cfg->mem_ipa, cfg->mem_pa, cfg->mem_size, S2_NORMAL_RW, msg,
			     msglen)) != HVM_OK ||
	    (st = stage2_map(&vm->s2, vm->coop_ipa, (uint64_t)(uintptr_t)vm->coop, 0x1000, S2_NORMAL_RW,
			     msg, msglen)) != HVM_OK)
		return st; /* pages stay allocated: the bump heap cannot free yet */
	vpl011_init(&vm->uart, VPL011_IPA);
	uint32_t p = 0;
	for (uint32_t i = 0; i < cfg->vcpus; i++) {
		while (!(cfg->pcpu_mask & (1ull << p)))
			p++;
		vm->vcpu[i] = (struct vcpu){ .vm = vm, .id = i, .pcpu = p++ };
	}
	vm->state = HVM_VM_SHUTOFF;
	vm->reason = HVM_R_DEFINED;
	vm->used = 1;
	console_init(vm);
	heartbeat_reset(vm, timer_uptime_ns());
	mgmt_publish_slot(vm);
	events_append(HVM_EV_DEFINED, id, 0, HVM_R_DEFINED);
	hv_log("vm %u '%s' defined: %u vCPU(s) on CPUs 0x%lx, %lu MiB at 0x%lx (IPA 0x%lx)", id,
	       cfg->name, cfg->vcpus, (unsigned long)cfg->pcpu_mask,
	       (unsigned long)(cfg->mem_size >> 20), (unsigned long)cfg->mem_pa,
	       (unsigned long)cfg->mem_ipa);
	*out = vm;
	return HVM_OK;
}

static void coop_reset(struct vm *vm)
{
	volatile struct hvg_coop_page *c = vm->coop;
	memset((void *)c, 0, sizeof(*c));
	c->major = HVG_COOP_MAJOR;
	c->minor = HVG_COOP_MINOR;
	c->size = sizeof(struct hvg_coop_page);
	c->vm_id = vm->id;
	c->watchdog_ms = vm->cfg.watchdog_ms;
	c->hv_time_ns = timer_uptime_ns();
	__atomic_store_n(&c->magic, HVG_COOP_MAGIC, __ATOMIC_RELEASE);
	dcache_clean_range((const void *)c, sizeof(*c));
}

enum hvm_status vm_start(struct vm *vm, char *msg, unsigned msglen)
{
	const struct vm_config *c = &vm->cfg;
	const uint8_t *img = (const uint8_t *)(uintptr_t)c->image_pa;
	if (vm->state == HVM_VM_RUNNING) {
		hv_snprintf(msg, msglen, "'%s' is already running", c->name);
		return HVM_E_STATE;
	}
	uint32_t magic;
	uint64_t text_offset, image_size;
	memcpy(&magic, img + 0x38, 4);
	memcpy(&text_offset, img + 0x08, 8);
	memcpy(&image_size, img + 0x10, 8);
	if (magic != IMAGE_MAGIC) {
		hv_snprintf(msg, msglen, "'%s': no arm64 Image at 0x%lx in the image store", c->name,
			    (unsigned long)c->image_pa);
		return HVM_E_BAD_CONFIG;
	}
	uint64_t copy = image_size ? image_size : c->image_max;
	if (copy > c->image_max)
		copy = c->image_max;
	if (text_offset >= c->mem_size || copy > c->mem_size - text_offset) {
		hv_snprintf(msg, msglen, "'%s': image (0x%lx bytes at offset 0x%lx) does not fit its memory",
			    c->name, (unsigned long)copy, (unsigned long)text_offset);
		return HVM_E_BAD_CONFIG;
	}
	/* REQ-SAF-19: a VM starts from clean memory, nothing left from an earlier run */
	uint8_t *ram = (uint8_t *)(uintptr_t)c->mem_pa;
	memset(ram, 0, c->mem_size);
	memcpy(ram + text_offset, img, copy);
	dcache_clean_range(ram, c->mem_size);
	coop_reset(vm);
	vm->entry_ipa = c->mem_ipa + text_offset;

	spin_lock(&vm->lock);
	vm->state = HVM_VM_RUNNING;
	vm->reason = HVM_R_BOOTED;
	heartbeat_reset(vm, timer_uptime_ns());
	spin_unlock(&vm->lock);
	mgmt_publish_slot(vm);
	events_append(HVM_EV_STARTED, vm->id, 0, HVM_R_BOOTED);
	for (uint32_t i = 0; i < c->vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		v->entry = vm->entry_ipa;
		v->x0 = 0; /* no guest device tree yet */
		v->run = 1;
		__atomic_store_n(&pcpus[v->pcpu].vcpu, v, __ATOMIC_RELEASE);
		if (pcpus[v->pcpu].online)
			gicv3_send_sgi(pcpus[v->pcpu].mpidr, 0);
	}
	hv_log("vm %u '%s' started at IPA 0x%lx (%lu bytes from 0x%lx)", vm->id, c->name,
	       (unsigned long)vm->entry_ipa, (unsigned long)copy, (unsigned long)c->image_pa);
	return HVM_OK;
}

static const char *const fault_names[] = {
	"none", "stage-2 abort (access outside its memory)", "trapped instruction not emulated",
	"watchdog", "guest-reported fault", "bad hypercall",
};

/* Fills the fault record (MGMT-160) with the gen protocol; caller holds vm->lock. */
static void record_fault(struct vm *vm, struct vcpu *v, struct trap_frame *f, uint32_t kind,
			 uint64_t esr, uint32_t event_type, uint32_t reason)
{
	volatile struct hvm_fault *r = mgmt_fault(vm->id);
	uint32_t gen = r->gen;
	__atomic_store_n(&r->gen, gen | 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	r->kind = kind;
	r->time_ns = timer_uptime_ns();
	r->vcpu = v->id;
	r->action = 0; /* fault policies are later work: the VM is stopped */
	r->esr = esr;
	r->far = read_sysreg(far_el2);
	r->hpfar = read_sysreg(hpfar_el2);
	r->elr = f->elr;
	r->spsr = f->spsr;
	r->sp_el1 = read_sysreg(sp_el1);
	for (unsigned i = 0; i < 31; i++)
		r->x[i] = f->x[i];
	r->seq = events_append(event_type, vm->id, kind, reason);
	__atomic_store_n(&r->gen, (gen | 1) + 1, __ATOMIC_RELEASE);
}

void vm_fault(struct vcpu *v, struct trap_frame *f, uint32_t kind, uint64_t esr)
{
	struct vm *vm = v->vm;
	/* REQ-SAF-01/22: contain and record it here, without waiting for the agent */
	hv_log("vm %u '%s' FAULT: %s: ESR 0x%lx FAR 0x%lx HPFAR 0x%lx ELR 0x%lx", vm->id, vm->cfg.name,
	       kind < 6 ? fault_names[kind] : "fault", (unsigned long)esr,
	       (unsigned long)read_sysreg(far_el2), (unsigned long)read_sysreg(hpfar_el2),
	       (unsigned long)f->elr);
	spin_lock(&vm->lock);
	for (uint32_t i = 0; i < vm->cfg.vcpus; i++)
		vm->vcpu[i].run = 0;
	vm->fault_count++;
	vm->state = HVM_VM_CRASHED;
	vm->reason = HVM_R_CRASHED;
	record_fault(vm, v, f, kind, esr, HVM_EV_FAULT, HVM_R_CRASHED);
	events_append(HVM_EV_CRASHED, vm->id, kind, HVM_R_CRASHED);
	spin_unlock(&vm->lock);
	mgmt_publish_slot(vm);
	hv_log("vm %u '%s' stopped: CRASHED", vm->id, vm->cfg.name);
	__atomic_store_n(&cpu_current()->vcpu, NULL, __ATOMIC_RELEASE);
	write_sysreg(hcr_el2, 0);
	cpu_idle();
}

void vm_fault_report(struct vcpu *v, struct trap_frame *f, uint64_t code)
{
	struct vm *vm = v->vm;
	hv_log("vm %u '%s' reports fault code 0x%lx", vm->id, vm->cfg.name, (unsigned long)code);
	spin_lock(&vm->lock);
	vm->fault_count++;
	record_fault(vm, v, f, HVM_F_GUEST_REPORT, read_sysreg(esr_el2), HVM_EV_FAULT, vm->reason);
	spin_unlock(&vm->lock);
}

void vm_guest_poweroff(struct vcpu *v)
{
	struct vm *vm = v->vm;
	spin_lock(&vm->lock);
	for (uint32_t i = 0; i < vm->cfg.vcpus; i++)
		vm->vcpu[i].run = 0;
	vm->state = HVM_VM_SHUTOFF;
	vm->reason = HVM_R_SHUTDOWN;
	events_append(HVM_EV_STOPPED, vm->id, 0, HVM_R_SHUTDOWN);
	spin_unlock(&vm->lock);
	mgmt_publish_slot(vm);
	hv_log("vm %u '%s' powered off", vm->id, vm->cfg.name);
	__atomic_store_n(&cpu_current()->vcpu, NULL, __ATOMIC_RELEASE);
	write_sysreg(hcr_el2, 0);
	cpu_idle();
}
