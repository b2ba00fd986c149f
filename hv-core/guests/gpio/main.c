/*
 * main.c - "gpio", a guest that drives a passed-through PL061 GPIO controller
 * (docs/examples/passthrough.dts: QEMU virt's PL061 at 0x09030000, mapped at
 * the same guest-physical address). It reads the controller's identification
 * registers, sets all eight lines to output and reads the direction back, then
 * beats its heartbeat. The lines on its console show the device is its own.
 */
#include "guest.h"

#define PL061_IPA 0x09030000ul
#define PL061_DIR 0x400u
#define PL061_PERIPH_ID0 0xFE0u

void guest_main(uint64_t dtb);

static uint32_t reg(uint32_t off)
{
	return *(volatile uint32_t *)(PL061_IPA + off);
}

void guest_main(uint64_t dtb)
{
	volatile struct hvg_coop_page *cp = g_start("gpio", "gpio 1.0.0");
	if (!cp)
		return;
	g_puts("gpio: periph id");
	for (uint32_t i = 0; i < 4; i++) {
		g_puts(" ");
		g_putu(reg(PL061_PERIPH_ID0 + 4 * i) & 0xFF);
	}
	g_puts("\n");
	*(volatile uint32_t *)(PL061_IPA + PL061_DIR) = 0xFF;
	g_puts("gpio: direction ");
	g_putu(reg(PL061_DIR) & 0xFF);
	g_puts("\n");
	for (uint64_t n = 1;; n++) {
		cp->heartbeat = n;
		g_sleep_ms(20);
	}
}
