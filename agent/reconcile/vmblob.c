/*
 * vmblob.c - reads vm-name and uuid from a configuration blob (vmblob.h).
 */
#include "vmblob.h"

#include <stdint.h>
#include <string.h>

#include <libfdt.h>

#include "uuid.h"

int vmblob_identity(const void *blob, size_t len, struct vmblob_id *out, struct hv_status *st)
{
	const char *p;
	int plen;

	memset(out, 0, sizeof *out);
	if (len < sizeof(struct fdt_header) || fdt_check_header(blob) != 0 ||
	    fdt_totalsize(blob) > len)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "configuration is not a valid flattened device tree (compile the .dts with dtc -O dtb)");
	p = fdt_getprop(blob, 0, "vm-name", &plen);
	if (!p || plen < 2 || p[plen - 1] != '\0' || strlen(p) != (size_t)plen - 1)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "configuration has no vm-name string in its root node (VMCFG-020)");
	if ((size_t)plen - 1 > VMBLOB_NAME_MAX)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "vm-name is longer than %d characters (VMCFG-020)",
				     VMBLOB_NAME_MAX);
	memcpy(out->name, p, (size_t)plen);

	p = fdt_getprop(blob, 0, "uuid", &plen);
	if (!p)
		return 0;
	uint8_t u[16];
	if (plen == 16) {
		memcpy(u, p, 16);
	} else if (plen == 37 && p[36] == '\0') {
		if (hv_uuid_parse(p, u) != 0)
			return hv_status_set(st, HV_INVALID_ARGUMENT,
					     "uuid '%s' is not 8-4-4-4-12 hex digits (VMCFG-021)", p);
	} else {
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "uuid is neither 16 bytes nor a 36-character string (VMCFG-021)");
	}
	static const uint8_t zero[16];
	if (memcmp(u, zero, 16) != 0)
		hv_uuid_format(u, out->uuid);
	return 0;
}
