/*
 * platform.h - platform facts read from the device tree hv-core is booted with
 * (REQ-STD-06), and hv-core's memory map.
 *
 * Physical memory map on QEMU virt (-m 1G, RAM at 0x40000000):
 *
 *   0x40000000   2 MiB  boot loader stub (QEMU's), unused after boot
 *   0x40200000  14 MiB  hv-core image, .bss, EL2 stacks, page heap
 *                       (the arm64 Image header's image_size covers all of it)
 *   0x41000000   1 MiB  management region, layout of include/hvmgmt.h
 *                       (HVM_DEFAULT_BASE; published as staging in hvm_regs)
 *   0x41100000   8 MiB  virtio-blk bounce areas: HVM_BLK_BOUNCE_SIZE per VM
 *                       slot (docs/mgmt-abi.md MGMT-864), the only memory a
 *                       block backend maps besides its ring page
 *   0x41900000   7 MiB  unused (reserved for hv-core)
 *   0x42000000  96 MiB  image store: guest images placed by the boot loader
 *                       (QEMU -device loader); kept unchanged for restarts
 *                       0x42000000 rtos-demo (2 MiB slot)
 *                       0x42200000 bad-access (2 MiB slot)
 *   0x48000000  16 MiB  left alone: QEMU puts the platform DTB here
 *                       (RAM base + 128 MiB); hv-core copies it away first
 *   0x49000000  ...     guest memory, one range per VM
 *                       0x49000000 rtos-demo, 16 MiB
 *                       0x4A000000 bad-access, 16 MiB
 *
 *   0x04000000  64 MiB  (flash, not RAM) hv-core's non-volatile storage: QEMU
 *                       virt's second pflash bank (MGMT-600): two record
 *                       copies, then the A/B image slots (MGMT-601)
 *
 *   0x80000000  (RAM, a memory node of its own, when the boot configuration
 *               names it in /hv-core/ota/slot-store) hv-core's slot store
 *               (MGMT-661): QEMU backs it with a file of the state
 *               directory; only hv-core maps it, no VM or device may touch it
 *
 *   top 96 MiB  the image staging area (LOAD_IMAGE reads it): the last
 *               HV_STAGING_SIZE bytes of RAM, apart from every image slot
 *               (MGMT-302); no VM's memory may lie there
 *
 * Guest-physical (IPA) map every VM sees:
 *   0x09000000  4 KiB   virtual PL011 (trapped, emulated)
 *   0x0B000000  4 KiB   the VM's cooperation page (GABI-020)
 *   0x40000000  mem     the VM's RAM (mem_ipa of its configuration)
 */
#ifndef HV_PLATFORM_H
#define HV_PLATFORM_H
#include <stdint.h>
#include "hvconfig.h"

#define HV_IMAGE_BASE 0x40000000ull
#define HV_MGMT_BASE 0x41000000ull       /* == HVM_DEFAULT_BASE */
#define HV_BLK_BOUNCE_BASE 0x41100000ull /* + vm_id * HVM_BLK_BOUNCE_SIZE */
#define HV_STORE_BASE 0x42000000ull
#define HV_STORE_SIZE 0x06000000ull
#define HV_FWDTB_BASE 0x48000000ull
#define HV_FWDTB_SIZE 0x01000000ull
#define HV_STAGING_SIZE 0x06000000ull
#define HV_GUEST_BASE 0x49000000ull /* lowest physical address a VM's RAM may use */
#define HV_COOP_IPA 0x0B000000ull
#define HV_GUEST_RAM_IPA 0x40000000ull

struct platform {
	uint64_t ram_base, ram_size;
	uint32_t ncpus;
	uint64_t cpu_mpidr[HV_MAX_CPUS];
	uint64_t gicd, gicd_size;
	uint64_t gicr, gicr_size;
	uint64_t uart, uart_size;
	uint32_t uart_spi;         /* its SPI (INTID - 32), ~0u when none is given */
	int gic_node, uart_node;   /* offsets in hv-core's copy of the tree */
	uint64_t dtb_pa;           /* where the boot loader left it            */
	void *fdt;                 /* hv-core's own copy                       */
	uint64_t staging;          /* the image staging area: top HV_STAGING_SIZE of RAM */
	uint64_t nv_base, nv_size; /* MGMT-600: hv-core's flash bank (the second bank of */
				   /* the cfi-flash node), 0 when the platform has none */

	/* MGMT-661: hv-core's slot store, 0 when none */
	uint64_t slot_base, slot_size;
};

extern struct platform platform;

/* Copies the DTB at dtb_pa into hv-core memory and reads the facts above.
 * Returns 0, or -1 with msg naming what is missing or malformed. */
int platform_init(uint64_t dtb_pa, char *msg, unsigned msglen);

/* MGMT-661: takes [base, +size) as hv-core's slot store: 2 MiB aligned,
 * below 4 GiB, inside one memory node of the platform device tree that is not
 * hv-core's RAM. 0, or -1 with msg naming what is wrong (nothing changed). */
int platform_set_slot_store(uint64_t base, uint64_t size, char *msg, unsigned msglen);

/* MGMT-310: what of hv-core's own the physical range [pa, +size) touches -
 * platform RAM, a register frame of the GIC or its ITS, hv-core's UART, its
 * non-volatile storage and slot store - as
 * a name for a refusal, or NULL when none. */
const char *platform_hv_owned(uint64_t pa, uint64_t size);
/* MGMT-311, MGMT-312: the next node after `prev` (-1: the first) directly
 * under the root of the platform device tree, status okay, one of whose reg
 * entries (widened to whole 4 KiB pages) overlaps [pa, +size); *holds says
 * whether that entry holds the whole range. -1 when there is none. */
int platform_next_device(int prev, uint64_t pa, uint64_t size, int *holds);
#endif
