/*
 * main.c - "rtos-demo", a bare-metal guest standing in for an RTOS partition:
 * greets on its UART, finds its cooperation page, reports its image version and
 * state, and beats its heartbeat every 50 ms (GABI-020, REQ-SAF-13).
 */
#include "guest.h"

#define RTOS_VERSION "rtos-demo 1.0.0"

void guest_main(uint64_t dtb);

void guest_main(uint64_t dtb)
{
	g_puts("rtos-demo: hello from EL1\n");
	volatile struct hvg_coop_page *cp = g_coop_page();
	if (!cp) {
		g_puts("rtos-demo: no cooperation page, stopping\n");
		return;
	}
	cp->guest_state = HVG_GS_BOOTING;
	g_set_version(cp, RTOS_VERSION);
	cp->health_code = 0;
	cp->guest_state = HVG_GS_RUNNING;
	g_puts("rtos-demo: running, vm id ");
	g_putu(cp->vm_id);
	g_puts("\n");
	for (uint64_t n = 1;; n++) {
		cp->heartbeat = n;
		if (n % 100 == 0) {
			g_puts("rtos-demo: heartbeat ");
			g_putu(n);
			g_puts("\n");
		}
		g_sleep_ms(50);
	}
}
