/*
 * virtio_mmio.h - VIRTIO devices served by hv-core over the virtio-mmio
 * transport, version 2 (VIRTIO 1.2 section 4.2; no legacy interface), as the
 * AVPS asks of a virtual platform (REQ-AVP-01, REQ-STD-08). The guest-side
 * contract is docs/guest-abi.md GABI-480..499; the configuration that declares
 * the devices is docs/vm-config.md VMCFG-480..489.
 *
 * A device's 512-byte register window is never mapped in stage 2: every access
 * traps and is decoded here, on the vCPU that made it. A queue notification
 * is served at once on that vCPU (virtio-rng fills the buffers, virtio-console
 * copies its output to the VM's console); the used-buffer interrupt is the
 * device's virtual SPI. Devices touch only the memory of their own VM.
 */
#ifndef HV_VIRTIO_MMIO_H
#define HV_VIRTIO_MMIO_H
#include <stdint.h>
#include "spinlock.h"
#include "virtqueue.h"
#include "hvmgmt.h"

#define VIRTIO_MAX_DEVS 4u             /* devices per VM (VMCFG_MAX_VIRTIO)            */
#define VIRTIO_MAX_QUEUES 2u           /* queues of the devices served so far          */
#define VIRTIO_WINDOW 0x200ull         /* bytes of one register window               */
#define VIRTIO_MMIO_MAGIC 0x74726976u  /* "virt"                                  */
#define VIRTIO_MMIO_VENDOR 0x54525641u /* "AVRT"                                 */

/* VIRTIO 1.2 section 5: device ids */
#define VIRTIO_ID_NET 1u
#define VIRTIO_ID_BLOCK 2u
#define VIRTIO_ID_CONSOLE 3u
#define VIRTIO_ID_RNG 4u

/* device status bits (section 2.1) */
#define VIRTIO_S_ACKNOWLEDGE 1u
#define VIRTIO_S_DRIVER 2u
#define VIRTIO_S_DRIVER_OK 4u
#define VIRTIO_S_FEATURES_OK 8u
#define VIRTIO_S_NEEDS_RESET 0x40u
#define VIRTIO_S_FAILED 0x80u

#define VIRTIO_F_VERSION_1 (1ull << 32)

/* InterruptStatus bits */
#define VIRTIO_INT_USED 1u
#define VIRTIO_INT_CONFIG 2u

/* One device as the VM's configuration declares it. */
struct virtio_dev_cfg {
	uint32_t type;     /* VIRTIO_ID_*                                     */
	uint32_t spi;      /* its interrupt: INTID 32 + spi                    */
	uint64_t ipa;      /* its register window, VIRTIO_WINDOW bytes         */
	uint32_t channel;  /* virtio-net: id of the channel end it sends on  */
	uint32_t rate;     /* virtio-net: frames per second it may send (VMCFG-850) */
	uint64_t capacity; /* virtio-blk: bytes of its disk (VMCFG-851)         */
};

/* Counters of one device (hvctl domstats). */
struct virtio_stats {
	uint64_t notifies; /* queue notifications taken                      */
	uint64_t requests; /* descriptor chains completed                    */
	uint64_t bytes;    /* bytes moved to or from the guest's buffers     */
	uint64_t errors;   /* bad input refused (GABI-486)                    */
	uint64_t irqs;     /* interrupts raised                              */
	uint64_t dropped;  /* virtio-net: frames not delivered               */
	uint64_t limited;  /* virtio-net: frames over its frame-rate, dropped */
};

struct vm;
typedef void (*virtio_out_fn)(struct vm *vm, const uint8_t *p, uint32_t n);

