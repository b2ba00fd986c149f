/*
 * start.S - entry of hv-core's bare-metal test guests. The image begins with an
 * arm64 Image header (magic "ARM\x64" at 0x38), which is how hv-core recognises
 * a guest image in the image store. Runs at EL1 with the MMU off.
 */
	.section .text.head, "ax"
	.global _start
_start:
	b	entry
	.long	0
	.quad	0			/* text_offset */
	.quad	__image_size		/* image_size, .bss included */
	.quad	0xA
	.quad	0, 0, 0
	.ascii	"ARM\x64"
	.long	0

	.text
entry:
	mov	x19, x0			/* guest device tree IPA, 0 if none */
	ldr	x1, =__stack_top
	mov	sp, x1
	ldr	x1, =__bss_start
	ldr	x2, =__bss_end
1:	cmp	x1, x2
	b.hs	2f
	str	xzr, [x1], #8
	b	1b
2:	mov	x0, x19
	bl	guest_main
3:	wfi
	b	3b
