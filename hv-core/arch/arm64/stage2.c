/*
 * stage2.c - stage-2 translation tables, 4 KiB granule, 4 GiB IPA space
 * (VTCR_EL2.T0SZ = 32, lookup from level 1). Regions aligned to 2 MiB use level-2
 * blocks, anything else level-3 pages (the 4 KiB cooperation page). Table
 * pages come from the page heap and go back to it when the VM is undefined
 * (stage2_destroy), so DEFINE/UNDEFINE cycles do not use up hv-core's memory.
 */
#include <string.h>
#include "stage2.h"
#include "sysregs.h"
#include "heap.h"
#include "fmt.h"

#define S2_VALID 1ull
#define S2_TABLE 3ull
#define S2_BLOCK 1ull
#define S2_PAGE 3ull
#define S2_AF (1ull << 10)
#define S2_SH_IS (3ull << 8)
#define S2_AP_RW (3ull << 6)
#define S2_AP_RO (1ull << 6)      /* read-only channel windows (REQ-SAF-07) */
#define S2_MEM_NORM (0xFull << 2) /* Normal, outer and inner write-back */
#define S2_MEM_DEV (0x0ull << 2)  /* Device-nGnRnE */
#define S2_XN (2ull << 53)
#define ADDR_MASK 0x0000FFFFFFFFF000ull

/* VTCR_EL2: T0SZ=32, SL0=1 (level 1), IRGN0/ORGN0 WBWA, SH0 IS, TG0 4K, PS 40 bits */
#define VTCR_VALUE                                                                                 \
	((1ull << 31) | (2ull << 16) | (3ull << 12) | (1ull << 10) | (1ull << 8) | (1ull << 6) |   \
	 32ull)

/* what stage2_activate() loads; the self-test reads this very value back */
const uint64_t stage2_vtcr = VTCR_VALUE;

enum hvm_status stage2_init(struct stage2 *s2, uint16_t vmid, char *msg, unsigned msglen)
{
	s2->vmid = vmid;
	s2->l1 = page_alloc(1);
	if (!s2->l1) {
		hv_snprintf(msg, msglen, "out of memory for stage-2 tables");
		return HVM_E_INTERNAL;
	}
	return HVM_OK;
}

static uint64_t *next_table(uint64_t *entry)
{
	if ((*entry & 3) == S2_TABLE)
		return (uint64_t *)(uintptr_t)(*entry & ADDR_MASK);
	if (*entry & S2_VALID)
		return NULL; /* already a block: callers never split blocks */
	uint64_t *t = page_alloc(1);
	if (t)
		*entry = (uint64_t)(uintptr_t)t | S2_TABLE;
	return t;
}

enum hvm_status stage2_map(struct stage2 *s2, uint64_t ipa, uint64_t pa, uint64_t size,
			   enum s2_attr attr, char *msg, unsigned msglen)
{
	uint64_t leaf = S2_AF | (attr == S2_NORMAL_RO ? S2_AP_RO : S2_AP_RW) |
			(attr != S2_DEVICE_RW ? (S2_MEM_NORM | S2_SH_IS) : (S2_MEM_DEV | S2_XN));
	if (((ipa | pa | size) & 0xFFF) || size == 0 || ipa + size > (1ull << 32) ||
	    ipa + size < ipa) {
		hv_snprintf(msg, msglen, "stage-2 range 0x%lx+0x%lx not page aligned or beyond 4 GiB",
			    (unsigned long)ipa, (unsigned long)size);
		return HVM_E_BAD_CONFIG;
	}
	while (size) {
		uint64_t *l2 = next_table(&s2->l1[(ipa >> 30) & 3]);
		if (!l2)
			goto nomem;
		uint64_t *e2 = &l2[(ipa >> 21) & 511];
		if (((ipa | pa) & 0x1FFFFF) == 0 && size >= 0x200000 && !(*e2 & S2_VALID)) {
			*e2 = (pa & ADDR_MASK) | leaf | S2_BLOCK;
			ipa += 0x200000, pa += 0x200000, size -= 0x200000;
			continue;
		}
		uint64_t *l3 = next_table(e2);
		if (!l3)
			goto nomem;
		l3[(ipa >> 12) & 511] = (pa & ADDR_MASK) | leaf | S2_PAGE;
		ipa += 0x1000, pa += 0x1000, size -= 0x1000;
	}
	dsb(ishst);
	return HVM_OK;
nomem:
	hv_snprintf(msg, msglen, "out of memory for stage-2 tables (or remapping a block)");
	return HVM_E_INTERNAL;
}

void stage2_destroy(struct stage2 *s2)
{
	uint64_t *l1 = s2->l1;
	if (!l1)
		return;
	for (unsigned i = 0; i < 4; i++) { /* T0SZ = 32: four level-1 entries */
		if ((l1[i] & 3) != S2_TABLE)
			continue;
		uint64_t *l2 = (uint64_t *)(uintptr_t)(l1[i] & ADDR_MASK);
		for (unsigned j = 0; j < 512; j++)
			if ((l2[j] & 3) == S2_TABLE)
				page_free((void *)(uintptr_t)(l2[j] & ADDR_MASK));
		page_free(l2);
	}
	page_free(l1);
	s2->l1 = NULL;
	/* no TLB or walk cache may keep this VMID's translations for the tables'
	 * next owner: invalidate it on every CPU (inner shareable), with the VMID
	 * loaded on this CPU only for the TLBI (stage 2 stays off here) */
	uint64_t saved = read_sysreg(vttbr_el2);
	dsb(ishst);
	write_sysreg(vttbr_el2, (uint64_t)s2->vmid << 48);
	isb();
	__asm__ volatile("tlbi vmalls12e1is" ::: "memory");
	dsb(ish);
	write_sysreg(vttbr_el2, saved);
	isb();
}

/* A checksum of a table page and, depth first, of the tables it points to:
 * every word with its position folded in, so a changed, moved or swapped
 * entry changes it. */
static uint64_t table_sum(const uint64_t *t, unsigned level, uint64_t sum)
{
	for (unsigned i = 0; i < 512; i++) {
		uint64_t e = t[i];
		sum = (sum ^ e ^ ((uint64_t)level << 60 | i)) * 0x100000001B3ull;
		sum ^= sum >> 29;
		if (level < 3 && (e & 3) == S2_TABLE)
			sum = table_sum((const uint64_t *)(uintptr_t)(e & ADDR_MASK), level + 1, sum);
	}
	return sum;
}

uint64_t stage2_checksum(const struct stage2 *s2)
{
	return s2->l1 ? table_sum(s2->l1, 1, 0xCBF29CE484222325ull ^ s2->vmid) : 0;
}

uint64_t stage2_vttbr(const struct stage2 *s2)
{
	return ((uint64_t)s2->vmid << 48) | (uint64_t)(uintptr_t)s2->l1;
}

void stage2_activate(const struct stage2 *s2)
{
	write_sysreg(vtcr_el2, stage2_vtcr);
	write_sysreg(vttbr_el2, stage2_vttbr(s2));
	isb();
	__asm__ volatile("tlbi vmalls12e1" ::: "memory");
	dsb(nsh);
	isb();
}
