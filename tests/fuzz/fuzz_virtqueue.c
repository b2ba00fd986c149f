/*
 * fuzz_virtqueue.c - libFuzzer target for hv-core's split-virtqueue walker
 * (hv-core/core/virtio/virtqueue.c, docs/guest-abi.md GABI-483, GABI-486).
 *
 * The input is what a hostile guest controls: the queue's size and ring
 * addresses (the first 32 bytes) and the contents of its RAM (the rest, 16 KiB
 * at most, at IPA 0x40000000). The RAM is an allocation of exactly its size,
 * so AddressSanitizer reports any byte the walker touches outside it. Every
 * chain taken is also checked here: each buffer lies inside the RAM, readable
 * ones come before writable ones, the counts add up, and the walker never
 * takes more chains than the guest made available.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtqueue.h"

#define RAM_IPA 0x40000000ull
#define RAM_MAX 0x4000u

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static void check_chain(const struct vq_chain *c, const struct vq_mem *m)
{
	uint32_t rd = 0, wr = 0, seen_write = 0;
	uint8_t buf[64];

	if (c->nseg == 0 || c->nseg > VQ_MAX_SEGS)
		abort();
	for (uint32_t s = 0; s < c->nseg; s++) {
		const struct vq_seg *g = &c->seg[s];
		if (g->p < m->host || g->len > m->size || g->p - m->host > (long)(m->size - g->len))
			abort();
		if (g->write)
			seen_write = 1, wr += g->len;
		else if (seen_write)
			abort();
		else
			rd += g->len;
	}
	if (rd != c->rd_len || wr != c->wr_len)
		abort();
	/* the copy helpers stay inside the chain's buffers */
	(void)vq_read(c, rd > 8 ? rd - 8 : 0, buf, sizeof(buf));
	memset(buf, 0xA5, sizeof(buf));
	(void)vq_write(c, wr > 8 ? wr - 8 : 0, buf, sizeof(buf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vq q;
	struct vq_chain c;
	size_t ram_len;
	uint8_t *ram;

	if (size < 32)
		return 0;
	ram_len = size - 32 > RAM_MAX ? RAM_MAX : size - 32;
	ram = malloc(ram_len ? ram_len : 1);
	if (!ram)
		return 0;
	memcpy(ram, data + 32, ram_len);
	struct vq_mem m = { RAM_IPA, ram_len, ram };

	memset(&q, 0, sizeof(q));
	q.num = (uint32_t)(get64(data) & 0x3FF);
	/* addresses near the RAM most of the time, anywhere sometimes */
	q.desc = get64(data + 8);
	q.avail = get64(data + 16);
	q.used = get64(data + 24);
	if (!(data[7] & 0x80)) {
		q.desc = RAM_IPA + (q.desc & 0x7FFF);
		q.avail = RAM_IPA + (q.avail & 0x7FFF);
		q.used = RAM_IPA + (q.used & 0x7FFF);
	}
	if (vq_check(&q, &m) == VQ_OK) {
		q.ready = 1;
		for (uint32_t taken = 0;; taken++) {
			int rc = vq_pop(&q, &m, &c);
			if (rc <= 0) {
				if (rc < VQ_E_SEGS || vq_error_name(rc)[0] == 0)
					abort();
				break;
			}
			if (taken >= q.num)
				abort(); /* more than the available index allows */
			check_chain(&c, &m);
			vq_push(&q, c.head, c.wr_len);
		}
		(void)vq_no_interrupt(&q);
	} else if (q.desc_h || q.avail_h || q.used_h) {
		abort(); /* a refused queue keeps no ring addresses */
	}
	free(ram);
	return 0;
}
