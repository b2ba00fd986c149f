/*
 * main.c - "hb-stop", a guest that misbehaves on purpose: it beats its
 * heartbeat a few times, then stops beating while it keeps running (sleeping
 * on its timer). With a watchdog configured, hv-core must apply the VM's fault
 * policy on its own (REQ-SAF-13, REQ-SAF-20); other VMs are not affected.
 */
#include "guest.h"

void guest_main(uint64_t dtb);

void guest_main(uint64_t dtb)
{
	volatile struct hvg_coop_page *cp = g_start("hb-stop", "hb-stop 1.0.0");
	if (!cp)
		return;
	for (uint64_t n = 1; n <= 5; n++) {
		cp->heartbeat = n;
		g_sleep_ms(20);
	}
	g_puts("hb-stop: heartbeat stops now\n");
	for (;;)
		g_sleep_ms(1000);
}
