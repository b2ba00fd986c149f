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
	g_puts("hb-stop: hello from EL1\n");
	volatile struct hvg_coop_page *cp = g_coop_page();
	if (!cp)
		return;
	g_set_version(cp, "hb-stop 1.0.0");
	cp->guest_state = HVG_GS_RUNNING;
	for (uint64_t n = 1; n <= 5; n++) {
		cp->heartbeat = n;
		g_sleep_ms(20);
	}
	g_puts("hb-stop: heartbeat stops now\n");
	for (;;)
		g_sleep_ms(1000);
}
