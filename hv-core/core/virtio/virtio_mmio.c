/*
 * virtio_mmio.c - the virtio-mmio transport, version 2 (VIRTIO 1.2 section
 * 4.2.2), and the devices hv-core serves itself: virtio-rng (section 5.4) and
 * virtio-console without multiple ports (section 5.3). docs/guest-abi.md
 * GABI-480..499 is the contract.
 */
#include <string.h>
#include "virtio_mmio.h"
#include "vgic.h"
#include "timer.h"
#include "sha256.h"
#include "log.h"

/* register offsets (VIRTIO 1.2 table 4.1) */
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_VENDOR_ID 0x00c
#define R_DEV_FEATURES 0x010
#define R_DEV_FEATURES_SEL 0x014
#define R_DRV_FEATURES 0x020
#define R_DRV_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INT_STATUS 0x060
#define R_INT_ACK 0x064
#define R_STATUS 0x070
#define R_QUEUE_DESC_LO 0x080
#define R_QUEUE_DESC_HI 0x084
#define R_QUEUE_DRIVER_LO 0x090
#define R_QUEUE_DRIVER_HI 0x094
#define R_QUEUE_DEVICE_LO 0x0a0
#define R_QUEUE_DEVICE_HI 0x0a4
#define R_SHM_LEN_LO 0x0b0
#define R_SHM_BASE_HI 0x0bc
#define R_CONFIG_GEN 0x0fc
#define R_CONFIG 0x100

#define CONSOLE_RX 0u
#define CONSOLE_TX 1u

const char *virtio_type_name(uint32_t type)
{
	switch (type) {
	case VIRTIO_ID_NET:
		return "net";
	case VIRTIO_ID_BLOCK:
		return "blk";
	case VIRTIO_ID_CONSOLE:
		return "console";
	case VIRTIO_ID_RNG:
		return "rng";
	}
	return "unknown";
}

#define NET_RX 0u
#define NET_TX 1u
#define VIRTIO_NET_F_MAC (1ull << 5)

static virtio_net_switch_fn net_switch;

void virtio_set_net_switch(virtio_net_switch_fn fn)
{
	net_switch = fn;
}

static uint32_t nqueues(const struct virtio_dev *d)
{
	return d->cfg.type == VIRTIO_ID_CONSOLE || d->cfg.type == VIRTIO_ID_NET ? 2 : 1;
}

/* virtio-blk (VIRTIO 1.2 section 5.2, GABI-494) */
#define VIRTIO_BLK_F_SIZE_MAX (1ull << 1)
#define VIRTIO_BLK_F_SEG_MAX (1ull << 2)
/* GABI-494: limits that make every request fit its part of the bounce area */
#define BLK_SIZE_MAX 0x1000u
#define BLK_SEG_MAX (HVM_BLK_REQ_BYTES / BLK_SIZE_MAX)
#define VIRTIO_BLK_F_FLUSH (1ull << 9)
#define BLK_T_GET_ID 8u
#define BLK_HDR 16u
#define BLK_ID_LEN 20u

/* GABI-482: VIRTIO_F_VERSION_1 and nothing else; no indirect descriptors, no
 * event index, no VIRTIO_F_ACCESS_PLATFORM (hv-core reads guest memory as the
 * guest's own addresses). */
static uint64_t dev_features(const struct virtio_dev *d)
{
	if (d->cfg.type == VIRTIO_ID_BLOCK)
		return VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_SIZE_MAX | VIRTIO_BLK_F_SEG_MAX |
		       VIRTIO_BLK_F_FLUSH;
	return VIRTIO_F_VERSION_1 | (d->cfg.type == VIRTIO_ID_NET ? VIRTIO_NET_F_MAC : 0);
}

static void raise(struct virtio_dev *d, uint32_t why)
{
	d->int_status |= why;
	d->stats.irqs++;
	vgic_inject(d->vm, NULL, 32 + d->cfg.spi);
}

