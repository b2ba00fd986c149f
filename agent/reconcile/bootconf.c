/*
 * bootconf.c - the VMs of hv-core's boot configuration, each as a single-VM
 * configuration blob (bootconf.h).
 */
#include "bootconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

/* Writes node sn of src, its properties and its children, in their order. */
static int emit_node(const void *src, int sn, void *dst)
{
	int off, child;

	fdt_for_each_property_offset(off, src, sn)
	{
		const char *name;
		int len;
		const void *val = fdt_getprop_by_offset(src, off, &name, &len);
		if (!val || fdt_property(dst, name, val, len) != 0)
			return -1;
	}
	fdt_for_each_subnode(child, src, sn)
	{
		const char *name = fdt_get_name(src, child, NULL);
		if (!name || fdt_begin_node(dst, name) != 0 || emit_node(src, child, dst) != 0 ||
		    fdt_end_node(dst) != 0)
			return -1;
	}
	return 0;
}

/* Node sn of src as the root of a blob of its own. */
static void *extract(const void *src, int sn, size_t *len)
{
	size_t size = fdt_totalsize(src) + 1024;
	void *buf = malloc(size);

	if (!buf)
		return NULL;
	if (fdt_create(buf, (int)size) != 0 || fdt_finish_reservemap(buf) != 0 ||
	    fdt_begin_node(buf, "") != 0 || emit_node(src, sn, buf) != 0 ||
	    fdt_end_node(buf) != 0 || fdt_finish(buf) != 0) {
		free(buf);
		return NULL;
	}
	*len = fdt_totalsize(buf);
	return buf;
}

static bool flag(const void *blob, int node, const char *name)
{
	int len;
	const fdt32_t *p = fdt_getprop(blob, node, name, &len);
	return p && (len == 0 || (len == 4 && fdt32_to_cpu(*p) == 1));
}

int bootconf_parse(const void *blob, size_t len, const char *source, struct bootconf **out,
		   struct hv_status *st)
{
	struct bootconf *b;
	int vms, node;

	*out = NULL;
	if (len < sizeof(struct fdt_header) || fdt_check_header(blob) != 0 ||
	    fdt_totalsize(blob) > len)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "boot configuration %s is not a valid flattened device tree (compile the .dts with dtc -O dtb)",
				     source);
	if (fdt_node_check_compatible(blob, 0, "avirt,system-config-v1") != 0)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "boot configuration %s is not a system configuration (root compatible \"avirt,system-config-v1\", VMCFG-011)",
				     source);
	vms = fdt_subnode_offset(blob, 0, "vms");
	if (vms < 0)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "boot configuration %s has no /vms node (VMCFG-011)", source);
	b = calloc(1, sizeof *b);
	if (!b)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
	snprintf(b->source, sizeof b->source, "%s", source);
	fdt_for_each_subnode(node, blob, vms)
	{
		const char *nn = fdt_get_name(blob, node, NULL);
		struct bootconf_vm *v;

		if (fdt_node_check_compatible(blob, node, "avirt,vm-config-v1") != 0) {
			hv_status_set(st, HV_INVALID_ARGUMENT,
				      "boot configuration %s: node /vms/%s is not a VM (compatible \"avirt,vm-config-v1\")",
				      source, nn ? nn : "?");
			goto fail;
		}
		if (b->n == HVM_MAX_VMS) {
			hv_status_set(st, HV_INVALID_ARGUMENT,
				      "boot configuration %s has more than %u VMs", source,
				      HVM_MAX_VMS);
			goto fail;
		}
		v = &b->vm[b->n];
		v->blob = extract(blob, node, &v->len);
		if (!v->blob) {
			hv_status_set(st, HV_RESOURCE_EXHAUSTED,
				      "boot configuration %s: cannot copy /vms/%s", source,
				      nn ? nn : "?");
			goto fail;
		}
		b->n++;
		if (vmblob_identity(v->blob, v->len, &v->id, st) != 0) {
			hv_status_prefix(st, "boot configuration %s: /vms/%s: ", source,
					 nn ? nn : "?");
			goto fail;
		}
		v->autostart = flag(v->blob, 0, "autostart");
	}
	*out = b;
	return 0;
fail:
	bootconf_free(b);
	return -1;
}

int bootconf_load(const char *path, struct bootconf **out, struct hv_status *st)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	*out = NULL;
	if (!f)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "cannot read boot configuration %s: %s", path, strerror(errno));
	buf = malloc(BOOTCONF_MAX_SIZE + 1);
	if (!buf) {
		fclose(f);
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
	}
	n = fread(buf, 1, BOOTCONF_MAX_SIZE + 1, f);
	int err = ferror(f);
	fclose(f);
	int rc;
	if (err)
		rc = hv_status_set(st, HV_INVALID_ARGUMENT, "cannot read boot configuration %s",
				   path);
	else if (n > BOOTCONF_MAX_SIZE)
		rc = hv_status_set(st, HV_INVALID_ARGUMENT,
				   "boot configuration %s is larger than the %u bytes hv-core reads",
				   path, BOOTCONF_MAX_SIZE);
	else
		rc = bootconf_parse(buf, n, path, out, st);
	free(buf);
	return rc;
}

void bootconf_free(struct bootconf *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		free(b->vm[i].blob);
	free(b);
}

const struct bootconf_vm *bootconf_find(const struct bootconf *b, const char *name)
{
	for (size_t i = 0; b && i < b->n; i++)
		if (strcmp(b->vm[i].id.name, name) == 0)
			return &b->vm[i];
	return NULL;
}
