/*
 * main.c - "hook-irq" and "hook-fault", guests for the stop hook of a stop
 * that is not the watchdog's (docs/guest-abi.md GABI-331, REQ-SAF-21), driven
 * by tests/integration/hvcore_faulthist.c. vCPU 0 takes interrupts and
 * counts the stop-hook interrupt (INTID 21); on it, it writes its "safety
 * data" at HOOK_IPA in its own memory, where the test reads it after the stop:
 * [0] HOOK_MARKER, [1] the request's sequence, [2] the stop reason, [3] how
 * many stop-hook interrupts it took, and acknowledges (READY_FOR_OFF).
 *
 * - hook-irq: beats, and never answers a SHUTDOWN request, so a SHUTDOWN with
 *   a timeout runs out and hv-core is about to destroy a running VM;
 * - hook-fault (FAULT_VCPU1): vCPU 0 starts vCPU 1 (PSCI CPU_ON), which reads
 *   guest-physical memory it was never given; under policy stop the VM is to
 *   stop while vCPU 0 is healthy.
 */
#include "guest.h"
#include "../rtos/gic.h"

#define HOOK_IPA 0x40F00000ul
#define HOOK_MARKER 0x4556415344524148ull /* "HARDSAVE" */
#define BAD_IPA 0x7F000000ul              /* beyond its 16 MiB, not a device */
#define PSCI_CPU_ON 0xC4000003u

void guest_main(uint64_t dtb);
void secondary_main(uint64_t cpu);
extern char secondary_entry[];

static volatile struct hvg_coop_page *cp;
static volatile uint64_t hook_irqs;

static void on_irq(uint32_t intid)
{
	if (intid != HVG_STOP_HOOK_INTID)
		return;
	hook_irqs++;
	uint32_t seq = cp->hv_request_seq;
	if (cp->hv_request != HVG_REQ_STOP_IMMINENT)
		return;
	volatile uint64_t *saved = (volatile uint64_t *)HOOK_IPA;
	saved[1] = seq;
	saved[2] = cp->stop_reason;
	saved[3] = hook_irqs;
	saved[0] = HOOK_MARKER;
	g_puts("hook: safety data saved on interrupt 21\n");
	cp->guest_ack_seq = seq;
	cp->guest_state = HVG_GS_READY_FOR_OFF;
}

#if defined(FAULT_VCPU1)
static uint8_t stack1[8192] __attribute__((aligned(16)));

void secondary_main(uint64_t cpu)
{
	(void)cpu;
	g_puts("hook-fault: vcpu 1 reads memory it was not given\n");
	(void)*(volatile uint32_t *)BAD_IPA; /* hv-core stops this vCPU here */
	g_puts("hook-fault: vcpu 1 survived its fault\n");
}
#endif

void guest_main(uint64_t dtb)
{
	(void)dtb;
	cp = g_start("hook", "hook 1.0.0");
	if (!cp)
		return;
	gic_dist_init();
	gic_cpu_init(0);
	gic_enable_private(0, HVG_STOP_HOOK_INTID, 0x80);
	irq_install(on_irq);
	irq_unmask();
#if defined(FAULT_VCPU1)
	uint64_t top = (uint64_t)(uintptr_t)(stack1 + sizeof(stack1));
	int64_t r = (int64_t)g_hvc(PSCI_CPU_ON, 1, (uint64_t)(uintptr_t)secondary_entry, top).a0;
	g_puts(r == 0 ? "hook-fault: vcpu 1 started\n" : "hook-fault: CPU_ON failed\n");
#else
	g_puts("hook-irq: ignoring shutdown requests\n");
#endif
	for (uint64_t n = 1;; n++) {
		cp->heartbeat = n;
		g_sleep_ms(5);
	}
}
