/*
 * guest_boot.h - what a guest finds in its memory when its boot vCPU starts,
 * besides its image: its device tree (docs/vm-config.md VMCFG-090..097, built
 * by guest_fdt.c), its initial RAM disk, and the virtual GIC state of a fresh
 * machine with its pass-through SPIs attached.
 */
#ifndef HV_GUEST_BOOT_H
#define HV_GUEST_BOOT_H
#include <stdint.h>
#include "hvmgmt.h"

struct vm;

/* Called when the VM's memory was cleared and its image copied, before the
 * boot vCPU starts: resets the vGIC, copies the initrd from the image store,
 * writes the device tree. *x0 = the device tree's IPA (boot argument).
 * On an error nothing runs and msg says what is wrong. */
enum hvm_status guest_boot_prepare(struct vm *vm, uint64_t image_ipa, uint64_t image_len,
				   uint64_t *x0, char *msg, unsigned msglen);
#endif
