/*
 * main.c - "vcpu-fault", a two-vCPU guest for the fault policy stop-vcpu
 * (docs/vm-config.md VMCFG-330, docs/mgmt-abi.md MGMT-333, docs/guest-abi.md
 * GABI-330), driven by tests/integration/hvcore_fault.c:
 *
 *   1. vCPU 0 starts vCPU 1 (PSCI CPU_ON); vCPU 1 reads guest-physical memory
 *      it was never given. hv-core stops vCPU 1 alone; vCPU 0 sees bit 1 of
 *      vcpus_stopped in its cooperation page and keeps beating.
 *   2. vCPU 0 starts vCPU 1 again: the bit is cleared, vCPU 1 runs.
 *   3. vCPU 1 powers itself off (PSCI CPU_OFF); then vCPU 0, the last vCPU
 *      running, faults: with no other vCPU to run on, the VM is stopped.
 * Every step is one console line "vcpu-fault: ...".
 */
#include "guest.h"

#define BAD_IPA 0x7F000000ul /* beyond its 16 MiB at 0x40000000, not a device */
#define PSCI_CPU_OFF 0x84000002u
#define PSCI_CPU_ON 0xC4000003u
#define PSCI_AFF_INFO 0xC4000004u

void guest_main(uint64_t dtb);
void secondary_main(uint64_t cpu);
extern char secondary_entry[];

static uint8_t stack1[8192] __attribute__((aligned(16)));
static volatile uint32_t round, cpu1_up;
static volatile struct hvg_coop_page *cp;

static void say(const char *what, uint64_t v)
{
	g_puts("vcpu-fault: ");
	g_puts(what);
	g_puts(" ");
	g_putu(v);
	g_puts("\n");
}

void secondary_main(uint64_t cpu)
{
	cpu1_up = round;
	if (round == 1) {
		(void)*(volatile uint32_t *)BAD_IPA; /* hv-core stops this vCPU here */
		g_puts("vcpu-fault: vcpu 1 survived its fault\n");
		return;
	}
	while (round == 2)
		;
	g_hvc(PSCI_CPU_OFF, 0, 0, 0); /* does not return */
	g_puts("vcpu-fault: vcpu 1 still on after CPU_OFF\n");
}

/* Keeps the heartbeat moving while it waits (bounded) for *p to be v under mask. */
static int beat_until(volatile uint32_t *p, uint32_t mask, uint32_t v)
{
	for (uint64_t n = 0; n < 400000000ull; n++) {
		cp->heartbeat++;
		if ((*p & mask) == v)
			return 1;
	}
	return 0;
}

static int64_t cpu_on(void)
{
	uint64_t top = (uint64_t)(uintptr_t)(stack1 + sizeof(stack1));
	return (int64_t)g_hvc(PSCI_CPU_ON, 1, (uint64_t)(uintptr_t)secondary_entry, top).a0;
}

void guest_main(uint64_t dtb)
{
	(void)dtb;
	cp = g_start("vcpu-fault", "vcpu-fault 1.0.0");
	if (!cp)
		return;
	round = 1;
	say("cpu_on 1", (uint64_t)cpu_on());
	if (!beat_until(&cp->vcpus_stopped, 2u, 2u)) {
		g_puts("vcpu-fault: vcpu 1 was never reported stopped\n");
		return;
	}
	say("vcpus_stopped", cp->vcpus_stopped);
	say("affinity_info 1", g_hvc(PSCI_AFF_INFO, 1, 0, 0).a0);
	uint64_t hb = cp->heartbeat;
	for (uint32_t i = 0; i < 1000000u; i++)
		cp->heartbeat++;
	say("vcpu 0 still beats", cp->heartbeat > hb);

	round = 2;
	say("cpu_on 1 again", (uint64_t)cpu_on());
	if (!beat_until(&cpu1_up, ~0u, 2u)) {
		g_puts("vcpu-fault: vcpu 1 did not come back\n");
		return;
	}
	say("vcpu 1 back, vcpus_stopped", cp->vcpus_stopped);

	round = 3;
	for (uint64_t n = 0; n < 400000000ull && g_hvc(PSCI_AFF_INFO, 1, 0, 0).a0 != 1; n++)
		cp->heartbeat++;
	say("vcpu 1 off, affinity_info 1", g_hvc(PSCI_AFF_INFO, 1, 0, 0).a0);
	g_puts("vcpu-fault: vcpu 0 faults now, the last one running\n");
	(void)*(volatile uint32_t *)BAD_IPA;
	g_puts("vcpu-fault: vcpu 0 survived its fault\n");
}