/* GABI-494: requests posted before a reset or boot are forgotten; what the
 * backend still completes of them is dropped (their epoch is gone). */
static void blk_forget(struct virtio_dev *d)
{
	if (!d->ring)
		return;
	d->blk_epoch++;
	__atomic_store_n(&d->ring->epoch, d->blk_epoch, __ATOMIC_RELEASE);
}

/* Device reset (GABI-485): everything the driver set is forgotten. */
static void dev_reset(struct virtio_dev *d)
{
	blk_forget(d);
	d->status = 0;
	d->dev_feat_sel = d->drv_feat_sel = 0;
	d->drv_features = 0;
	d->queue_sel = 0;
	d->int_status = 0;
	memset(d->q, 0, sizeof(d->q));
}

/* GABI-486: bad input from the guest. The device stops serving and sets
 * DEVICE_NEEDS_RESET with a configuration-change interrupt; one log line per
 * reset of the device, so a guest cannot flood hv-core's console. */
static void refuse(struct virtio_dev *d, int e)
{
	d->stats.errors++;
	d->last_error = e;
	if (d->status & VIRTIO_S_NEEDS_RESET)
		return;
	hv_log("virtio %s at IPA 0x%lx: %s; device needs reset", virtio_type_name(d->cfg.type),
	       (unsigned long)d->cfg.ipa, vq_error_name(e));
	d->status |= VIRTIO_S_NEEDS_RESET;
	d->config_gen++;
	if (d->status & VIRTIO_S_DRIVER_OK)
		raise(d, VIRTIO_INT_CONFIG);
}

/* GABI-491: virtio-rng output, SHA-256 of a per-device key and a counter. */
static void rng_fill(struct virtio_dev *d, uint8_t *p, uint32_t len)
{
	while (len) {
		struct sha256 s;
		uint8_t out[32];
		uint32_t k = len < 32 ? len : 32;

		sha256_init(&s);
		sha256_update(&s, d->rng_key, sizeof(d->rng_key));
		sha256_update(&s, &d->rng_ctr, sizeof(d->rng_ctr));
		sha256_final(&s, out);
		d->rng_ctr++;
		memcpy(p, out, k);
		p += k;
		len -= k;
	}
}

/* Serves one chain of queue qi; returns bytes written into it. */
static uint32_t serve(struct virtio_dev *d, uint32_t qi, const struct vq_chain *c)
{
	uint32_t written = 0;

	if (d->cfg.type == VIRTIO_ID_RNG) {
		for (uint32_t s = 0; s < c->nseg; s++)
			if (c->seg[s].write) {
				rng_fill(d, c->seg[s].p, c->seg[s].len);
				written += c->seg[s].len;
			}
		d->stats.bytes += written;
	} else if (d->cfg.type == VIRTIO_ID_CONSOLE && qi == CONSOLE_TX) {
		for (uint32_t s = 0; s < c->nseg; s++)
			if (!c->seg[s].write && d->out)
				d->out(d->vm, c->seg[s].p, c->seg[s].len);
		d->stats.bytes += c->rd_len;
	}
	return written;
}

/* Completes chain c at once with status st (GABI-494: refused by hv-core). */
static void blk_finish(struct virtio_dev *d, const struct vq_chain *c, uint8_t st)
{
	const struct vq_seg *last = &c->seg[c->nseg - 1];

	last->p[last->len - 1] = st;
	vq_push(&d->q[0], c->head, 1);
	d->stats.requests++;
}

/* Checks chain c as a virtio-blk request and posts it to the backend's ring,
 * or answers it: 1 posted, 0 answered here. */
