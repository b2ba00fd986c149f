/*
 * vmconfig.c - parse and validate one VM node of a configuration blob
 * (docs/vm-config.md, clauses VMCFG-001..071).
 *
 * The blob comes from outside hv-core (the agent, a file, the network), so
 * every byte is hostile until checked (REQ-SAF-09): the blob is checked as a
 * whole with libfdt first, then every property is read through helpers that
 * check its length before touching a byte. Values are read byte-wise, so
 * nothing here depends on alignment inside the blob. No allocation: the result
 * is a fixed-size struct vmcfg.
 */
#include <libfdt.h>

#include "vmconfig.h"

/* ---- errors ------------------------------------------------------------ */

struct fmtbuf {
	char  *buf;
	size_t cap;
	size_t pos;
};

static void fmt_ch(struct fmtbuf *b, char ch)
{
	if (b->pos + 1 < b->cap)
		b->buf[b->pos++] = ch;
}

static void fmt_str(struct fmtbuf *b, const char *s)
{
	if (!s)
		s = "(null)";
	while (*s)
		fmt_ch(b, *s++);
}

static void fmt_u64(struct fmtbuf *b, uint64_t v, unsigned base)
{
	char tmp[24];
	int n = 0;

	if (base == 16)
		fmt_str(b, "0x");
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v && n < (int)sizeof(tmp));
	while (n)
		fmt_ch(b, tmp[--n]);
}

int vmcfg_fail(struct vmcfg_err *err, int code, const char *rule, const char *fmt, ...)
{
	struct fmtbuf b;
	__builtin_va_list ap;

	if (!err)
		return code;
	err->code = code;
	err->rule = rule;
	b.buf = err->msg;
	b.cap = sizeof(err->msg);
	b.pos = 0;
	__builtin_va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%' || !fmt[1]) {
			fmt_ch(&b, *fmt);
			continue;
		}
		switch (*++fmt) {
		case 's': fmt_str(&b, __builtin_va_arg(ap, const char *)); break;
		case 'u': fmt_u64(&b, __builtin_va_arg(ap, unsigned int), 10); break;
		case 'U': fmt_u64(&b, __builtin_va_arg(ap, uint64_t), 10); break;
		case 'x': fmt_u64(&b, __builtin_va_arg(ap, uint64_t), 16); break;
		case 'd': {
			int v = __builtin_va_arg(ap, int);
			if (v < 0) {
				fmt_ch(&b, '-');
				fmt_u64(&b, (uint64_t)0 - (uint64_t)(int64_t)v, 10);
			} else {
				fmt_u64(&b, (uint64_t)v, 10);
			}
			break;
		}
		default: fmt_ch(&b, '%'); fmt_ch(&b, *fmt); break;
		}
	}
	__builtin_va_end(ap);
	fmt_str(&b, " (");
	fmt_str(&b, rule);
	fmt_ch(&b, ')');
	b.buf[b.pos] = '\0';
	return code;
}

void vmcfg_err_clear(struct vmcfg_err *err)
{
	if (!err)
		return;
	err->code = HVM_OK;
	err->rule = "";
	err->msg[0] = '\0';
}

/* ---- names of enumerations -------------------------------------------- */

static const char *const crit_names[] = { "QM", "ASIL-A", "ASIL-B", "ASIL-C", "ASIL-D" };
static const char *const policy_names[] = { "ignore", "stop", "restart" };

const char *vmcfg_criticality_name(uint32_t c)
{
	return c < sizeof(crit_names) / sizeof(crit_names[0]) ? crit_names[c] : "?";
}

const char *vmcfg_fault_policy_name(uint32_t p)
{
	return p < sizeof(policy_names) / sizeof(policy_names[0]) ? policy_names[p] : "?";
}

/* ---- the blob (VMCFG-001) ---------------------------------------------- */

static uint32_t be32(const uint8_t *p);

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
		switch (be32(s + off)) {
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
			len = be32(s + off + 4);
			if (len > size - off - 12)
				return vmcfg_fail(err, HVM_E_FDT, "VMCFG-001",
				                  "configuration blob: property length %u at struct offset %u "
				                  "runs past the structure block", len, off);
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
		return vmcfg_fail(err, HVM_E_FDT, "VMCFG-001", "configuration blob: not 8-byte aligned");
	if (len < sizeof(struct fdt_header))
		return vmcfg_fail(err, HVM_E_FDT, "VMCFG-001",
		                  "configuration blob: truncated, %U bytes is shorter than a header",
		                  (uint64_t)len);
	if (fdt_magic(fdt) != FDT_MAGIC)
		return vmcfg_fail(err, HVM_E_FDT, "VMCFG-001", "configuration blob: bad magic %x",
		                  (uint64_t)fdt_magic(fdt));
	if (fdt_totalsize(fdt) > len)
		return vmcfg_fail(err, HVM_E_FDT, "VMCFG-001",
		                  "configuration blob: totalsize %U exceeds the %U bytes given",
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

/* Parsing context: where we are, and how to name it in a message. */
struct pctx {
	const void       *fdt;
	char              who[48]; /* "vm 'nav'" or "vm node 'vm@0'" */
	struct vmcfg_err *err;
};

static uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return ((uint64_t)be32(p) << 32) | be32(p + 4);
}

static void set_who(struct pctx *c, const char *prefix, const char *name)
{
	struct fmtbuf b = { c->who, sizeof(c->who), 0 };

	fmt_str(&b, prefix);
	fmt_str(&b, " '");
	fmt_str(&b, name);
	fmt_ch(&b, '\'');
	c->who[b.pos] = '\0';
}

/* Look a property up: HVM_OK with *val NULL when absent. */
static int prop(struct pctx *c, int node, const char *name, const uint8_t **val, int *len)
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

static int missing(struct pctx *c, const char *name, const char *rule)
{
	return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, rule, "%s: missing required property '%s'",
	                  c->who, name);
}

