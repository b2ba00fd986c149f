/*
 * main.c - "hb-stop", a guest that misbehaves on purpose: it beats its
 * heartbeat a few times, then stops beating while it keeps running (sleeping
 * on its timer). With a watchdog configured, hv-core must apply the VM's fault
 * policy on its own (REQ-SAF-13, REQ-SAF-20); other VMs are not affected.
 *
 * hb-hook (STOP_HOOK): the same, and then it waits for hv-core's stop hook
 * (docs/guest-abi.md GABI-331): on HVG_REQ_STOP_IMMINENT it writes its
 * "safety data" (HOOK_MARKER, the request's sequence and stop reason) at
 * HOOK_IPA in its own memory, where the test reads it after the stop, and
 * acknowledges the request (READY_FOR_OFF).
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
#if defined(STOP_HOOK)
	volatile uint64_t *saved = (volatile uint64_t *)0x40F00000ul; /* HOOK_IPA */
	uint32_t seen = cp->hv_request_seq;
	for (;;) {
		g_sleep_ms(2);
		uint32_t seq = cp->hv_request_seq;
		if (seq == seen || cp->hv_request != HVG_REQ_STOP_IMMINENT)
			continue;
		seen = seq;
		saved[1] = seq;
		saved[2] = cp->stop_reason;
		saved[3] = cp->stop_deadline_ns;
		saved[0] = 0x4556415344524148ull; /* HOOK_MARKER "HARDSAVE" */
		g_puts("hb-hook: safety data saved\n");
		cp->guest_ack_seq = seq;
		cp->guest_state = HVG_GS_READY_FOR_OFF;
	}
#endif
	for (;;)
		g_sleep_ms(1000);
}
