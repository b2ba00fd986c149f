/*
 * main.c - "sea-catch", a guest that contains its own bad access, as a guest
 * OS contains one in the faulting process (docs/vm-config.md VMCFG-700,
 * REQ-SAF-18). It installs an EL1 vector table, reads guest-physical memory
 * it was never given, and expects hv-core (abort-policy "inject") to deliver
 * a synchronous external abort: its handler prints ESR_EL1 and FAR_EL1 and
 * resumes after the faulting load. Then it reads once more and keeps beating,
 * so the test sees the VM run on. Every result is one console line
 * "sea-catch: ...", read by tests/integration/hvcore_fault.c.
 */
#include "guest.h"

#define BAD_IPA 0x7F000000ul /* beyond its 16 MiB at 0x40000000, not a device */

void guest_main(uint64_t dtb);
void sync_dispatch(void);
extern char sea_vectors[];

static volatile uint64_t aborts, last_esr, last_far;

static void say_hex(const char *what, uint64_t v)
{
	char tmp[16], buf[19] = "0x";
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	for (int i = 0; i < n; i++)
		buf[2 + i] = tmp[n - 1 - i];
	buf[2 + n] = 0;
	g_puts("sea-catch: ");
	g_puts(what);
	g_puts(" ");
	g_puts(buf);
	g_puts("\n");
}

void sync_dispatch(void)
{
	uint64_t esr, far, elr;
	__asm__ volatile("mrs %0, esr_el1" : "=r"(esr));
	__asm__ volatile("mrs %0, far_el1" : "=r"(far));
	__asm__ volatile("mrs %0, elr_el1" : "=r"(elr));
	aborts++;
	last_esr = esr;
	last_far = far;
	/* a data abort on a load: resume after it, as an OS would after killing
	 * the process (anything else: stay here, the test sees no progress) */
	if ((esr >> 26) != 0x25)
		for (;;)
			__asm__ volatile("wfe");
	__asm__ volatile("msr elr_el1, %0" : : "r"(elr + 4));
}

void guest_main(uint64_t dtb)
{
	(void)dtb;
	volatile struct hvg_coop_page *cp = g_start("sea-catch", "sea-catch 1.0.0");
	if (!cp)
		return;
	__asm__ volatile("msr vbar_el1, %0\n\tisb" : : "r"(sea_vectors) : "memory");
	g_puts("sea-catch: reading 0x7f000000\n");
	(void)*(volatile uint32_t *)BAD_IPA;
	say_hex("aborts", aborts);
	say_hex("esr", last_esr);
	say_hex("far", last_far);
	(void)*(volatile uint32_t *)BAD_IPA;
	say_hex("aborts after the second read", aborts);
	for (uint64_t n = 1;; n++) {
		cp->heartbeat = n;
		g_sleep_ms(10);
	}
}
