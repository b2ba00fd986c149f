/*
 * hvlink_slots.c - reading VM status slots (MGMT-150) and fault records
 * (MGMT-160) with the gen protocol, and finding a VM by name, uuid or id.
 *
 * hv-core makes gen odd while it writes a record and even afterwards. A copy
 * taken between two equal, even reads of gen is consistent. A writer that died
 * mid-write would leave gen odd forever: the retry is bounded in time and ends
 * with UNAVAILABLE naming the record, never with a hang.
 */
#include "hvlink_priv.h"

#include "deadline.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define GEN_RETRY_MS 200u /* give a busy writer 200 ms */

static int gen_copy(const volatile void *src, const volatile uint32_t *gen, void *dst, size_t len,
		    const char *what, uint32_t id, struct hv_status *st)
{
	uint64_t deadline = hv_deadline_after_ms(GEN_RETRY_MS);
	unsigned round = 0;

	for (;;) {
		uint32_t g1 = __atomic_load_n(gen, __ATOMIC_ACQUIRE);
		if ((g1 & 1u) == 0) {
			memcpy(dst, (const void *)src, len);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			uint32_t g2 = __atomic_load_n(gen, __ATOMIC_RELAXED);
			if (g1 == g2)
				return 0;
		}
		if (hv_mono_ns() > deadline)
			return hv_status_set(st, HV_UNAVAILABLE,
					     "%s %u stayed inconsistent for %u ms (gen %u): hv-core stopped while writing it",
					     what, id, GEN_RETRY_MS,
					     __atomic_load_n(gen, __ATOMIC_RELAXED));
		link_backoff(&round);
	}
}

static void terminate_strings(struct hvm_vm_slot *s)
{
	s->name[HVM_NAME_LEN - 1] = '\0';
	s->image_version[HVM_VERSION_LEN - 1] = '\0';
}

/* With the mapping held. */
static int read_slot_locked(struct hvlink *l, uint32_t id, struct hvm_vm_slot *out,
			    struct hv_status *st)
{
	const volatile uint8_t *p = l->base + l->lay.off_slots + (size_t)id * l->lay.slot_size;
	const volatile struct hvm_vm_slot *s = (const volatile struct hvm_vm_slot *)p;

	if (gen_copy(s, &s->gen, out, sizeof *out, "VM status slot", id, st) != 0)
		return -1;
	terminate_strings(out);
	/* A slot that claims another index is not believed (REQ-SAF-09 spirit:
	 * bad input never travels further as if it were good). */
	if (out->defined && out->id != id)
		return hv_status_set(st, HV_DATA_LOSS, "VM status slot %u claims id %u", id, out->id);
	return 0;
}

int hvlink_read_slot(struct hvlink *l, uint32_t id, struct hvm_vm_slot *out, struct hv_status *st)
{
	if (link_get(l, st) != 0)
		return -1;
	int rc;
	if (id >= l->lay.max_vms)
		rc = hv_status_set(st, HV_NOT_FOUND, "no VM with id %u (the hypervisor has %u slots)",
				   id, l->lay.max_vms);
	else
		rc = read_slot_locked(l, id, out, st);
	link_put(l);
	return rc;
}

int hvlink_wait_not_blocked(struct hvlink *l, uint32_t id, uint64_t until_ns, bool (*stop)(void),
			    struct hvm_vm_slot *out, struct hv_status *st)
{
	for (;;) {
		if (hvlink_read_slot(l, id, out, st) != 0)
			return -1;
		if (out->state != HVM_VM_BLOCKED || hv_mono_ns() >= until_ns || (stop && stop()))
			return 0;
		struct timespec ts = { 0, 20000000L };
		nanosleep(&ts, NULL);
	}
}

int hvlink_read_slots(struct hvlink *l, struct hvm_vm_slot out[HVM_MAX_VMS], uint32_t *defined_mask,
		      struct hv_status *st)
{
	uint32_t mask = 0;

