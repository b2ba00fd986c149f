/*
 * vmcfg_read.c - the hardened reader of untrusted configuration blobs
 * (docs/vm-config.md VMCFG-001, VMCFG-002, VMCFG-012) and the error record
 * every vm-config check fills.
 *
 * The blob comes from outside hv-core (the agent, a file, the network), so
 * every byte is hostile until checked (REQ-SAF-09): vmcfg_check_blob() walks
 * the blob as a whole with its own bounds checks before any libfdt walker
 * sees it, and every property is then read through the functions below, which
 * check its length before touching a byte. Values are read byte-wise, so
 * nothing here depends on alignment inside the blob.
 */
#include <libfdt.h>

#include "fmt.h"
#include "vmcfg_read.h"

/* Messages print uint64_t with %lx and %lu: hv-core and its hosts are LP64. */
_Static_assert(sizeof(unsigned long) == sizeof(uint64_t), "LP64 expected");

/* ---- errors ------------------------------------------------------------ */

int vmcfg_fail(struct vmcfg_err *err, int code, const char *rule, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	int len;

	if (!err)
		return code;
	err->code = code;
	err->rule = rule;
	err->held[0] = '\0';
	va_start(ap, fmt);
	len = hv_vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	n = len < 0 ? 0 : (size_t)len;
	if (n < sizeof(err->msg) - 1)
		hv_snprintf(err->msg + n, sizeof(err->msg) - n, " (%s)", rule);
	return code;
}

void vmcfg_err_clear(struct vmcfg_err *err)
{
	if (!err)
		return;
	err->code = HVM_OK;
	err->rule = "";
	err->msg[0] = '\0';
	err->held[0] = '\0';
}

int vmcfg_held(struct vmcfg_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return HVM_OK;
	va_start(ap, fmt);
	hv_vsnprintf(err->held, sizeof(err->held), fmt, ap);
	va_end(ap);
	return err->code;
}

/* ---- the blob (VMCFG-001) ---------------------------------------------- */

/* Walk the structure block once with our own bounds checks before any libfdt
 * walker sees it. libfdt 1.6.1 (Debian 12) computes the next tag offset of a
 * property as offset + 12 + len in 32 bits: a length of 0xfffffff4 yields the
 * same offset again, and fdt_check_full() and every property iterator loop
 * forever (found by tests/fuzz/fuzz_vmconfig.c). Each step here advances by
 * at least 4 bytes, so the walk ends. */
static int scan_struct(const uint8_t *blob, struct vmcfg_err *err)
{
	const uint8_t *s = blob + fdt_off_dt_struct(blob);
	uint32_t size = fdt_size_dt_struct(blob), off = 0, len, n;

	for (;;) {
		if (size - off < 4)
			break;
		switch (cfg_be32(s + off)) {
		case FDT_BEGIN_NODE:
			for (n = off + 4; n < size && s[n]; n++)
				;
			if (n >= size)
				goto bad;
			off = (n + 1 + 3) & ~3u;
			if (off > size)
				goto bad;
			break;
		case FDT_END_NODE:
		case FDT_NOP:
			off += 4;
			break;
		case FDT_PROP:
			if (size - off < 12)
				goto bad;
			len = cfg_be32(s + off + 4);
			if (len > size - off - 12)
				return vmcfg_fail(err, HVM_E_FDT, "VMCFG-001",
						  "configuration blob: property length %u at struct offset %u "
						  "runs past the structure block",
						  len, off);
			off += 12 + len;
			off = (off + 3) & ~3u;
			if (off > size)
				goto bad;
			break;
		case FDT_END:
			return HVM_OK;
		default:
			goto bad;
		}
	}
bad:
	return vmcfg_fail(err, HVM_E_FDT, "VMCFG-001",
			  "configuration blob: malformed structure block at offset %u", off);
}

