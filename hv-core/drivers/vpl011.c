/*
 * vpl011.c - PL011 emulation by trap: the page is absent from the VM's stage 2,
 * each access traps as a data abort with a valid syndrome and is emulated here.
 * Reception (GABI-800): a receive FIFO the management interface fills
 * (MGMT-801), read through DR; RXRIS and RTRIS follow the FIFO level (set while
 * it holds a byte), and the UART's SPI is made pending when bytes arrive or
 * the guest unmasks them while they wait. Transmit interrupts and DMA are not
 * provided (docs/guest-abi.md).
 */
#include "vpl011.h"
#include "vm.h"
#include "console.h"
#include "vgic.h"

#define DR 0x000
#define FR VPL011_FR
#define IBRD 0x024
#define FBRD 0x028
#define LCR_H 0x02C
#define CR 0x030
#define IFLS 0x034
#define IMSC 0x038
#define RIS 0x03C
#define MIS 0x040
#define ICR 0x044
#define INT_RX (1u << 4) /* RXIM / RXRIS */
#define INT_RT (1u << 6) /* RTIM / RTRIS: receive timeout */
#define UART_INTID 33u   /* SPI 1, as QEMU virt's PL011 (guest_boot.c) */

/* PL011 r1p5 peripheral and PrimeCell ids at 0xFE0..0xFFC */
static const uint8_t ids[8] = { 0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1 };

void vpl011_init(struct vpl011 *u, uint64_t ipa)
{
	*u = (struct vpl011){ .ipa = ipa, .cr = 0x300, .ifls = 0x12 };
}

void vpl011_reset(struct vpl011 *u)
{
	spin_lock(&u->rx_lock);
	u->cr = 0x300;
	u->ifls = 0x12;
	u->lcr = u->ibrd = u->fbrd = u->imsc = 0;
	u->rx_head = u->rx_count = 0;
	spin_unlock(&u->rx_lock);
}

/* Raw interrupt status: the receive bits while the FIFO holds a byte.
 * Caller holds rx_lock. */
static uint32_t ris(const struct vpl011 *u)
{
	return u->rx_count ? INT_RX | INT_RT : 0;
}

uint32_t vpl011_receive(struct vm *vm, const volatile uint8_t *p, uint32_t n)
{
	struct vpl011 *u = &vm->uart;
	uint32_t done = 0, raise;

	spin_lock(&u->rx_lock);
	while (done < n && u->rx_count < VPL011_RX_FIFO) {
		u->rx[(u->rx_head + u->rx_count) % VPL011_RX_FIFO] = p[done++];
		u->rx_count++;
	}
	u->rx_bytes += done;
	raise = done && (ris(u) & u->imsc);
	spin_unlock(&u->rx_lock);
	if (raise)
		vgic_inject(vm, 0, UART_INTID);
	return done;
}

void vpl011_write(struct vm *vm, uint64_t ipa, uint64_t val, unsigned bytes)
{
	struct vpl011 *u = &vm->uart;
	switch (ipa - u->ipa) {
	case DR:
		console_putc(vm, (uint8_t)val);
		break;
	case IBRD:
		u->ibrd = (uint32_t)val;
		break;
	case FBRD:
		u->fbrd = (uint32_t)val;
		break;
	case LCR_H:
		u->lcr = (uint32_t)val;
		break;
	case CR:
		u->cr = (uint32_t)val;
		break;
	case IFLS:
		u->ifls = (uint32_t)val;
		break;
	case IMSC: {
		spin_lock(&u->rx_lock);
		uint32_t newly = (uint32_t)val & ~u->imsc;
		u->imsc = (uint32_t)val;
		int raise = (ris(u) & newly) != 0;
		spin_unlock(&u->rx_lock);
		if (raise) /* bytes wait and the guest just unmasked them */
			vgic_inject(vm, 0, UART_INTID);
		break;
	}
	default:
		break; /* other registers (ICR: the receive bits follow the FIFO): ignored */
	}
}

uint64_t vpl011_read(struct vm *vm, uint64_t ipa, unsigned bytes)
{
	struct vpl011 *u = &vm->uart;
	uint64_t off = ipa - u->ipa;
	uint64_t v;
	switch (off) {
	case DR:
		spin_lock(&u->rx_lock);
		v = 0;
		if (u->rx_count) {
			v = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % VPL011_RX_FIFO;
			u->rx_count--;
		}
		spin_unlock(&u->rx_lock);
		return v;
	case FR:
		return vpl011_flags(u);
	case RIS:
	case MIS:
		spin_lock(&u->rx_lock);
		v = ris(u) & (off == MIS ? u->imsc : ~0u);
		spin_unlock(&u->rx_lock);
		return v;
	case IBRD:
		return u->ibrd;
	case FBRD:
		return u->fbrd;
	case LCR_H:
		return u->lcr;
	case CR:
		return u->cr;
	case IFLS:
		return u->ifls;
	case IMSC:
		return u->imsc;
	default:
		if (off >= 0xFE0 && off <= 0xFFC && (off & 3) == 0)
			return ids[(off - 0xFE0) / 4];
		return 0;
	}
}
