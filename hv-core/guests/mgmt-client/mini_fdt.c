/*
 * mini_fdt.c - walks the structure block of a flattened device tree (see
 * mini_fdt.h). Bounded by the header's sizes, so a damaged tree ends the walk
 * instead of running off into memory.
 */
#include "mini_fdt.h"

#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE 2u
#define FDT_PROP 3u
#define FDT_NOP 4u
#define FDT_END 9u
#define MAX_DEPTH 8

static uint32_t be32(const volatile uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int streq(const volatile uint8_t *a, const char *b)
{
	while (*b && *a == (uint8_t)*b)
		a++, b++;
	return *a == 0 && *b == 0;
}

static unsigned slen(const volatile uint8_t *s, unsigned max)
{
	unsigned n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

int mini_fdt_find_mgmt(uint64_t dtb, struct mgmt_node *out)
{
	const volatile uint8_t *f = (const volatile uint8_t *)(uintptr_t)dtb;
	if (!dtb || be32(f) != FDT_MAGIC)
		return -1;
	uint32_t total = be32(f + 4), off_struct = be32(f + 8), off_strings = be32(f + 12);
	uint32_t size_struct = be32(f + 36);
	if (total > 0x10000 || off_struct >= total || size_struct > total - off_struct ||
	    off_strings >= total)
		return -1;
	const volatile uint8_t *names[MAX_DEPTH];
	int depth = -1, compat = 0, have_reg = 0, no_map = 0;
	uint64_t base = 0, size = 0;
	uint32_t pos = 0;
	while (pos + 4 <= size_struct) {
		const volatile uint8_t *t = f + off_struct + pos;
		uint32_t tok = be32(t);
		pos += 4;
		if (tok == FDT_BEGIN_NODE) {
			depth++;
			if (depth < MAX_DEPTH)
				names[depth] = t + 4;
			unsigned n = slen(t + 4, size_struct - pos);
			pos += (n + 1 + 3) & ~3u;
			compat = have_reg = no_map = 0;
		} else if (tok == FDT_PROP) {
			if (pos + 8 > size_struct)
				return -1;
			uint32_t len = be32(t + 4), nameoff = be32(t + 8);
			const volatile uint8_t *val = t + 12;
			pos += 8 + ((len + 3) & ~3u);
			if (pos > size_struct || nameoff >= total - off_strings)
				return -1;
			const volatile uint8_t *pn = f + off_strings + nameoff;
			if (streq(pn, "compatible") && len == sizeof("avirt,mgmt-v1") &&
			    streq(val, "avirt,mgmt-v1"))
				compat = 1;
			else if (streq(pn, "reg") && len == 16) {
				base = (uint64_t)be32(val) << 32 | be32(val + 4);
				size = (uint64_t)be32(val + 8) << 32 | be32(val + 12);
				have_reg = 1;
			} else if (streq(pn, "no-map") && len == 0)
				no_map = 1;
		} else if (tok == FDT_END_NODE) {
			if (compat && have_reg && depth == 2 && streq(names[1], "reserved-memory")) {
				unsigned o = 0;
				const char *pre = "/reserved-memory/";
				while (*pre && o < sizeof(out->path) - 1)
					out->path[o++] = *pre++;
				for (const volatile uint8_t *c = names[2];
				     *c && o < sizeof(out->path) - 1; c++)
					out->path[o++] = (char)*c;
				out->path[o] = 0;
				out->base = base;
				out->size = size;
				out->no_map = no_map;
				return 0;
			}
			compat = have_reg = no_map = 0;
			depth--;
		} else if (tok == FDT_END) {
			break;
		} else if (tok != FDT_NOP) {
			return -1;
		}
	}
	return -1;
}
