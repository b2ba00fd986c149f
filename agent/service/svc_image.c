/*
 * svc_image.c - LoadImage (hvmgr.v1, client streaming): replaces the image of
 * a shut-off VM through hv-core's LOAD_IMAGE (MGMT-048, REQ-SAF-12).
 *
 * The order is chosen so that nothing reaches hv-core that hv-agent already
 * knows to be wrong, and a refusal changes nothing:
 *   1. the header: VM, image index (0 boot image, 1 initrd), size (at most
 *      the VM's image or initrd slot as hv-core publishes it, MGMT-701, and
 *      the staging area) and a 32-byte SHA-256; the VM must be shut off or
 *      crashed (MGMT-045), so a running VM and an oversized image are
 *      refused before any upload;
 *   2. the chunks go straight into the staging area (hvlink_staging_write),
 *      never more than the declared size, while their SHA-256 is computed
 *      (mbedTLS);
 *   3. a digest other than the declared one is refused here: hv-core is not
 *      asked (the client's bytes were not what it meant to send);
 *   4. LOAD_IMAGE as the agent's one operation in progress (agent_op_enter);
 *      hv-core checks the digest against the VM's configuration and copies
 *      the image into the VM's image-store slot, or answers E_HASH and keeps
 *      the slot as it was.
 * The staging area is apart from every image slot (MGMT-302); an image is
 * staged at its top end, 2 MiB aligned (docs/api.md "LoadImage"). One upload owns the staging area at a time; a
 * second one is refused with ABORTED instead of waiting for a slow client.
 * Every outcome is audited (REQ-SAF-16).
 */
#include "agent.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "log.h"

#define STAGE_ALIGN 0x200000ull /* 2 MiB, hv-core's slot granularity (MGMT-047) */

static void hex32(const uint8_t d[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

struct upload {
	struct agent *ag;
	const Hvmgr__V1__LoadImageHeader *hdr;
	struct hvm_vm_slot slot;
	char label[96];
	uint64_t stage_off, received;
};

/* Step 1: the header and the VM. */
static int check_header(struct upload *u, struct hv_status *st)
{
	const Hvmgr__V1__LoadImageHeader *h = u->hdr;
	uint64_t base, size;

	if (h->image_index > 1)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "load-image: image_index %u is not 0 (boot image) or 1 (initrd)",
				     h->image_index);
	if (h->sha256.len != 32)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "load-image: sha256 is %zu bytes, a SHA-256 digest is 32",
				     h->sha256.len);
	if (h->total_size == 0)
		return hv_status_set(st, HV_INVALID_ARGUMENT, "load-image: total_size is 0");
	if (resolve_vm(u->ag, h->vm, &u->slot, u->label, sizeof u->label, st) != 0)
		return -1;
	if (u->slot.state != HVM_VM_SHUTOFF && u->slot.state != HVM_VM_CRASHED)
		return hv_status_set(st, HV_FAILED_PRECONDITION,
				     "load-image %s: the VM is %s; an image is loaded only into a shut-off or crashed VM (MGMT-045)",
				     u->label, u->slot.state == HVM_VM_PAUSED ? "paused" : "running");
	if (hvlink_staging_info(u->ag->link, &base, &size, st) != 0)
		return -1;
	if (h->total_size > size)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED,
				     "load-image %s: %" PRIu64 " bytes do not fit the %" PRIu64
				     "-byte image staging area",
				     u->label, h->total_size, size);
	/* MGMT-701: an image larger than the VM's slot is refused before a byte
	 * reaches the staging area (hv-core refuses it too, MGMT-302). An
	 * hv-core older than ABI 2.2 publishes no slot sizes (image_slot_bytes
	 * 0): it alone decides then. */
	uint64_t slot = h->image_index ? u->slot.initrd_slot_bytes : u->slot.image_slot_bytes;
	if (u->slot.image_slot_bytes && h->total_size > slot)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED,
				     "load-image %s: %" PRIu64 " bytes exceed the VM's %" PRIu64
				     "-byte %s slot (MGMT-701); nothing was written",
				     u->label, h->total_size, slot,
				     h->image_index ? "initrd" : "image");
	u->stage_off = (size - h->total_size) & ~(STAGE_ALIGN - 1);
	return 0;
}

/* Step 2: the chunks, into the staging area, hashed on the way. */
static int receive(struct upload *u, struct rpc_stream *s, uint8_t digest[32], struct hv_status *st)
{
	mbedtls_sha256_context sha;
	int rc = -1;

	mbedtls_sha256_init(&sha);
	mbedtls_sha256_starts_ret(&sha, 0);
	for (;;) {
		ProtobufCMessage *m;
		int got = rpc_stream_recv(s, &hvmgr__v1__load_image_request__descriptor, &m, st);
		if (got < 0)
			goto out;
		if (got == 0)
			break;
		const Hvmgr__V1__LoadImageRequest *r = (const Hvmgr__V1__LoadImageRequest *)m;
		if (r->part_case != HVMGR__V1__LOAD_IMAGE_REQUEST__PART_DATA) {
			hv_status_set(st, HV_INVALID_ARGUMENT,
				      "load-image %s: only the first message may be a header; message after byte %" PRIu64
				      " is not data",
				      u->label, u->received);
		} else if (r->data.len > u->hdr->total_size - u->received) {
			hv_status_set(st, HV_INVALID_ARGUMENT,
				      "load-image %s: more bytes than the declared total_size %" PRIu64,
				      u->label, u->hdr->total_size);
		} else if (hvlink_staging_write(u->ag->link, u->stage_off + u->received,
						r->data.data, r->data.len, st) == 0) {
			mbedtls_sha256_update_ret(&sha, r->data.data, r->data.len);
			u->received += r->data.len;
			protobuf_c_message_free_unpacked(m, NULL);
			continue;
		}
		protobuf_c_message_free_unpacked(m, NULL);
		goto out;
	}
	if (u->received != u->hdr->total_size) {
		hv_status_set(st, HV_INVALID_ARGUMENT,
			      "load-image %s: the stream ended after %" PRIu64
			      " of the declared %" PRIu64 " bytes",
			      u->label, u->received, u->hdr->total_size);
		goto out;
	}
	mbedtls_sha256_finish_ret(&sha, digest);
	rc = 0;
out:
	mbedtls_sha256_free(&sha);
	return rc;
}