int vmcfg_check_blob(const void *fdt, size_t len, struct vmcfg_err *err)
{
	int rc;

	vmcfg_err_clear(err);
	if (!fdt)
		return vmcfg_fail(err, HVM_E_BAD_ARG, "VMCFG-001", "configuration blob: no buffer");
	if ((uintptr_t)fdt & 7u)
		return vmcfg_fail(err, HVM_E_FDT, "VMCFG-001",
				  "configuration blob: not 8-byte aligned");
	if (len < sizeof(struct fdt_header))
		return vmcfg_fail(err, HVM_E_FDT, "VMCFG-001",
				  "configuration blob: truncated, %lu bytes is shorter than a header",
				  (uint64_t)len);
	if (fdt_magic(fdt) != FDT_MAGIC)
		return vmcfg_fail(err, HVM_E_FDT, "VMCFG-001",
				  "configuration blob: bad magic 0x%lx", (uint64_t)fdt_magic(fdt));
	if (fdt_totalsize(fdt) > len)
		return vmcfg_fail(err, HVM_E_FDT, "VMCFG-001",
				  "configuration blob: totalsize %lu exceeds the %lu bytes given",
				  (uint64_t)fdt_totalsize(fdt), (uint64_t)len);
	if (fdt_version(fdt) < 17)
		return vmcfg_fail(err, HVM_E_FDT, "VMCFG-001",
				  "configuration blob: version %u, 17 or later required",
				  (unsigned)fdt_version(fdt));
	rc = fdt_check_header(fdt);
	if (rc == 0 && scan_struct(fdt, err) != HVM_OK)
		return err ? err->code : HVM_E_FDT;
	if (rc == 0)
		rc = fdt_check_full(fdt, len);
	if (rc != 0)
		return vmcfg_fail(err, HVM_E_FDT, "VMCFG-001", "configuration blob: malformed: %s",
				  fdt_strerror(rc));
	return HVM_OK;
}

/* ---- property readers --------------------------------------------------- */

uint32_t cfg_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

uint64_t cfg_be64(const uint8_t *p)
{
	return ((uint64_t)cfg_be32(p) << 32) | cfg_be32(p + 4);
}

void cfg_set_who(struct cfg_ctx *c, const char *prefix, const char *name)
{
	hv_snprintf(c->who, sizeof(c->who), "%s '%s'", prefix, name);
}

/* Look a property up: HVM_OK with *val NULL when absent. */
int cfg_prop(struct cfg_ctx *c, int node, const char *name, const uint8_t **val, int *len)
{
	const void *p = fdt_getprop(c->fdt, node, name, len);

	*val = p;
	if (p)
		return HVM_OK;
	if (*len == -FDT_ERR_NOTFOUND) {
		*len = 0;
		return HVM_OK;
	}
	return vmcfg_fail(c->err, HVM_E_FDT, "VMCFG-001", "%s: property '%s' unreadable: %s",
			  c->who, name, fdt_strerror(*len));
}

int cfg_missing(struct cfg_ctx *c, const char *name, const char *rule)
{
	return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, rule, "%s: missing required property '%s'",
			  c->who, name);
}

int cfg_bad_len(struct cfg_ctx *c, const char *name, int len, const char *expect)
{
	return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-002",
			  "%s: property '%s' is %d bytes, must be %s", c->who, name, len, expect);
}

/* The start of every typed reader: HVM_OK with *v the property's bytes, or
 * *v NULL when it is absent (refused when required). When want >= 0, any
 * other length is refused, naming want_text. */
static int lookup(struct cfg_ctx *c, int node, const char *name, const char *rule, bool required,
		  int want, const char *want_text, const uint8_t **v, int *len, bool *found)
{
	int rc = cfg_prop(c, node, name, v, len);

	*found = false;
	if (rc != HVM_OK)
		return rc;
	if (!*v)
		return required ? cfg_missing(c, name, rule) : HVM_OK;
	if (want >= 0 && *len != want)
		return cfg_bad_len(c, name, *len, want_text);
	return HVM_OK;
}

/* A property of one or two cells into *out. *found tells whether it was present. */
static int read_cells(struct cfg_ctx *c, int node, const char *name, const char *rule,
		      bool required, int cells, uint64_t *out, bool *found)
{
	const uint8_t *v;
	int len, rc = lookup(c, node, name, rule, required, 4 * cells,
			     cells == 1 ? "4 (one cell)" : "8 (two cells)", &v, &len, found);

	if (rc == HVM_OK && v) {
		*out = cells == 1 ? cfg_be32(v) : cfg_be64(v);
		*found = true;
	}
	return rc;
}

/* A u32 property. */
int cfg_u32(struct cfg_ctx *c, int node, const char *name, const char *rule, bool required,
	    uint32_t *out, bool *found)
{
	uint64_t v = 0;
	int rc = read_cells(c, node, name, rule, required, 1, &v, found);

	if (rc == HVM_OK && *found)
		*out = (uint32_t)v;
	return rc;
}

