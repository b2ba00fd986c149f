/*
 * gicv3.c - GICv3 distributor, redistributor and CPU interface set-up.
 * QEMU virt without EL3 has a GIC with a single security state (GICD_CTLR.DS=1),
 * so Group 1 interrupts reach EL2 as IRQs.
 */
#include "gicv3.h"
#include "sysregs.h"

#define GICD_CTLR      0x0000
#define GICD_CTLR_RWP  (1u << 31)
#define GICD_CTLR_ARE  (1u << 4)
#define GICD_CTLR_G1   (1u << 1)
#define GICR_TYPER     0x0008
#define GICR_WAKER     0x0014
#define GICR_SGI       0x10000
#define GICR_IGROUPR0  (GICR_SGI + 0x0080)
#define GICR_ISENABLER0 (GICR_SGI + 0x0100)
#define GICR_IPRIORITYR (GICR_SGI + 0x0400)
#define WAKER_PS       (1u << 1)
#define WAKER_CA       (1u << 2)
#define TYPER_LAST     (1ull << 4)
#define GICR_FRAME     0x20000

static uint64_t gicd_base, gicr_base, gicr_len;

#define R32(a) (*(volatile uint32_t *)(uintptr_t)(a))
#define R64(a) (*(volatile uint64_t *)(uintptr_t)(a))

static uint64_t find_rd(uint64_t mpidr)
{
	uint32_t aff = (uint32_t)((mpidr & 0xFFFFFF) | ((mpidr >> 8) & 0xFF000000));
	for (uint64_t rd = gicr_base; rd < gicr_base + gicr_len; rd += GICR_FRAME) {
		uint64_t typer = R64(rd + GICR_TYPER);
		if ((uint32_t)(typer >> 32) == aff)
			return rd;
		if (typer & TYPER_LAST)
			break;
	}
	return 0;
}

int gicv3_init_dist(uint64_t gicd, uint64_t gicr, uint64_t gicr_size)
{
	gicd_base = gicd;
	gicr_base = gicr;
	gicr_len = gicr_size;
	R32(gicd + GICD_CTLR) = GICD_CTLR_ARE;
	while (R32(gicd + GICD_CTLR) & GICD_CTLR_RWP)
		;
	R32(gicd + GICD_CTLR) = GICD_CTLR_ARE | GICD_CTLR_G1;
	while (R32(gicd + GICD_CTLR) & GICD_CTLR_RWP)
		;
	return 0;
}

int gicv3_init_cpu(uint64_t mpidr)
{
	uint64_t rd = find_rd(mpidr);
	if (!rd)
		return -1;
	R32(rd + GICR_WAKER) &= ~WAKER_PS;
	for (unsigned spin = 0; (R32(rd + GICR_WAKER) & WAKER_CA) && spin < 1000000; spin++)
		;
	R32(rd + GICR_IGROUPR0) = 0xFFFFFFFFu; /* SGIs and PPIs: Group 1 */
	/* ICC_SRE_EL2: SRE | Enable (EL1 may use the system register interface too) */
	write_sysreg(S3_4_C12_C9_5, 0x9);
	isb();
	write_sysreg(S3_0_C4_C6_0, 0xFF);   /* ICC_PMR_EL1: let every priority through */
	write_sysreg(S3_0_C12_C12_7, 1);    /* ICC_IGRPEN1_EL1 */
	isb();
	return 0;
}

void gicv3_enable_ppi(uint64_t mpidr, unsigned intid)
{
	uint64_t rd = find_rd(mpidr);
	if (!rd || intid >= 32)
		return;
	*(volatile uint8_t *)(uintptr_t)(rd + GICR_IPRIORITYR + intid) = 0x80;
	R32(rd + GICR_ISENABLER0) = 1u << intid;
}

uint32_t gicv3_ack(void)
{
	uint32_t v = (uint32_t)read_sysreg(S3_0_C12_C12_0); /* ICC_IAR1_EL1 */
	dsb(sy);
	return v & 0xFFFFFF;
}

void gicv3_eoi(uint32_t intid)
{
	write_sysreg(S3_0_C12_C12_1, intid); /* ICC_EOIR1_EL1 */
	isb();
}

void gicv3_send_sgi(uint64_t mpidr, unsigned intid)
{
	uint64_t v = ((mpidr >> 32) & 0xFF) << 48 | ((mpidr >> 16) & 0xFF) << 32 |
		     (uint64_t)(intid & 0xF) << 24 | ((mpidr >> 8) & 0xFF) << 16 | (1ull << (mpidr & 0xF));
	dsb(ish);
	write_sysreg(S3_0_C12_C11_5, v); /* ICC_SGI1R_EL1 */
	isb();
}