static int bad_len(struct pctx *c, const char *name, int len, const char *expect)
{
	return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-002",
	                  "%s: property '%s' is %d bytes, must be %s", c->who, name, len, expect);
}

/* A property of one or two cells into *out. *found tells whether it was present. */
static int get_cells(struct pctx *c, int node, const char *name, const char *rule, bool required,
                     int cells, uint64_t *out, bool *found)
{
	const uint8_t *v;
	int len, rc = prop(c, node, name, &v, &len);

	*found = false;
	if (rc)
		return rc;
	if (!v)
		return required ? missing(c, name, rule) : HVM_OK;
	if (len != 4 * cells)
		return bad_len(c, name, len, cells == 1 ? "4 (one cell)" : "8 (two cells)");
	*out = cells == 1 ? be32(v) : be64(v);
	*found = true;
	return HVM_OK;
}

/* A u32 property. */
static int get_u32(struct pctx *c, int node, const char *name, const char *rule,
                   bool required, uint32_t *out, bool *found)
{
	uint64_t v = 0;
	int rc = get_cells(c, node, name, rule, required, 1, &v, found);

	if (rc == HVM_OK && *found)
		*out = (uint32_t)v;
	return rc;
}

/* A u64 property: two cells. */
static int get_u64(struct pctx *c, int node, const char *name, const char *rule,
                   bool required, uint64_t *out, bool *found)
{
	return get_cells(c, node, name, rule, required, 2, out, found);
}

/* A single NUL-terminated string of at most max characters into buf. */
static int get_string(struct pctx *c, int node, const char *name, const char *rule,
                      bool required, char *buf, size_t max, bool *found)
{
	const uint8_t *v;
	int len, rc = prop(c, node, name, &v, &len);

	*found = false;
	if (rc)
		return rc;
	if (!v)
		return required ? missing(c, name, rule) : HVM_OK;
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
static int get_sha256(struct pctx *c, int node, const char *name, const char *rule,
                      bool required, uint8_t out[32], bool *found)
{
	const uint8_t *v;
	int len, rc = prop(c, node, name, &v, &len);

	*found = false;
	if (rc)
		return rc;
	if (!v)
		return required ? missing(c, name, rule) : HVM_OK;
	if (len != 32)
		return bad_len(c, name, len, "32 (a SHA-256 digest)");
	memcpy(out, v, 32);
	*found = true;
	return HVM_OK;
}

/* A list of <ipa(2) pa(2) size(2)> triplets, 1..max of them. */
static int get_ranges(struct pctx *c, int node, const char *name, const char *rule,
                      struct vmcfg_range *out, uint32_t max, uint32_t *n)
{
	const uint8_t *v;
	int len, rc = prop(c, node, name, &v, &len);
	uint32_t i, count;

	if (rc)
		return rc;
	if (!v)
		return missing(c, name, rule);
	if (len == 0 || len % 24 != 0)
		return bad_len(c, name, len, "a non-empty multiple of 24 (<ipa pa size>, two cells each)");
	count = (uint32_t)len / 24;
	if (count > max)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-003",
		                  "%s: property '%s' has %u entries, at most %u allowed", c->who, name,
		                  count, max);
	for (i = 0; i < count; i++) {
		out[i].ipa = be64(v + 24 * i);
		out[i].pa = be64(v + 24 * i + 8);
		out[i].size = be64(v + 24 * i + 16);
	}
	*n = count;
	return HVM_OK;
}

/* Refuse properties this binding does not define: a misspelt property must not
 * silently fall back to a default (VMCFG-012). */
static int only_props(struct pctx *c, int node, const char *where, const char *const *allowed)
{
	int off;

	fdt_for_each_property_offset(off, c->fdt, node) {
		const char *pname;
		int plen, i;
		bool ok = false;

		if (!fdt_getprop_by_offset(c->fdt, off, &pname, &plen) || !pname)
			return vmcfg_fail(c->err, HVM_E_FDT, "VMCFG-001", "%s: unreadable property in %s: %s",
			                  c->who, where, fdt_strerror(plen));
		for (i = 0; allowed[i]; i++)
			if (strcmp(allowed[i], pname) == 0)
				ok = true;
		if (!ok)
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-012",
			                  "%s: unknown property '%s' in %s", c->who, pname, where);
	}
	if (off != -FDT_ERR_NOTFOUND)
		return vmcfg_fail(c->err, HVM_E_FDT, "VMCFG-001", "%s: properties of %s unreadable: %s",
		                  c->who, where, fdt_strerror(off));
	return HVM_OK;
}

/* ---- value rules -------------------------------------------------------- */

static bool overlaps(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a < b + bs && b < a + as;
}

static bool inside(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a >= b && as <= bs && a - b <= bs - as;
}