static int blk_request(struct virtio_dev *d, const struct vq_chain *c)
{
	uint32_t hdr[4], nseg, total = 0, slot;
	const struct vq_seg *last = &c->seg[c->nseg - 1];
	volatile struct hvm_blk_req *r;
	struct virtio_blk_flight *f;
	uint8_t *bounce;
	uint64_t sector;

	/* a readable header, data buffers, a writable status byte last */
	if (c->nseg < 2 || c->seg[0].write || c->seg[0].len < BLK_HDR || !last->write ||
	    last->len < 1) {
		d->stats.errors++;
		if (last->write && last->len)
			blk_finish(d, c, HVM_BLK_S_IOERR);
		else
			vq_push(&d->q[0], c->head, 0);
		return 0;
	}
	memcpy(hdr, c->seg[0].p, sizeof(hdr));
	sector = hdr[2] | (uint64_t)hdr[3] << 32;
	nseg = c->nseg - 2;
	if (hdr[0] == BLK_T_GET_ID) {
		static const char id[BLK_ID_LEN] = "hv-core virtio-blk";
		if (nseg != 1 || !c->seg[1].write || c->seg[1].len < BLK_ID_LEN) {
			blk_finish(d, c, HVM_BLK_S_IOERR);
			return 0;
		}
		memcpy(c->seg[1].p, id, BLK_ID_LEN);
		last->p[last->len - 1] = HVM_BLK_S_OK;
		vq_push(&d->q[0], c->head, BLK_ID_LEN + 1);
		d->stats.requests++;
		return 0;
	}
	if (hdr[0] != HVM_BLK_IN && hdr[0] != HVM_BLK_OUT && hdr[0] != HVM_BLK_FLUSH) {
		blk_finish(d, c, HVM_BLK_S_UNSUPP);
		return 0;
	}
	int bad = nseg > HVM_BLK_SEGS || (hdr[0] == HVM_BLK_FLUSH && nseg != 0);
	for (uint32_t i = 1; !bad && i <= nseg; i++) {
		const struct vq_seg *g = &c->seg[i];
		/* every data buffer lies in the VM's RAM (vq_pop checked it) and
		 * has the direction the request type says; all of them fit the
		 * request's part of the bounce area (VMCFG-852) */
		bad = g->write != (hdr[0] == HVM_BLK_IN) || (g->len % HVM_BLK_SECTOR) ||
		      g->len > HVM_BLK_REQ_BYTES - total;
		if (!bad)
			total += g->len;
	}
	if (!bad && hdr[0] != HVM_BLK_FLUSH)
		bad = sector > d->cfg.capacity / HVM_BLK_SECTOR ||
		      total > d->cfg.capacity - sector * HVM_BLK_SECTOR;
	if (bad || !d->ring) {
		d->stats.errors++;
		blk_finish(d, c, HVM_BLK_S_IOERR);
		return 0;
	}
	slot = d->blk_posted % HVM_BLK_SLOTS;
	bounce = d->bounce + slot * HVM_BLK_REQ_BYTES;
	f = &d->flight[slot];
	f->head = c->head;
	f->type = (uint8_t)hdr[0];
	f->nseg = (uint8_t)nseg;
	f->status = last->p + last->len - 1;
	f->used_len = (hdr[0] == HVM_BLK_IN ? total : 0) + 1;
	f->bytes = total;
	/* the data go through the bounce area: a write's now, a read's when
	 * the backend has finished it (blk_poll) */
	for (uint32_t i = 0, at = 0; i < nseg; i++) {
		f->buf[i].p = c->seg[1 + i].p;
		f->buf[i].len = c->seg[1 + i].len;
		if (hdr[0] == HVM_BLK_OUT)
			memcpy(bounce + at, f->buf[i].p, f->buf[i].len);
		at += f->buf[i].len;
	}
	r = &d->ring->req[slot];
	r->type = hdr[0];
	r->nseg = total ? 1 : 0;
	r->sector = sector;
	r->status = HVM_BLK_S_IOERR;
	r->epoch = d->blk_epoch;
	r->seg[0].off = slot * HVM_BLK_REQ_BYTES;
	r->seg[0].len = total;
	d->blk_posted++;
	__atomic_store_n(&d->ring->posted, d->blk_posted, __ATOMIC_RELEASE);
	return 1;
}

