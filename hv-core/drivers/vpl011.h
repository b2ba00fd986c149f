/*
 * vpl011.h - the virtual PL011 every VM gets (GABI-040): transmit through the
 * data register, a flag register that never reports "full", ID registers of a
 * real PL011. Bytes go to the VM's console ring (core/vm/console.c).
 */
#ifndef HV_VPL011_H
#define HV_VPL011_H
#include <stdint.h>

#define VPL011_IPA 0x09000000ull /* same place as QEMU virt's UART */

struct vpl011 {
	uint64_t ipa;
	uint32_t cr, lcr, ibrd, fbrd, imsc, ifls;
};

struct vm;
void vpl011_init(struct vpl011 *u, uint64_t ipa);
int vpl011_claims(const struct vpl011 *u, uint64_t ipa);
void vpl011_write(struct vm *vm, uint64_t ipa, uint64_t val, unsigned bytes);
uint64_t vpl011_read(struct vm *vm, uint64_t ipa, unsigned bytes);
#endif