/* VMCFG-020: names are [a-z0-9_-], 1..31 characters. */
static bool name_ok(const char *s)
{
	size_t i, n = strnlen(s, VMCFG_NAME_MAX + 1);

	if (n == 0 || n > VMCFG_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return false;
	}
	return true;
}

/* A range whose bases and size are 4 KiB aligned, non-empty, below the limits. */
static int check_range(struct pctx *c, const char *what, uint32_t i, const struct vmcfg_range *r,
                       const char *rule)
{
	if (r->size == 0)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, rule, "%s: %s %u has size 0", c->who, what, i);
	if ((r->ipa | r->pa | r->size) & (VMCFG_PAGE - 1))
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, rule,
		                  "%s: %s %u is not 4 KiB aligned (ipa %x pa %x size %x)", c->who, what,
		                  i, r->ipa, r->pa, r->size);
	if (r->ipa >= VMCFG_IPA_LIMIT || r->size > VMCFG_IPA_LIMIT - r->ipa)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, rule,
		                  "%s: %s %u ends beyond the 40-bit guest-physical space", c->who, what, i);
	if (r->pa >= VMCFG_PA_LIMIT || r->size > VMCFG_PA_LIMIT - r->pa)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, rule,
		                  "%s: %s %u ends beyond the 48-bit physical space", c->who, what, i);
	return HVM_OK;
}

/* Index of the memory region holding [ipa, ipa+size), or -1. */
static int region_of(const struct vmcfg *v, uint64_t ipa, uint64_t size)
{
	uint32_t i;

	for (i = 0; i < v->nmem; i++)
		if (inside(ipa, size, v->mem[i].ipa, v->mem[i].size))
			return (int)i;
	return -1;
}

/* ---- the parts of a VM node -------------------------------------------- */

static int parse_identity(struct pctx *c, int node, struct vmcfg *v)
{
	const uint8_t *u;
	int len, rc;
	bool found;
	uint32_t i;

	rc = get_string(c, node, "vm-name", "VMCFG-020", true, v->name, VMCFG_NAME_MAX, &found);
	if (rc)
		return rc;
	if (!name_ok(v->name))
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-020",
		                  "%s: vm-name '%s' must be 1..31 characters of [a-z0-9_-]", c->who,
		                  v->name);
	set_who(c, "vm", v->name);

	/* VMCFG-021: 16 bytes, or the 36-character text form. */
	rc = prop(c, node, "uuid", &u, &len);
	if (rc || !u)
		return rc;
	if (len == 16) {
		memcpy(v->uuid, u, 16);
		return HVM_OK;
	}
	if (len != 37 || u[36] != '\0')
		return bad_len(c, "uuid", len, "16 bytes or a 36-character string");
	for (i = 0; i < 36; i++) {
		uint8_t ch = u[i], nib;
		bool dash = (i == 8 || i == 13 || i == 18 || i == 23);

		if (dash) {
			if (ch != '-')
				break;
			continue;
		}
		if (ch >= '0' && ch <= '9')
			nib = (uint8_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			nib = (uint8_t)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			nib = (uint8_t)(ch - 'A' + 10);
		else
			break;
		{
			/* hex digit number k (0..31) among the non-dash characters */
			uint32_t k = i - (i > 8) - (i > 13) - (i > 18) - (i > 23);
			if (k & 1)
				v->uuid[k / 2] |= nib;
			else
				v->uuid[k / 2] = (uint8_t)(nib << 4);
		}
	}
	if (i != 36)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-021",
		                  "%s: uuid string is not of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
		                  c->who);
	return HVM_OK;
}

static int parse_enum(struct pctx *c, int node, const char *name, const char *rule, bool required,
                      const char *const *names, uint32_t count, uint32_t def, uint32_t *out)
{
	char buf[16];
	bool found;
	uint32_t i;
	int rc;

	*out = def;
	rc = get_string(c, node, name, rule, required, buf, sizeof(buf) - 1, &found);
	if (rc || !found)
		return rc;
	for (i = 0; i < count; i++)
		if (strcmp(buf, names[i]) == 0) {
			*out = i;
			return HVM_OK;
		}
	return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, rule, "%s: unknown %s '%s'", c->who, name, buf);
}

