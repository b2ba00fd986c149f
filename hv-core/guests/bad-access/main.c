/*
 * main.c - "bad-access", a guest that misbehaves on purpose: after greeting and
 * reporting itself running it reads guest-physical memory it was never given.
 * hv-core must stop this VM alone, record the fault and keep everything else
 * running (REQ-SAF-01, REQ-SAF-20, REQ-SAF-22).
 */
#include "guest.h"

#define BAD_IPA 0x7F000000ul /* beyond its 16 MiB at 0x40000000, not a device */

void guest_main(uint64_t dtb);

void guest_main(uint64_t dtb)
{
	volatile struct hvg_coop_page *cp = g_start("bad-access", "bad-access 1.0.0");
	if (cp)
		cp->heartbeat = 1;
	g_puts("bad-access: reading 0x7f000000\n");
	volatile uint32_t *p = (volatile uint32_t *)BAD_IPA;
	uint32_t v = *p;
	g_puts("bad-access: survived the read, value ");
	g_putu(v);
	g_puts("\n");
}
