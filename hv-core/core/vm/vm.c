/*
 * vm.c - VM creation from a configuration: checks against the platform and
 * the other VMs, stage-2 tables, cooperation page, vCPU pinning; the
 * vm-config description each VM was defined from; a VM's status slot.
 * Starting, stopping and faults are in vm_life.c.
 */
#include <string.h>
#include "vm.h"
#include "cpu.h"
#include "platform.h"
#include "region.h"
#include "hvvmconfig.h"
#include "console.h"
#include "heartbeat.h"
#include "vm_life.h"
#include "heap.h"
#include "mmu.h"
#include "trap.h"
#include "timer.h"
#include "sysregs.h"
#include "gicv3.h"
#include "log.h"
#include "fmt.h"

struct vm vms[HVM_MAX_VMS];

static struct vmcfg vcfg[HVM_MAX_VMS]; /* the description of each defined VM */
static int vcfg_valid[HVM_MAX_VMS];    /* 0: a built-in VM, described by vm_config only */

void vm_set_vmcfg(uint32_t id, const struct vmcfg *v)
{
	vcfg[id] = *v;
	vcfg_valid[id] = 1;
}

void vm_forget_vmcfg(uint32_t id)
{
	if (id < HVM_MAX_VMS)
		vcfg_valid[id] = 0;
}

const struct vmcfg *vm_vmcfg(uint32_t id)
{
	return id < HVM_MAX_VMS && vcfg_valid[id] ? &vcfg[id] : NULL;
}

