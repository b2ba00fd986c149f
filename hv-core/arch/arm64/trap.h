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
/* Resumes a frame at EL1; never returns. */
void hv_enter_guest(struct trap_frame *f) __attribute__((noreturn));
#endif
