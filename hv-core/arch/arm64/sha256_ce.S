/*
 * sha256_ce.S - SHA-256 compression with the Armv8 Cryptographic Extension
 * (SHA256H, SHA256H2, SHA256SU0, SHA256SU1), for core/base/sha256.c.
 *
 *   void sha256_ce_blocks(uint32_t h[8], const uint8_t *p, uint64_t nblocks,
 *                         const uint32_t k[64]);
 *
 * hv-core does not switch a guest's FP/SIMD registers at its exits, so the
 * vector registers used here are saved on entry and restored before return:
 * the routine may run on any CPU. Callers check ID_AA64ISAR0_EL1.SHA2 first.
 */
	.arch armv8-a+crypto
	.text
	.global sha256_ce_blocks
	.type sha256_ce_blocks, %function

/* Four rounds with the words in \w (and the next four constants), then,
 * with \next set, \w becomes the words of the group four groups later. */
.macro quad w, w1, w2, w3, next
	ld1	{v18.4s}, [x4], #16
	add	v16.4s, \w\().4s, v18.4s
	mov	v17.16b, v0.16b
	sha256h	q0, q1, v16.4s
	sha256h2 q1, q17, v16.4s
	.if \next
	sha256su0 \w\().4s, \w1\().4s
	sha256su1 \w\().4s, \w2\().4s, \w3\().4s
	.endif
.endm

sha256_ce_blocks:
	sub	sp, sp, #192
	stp	q0, q1, [sp]
	stp	q2, q3, [sp, #32]
	stp	q4, q5, [sp, #64]
	stp	q6, q7, [sp, #96]
	stp	q16, q17, [sp, #128]
	str	q18, [sp, #160]
	ld1	{v0.4s, v1.4s}, [x0]
	cbz	x2, 2f
1:	ld1	{v4.16b, v5.16b, v6.16b, v7.16b}, [x1], #64
	rev32	v4.16b, v4.16b
	rev32	v5.16b, v5.16b
	rev32	v6.16b, v6.16b
	rev32	v7.16b, v7.16b
	mov	v2.16b, v0.16b
	mov	v3.16b, v1.16b
	mov	x4, x3
	quad	v4, v5, v6, v7, 1
	quad	v5, v6, v7, v4, 1
	quad	v6, v7, v4, v5, 1
	quad	v7, v4, v5, v6, 1
	quad	v4, v5, v6, v7, 1
	quad	v5, v6, v7, v4, 1
	quad	v6, v7, v4, v5, 1
	quad	v7, v4, v5, v6, 1
	quad	v4, v5, v6, v7, 1
	quad	v5, v6, v7, v4, 1
	quad	v6, v7, v4, v5, 1
	quad	v7, v4, v5, v6, 1
	quad	v4, v5, v6, v7, 0
	quad	v5, v6, v7, v4, 0
	quad	v6, v7, v4, v5, 0
	quad	v7, v4, v5, v6, 0
	add	v0.4s, v0.4s, v2.4s
	add	v1.4s, v1.4s, v3.4s
	subs	x2, x2, #1
	b.ne	1b
	st1	{v0.4s, v1.4s}, [x0]
2:	ldp	q0, q1, [sp]
	ldp	q2, q3, [sp, #32]
	ldp	q4, q5, [sp, #64]
	ldp	q6, q7, [sp, #96]
	ldp	q16, q17, [sp, #128]
	ldr	q18, [sp, #160]
	add	sp, sp, #192
	ret
	.size sha256_ce_blocks, . - sha256_ce_blocks
