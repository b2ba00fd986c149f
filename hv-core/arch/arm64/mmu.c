/*
 * mmu.c - the EL2 stage-1 translation tables: an identity map with 1 GiB blocks
 * over a 4 GiB address space (TCR_EL2.T0SZ = 32, 4 KiB granule, lookup starts at
 * level 1). MMIO below RAM is Device-nGnRnE and never executable; RAM is Normal
 * write-back. Coarse on purpose: hv-core trusts itself; guests are confined by
 * stage 2 (stage2.c), not by this map.
 */
#include <string.h>
#include "mmu.h"
#include "sysregs.h"

#define MAIR_DEVICE_IDX 0 /* attr0 = 0x00 Device-nGnRnE */
#define MAIR_NORMAL_IDX 1 /* attr1 = 0xFF Normal, inner/outer WB RW-allocate */
#define MAIR_VALUE 0xFF00ull

#define PTE_BLOCK 1ull
#define PTE_AF (1ull << 10)
#define PTE_SH_IS (3ull << 8)
#define PTE_XN (1ull << 54) /* EL2: XN */
#define PTE_ATTR(i) ((uint64_t)(i) << 2)

/* TCR_EL2: T0SZ=32, IRGN0/ORGN0 WBWA, SH0 inner shareable, TG0 4K, PS 40 bits, RES1 31/23 */
#define TCR_VALUE                                                                                  \
	((1ull << 31) | (1ull << 23) | (2ull << 16) | (3ull << 12) | (1ull << 10) | (1ull << 8) |  \
	 32ull)

static uint64_t el2_l1[512] __attribute__((aligned(4096)));

/* normal: 0 device, 1 Normal memory, 2 Normal memory never executed */
static void map_gib(uint64_t gib, int normal)
{
	uint64_t pa = gib << 30;
	el2_l1[gib] = pa | PTE_BLOCK | PTE_AF |
		      (normal ? (PTE_ATTR(MAIR_NORMAL_IDX) | PTE_SH_IS | (normal == 2 ? PTE_XN : 0))
			      : (PTE_ATTR(MAIR_DEVICE_IDX) | PTE_XN));
}

static void mmu_enable(void)
{
	write_sysreg(mair_el2, MAIR_VALUE);
	write_sysreg(tcr_el2, TCR_VALUE);
	write_sysreg(ttbr0_el2, (uint64_t)(uintptr_t)el2_l1);
	isb();
	__asm__ volatile("tlbi alle2" ::: "memory");
	dsb(ish);
	isb();
	write_sysreg(sctlr_el2, SCTLR_EL2_RES1 | SCTLR_M | SCTLR_C | SCTLR_I | SCTLR_SA);
	isb();
}

void mmu_init_primary(void)
{
	map_gib(0, 0);
	map_gib(1, 1);
	dsb(ish);
	mmu_enable();
}

static void map_range(uint64_t base, uint64_t size, int how)
{
	for (uint64_t g = base >> 30; g < ((base + size + (1ull << 30) - 1) >> 30) && g < 4; g++)
		map_gib(g, how);
	dsb(ish);
	__asm__ volatile("tlbi alle2is" ::: "memory");
	dsb(ish);
	isb();
}

void mmu_map_ram(uint64_t base, uint64_t size)
{
	map_range(base, size, 1);
}

void mmu_map_data(uint64_t base, uint64_t size)
{
	map_range(base, size, 2);
}

void mmu_enable_secondary(void)
{
	mmu_enable();
}

void dcache_clean_range(const void *p, size_t len)
{
	uint64_t ctr = read_sysreg(ctr_el0);
	uint64_t line = 4ull << ((ctr >> 16) & 0xF);
	uint64_t a = (uint64_t)(uintptr_t)p & ~(line - 1);
	for (; a < (uint64_t)(uintptr_t)p + len; a += line)
		__asm__ volatile("dc cvac, %0" : : "r"(a) : "memory");
	dsb(ish);
}

void mem_zero_to_poc(void *p, size_t len)
{
	uint64_t dczid = read_sysreg(dczid_el0);
	uint8_t *a = p, *end = a + len;
	if (dczid & 0x10) { /* DZP: DC ZVA prohibited */
		memset(p, 0, len);
		dcache_clean_range(p, len);
		return;
	}
	uint64_t block = 4ull << (dczid & 0xF);
	uint8_t *b = (uint8_t *)(((uintptr_t)a + block - 1) & ~(uintptr_t)(block - 1));
	uint8_t *e = (uint8_t *)((uintptr_t)end & ~(uintptr_t)(block - 1));
	if (b >= e) {
		memset(p, 0, len);
		dcache_clean_range(p, len);
		return;
	}
	memset(a, 0, (size_t)(b - a));
	dcache_clean_range(a, (size_t)(b - a));
	for (uint8_t *q = b; q < e; q += block)
		__asm__ volatile("dc zva, %0\n\tdc cvac, %0" : : "r"(q) : "memory");
	memset(e, 0, (size_t)(end - e));
	dcache_clean_range(e, (size_t)(end - e));
	dsb(ish);
}
