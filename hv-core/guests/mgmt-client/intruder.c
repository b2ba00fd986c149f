/*
 * intruder.c - "mgmt-intruder", an ordinary VM (not the management VM) that
 * writes and reads the guest-physical addresses where the management VM sees
 * the management region (VMCFG_MGMT_IPA, docs/mgmt-abi.md MGMT-215). Nothing
 * is mapped there for it: each access is a stage-2 fault that its fault
 * policy handles (the test configures "ignore", so it survives and says so),
 * and hv-core's command block never sees the store.
 */
#include "guest.h"

#define MGMT_IPA 0x41000000ul

void guest_main(uint64_t dtb);

void guest_main(uint64_t dtb)
{
	g_puts("mgmt-intruder: hello from EL1\n");
	uint32_t one = 1, v = 0x5A5A5A5Au;
	/* req_seq of the register page, then the command data area */
	__asm__ volatile("str %w0, [%1]" : : "r"(one), "r"(MGMT_IPA + 0x138) : "memory");
	__asm__ volatile("str %w0, [%1]" : : "r"(one), "r"(MGMT_IPA + 0x80000) : "memory");
	__asm__ volatile("ldr %w0, [%1]" : "+r"(v) : "r"(MGMT_IPA) : "memory");
	g_puts("mgmt-intruder: survived, read value ");
	g_putu(v);
	g_puts("\nINTRUDER DONE\n");
	for (;;)
		g_sleep_ms(1000);
}
