/*
 * main.c - "bad-hvc", a guest that misbehaves on purpose: it calls a
 * hypercall id of hv-core's service range that does not exist (GABI-030). A
 * forbidden hypercall is a fault (kind HYPERCALL) handled by the VM's fault
 * policy (REQ-SAF-09, REQ-SAF-20); with policy ignore the call answers
 * NOT_SUPPORTED and the guest carries on.
 */
#include "guest.h"

#define HVG_HC_UNDEFINED 0xC6000042u

void guest_main(uint64_t dtb);

void guest_main(uint64_t dtb)
{
	volatile struct hvg_coop_page *cp = g_start("bad-hvc", "bad-hvc 1.0.0");
	if (!cp)
		return;
	cp->heartbeat = 1;
	g_puts("bad-hvc: calling an undefined hypercall\n");
	struct smccc_res r = g_hvc(HVG_HC_UNDEFINED, 1, 2, 3);
	g_puts("bad-hvc: survived, x0 = ");
	g_putu((uint64_t) - (int64_t)r.a0);
	g_puts(" (negated)\n");
	for (uint64_t n = 2;; n++) {
		cp->heartbeat = n;
		g_sleep_ms(50);
	}
}