void vm_set_initrd(uint32_t id, uint64_t size, const uint8_t sha256[32])
{
	if (id >= HVM_MAX_VMS || !vcfg_valid[id])
		return;
	vcfg[id].boot.initrd_size = size;
	memcpy(vcfg[id].boot.initrd_sha256, sha256, 32);
	if (vms[id].cfg.initrd_size)
		vms[id].cfg.initrd_size = size;
}

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
		hv_snprintf(msg, len,
			    "'%s': memory must be a non-empty multiple of 2 MiB, 2 MiB aligned",
			    c->name);
		return HVM_E_BAD_CONFIG;
	}
	if (c->mem_pa < HV_GUEST_BASE ||
	    c->mem_pa + c->mem_size > platform.ram_base + platform.ram_size ||
	    c->mem_pa + c->mem_size < c->mem_pa) {
		hv_snprintf(msg, len, "'%s': memory 0x%lx+0x%lx is outside guest RAM 0x%lx..0x%lx",
			    c->name, (unsigned long)c->mem_pa, (unsigned long)c->mem_size,
			    (unsigned long)HV_GUEST_BASE,
			    (unsigned long)(platform.ram_base + platform.ram_size));
		return HVM_E_OVERLAP;
	}
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
		if (vms[i].used &&
		    overlaps(c->mem_pa, c->mem_size, vms[i].cfg.mem_pa, vms[i].cfg.mem_size)) {
			hv_snprintf(msg, len, "'%s': memory overlaps '%s'", c->name, vms[i].cfg.name);
			return HVM_E_OVERLAP;
		}
	if (c->mem_ipa + c->mem_size > (1ull << 32) ||
	    overlaps(c->mem_ipa, c->mem_size, VPL011_IPA, 0x1000) ||
	    overlaps(c->mem_ipa, c->mem_size, HV_COOP_IPA, 0x1000)) {
		hv_snprintf(msg, len,
			    "'%s': guest-physical memory 0x%lx+0x%lx collides with a device or 4 GiB",
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

/* Clears a slot for a new VM, all but what a peer may be using at this very
 * moment: a doorbell of another VM (channel.c) may be waiting for or holding
 * this slot's locks, or be about to write its cooperation page. Zeroing a held
 * ticket lock would let two CPUs in (or none); a NULL coop would fault
 * hv-core. So the three locks, coop and gen survive; everything else is
 * zeroed. Caller holds vm->lock (a doorbell holds it while it uses the slot). */
#define VM_OFF(f) __builtin_offsetof(struct vm, f)
_Static_assert(VM_OFF(vgic) < VM_OFF(coop) && VM_OFF(coop) < VM_OFF(lock) &&
		       VM_OFF(console_lock) == VM_OFF(lock) + sizeof(spinlock_t) &&
		       VM_OFF(gen) == VM_OFF(console_lock) + sizeof(spinlock_t) &&
		       __builtin_offsetof(struct vgic_dist, lock) == 0,
	       "slot_reset() keeps the locks, coop and gen");

static void zero(struct vm *vm, size_t from, size_t to)
{
	memset((uint8_t *)vm + from, 0, to - from);
}

static void slot_reset(struct vm *vm)
{
	zero(vm, 0, VM_OFF(vgic));
	zero(vm, VM_OFF(vgic) + sizeof(spinlock_t), VM_OFF(coop));
	zero(vm, VM_OFF(coop) + sizeof(vm->coop), VM_OFF(lock));
	zero(vm, VM_OFF(gen) + sizeof(vm->gen), sizeof(*vm));
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
	if (!vm->coop) /* one page per slot, for good: see slot_reset() */
		vm->coop = page_alloc(1);
	if (!vm->coop) {
		hv_snprintf(msg, msglen, "'%s': out of memory for the cooperation page", cfg->name);
		return HVM_E_INTERNAL;
	}
	spin_lock(&vm->lock); /* a peer's doorbell checks used and gen under it */
	slot_reset(vm);
	vm->gen++;
	vm->id = id;
	vm->cfg = *cfg;
	spin_unlock(&vm->lock);
	vm->coop_ipa = HV_COOP_IPA;
	/* VMID 0 is left unused so a stale VTTBR never matches a live VM */
	if ((st = stage2_init(&vm->s2, (uint16_t)(id + 1), msg, msglen)) != HVM_OK ||
	    (st = stage2_map(&vm->s2, cfg->mem_ipa, cfg->mem_pa, cfg->mem_size, S2_NORMAL_RW, msg,
			     msglen)) != HVM_OK ||
	    (st = stage2_map(&vm->s2, vm->coop_ipa, (uint64_t)(uintptr_t)vm->coop, 0x1000,
			     S2_NORMAL_RW, msg, msglen)) != HVM_OK) {
		stage2_destroy(&vm->s2); /* refused: give the table pages back */
		return st;
	}
	vpl011_init(&vm->uart, VPL011_IPA);
	uint32_t p = 0;
	for (uint32_t i = 0; i < cfg->vcpus; i++) {
		while (!(cfg->pcpu_mask & (1ull << p)))
			p++;
		vm->vcpu[i] = (struct vcpu){ .vm = vm, .id = i, .pcpu = p++ };
	}
	spin_lock(&vm->lock);
	vm->state = HVM_VM_SHUTOFF;
	vm->reason = HVM_R_DEFINED;
	vm->used = 1;
	spin_unlock(&vm->lock);
	console_init(vm);
	heartbeat_reset(vm, timer_uptime_ns());
	vm_publish_slot(vm);
	events_append(HVM_EV_DEFINED, id, 0, HVM_R_DEFINED);
	hv_log("vm %u '%s' defined: %u vCPU(s) on CPUs 0x%lx, %lu MiB at 0x%lx (IPA 0x%lx)", id,
	       cfg->name, cfg->vcpus, (unsigned long)cfg->pcpu_mask,
	       (unsigned long)(cfg->mem_size >> 20), (unsigned long)cfg->mem_pa,
	       (unsigned long)cfg->mem_ipa);
	*out = vm;
	return HVM_OK;
}

/* vm_start(), faults and the rest of a VM's life: vm_life.c */

void vm_publish_slot(struct vm *vm)
{
	volatile struct hvm_vm_slot *s = mgmt_slot(vm->id);
	uint64_t now = timer_uptime_ns();
	spin_lock(&vm->lock);
	heartbeat_sample(vm, now);
	uint64_t exits = 0, cpu_ticks = 0;
	for (uint32_t i = 0; i < vm->cfg.vcpus; i++) {
		exits += vm->vcpu[i].exits;
		cpu_ticks += vm->vcpu[i].cpu_ticks;
	}
	uint64_t cpu_ns = timer_count_to_ns(cpu_ticks);
	mgmt_slot_begin(vm->id);
	s->defined = 1;
	s->id = vm->id;
	s->state = vm->state;
	s->reason = vm->reason;
	s->vcpus = vm->cfg.vcpus;
	s->pcpu_mask = vm->cfg.pcpu_mask;
	s->mem_bytes = vm->cfg.mem_size;
	s->heartbeat = vm->hb_last;
	s->heartbeat_age_ns = now - vm->hb_changed_ns;
	s->cpu_time_ns = cpu_ns;
	s->criticality = vm->cfg.criticality;
	s->fault_policy = vm->cfg.fault_policy;
	s->fault_count = vm->fault_count;
	s->restart_count = vm->restart_count;
	s->guest_state = vm->coop->guest_state;
	s->health_code = vm->coop->health_code;
	for (unsigned i = 0; i < 16; i++)
		s->uuid[i] = vm->cfg.uuid[i];
	for (unsigned i = 0; i < HVM_NAME_LEN; i++)
		s->name[i] = vm->cfg.name[i];
	/* the guest writes image_version: copy it bounded and always terminated */
	for (unsigned i = 0; i < HVM_VERSION_LEN; i++)
		s->image_version[i] = i == HVM_VERSION_LEN - 1 ? 0 : vm->coop->image_version[i];
	s->exits = exits;
	s->irqs_injected = vm_irqs_injected(vm);
	s->doorbells_denied = vm->stats.doorbells_denied;
	s->image_slot_bytes = vm->cfg.image_max; /* MGMT-701 */
	s->initrd_slot_bytes = vm->cfg.initrd_pa ? vm->cfg.initrd_max : 0;
	s->restart_budget = vm->cfg.restart_max; /* MGMT-800 */
	s->restarts_left = vm_restarts_left(vm, now);
	mgmt_slot_end(vm->id);
	spin_unlock(&vm->lock);
}
