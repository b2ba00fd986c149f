/*
 * vmconfig_blob.h - test support for the vm-config tests: load compiled
 * examples, compile device-tree source with dtc, and write VM nodes from a
 * valid base with single properties changed, so each test breaks one rule.
 */
#ifndef VMCONFIG_BLOB_H
#define VMCONFIG_BLOB_H

#include <stdbool.h>
#include <stddef.h>

struct blob {
	void *data; /* 8-byte aligned, as vmcfg_check_blob() requires */
	size_t len;
};

/* Read a file into an aligned buffer. */
bool blob_from_file(const char *path, struct blob *b);
/* Compile DTS source with dtc (in a fresh temporary directory). */
bool blob_from_dts(const char *dts, struct blob *b);
void blob_free(struct blob *b);

/* The body of a valid VM node (properties and child nodes) named `name` with
 * memory at `mem` (16 MiB, identity) on physical CPU `cpu`, then overrides as
 * key/value pairs ending with NULL: a key replaces the property of that name
 * (value "" keeps the name with no value, NULL deletes it); a key starting
 * with "boot." does the same inside the boot node; the key "+" appends the
 * value as raw text (child nodes). Returns a malloc'd string. */
char *vm_body(const char *name, const char *mem, unsigned cpu, ...);
/* A single-VM blob's source around a body (the body is freed). */
char *single_dts(char *body);
/* A system blob's source with the given VM bodies, NULL-terminated (freed). */
char *system_dts(char *first, ...);

/* Parse a single-VM source; returns the HVM status, fills err. */
struct vmcfg;
struct vmcfg_err;
int parse_single(char *dts, struct vmcfg *out, struct vmcfg_err *err);
int parse_sys(char *dts, struct vmcfg *out, size_t max, size_t *count, struct vmcfg_err *err);

#endif