	if (link_get(l, st) != 0)
		return -1;
	memset(out, 0, sizeof(struct hvm_vm_slot) * HVM_MAX_VMS);
	for (uint32_t i = 0; i < l->lay.max_vms; i++) {
		if (read_slot_locked(l, i, &out[i], st) != 0) {
			link_put(l);
			return -1;
		}
		if (out[i].defined)
			mask |= 1u << i;
	}
	link_put(l);
	*defined_mask = mask;
	return 0;
}

enum find_by {
	BY_NAME,
	BY_UUID
};

static int find(struct hvlink *l, enum find_by by, const void *key, struct hvm_vm_slot *out,
		struct hv_status *st)
{
	struct hvm_vm_slot slots[HVM_MAX_VMS];
	uint32_t mask;

	if (hvlink_read_slots(l, slots, &mask, st) != 0)
		return -1;
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		if (!(mask & (1u << i)))
			continue;
		if ((by == BY_NAME && strcmp(slots[i].name, key) == 0) ||
		    (by == BY_UUID && memcmp(slots[i].uuid, key, 16) == 0)) {
			*out = slots[i];
			return 0;
		}
	}
	if (by == BY_NAME)
		return hv_status_set(st, HV_NOT_FOUND, "no VM named '%s'", (const char *)key);
	const uint8_t *u = key;
	return hv_status_set(st, HV_NOT_FOUND,
			     "no VM with uuid %02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			     u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
			     u[11], u[12], u[13], u[14], u[15]);
}

int hvlink_find_by_name(struct hvlink *l, const char *name, struct hvm_vm_slot *out,
			struct hv_status *st)
{
	return find(l, BY_NAME, name, out, st);
}

int hvlink_find_by_uuid(struct hvlink *l, const uint8_t uuid[16], struct hvm_vm_slot *out,
			struct hv_status *st)
{
	return find(l, BY_UUID, uuid, out, st);
}

int hvlink_find_by_id(struct hvlink *l, uint32_t id, struct hvm_vm_slot *out, struct hv_status *st)
{
	if (hvlink_read_slot(l, id, out, st) != 0)
		return -1;
	if (!out->defined)
		return hv_status_set(st, HV_NOT_FOUND, "no VM with id %u", id);
	return 0;
}

/* MGMT-162: a record without its header is not believed (like a slot that
 * claims another index): its registers would be read at the wrong offsets. */
static int check_fault_header(const struct hvm_fault *f, uint32_t id, struct hv_status *st)
{
	if (f->magic != HVM_FAULT_MAGIC)
		return hv_status_set(st, HV_DATA_LOSS,
				     "fault record %u: magic 0x%08x, expected 0x%08x \"HVFR\" (MGMT-162)",
				     id, f->magic, HVM_FAULT_MAGIC);
	if (f->version != HVM_FAULT_VERSION)
		return hv_status_set(st, HV_DATA_LOSS,
				     "fault record %u: version %u, expected %u (MGMT-162)", id,
				     f->version, HVM_FAULT_VERSION);
	if (f->size != sizeof *f)
		return hv_status_set(st, HV_DATA_LOSS,
				     "fault record %u: size field %u, expected %zu (MGMT-162)", id,
				     f->size, sizeof *f);
	return 0;
}

int hvlink_read_fault(struct hvlink *l, uint32_t id, struct hvm_fault *out, struct hv_status *st)
{
	if (link_get(l, st) != 0)
		return -1;
	int rc;
	if (id >= l->lay.max_vms) {
		rc = hv_status_set(st, HV_NOT_FOUND, "no VM with id %u", id);
	} else {
		const volatile uint8_t *p =
			l->base + l->lay.off_faults + (size_t)id * l->lay.fault_size;
		const volatile struct hvm_fault *f = (const volatile struct hvm_fault *)p;
		rc = gen_copy(f, &f->gen, out, sizeof *out, "fault record", id, st);
		if (rc == 0)
			rc = check_fault_header(out, id, st);
	}
	link_put(l);
	return rc;
}
