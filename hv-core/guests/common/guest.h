/*
 * guest.h - the little runtime hv-core's test guests share: console output on
 * the (virtual) PL011, SMCCC calls by HVC, the cooperation page, and sleeping on
 * the virtual timer with WFI (docs/guest-abi.md).
 */
#ifndef GUEST_H
#define GUEST_H
#include <stdint.h>
#include "hvguest.h"

struct smccc_res {
	uint64_t a0, a1, a2, a3;
};

void g_puts(const char *s);
void g_putu(uint64_t v);
struct smccc_res g_hvc(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3);
/* Returns the cooperation page (GABI-031), or NULL with a console message. */
volatile struct hvg_coop_page *g_coop_page(void);
void g_set_version(volatile struct hvg_coop_page *cp, const char *v);
/* The start of a test guest: says "<name>: hello from EL1" on the console,
 * finds the cooperation page and marks the guest RUNNING with image version
 * `version`. Returns the page, or NULL (with a console message) when none. */
volatile struct hvg_coop_page *g_start(const char *name, const char *version);
void g_sleep_ms(uint64_t ms);
#endif
