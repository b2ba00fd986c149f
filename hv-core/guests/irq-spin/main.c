/*
 * main.c - "irq-spin", a guest that misbehaves on purpose: it masks every
 * interrupt and spins without ever trapping to the hypervisor. hv-core must
 * still stop, pause or restart it (a physical interrupt always reaches EL2,
 * whatever the guest masks) and its watchdog must catch the missing heartbeat
 * (REQ-SAF-13, REQ-SAF-19: time isolation).
 */
#include "guest.h"

void guest_main(uint64_t dtb);

void guest_main(uint64_t dtb)
{
	volatile struct hvg_coop_page *cp = g_start("irq-spin", "irq-spin 1.0.0");
	if (!cp)
		return;
	cp->heartbeat = 1;
	g_puts("irq-spin: masking interrupts and spinning\n");
	__asm__ volatile("msr daifset, #0xf" ::: "memory");
	volatile uint64_t spins = 0;
	for (;;)
		spins++;
}
