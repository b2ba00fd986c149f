/*
 * main.c - "fault-loop" and its variants, guests that misbehave on purpose in
 * a tight loop to show that one VM cannot flood what others share:
 * - fault-loop (default): calls HVG_HC_FAULT_REPORT (GABI-033) as fast as it
 *   can; every report is counted, but FAULT events and log lines are
 *   rate-limited (docs/mgmt-abi.md MGMT-052);
 * - access-loop (ACCESS_LOOP): reads guest-physical memory it was never given,
 *   over and over; run under fault policy ignore, each read is a stage-2 fault
 *   that is counted and skipped (MGMT-062), with the same rate limit;
 * - db-ring (DOORBELL_LOOP): rings channel 0 (granted by its configuration) as
 *   fast as it can, while the test defines and undefines the peer (the slot
 *   reuse of vm_create() must never meet a ring half-way).
 * Each keeps its heartbeat (one per loop) so it is never a watchdog case.
 */
#include "guest.h"

#define BAD_IPA 0x7F000000ul /* beyond its memory, not a device */

void guest_main(uint64_t dtb);

void guest_main(uint64_t dtb)
{
	(void)dtb;
	volatile struct hvg_coop_page *cp = g_coop_page();
	if (!cp)
		return;
	cp->guest_state = HVG_GS_RUNNING;
#if defined(ACCESS_LOOP)
	g_puts("access-loop: reading 0x7f000000 in a loop\n");
	for (uint64_t n = 1;; n++) {
		(void)*(volatile uint32_t *)BAD_IPA;
		cp->heartbeat = n;
	}
#elif defined(DOORBELL_LOOP)
	g_puts("db-ring: ringing channel 0 in a loop\n");
	uint64_t ok = 0;
	for (uint64_t n = 1;; n++) {
		if ((int64_t)g_hvc(HVG_HC_DOORBELL, 0, 0, 0).a0 == 0)
			ok++;
		cp->heartbeat = n;
		cp->health_code = (uint32_t)ok;
	}
#else
	g_puts("fault-loop: reporting faults in a loop\n");
	for (uint64_t n = 1;; n++) {
		g_hvc(HVG_HC_FAULT_REPORT, n, 0, 0);
		cp->heartbeat = n;
	}
#endif
}
