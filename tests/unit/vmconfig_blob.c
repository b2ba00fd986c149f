/*
 * vmconfig_blob.c - test support for the vm-config tests (see vmconfig_blob.h).
 */
#define _GNU_SOURCE
#include "vmconfig_blob.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvvmconfig.h"

bool blob_from_file(const char *path, struct blob *b)
{
	FILE *f = fopen(path, "rb");
	long n;

	b->data = NULL;
	b->len = 0;
	if (!f)
		return false;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return false;
	}
	b->data = aligned_alloc(8, ((size_t)n + 8) & ~(size_t)7);
	if (!b->data || fread(b->data, 1, (size_t)n, f) != (size_t)n) {
		free(b->data);
		b->data = NULL;
		fclose(f);
		return false;
	}
	b->len = (size_t)n;
	fclose(f);
	return true;
}

bool blob_from_dts(const char *dts, struct blob *b)
{
	char dir[] = "/tmp/vmcfg-test-XXXXXX", in[64], out[64], cmd[256];
	FILE *f;
	bool ok;

	b->data = NULL;
	b->len = 0;
	if (!mkdtemp(dir))
		return false;
	snprintf(in, sizeof(in), "%s/in.dts", dir);
	snprintf(out, sizeof(out), "%s/out.dtb", dir);
	f = fopen(in, "w");
	if (!f)
		return false;
	fputs(dts, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "dtc -q -I dts -O dtb -o %s %s", out, in);
	ok = system(cmd) == 0 && blob_from_file(out, b);
	if (!ok)
		fprintf(stderr, "dtc failed on:\n%s\n", dts);
	unlink(in);
	unlink(out);
	rmdir(dir);
	return ok;
}

