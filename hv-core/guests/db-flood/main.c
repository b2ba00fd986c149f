/*
 * main.c - "db-flood", a guest that misbehaves on purpose: it rings the
 * doorbell of every channel id as fast as it can, none of them granted by its
 * configuration. Each ring must be refused (HVG_HC_E_DENIED) and counted
 * (REQ-SAF-07, REQ-SAF-09) without slowing other VMs down; it keeps its own
 * heartbeat so it is not a watchdog case. First it passes arguments out of
 * range once each: a channel id above 15 (also one above 32 bits) and a
 * console byte above 255 must answer INVALID (GABI-032, GABI-034).
 */
#include "guest.h"

void guest_main(uint64_t dtb);

void guest_main(uint64_t dtb)
{
	volatile struct hvg_coop_page *cp = g_start("db-flood", "db-flood 1.0.0");
	if (!cp)
		return;
	g_puts("db-flood: invalid id 16 ");
	g_putu((uint64_t) - (int64_t)g_hvc(HVG_HC_DOORBELL, 16, 0, 0).a0);
	g_puts(" id 2^40 ");
	g_putu((uint64_t) - (int64_t)g_hvc(HVG_HC_DOORBELL, 1ull << 40, 0, 0).a0);
	g_puts(" putc 256 ");
	g_putu((uint64_t) - (int64_t)g_hvc(HVG_HC_CONSOLE_PUTC, 0x100 | 'X', 0, 0).a0);
	g_puts(" (negated)\n");
	uint64_t denied = 0, other = 0;
	for (uint64_t n = 1;; n++) {
		for (uint64_t ch = 0; ch < 16; ch++) {
			struct smccc_res r = g_hvc(HVG_HC_DOORBELL, ch, 0, 0);
			if ((int64_t)r.a0 == HVG_HC_E_DENIED)
				denied++;
			else
				other++;
		}
		cp->heartbeat = n;
		if (n == 1 || n % 10000 == 0) {
			g_puts("db-flood: denied ");
			g_putu(denied);
			g_puts(" other ");
			g_putu(other);
			g_puts("\n");
		}
	}
}
