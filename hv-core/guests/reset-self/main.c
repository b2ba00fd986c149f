/*
 * main.c - "reset-self", a guest that reboots itself: it beats its heartbeat
 * a few times, then calls PSCI SYSTEM_RESET (docs/guest-abi.md GABI-012).
 * hv-core boots the VM alone again from its image (MGMT-045: RUNNING with
 * reason REBOOTED, event STARTED), so the greeting appears once per boot.
 */
#include "guest.h"

#define PSCI_SYSTEM_RESET 0x84000009u

void guest_main(uint64_t dtb);

void guest_main(uint64_t dtb)
{
	volatile struct hvg_coop_page *cp = g_start("reset-self", "reset-self 1.0.0");
	if (!cp)
		return;
	for (uint64_t n = 1; n <= 5; n++) {
		cp->heartbeat = n;
		g_sleep_ms(100);
	}
	g_puts("reset-self: calling SYSTEM_RESET\n");
	struct smccc_res r = g_hvc(PSCI_SYSTEM_RESET, 0, 0, 0);
	g_puts("reset-self: SYSTEM_RESET returned ");
	g_putu((uint64_t) - (int64_t)r.a0);
	g_puts(" (negated)\n");
	for (;;)
		g_sleep_ms(1000);
}