void blob_free(struct blob *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

/* A growing string. */
struct sbuf {
	char *s;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
		va_end(ap);
		if (b->s && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
}

struct kv {
	const char *k, *v;
};

#define MAX_KV 16

/* Emit "key = default;" unless an override replaces or deletes it. */
static void prop(struct sbuf *b, const char *indent, const char *prefix, const char *key,
		 const char *def, struct kv *kv, int nkv)
{
	const char *v = def;
	int i;

	for (i = 0; i < nkv; i++) {
		const char *k = kv[i].k;

		if (prefix) {
			if (strncmp(k, prefix, strlen(prefix)) != 0)
				continue;
			k += strlen(prefix);
		} else if (strchr(k, '.')) {
			continue;
		}
		if (strcmp(k, key) == 0) {
			v = kv[i].v;
			kv[i].k = ""; /* used */
		}
	}
	if (!v)
		return;
	if (!*v)
		sb_add(b, "%s%s;\n", indent, key);
	else
		sb_add(b, "%s%s = %s;\n", indent, key, v);
}

char *vm_body(const char *name, const char *mem, unsigned cpu, ...)
{
	struct kv kv[MAX_KV];
	struct sbuf b = { 0 };
	char namebuf[64], membuf[128], cpubuf[32], loadbuf[64];
	int nkv = 0, i;
	va_list ap;

	va_start(ap, cpu);
	for (;;) {
		const char *k = va_arg(ap, const char *);
		if (!k || nkv == MAX_KV)
			break;
		kv[nkv].k = k;
		kv[nkv].v = va_arg(ap, const char *);
		nkv++;
	}
	va_end(ap);

	snprintf(namebuf, sizeof(namebuf), "\"%s\"", name);
	snprintf(membuf, sizeof(membuf), "<0x0 %s  0x0 %s  0x0 0x01000000>", mem, mem);
	snprintf(cpubuf, sizeof(cpubuf), "<%u>", cpu);
	snprintf(loadbuf, sizeof(loadbuf), "<0x0 %s>", mem);

	prop(&b, "\t", NULL, "compatible", "\"avirt,vm-config-v1\"", kv, nkv);
	prop(&b, "\t", NULL, "vm-name", namebuf, kv, nkv);
	prop(&b, "\t", NULL, "uuid", NULL, kv, nkv);
	prop(&b, "\t", NULL, "vcpus", "<1>", kv, nkv);
	prop(&b, "\t", NULL, "cpus", cpubuf, kv, nkv);
	prop(&b, "\t", NULL, "memory", membuf, kv, nkv);
	prop(&b, "\t", NULL, "criticality", "\"QM\"", kv, nkv);
	prop(&b, "\t", NULL, "fault-policy", NULL, kv, nkv);
	prop(&b, "\t", NULL, "watchdog-timeout-ms", NULL, kv, nkv);
	prop(&b, "\t", NULL, "restart-budget", NULL, kv, nkv);
	prop(&b, "\t", NULL, "boot-order", NULL, kv, nkv);
	prop(&b, "\t", NULL, "autostart", NULL, kv, nkv);
	prop(&b, "\t", NULL, "management", NULL, kv, nkv);
	/* other unused plain keys are new properties, before any node */
	for (i = 0; i < nkv; i++)
		if (*kv[i].k && strcmp(kv[i].k, "+") != 0 && strncmp(kv[i].k, "boot.", 5) != 0 &&
		    kv[i].v)
			sb_add(&b, "\t%s = %s;\n", kv[i].k, kv[i].v);
	sb_add(&b, "\tboot {\n");
	prop(&b, "\t\t", "boot.", "load-address", loadbuf, kv, nkv);
	prop(&b, "\t\t", "boot.", "entry", loadbuf, kv, nkv);
	prop(&b, "\t\t", "boot.", "image-size", "<0x0 0x00100000>", kv, nkv);
	prop(&b, "\t\t", "boot.", "image-sha256",
	     "[000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f]", kv, nkv);
	prop(&b, "\t\t", "boot.", "image-store", NULL, kv, nkv);
	prop(&b, "\t\t", "boot.", "initrd-address", NULL, kv, nkv);
	prop(&b, "\t\t", "boot.", "initrd-size", NULL, kv, nkv);
	prop(&b, "\t\t", "boot.", "initrd-sha256", NULL, kv, nkv);
	prop(&b, "\t\t", "boot.", "initrd-store", NULL, kv, nkv);
	prop(&b, "\t\t", "boot.", "fdt-address", NULL, kv, nkv);
	prop(&b, "\t\t", "boot.", "bootargs", NULL, kv, nkv);
	/* any other boot.X override is a new property */
	for (i = 0; i < nkv; i++)
		if (strncmp(kv[i].k, "boot.", 5) == 0 && kv[i].v)
			sb_add(&b, "\t\t%s = %s;\n", kv[i].k + 5, kv[i].v);
	sb_add(&b, "\t};\n");
	/* "+" is raw text: child nodes */
	for (i = 0; i < nkv; i++)
		if (strcmp(kv[i].k, "+") == 0)
			sb_add(&b, "%s\n", kv[i].v);
	return b.s;
}

char *single_dts(char *body)
{
	struct sbuf b = { 0 };

	sb_add(&b, "/dts-v1/;\n/ {\n%s};\n", body);
	free(body);
	return b.s;
}

char *system_dts(char *first, ...)
{
	struct sbuf b = { 0 };
	va_list ap;
	char *body;
	int i = 0;

	sb_add(&b, "/dts-v1/;\n/ {\n\tcompatible = \"avirt,system-config-v1\";\n\tvms {\n");
	va_start(ap, first);
	for (body = first; body; body = va_arg(ap, char *)) {
		sb_add(&b, "\tvm%d {\n%s\t};\n", i++, body);
		free(body);
	}
	va_end(ap);
	sb_add(&b, "\t};\n};\n");
	return b.s;
}

int parse_single(char *dts, struct vmcfg *out, struct vmcfg_err *err)
{
	struct blob b;
	int rc;

	if (!blob_from_dts(dts, &b)) {
		free(dts);
		return -1;
	}
	free(dts);
	rc = vmcfg_parse(b.data, b.len, 0, out, err);
	blob_free(&b);
	return rc;
}

int parse_sys(char *dts, struct vmcfg *out, size_t max, size_t *count, struct vmcfg_err *err)
{
	struct blob b;
	int rc;

	if (!blob_from_dts(dts, &b)) {
		free(dts);
		return -1;
	}
	free(dts);
	rc = vmcfg_parse_system(b.data, b.len, out, max, count, NULL, err);
	blob_free(&b);
	return rc;
}
