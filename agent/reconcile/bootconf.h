/*
 * bootconf.h - hv-core's boot configuration as hv-agent reads it: the system
 * configuration blob (docs/vm-config.md VMCFG-011, section 9) that the boot
 * loader gave hv-core, handed to hv-agent with --boot-config FILE.dtb.
 *
 * hv-agent does not validate the VMs in it (hv-core did, REQ-SAF-09); it takes
 * each VM node under /vms as a single-VM configuration blob (VMCFG-010) with
 * its name and uuid, so that reconciliation can adopt the VMs hv-core brought
 * up from it into the store (docs/reconcile.md, "Adoption").
 */
#ifndef BOOTCONF_H
#define BOOTCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "hvmgmt.h"
#include "status.h"
#include "vmblob.h"

#define BOOTCONF_MAX_SIZE (256u * 1024u) /* what hv-core reads (HV_BOOTCFG_SIZE) */

struct bootconf_vm {
	struct vmblob_id id; /* vm-name, uuid ("" when it has none) */
	void *blob;          /* the VM node as a single-VM configuration */
	size_t len;
	bool autostart;
};

struct bootconf {
	char source[256]; /* the file it came from, for log lines and audit rows */
	size_t n;
	struct bootconf_vm vm[HVM_MAX_VMS];
};

/* Parses a system configuration blob. 0, or -1 with INVALID_ARGUMENT naming
 * what is wrong (not a device tree, not a system configuration, no /vms, a
 * node under /vms that is not a VM, a VM without vm-name, more than
 * HVM_MAX_VMS VMs). source names the blob in messages. */
int bootconf_parse(const void *blob, size_t len, const char *source, struct bootconf **out,
		   struct hv_status *st);
/* Reads and parses a file (at most BOOTCONF_MAX_SIZE bytes). */
int bootconf_load(const char *path, struct bootconf **out, struct hv_status *st);
void bootconf_free(struct bootconf *b);
/* The VM of that name, or NULL. */
const struct bootconf_vm *bootconf_find(const struct bootconf *b, const char *name);

#endif /* BOOTCONF_H */
