/*
 * gicv3.c - GICv3 distributor, redistributor, CPU interface and virtual CPU
 * interface access. QEMU virt without EL3 has a GIC with a single security
 * state (GICD_CTLR.DS=1), so Group 1 interrupts reach EL2 as IRQs.
 */
#include "gicv3.h"
#include "sysregs.h"

#define GICD_CTLR 0x0000
#define GICD_TYPER 0x0004
#define GICD_ISENABLER 0x0100
#define GICD_ICENABLER 0x0180
#define GICD_ISPENDR 0x0200
#define GICD_IGROUPR 0x0080
#define GICD_IPRIORITYR 0x0400
#define GICD_IROUTER 0x6000
#define GICD_CTLR_RWP (1u << 31)
#define GICD_CTLR_ARE (1u << 4)
#define GICD_CTLR_G1 (1u << 1)
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_SGI 0x10000
#define GICR_IGROUPR0 (GICR_SGI + 0x0080)
#define GICR_ISENABLER0 (GICR_SGI + 0x0100)
#define GICR_ICENABLER0 (GICR_SGI + 0x0180)
#define GICR_IPRIORITYR (GICR_SGI + 0x0400)
#define WAKER_PS (1u << 1)
#define WAKER_CA (1u << 2)
#define TYPER_LAST (1ull << 4)
#define GICR_FRAME 0x20000

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

static void dist_wait(void)
{
	for (unsigned spin = 0; (R32(gicd_base + GICD_CTLR) & GICD_CTLR_RWP) && spin < 1000000; spin++)
		;
}

int gicv3_init_dist(uint64_t gicd, uint64_t gicr, uint64_t gicr_size)
{
	gicd_base = gicd;
	gicr_base = gicr;
	gicr_len = gicr_size;
	R32(gicd + GICD_CTLR) = GICD_CTLR_ARE;
	dist_wait();
	/* every SPI Group 1 and disabled until a VM that owns it starts */
	for (unsigned i = 32; i < 32 + gicv3_spi_count(); i += 32) {
		R32(gicd + GICD_ICENABLER + i / 8) = 0xFFFFFFFFu;
		R32(gicd + GICD_IGROUPR + i / 8) = 0xFFFFFFFFu;
	}
	R32(gicd + GICD_CTLR) = GICD_CTLR_ARE | GICD_CTLR_G1;
	dist_wait();
	return 0;
}

