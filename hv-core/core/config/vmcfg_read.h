/*
 * vmcfg_read.h - inside the vm-config checks (vmcfg_read.c, vmconfig.c,
 * vmconfig_system.c, guest_fdt.c): the hardened reader of a configuration
 * blob that vmcfg_check_blob() has accepted, and the range arithmetic the
 * rules share. Not part of the interface: that is include/hvvmconfig.h.
 *
 * Every reader returns HVM_OK or an HVM_E_* code with c->err filled. A
 * property that is absent is not an error unless `required` says so
 * (then it breaks `rule`); *found says whether it was present.
 */
#ifndef HV_VMCFG_READ_H
#define HV_VMCFG_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvvmconfig.h"

/* Reading context: the blob, and how to name where we are in a message. */
struct cfg_ctx {
	const void *fdt;
	char who[48]; /* "vm 'nav'" or "vm node 'vm@0'" */
	struct vmcfg_err *err;
};

/* Big-endian cells, read byte-wise (no alignment assumed). */
uint32_t cfg_be32(const uint8_t *p);
uint64_t cfg_be64(const uint8_t *p);

/* c->who = "<prefix> '<name>'", cut to fit. */
void cfg_set_who(struct cfg_ctx *c, const char *prefix, const char *name);

/* The raw property: HVM_OK with *val NULL and *len 0 when absent. */
int cfg_prop(struct cfg_ctx *c, int node, const char *name, const uint8_t **val, int *len);
/* Refusals: a required property is absent / has the wrong length (VMCFG-002). */
int cfg_missing(struct cfg_ctx *c, const char *name, const char *rule);
int cfg_bad_len(struct cfg_ctx *c, const char *name, int len, const char *expect);

/* One cell, two cells. */
int cfg_u32(struct cfg_ctx *c, int node, const char *name, const char *rule, bool required,
	    uint32_t *out, bool *found);
int cfg_u64(struct cfg_ctx *c, int node, const char *name, const char *rule, bool required,
	    uint64_t *out, bool *found);
/* One NUL-terminated string of at most max characters, into buf (max + 1 bytes). */
int cfg_string(struct cfg_ctx *c, int node, const char *name, const char *rule, bool required,
	       char *buf, size_t max, bool *found);
/* A 32-byte digest. */
int cfg_sha256(struct cfg_ctx *c, int node, const char *name, const char *rule, bool required,
	       uint8_t out[32], bool *found);
/* Empty, <0> or <1>; absent reads false. */
int cfg_flag(struct cfg_ctx *c, int node, const char *name, const char *rule, bool *out);
/* A required list of 1..max <ipa pa size> triplets (two cells each). */
int cfg_ranges(struct cfg_ctx *c, int node, const char *name, const char *rule,
	       struct vmcfg_range *out, uint32_t max, uint32_t *n);
/* VMCFG-012: the node has no property outside `allowed` (NULL-terminated). */
int cfg_only_props(struct cfg_ctx *c, int node, const char *where, const char *const *allowed);

/* [a, a+as) and [b, b+bs) share a byte. */
static inline bool cfg_overlaps(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a < b + bs && b < a + as;
}

/* [a, a+as) lies within [b, b+bs). */
static inline bool cfg_inside(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a >= b && as <= bs && a - b <= bs - as;
}

#endif /* HV_VMCFG_READ_H */
