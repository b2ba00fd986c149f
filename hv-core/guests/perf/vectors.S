/*
 * vectors.S - the perf guest's EL1 vector table: an IRQ from the current EL is
 * acknowledged, counted in perf_irqs and ended in ten instructions (the
 * virtual timer turned off on the way, whichever interrupt it was), so that
 * the SGI and timer figures measure hv-core's injection and the architectural
 * minimum of taking a virtual interrupt, not a guest's interrupt handler. Nothing else is
 * expected: any other exception parks the CPU.
 */
.macro PARK
	.balign 0x80
1:	wfe
	b	1b
.endm

	.text
	.balign 0x800
	.global perf_vectors
perf_vectors:
	PARK			/* current EL, SP0: sync, IRQ, FIQ, SError */
	PARK
	PARK
	PARK
	PARK			/* current EL, SPx: sync */
	.balign 0x80		/* current EL, SPx: IRQ */
	stp	x0, x1, [sp, #-16]!
	mrs	x0, S3_0_C12_C12_0	/* ICC_IAR1_EL1 */
	msr	cntv_ctl_el0, xzr	/* the virtual timer off (level: before the EOI) */
	msr	S3_0_C12_C12_1, x0	/* ICC_EOIR1_EL1 */
	adrp	x1, perf_irqs
	ldr	w0, [x1, :lo12:perf_irqs]
	add	w0, w0, #1
	str	w0, [x1, :lo12:perf_irqs]
	ldp	x0, x1, [sp], #16
	eret
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