/* Takes available requests while the ring has room; the rest wait in the
 * available ring until completions free a slot (virtio_set_poll). */
static void blk_pump(struct virtio_dev *d)
{
	struct vq *q = &d->q[0];
	struct vq_chain c;
	int rc = 0, answered = 0;

	if (!q->ready || !(d->status & VIRTIO_S_DRIVER_OK) || (d->status & VIRTIO_S_NEEDS_RESET))
		return;
	while (d->blk_posted - d->blk_done < HVM_BLK_SLOTS && (rc = vq_pop(q, &d->mem, &c)) == 1)
		answered |= !blk_request(d, &c);
	if (rc < 0)
		refuse(d, rc);
	if (answered && !vq_no_interrupt(q))
		raise(d, VIRTIO_INT_USED);
}

/* The service tick for a virtio-blk device: what the backend completed. */
static void blk_poll(struct virtio_dev *d)
{
	volatile struct hvm_blk_ring *ring = d->ring;
	uint32_t done, used = 0;

	if (!ring)
		return;
	done = __atomic_load_n(&ring->done, __ATOMIC_ACQUIRE);
	/* a backend that claims more than was posted is not believed */
	if (done - d->blk_done > d->blk_posted - d->blk_done)
		return;
	for (; d->blk_done != done; d->blk_done++) {
		uint32_t slot = d->blk_done % HVM_BLK_SLOTS;
		uint32_t st = ring->req[slot].status;
		const struct virtio_blk_flight *f = &d->flight[slot];

		if (ring->req[slot].epoch != d->blk_epoch || !d->q[0].ready)
			continue; /* posted before a reset: forgotten */
		if (st > HVM_BLK_S_UNSUPP)
			st = HVM_BLK_S_IOERR;
		/* a read: from the bounce area into the guest's buffers, only
		 * as many bytes as the request asked for */
		if (st == HVM_BLK_S_OK && f->type == HVM_BLK_IN) {
			const uint8_t *from = d->bounce + slot * HVM_BLK_REQ_BYTES;
			for (uint32_t i = 0; i < f->nseg && i < HVM_BLK_SEGS; i++) {
				memcpy(f->buf[i].p, from, f->buf[i].len);
				from += f->buf[i].len;
			}
		}
		*f->status = (uint8_t)st;
		vq_push(&d->q[0], f->head, st == HVM_BLK_S_OK ? f->used_len : 1);
		d->stats.requests++;
		d->stats.bytes += st == HVM_BLK_S_OK ? f->bytes : 0;
		if (st != HVM_BLK_S_OK)
			d->stats.errors++;
		used = 1;
	}
	if (used && !vq_no_interrupt(&d->q[0]))
		raise(d, VIRTIO_INT_USED);
	blk_pump(d);
}

void virtio_set_poll(struct virtio_set *s)
{
	for (uint32_t i = 0; i < s->n && i < VIRTIO_MAX_DEVS; i++) {
		struct virtio_dev *d = &s->dev[i];
		if (d->cfg.type != VIRTIO_ID_BLOCK)
			continue;
		spin_lock(&d->lock);
		blk_poll(d);
		spin_unlock(&d->lock);
	}
}

int virtio_set_blk_busy(const struct virtio_set *s)
{
	for (uint32_t i = 0; i < s->n && i < VIRTIO_MAX_DEVS; i++) {
		const struct virtio_dev *d = &s->dev[i];
		if (d->cfg.type == VIRTIO_ID_BLOCK && d->ring &&
		    __atomic_load_n(&d->blk_posted, __ATOMIC_RELAXED) !=
			    __atomic_load_n(&d->blk_done, __ATOMIC_RELAXED))
			return 1;
	}
	return 0;
}

