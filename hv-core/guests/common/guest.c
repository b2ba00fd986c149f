/*
 * guest.c - runtime of the bare-metal test guests (see guest.h).
 */
#include "guest.h"

#define UART ((volatile uint32_t *)0x09000000ul)
#define UARTFR 6 /* 0x18 / 4 */

static void putc_(char c)
{
	while (UART[UARTFR] & (1u << 5))
		;
	UART[0] = (uint8_t)c;
}

void g_puts(const char *s)
{
	for (; *s; s++)
		putc_(*s);
}

void g_putu(uint64_t v)
{
	char b[24];
	int n = 0;
	do {
		b[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		putc_(b[--n]);
}

struct smccc_res g_hvc(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = fid;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;
	__asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
	return (struct smccc_res){ x0, x1, x2, x3 };
}

volatile struct hvg_coop_page *g_coop_page(void)
{
	struct smccc_res uid = g_hvc(HVG_CALL_UID, 0, 0, 0); /* GABI-010 */
	if ((uint32_t)uid.a0 != HVG_UID_W0 || (uint32_t)uid.a1 != HVG_UID_W1 ||
	    (uint32_t)uid.a2 != HVG_UID_W2 || (uint32_t)uid.a3 != HVG_UID_W3) {
		g_puts("guest: hypervisor UID does not match\n");
		return 0;
	}
	struct smccc_res r = g_hvc(HVG_HC_COOP_PAGE, 0, 0, 0); /* GABI-031 */
	if ((int64_t)r.a0 != 0) {
		g_puts("guest: HVG_HC_COOP_PAGE failed\n");
		return 0;
	}
	volatile struct hvg_coop_page *cp = (volatile struct hvg_coop_page *)(uintptr_t)r.a1;
	if (cp->magic != HVG_COOP_MAGIC || cp->major != HVG_COOP_MAJOR) {
		g_puts("guest: cooperation page has a bad magic or major version\n");
		return 0;
	}
	return cp;
}

void g_set_version(volatile struct hvg_coop_page *cp, const char *v)
{
	unsigned i = 0;
	for (; v[i] && i < sizeof(cp->image_version) - 1; i++)
		cp->image_version[i] = v[i];
	for (; i < sizeof(cp->image_version); i++)
		cp->image_version[i] = 0;
}

volatile struct hvg_coop_page *g_start(const char *name, const char *version)
{
	g_puts(name);
	g_puts(": hello from EL1\n");
	volatile struct hvg_coop_page *cp = g_coop_page();
	if (cp) {
		g_set_version(cp, version);
		cp->guest_state = HVG_GS_RUNNING;
	}
	return cp;
}

static uint64_t cntvct(void)
{
	uint64_t v;
	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
	return v;
}

void g_sleep_ms(uint64_t ms)
{
	uint64_t freq;
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
	uint64_t deadline = cntvct() + freq / 1000 * ms;
	/* virtual timer armed but masked: no interrupt needed, hv-core's trapped
	 * WFI sleeps until the deadline (GABI-050) */
	__asm__ volatile("msr cntv_cval_el0, %0" : : "r"(deadline));
	__asm__ volatile("msr cntv_ctl_el0, %0; isb" : : "r"(3ull)); /* ENABLE | IMASK */
	while (cntvct() < deadline)
		__asm__ volatile("wfi");
	__asm__ volatile("msr cntv_ctl_el0, xzr");
}
