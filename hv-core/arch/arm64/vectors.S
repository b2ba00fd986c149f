/*
 * vectors.S - EL2 exception vectors and the guest entry/exit path.
 *
 * An exception from a guest (lower EL) pushes a struct trap_frame (x0-x30, ELR,
 * SPSR) on the CPU's EL2 stack and calls trap_lower_sync()/trap_lower_irq() with
 * a pointer to it; the C code may change the frame (return values, ELR), then the
 * frame is restored and the guest resumed with ERET. hv_enter_guest() resumes a
 * frame built by C, which is how a vCPU starts. Exceptions taken at EL2 itself
 * are hypervisor bugs: trap_current() reports them and halts the CPU.
 */
#include "hvconfig.h"

#define FRAME_SIZE (34 * 8)

.macro SAVE_FRAME
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #0]
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	mrs	x21, elr_el2
	mrs	x22, spsr_el2
	stp	x30, x21, [sp, #240]
	str	x22, [sp, #256]
.endm

.macro VENTRY label
	.balign 0x80
	b	\label
.endm

	.text
	.balign 0x800
	.global hv_vectors
hv_vectors:
	VENTRY	cur_sp0_any		/* current EL, SP0 */
	VENTRY	cur_sp0_any
	VENTRY	cur_sp0_any
	VENTRY	cur_sp0_any
	VENTRY	cur_sync		/* current EL, SPx */
	VENTRY	cur_irq
	VENTRY	cur_fiq
	VENTRY	cur_serror
	VENTRY	low_sync		/* lower EL, AArch64 */
	VENTRY	low_irq
	VENTRY	low_fiq
	VENTRY	low_serror
	VENTRY	low32_any		/* lower EL, AArch32: never enabled (HCR.RW) */
	VENTRY	low32_any
	VENTRY	low32_any
	VENTRY	low32_any

.macro CURRENT kind
	SAVE_FRAME
	mov	x0, sp
	mov	x1, #\kind
	bl	trap_current
	b	hv_halt_cpu
.endm

cur_sp0_any:	CURRENT 0
cur_sync:	CURRENT 1
cur_irq:	CURRENT 2
cur_fiq:	CURRENT 3
cur_serror:	CURRENT 4
low32_any:	CURRENT 5

low_sync:
	SAVE_FRAME
	mov	x0, sp
	bl	trap_lower_sync
	b	restore_frame

low_irq:
low_fiq:
	SAVE_FRAME
	mov	x0, sp
	bl	trap_lower_irq
	b	restore_frame

low_serror:
	SAVE_FRAME
	mov	x0, sp
	bl	trap_lower_serror
	b	restore_frame

/* void hv_enter_guest(struct trap_frame *f): never returns. */
	.global hv_enter_guest
hv_enter_guest:
	mov	sp, x0
restore_frame:
	ldp	x21, x22, [sp, #248]	/* ELR, SPSR */
	msr	elr_el2, x21
	msr	spsr_el2, x22
	ldp	x0, x1, [sp, #0]
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x19, [sp, #144]
	ldp	x20, x21, [sp, #160]
	ldp	x22, x23, [sp, #176]
	ldp	x24, x25, [sp, #192]
	ldp	x26, x27, [sp, #208]
	ldp	x28, x29, [sp, #224]
	ldr	x30, [sp, #240]
	add	sp, sp, #FRAME_SIZE
	eret
