/*
 * virtqueue.h - the split virtqueue of VIRTIO 1.2 section 2.7, device side:
 * checking a queue's rings when the driver makes it ready, taking the next
 * descriptor chain from the available ring and returning it on the used ring
 * (docs/guest-abi.md GABI-490..499).
 *
 * Everything a guest wrote is hostile (REQ-SAF-09): every ring, descriptor and
 * buffer must lie inside the guest memory the device was given (struct
 * vq_mem), a chain may not loop, be longer than the queue, name a descriptor
 * outside the table or put a readable buffer after a writable one, and the
 * available index may not run more than the queue size ahead. A breach is a
 * VQ_E_* error and nothing is read or written outside that memory.
 *
 * Portable C with no allocation: compiled into hv-core and into the host's
 * fuzz target (tests/fuzz/fuzz_virtqueue.c).
 */
#ifndef HV_VIRTQUEUE_H
#define HV_VIRTQUEUE_H
#include <stdint.h>

#define VQ_MAX_SIZE 256u /* QueueNumMax of every queue                       */
#define VQ_MAX_SEGS 32u  /* buffers in one chain hv-core takes               */

#define VQ_DESC_F_NEXT 1u
#define VQ_DESC_F_WRITE 2u
#define VQ_DESC_F_INDIRECT 4u
#define VQ_AVAIL_F_NO_INTERRUPT 1u

/* Errors: what the guest did wrong. */
enum vq_error {
	VQ_OK = 0,
	VQ_E_RING = -1,     /* a ring is outside guest memory or misaligned      */
	VQ_E_SIZE = -2,     /* queue size 0, not a power of two, above the max   */
	VQ_E_AVAIL = -3,    /* available index more than the queue size ahead    */
	VQ_E_HEAD = -4,     /* a descriptor index outside the table              */
	VQ_E_LOOP = -5,     /* a chain longer than the queue: it loops           */
	VQ_E_BUFFER = -6,   /* a buffer outside guest memory                      */
	VQ_E_ORDER = -7,    /* a readable buffer after a writable one            */
	VQ_E_INDIRECT = -8, /* an indirect descriptor (the feature is not offered) */
	VQ_E_SEGS = -9,     /* more than VQ_MAX_SEGS buffers                      */
};

/* The guest memory a device may touch: guest-physical [ipa, ipa + size) is at
 * host address host. */
struct vq_mem {
	uint64_t ipa;
	uint64_t size;
	uint8_t *host;
};

/* One queue as the driver set it up through the transport. */
struct vq {
	uint32_t num;   /* QueueNum                                            */
	uint32_t ready; /* QueueReady                                          */
	uint64_t desc;  /* IPAs of the descriptor table, driver and device area */
	uint64_t avail;
	uint64_t used;
	uint16_t last_avail; /* next available entry hv-core takes               */
	uint16_t used_idx;   /* next used entry hv-core writes                   */
	/* host addresses of the rings, valid while ready (vq_check) */
	uint8_t *desc_h, *avail_h, *used_h;
};

struct vq_seg {
	uint8_t *p; /* host address of the buffer                           */
	uint32_t len;
	uint32_t write; /* device-writable                                    */
};

struct vq_chain {
	uint16_t head;
	uint32_t nseg;
	uint32_t rd_len; /* bytes in readable buffers                         */
	uint32_t wr_len; /* bytes in writable buffers                         */
	struct vq_seg seg[VQ_MAX_SEGS];
};

/* Host address of guest-physical [ipa, ipa + len) when it lies wholly inside
 * m, else NULL. len 0 is inside when ipa is. */
uint8_t *vq_map(const struct vq_mem *m, uint64_t ipa, uint64_t len);
/* Checks the queue's size and rings against m and fills the host addresses;
 * the driver is making it ready. VQ_OK or VQ_E_SIZE/VQ_E_RING. */
int vq_check(struct vq *q, const struct vq_mem *m);
/* Takes the next available chain into c: 1 when one was taken, 0 when the
 * ring is empty, or a VQ_E_* error (nothing taken). */
int vq_pop(struct vq *q, const struct vq_mem *m, struct vq_chain *c);
/* Returns chain head to the driver with len bytes written into it. */
void vq_push(struct vq *q, uint16_t head, uint32_t len);
/* Whether the driver asked for no interrupt (VIRTQ_AVAIL_F_NO_INTERRUPT). */
int vq_no_interrupt(const struct vq *q);
/* Copies up to len bytes of the chain's readable buffers from offset off into
 * dst; returns the count copied. */
uint32_t vq_read(const struct vq_chain *c, uint32_t off, void *dst, uint32_t len);
/* Copies up to len bytes into the chain's writable buffers from offset off;
 * returns the count copied. */
uint32_t vq_write(const struct vq_chain *c, uint32_t off, const void *src, uint32_t len);
/* A name for a VQ_E_* code, for logs and counters. */
const char *vq_error_name(int e);
#endif