static int parse_policy(struct pctx *c, int node, struct vmcfg *v)
{
	const uint8_t *p;
	bool found;
	uint32_t x;
	int len, rc;

	rc = parse_enum(c, node, "criticality", "VMCFG-022", true, crit_names, 5, VMCFG_QM,
	                &v->criticality);
	if (!rc)
		rc = parse_enum(c, node, "fault-policy", "VMCFG-023", false, policy_names, 3,
		                VMCFG_FP_STOP, &v->fault_policy);
	if (rc)
		return rc;

	/* VMCFG-024 */
	v->watchdog_ms = 0;
	rc = get_u32(c, node, "watchdog-timeout-ms", "VMCFG-024", false, &x, &found);
	if (rc)
		return rc;
	if (found) {
		if (x != 0 && (x < VMCFG_WATCHDOG_MIN_MS || x > VMCFG_WATCHDOG_MAX_MS))
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-024",
			                  "%s: watchdog-timeout-ms %u is outside 0 or %u..%u", c->who, x,
			                  VMCFG_WATCHDOG_MIN_MS, VMCFG_WATCHDOG_MAX_MS);
		v->watchdog_ms = x;
	}

	/* VMCFG-025 */
	v->restart_max = 3;
	v->restart_window_ms = 60000;
	rc = prop(c, node, "restart-budget", &p, &len);
	if (rc)
		return rc;
	if (p) {
		if (len != 8)
			return bad_len(c, "restart-budget", len, "8 (<count window-ms>)");
		v->restart_max = be32(p);
		v->restart_window_ms = be32(p + 4);
		if (v->restart_max > VMCFG_RESTART_MAX || v->restart_window_ms == 0 ||
		    v->restart_window_ms > VMCFG_WINDOW_MAX_MS)
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-025",
			                  "%s: restart-budget <%u %u> outside count 0..%u, window 1..%u ms",
			                  c->who, v->restart_max, v->restart_window_ms, VMCFG_RESTART_MAX,
			                  VMCFG_WINDOW_MAX_MS);
	}
	if (v->fault_policy == VMCFG_FP_RESTART && v->restart_max == 0)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-025",
		                  "%s: fault-policy 'restart' with a restart-budget of 0 restarts", c->who);

	/* VMCFG-026 */
	v->boot_order = 0;
	rc = get_u32(c, node, "boot-order", "VMCFG-026", false, &x, &found);
	if (rc)
		return rc;
	if (found) {
		if (x > VMCFG_BOOT_ORDER_MAX)
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-026",
			                  "%s: boot-order %u is above %u", c->who, x, VMCFG_BOOT_ORDER_MAX);
		v->boot_order = x;
	}
	rc = prop(c, node, "autostart", &p, &len);
	if (rc)
		return rc;
	v->autostart = false;
	if (p) {
		if (len == 0)
			v->autostart = true;
		else if (len == 4 && be32(p) <= 1)
			v->autostart = be32(p) == 1;
		else
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-026",
			                  "%s: autostart must be empty, <0> or <1>", c->who);
	}

	/* VMCFG-027 */
	rc = prop(c, node, "management", &p, &len);
	if (rc)
		return rc;
	v->management = false;
	if (p) {
		if (len == 0)
			v->management = true;
		else if (len == 4 && be32(p) <= 1)
			v->management = be32(p) == 1;
		else
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-027",
			                  "%s: management must be empty, <0> or <1>", c->who);
	}
	return HVM_OK;
}

/* VMCFG-030, VMCFG-031 */
static int parse_cpus(struct pctx *c, int node, struct vmcfg *v)
{
	const uint8_t *p;
	bool found;
	uint32_t i, n;
	int len, rc;

	rc = get_u32(c, node, "vcpus", "VMCFG-030", true, &v->vcpus, &found);
	if (rc)
		return rc;
	if (v->vcpus == 0 || v->vcpus > VMCFG_MAX_VCPUS)
		return vmcfg_fail(c->err, HVM_E_CPU, "VMCFG-030", "%s: vcpus is %u, must be 1..%u",
		                  c->who, v->vcpus, VMCFG_MAX_VCPUS);
	rc = prop(c, node, "cpus", &p, &len);
	if (rc)
		return rc;
	if (!p)
		return missing(c, "cpus", "VMCFG-031");
	if (len == 0 || len % 4)
		return bad_len(c, "cpus", len, "a non-empty multiple of 4");
	n = (uint32_t)len / 4;
	if (n != v->vcpus)
		return vmcfg_fail(c->err, HVM_E_CPU, "VMCFG-031",
		                  "%s: cpus lists %u physical CPUs for %u vcpus, must be one per vCPU",
		                  c->who, n, v->vcpus);
	v->pcpu_mask = 0;
	for (i = 0; i < n; i++) {
		uint32_t id = be32(p + 4 * i);

		if (id >= VMCFG_MAX_PCPUS)
			return vmcfg_fail(c->err, HVM_E_CPU, "VMCFG-031",
			                  "%s: cpus[%u] = %u is not a physical CPU id 0..%u", c->who, i, id,
			                  VMCFG_MAX_PCPUS - 1);
		if (v->pcpu_mask & (1ull << id))
			return vmcfg_fail(c->err, HVM_E_CPU, "VMCFG-031",
			                  "%s: cpus lists physical CPU %u twice", c->who, id);
		v->pcpu[i] = id;
		v->pcpu_mask |= 1ull << id;
	}
	return HVM_OK;
}

/* VMCFG-040, VMCFG-041 */
static int parse_memory(struct pctx *c, int node, struct vmcfg *v)
{
	uint32_t i, j;
	int rc = get_ranges(c, node, "memory", "VMCFG-040", v->mem, VMCFG_MAX_MEM, &v->nmem);

	if (rc)
		return rc;
	for (i = 0; i < v->nmem; i++) {
		rc = check_range(c, "memory region", i, &v->mem[i], "VMCFG-040");
		if (rc)
			return rc;
		for (j = 0; j < i; j++) {
			if (overlaps(v->mem[i].ipa, v->mem[i].size, v->mem[j].ipa, v->mem[j].size))
				return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-041",
				                  "%s: memory region %u overlaps region %u (IPA)", c->who, i, j);
			if (overlaps(v->mem[i].pa, v->mem[i].size, v->mem[j].pa, v->mem[j].size))
				return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-041",
				                  "%s: memory region %u overlaps region %u (PA)", c->who, i, j);
		}
	}
	return HVM_OK;
}

