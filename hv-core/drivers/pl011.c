/*
 * pl011.c - polled output on the physical PL011. The base comes from the
 * platform device tree; before it is parsed, QEMU virt's 0x09000000 is used so
 * early failures are still visible. Callers serialize (core/base/log.c holds a lock).
 */
#include "pl011.h"

#define UARTDR 0x00
#define UARTFR 0x18
#define UARTCR 0x30
#define FR_TXFF (1u << 5)
#define CR_UARTEN (1u << 0)
#define CR_TXE (1u << 8)

static volatile uint8_t *uart = (volatile uint8_t *)0x09000000ul;

void pl011_init(uint64_t base)
{
	uart = (volatile uint8_t *)(uintptr_t)base;
	volatile uint32_t *cr = (volatile uint32_t *)(uart + UARTCR);
	if ((*cr & (CR_UARTEN | CR_TXE)) != (CR_UARTEN | CR_TXE))
		*cr |= CR_UARTEN | CR_TXE;
}

void pl011_putc(char c)
{
	if (c == '\n')
		pl011_putc('\r');
	for (unsigned spin = 0; (*(volatile uint32_t *)(uart + UARTFR) & FR_TXFF) && spin < 1000000;
	     spin++)
		;
	*(volatile uint32_t *)(uart + UARTDR) = (uint8_t)c;
}
