/*
 * channel.h - inter-VM channels (REQ-SAF-07, VMCFG-070..087, GABI-032):
 * shared-memory windows mapped into both VMs with the rights their
 * configuration grants, and doorbells checked on every ring.
 */
#ifndef HV_CHANNEL_H
#define HV_CHANNEL_H
#include <stdint.h>
#include "hvmgmt.h"

struct vm;
struct vmcfg;

/* Maps the channel windows of a newly defined VM into its stage 2 (read-only
 * without "write"). */
enum hvm_status channel_map(struct vm *vm, const struct vmcfg *cfg, char *msg, unsigned len);
/* HVG_HC_DOORBELL from vm for channel id: 0, or HVG_HC_E_DENIED (not granted,
 * counted in doorbells_denied, reported as HVM_EV_DOORBELL_DENIED), or
 * HVG_HC_E_INVALID (id out of range, also counted as denied). */
int64_t channel_doorbell(struct vm *vm, uint64_t id);
/* virtio-net between two VMs (GABI-493): delivers a frame from device `from`
 * to the virtio-net device at the peer's end of its channel, when this end
 * has "write" and the peer's end "read" and the peer is running. 0 or -1. The
 * switch of virtio_set_net_switch(). */
struct virtio_dev;
int channel_net_switch(struct virtio_dev *from, const uint8_t *frame, uint32_t len);
#endif