void virtio_blk_attach(struct virtio_dev *d, volatile struct hvm_blk_ring *ring, uint8_t *bounce,
		       uint32_t vm_id)
{
	spin_lock(&d->lock);
	d->ring = ring;
	d->bounce = bounce;
	ring->live = 0;
	ring->magic = HVM_BLK_MAGIC;
	ring->version = HVM_BLK_VERSION;
	ring->size = sizeof(*ring);
	ring->vm_id = vm_id;
	ring->capacity = d->cfg.capacity;
	ring->window_ipa = 0;
	ring->window_pa = (uint64_t)(uintptr_t)bounce; /* hv-core's memory is identity-mapped */
	ring->window_size = HVM_BLK_BOUNCE_SIZE;
	/* a fresh boot: the backend starts from an empty ring */
	blk_forget(d);
	d->blk_posted = d->blk_done = 0;
	ring->posted = 0;
	ring->done = 0;
	__atomic_store_n(&ring->live, 1, __ATOMIC_RELEASE);
	spin_unlock(&d->lock);
}

/* QueueNotify: serves what the driver made available. The console's receive
 * queue keeps its buffers: hv-core has no console input for the guest yet. */
static void notify(struct virtio_dev *d, uint32_t qi)
{
	struct vq_chain c;
	struct vq *q;
	int rc, used = 0;

	d->stats.notifies++;
	if (qi >= nqueues(d) || !d->q[qi].ready) {
		d->stats.errors++; /* a queue that was never set up: ignored */
		d->last_error = VQ_E_RING;
		return;
	}
	if (!(d->status & VIRTIO_S_DRIVER_OK) || (d->status & VIRTIO_S_NEEDS_RESET))
		return;
	if (d->cfg.type == VIRTIO_ID_BLOCK) {
		blk_pump(d);
		return;
	}
	if ((d->cfg.type == VIRTIO_ID_CONSOLE && qi == CONSOLE_RX) ||
	    (d->cfg.type == VIRTIO_ID_NET && qi == NET_RX))
		return; /* receive buffers wait for input */
	q = &d->q[qi];
	while ((rc = vq_pop(q, &d->mem, &c)) == 1) {
		vq_push(q, c.head, serve(d, qi, &c));
		d->stats.requests++;
		used = 1;
	}
	if (rc < 0)
		refuse(d, rc);
	if (used && !vq_no_interrupt(q))
		raise(d, VIRTIO_INT_USED);
}

/* VMCFG-850: at most cfg.rate frames per second leave d, with a burst of a
 * tenth of a second's worth (at least one) after a quiet spell, as doorbells
 * are bounded (VMCFG-701). Each frame sent moves the device's schedule on by
 * one interval; a frame that would run more than the burst ahead of the clock
 * is dropped. Lock-free: the VM's vCPUs may notify the queue at once. */