/* A u64 property: two cells. */
int cfg_u64(struct cfg_ctx *c, int node, const char *name, const char *rule, bool required,
	    uint64_t *out, bool *found)
{
	return read_cells(c, node, name, rule, required, 2, out, found);
}

/* A flag: empty, <0> or <1> (absent is false). */
int cfg_flag(struct cfg_ctx *c, int node, const char *name, const char *rule, bool *out)
{
	const uint8_t *p;
	int len, rc = cfg_prop(c, node, name, &p, &len);

	if (rc)
		return rc;
	*out = false;
	if (p) {
		if (len == 0)
			*out = true;
		else if (len == 4 && cfg_be32(p) <= 1)
			*out = cfg_be32(p) == 1;
		else
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, rule,
					  "%s: %s must be empty, <0> or <1>", c->who, name);
	}
	return HVM_OK;
}

/* A single NUL-terminated string of at most max characters into buf. */
int cfg_string(struct cfg_ctx *c, int node, const char *name, const char *rule, bool required,
	       char *buf, size_t max, bool *found)
{
	const uint8_t *v;
	int len, rc = lookup(c, node, name, rule, required, -1, NULL, &v, &len, found);

	if (rc || !v)
		return rc;
	if (len < 1 || v[len - 1] != '\0' || strnlen((const char *)v, (size_t)len) != (size_t)len - 1)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-002",
				  "%s: property '%s' is not one NUL-terminated string", c->who, name);
	if ((size_t)len - 1 > max)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, rule,
				  "%s: property '%s' is %d characters, at most %u allowed", c->who,
				  name, len - 1, (unsigned)max);
	memcpy(buf, v, (size_t)len);
	*found = true;
	return HVM_OK;
}

/* A 32-byte digest. */
int cfg_sha256(struct cfg_ctx *c, int node, const char *name, const char *rule, bool required,
	       uint8_t out[32], bool *found)
{
	const uint8_t *v;
	int len, rc = lookup(c, node, name, rule, required, 32, "32 (a SHA-256 digest)", &v, &len,
			     found);

	if (rc == HVM_OK && v) {
		memcpy(out, v, 32);
		*found = true;
	}
	return rc;
}

/* A list of <ipa(2) pa(2) size(2)> triplets, 1..max of them. */
int cfg_ranges(struct cfg_ctx *c, int node, const char *name, const char *rule,
	       struct vmcfg_range *out, uint32_t max, uint32_t *n)
{
	const uint8_t *v;
	int len, rc = cfg_prop(c, node, name, &v, &len);
	uint32_t i, count;

	if (rc)
		return rc;
	if (!v)
		return cfg_missing(c, name, rule);
	if (len == 0 || len % 24 != 0)
		return cfg_bad_len(c, name, len,
				   "a non-empty multiple of 24 (<ipa pa size>, two cells each)");
	count = (uint32_t)len / 24;
	if (count > max)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-003",
				  "%s: property '%s' has %u entries, at most %u allowed", c->who,
				  name, count, max);
	for (i = 0; i < count; i++) {
		out[i].ipa = cfg_be64(v + 24 * i);
		out[i].pa = cfg_be64(v + 24 * i + 8);
		out[i].size = cfg_be64(v + 24 * i + 16);
	}
	*n = count;
	return HVM_OK;
}

/* Refuse properties this binding does not define: a misspelt property must not
 * silently fall back to a default (VMCFG-012). */
int cfg_only_props(struct cfg_ctx *c, int node, const char *where, const char *const *allowed)
{
	int off;

	fdt_for_each_property_offset(off, c->fdt, node)
	{
		const char *pname;
		int plen, i;
		bool ok = false;

		if (!fdt_getprop_by_offset(c->fdt, off, &pname, &plen) || !pname)
			return vmcfg_fail(c->err, HVM_E_FDT, "VMCFG-001",
					  "%s: unreadable property in %s: %s", c->who, where,
					  fdt_strerror(plen));
		for (i = 0; allowed[i]; i++)
			if (strcmp(allowed[i], pname) == 0)
				ok = true;
		if (!ok)
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-012",
					  "%s: unknown property '%s' in %s", c->who, pname, where);
	}
	if (off != -FDT_ERR_NOTFOUND)
		return vmcfg_fail(c->err, HVM_E_FDT, "VMCFG-001",
				  "%s: properties of %s unreadable: %s", c->who, where,
				  fdt_strerror(off));
	return HVM_OK;
}