/* VMCFG-054: a store range is the destination itself or clear of the VM's memory. */
static int check_store(struct pctx *c, const struct vmcfg *v, const char *name, uint64_t store,
                       uint64_t ipa, uint64_t size)
{
	int r = region_of(v, ipa, size);
	uint64_t dest;
	uint32_t i;

	if (store == 0)
		return HVM_OK;
	if (store >= VMCFG_PA_LIMIT || size > VMCFG_PA_LIMIT - store)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-054",
		                  "%s: %s %x + size ends beyond the 48-bit physical space", c->who, name,
		                  store);
	dest = v->mem[r].pa + (ipa - v->mem[r].ipa);
	if (store == dest)
		return HVM_OK;
	for (i = 0; i < v->nmem; i++)
		if (overlaps(store, size, v->mem[i].pa, v->mem[i].size))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-054",
			                  "%s: %s %x overlaps memory region %u but is not the load destination",
			                  c->who, name, store, i);
	return HVM_OK;
}

/* VMCFG-050..054 */
static int parse_boot(struct pctx *c, int node, struct vmcfg *v)
{
	static const char *const allowed[] = {
		"entry", "load-address", "image-size", "image-sha256", "image-store",
		"initrd-address", "initrd-size", "initrd-sha256", "initrd-store",
		"fdt-address", "bootargs", "phandle", NULL
	};
	struct vmcfg_boot *b = &v->boot;
	bool f1, f2, f3, found;
	int rc, r;

	rc = only_props(c, node, "boot", allowed);
	if (!rc) rc = get_u64(c, node, "load-address", "VMCFG-050", true, &b->load_ipa, &found);
	if (!rc) rc = get_u64(c, node, "image-size", "VMCFG-050", true, &b->image_size, &found);
	if (!rc) rc = get_u64(c, node, "entry", "VMCFG-050", true, &b->entry, &found);
	if (!rc) rc = get_sha256(c, node, "image-sha256", "VMCFG-050", true, b->image_sha256, &found);
	if (!rc) rc = get_u64(c, node, "image-store", "VMCFG-054", false, &b->image_store, &found);
	if (rc)
		return rc;
	if (b->image_size == 0)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-050", "%s: boot image-size is 0", c->who);
	r = region_of(v, b->load_ipa, b->image_size);
	if (r < 0)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-050",
		                  "%s: boot image at %x, %U bytes, is not inside one memory region",
		                  c->who, b->load_ipa, b->image_size);
	if (!inside(b->entry, 1, b->load_ipa, b->image_size))
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-050",
		                  "%s: boot entry %x is outside the loaded image", c->who, b->entry);

	/* VMCFG-051: an initrd is all three properties or none. */
	rc = get_u64(c, node, "initrd-address", "VMCFG-051", false, &b->initrd_ipa, &f1);
	if (!rc) rc = get_u64(c, node, "initrd-size", "VMCFG-051", false, &b->initrd_size, &f2);
	if (!rc) rc = get_sha256(c, node, "initrd-sha256", "VMCFG-051", false, b->initrd_sha256, &f3);
	if (!rc) rc = get_u64(c, node, "initrd-store", "VMCFG-054", false, &b->initrd_store, &found);
	if (rc)
		return rc;
	b->has_initrd = f1 || f2 || f3;
	if (b->has_initrd) {
		if (!(f1 && f2 && f3))
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-051",
			                  "%s: initrd needs initrd-address, initrd-size and initrd-sha256 together",
			                  c->who);
		if (b->initrd_size == 0 || region_of(v, b->initrd_ipa, b->initrd_size) < 0)
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-051",
			                  "%s: initrd at %x, %U bytes, is not inside one memory region",
			                  c->who, b->initrd_ipa, b->initrd_size);
		if (overlaps(b->initrd_ipa, b->initrd_size, b->load_ipa, b->image_size))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-051",
			                  "%s: initrd overlaps the boot image", c->who);
	} else if (found) {
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-051",
		                  "%s: initrd-store given without an initrd", c->who);
	}

	/* VMCFG-052 */
	b->bootargs[0] = '\0';
	rc = get_string(c, node, "bootargs", "VMCFG-052", false, b->bootargs, VMCFG_BOOTARGS_MAX, &found);
	if (rc)
		return rc;

	/* VMCFG-053: default is the top VMCFG_FDT_SIZE bytes of the image's region. */
	rc = get_u64(c, node, "fdt-address", "VMCFG-053", false, &b->fdt_ipa, &found);
	if (rc)
		return rc;
	if (!found)
		b->fdt_ipa = v->mem[r].ipa + v->mem[r].size - VMCFG_FDT_SIZE;
	if ((b->fdt_ipa & 7) || region_of(v, b->fdt_ipa, VMCFG_FDT_SIZE) < 0)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-053",
		                  "%s: fdt-address %x is not 8-byte aligned with 64 KiB inside a memory region",
		                  c->who, b->fdt_ipa);
	if (overlaps(b->fdt_ipa, VMCFG_FDT_SIZE, b->load_ipa, b->image_size) ||
	    (b->has_initrd && overlaps(b->fdt_ipa, VMCFG_FDT_SIZE, b->initrd_ipa, b->initrd_size)))
		return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-053",
		                  "%s: the device tree at %x overlaps the image or initrd; set fdt-address",
		                  c->who, b->fdt_ipa);

	rc = check_store(c, v, "image-store", b->image_store, b->load_ipa, b->image_size);
	if (!rc && b->has_initrd)
		rc = check_store(c, v, "initrd-store", b->initrd_store, b->initrd_ipa, b->initrd_size);
	return rc;
}

