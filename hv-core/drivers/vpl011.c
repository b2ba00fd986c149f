/*
 * vpl011.c - PL011 emulation by trap: the page is absent from the VM's stage 2,
 * each access traps as a data abort with a valid syndrome and is emulated here.
 * Reception, interrupts and DMA are not provided yet (docs/guest-abi.md).
 */
#include "vpl011.h"
#include "vm.h"
#include "console.h"

#define DR 0x000
#define FR 0x018
#define IBRD 0x024
#define FBRD 0x028
#define LCR_H 0x02C
#define CR 0x030
#define IFLS 0x034
#define IMSC 0x038
#define RIS 0x03C
#define MIS 0x040
#define FR_RXFE (1u << 4)
#define FR_TXFE (1u << 7)

/* PL011 r1p5 peripheral and PrimeCell ids at 0xFE0..0xFFC */
static const uint8_t ids[8] = { 0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1 };

void vpl011_init(struct vpl011 *u, uint64_t ipa)
{
	*u = (struct vpl011){ .ipa = ipa, .cr = 0x300, .ifls = 0x12 };
}

int vpl011_claims(const struct vpl011 *u, uint64_t ipa)
{
	return ipa >= u->ipa && ipa < u->ipa + 0x1000;
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
	case IMSC:
		u->imsc = (uint32_t)val;
		break;
	default:
		break; /* other registers: writes ignored */
	}
}

uint64_t vpl011_read(struct vm *vm, uint64_t ipa, unsigned bytes)
{
	struct vpl011 *u = &vm->uart;
	uint64_t off = ipa - u->ipa;
	switch (off) {
	case FR:
		return FR_TXFE | FR_RXFE; /* transmit always empty, nothing received */
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
