/*
 * vmdef.c - defining a VM from a vm-config description (docs/vm-config.md):
 * the path DEFINE and the boot configuration share. The description is parsed
 * and validated alone by vmconfig.c, then checked against the platform and
 * every VM already defined (VMCFG-080..087), then against what this version of
 * hv-core can run, and only then turned into a struct vm_config for
 * vm_create(). Any refusal leaves the VM table as it was (REQ-SAF-09).
 */
#include <string.h>
#include "vmdef.h"
#include "vm.h"
#include "vm_life.h"
#include "channel.h"
#include "platform.h"
#include "fmt.h"

static struct vmcfg vcfg[HVM_MAX_VMS];   /* the description of each defined VM */
static int vcfg_valid[HVM_MAX_VMS];      /* 0: a built-in VM, described by vm_config only */

#define MIB2 0x200000ull

void vmdef_platform(struct vmcfg_platform *p)
{
	memset(p, 0, sizeof(*p));
	p->pcpu_count = platform.ncpus;
	p->reserved_cpu_mask = 1; /* CPU 0 runs the management service */
	p->nram = 1;
	p->ram[0] = (struct vmcfg_pa_range){ platform.ram_base, platform.ram_size };
	p->nreserved = 3;
	p->reserved[0] = (struct vmcfg_pa_range){ HV_IMAGE_BASE, HV_STORE_BASE - HV_IMAGE_BASE };
	p->reserved[1] = (struct vmcfg_pa_range){ HV_STORE_BASE, HV_STORE_SIZE };
	p->reserved[2] = (struct vmcfg_pa_range){ HV_FWDTB_BASE, HV_FWDTB_SIZE };
}

/* The description of defined VM id (synthesised for a built-in VM). */
static void describe(uint32_t id, struct vmcfg *out)
{
	if (vcfg_valid[id]) {
		*out = vcfg[id];
		return;
	}
	const struct vm_config *c = &vms[id].cfg;
	memset(out, 0, sizeof(*out));
	memcpy(out->name, c->name, sizeof(out->name) - 1);
	memcpy(out->uuid, c->uuid, 16);
	out->vcpus = vms[id].cfg.vcpus;
	for (uint32_t i = 0; i < c->vcpus && i < VMCFG_MAX_VCPUS; i++)
		out->pcpu[i] = vms[id].vcpu[i].pcpu;
	out->pcpu_mask = c->pcpu_mask;
	out->nmem = 1;
	out->mem[0] = (struct vmcfg_range){ c->mem_ipa, c->mem_pa, c->mem_size };
	out->criticality = c->criticality;
	out->fault_policy = c->fault_policy;
}

static int image_slot_free(uint64_t pa, uint64_t size, uint32_t skip)
{
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
		if (i != skip && vms[i].used && pa < vms[i].cfg.image_pa + vms[i].cfg.image_max &&
		    vms[i].cfg.image_pa < pa + size)
			return 0;
	return 1;
}

static enum hvm_status refuse(const struct vmcfg_err *e, char *msg, unsigned len)
{
	hv_snprintf(msg, len, "%s: %s", e->rule[0] ? e->rule : "VMCFG", e->msg);
	return (enum hvm_status)e->code;
}

/* What hv-core 0.1 cannot run yet, refused with the reason (E_BAD_CONFIG). */
static enum hvm_status check_supported(const struct vmcfg *v, char *msg, unsigned len)
{
	if (v->nmem != 1) {
		hv_snprintf(msg, len, "'%s': hv-core maps exactly one memory region per VM", v->name);
		return HVM_E_BAD_CONFIG;
	}
	if (v->ndev != 0) {
		hv_snprintf(msg, len, "'%s': pass-through devices are not supported yet", v->name);
		return HVM_E_BAD_CONFIG;
	}
	if (v->vcpus > HV_MAX_VCPUS) {
		hv_snprintf(msg, len, "'%s': at most %u vCPUs per VM", v->name, HV_MAX_VCPUS);
		return HVM_E_CPU;
	}
	for (uint32_t i = 1; i < v->vcpus; i++)
		if (v->pcpu[i] < v->pcpu[i - 1]) {
			hv_snprintf(msg, len, "'%s': cpus must be listed in ascending order", v->name);
			return HVM_E_CPU;
		}
	if (v->boot.entry == 0 || v->boot.has_initrd) {
		hv_snprintf(msg, len, "'%s': %s", v->name,
			    v->boot.has_initrd ? "an initrd is not supported yet" : "entry 0 is not supported");
		return HVM_E_BAD_CONFIG;
	}
	return HVM_OK;
}

