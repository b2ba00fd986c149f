/*
 * guest_boot.c - the boot-time contents of a guest's memory besides its image
 * (guest_boot.h): the Linux arm64 boot protocol as hv-core offers it to every
 * guest (GABI-001): x0 = IPA of a device tree describing only the VM's own
 * resources (REQ-AVP-02), /chosen with bootargs and the initrd.
 */
#include <string.h>
#include "guest_boot.h"
#include "hvvmconfig.h"
#include "vm.h"
#include "vgic.h"
#include "vpl011.h"
#include "console.h"
#include "mmu.h"
#include "spinlock.h"
#include "fmt.h"
#include "region.h"

#define UART_SPI 1u /* INTID 33, as QEMU virt's PL011 */
#define UART_CLOCK_HZ 24000000u

/* struct vmcfg is a few KiB: one copy, used under a lock (boots are rare) */
static struct vmcfg scratch;
static spinlock_t scratch_lock;

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Length of an initrd placed at the start of a zero-filled store slot: up to
 * its last non-zero byte, plus room for a gzip trailer whose last bytes are
 * zero (ISIZE); the kernel skips zero padding after an archive. */
static uint64_t initrd_length(const uint8_t *p, uint64_t max)
{
	uint64_t n = max;
	while (n && p[n - 1] == 0)
		n--;
	if (!n)
		return 0;
	n = (n + 8 + 3) & ~3ull;
	return n > max ? max : n;
}

/* virtio-console output goes where the vPL011's does (GABI-492) */
static void virtio_console_out(struct vm *vm, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		console_putc(vm, p[i]);
}

