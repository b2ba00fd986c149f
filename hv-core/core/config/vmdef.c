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
#include "mgmt_window.h"
#include "platform.h"
#include "vgic.h"
#include "fmt.h"
#include "vgic.h"
#include "vpl011.h"
#include <libfdt.h>

#define MIB2 0x200000ull

void vmdef_platform(struct vmcfg_platform *p)
{
	memset(p, 0, sizeof(*p));
	p->pcpu_count = platform.ncpus;
	p->reserved_cpu_mask = 1; /* CPU 0 runs the management service */
	p->nram = 1;
	p->ram[0] = (struct vmcfg_pa_range){ platform.ram_base, platform.ram_size };
	p->nreserved = 4;
	p->reserved[0] = (struct vmcfg_pa_range){ HV_IMAGE_BASE, HV_STORE_BASE - HV_IMAGE_BASE };
	p->reserved[1] = (struct vmcfg_pa_range){ HV_STORE_BASE, HV_STORE_SIZE };
	p->reserved[2] = (struct vmcfg_pa_range){ HV_FWDTB_BASE, HV_FWDTB_SIZE };
	p->reserved[3] = (struct vmcfg_pa_range){ platform.staging, HV_STAGING_SIZE }; /* MGMT-302 */
}

/* The description of defined VM id (synthesised for a built-in VM). */
static void describe(uint32_t id, struct vmcfg *out)
{
	const struct vmcfg *known = vm_vmcfg(id);
	if (known) {
		*out = *known;
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

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Whether [pa, +size) is free in the image store: no defined VM's image or
 * initrd slot, nor `also` (a slot being assigned to the same VM). */
static int store_free(uint64_t pa, uint64_t size, uint64_t also_pa, uint64_t also_size)
{
	if (also_size && overlaps(pa, size, also_pa, also_size))
		return 0;
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		const struct vm_config *c = &vms[i].cfg;
		if (vms[i].used && (overlaps(pa, size, c->image_pa, c->image_max) ||
				    (c->initrd_pa && overlaps(pa, size, c->initrd_pa, c->initrd_max))))
			return 0;
	}
	return 1;
}

/* VMCFG-054: the slot of an image (or initrd) in hv-core's image store, where
 * it stays for every boot: `store` when the configuration names one, else the
 * lowest free 2 MiB aligned range. */
static enum hvm_status store_slot(const char *vm, const char *what, uint64_t store, uint64_t size,
				  uint64_t also_pa, uint64_t also_size, uint64_t *pa_out,
				  uint64_t *max_out, char *msg, unsigned len)
{
	uint64_t need = (size + MIB2 - 1) & ~(MIB2 - 1);
	if (store) {
		if (store < HV_STORE_BASE || store > HV_STORE_BASE + HV_STORE_SIZE ||
		    need > HV_STORE_BASE + HV_STORE_SIZE - store) {
			hv_snprintf(msg, len,
				    "'%s': %s store 0x%lx is not inside the image store (MGMT-047)",
				    vm, what, (unsigned long)store);
			return HVM_E_BAD_CONFIG;
		}
		if (!store_free(store, need, also_pa, also_size)) {
			hv_snprintf(msg, len,
				    "'%s': %s store 0x%lx overlaps another image (MGMT-047)", vm,
				    what, (unsigned long)store);
			return HVM_E_OVERLAP;
		}
		*pa_out = store;
	} else {
		uint64_t pa = HV_STORE_BASE;
		while (pa + need <= HV_STORE_BASE + HV_STORE_SIZE &&
		       !store_free(pa, need, also_pa, also_size))
			pa += MIB2;
		if (pa + need > HV_STORE_BASE + HV_STORE_SIZE) {
			hv_snprintf(msg, len,
				    "'%s': no room for a %s of 0x%lx bytes in the image store", vm,
				    what, (unsigned long)need);
			return HVM_E_NO_SPACE;
		}
		*pa_out = pa;
	}
	*max_out = need;
	return HVM_OK;
}

static enum hvm_status refuse(const struct vmcfg_err *e, char *msg, unsigned len)
{
	/* VMCFG-455: the resource and its holder first; ret_msg holds 63 bytes */
	hv_snprintf(msg, len, "%s: %s", e->rule[0] ? e->rule : "VMCFG",
		    e->held[0] ? e->held : e->msg);
	return (enum hvm_status)e->code;
}

/* What hv-core 0.1 cannot run yet, refused with the reason (E_BAD_CONFIG). */
static enum hvm_status check_supported(const struct vmcfg *v, char *msg, unsigned len)
{
	if (v->nmem != 1) {
		hv_snprintf(msg, len,
			    "MGMT-047: '%s': hv-core maps exactly one memory region per VM", v->name);
		return HVM_E_BAD_CONFIG;
	}
	uint32_t spis = 0;
	for (uint32_t i = 0; i < v->ndev; i++)
		spis += v->dev[i].nspi;
	if (spis > 8) {
		hv_snprintf(msg, len, "MGMT-047: '%s': at most 8 pass-through SPIs per VM", v->name);
		return HVM_E_BAD_CONFIG;
	}
	if (v->vcpus > HV_MAX_VCPUS) {
		hv_snprintf(msg, len, "MGMT-047: '%s': at most %u vCPUs per VM", v->name,
			    HV_MAX_VCPUS);
		return HVM_E_CPU;
	}
	for (uint32_t i = 1; i < v->vcpus; i++)
		if (v->pcpu[i] < v->pcpu[i - 1]) {
			hv_snprintf(msg, len,
				    "MGMT-047: '%s': cpus must be listed in ascending order",
				    v->name);
			return HVM_E_CPU;
		}
	for (uint32_t i = 0; i < v->nvirtio; i++)
		if (v->virtio[i].spi >= VGIC_MAX_SPIS) {
			hv_snprintf(msg, len, "MGMT-047: '%s': virtio device '%s' SPI %u is above %u",
				    v->name, v->virtio[i].name, v->virtio[i].spi, VGIC_MAX_SPIS - 1);
			return HVM_E_BAD_CONFIG;
		}
	if (v->boot.entry == 0) {
		hv_snprintf(msg, len, "MGMT-047: '%s': entry 0 is not supported", v->name);
		return HVM_E_BAD_CONFIG;
	}
	return HVM_OK;
}

/* ---- pass-through devices (MGMT-310..MGMT-314) -------------------------------- */

static const char *dma_list;
static int dma_len;

void vmdef_set_dma_masters(const char *list, int len)
{
	dma_list = len > 0 ? list : NULL;
	dma_len = len > 0 ? len : 0;
}

/* MGMT-312: node masters DMA: the device tree says so (dma-coherent, iommus)
 * or the system configuration lists its path or a compatible of it. */
static int dma_master(const void *fdt, int node)
{
	char path[128];
	if (fdt_getprop(fdt, node, "dma-coherent", NULL) || fdt_getprop(fdt, node, "iommus", NULL))
		return 1;
	if (fdt_get_path(fdt, node, path, sizeof(path)) != 0)
		path[0] = 0;
	for (int pos = 0; dma_list && pos < dma_len;) {
		const char *w = dma_list + pos;
		int wl = (int)strnlen(w, (size_t)(dma_len - pos));
		if (strcmp(w, path) == 0 || fdt_node_check_compatible(fdt, node, w) == 0)
			return 1;
		pos += wl + 1;
	}
	return 0;
}

/* MGMT-313: a guest-physical window of the VM and the windows hv-core
 * emulates or maps for every VM: the vGIC (distributor and one redistributor
 * per vCPU), the vUART and the cooperation page. */
static const char *virtual_window(const struct vmcfg *v, uint64_t ipa, uint64_t size)
{
	if (overlaps(ipa, size, VGIC_GICD_IPA, VGIC_GICD_SIZE))
		return "the virtual GIC distributor";
	if (overlaps(ipa, size, VGIC_GICR_IPA, VGIC_GICR_STRIDE * v->vcpus))
		return "the virtual GIC redistributors";
	if (overlaps(ipa, size, VPL011_IPA, 0x1000))
		return "the virtual UART";
	if (overlaps(ipa, size, HV_COOP_IPA, 0x1000))
		return "the cooperation page";
	return NULL;
}

static enum hvm_status check_device(const struct vmcfg *v, const struct vmcfg_dev *d, char *msg,
				    unsigned len)
{
	const void *fdt = platform.fdt;
	for (uint32_t j = 0; j < d->nreg; j++) {
		const struct vmcfg_range *r = &d->reg[j];
		const char *what = platform_hv_owned(r->pa, r->size);
		if (what) {
			hv_snprintf(msg, len, "MGMT-310: touches %s: '%s' device '%s' at PA 0x%lx",
				    what, v->name, d->name, (unsigned long)r->pa);
			return HVM_E_OVERLAP;
		}
		int held = 0, holds;
		for (int node = -1;
		     (node = platform_next_device(node, r->pa, r->size, &holds)) >= 0;) {
			held |= holds;
			if (dma_master(fdt, node)) {
				hv_snprintf(msg, len, "MGMT-312: %s masters DMA: '%s' device '%s'",
					    fdt_get_name(fdt, node, NULL), v->name, d->name);
				return HVM_E_BAD_CONFIG;
			}
		}
		if (!held) {
			hv_snprintf(msg, len,
				    "MGMT-311: no platform device at PA 0x%lx: '%s' device '%s'",
				    (unsigned long)r->pa, v->name, d->name);
			return HVM_E_BAD_CONFIG;
		}
	}
	for (uint32_t j = 0; j < d->nspi; j++)
		if (d->spi[j] == platform.uart_spi) {
			hv_snprintf(msg, len,
				    "MGMT-314: SPI %u is hv-core's UART's: '%s' device '%s'",
				    d->spi[j], v->name, d->name);
			return HVM_E_BAD_CONFIG;
		}
	return HVM_OK;
}

/* MGMT-310..MGMT-314: what a VM's windows may not touch. */
static enum hvm_status check_windows(const struct vmcfg *v, char *msg, unsigned len)
{
	const char *what;
	for (uint32_t i = 0; i < v->nmem; i++)
		if ((what = virtual_window(v, v->mem[i].ipa, v->mem[i].size)) != NULL) {
			hv_snprintf(msg, len, "MGMT-313: overlaps %s: '%s' memory region %u", what,
				    v->name, i);
			return HVM_E_OVERLAP;
		}
	for (uint32_t i = 0; i < v->nchan; i++)
		if ((what = virtual_window(v, v->chan[i].shm.ipa, v->chan[i].shm.size)) != NULL) {
			hv_snprintf(msg, len, "MGMT-313: overlaps %s: '%s' channel %u", what,
				    v->name, v->chan[i].id);
			return HVM_E_OVERLAP;
		}
	for (uint32_t i = 0; i < v->ndev; i++) {
		for (uint32_t j = 0; j < v->dev[i].nreg; j++)
			if ((what = virtual_window(v, v->dev[i].reg[j].ipa, v->dev[i].reg[j].size))) {
				hv_snprintf(msg, len, "MGMT-313: overlaps %s: '%s' device '%s'",
					    what, v->name, v->dev[i].name);
				return HVM_E_OVERLAP;
			}
		enum hvm_status st = check_device(v, &v->dev[i], msg, len);
		if (st != HVM_OK)
			return st;
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
	if (st == HVM_OK)
		st = check_windows(v, msg, len);
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
	c.stop_grace_ms = v->stop_grace_ms;
	c.abort_policy = v->abort_policy;
	c.autostart = v->autostart;
	c.restart_max = v->restart_max;
	c.restart_window_ms = v->restart_window_ms;
	c.boot_order = v->boot_order;
	c.load_ipa = v->boot.load_ipa;
	c.entry_ipa = v->boot.entry;
	c.image_size = v->boot.image_size;
	c.has_sha256 = 1;
	memcpy(c.image_sha256, v->boot.image_sha256, 32);
	if ((st = store_slot(v->name, "image", v->boot.image_store, v->boot.image_size, 0, 0,
			     &c.image_pa, &c.image_max, msg, len)) != HVM_OK)
		return st;
	if (v->boot.has_initrd) {
		if ((st = store_slot(v->name, "initrd", v->boot.initrd_store, v->boot.initrd_size,
				     c.image_pa, c.image_max, &c.initrd_pa, &c.initrd_max, msg,
				     len)) != HVM_OK)
			return st;
		c.initrd_size = v->boot.initrd_size;
		c.initrd_ipa = v->boot.initrd_ipa;
	}
	c.fdt_ipa = v->boot.fdt_ipa;
	memcpy(c.bootargs, v->boot.bootargs, sizeof(c.bootargs) - 1);
	for (uint32_t i = 0; i < v->ndev; i++)
		for (uint32_t j = 0; j < v->dev[i].nspi && c.n_pt_spis < 8; j++)
			c.pt_spis[c.n_pt_spis++] = v->dev[i].spi[j];
	for (uint32_t i = 0; i < v->nvirtio && i < VIRTIO_MAX_DEVS; i++)
		c.virtio[c.n_virtio++] =
			(struct virtio_dev_cfg){ v->virtio[i].type,       v->virtio[i].spi,
						 v->virtio[i].ipa,        v->virtio[i].channel,
						 v->virtio[i].frame_rate, v->virtio[i].disk_size };
	struct vm *vm;
	char why[96];
	st = vm_create(&c, &vm, why, sizeof(why));
	if (st != HVM_OK) {
		hv_snprintf(msg, len, "MGMT-047: %s", why); /* hv-core's own limits */
		return st;
	}
	/* VMCFG-060: pass-through MMIO windows, device memory, never executable */
	for (uint32_t i = 0; i < v->ndev && st == HVM_OK; i++)
		for (uint32_t j = 0; j < v->dev[i].nreg && st == HVM_OK; j++)
			st = stage2_map(&vm->s2, v->dev[i].reg[j].ipa, v->dev[i].reg[j].pa,
					v->dev[i].reg[j].size, S2_DEVICE_RW, msg, len);
	if (st == HVM_OK && v->management) /* VMCFG-027, MGMT-211 */
		st = mgmt_window_map(vm, msg, len);
	if (st != HVM_OK || (st = channel_map(vm, v, msg, len)) != HVM_OK) {
		char ignored[64];
		vm_op_undefine(vm, ignored, sizeof(ignored));
		return st;
	}
	vm_set_vmcfg(vm->id, v);
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

enum hvm_status vmdef_check_peers(uint32_t id, char *msg, unsigned len)
{
	static struct vmcfg all[HVM_MAX_VMS];
	struct vmcfg_err err;
	const struct vmcfg *v = vm_vmcfg(id);
	if (!v || v->nchan == 0)
		return HVM_OK;
	size_t n = 0;
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
		if (vms[i].used)
			describe(i, &all[n++]);
	if (vmcfg_check_channels(v, all, n, &err) != HVM_OK)
		return refuse(&err, msg, len);
	return HVM_OK;
}