/* An IPA range of a device or channel must not collide with memory, devices or
 * channels already parsed (VMCFG-060, VMCFG-070). */
static int check_ipa_free(struct pctx *c, const struct vmcfg *v, const char *what,
                          const struct vmcfg_range *r)
{
	uint32_t i, j;

	for (i = 0; i < v->nmem; i++) {
		if (overlaps(r->ipa, r->size, v->mem[i].ipa, v->mem[i].size))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-063",
			                  "%s: %s at IPA %x overlaps memory region %u", c->who, what, r->ipa, i);
		if (overlaps(r->pa, r->size, v->mem[i].pa, v->mem[i].size))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-063",
			                  "%s: %s at PA %x overlaps memory region %u", c->who, what, r->pa, i);
	}
	for (i = 0; i < v->ndev; i++)
		for (j = 0; j < v->dev[i].nreg; j++)
			if (overlaps(r->ipa, r->size, v->dev[i].reg[j].ipa, v->dev[i].reg[j].size) ||
			    overlaps(r->pa, r->size, v->dev[i].reg[j].pa, v->dev[i].reg[j].size))
				return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-063",
				                  "%s: %s at IPA %x overlaps device '%s'", c->who, what, r->ipa,
				                  v->dev[i].name);
	for (i = 0; i < v->nchan; i++)
		if (overlaps(r->ipa, r->size, v->chan[i].shm.ipa, v->chan[i].shm.size) ||
		    overlaps(r->pa, r->size, v->chan[i].shm.pa, v->chan[i].shm.size))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-063",
			                  "%s: %s at IPA %x overlaps channel %u", c->who, what, r->ipa,
			                  v->chan[i].id);
	return HVM_OK;
}

/* VMCFG-064: an SPI belongs to one device or doorbell of the VM. */
static int check_spi_free(struct pctx *c, const struct vmcfg *v, const char *what, uint32_t spi)
{
	uint32_t i, j;

	if (spi > VMCFG_MAX_SPI)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-064",
		                  "%s: %s SPI %u is above %u", c->who, what, spi, VMCFG_MAX_SPI);
	for (i = 0; i < v->ndev; i++)
		for (j = 0; j < v->dev[i].nspi; j++)
			if (v->dev[i].spi[j] == spi)
				return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-064",
				                  "%s: %s SPI %u is already used by device '%s'", c->who, what,
				                  spi, v->dev[i].name);
	for (i = 0; i < v->nchan; i++)
		if (v->chan[i].doorbell_spi == spi)
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-064",
			                  "%s: %s SPI %u is already the doorbell of channel %u", c->who,
			                  what, spi, v->chan[i].id);
	return HVM_OK;
}

/* VMCFG-060 */
static int parse_passthrough(struct pctx *c, int node, struct vmcfg *v)
{
	static const char *const allowed[] = { "compatible", "mmio", "spis", "phandle", NULL };
	struct vmcfg_dev *d;
	const uint8_t *p;
	const char *nm;
	uint32_t i;
	int len, rc;

	if (v->ndev >= VMCFG_MAX_DEVS)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-003",
		                  "%s: more than %u pass-through devices", c->who, VMCFG_MAX_DEVS);
	d = &v->dev[v->ndev];
	memset(d, 0, sizeof(*d));
	nm = fdt_get_name(c->fdt, node, &len);
	if (!nm || len < 0)
		return vmcfg_fail(c->err, HVM_E_FDT, "VMCFG-001", "%s: unreadable device node name", c->who);
	memcpy(d->name, nm, (size_t)len < sizeof(d->name) - 1 ? (size_t)len : sizeof(d->name) - 1);
	rc = only_props(c, node, d->name, allowed);
	if (!rc)
		rc = get_ranges(c, node, "mmio", "VMCFG-060", d->reg, VMCFG_MAX_DEV_RANGES, &d->nreg);
	if (rc)
		return rc;
	for (i = 0; i < d->nreg; i++) {
		rc = check_range(c, "device mmio range", i, &d->reg[i], "VMCFG-060");
		if (!rc)
			rc = check_ipa_free(c, v, "device mmio range", &d->reg[i]);
		if (rc)
			return rc;
	}
	rc = prop(c, node, "spis", &p, &len);
	if (rc)
		return rc;
	if (p) {
		if (len % 4)
			return bad_len(c, "spis", len, "a multiple of 4");
		if ((uint32_t)len / 4 > VMCFG_MAX_DEV_SPIS)
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-003",
			                  "%s: device '%s' has more than %u spis", c->who, d->name,
			                  VMCFG_MAX_DEV_SPIS);
		for (i = 0; i < (uint32_t)len / 4; i++) {
			uint32_t spi = be32(p + 4 * i);

			/* the device is not counted yet, so check its own list here */
			for (uint32_t j = 0; j < d->nspi; j++)
				if (d->spi[j] == spi)
					return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-064",
					                  "%s: device '%s' lists SPI %u twice", c->who, d->name, spi);
			rc = check_spi_free(c, v, "device", spi);
			if (rc)
				return rc;
			d->spi[d->nspi++] = spi;
		}
	}
	/* ranges of one device must not overlap each other */
	for (i = 0; i < d->nreg; i++)
		for (uint32_t j = 0; j < i; j++)
			if (overlaps(d->reg[i].ipa, d->reg[i].size, d->reg[j].ipa, d->reg[j].size) ||
			    overlaps(d->reg[i].pa, d->reg[i].size, d->reg[j].pa, d->reg[j].size))
				return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-063",
				                  "%s: device '%s' mmio range %u overlaps range %u", c->who,
				                  d->name, i, j);
	v->ndev++;
	return HVM_OK;
}