enum hvm_status guest_boot_prepare(struct vm *vm, uint64_t image_ipa, uint64_t image_len,
				   uint64_t *x0, char *msg, unsigned msglen)
{
	const struct vm_config *c = &vm->cfg;
	uint8_t *ram = (uint8_t *)(uintptr_t)c->mem_pa;

	if (vgic_vm_init(vm, VGIC_MAX_SPIS) != 0) {
		hv_snprintf(msg, msglen, "'%s': virtual GIC set-up failed", c->name);
		return HVM_E_INTERNAL;
	}
	for (uint32_t i = 0; i < c->n_pt_spis && i < 8; i++)
		if (vgic_assign_hw_spi(vm, 32 + c->pt_spis[i]) != 0) {
			hv_snprintf(msg, msglen,
				    "'%s': pass-through SPI %u is not available (at most %u)",
				    c->name, c->pt_spis[i], VGIC_MAX_SPIS - 1);
			return HVM_E_BAD_CONFIG;
		}
	vpl011_reset(&vm->uart); /* GABI-800: nothing typed before this boot is read */
	/* its VIRTIO devices in their reset state, serving only its RAM (GABI-485) */
	const struct vq_mem mem = { c->mem_ipa, c->mem_size, ram };
	virtio_set_reset(&vm->virtio, vm, &mem, c->virtio, c->n_virtio, virtio_console_out);
	/* GABI-494: a virtio-blk device's requests go to its backend through
	 * the VM's ring in the management region (MGMT-860) */
	for (uint32_t i = 0; i < vm->virtio.n && i < VIRTIO_MAX_DEVS; i++)
		if (vm->virtio.dev[i].cfg.type == VIRTIO_ID_BLOCK)
			virtio_blk_attach(&vm->virtio.dev[i], mgmt_blk_ring(vm->id),
					  mgmt_blk_bounce(vm->id), vm->id);

	uint64_t fdt_ipa = c->fdt_ipa ? c->fdt_ipa : c->mem_ipa + c->mem_size - VMCFG_FDT_SIZE;
	if (fdt_ipa < c->mem_ipa || fdt_ipa + VMCFG_FDT_SIZE > c->mem_ipa + c->mem_size ||
	    (fdt_ipa & 7) || overlaps(fdt_ipa, VMCFG_FDT_SIZE, image_ipa, image_len)) {
		hv_snprintf(msg, msglen, "'%s': no room for the device tree at IPA 0x%lx (VMCFG-053)",
			    c->name, (unsigned long)fdt_ipa);
		return HVM_E_OVERLAP;
	}

	uint64_t initrd_ipa = 0, initrd_len = 0;
	if (c->initrd_pa) {
		initrd_len = c->initrd_size ? c->initrd_size
					    : initrd_length((const uint8_t *)(uintptr_t)c->initrd_pa,
							    c->initrd_max);
		initrd_ipa = c->initrd_ipa ? c->initrd_ipa
					   : ((c->mem_ipa + c->mem_size / 2) & ~0x1FFFFFull);
		if (initrd_len == 0 || (c->initrd_max && initrd_len > c->initrd_max)) {
			hv_snprintf(msg, msglen, "'%s': no initrd in the image store at 0x%lx",
				    c->name, (unsigned long)c->initrd_pa);
			return HVM_E_BAD_CONFIG;
		}
		if (initrd_ipa < c->mem_ipa || initrd_ipa + initrd_len > c->mem_ipa + c->mem_size ||
		    overlaps(initrd_ipa, initrd_len, image_ipa, image_len) ||
		    overlaps(initrd_ipa, initrd_len, fdt_ipa, VMCFG_FDT_SIZE)) {
			hv_snprintf(msg, msglen,
				    "'%s': initrd (0x%lx bytes at IPA 0x%lx) does not fit (VMCFG-051)",
				    c->name, (unsigned long)initrd_len, (unsigned long)initrd_ipa);
			return HVM_E_OVERLAP;
		}
		memcpy(ram + (initrd_ipa - c->mem_ipa), (const void *)(uintptr_t)c->initrd_pa,
		       initrd_len);
		dcache_clean_range(ram + (initrd_ipa - c->mem_ipa), initrd_len);
	}

	const struct guest_fdt_platform plat = {
		.gicd_ipa = VGIC_GICD_IPA,
		.gicd_size = VGIC_GICD_SIZE,
		.gicr_ipa = VGIC_GICR_IPA,
		.gicr_stride = VGIC_GICR_STRIDE,
		.uart_ipa = VPL011_IPA,
		.uart_size = 0x1000,
		.uart_spi = UART_SPI,
		.uart_clock_hz = UART_CLOCK_HZ,
		.timer_ppi = { 13, 14, 11, 10 },
		.coop_ipa = vm->coop_ipa,
		.mgmt_ipa = VMCFG_MGMT_IPA,
		.mgmt_size = VMCFG_MGMT_SIZE, /* VMCFG-098 */
	};
	struct vmcfg_err err;
	spin_lock(&scratch_lock);
	const struct vmcfg *def = vm_vmcfg(vm->id);
	if (def) {
		/* defined from a vm-config description: its channels and bootargs
		 * go into the tree as written there */
		scratch = *def;
	} else {
		memset(&scratch, 0, sizeof(scratch));
		memcpy(scratch.name, c->name, sizeof(scratch.name) - 1);
		scratch.vcpus = c->vcpus;
		for (uint32_t i = 0; i < c->vcpus && i < VMCFG_MAX_VCPUS; i++)
			scratch.pcpu[i] = vm->vcpu[i].pcpu;
		scratch.pcpu_mask = c->pcpu_mask;
		scratch.nmem = 1;
		scratch.mem[0] = (struct vmcfg_range){ c->mem_ipa, c->mem_pa, c->mem_size };
		scratch.vuart = true;
		size_t n = strnlen(c->bootargs, sizeof(c->bootargs) - 1);
		memcpy(scratch.boot.bootargs, c->bootargs,
		       n < VMCFG_BOOTARGS_MAX ? n : VMCFG_BOOTARGS_MAX);
	}
	scratch.boot.has_initrd = c->initrd_pa != 0;
	scratch.boot.initrd_ipa = initrd_ipa;
	scratch.boot.initrd_size = initrd_len;
	scratch.boot.fdt_ipa = fdt_ipa;
	int rc = guest_fdt_build(&scratch, &plat, ram + (fdt_ipa - c->mem_ipa), VMCFG_FDT_SIZE, &err);
	spin_unlock(&scratch_lock);
	if (rc != HVM_OK) {
		hv_snprintf(msg, msglen, "'%s': %s", c->name, err.msg);
		return (enum hvm_status)rc;
	}
	dcache_clean_range(ram + (fdt_ipa - c->mem_ipa), VMCFG_FDT_SIZE);
	*x0 = fdt_ipa;
	return HVM_OK;
}
