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

/* Write-to-buffer (0xE8): up to BUF_WORDS words of one aligned buffer in one
 * operation; the device (and QEMU's model) commits the buffer at once. */
#define CMD_WRITE_BUFFER 0xE8u
#define BUF_BYTES 256u
#define BUF_WORDS (BUF_BYTES / 4u)

int pflash_program(uint64_t base, uint64_t off, const void *src, uint64_t len)
{
	const uint8_t *s = src;
	int rc = 0;
	volatile uint32_t *first = word(base, off);
	*first = CMD(CMD_CLEAR_STATUS);
	for (uint64_t i = 0; i + 4 <= len && rc == 0;) {
		/* the words up to the end of this buffer-aligned chunk */
		uint64_t chunk_end = ((off + i) / BUF_BYTES + 1) * BUF_BYTES - off;
		if (chunk_end > (len & ~3ull))
			chunk_end = len & ~3ull;
		uint32_t n = (uint32_t)((chunk_end - i) / 4);
		int blank = 1;
		for (uint32_t k = 0; k < n && blank; k++) {
			uint32_t v;
			memcpy(&v, s + i + 4 * k, 4);
			blank = v == 0xFFFFFFFFu;
		}
		if (!blank) {
			volatile uint32_t *w = word(base, off + i);
			*w = CMD(CMD_WRITE_BUFFER);
			rc = wait_ready(w);
			if (rc == 0) {
				*w = CMD(n - 1);
				for (uint32_t k = 0; k < n; k++) {
					uint32_t v;
					memcpy(&v, s + i + 4 * k, 4);
					*word(base, off + i + 4 * k) = v;
				}
				*w = CMD(CMD_CONFIRM);
				rc = wait_ready(w);
			}
		}
		i = chunk_end;
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