/* VMCFG-070 */
static int parse_channel(struct pctx *c, int node, struct vmcfg *v)
{
	static const char *const allowed[] = {
		"compatible", "peer", "channel-id", "shm", "rights", "doorbell-spi", "phandle", NULL
	};
	static const char *const right_names[] = { "read", "write", "doorbell-send" };
	struct vmcfg_channel *ch;
	const uint8_t *p;
	uint32_t i, n;
	bool found;
	int len, rc, pos;

	if (v->nchan >= VMCFG_MAX_CHANNELS)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-003", "%s: more than %u channels",
		                  c->who, VMCFG_MAX_CHANNELS);
	ch = &v->chan[v->nchan];
	memset(ch, 0, sizeof(*ch));
	rc = only_props(c, node, "channel", allowed);
	if (!rc) rc = get_u32(c, node, "channel-id", "VMCFG-070", true, &ch->id, &found);
	if (!rc) rc = get_string(c, node, "peer", "VMCFG-070", true, ch->peer, VMCFG_NAME_MAX, &found);
	if (rc)
		return rc;
	if (ch->id > VMCFG_MAX_CHANNEL_ID)
		return vmcfg_fail(c->err, HVM_E_CHANNEL, "VMCFG-070",
		                  "%s: channel-id %u is above %u", c->who, ch->id, VMCFG_MAX_CHANNEL_ID);
	for (i = 0; i < v->nchan; i++)
		if (v->chan[i].id == ch->id)
			return vmcfg_fail(c->err, HVM_E_CHANNEL, "VMCFG-070",
			                  "%s: channel-id %u is used twice", c->who, ch->id);
	if (!name_ok(ch->peer) || strcmp(ch->peer, v->name) == 0)
		return vmcfg_fail(c->err, HVM_E_CHANNEL, "VMCFG-070",
		                  "%s: channel %u peer '%s' is not another VM's name", c->who, ch->id,
		                  ch->peer);
	rc = get_ranges(c, node, "shm", "VMCFG-070", &ch->shm, 1, &n);
	if (!rc)
		rc = check_range(c, "channel shm", ch->id, &ch->shm, "VMCFG-070");
	if (!rc)
		rc = check_ipa_free(c, v, "channel shm", &ch->shm);
	if (rc)
		return rc;

	/* rights: a non-empty string list of known, distinct words */
	rc = prop(c, node, "rights", &p, &len);
	if (rc)
		return rc;
	if (!p)
		return missing(c, "rights", "VMCFG-070");
	if (len < 2 || p[len - 1] != '\0')
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-002",
		                  "%s: channel %u rights is not a list of strings", c->who, ch->id);
	for (pos = 0; pos < len;) {
		const char *w = (const char *)p + pos;
		size_t wl = strnlen(w, (size_t)(len - pos));
		bool known = false;

		for (i = 0; i < 3; i++)
			if (strcmp(w, right_names[i]) == 0) {
				known = true;
				if (ch->rights & (1u << i))
					return vmcfg_fail(c->err, HVM_E_CHANNEL, "VMCFG-070",
					                  "%s: channel %u lists right '%s' twice", c->who, ch->id, w);
				ch->rights |= 1u << i;
			}
		if (!known)
			return vmcfg_fail(c->err, HVM_E_CHANNEL, "VMCFG-070",
			                  "%s: channel %u has unknown right '%s'", c->who, ch->id, w);
		pos += (int)wl + 1;
	}

	ch->doorbell_spi = VMCFG_NO_SPI;
	rc = get_u32(c, node, "doorbell-spi", "VMCFG-070", false, &i, &found);
	if (!rc && found) {
		rc = check_spi_free(c, v, "doorbell", i);
		ch->doorbell_spi = i;
	}
	if (rc)
		return rc;
	v->nchan++;
	return HVM_OK;
}

