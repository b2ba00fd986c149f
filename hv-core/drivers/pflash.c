/*
 * pflash.c - CFI NOR flash, Intel command set (see pflash.h). Every command is
 * written to both x16 devices of the 32-bit bus at once. The operations are
 * synchronous: they poll the status register until the device is ready and
 * return the bank to read-array mode.
 */
#include <string.h>
#include "pflash.h"

#define CMD(c) ((uint32_t)(c)*0x00010001u)
#define CMD_READ_ARRAY 0xFFu
#define CMD_CLEAR_STATUS 0x50u
#define CMD_PROGRAM 0x40u
#define CMD_ERASE 0x20u
#define CMD_CONFIRM 0xD0u
#define SR_READY 0x80u
#define SR_ERRORS 0x3Au /* erase, program, voltage and lock errors */
#define POLL_MAX 10000000u

static volatile uint32_t *word(uint64_t base, uint64_t off)
{
	return (volatile uint32_t *)(uintptr_t)(base + off);
}

/* Waits for ready; 0 when the status shows no error on either device. */
static int wait_ready(volatile uint32_t *w)
{
	uint32_t sr = 0;
	for (uint32_t i = 0; i < POLL_MAX; i++) {
		sr = *w;
		if ((sr & CMD(SR_READY)) == CMD(SR_READY))
			break;
	}
	int ok = (sr & CMD(SR_READY)) == CMD(SR_READY) && (sr & CMD(SR_ERRORS)) == 0;
	if (!ok)
		*w = CMD(CMD_CLEAR_STATUS);
	return ok ? 0 : -1;
}

int pflash_erase(uint64_t base, uint64_t off)
{
	volatile uint32_t *w = word(base, off & ~(uint64_t)(PFLASH_BLOCK - 1));
	*w = CMD(CMD_CLEAR_STATUS);
	*w = CMD(CMD_ERASE);
	*w = CMD(CMD_CONFIRM);
	int rc = wait_ready(w);
	*w = CMD(CMD_READ_ARRAY);
	return rc;
}

int pflash_program(uint64_t base, uint64_t off, const void *src, uint64_t len)
{
	const uint8_t *s = src;
	int rc = 0;
	volatile uint32_t *first = word(base, off);
	*first = CMD(CMD_CLEAR_STATUS);
	for (uint64_t i = 0; i + 4 <= len && rc == 0; i += 4) {
		uint32_t v;
		memcpy(&v, s + i, 4);
		if (v == 0xFFFFFFFFu)
			continue; /* erased already */
		volatile uint32_t *w = word(base, off + i);
		*w = CMD(CMD_PROGRAM);
		*w = v;
		rc = wait_ready(w);
	}
	*first = CMD(CMD_READ_ARRAY);
	return rc;
}

void pflash_read(uint64_t base, uint64_t off, void *dst, uint64_t len)
{
	uint8_t *d = dst;
	for (uint64_t i = 0; i + 4 <= len; i += 4) {
		uint32_t v = *word(base, off + i);
		memcpy(d + i, &v, 4);
	}
}
