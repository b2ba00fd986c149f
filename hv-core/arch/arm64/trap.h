/*
 * trap.h - the register frame vectors.S saves on every exception from a guest,
 * and the C entry points it calls.
 */
#ifndef HV_TRAP_H
#define HV_TRAP_H
#include <stdint.h>

struct trap_frame {
	uint64_t x[31];
	uint64_t elr;  /* guest PC to resume at                   */
	uint64_t spsr; /* guest PSTATE                            */
	uint64_t pad;  /* keeps the frame a multiple of 16 bytes  */
};
_Static_assert(sizeof(struct trap_frame) == 34 * 8, "frame layout matches vectors.S");

void trap_lower_sync(struct trap_frame *f);
void trap_lower_irq(struct trap_frame *f);
void trap_lower_serror(struct trap_frame *f);
void trap_current(struct trap_frame *f, uint64_t kind);
/* VMCFG-700: turns the guest's stage-2 abort (ESR_EL2 esr, a data or
 * instruction abort from EL1 or EL0) into a synchronous external abort taken
 * at its EL1: ESR_EL1, FAR_EL1, ELR_EL1 and SPSR_EL1 are set as the hardware
 * would, and f resumes at the guest's vector for it. */
void trap_inject_sea(struct trap_frame *f, uint64_t esr);
/* Resumes a frame at EL1; never returns. */
void hv_enter_guest(struct trap_frame *f) __attribute__((noreturn));
#endif
