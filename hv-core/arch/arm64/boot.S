/*
 * boot.S - hv-core entry points at EL2.
 *
 * The image starts with an arm64 Linux Image header so that QEMU's -kernel (and
 * any boot loader that boots Linux) loads it at a 2 MiB boundary above its boot
 * stub (0x40200000 on QEMU virt, see linker.ld) and enters it at EL2 with
 * x0 = the platform device tree. Secondary CPUs enter at hv_secondary_entry
 * through PSCI CPU_ON with x0 = their logical CPU index.
 * Both paths set up the CPU's own stack and call C with the MMU still off; the
 * C code is built with -mstrict-align so that is safe.
 */
#include "hvconfig.h"

	.section .text.head, "ax"
	.global _start
_start:
	b	hv_primary_entry	/* code0                                  */
	.long	0			/* code1                                  */
	.quad	0			/* text_offset: load at RAM base          */
	.quad	HV_IMAGE_SIZE		/* image_size: image + bss + heap         */
	.quad	0xA			/* flags: LE, 4 KiB pages, any placement  */
	.quad	0, 0, 0			/* res2..res4                             */
	.ascii	"ARM\x64"		/* magic at 0x38                          */
	.long	0			/* res5                                   */

	.text
hv_primary_entry:
	msr	daifset, #0xf
	mov	x19, x0
	mrs	x1, CurrentEL
	cmp	x1, #(2 << 2)
	b.ne	not_el2
	/* hv-core is not position independent: it must run where it was linked */
	adr	x1, _start
	ldr	x2, =_start
	cmp	x1, x2
	b.ne	wrong_place

	/* zero .bss (aligned to 16 bytes by the linker script) */
	ldr	x1, =__bss_start
	ldr	x2, =__bss_end
1:	cmp	x1, x2
	b.hs	2f
	stp	xzr, xzr, [x1], #16
	b	1b
2:
	mov	x0, #0
	bl	cpu_early_setup
	mov	x0, x19
	bl	hv_main
	b	hv_halt_cpu

	.global hv_secondary_entry
hv_secondary_entry:
	msr	daifset, #0xf
	mov	x19, x0
	bl	cpu_early_setup
	mov	x0, x19
	bl	hv_secondary_main
	b	hv_halt_cpu

/* cpu_early_setup(x0 = cpu index): stack, vectors, FP/SIMD access. Clobbers x1-x3. */
cpu_early_setup:
	cmp	x0, #HV_MAX_CPUS
	b.hs	hv_halt_cpu
	ldr	x1, =hv_stacks
	mov	x2, #HV_STACK_SIZE
	add	x3, x0, #1
	madd	x1, x2, x3, x1
	mov	sp, x1
	ldr	x1, =hv_vectors
	msr	vbar_el2, x1
	ldr	x1, =0x32FF		/* CPTR_EL2: RES1 bits, TFP = 0 */
	msr	cptr_el2, x1
	isb
	ret

/* void fpsimd_zero(void): FP/SIMD registers, FPCR and FPSR to zero before a
 * vCPU's first entry, so a VM never sees what an earlier VM on this physical
 * CPU left in them (GABI-061). hv-core's C code uses no FP/SIMD registers
 * (-mgeneral-regs-only), so nothing of hv-core's is in them either. */
	.arch	armv8-a+fp+simd
	.global fpsimd_zero
fpsimd_zero:
	movi	v0.2d, #0
	movi	v1.2d, #0
	movi	v2.2d, #0
	movi	v3.2d, #0
	movi	v4.2d, #0
	movi	v5.2d, #0
	movi	v6.2d, #0
	movi	v7.2d, #0
	movi	v8.2d, #0
	movi	v9.2d, #0
	movi	v10.2d, #0
	movi	v11.2d, #0
	movi	v12.2d, #0
	movi	v13.2d, #0
	movi	v14.2d, #0
	movi	v15.2d, #0
	movi	v16.2d, #0
	movi	v17.2d, #0
	movi	v18.2d, #0
	movi	v19.2d, #0
	movi	v20.2d, #0
	movi	v21.2d, #0
	movi	v22.2d, #0
	movi	v23.2d, #0
	movi	v24.2d, #0
	movi	v25.2d, #0
	movi	v26.2d, #0
	movi	v27.2d, #0
	movi	v28.2d, #0
	movi	v29.2d, #0
	movi	v30.2d, #0
	movi	v31.2d, #0
	msr	fpcr, xzr
	msr	fpsr, xzr
	ret

not_el2:
wrong_place:
	/* Not entered at EL2, or loaded elsewhere than 0x40200000: there is no
	 * console yet (and no safe way to run C), so stop here. */
	b	hv_halt_cpu

	.global hv_halt_cpu
hv_halt_cpu:
	msr	daifset, #0xf
3:	wfi
	b	3b