static int net_rate_ok(struct virtio_dev *d, uint64_t now)
{
	uint32_t rate = d->cfg.rate ? d->cfg.rate : VIRTIO_NET_RATE_DEFAULT;
	uint64_t interval = 1000000000ull / rate;
	uint64_t burst = (rate / 10 ? rate / 10 : 1) * interval;
	uint64_t old = __atomic_load_n(&d->rate_due_ns, __ATOMIC_RELAXED), next;

	do {
		uint64_t t = old > now ? old : now;
		if (t - now >= burst)
			return 0;
		next = t + interval;
	} while (!__atomic_compare_exchange_n(&d->rate_due_ns, &old, next, 0, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return 1;
}

/* GABI-493: virtio-net's transmit queue. Each frame is copied out under the
 * device's lock, which is dropped before the frame goes to the peer device:
 * two VMs sending to each other at once never hold each other's lock. */
static void net_tx(struct virtio_dev *d)
{
	uint8_t frame[VIRTIO_NET_FRAME_MAX];
	struct vq_chain c;
	int first = 1;

	for (;;) {
		struct vq *q = &d->q[NET_TX];
		uint32_t len = 0;
		int rc = 0, ok = 0;

		spin_lock(&d->lock);
		if (first)
			d->stats.notifies++;
		if (!q->ready) {
			if (first) {
				d->stats.errors++;
				d->last_error = VQ_E_RING;
			}
		} else if ((d->status & VIRTIO_S_DRIVER_OK) && !(d->status & VIRTIO_S_NEEDS_RESET)) {
			rc = vq_pop(q, &d->mem, &c);
		}
		first = 0;
		if (rc < 0)
			refuse(d, rc);
		if (rc == 1) {
			/* no offloads were offered: a header and one whole frame */
			if (c.rd_len >= VIRTIO_NET_HDR + 14 &&
			    c.rd_len <= VIRTIO_NET_HDR + VIRTIO_NET_FRAME_MAX) {
				len = c.rd_len - VIRTIO_NET_HDR;
				ok = vq_read(&c, VIRTIO_NET_HDR, frame, len) == len;
			}
			vq_push(q, c.head, 0);
			d->stats.requests++;
			d->stats.bytes += len;
			if (!vq_no_interrupt(q))
				raise(d, VIRTIO_INT_USED);
		}
		spin_unlock(&d->lock);
		if (rc != 1)
			return;
		if (ok && !net_rate_ok(d, timer_uptime_ns()))
			__atomic_add_fetch(&d->stats.limited, 1, __ATOMIC_RELAXED);
		else if (!ok || !net_switch || net_switch(d, frame, len) != 0)
			__atomic_add_fetch(&d->stats.dropped, 1, __ATOMIC_RELAXED);
	}
}

int virtio_net_receive(struct virtio_dev *d, const uint8_t *frame, uint32_t len)
{
	uint8_t hdr[VIRTIO_NET_HDR] = { 0 };
	struct vq_chain c;
	struct vq *q = &d->q[NET_RX];
	int rc, out = -1;

	hdr[10] = 1; /* num_buffers */
	spin_lock(&d->lock);
	if (d->cfg.type == VIRTIO_ID_NET && q->ready && (d->status & VIRTIO_S_DRIVER_OK) &&
	    !(d->status & VIRTIO_S_NEEDS_RESET) && len <= VIRTIO_NET_FRAME_MAX) {
		rc = vq_pop(q, &d->mem, &c);
		if (rc < 0)
			refuse(d, rc);
		if (rc == 1 && c.wr_len >= VIRTIO_NET_HDR + len) {
			vq_write(&c, 0, hdr, VIRTIO_NET_HDR);
			vq_write(&c, VIRTIO_NET_HDR, frame, len);
			vq_push(q, c.head, VIRTIO_NET_HDR + len);
			d->stats.requests++;
			d->stats.bytes += len;
			out = 0;
		} else if (rc == 1) {
			vq_push(q, c.head, 0); /* a buffer too small for the frame */
			d->stats.errors++;
		}
		if (rc == 1 && !vq_no_interrupt(q))
			raise(d, VIRTIO_INT_USED);
	}
	if (out)
		d->stats.dropped++;
	spin_unlock(&d->lock);
	return out;
}

static void write_status(struct virtio_dev *d, uint32_t val)
{
	if (val == 0) {
		dev_reset(d);
		return;
	}
	if ((val & VIRTIO_S_FEATURES_OK) && !(d->status & VIRTIO_S_FEATURES_OK)) {
		/* GABI-482: a driver without VERSION_1 or with a feature not
		 * offered finds FEATURES_OK not set when it reads back */
		if (!(d->drv_features & VIRTIO_F_VERSION_1) || (d->drv_features & ~dev_features(d)))
			val &= ~VIRTIO_S_FEATURES_OK;
	}
	d->status = (val & 0xFFu & ~VIRTIO_S_NEEDS_RESET) | (d->status & VIRTIO_S_NEEDS_RESET);
}

static void set_half(uint64_t *x, int high, uint32_t v)
{
	*x = high ? ((*x & 0xFFFFFFFFull) | ((uint64_t)v << 32)) : ((*x & ~0xFFFFFFFFull) | v);
}

static void write_queue_reg(struct virtio_dev *d, struct vq *q, uint64_t off, uint32_t val)
{
	if (off == R_QUEUE_READY) {
		if (!(val & 1)) {
			q->ready = 0;
			return;
		}
		if (q->ready)
			return;
		int rc = vq_check(q, &d->mem);
		if (rc != VQ_OK) {
			refuse(d, rc);
			return;
		}
		q->last_avail = q->used_idx = 0;
		q->ready = 1;
		return;
	}
	if (q->ready)
		return; /* set-up registers of a live queue are read-only */
	switch (off) {
	case R_QUEUE_NUM:
		q->num = val;
		break;
	case R_QUEUE_DESC_LO:
	case R_QUEUE_DESC_HI:
		set_half(&q->desc, off == R_QUEUE_DESC_HI, val);
		break;
	case R_QUEUE_DRIVER_LO:
	case R_QUEUE_DRIVER_HI:
		set_half(&q->avail, off == R_QUEUE_DRIVER_HI, val);
		break;
	case R_QUEUE_DEVICE_LO:
	case R_QUEUE_DEVICE_HI:
		set_half(&q->used, off == R_QUEUE_DEVICE_HI, val);
		break;
	}
}

static struct vq *selected(struct virtio_dev *d)
{
	return d->queue_sel < nqueues(d) ? &d->q[d->queue_sel] : NULL;
}

static void reg_write(struct virtio_dev *d, uint64_t off, uint32_t val)
{
	struct vq *q = selected(d);

	switch (off) {
	case R_DEV_FEATURES_SEL:
		d->dev_feat_sel = val;
		break;
	case R_DRV_FEATURES_SEL:
		d->drv_feat_sel = val;
		break;
	case R_DRV_FEATURES:
		if (d->drv_feat_sel < 2 && !(d->status & VIRTIO_S_FEATURES_OK))
			set_half(&d->drv_features, d->drv_feat_sel == 1, val);
		break;
	case R_QUEUE_SEL:
		d->queue_sel = val;
		break;
	case R_QUEUE_NOTIFY:
		notify(d, val);
		break;
	case R_INT_ACK:
		d->int_status &= ~val;
		break;
	case R_STATUS:
		write_status(d, val);
		break;
	case R_QUEUE_NUM:
	case R_QUEUE_READY:
	case R_QUEUE_DESC_LO:
	case R_QUEUE_DESC_HI:
	case R_QUEUE_DRIVER_LO:
	case R_QUEUE_DRIVER_HI:
	case R_QUEUE_DEVICE_LO:
	case R_QUEUE_DEVICE_HI:
		if (q)
			write_queue_reg(d, q, off, val);
		break;
	default:
		break; /* read-only or reserved: ignored */
	}
}

static uint32_t reg_read(struct virtio_dev *d, uint64_t off)
{
	struct vq *q = selected(d);

	switch (off) {
	case R_MAGIC:
		return VIRTIO_MMIO_MAGIC;
	case R_VERSION:
		return 2;
	case R_DEVICE_ID:
		return d->cfg.type;
	case R_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case R_DEV_FEATURES:
		return d->dev_feat_sel < 2 ? (uint32_t)(dev_features(d) >> (32 * d->dev_feat_sel))
					   : 0;
	case R_QUEUE_NUM_MAX:
		return q ? VQ_MAX_SIZE : 0;
	case R_QUEUE_NUM:
		return q ? q->num : 0;
	case R_QUEUE_READY:
		return q ? q->ready : 0;
	case R_INT_STATUS:
		return d->int_status;
	case R_STATUS:
		return d->status;
	case R_CONFIG_GEN:
		return d->config_gen;
	default:
		/* no shared memory regions: SHMLen and SHMBase read as all ones */
		if (off >= R_SHM_LEN_LO && off <= R_SHM_BASE_HI)
			return 0xFFFFFFFFu;
		return 0;
	}
}

void virtio_set_reset(struct virtio_set *s, struct vm *vm, const struct vq_mem *mem,
		      const struct virtio_dev_cfg *cfg, uint32_t n, virtio_out_fn out)
{
	if (n > VIRTIO_MAX_DEVS)
		n = VIRTIO_MAX_DEVS;
	s->n = n;
	for (uint32_t i = 0; i < n; i++) {
		struct virtio_dev *d = &s->dev[i];
		uint64_t seed[4] = { timer_count(), cfg[i].ipa, (uint64_t)(uintptr_t)vm, i };

		spin_lock(&d->lock);
		d->cfg = cfg[i];
		d->vm = vm;
		d->mem = *mem;
		d->out = out;
		dev_reset(d);
		d->config_gen = 0;
		d->last_error = 0;
		memset(&d->stats, 0, sizeof(d->stats));
		sha256(seed, sizeof(seed), d->rng_key);
		/* a locally administered MAC, the same at every boot of the slot */
		uint64_t who[3] = { (uint64_t)(uintptr_t)vm, cfg[i].ipa, cfg[i].channel };
		uint8_t h[32];
		sha256(who, sizeof(who), h);
		d->mac[0] = 0x02;
		d->mac[1] = 0x41;
		d->mac[2] = 0x56;
		memcpy(d->mac + 3, h, 3);
		d->rng_ctr = 0;
		d->rate_due_ns = 0;
		spin_unlock(&d->lock);
	}
}

struct virtio_dev *virtio_claims(struct virtio_set *s, uint64_t ipa)
{
	for (uint32_t i = 0; i < s->n && i < VIRTIO_MAX_DEVS; i++)
		if (ipa >= s->dev[i].cfg.ipa && ipa - s->dev[i].cfg.ipa < VIRTIO_WINDOW)
			return &s->dev[i];
	return NULL;
}

int virtio_access(struct virtio_dev *d, uint64_t ipa, int is_write, unsigned bytes, uint64_t *val)
{
	uint64_t off = ipa - d->cfg.ipa;

	if (off & (bytes - 1))
		return -1;
	spin_lock(&d->lock);
	if (off >= R_CONFIG) {
		/* GABI-481: configuration space, 8, 16 or 32 bits wide. The
		 * devices served have none (virtio-rng) or only fields of
		 * features not offered (virtio-console): reads give 0, writes
		 * are ignored. */
		spin_unlock(&d->lock);
		if (bytes > 4)
			return -1;
		if (!is_write) {
			*val = 0;
			/* virtio-blk: capacity (sectors) at 0, size_max at 8,
			 * seg_max at 12 (GABI-494) */
			if (d->cfg.type == VIRTIO_ID_BLOCK) {
				uint8_t cs[16];
				uint64_t cap = d->cfg.capacity / HVM_BLK_SECTOR;
				uint32_t size_max = BLK_SIZE_MAX, seg_max = BLK_SEG_MAX;
				memcpy(cs, &cap, 8);
				memcpy(cs + 8, &size_max, 4);
				memcpy(cs + 12, &seg_max, 4);
				for (uint64_t k = 0; k < bytes; k++)
					if (off - R_CONFIG + k < sizeof(cs))
						*val |= (uint64_t)cs[off - R_CONFIG + k] << (8 * k);
			}
			/* virtio-net: mac[6] at offset 0 (GABI-493) */
			for (uint64_t k = 0; d->cfg.type == VIRTIO_ID_NET && k < bytes; k++)
				if (off - R_CONFIG + k < sizeof(d->mac))
					*val |= (uint64_t)d->mac[off - R_CONFIG + k] << (8 * k);
		}
		return 0;
	}
	if (bytes != 4) {
		spin_unlock(&d->lock);
		return -1;
	}
	if (is_write && off == R_QUEUE_NOTIFY && d->cfg.type == VIRTIO_ID_NET &&
	    (uint32_t)*val == NET_TX) {
		spin_unlock(&d->lock);
		net_tx(d);
		return 0;
	}
	if (is_write)
		reg_write(d, off, (uint32_t)*val);
	else
		*val = reg_read(d, off);
	spin_unlock(&d->lock);
	return 0;
}
