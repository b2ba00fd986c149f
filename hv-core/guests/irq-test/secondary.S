/*
 * secondary.S - entry of the irq-test guest's second vCPU after PSCI CPU_ON:
 * the context id in x0 is its stack top.
 */
	.text
/* PSCI CPU_ON entry of a secondary CPU: x0 = context id = its stack top */
	.global secondary_entry
secondary_entry:
	mov	sp, x0
	mrs	x0, mpidr_el1
	and	x0, x0, #0xff
	bl	secondary_main
2:	wfi
	b	2b