enum hvm_status vmdef_define(const struct vmcfg *v, uint32_t *id_out, char *msg, unsigned len)
{
	static struct vmcfg existing[HVM_MAX_VMS];
	struct vmcfg_platform plat;
	struct vmcfg_err err;
	size_t n = 0;
	vmdef_platform(&plat);
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
		if (vms[i].used)
			describe(i, &existing[n++]);
	if (vmcfg_check_against(v, existing, n, &plat, &err) != HVM_OK)
		return refuse(&err, msg, len);
	enum hvm_status st = check_supported(v, msg, len);
	if (st != HVM_OK)
		return st;

	struct vm_config c;
	memset(&c, 0, sizeof(c));
	memcpy(c.name, v->name, sizeof(c.name) - 1);
	memcpy(c.uuid, v->uuid, 16);
	c.vcpus = v->vcpus;
	c.pcpu_mask = v->pcpu_mask;
	c.mem_ipa = v->mem[0].ipa;
	c.mem_pa = v->mem[0].pa;
	c.mem_size = v->mem[0].size;
	c.criticality = v->criticality;
	c.fault_policy = v->fault_policy;
	c.watchdog_ms = v->watchdog_ms;
	c.autostart = v->autostart;
	c.restart_max = v->restart_max;
	c.restart_window_ms = v->restart_window_ms;
	c.boot_order = v->boot_order;
	c.load_ipa = v->boot.load_ipa;
	c.entry_ipa = v->boot.entry;
	c.image_size = v->boot.image_size;
	c.has_sha256 = 1;
	memcpy(c.image_sha256, v->boot.image_sha256, 32);
	/* VMCFG-054: the image's slot in hv-core's image store, where it stays for
	 * restarts. Absent: hv-core picks a free 2 MiB aligned slot. */
	uint64_t need = (v->boot.image_size + MIB2 - 1) & ~(MIB2 - 1);
	if (v->boot.image_store) {
		c.image_pa = v->boot.image_store;
		c.image_max = need;
		if (c.image_pa < HV_STORE_BASE || c.image_pa > HV_STORE_BASE + HV_STORE_SIZE ||
		    need > HV_STORE_BASE + HV_STORE_SIZE - c.image_pa) {
			hv_snprintf(msg, len, "'%s': image-store 0x%lx is not inside the image store",
				    v->name, (unsigned long)c.image_pa);
			return HVM_E_BAD_CONFIG;
		}
		if (!image_slot_free(c.image_pa, need, HVM_MAX_VMS)) {
			hv_snprintf(msg, len, "'%s': image-store 0x%lx overlaps another VM's image",
				    v->name, (unsigned long)c.image_pa);
			return HVM_E_OVERLAP;
		}
	} else {
		uint64_t pa = HV_STORE_BASE;
		while (pa + need <= HV_STORE_BASE + HV_STORE_SIZE && !image_slot_free(pa, need, HVM_MAX_VMS))
			pa += MIB2;
		if (pa + need > HV_STORE_BASE + HV_STORE_SIZE) {
			hv_snprintf(msg, len, "'%s': no room for 0x%lx bytes in the image store", v->name,
				    (unsigned long)need);
			return HVM_E_NO_SPACE;
		}
		c.image_pa = pa;
		c.image_max = need;
	}
	struct vm *vm;
	st = vm_create(&c, &vm, msg, len);
	if (st != HVM_OK)
		return st;
	if ((st = channel_map(vm, v, msg, len)) != HVM_OK) {
		char ignored[64];
		vm_op_undefine(vm, ignored, sizeof(ignored));
		return st;
	}
	vcfg[vm->id] = *v;
	vcfg_valid[vm->id] = 1;
	*id_out = vm->id;
	return HVM_OK;
}

enum hvm_status vmdef_define_blob(const void *blob, size_t blen, uint32_t *id, char *msg, unsigned len)
{
	static struct vmcfg v;
	struct vmcfg_err err;
	if (vmcfg_parse(blob, blen, 0, &v, &err) != HVM_OK)
		return refuse(&err, msg, len);
	return vmdef_define(&v, id, msg, len);
}

void vmdef_forget(uint32_t id)
{
	if (id < HVM_MAX_VMS)
		vcfg_valid[id] = 0;
}

enum hvm_status vmdef_check_peers(uint32_t id, char *msg, unsigned len)
{
	static struct vmcfg all[HVM_MAX_VMS];
	struct vmcfg_err err;
	if (!vcfg_valid[id] || vcfg[id].nchan == 0)
		return HVM_OK;
	size_t n = 0;
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
		if (vms[i].used)
			describe(i, &all[n++]);
	if (vmcfg_check_channels(&vcfg[id], all, n, &err) != HVM_OK)
		return refuse(&err, msg, len);
	return HVM_OK;
}

const struct vmcfg *vmdef_config(uint32_t id)
{
	return id < HVM_MAX_VMS && vcfg_valid[id] ? &vcfg[id] : NULL;
}
