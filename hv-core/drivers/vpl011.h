/*
 * vpl011.h - the virtual PL011 every VM gets (GABI-040): transmit through the
 * data register, a flag register that never reports "full", ID registers of a
 * real PL011. Bytes go to the VM's console ring (core/vm/console.c).
 * Reception (GABI-800): bytes the management interface writes (MGMT-801) wait
 * in a receive FIFO, read through the data register; the receive and receive
 * timeout interrupts are raised on the UART's SPI as a PL011 raises them.
 */
#ifndef HV_VPL011_H
#define HV_VPL011_H
#include <stdint.h>
#include "spinlock.h"

#define VPL011_IPA 0x09000000ull /* same place as QEMU virt's UART */
#define VPL011_RX_FIFO 64u       /* GABI-800: receive FIFO depth, bytes */
#define VPL011_SIZE 0x1000ull    /* its register page                      */
#define VPL011_FR 0x018u         /* flag register offset                    */
#define VPL011_FR_RXFE (1u << 4) /* receive FIFO empty                      */
#define VPL011_FR_RXFF (1u << 6) /* receive FIFO full                       */
#define VPL011_FR_TXFE (1u << 7) /* transmit FIFO empty: always             */

struct vpl011 {
	uint64_t ipa;
	uint32_t cr, lcr, ibrd, fbrd, imsc, ifls;
	spinlock_t rx_lock; /* the receive FIFO: a vCPU reads, the service CPU writes */
	uint32_t rx_head, rx_count;
	uint8_t rx[VPL011_RX_FIFO];
	uint64_t rx_bytes; /* bytes received since the VM was defined */
};

struct vm;
void vpl011_init(struct vpl011 *u, uint64_t ipa);
/* Before each boot of the VM: registers and the receive FIFO back to reset. */
void vpl011_reset(struct vpl011 *u);
/* The flag register: a status snapshot that a polling driver reads before
 * every character, so the trap path reads it inline (traps.c). No lock: one
 * load of the count (a receive right after changes it anyway). */
static inline uint32_t vpl011_flags(const struct vpl011 *u)
{
	uint32_t n = __atomic_load_n(&u->rx_count, __ATOMIC_RELAXED);
	return VPL011_FR_TXFE | (n ? 0 : VPL011_FR_RXFE) | (n == VPL011_RX_FIFO ? VPL011_FR_RXFF : 0);
}
void vpl011_write(struct vm *vm, uint64_t ipa, uint64_t val, unsigned bytes);
uint64_t vpl011_read(struct vm *vm, uint64_t ipa, unsigned bytes);
/* MGMT-801: appends up to n bytes of p to the receive FIFO; returns how many
 * fitted. Raises the receive interrupt when the guest unmasked it. */
uint32_t vpl011_receive(struct vm *vm, const volatile uint8_t *p, uint32_t n);
#endif
