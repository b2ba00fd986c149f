/*
 * vmblob.h - the identity (vm-name, uuid) of a single-VM configuration blob
 * (docs/vm-config.md VMCFG-010/020/021), read with libfdt. hv-agent stores a
 * configuration under the VM's name before hv-core sees it (docs/reconcile.md,
 * write-ahead), so it must know the name without asking hv-core. Everything
 * else in the blob is hv-core's to validate (REQ-SAF-09).
 */
#ifndef VMBLOB_H
#define VMBLOB_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

#define VMBLOB_NAME_MAX 63

struct vmblob_id {
	char name[VMBLOB_NAME_MAX + 1];
	char uuid[37]; /* canonical lower-case text; "" when the blob has none (or all zero) */
};

/* 0, or -1 with INVALID_ARGUMENT naming what is wrong (not a device tree,
 * no vm-name, a malformed uuid). */
int vmblob_identity(const void *blob, size_t len, struct vmblob_id *out, struct hv_status *st);

#endif /* VMBLOB_H */
