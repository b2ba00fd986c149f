/*
 * vectors.S - EL1 vector table of the sea-catch guest: a synchronous
 * exception from EL1 (with SP_EL1) calls sync_dispatch() (main.c), which
 * decides where to resume; anything else parks the CPU.
 */
.macro PARK
	.balign 0x80
1:	wfe
	b	1b
.endm

	.text
	.balign 0x800
	.global sea_vectors
sea_vectors:
	PARK			/* current EL, SP0: sync, IRQ, FIQ, SError */
	PARK
	PARK
	PARK
	.balign 0x80		/* current EL, SPx: sync */
	b	sync_entry
	PARK			/* IRQ */
	PARK			/* FIQ */
	PARK			/* SError */
	PARK			/* lower EL: never used */
	PARK
	PARK
	PARK
	PARK
	PARK
	PARK
	PARK

sync_entry:
	sub	sp, sp, #176
	stp	x0, x1, [sp, #0]
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x29, [sp, #144]
	str	x30, [sp, #160]
	bl	sync_dispatch
	ldp	x0, x1, [sp, #0]
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x29, [sp, #144]
	ldr	x30, [sp, #160]
	add	sp, sp, #176
	eret
