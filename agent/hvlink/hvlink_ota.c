/*
 * hvlink_ota.c - the OTA commands of docs/mgmt-abi.md section 15 as plain C
 * calls: OTA_INSTALL of an image already in the staging area (MGMT-620, with
 * the signed manifest of MGMT-643 or the bare digest of MGMT-612),
 * OTA_SWITCH (MGMT-621) and OTA_STATUS (MGMT-613).
 *
 * The image itself goes to the staging area first, with
 * hvlink_staging_write, as for LOAD_IMAGE; these calls only build the
 * command's data area and check what hv-core writes back. Like
 * hvlink_command they return 0 when hv-core answered (reply->status says
 * whether it accepted) and -1 when it could not be asked.
 */
#include "hvlink_priv.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

int hvlink_ota_install_signed(struct hvlink *l, uint32_t vm_id, uint32_t kind, uint64_t stage_off,
			      uint64_t len, const void *manifest, size_t manifest_len,
			      const void *sigblock, size_t sigblock_len, struct hvlink_reply *rep,
			      struct hv_status *st)
{
	struct hvm_ota_signed h = { .magic = HVM_OTA_SIGNED_MAGIC,
				    .manifest_len = (uint32_t)manifest_len,
				    .sigblock_len = (uint32_t)sigblock_len };

	if (kind > HVLINK_OTA_INITRD)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "OTA_INSTALL: kind %u is neither the image (0) nor the initrd (1) "
				     "(MGMT-663)",
				     kind);
	if (manifest_len == 0 || manifest_len > HVM_OTA_MANIFEST_MAX || sigblock_len == 0 ||
	    sigblock_len > HVM_OTA_SIGBLOCK_MAX)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "OTA_INSTALL: a manifest of %zu bytes (1..%u) and a signature "
				     "block of %zu bytes (1..%u) (MGMT-643)",
				     manifest_len, HVM_OTA_MANIFEST_MAX, sigblock_len,
				     HVM_OTA_SIGBLOCK_MAX);
	size_t n = sizeof h + manifest_len + sigblock_len;
	uint8_t *data = malloc(n);
	if (!data)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "OTA_INSTALL: out of memory");
	memcpy(data, &h, sizeof h);
	memcpy(data + sizeof h, manifest, manifest_len);
	memcpy(data + sizeof h + manifest_len, sigblock, sigblock_len);
	struct hvlink_cmd c = { .cmd = HVM_CMD_OTA_INSTALL,
				.vm_id = vm_id,
				.arg = { stage_off, len, 1, kind },
				.data_in = data,
				.data_in_len = n,
				.timeout_ms = HVLINK_OTA_TIMEOUT_MS };
	int rc = hvlink_command(l, &c, rep, st);
	free(data);
	return rc;
}

int hvlink_ota_install_digest(struct hvlink *l, uint32_t vm_id, uint32_t kind, uint64_t stage_off,
			      uint64_t len, const uint8_t sha256[32], const char *version,
			      struct hvlink_reply *rep, struct hv_status *st)
{
	struct hvm_ota_image img = { .magic = HVM_OTA_IMAGE_MAGIC, .size = len };

	if (kind > HVLINK_OTA_INITRD)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "OTA_INSTALL: kind %u is neither the image (0) nor the initrd (1) "
				     "(MGMT-663)",
				     kind);
	if (strlen(version) >= sizeof img.version)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "OTA_INSTALL: version '%.40s' is longer than %zu characters "
				     "(MGMT-612)",
				     version, sizeof img.version - 1);
	memcpy(img.sha256, sha256, 32);
	memcpy(img.version, version, strlen(version));
	struct hvlink_cmd c = { .cmd = HVM_CMD_OTA_INSTALL,
				.vm_id = vm_id,
				.arg = { stage_off, len, 0, kind },
				.data_in = &img,
				.data_in_len = sizeof img,
				.timeout_ms = HVLINK_OTA_TIMEOUT_MS };
	return hvlink_command(l, &c, rep, st);
}

int hvlink_ota_switch(struct hvlink *l, uint32_t vm_id, uint64_t window_ms, uint64_t timeout_ms,
		      struct hvlink_reply *rep, struct hv_status *st)
{
	struct hvlink_cmd c = { .cmd = HVM_CMD_OTA_SWITCH,
				.vm_id = vm_id,
				.arg = { window_ms, timeout_ms },
				.timeout_ms = HVLINK_OTA_TIMEOUT_MS };
	return hvlink_command(l, &c, rep, st);
}

int hvlink_ota_status(struct hvlink *l, uint32_t vm_id, uint64_t deadline_ns,
		      struct hvm_ota_status *out, struct hvlink_reply *rep, struct hv_status *st)
{
	struct hvlink_cmd c = { .cmd = HVM_CMD_OTA_STATUS,
				.vm_id = vm_id,
				.deadline_ns = deadline_ns,
				.data_out = out,
				.data_out_cap = sizeof *out };

	memset(out, 0, sizeof *out);
	if (hvlink_command(l, &c, rep, st) != 0)
		return -1;
	if (rep->status != HVM_OK)
		return 0;
	if (out->magic != HVM_OTA_STATUS_MAGIC || out->version != HVM_OTA_STATUS_VERSION ||
	    out->size < offsetof(struct hvm_ota_status, initrd) || out->vm_id != vm_id)
		return hv_status_set(st, HV_INTERNAL,
				     "OTA_STATUS of VM %u: hv-core wrote a record with magic "
				     "0x%x, version %u, size %u, vm %u (MGMT-613)",
				     vm_id, out->magic, out->version, out->size, out->vm_id);
	/* MGMT-665: an hv-core before ABI 2.5 writes no initrd slots */
	if (out->size < sizeof *out)
		memset(out->initrd, 0, sizeof out->initrd);
	/* never trust the region: the strings end inside their fields */
	out->floor[sizeof out->floor - 1] = '\0';
	for (int i = 0; i < 2; i++) {
		out->slot[i].version[sizeof out->slot[i].version - 1] = '\0';
		out->initrd[i].version[sizeof out->initrd[i].version - 1] = '\0';
	}
	return 0;
}
