/*
 * main.c - "chan-ping", a guest for inter-VM channels (REQ-SAF-07, GABI-032):
 * every 20 ms it rings the doorbell of channel 0 and beats its heartbeat; it
 * publishes the number of doorbells its peer rang on channel 0 (the
 * cooperation page's doorbells[0]) as its health_code, so a test sees
 * deliveries in the VM's status slot.
 */
#include "guest.h"

void guest_main(uint64_t dtb);

void guest_main(uint64_t dtb)
{
	volatile struct hvg_coop_page *cp = g_start("chan-ping", "chan-ping 1.0.0");
	if (!cp)
		return;
	uint64_t ok = 0, denied = 0;
	for (uint64_t n = 1;; n++) {
		struct smccc_res r = g_hvc(HVG_HC_DOORBELL, 0, 0, 0);
		if ((int64_t)r.a0 == 0)
			ok++;
		else
			denied++;
		cp->health_code = __atomic_load_n(&cp->doorbells[0], __ATOMIC_ACQUIRE);
		cp->heartbeat = n;
		if (n == 10) {
			g_puts("chan-ping: rang ");
			g_putu(ok);
			g_puts(" granted, ");
			g_putu(denied);
			g_puts(" denied\n");
		}
		g_sleep_ms(20);
	}
}