uint32_t gicv3_spi_count(void)
{
	uint32_t lines = (R32(gicd_base + GICD_TYPER) & 0x1F) + 1;
	uint32_t n = lines * 32 - 32;
	return n > 988 ? 988 : n;
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
	/* ICC_SRE_EL2: SRE | Enable (EL1 uses the system register interface too) */
	write_sysreg(S3_4_C12_C9_5, 0x9);
	isb();
	write_sysreg(S3_0_C4_C6_0, 0xFF);      /* ICC_PMR_EL1: let every priority through */
	write_sysreg(S3_0_C12_C12_4, 1u << 1); /* ICC_CTLR_EL1.EOImode = 1: split drop/deactivate */
	write_sysreg(S3_0_C12_C12_7, 1);       /* ICC_IGRPEN1_EL1 */
	isb();
	gicv3_vcpu_if_reset();
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

void gicv3_disable_ppi(uint64_t mpidr, unsigned intid)
{
	uint64_t rd = find_rd(mpidr);
	if (!rd || intid >= 32)
		return;
	R32(rd + GICR_ICENABLER0) = 1u << intid;
}

void gicv3_route_spi(unsigned intid, uint64_t mpidr)
{
	if (intid < 32 || intid >= 32 + gicv3_spi_count())
		return;
	R64(gicd_base + GICD_IROUTER + 8ull * intid) =
		(mpidr & 0xFFFFFF) | ((mpidr & 0xFF00000000ull));
	*(volatile uint8_t *)(uintptr_t)(gicd_base + GICD_IPRIORITYR + intid) = 0x80;
	R32(gicd_base + GICD_ISENABLER + (intid / 32) * 4) = 1u << (intid % 32);
}

void gicv3_disable_spi(unsigned intid)
{
	if (intid < 32 || intid >= 32 + gicv3_spi_count())
		return;
	R32(gicd_base + GICD_ICENABLER + (intid / 32) * 4) = 1u << (intid % 32);
	dist_wait();
}

void gicv3_set_spi_pending(unsigned intid)
{
	if (intid < 32 || intid >= 32 + gicv3_spi_count())
		return;
	R32(gicd_base + GICD_ISPENDR + (intid / 32) * 4) = 1u << (intid % 32);
}

uint32_t gicv3_ack(void)
{
	uint32_t v = (uint32_t)read_sysreg(S3_0_C12_C12_0); /* ICC_IAR1_EL1 */
	dsb(sy);
	return v & 0xFFFFFF;
}

void gicv3_drop(uint32_t intid)
{
	write_sysreg(S3_0_C12_C12_1, intid); /* ICC_EOIR1_EL1 */
	isb();
}

void gicv3_deactivate(uint32_t intid)
{
	write_sysreg(S3_0_C12_C11_1, intid); /* ICC_DIR_EL1 */
	isb();
}

void gicv3_eoi(uint32_t intid)
{
	gicv3_drop(intid);
	gicv3_deactivate(intid);
}

void gicv3_send_sgi(uint64_t mpidr, unsigned intid)
{
	uint64_t v = ((mpidr >> 32) & 0xFF) << 48 | ((mpidr >> 16) & 0xFF) << 32 |
		     (uint64_t)(intid & 0xF) << 24 | ((mpidr >> 8) & 0xFF) << 16 |
		     (1ull << (mpidr & 0xF));
	dsb(ish);
	write_sysreg(S3_0_C12_C11_5, v); /* ICC_SGI1R_EL1 */
	isb();
}

/* ---- virtual CPU interface ---------------------------------------------- */

unsigned gicv3_lr_count(void)
{
	return (unsigned)(read_sysreg(S3_4_C12_C11_1) & 0x1F) + 1; /* ICH_VTR_EL2.ListRegs */
}

/*
 * ICH_LR<n>_EL2: a system register names its number in the instruction, so
 * each list register has its own small accessor and the two tables below pick
 * one by n (gicv3.h: gicv3_read_lr/gicv3_write_lr). An indexed call is what
 * the vGIC's flush pays per list register, instead of a 16-way switch.
 */
#define LR_ACCESSORS(n, reg)                                                                       \
	static uint64_t lr_read_##n(void)                                                          \
	{                                                                                          \
		return read_sysreg(reg);                                                           \
	}                                                                                          \
	static void lr_write_##n(uint64_t v)                                                       \
	{                                                                                          \
		write_sysreg(reg, v);                                                              \
	}
LR_ACCESSORS(0, S3_4_C12_C12_0)
LR_ACCESSORS(1, S3_4_C12_C12_1)
LR_ACCESSORS(2, S3_4_C12_C12_2)
LR_ACCESSORS(3, S3_4_C12_C12_3)
LR_ACCESSORS(4, S3_4_C12_C12_4)
LR_ACCESSORS(5, S3_4_C12_C12_5)
LR_ACCESSORS(6, S3_4_C12_C12_6)
LR_ACCESSORS(7, S3_4_C12_C12_7)
LR_ACCESSORS(8, S3_4_C12_C13_0)
LR_ACCESSORS(9, S3_4_C12_C13_1)
LR_ACCESSORS(10, S3_4_C12_C13_2)
LR_ACCESSORS(11, S3_4_C12_C13_3)
LR_ACCESSORS(12, S3_4_C12_C13_4)
LR_ACCESSORS(13, S3_4_C12_C13_5)
LR_ACCESSORS(14, S3_4_C12_C13_6)
LR_ACCESSORS(15, S3_4_C12_C13_7)

uint64_t (*const gicv3_lr_read[16])(void) = {
	lr_read_0,  lr_read_1,  lr_read_2,  lr_read_3,  lr_read_4,  lr_read_5,
	lr_read_6,  lr_read_7,  lr_read_8,  lr_read_9,  lr_read_10, lr_read_11,
	lr_read_12, lr_read_13, lr_read_14, lr_read_15,
};
void (*const gicv3_lr_write[16])(uint64_t v) = {
	lr_write_0,  lr_write_1,  lr_write_2,  lr_write_3,  lr_write_4,  lr_write_5,
	lr_write_6,  lr_write_7,  lr_write_8,  lr_write_9,  lr_write_10, lr_write_11,
	lr_write_12, lr_write_13, lr_write_14, lr_write_15,
};

void gicv3_write_ich_hcr(uint64_t v)
{
	write_sysreg(S3_4_C12_C11_0, v);
	isb();
}
uint64_t gicv3_read_ich_misr(void)
{
	return read_sysreg(S3_4_C12_C11_2);
}
void gicv3_write_ich_vmcr(uint64_t v)
{
	write_sysreg(S3_4_C12_C11_7, v);
	isb();
}

void gicv3_vcpu_if_reset(void)
{
	write_sysreg(S3_4_C12_C11_0, 0); /* ICH_HCR_EL2 */
	for (unsigned n = 0; n < gicv3_lr_count(); n++)
		gicv3_write_lr(n, 0);
	unsigned apr = 1u << (((read_sysreg(S3_4_C12_C11_1) >> 29) & 7) + 1 > 5
				      ? (((read_sysreg(S3_4_C12_C11_1) >> 29) & 7) + 1 - 5)
				      : 0);
	/* ICH_AP0R<n>/AP1R<n>: 1, 2 or 4 registers by the number of priority bits */
	write_sysreg(S3_4_C12_C8_0, 0);
	write_sysreg(S3_4_C12_C9_0, 0);
	if (apr > 1) {
		write_sysreg(S3_4_C12_C8_1, 0);
		write_sysreg(S3_4_C12_C9_1, 0);
	}
	if (apr > 2) {
		write_sysreg(S3_4_C12_C8_2, 0);
		write_sysreg(S3_4_C12_C8_3, 0);
		write_sysreg(S3_4_C12_C9_2, 0);
		write_sysreg(S3_4_C12_C9_3, 0);
	}
	write_sysreg(S3_4_C12_C11_7, 0); /* ICH_VMCR_EL2 */
	isb();
}