/* Step 4: LOAD_IMAGE, as the one operation in progress. */
static int load(struct upload *u, struct hv_status *st)
{
	struct hvm_vm_slot now;
	struct hvlink_reply rep;
	char what[128];
	int rc = -1;

	if (agent_op_enter(u->ag, "LOAD_IMAGE", st) != 0)
		return -1;
	/* The VM may have been undefined and its id reused during the upload. */
	if (hvlink_read_slot(u->ag->link, u->slot.id, &now, st) != 0)
		goto out;
	if (!now.defined || memcmp(now.uuid, u->slot.uuid, 16) != 0 ||
	    strcmp(now.name, u->slot.name) != 0) {
		hv_status_set(st, HV_NOT_FOUND,
			      "load-image %s: the VM was undefined during the upload", u->label);
		goto out;
	}
	struct hvlink_cmd c = { .cmd = HVM_CMD_LOAD_IMAGE, .vm_id = u->slot.id };
	c.arg[0] = u->stage_off;
	c.arg[1] = u->received;
	c.arg[2] = u->hdr->image_index;
	snprintf(what, sizeof what, "load-image %s", u->label);
	if (core_submit(u->ag->link, &c, &rep, what, st) == CORE_OK)
		rc = 0;
out:
	agent_op_leave(u->ag);
	return rc;
}

void svc_load_image(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_stream *s,
		    struct hv_status *st)
{
	const Hvmgr__V1__LoadImageRequest *req = (const Hvmgr__V1__LoadImageRequest *)m;
	struct agent *ag = ctx->app;
	struct upload u = { .ag = ag };
	uint8_t digest[32];
	char args[320], sel[128] = "", want[65] = "", got[65];
	int owner = 0;

	snprintf(args, sizeof args, "(no header)");
	if (req->part_case != HVMGR__V1__LOAD_IMAGE_REQUEST__PART_HEADER || !req->header) {
		hv_status_set(st, HV_INVALID_ARGUMENT,
			      "load-image: the first message must be the header (VM, image_index, total_size, sha256)");
		goto audit;
	}
	u.hdr = req->header;
	audit_selector(u.hdr->vm, sel, sizeof sel);
	if (u.hdr->sha256.len == 32)
		hex32(u.hdr->sha256.data, want);
	snprintf(args, sizeof args, "%s image_index=%u size=%" PRIu64 " sha256=%s", sel,
		 u.hdr->image_index, u.hdr->total_size, want[0] ? want : "(malformed)");
	if (check_header(&u, st) != 0)
		goto audit;
	if (__atomic_exchange_n(&ag->staging_busy, 1, __ATOMIC_ACQ_REL) != 0) {
		hv_status_set(st, HV_ABORTED,
			      "load-image %s: another image upload is using the staging area; try again",
			      u.label);
		goto audit;
	}
	owner = 1;
	if (receive(&u, s, digest, st) != 0)
		goto audit;
	/* Step 3: what arrived must be what the client declared. */
	if (memcmp(digest, u.hdr->sha256.data, 32) != 0) {
		hex32(digest, got);
		hv_status_set(st, HV_INVALID_ARGUMENT,
			      "load-image %s: the %" PRIu64
			      " bytes received have SHA-256 %s, not the declared %s; not passed to hv-core",
			      u.label, u.received, got, want);
		goto audit;
	}
	if (load(&u, st) != 0)
		goto audit;
	log_info("load-image %s: image %u, %" PRIu64 " bytes loaded", u.label, u.hdr->image_index,
		 u.received);

	Hvmgr__V1__LoadImageResponse resp = HVMGR__V1__LOAD_IMAGE_RESPONSE__INIT;
	struct hvm_vm_slot after;
	struct vm_msg vm;
	if (hvlink_read_slot(ag->link, u.slot.id, &after, st) == 0 &&
	    vm_msg_merged(ag, &vm, &after, st) == 0) {
		resp.vm = &vm.vm;
		resp.bytes = u.received;
		if (rpc_stream_send(s, &resp.base, st) == 0)
			hv_status_ok(st);
	}
audit:
	if (owner)
		__atomic_store_n(&ag->staging_busy, 0, __ATOMIC_RELEASE);
	agent_audit(ag, ctx->peer, "LoadImage", args, st);
}
