/*
 * sysregs.h - AArch64 system register access and the EL2 register bits hv-core
 * programs. Named after the Arm ARM so a reader can look each one up.
 */
#ifndef HV_SYSREGS_H
#define HV_SYSREGS_H

#include <stdint.h>

#define read_sysreg(r)                                                                             \
	({                                                                                         \
		uint64_t v__;                                                                      \
		__asm__ volatile("mrs %0, " #r : "=r"(v__));                                       \
		v__;                                                                               \
	})
#define write_sysreg(r, v) __asm__ volatile("msr " #r ", %0" : : "r"((uint64_t)(v)) : "memory")

#define isb() __asm__ volatile("isb" : : : "memory")
#define dsb(opt) __asm__ volatile("dsb " #opt : : : "memory")
#define dmb(opt) __asm__ volatile("dmb " #opt : : : "memory")
#define wfi() __asm__ volatile("wfi" : : : "memory")
#define sev() __asm__ volatile("sev" : : : "memory")

/* HCR_EL2 */
#define HCR_VM (1ull << 0) /* stage-2 translation                        */
#define HCR_SWIO (1ull << 1)
#define HCR_FMO (1ull << 3) /* physical FIQ to EL2                         */
#define HCR_IMO (1ull << 4) /* physical IRQ to EL2                         */
#define HCR_AMO (1ull << 5)
#define HCR_TWI (1ull << 13)   /* trap WFI: hv-core sleeps for the guest      */
#define HCR_TSC (1ull << 19)   /* trap SMC: the guest's PSCI/SMCCC go to us   */
#define HCR_TIDCP (1ull << 20) /* trap implementation-defined sysregs (CRn 11, 15) */
#define HCR_TACR (1ull << 21)  /* trap ACTLR_EL1 (implementation-defined)     */
#define HCR_RW (1ull << 31)    /* EL1 is AArch64                              */

/* SCTLR_EL2 / SCTLR_EL1 */
#define SCTLR_M (1ull << 0)
#define SCTLR_A (1ull << 1)
#define SCTLR_C (1ull << 2)
#define SCTLR_SA (1ull << 3)
#define SCTLR_I (1ull << 12)
#define SCTLR_EL2_RES1 0x30C50830ull
#define SCTLR_EL1_RES1 0x30D00800ull

/* CPTR_EL2 (non-VHE): RES1 bits 13:12, 9:0; TFP bit 10 left 0 so FP/SIMD works
 * at EL2 (libfdt) and at EL1 (guests) without trapping. */
#define CPTR_EL2_RES1 0x000032FFull

#define CPTR_EL2_TTA (1ull << 20) /* trap trace (ETM) system register accesses */

/* MDCR_EL2: PMU and debug registers trap to EL2 (docs/guest-abi.md GABI-061) */
#define MDCR_HPMN_MASK 0x1Full  /* counters "reserved for EL1": all, trapped anyway */
#define MDCR_TPMCR (1ull << 5)  /* PMCR_EL0                                 */
#define MDCR_TPM (1ull << 6)    /* every other PMU register                 */
#define MDCR_TDA (1ull << 9)    /* debug registers (breakpoints, MDSCR, DCC) */
#define MDCR_TDOSA (1ull << 10) /* OS lock / power-down registers            */
#define MDCR_TDRA (1ull << 11)  /* debug ROM address registers               */

/* CNTHCTL_EL2 (non-VHE): EL1 may read the physical counter and use its timer. */
#define CNTHCTL_EL1PCTEN (1ull << 0)
#define CNTHCTL_EL1PCEN (1ull << 1)

/* Generic timer control */
#define CNT_CTL_ENABLE (1ull << 0)
#define CNT_CTL_IMASK (1ull << 1)
#define CNT_CTL_ISTATUS (1ull << 2)

/* SPSR values */
#define SPSR_EL1H_DAIF 0x3C5ull /* EL1h, D A I F masked */

/* ESR_EL2 */
#define ESR_EC(esr) (((esr) >> 26) & 0x3F)
#define ESR_IL (1ull << 25)
#define ESR_ISS(esr) ((esr)&0x1FFFFFF)
#define EC_UNKNOWN 0x00
#define EC_WFX 0x01
#define EC_HVC64 0x16
#define EC_SMC64 0x17
#define EC_SYSREG 0x18
#define EC_IABT_LOW 0x20
#define EC_IABT_CUR 0x21
#define EC_DABT_LOW 0x24
#define EC_DABT_CUR 0x25

/* Data abort ISS */
#define DABT_ISV (1u << 24)
#define DABT_SAS(iss) (((iss) >> 22) & 3)
#define DABT_SRT(iss) (((iss) >> 16) & 31)
#define DABT_WNR (1u << 6)

static inline uint64_t cpu_mpidr(void)
{
	return read_sysreg(mpidr_el1) & 0xFF00FFFFFFull;
}

#endif /* HV_SYSREGS_H */
