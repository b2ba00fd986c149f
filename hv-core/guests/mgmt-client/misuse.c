/*
 * misuse.c - "mgmt-misuse", a management VM (VMCFG-027) that uses its trapped
 * register page wrongly on purpose (docs/mgmt-abi.md MGMT-212): hv-core
 * emulates only single, naturally aligned loads and stores of 1, 2, 4 or 8
 * bytes without writeback there. A load pair, a load with writeback and an
 * unaligned load must each be a stage-2 fault under this VM's fault policy
 * (the test configures "ignore": the access is skipped, fault_count counts
 * it) while aligned loads before and after still work.
 *
 * An unaligned access with the MMU off is Device memory and meets an
 * alignment fault at EL1 before stage 2, so this guest first turns on its
 * stage-1 MMU with an identity map: the first GiB (UART, cooperation page)
 * Device-nGnRnE, the second GiB (its RAM, the management window) Normal.
 */
#include "guest.h"

#define MGMT_IPA 0x41000000ul

void guest_main(uint64_t dtb);

static uint64_t l1_table[512] __attribute__((aligned(4096)));

static void mmu_on(void)
{
	/* level-1 blocks of 1 GiB: AF, inner shareable for Normal, AttrIndx */
	l1_table[0] = 0x00000000ul | (1ul << 10) | (0ul << 2) | 1ul;
	l1_table[1] = 0x40000000ul | (1ul << 10) | (3ul << 8) | (1ul << 2) | 1ul;
	uint64_t mair = 0x00ul | (0xFFul << 8); /* 0: Device-nGnRnE, 1: Normal WB */
	uint64_t tcr = 25ul | (1ul << 8) | (1ul << 10) | (3ul << 12) | (1ul << 23) /* EPD1 */ |
		       (2ul << 32); /* T0SZ 25, WBWA, inner, 40-bit IPS */
	__asm__ volatile("msr mair_el1, %0\n\tmsr tcr_el1, %1\n\tmsr ttbr0_el1, %2\n\t"
			 "dsb sy\n\ttlbi vmalle1\n\tdsb sy\n\tisb"
			 :
			 : "r"(mair), "r"(tcr), "r"((uint64_t)(uintptr_t)l1_table)
			 : "memory");
	uint64_t sctlr;
	__asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
	sctlr |= 1ul | (1ul << 2) | (1ul << 12); /* M, C, I; A stays clear */
	sctlr &= ~(1ul << 1);
	__asm__ volatile("msr sctlr_el1, %0\n\tisb" : : "r"(sctlr) : "memory");
}

static uint32_t read_magic(void)
{
	uint32_t v;
	__asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(MGMT_IPA) : "memory");
	return v;
}

void guest_main(uint64_t dtb)
{
	(void)dtb;
	g_puts("mgmt-misuse: hello from EL1\n");
	g_puts("MM MAGIC-BEFORE magic=");
	g_putu(read_magic());
	g_puts("\n");
	uint64_t a = 0x1111, b = 0x2222, p = MGMT_IPA;
	/* a load pair: no syndrome hv-core could emulate (ISV 0) */
	__asm__ volatile("ldp %0, %1, [%2]" : "+r"(a), "+r"(b) : "r"(p) : "memory");
	g_puts("MM PAIR survived\n");
	/* a load with writeback (post-index) */
	__asm__ volatile("ldr %0, [%1], #8" : "+r"(a), "+r"(p) : : "memory");
	g_puts("MM WRITEBACK survived\n");
	mmu_on();
	g_puts("MM MMU on\n");
	/* a single 4-byte load at offset 2: unaligned */
	uint32_t u = 0x5A5A5A5Au;
	__asm__ volatile("ldr %w0, [%1]" : "+r"(u) : "r"(MGMT_IPA + 2) : "memory");
	g_puts("MM UNALIGNED survived value=");
	g_putu(u);
	g_puts("\nMM MAGIC-AFTER magic=");
	g_putu(read_magic());
	g_puts("\nMM DONE\n");
	volatile struct hvg_coop_page *cp = g_coop_page();
	for (uint64_t n = 1;; n++) {
		if (cp)
			cp->heartbeat = n;
		g_sleep_ms(50);
	}
}