/* VMCFG-013: the children of a VM node, told apart by name (boot) or compatible. */
static int parse_children(struct pctx *c, int node, struct vmcfg *v)
{
	static const char *const vuart_allowed[] = { "compatible", "phandle", NULL };
	int sub, rc, len, nboot = 0;

	fdt_for_each_subnode(sub, c->fdt, node) {
		const char *nm = fdt_get_name(c->fdt, sub, &len);

		if (!nm)
			return vmcfg_fail(c->err, HVM_E_FDT, "VMCFG-001", "%s: unreadable child node", c->who);
		if (strcmp(nm, "boot") == 0) {
			nboot++;
			continue; /* parsed last: it needs the memory regions */
		}
		if (fdt_node_check_compatible(c->fdt, sub, VMCFG_COMPAT_PASSTHROUGH) == 0) {
			rc = parse_passthrough(c, sub, v);
		} else if (fdt_node_check_compatible(c->fdt, sub, VMCFG_COMPAT_CHANNEL) == 0) {
			rc = parse_channel(c, sub, v);
		} else if (fdt_node_check_compatible(c->fdt, sub, VMCFG_COMPAT_VUART) == 0) {
			if (v->vuart)
				return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-061",
				                  "%s: more than one vuart node", c->who);
			v->vuart = true;
			rc = only_props(c, sub, "vuart", vuart_allowed);
		} else if (fdt_node_check_compatible(c->fdt, sub, VMCFG_COMPAT_VIRTIO) == 0) {
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-062",
			                  "%s: node '%s': virtio-mmio is reserved, not supported by v1",
			                  c->who, nm);
		} else {
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-013",
			                  "%s: node '%s' is neither boot nor a known device or channel",
			                  c->who, nm);
		}
		if (rc)
			return rc;
	}
	if (sub != -FDT_ERR_NOTFOUND)
		return vmcfg_fail(c->err, HVM_E_FDT, "VMCFG-001", "%s: child nodes unreadable: %s",
		                  c->who, fdt_strerror(sub));
	if (nboot != 1)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-050",
		                  "%s: %s 'boot' node", c->who, nboot ? "more than one" : "missing required");
	sub = fdt_subnode_offset(c->fdt, node, "boot");
	if (sub < 0)
		return vmcfg_fail(c->err, HVM_E_FDT, "VMCFG-001", "%s: boot node unreadable", c->who);
	return parse_boot(c, sub, v);
}

/* VMCFG-027: the management VM sees the management region at VMCFG_MGMT_IPA;
 * none of its own windows may hide it. */
static int ipa_hits_mgmt(const struct vmcfg_range *r)
{
	return r->ipa < VMCFG_MGMT_IPA + VMCFG_MGMT_SIZE && VMCFG_MGMT_IPA < r->ipa + r->size;
}

static int check_mgmt_window(struct pctx *c, const struct vmcfg *v)
{
	uint32_t i, j;

	if (!v->management)
		return HVM_OK;
	for (i = 0; i < v->nmem; i++)
		if (ipa_hits_mgmt(&v->mem[i]))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-027",
			                  "%s: memory region %u overlaps the management window at IPA %x",
			                  c->who, i, VMCFG_MGMT_IPA);
	for (i = 0; i < v->ndev; i++)
		for (j = 0; j < v->dev[i].nreg; j++)
			if (ipa_hits_mgmt(&v->dev[i].reg[j]))
				return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-027",
				                  "%s: device '%s' overlaps the management window at IPA %x",
				                  c->who, v->dev[i].name, VMCFG_MGMT_IPA);
	for (i = 0; i < v->nchan; i++)
		if (ipa_hits_mgmt(&v->chan[i].shm))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-027",
			                  "%s: channel %u overlaps the management window at IPA %x",
			                  c->who, v->chan[i].id, VMCFG_MGMT_IPA);
	return HVM_OK;
}

int vmcfg_parse_node(const void *fdt, int node, struct vmcfg *out, struct vmcfg_err *err)
{
	static const char *const allowed[] = {
		"compatible", "vm-name", "uuid", "vcpus", "cpus", "memory", "criticality",
		"fault-policy", "watchdog-timeout-ms", "restart-budget", "boot-order", "autostart",
		"management",
		"#address-cells", "#size-cells", "phandle", "model", NULL
	};
	struct vmcfg_err local;
	struct pctx c;
	const char *nm;
	int len, rc;

	if (!err)
		err = &local;
	vmcfg_err_clear(err);
	if (!fdt || !out)
		return vmcfg_fail(err, HVM_E_BAD_ARG, "VMCFG-001", "vmcfg_parse_node: no blob or no output");
	memset(out, 0, sizeof(*out));
	c.fdt = fdt;
	c.err = err;
	nm = fdt_get_name(fdt, node, &len);
	if (!nm)
		return vmcfg_fail(err, HVM_E_BAD_ARG, "VMCFG-001", "node offset %d is not a node", node);
	set_who(&c, "vm node", node == 0 ? "/" : nm);
	if (fdt_node_check_compatible(fdt, node, VMCFG_COMPAT_VM) != 0)
		return vmcfg_fail(err, HVM_E_BAD_CONFIG, "VMCFG-010",
		                  "%s: compatible is not \"" VMCFG_COMPAT_VM "\"", c.who);
	rc = parse_identity(&c, node, out);
	if (!rc) rc = only_props(&c, node, "the vm node", allowed);
	if (!rc) rc = parse_policy(&c, node, out);
	if (!rc) rc = parse_cpus(&c, node, out);
	if (!rc) rc = parse_memory(&c, node, out);
	if (!rc) rc = parse_children(&c, node, out);
	if (!rc) rc = check_mgmt_window(&c, out);
	return rc;
}

int vmcfg_parse(const void *fdt, size_t len, int node, struct vmcfg *out, struct vmcfg_err *err)
{
	int rc = vmcfg_check_blob(fdt, len, err);

	if (rc)
		return rc;
	if (!out)
		return vmcfg_fail(err, HVM_E_BAD_ARG, "VMCFG-001", "vmcfg_parse: no output");
	if (node < 0 || (size_t)node >= fdt_size_dt_struct(fdt))
		return vmcfg_fail(err, HVM_E_BAD_ARG, "VMCFG-001", "node offset %d is not in the blob", node);
	return vmcfg_parse_node(fdt, node, out, err);
}
