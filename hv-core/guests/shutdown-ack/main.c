/*
 * main.c - "shutdown-ack" (and "shutdown-off"), well-behaved guests for the
 * shutdown protocol (GABI-020, REQ-SAF-21): they beat their heartbeat and
 * poll hv_request; on HVG_REQ_SHUTDOWN they acknowledge (guest_ack_seq), say
 * SHUTTING_DOWN while they "save their data", then either declare
 * READY_FOR_OFF (shutdown-ack) or power off through PSCI SYSTEM_OFF
 * (shutdown-off, built with POWER_OFF). On HVG_REQ_REBOOT (GABI-025) both
 * acknowledge and restart through PSCI SYSTEM_RESET.
 */
#include "guest.h"

#define PSCI_SYSTEM_OFF 0x84000008u
#define PSCI_SYSTEM_RESET 0x84000009u

void guest_main(uint64_t dtb);

void guest_main(uint64_t dtb)
{
	volatile struct hvg_coop_page *cp = g_start("shutdown-ack", "shutdown-ack 1.0.0");
	if (!cp)
		return;
	if (cp->selftest_failed) { /* GABI-701: the hypervisor's boot self-test */
		g_puts("shutdown-ack: hypervisor self-test failed checks ");
		g_putu(cp->selftest_failed);
		g_puts("\n");
	}
	for (uint64_t n = 1;; n++) {
		cp->heartbeat = n;
		uint32_t seq = __atomic_load_n(&cp->hv_request_seq, __ATOMIC_ACQUIRE);
		if (seq != cp->guest_ack_seq && cp->hv_request == HVG_REQ_REBOOT) {
			cp->guest_ack_seq = seq;
			g_puts("shutdown-ack: reboot requested, restarting\n");
			g_hvc(PSCI_SYSTEM_RESET, 0, 0, 0);
			for (;;) /* not reached: the VM boots again */
				g_sleep_ms(1000);
		}
		if (seq != cp->guest_ack_seq && cp->hv_request == HVG_REQ_SHUTDOWN) {
			cp->guest_state = HVG_GS_SHUTTING_DOWN;
			cp->guest_ack_seq = seq;
			g_puts("shutdown-ack: shutdown requested, saving data\n");
			g_sleep_ms(30);
#ifdef POWER_OFF
			g_puts("shutdown-ack: powering off\n");
			g_hvc(PSCI_SYSTEM_OFF, 0, 0, 0);
#else
			g_puts("shutdown-ack: ready for off\n");
			__atomic_store_n(&cp->guest_state, HVG_GS_READY_FOR_OFF, __ATOMIC_RELEASE);
#endif
			for (;;)
				g_sleep_ms(1000);
		}
		g_sleep_ms(20);
	}
}
