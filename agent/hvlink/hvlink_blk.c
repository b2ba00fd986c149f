/*
 * hvlink_blk.c - the header of a VM's virtio-blk request ring (docs/mgmt-abi.md
 * MGMT-860), read for hv-agent's supervision of the ring's backend process.
 * The ring is between hv-core and that process; hv-agent only looks.
 */
#include "hvlink_priv.h"

#include <string.h>

int hvlink_read_blk(struct hvlink *l, uint32_t id, struct hvlink_blk *out, struct hv_status *st)
{
	memset(out, 0, sizeof *out);
	if (id >= HVM_MAX_VMS)
		return hv_status_set(st, HV_NOT_FOUND, "no virtio-blk ring for VM id %u (%u rings)",
				     id, HVM_MAX_VMS);
	if (link_get(l, st) != 0)
		return -1;
	const volatile struct hvm_blk_ring *r =
		(const volatile struct hvm_blk_ring *)(l->base + HVM_OFF_BLK + (size_t)id * 0x1000u);
	uint32_t live = __atomic_load_n(&r->live, __ATOMIC_ACQUIRE);
	out->valid = live && r->magic == HVM_BLK_MAGIC && r->version == HVM_BLK_VERSION &&
		     r->size == sizeof(struct hvm_blk_ring) && r->vm_id == id;
	if (out->valid) {
		out->capacity = r->capacity;
		out->epoch = r->epoch;
		out->posted = r->posted;
		out->done = r->done;
		out->backend_pid = r->backend_pid;
		out->backend_beat = r->backend_beat;
	}
	link_put(l);
	return 0;
}