struct virtio_dev {
	spinlock_t lock; /* all of the device's state                     */
	struct virtio_dev_cfg cfg;
	struct vm *vm; /* owner: interrupts go to its vGIC                */
	struct vq_mem mem;
	virtio_out_fn out; /* virtio-console output                      */
	uint32_t status;
	uint32_t dev_feat_sel, drv_feat_sel;
	uint64_t drv_features;
	uint32_t queue_sel;
	uint32_t int_status;
	uint32_t config_gen;
	int last_error; /* VQ_E_* of the last refusal                      */
	struct vq q[VIRTIO_MAX_QUEUES];
	struct virtio_stats stats;
	uint8_t mac[6];      /* virtio-net: its MAC address (config space)      */
	uint8_t rng_key[32]; /* virtio-rng: SHA-256 in counter mode        */
	uint64_t rng_ctr;
	uint64_t rate_due_ns; /* virtio-net: when the next frame is due (VMCFG-850) */
	/* virtio-blk (GABI-494): the ring its backend serves (MGMT-860), the
	 * bounce area its data pass through (VMCFG-852) and what hv-core keeps
	 * of each request posted there */
	volatile struct hvm_blk_ring *ring;
	uint8_t *bounce; /* HVM_BLK_BOUNCE_SIZE bytes, request slot n at n * HVM_BLK_REQ_BYTES */
	uint32_t blk_posted, blk_done, blk_epoch;
	struct virtio_blk_flight {
		uint16_t head;     /* the chain's head descriptor              */
		uint8_t type;      /* HVM_BLK_IN, _OUT or _FLUSH               */
		uint8_t nseg;      /* the guest's data buffers                 */
		uint8_t *status;   /* its status byte, host address            */
		uint32_t used_len; /* data bytes + 1 for the status, for IN   */
		uint32_t bytes;    /* data bytes, either way                   */
		struct virtio_blk_buf {
			uint8_t *p; /* in the VM's RAM, checked by vq_pop   */
			uint32_t len;
		} buf[HVM_BLK_SEGS]; /* IN: where the bounce area's bytes go */
	} flight[HVM_BLK_SLOTS];
};

struct virtio_set {
	uint32_t n;
	struct virtio_dev dev[VIRTIO_MAX_DEVS];
};

/* At every boot of the VM: the devices of cfg[0..n) in their reset state,
 * serving guest memory mem; out receives virtio-console output. */
void virtio_set_reset(struct virtio_set *s, struct vm *vm, const struct vq_mem *mem,
		      const struct virtio_dev_cfg *cfg, uint32_t n, virtio_out_fn out);
/* The device whose window holds ipa, or NULL. */
struct virtio_dev *virtio_claims(struct virtio_set *s, uint64_t ipa);
/* A trapped access of bytes (1, 2, 4 or 8) at ipa in d's window. 0, or -1
 * for an access the transport does not allow (a register not read or
 * written 32 bits wide, misaligned): a guest fault. */
int virtio_access(struct virtio_dev *d, uint64_t ipa, int is_write, unsigned bytes, uint64_t *val);
/* virtio-net (GABI-493): a frame is at most this long, without the header */
#define VIRTIO_NET_FRAME_MAX 1514u
#define VIRTIO_NET_HDR 12u
/* VMCFG-850: frames per second a virtio-net device sends when its
 * configuration names no frame-rate */
#define VIRTIO_NET_RATE_DEFAULT 10000u
/* Delivers a frame the guest of `from` sent to the device at the other end
 * of its channel; 0 when delivered, -1 when refused or dropped. Registered by
 * the inter-VM channel code; called with no device lock held. */
typedef int (*virtio_net_switch_fn)(struct virtio_dev *from, const uint8_t *frame, uint32_t len);
void virtio_set_net_switch(virtio_net_switch_fn fn);
/* Puts a frame into d's receive queue: 0, or -1 when d's driver has no
 * buffer for it (the frame is dropped and counted) or d is not live. */
int virtio_net_receive(struct virtio_dev *d, const uint8_t *frame, uint32_t len);

/* virtio-blk (GABI-494): d serves its requests through ring (MGMT-860),
 * their data copied through bounce (HVM_BLK_BOUNCE_SIZE bytes of hv-core's
 * own memory, the only data the backend maps); called after virtio_set_reset
 * at every boot. */
void virtio_blk_attach(struct virtio_dev *d, volatile struct hvm_blk_ring *ring, uint8_t *bounce,
		       uint32_t vm_id);
/* The service tick: completes in the guest what the backend finished. */
void virtio_set_poll(struct virtio_set *s);
/* MGMT-862: whether a virtio-blk device of s has requests with its backend
 * (a hint read without the devices' locks). A vCPU of the VM waiting in WFI
 * then looks at the ring every VIRTIO_BLK_POLL_NS (virtio_set_poll) instead
 * of leaving the completions to the service tick. */
#define VIRTIO_BLK_POLL_NS 200000ull
int virtio_set_blk_busy(const struct virtio_set *s);

/* Name of a device type for logs and hvctl ("rng", "console", ...). */
const char *virtio_type_name(uint32_t type);
#endif
