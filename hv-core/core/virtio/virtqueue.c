/*
 * virtqueue.c - the device side of a split virtqueue (virtqueue.h). Every
 * value is read from guest memory once, into a local, and checked there: the
 * guest may change its rings while hv-core walks them.
 */
#include <string.h>
#include "virtqueue.h"

struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

uint8_t *vq_map(const struct vq_mem *m, uint64_t ipa, uint64_t len)
{
	if (!m->host || ipa < m->ipa || ipa - m->ipa > m->size || len > m->size - (ipa - m->ipa))
		return NULL;
	return m->host + (ipa - m->ipa);
}

int vq_check(struct vq *q, const struct vq_mem *m)
{
	uint64_t n = q->num;

	q->desc_h = q->avail_h = q->used_h = NULL;
	if (n == 0 || n > VQ_MAX_SIZE || (n & (n - 1)))
		return VQ_E_SIZE;
	if ((q->desc & 15) || (q->avail & 1) || (q->used & 3))
		return VQ_E_RING;
	q->desc_h = vq_map(m, q->desc, 16 * n);
	q->avail_h = vq_map(m, q->avail, 6 + 2 * n);
	q->used_h = vq_map(m, q->used, 6 + 8 * n);
	if (!q->desc_h || !q->avail_h || !q->used_h) {
		q->desc_h = q->avail_h = q->used_h = NULL;
		return VQ_E_RING;
	}
	return VQ_OK;
}

static uint16_t load16(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_ACQUIRE);
}

static void read_desc(const struct vq *q, uint16_t i, struct vq_desc *d)
{
	memcpy(d, q->desc_h + 16u * i, sizeof(*d));
}

int vq_pop(struct vq *q, const struct vq_mem *m, struct vq_chain *c)
{
	uint16_t avail_idx, head, i;
	uint32_t n;

	if (!q->ready || !q->desc_h)
		return 0;
	avail_idx = load16(q->avail_h + 2);
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->num)
		return VQ_E_AVAIL;
	head = load16(q->avail_h + 4 + 2u * (q->last_avail & (q->num - 1)));
	if (head >= q->num)
		return VQ_E_HEAD;
	memset(c, 0, sizeof(*c));
	c->head = head;
	i = head;
	for (n = 0;; n++) {
		struct vq_desc d;
		uint8_t *p;

		if (n >= q->num)
			return VQ_E_LOOP;
		read_desc(q, i, &d);
		if (d.flags & VQ_DESC_F_INDIRECT)
			return VQ_E_INDIRECT;
		p = vq_map(m, d.addr, d.len);
		if (!p)
			return VQ_E_BUFFER;
		if (!(d.flags & VQ_DESC_F_WRITE) && c->wr_len)
			return VQ_E_ORDER;
		if (c->nseg >= VQ_MAX_SEGS)
			return VQ_E_SEGS;
		c->seg[c->nseg].p = p;
		c->seg[c->nseg].len = d.len;
		c->seg[c->nseg].write = (d.flags & VQ_DESC_F_WRITE) != 0;
		c->nseg++;
		if (d.flags & VQ_DESC_F_WRITE)
			c->wr_len += d.len;
		else
			c->rd_len += d.len;
		if (c->rd_len > m->size || c->wr_len > m->size)
			return VQ_E_BUFFER; /* the same memory many times over */
		if (!(d.flags & VQ_DESC_F_NEXT))
			break;
		if (d.next >= q->num)
			return VQ_E_HEAD;
		i = d.next;
	}
	q->last_avail++;
	return 1;
}

void vq_push(struct vq *q, uint16_t head, uint32_t len)
{
	uint8_t *e = q->used_h + 4 + 8u * (q->used_idx & (q->num - 1));
	uint32_t w[2] = { head, len };

	memcpy(e, w, sizeof(w));
	q->used_idx++;
	__atomic_store_n((uint16_t *)(void *)(q->used_h + 2), q->used_idx, __ATOMIC_RELEASE);
}

int vq_no_interrupt(const struct vq *q)
{
	return q->avail_h && (load16(q->avail_h) & VQ_AVAIL_F_NO_INTERRUPT);
}

/* Copies between a flat buffer and the chain's buffers of one direction. */
static uint32_t copy(const struct vq_chain *c, uint32_t write, uint32_t off, uint8_t *flat,
		     uint32_t len, int to_chain)
{
	uint32_t done = 0;

	for (uint32_t s = 0; s < c->nseg && done < len; s++) {
		const struct vq_seg *g = &c->seg[s];
		uint32_t k;

		if (g->write != write)
			continue;
		if (off >= g->len) {
			off -= g->len;
			continue;
		}
		k = g->len - off;
		if (k > len - done)
			k = len - done;
		if (to_chain)
			memcpy(g->p + off, flat + done, k);
		else
			memcpy(flat + done, g->p + off, k);
		done += k;
		off = 0;
	}
	return done;
}

uint32_t vq_read(const struct vq_chain *c, uint32_t off, void *dst, uint32_t len)
{
	return copy(c, 0, off, dst, len, 0);
}

uint32_t vq_write(const struct vq_chain *c, uint32_t off, const void *src, uint32_t len)
{
	return copy(c, 1, off, (uint8_t *)(uintptr_t)src, len, 1);
}

const char *vq_error_name(int e)
{
	static const char *const names[] = {
		"ok",
		"ring outside guest memory",
		"bad queue size",
		"available index too far ahead",
		"descriptor index outside the table",
		"descriptor chain loops",
		"buffer outside guest memory",
		"readable buffer after a writable one",
		"indirect descriptor",
		"too many buffers",
	};
	return e <= 0 && e >= VQ_E_SEGS ? names[-e] : "unknown";
}
