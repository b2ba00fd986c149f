/*
 * vmconfig.c - the rules of one VM node of a configuration blob
 * (docs/vm-config.md, clauses VMCFG-010..071): what each property may hold
 * and how the parts of a VM must fit together.
 *
 * Properties are read through vmcfg_read.c, which checks the blob and every
 * length first. No allocation: the result is a fixed-size struct vmcfg.
 */
#include <libfdt.h>

#include "vmcfg_read.h"

/* ---- names of enumerations -------------------------------------------- */

static const char *const crit_names[] = { "QM", "ASIL-A", "ASIL-B", "ASIL-C", "ASIL-D" };
static const char *const policy_names[] = { "ignore", "stop", "restart", "stop-vcpu" };
static const char *const abort_policy_names[] = { "policy", "inject" };

const char *vmcfg_criticality_name(uint32_t c)
{
	return c < sizeof(crit_names) / sizeof(crit_names[0]) ? crit_names[c] : "?";
}

const char *vmcfg_fault_policy_name(uint32_t p)
{
	return p < sizeof(policy_names) / sizeof(policy_names[0]) ? policy_names[p] : "?";
}

/* ---- value rules -------------------------------------------------------- */

/* VMCFG-020: names are [a-z0-9_-], 1..31 characters. */
/* VMCFG-480: the VIRTIO devices served, by VIRTIO device id */
static const struct {
	const char *word;
	uint32_t type;
} virtio_types[] = { { "net", 1 }, { "blk", 2 }, { "console", 3 }, { "rng", 4 } };

const char *vmcfg_virtio_type_name(uint32_t type)
{
	for (uint32_t i = 0; i < sizeof(virtio_types) / sizeof(virtio_types[0]); i++)
		if (virtio_types[i].type == type)
			return virtio_types[i].word;
	return NULL;
}

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
static int check_range(struct cfg_ctx *c, const char *what, uint32_t i, const struct vmcfg_range *r,
		       const char *rule)
{
	if (r->size == 0)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, rule, "%s: %s %u has size 0", c->who,
				  what, i);
	if ((r->ipa | r->pa | r->size) & (VMCFG_PAGE - 1))
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, rule,
				  "%s: %s %u is not 4 KiB aligned (ipa 0x%lx pa 0x%lx size 0x%lx)",
				  c->who, what, i, r->ipa, r->pa, r->size);
	if (r->ipa >= VMCFG_IPA_LIMIT || r->size > VMCFG_IPA_LIMIT - r->ipa)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, rule,
				  "%s: %s %u ends beyond the 40-bit guest-physical space", c->who,
				  what, i);
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
		if (cfg_inside(ipa, size, v->mem[i].ipa, v->mem[i].size))
			return (int)i;
	return -1;
}

/* ---- the parts of a VM node -------------------------------------------- */

static int parse_identity(struct cfg_ctx *c, int node, struct vmcfg *v)
{
	const uint8_t *u;
	int len, rc;
	bool found;
	uint32_t i;

	rc = cfg_string(c, node, "vm-name", "VMCFG-020", true, v->name, VMCFG_NAME_MAX, &found);
	if (rc)
		return rc;
	if (!name_ok(v->name))
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-020",
				  "%s: vm-name '%s' must be 1..31 characters of [a-z0-9_-]", c->who,
				  v->name);
	cfg_set_who(c, "vm", v->name);

	/* VMCFG-021: 16 bytes, or the 36-character text form. */
	rc = cfg_prop(c, node, "uuid", &u, &len);
	if (rc || !u)
		return rc;
	if (len == 16) {
		memcpy(v->uuid, u, 16);
		return HVM_OK;
	}
	if (len != 37 || u[36] != '\0')
		return cfg_bad_len(c, "uuid", len, "16 bytes or a 36-character string");
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

static int parse_enum(struct cfg_ctx *c, int node, const char *name, const char *rule, bool required,
		      const char *const *names, uint32_t count, uint32_t def, uint32_t *out)
{
	char buf[16];
	bool found;
	uint32_t i;
	int rc;

	*out = def;
	rc = cfg_string(c, node, name, rule, required, buf, sizeof(buf) - 1, &found);
	if (rc || !found)
		return rc;
	for (i = 0; i < count; i++)
		if (strcmp(buf, names[i]) == 0) {
			*out = i;
			return HVM_OK;
		}
	return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, rule, "%s: unknown %s '%s'", c->who, name, buf);
}

static int parse_policy(struct cfg_ctx *c, int node, struct vmcfg *v)
{
	const uint8_t *p;
	bool found;
	uint32_t x;
	int len, rc;

	rc = parse_enum(c, node, "criticality", "VMCFG-022", true, crit_names, 5, VMCFG_QM,
			&v->criticality);
	if (!rc)
		rc = parse_enum(c, node, "fault-policy", "VMCFG-023", false, policy_names, 4,
				VMCFG_FP_STOP, &v->fault_policy);
	if (rc)
		return rc;

	/* VMCFG-024 */
	v->watchdog_ms = 0;
	rc = cfg_u32(c, node, "watchdog-timeout-ms", "VMCFG-024", false, &x, &found);
	if (rc)
		return rc;
	if (found) {
		if (x != 0 && (x < VMCFG_WATCHDOG_MIN_MS || x > VMCFG_WATCHDOG_MAX_MS))
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-024",
					  "%s: watchdog-timeout-ms %u is outside 0 or %u..%u",
					  c->who, x, VMCFG_WATCHDOG_MIN_MS, VMCFG_WATCHDOG_MAX_MS);
		v->watchdog_ms = x;
	}

	/* VMCFG-025 */
	v->restart_max = 3;
	v->restart_window_ms = 60000;
	rc = cfg_prop(c, node, "restart-budget", &p, &len);
	if (rc)
		return rc;
	if (p) {
		if (len != 8)
			return cfg_bad_len(c, "restart-budget", len, "8 (<count window-ms>)");
		v->restart_max = cfg_be32(p);
		v->restart_window_ms = cfg_be32(p + 4);
		if (v->restart_max > VMCFG_RESTART_MAX || v->restart_window_ms == 0 ||
		    v->restart_window_ms > VMCFG_WINDOW_MAX_MS)
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-025",
					  "%s: restart-budget <%u %u> outside count 0..%u, window 1..%u ms",
					  c->who, v->restart_max, v->restart_window_ms,
					  VMCFG_RESTART_MAX, VMCFG_WINDOW_MAX_MS);
	}
	if (v->fault_policy == VMCFG_FP_RESTART && v->restart_max == 0)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-025",
				  "%s: fault-policy 'restart' with a restart-budget of 0 restarts",
				  c->who);

	/* VMCFG-026 */
	v->boot_order = 0;
	rc = cfg_u32(c, node, "boot-order", "VMCFG-026", false, &x, &found);
	if (rc)
		return rc;
	if (found) {
		if (x > VMCFG_BOOT_ORDER_MAX)
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-026",
					  "%s: boot-order %u is above %u", c->who, x,
					  VMCFG_BOOT_ORDER_MAX);
		v->boot_order = x;
	}
	rc = cfg_flag(c, node, "autostart", "VMCFG-026", &v->autostart);
	if (rc)
		return rc;

	/* VMCFG-331 */
	v->stop_grace_ms = 0;
	rc = cfg_u32(c, node, "stop-grace-ms", "VMCFG-331", false, &x, &found);
	if (rc)
		return rc;
	if (found && x > VMCFG_STOP_GRACE_MAX_MS)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-331",
				  "%s: stop-grace-ms %u is above %u", c->who, x,
				  VMCFG_STOP_GRACE_MAX_MS);
	if (found)
		v->stop_grace_ms = x;

	/* VMCFG-700 */
	rc = parse_enum(c, node, "abort-policy", "VMCFG-700", false, abort_policy_names, 2,
			VMCFG_AP_POLICY, &v->abort_policy);
	if (rc)
		return rc;

	/* VMCFG-600 */
	v->ota_confirm_ms = 0;
	rc = cfg_u32(c, node, "ota-confirm-ms", "VMCFG-600", false, &x, &found);
	if (rc)
		return rc;
	if (found && (x < VMCFG_OTA_CONFIRM_MIN_MS || x > VMCFG_OTA_CONFIRM_MAX_MS))
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-600",
				  "%s: ota-confirm-ms %u is outside %u..%u", c->who, x,
				  VMCFG_OTA_CONFIRM_MIN_MS, VMCFG_OTA_CONFIRM_MAX_MS);
	if (found)
		v->ota_confirm_ms = x;

	/* VMCFG-602 */
	v->ota_slot_size = v->ota_initrd_slot_size = 0;
	rc = cfg_u64(c, node, "ota-slot-size", "VMCFG-602", false, &v->ota_slot_size, &found);
	if (rc == 0)
		rc = cfg_u64(c, node, "ota-initrd-slot-size", "VMCFG-602", false,
			     &v->ota_initrd_slot_size, &found);
	if (rc)
		return rc;
	if (v->ota_slot_size > VMCFG_OTA_SLOT_MAX || v->ota_initrd_slot_size > VMCFG_OTA_SLOT_MAX)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-602",
				  "%s: ota-slot-size 0x%llx, ota-initrd-slot-size 0x%llx: at most "
				  "0x%llx each",
				  c->who, (unsigned long long)v->ota_slot_size,
				  (unsigned long long)v->ota_initrd_slot_size,
				  (unsigned long long)VMCFG_OTA_SLOT_MAX);

	/* VMCFG-027 */
	return cfg_flag(c, node, "management", "VMCFG-027", &v->management);
}

/* VMCFG-030, VMCFG-031 */
static int parse_cpus(struct cfg_ctx *c, int node, struct vmcfg *v)
{
	const uint8_t *p;
	bool found;
	uint32_t i, n;
	int len, rc;

	rc = cfg_u32(c, node, "vcpus", "VMCFG-030", true, &v->vcpus, &found);
	if (rc)
		return rc;
	if (v->vcpus == 0 || v->vcpus > VMCFG_MAX_VCPUS)
		return vmcfg_fail(c->err, HVM_E_CPU, "VMCFG-030", "%s: vcpus is %u, must be 1..%u",
				  c->who, v->vcpus, VMCFG_MAX_VCPUS);
	rc = cfg_prop(c, node, "cpus", &p, &len);
	if (rc)
		return rc;
	if (!p)
		return cfg_missing(c, "cpus", "VMCFG-031");
	if (len == 0 || len % 4)
		return cfg_bad_len(c, "cpus", len, "a non-empty multiple of 4");
	n = (uint32_t)len / 4;
	if (n != v->vcpus)
		return vmcfg_fail(c->err, HVM_E_CPU, "VMCFG-031",
				  "%s: cpus lists %u physical CPUs for %u vcpus, must be one per vCPU",
				  c->who, n, v->vcpus);
	v->pcpu_mask = 0;
	for (i = 0; i < n; i++) {
		uint32_t id = cfg_be32(p + 4 * i);

		if (id >= VMCFG_MAX_PCPUS)
			return vmcfg_fail(c->err, HVM_E_CPU, "VMCFG-031",
					  "%s: cpus[%u] = %u is not a physical CPU id 0..%u",
					  c->who, i, id, VMCFG_MAX_PCPUS - 1);
		if (v->pcpu_mask & (1ull << id))
			return vmcfg_fail(c->err, HVM_E_CPU, "VMCFG-031",
					  "%s: cpus lists physical CPU %u twice", c->who, id);
		v->pcpu[i] = id;
		v->pcpu_mask |= 1ull << id;
	}
	return HVM_OK;
}

/* VMCFG-040, VMCFG-041 */
static int parse_memory(struct cfg_ctx *c, int node, struct vmcfg *v)
{
	uint32_t i, j;
	int rc = cfg_ranges(c, node, "memory", "VMCFG-040", v->mem, VMCFG_MAX_MEM, &v->nmem);

	if (rc)
		return rc;
	for (i = 0; i < v->nmem; i++) {
		rc = check_range(c, "memory region", i, &v->mem[i], "VMCFG-040");
		if (rc)
			return rc;
		for (j = 0; j < i; j++) {
			if (cfg_overlaps(v->mem[i].ipa, v->mem[i].size, v->mem[j].ipa, v->mem[j].size))
				return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-041",
						  "%s: memory region %u overlaps region %u (IPA)",
						  c->who, i, j);
			if (cfg_overlaps(v->mem[i].pa, v->mem[i].size, v->mem[j].pa, v->mem[j].size))
				return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-041",
						  "%s: memory region %u overlaps region %u (PA)",
						  c->who, i, j);
		}
	}
	return HVM_OK;
}

/* VMCFG-054: a store range is the destination itself or clear of the VM's memory. */
static int check_store(struct cfg_ctx *c, const struct vmcfg *v, const char *name, uint64_t store,
		       uint64_t ipa, uint64_t size)
{
	int r = region_of(v, ipa, size);
	uint64_t dest;
	uint32_t i;

	if (store == 0)
		return HVM_OK;
	if (store >= VMCFG_PA_LIMIT || size > VMCFG_PA_LIMIT - store)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-054",
				  "%s: %s 0x%lx + size ends beyond the 48-bit physical space",
				  c->who, name, store);
	dest = v->mem[r].pa + (ipa - v->mem[r].ipa);
	if (store == dest)
		return HVM_OK;
	for (i = 0; i < v->nmem; i++)
		if (cfg_overlaps(store, size, v->mem[i].pa, v->mem[i].size))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-054",
					  "%s: %s 0x%lx overlaps memory region %u but is not the load destination",
					  c->who, name, store, i);
	return HVM_OK;
}

/* VMCFG-050..054 */
static int parse_boot(struct cfg_ctx *c, int node, struct vmcfg *v)
{
	static const char *const allowed[] = { "entry",
					       "load-address",
					       "image-size",
					       "image-sha256",
					       "image-store",
					       "initrd-address",
					       "initrd-size",
					       "initrd-sha256",
					       "initrd-store",
					       "fdt-address",
					       "bootargs",
					       "phandle",
					       NULL };
	struct vmcfg_boot *b = &v->boot;
	bool f1, f2, f3, found;
	int rc, r;

	rc = cfg_only_props(c, node, "boot", allowed);
	if (!rc)
		rc = cfg_u64(c, node, "load-address", "VMCFG-050", true, &b->load_ipa, &found);
	if (!rc)
		rc = cfg_u64(c, node, "image-size", "VMCFG-050", true, &b->image_size, &found);
	if (!rc)
		rc = cfg_u64(c, node, "entry", "VMCFG-050", true, &b->entry, &found);
	if (!rc)
		rc = cfg_sha256(c, node, "image-sha256", "VMCFG-050", true, b->image_sha256, &found);
	if (!rc)
		rc = cfg_u64(c, node, "image-store", "VMCFG-054", false, &b->image_store, &found);
	if (rc)
		return rc;
	if (b->image_size == 0)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-050", "%s: boot image-size is 0",
				  c->who);
	r = region_of(v, b->load_ipa, b->image_size);
	if (r < 0)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-050",
				  "%s: boot image at 0x%lx, %lu bytes, is not inside one memory region",
				  c->who, b->load_ipa, b->image_size);
	if (!cfg_inside(b->entry, 1, b->load_ipa, b->image_size))
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-050",
				  "%s: boot entry 0x%lx is outside the loaded image", c->who,
				  b->entry);

	/* VMCFG-051: an initrd is all three properties or none. */
	rc = cfg_u64(c, node, "initrd-address", "VMCFG-051", false, &b->initrd_ipa, &f1);
	if (!rc)
		rc = cfg_u64(c, node, "initrd-size", "VMCFG-051", false, &b->initrd_size, &f2);
	if (!rc)
		rc = cfg_sha256(c, node, "initrd-sha256", "VMCFG-051", false, b->initrd_sha256, &f3);
	if (!rc)
		rc = cfg_u64(c, node, "initrd-store", "VMCFG-054", false, &b->initrd_store, &found);
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
					  "%s: initrd at 0x%lx, %lu bytes, is not inside one memory region",
					  c->who, b->initrd_ipa, b->initrd_size);
		if (cfg_overlaps(b->initrd_ipa, b->initrd_size, b->load_ipa, b->image_size))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-051",
					  "%s: initrd overlaps the boot image", c->who);
	} else if (found) {
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-051",
				  "%s: initrd-store given without an initrd", c->who);
	}

	/* VMCFG-052 */
	b->bootargs[0] = '\0';
	rc = cfg_string(c, node, "bootargs", "VMCFG-052", false, b->bootargs, VMCFG_BOOTARGS_MAX,
			&found);
	if (rc)
		return rc;

	/* VMCFG-053: default is the top VMCFG_FDT_SIZE bytes of the image's region. */
	rc = cfg_u64(c, node, "fdt-address", "VMCFG-053", false, &b->fdt_ipa, &found);
	if (rc)
		return rc;
	if (!found)
		b->fdt_ipa = v->mem[r].ipa + v->mem[r].size - VMCFG_FDT_SIZE;
	if ((b->fdt_ipa & 7) || region_of(v, b->fdt_ipa, VMCFG_FDT_SIZE) < 0)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-053",
				  "%s: fdt-address 0x%lx is not 8-byte aligned with 64 KiB inside a memory region",
				  c->who, b->fdt_ipa);
	if (cfg_overlaps(b->fdt_ipa, VMCFG_FDT_SIZE, b->load_ipa, b->image_size) ||
	    (b->has_initrd && cfg_overlaps(b->fdt_ipa, VMCFG_FDT_SIZE, b->initrd_ipa, b->initrd_size)))
		return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-053",
				  "%s: the device tree at 0x%lx overlaps the image or initrd; set fdt-address",
				  c->who, b->fdt_ipa);

	rc = check_store(c, v, "image-store", b->image_store, b->load_ipa, b->image_size);
	if (!rc && b->has_initrd)
		rc = check_store(c, v, "initrd-store", b->initrd_store, b->initrd_ipa,
				 b->initrd_size);
	return rc;
}

/* An IPA range of a device or channel must not collide with memory, devices or
 * channels already parsed (VMCFG-060, VMCFG-070). */
static int check_ipa_free(struct cfg_ctx *c, const struct vmcfg *v, const char *what,
			  const struct vmcfg_range *r)
{
	uint32_t i, j;

	for (i = 0; i < v->nmem; i++) {
		if (cfg_overlaps(r->ipa, r->size, v->mem[i].ipa, v->mem[i].size))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-063",
					  "%s: %s at IPA 0x%lx overlaps memory region %u", c->who,
					  what, r->ipa, i);
		if (cfg_overlaps(r->pa, r->size, v->mem[i].pa, v->mem[i].size))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-063",
					  "%s: %s at PA 0x%lx overlaps memory region %u", c->who,
					  what, r->pa, i);
	}
	for (i = 0; i < v->ndev; i++)
		for (j = 0; j < v->dev[i].nreg; j++)
			if (cfg_overlaps(r->ipa, r->size, v->dev[i].reg[j].ipa,
					 v->dev[i].reg[j].size) ||
			    cfg_overlaps(r->pa, r->size, v->dev[i].reg[j].pa, v->dev[i].reg[j].size))
				return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-063",
						  "%s: %s at IPA 0x%lx overlaps device '%s'",
						  c->who, what, r->ipa, v->dev[i].name);
	for (i = 0; i < v->nchan; i++)
		if (cfg_overlaps(r->ipa, r->size, v->chan[i].shm.ipa, v->chan[i].shm.size) ||
		    cfg_overlaps(r->pa, r->size, v->chan[i].shm.pa, v->chan[i].shm.size))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-063",
					  "%s: %s at IPA 0x%lx overlaps channel %u", c->who, what,
					  r->ipa, v->chan[i].id);
	for (i = 0; i < v->nvirtio; i++)
		if (cfg_overlaps(r->ipa, r->size, v->virtio[i].ipa, VMCFG_VIRTIO_WINDOW))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-481",
					  "%s: %s at IPA 0x%lx overlaps virtio device '%s'", c->who,
					  what, r->ipa, v->virtio[i].name);
	return HVM_OK;
}

/* VMCFG-064: an SPI belongs to one device or doorbell of the VM. */
static int check_spi_free(struct cfg_ctx *c, const struct vmcfg *v, const char *what, uint32_t spi)
{
	uint32_t i, j;

	if (spi > VMCFG_MAX_SPI)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-064",
				  "%s: %s SPI %u is above %u", c->who, what, spi, VMCFG_MAX_SPI);
	for (i = 0; i < v->ndev; i++)
		for (j = 0; j < v->dev[i].nspi; j++)
			if (v->dev[i].spi[j] == spi)
				return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-064",
						  "%s: %s SPI %u is already used by device '%s'",
						  c->who, what, spi, v->dev[i].name);
	for (i = 0; i < v->nchan; i++)
		if (v->chan[i].doorbell_spi == spi)
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-064",
					  "%s: %s SPI %u is already the doorbell of channel %u",
					  c->who, what, spi, v->chan[i].id);
	for (i = 0; i < v->nvirtio; i++)
		if (v->virtio[i].spi == spi)
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-064",
					  "%s: %s SPI %u is already used by virtio device '%s'",
					  c->who, what, spi, v->virtio[i].name);
	return HVM_OK;
}

/* A device node's name into name[cap] (cut to fit) and VMCFG-012 on its
 * properties. */
static int device_node(struct cfg_ctx *c, int node, char *name, size_t cap, const char *const *allowed)
{
	int len;
	const char *nm = fdt_get_name(c->fdt, node, &len);

	if (!nm || len < 0)
		return vmcfg_fail(c->err, HVM_E_FDT, "VMCFG-001", "%s: unreadable device node name",
				  c->who);
	memcpy(name, nm, (size_t)len < cap - 1 ? (size_t)len : cap - 1);
	return cfg_only_props(c, node, name, allowed);
}

/* VMCFG-851, VMCFG-852: a "blk" device's disk; is_blk says whether d is one
 * (disk-size is refused on any other). */
static int parse_blk(struct cfg_ctx *c, int node, const struct vmcfg *v, struct vmcfg_virtio *d,
		     bool is_blk)
{
	bool f1 = false;
	int rc = cfg_u64(c, node, "disk-size", "VMCFG-851", false, &d->disk_size, &f1);

	if (rc)
		return rc;
	/* VMCFG-852: the data pass through hv-core's bounce area; a window of
	 * the VM's RAM for the backend is no longer taken */
	if (fdt_getprop(c->fdt, node, "dma-window", NULL) ||
	    fdt_getprop(c->fdt, node, "dma-size", NULL))
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-852",
				  "%s: virtio '%s': no dma-window/dma-size, data use the bounce area",
				  c->who, d->name);
	if (!is_blk && f1)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-851",
				  "%s: virtio device '%s': only a \"blk\" device has a disk-size",
				  c->who, d->name);
	if (!is_blk)
		return HVM_OK;
	if (!f1)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-851",
				  "%s: virtio device '%s': a \"blk\" device needs disk-size",
				  c->who, d->name);
	if (d->disk_size % 512 || d->disk_size < VMCFG_BLK_DISK_MIN ||
	    d->disk_size > VMCFG_BLK_DISK_MAX)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-851",
				  "%s: virtio '%s' disk-size 0x%lx not a multiple of 512 in "
				  "64 KiB..1 TiB",
				  c->who, d->name, d->disk_size);
	for (uint32_t i = 0; i < v->nvirtio; i++)
		if (v->virtio[i].type == 2)
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-851",
					  "%s: virtio device '%s': the VM has a \"blk\" device "
					  "already ('%s')",
					  c->who, d->name, v->virtio[i].name);
	return HVM_OK;
}

/* VMCFG-480..482: a VIRTIO device served over virtio-mmio. */
static int parse_virtio(struct cfg_ctx *c, int node, struct vmcfg *v)
{
	static const char *const allowed[] = { "compatible", "device",     "window",
					       "spi",        "channel",    "frame-rate",
					       "disk-size",  "dma-window", "dma-size",
					       "phandle",    NULL };
	struct vmcfg_virtio *d;
	char word[16];
	bool found;
	uint32_t i;
	int rc;

	if (v->nvirtio >= VMCFG_MAX_VIRTIO)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-480",
				  "%s: more than %u virtio devices", c->who, VMCFG_MAX_VIRTIO);
	d = &v->virtio[v->nvirtio];
	memset(d, 0, sizeof(*d));
	rc = device_node(c, node, d->name, sizeof(d->name), allowed);
	if (!rc)
		rc = cfg_string(c, node, "device", "VMCFG-480", true, word, sizeof(word) - 1, &found);
	if (!rc)
		rc = cfg_u64(c, node, "window", "VMCFG-481", true, &d->ipa, &found);
	if (!rc)
		rc = cfg_u32(c, node, "spi", "VMCFG-482", true, &d->spi, &found);
	if (!rc)
		rc = cfg_u32(c, node, "frame-rate", "VMCFG-850", false, &d->frame_rate, &found);
	if (!rc && found && strcmp(word, "net") != 0)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-850",
				  "%s: virtio device '%s': only a \"net\" device has a frame-rate",
				  c->who, d->name);
	if (!rc && found && (d->frame_rate == 0 || d->frame_rate > VMCFG_FRAME_RATE_MAX))
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-850",
				  "%s: virtio device '%s' frame-rate %u is outside 1..%u per second",
				  c->who, d->name, d->frame_rate, VMCFG_FRAME_RATE_MAX);
	if (!rc && !found && strcmp(word, "net") == 0)
		d->frame_rate = VMCFG_FRAME_RATE_DEFAULT;
	if (!rc)
		rc = parse_blk(c, node, v, d, strcmp(word, "blk") == 0);
	if (!rc)
		rc = cfg_u32(c, node, "channel", "VMCFG-485", false, &d->channel, &found);
	if (rc)
		return rc;
	if (found != (strcmp(word, "net") == 0))
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-485",
				  "%s: virtio device '%s': %s", c->who, d->name,
				  found ? "only a \"net\" device has a channel"
					: "a \"net\" device needs a channel");
	for (i = 0; i < sizeof(virtio_types) / sizeof(virtio_types[0]); i++)
		if (strcmp(word, virtio_types[i].word) == 0)
			d->type = virtio_types[i].type;
	if (!d->type)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-480",
				  "%s: virtio device '%s' has unknown device '%s'", c->who, d->name,
				  word);
	if ((d->ipa & (VMCFG_VIRTIO_WINDOW - 1)) || d->ipa >= VMCFG_IPA_LIMIT)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-481",
				  "%s: virtio device '%s' window 0x%lx is not 512-byte aligned "
				  "below the IPA limit",
				  c->who, d->name, d->ipa);
	/* IPA only: no physical memory is behind the window */
	for (i = 0; i < v->nmem; i++)
		if (cfg_overlaps(d->ipa, VMCFG_VIRTIO_WINDOW, v->mem[i].ipa, v->mem[i].size))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-481",
					  "%s: virtio device '%s' window overlaps memory region %u",
					  c->who, d->name, i);
	for (i = 0; i < v->ndev; i++)
		for (uint32_t j = 0; j < v->dev[i].nreg; j++)
			if (cfg_overlaps(d->ipa, VMCFG_VIRTIO_WINDOW, v->dev[i].reg[j].ipa,
					 v->dev[i].reg[j].size))
				return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-481",
						  "%s: virtio device '%s' window overlaps device '%s'",
						  c->who, d->name, v->dev[i].name);
	for (i = 0; i < v->nchan; i++)
		if (cfg_overlaps(d->ipa, VMCFG_VIRTIO_WINDOW, v->chan[i].shm.ipa, v->chan[i].shm.size))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-481",
					  "%s: virtio device '%s' window overlaps channel %u",
					  c->who, d->name, v->chan[i].id);
	for (i = 0; i < v->nvirtio; i++)
		if (v->virtio[i].ipa == d->ipa)
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-481",
					  "%s: virtio device '%s' window is that of '%s'", c->who,
					  d->name, v->virtio[i].name);
	rc = check_spi_free(c, v, "virtio", d->spi);
	if (rc)
		return rc;
	v->nvirtio++;
	return HVM_OK;
}

/* VMCFG-060 */
static int parse_passthrough(struct cfg_ctx *c, int node, struct vmcfg *v)
{
	static const char *const allowed[] = { "compatible", "mmio", "spis", "phandle", NULL };
	struct vmcfg_dev *d;
	const uint8_t *p;
	uint32_t i;
	int len, rc;

	if (v->ndev >= VMCFG_MAX_DEVS)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-003",
				  "%s: more than %u pass-through devices", c->who, VMCFG_MAX_DEVS);
	d = &v->dev[v->ndev];
	memset(d, 0, sizeof(*d));
	rc = device_node(c, node, d->name, sizeof(d->name), allowed);
	if (!rc)
		rc = cfg_ranges(c, node, "mmio", "VMCFG-060", d->reg, VMCFG_MAX_DEV_RANGES, &d->nreg);
	if (rc)
		return rc;
	for (i = 0; i < d->nreg; i++) {
		rc = check_range(c, "device mmio range", i, &d->reg[i], "VMCFG-060");
		if (!rc)
			rc = check_ipa_free(c, v, "device mmio range", &d->reg[i]);
		if (rc)
			return rc;
	}
	rc = cfg_prop(c, node, "spis", &p, &len);
	if (rc)
		return rc;
	if (p) {
		if (len % 4)
			return cfg_bad_len(c, "spis", len, "a multiple of 4");
		if ((uint32_t)len / 4 > VMCFG_MAX_DEV_SPIS)
			return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-003",
					  "%s: device '%s' has more than %u spis", c->who, d->name,
					  VMCFG_MAX_DEV_SPIS);
		for (i = 0; i < (uint32_t)len / 4; i++) {
			uint32_t spi = cfg_be32(p + 4 * i);

			/* the device is not counted yet, so check its own list here */
			for (uint32_t j = 0; j < d->nspi; j++)
				if (d->spi[j] == spi)
					return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-064",
							  "%s: device '%s' lists SPI %u twice",
							  c->who, d->name, spi);
			rc = check_spi_free(c, v, "device", spi);
			if (rc)
				return rc;
			d->spi[d->nspi++] = spi;
		}
	}
	/* ranges of one device must not overlap each other */
	for (i = 0; i < d->nreg; i++)
		for (uint32_t j = 0; j < i; j++)
			if (cfg_overlaps(d->reg[i].ipa, d->reg[i].size, d->reg[j].ipa,
					 d->reg[j].size) ||
			    cfg_overlaps(d->reg[i].pa, d->reg[i].size, d->reg[j].pa, d->reg[j].size))
				return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-063",
						  "%s: device '%s' mmio range %u overlaps range %u",
						  c->who, d->name, i, j);
	v->ndev++;
	return HVM_OK;
}

/* VMCFG-070 */
static int parse_channel(struct cfg_ctx *c, int node, struct vmcfg *v)
{
	static const char *const allowed[] = { "compatible",    "peer",    "channel-id",
					       "shm",           "rights",  "doorbell-spi",
					       "doorbell-rate", "phandle", NULL };
	static const char *const right_names[] = { "read", "write", "doorbell-send" };
	struct vmcfg_channel *ch;
	const uint8_t *p;
	uint32_t i, n;
	bool found;
	int len, rc, pos;

	if (v->nchan >= VMCFG_MAX_CHANNELS)
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-003",
				  "%s: more than %u channels", c->who, VMCFG_MAX_CHANNELS);
	ch = &v->chan[v->nchan];
	memset(ch, 0, sizeof(*ch));
	rc = cfg_only_props(c, node, "channel", allowed);
	if (!rc)
		rc = cfg_u32(c, node, "channel-id", "VMCFG-070", true, &ch->id, &found);
	if (!rc)
		rc = cfg_string(c, node, "peer", "VMCFG-070", true, ch->peer, VMCFG_NAME_MAX, &found);
	if (rc)
		return rc;
	if (ch->id > VMCFG_MAX_CHANNEL_ID)
		return vmcfg_fail(c->err, HVM_E_CHANNEL, "VMCFG-070", "%s: channel-id %u is above %u",
				  c->who, ch->id, VMCFG_MAX_CHANNEL_ID);
	for (i = 0; i < v->nchan; i++)
		if (v->chan[i].id == ch->id)
			return vmcfg_fail(c->err, HVM_E_CHANNEL, "VMCFG-070",
					  "%s: channel-id %u is used twice", c->who, ch->id);
	if (!name_ok(ch->peer) || strcmp(ch->peer, v->name) == 0)
		return vmcfg_fail(c->err, HVM_E_CHANNEL, "VMCFG-070",
				  "%s: channel %u peer '%s' is not another VM's name", c->who,
				  ch->id, ch->peer);
	rc = cfg_ranges(c, node, "shm", "VMCFG-070", &ch->shm, 1, &n);
	if (!rc)
		rc = check_range(c, "channel shm", ch->id, &ch->shm, "VMCFG-070");
	if (!rc)
		rc = check_ipa_free(c, v, "channel shm", &ch->shm);
	if (rc)
		return rc;

	/* rights: a non-empty string list of known, distinct words */
	rc = cfg_prop(c, node, "rights", &p, &len);
	if (rc)
		return rc;
	if (!p)
		return cfg_missing(c, "rights", "VMCFG-070");
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
							  "%s: channel %u lists right '%s' twice",
							  c->who, ch->id, w);
				ch->rights |= 1u << i;
			}
		if (!known)
			return vmcfg_fail(c->err, HVM_E_CHANNEL, "VMCFG-070",
					  "%s: channel %u has unknown right '%s'", c->who, ch->id, w);
		pos += (int)wl + 1;
	}

	ch->doorbell_spi = VMCFG_NO_SPI;
	rc = cfg_u32(c, node, "doorbell-spi", "VMCFG-070", false, &i, &found);
	if (!rc && found) {
		rc = check_spi_free(c, v, "doorbell", i);
		ch->doorbell_spi = i;
	}
	if (rc)
		return rc;
	/* VMCFG-701 */
	ch->doorbell_rate = VMCFG_DOORBELL_RATE_DEFAULT;
	rc = cfg_u32(c, node, "doorbell-rate", "VMCFG-701", false, &i, &found);
	if (rc)
		return rc;
	if (found && (i == 0 || i > VMCFG_DOORBELL_RATE_MAX))
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-701",
				  "%s: channel %u doorbell-rate %u is outside 1..%u per second",
				  c->who, ch->id, i, VMCFG_DOORBELL_RATE_MAX);
	if (found)
		ch->doorbell_rate = i;
	v->nchan++;
	return HVM_OK;
}

/* VMCFG-485: a virtio-net device names a channel end of its VM, one device
 * per channel; the channel's rights say which way frames may go. */
static int check_virtio_channels(struct cfg_ctx *c, const struct vmcfg *v)
{
	for (uint32_t i = 0; i < v->nvirtio; i++) {
		const struct vmcfg_virtio *d = &v->virtio[i];
		bool found = false;

		if (d->type != 1)
			continue;
		for (uint32_t k = 0; k < v->nchan; k++)
			found = found || v->chan[k].id == d->channel;
		if (!found)
			return vmcfg_fail(c->err, HVM_E_CHANNEL, "VMCFG-485",
					  "%s: virtio device '%s' names channel %u, which the VM "
					  "does not have",
					  c->who, d->name, d->channel);
		for (uint32_t k = 0; k < i; k++)
			if (v->virtio[k].type == 1 && v->virtio[k].channel == d->channel)
				return vmcfg_fail(c->err, HVM_E_CHANNEL, "VMCFG-485",
						  "%s: virtio devices '%s' and '%s' share channel %u",
						  c->who, v->virtio[k].name, d->name, d->channel);
	}
	return HVM_OK;
}

/* VMCFG-013: the children of a VM node, told apart by name (boot) or compatible. */
static int parse_children(struct cfg_ctx *c, int node, struct vmcfg *v)
{
	static const char *const vuart_allowed[] = { "compatible", "phandle", NULL };
	int sub, rc, len, nboot = 0;

	fdt_for_each_subnode(sub, c->fdt, node)
	{
		const char *nm = fdt_get_name(c->fdt, sub, &len);

		if (!nm)
			return vmcfg_fail(c->err, HVM_E_FDT, "VMCFG-001",
					  "%s: unreadable child node", c->who);
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
			rc = cfg_only_props(c, sub, "vuart", vuart_allowed);
		} else if (fdt_node_check_compatible(c->fdt, sub, VMCFG_COMPAT_VIRTIO) == 0) {
			rc = parse_virtio(c, sub, v);
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
		return vmcfg_fail(c->err, HVM_E_BAD_CONFIG, "VMCFG-050", "%s: %s 'boot' node",
				  c->who, nboot ? "more than one" : "missing required");
	rc = check_virtio_channels(c, v);
	if (rc)
		return rc;
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

static int check_mgmt_window(struct cfg_ctx *c, const struct vmcfg *v)
{
	uint32_t i, j;

	if (!v->management)
		return HVM_OK;
	for (i = 0; i < v->nmem; i++)
		if (ipa_hits_mgmt(&v->mem[i]))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-027",
					  "%s: memory region %u overlaps the management window at IPA 0x%lx",
					  c->who, i, (unsigned long)VMCFG_MGMT_IPA);
	for (i = 0; i < v->ndev; i++)
		for (j = 0; j < v->dev[i].nreg; j++)
			if (ipa_hits_mgmt(&v->dev[i].reg[j]))
				return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-027",
						  "%s: device '%s' overlaps the management window at IPA 0x%lx",
						  c->who, v->dev[i].name,
						  (unsigned long)VMCFG_MGMT_IPA);
	for (i = 0; i < v->nchan; i++)
		if (ipa_hits_mgmt(&v->chan[i].shm))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-027",
					  "%s: channel %u overlaps the management window at IPA 0x%lx",
					  c->who, v->chan[i].id, (unsigned long)VMCFG_MGMT_IPA);
	for (i = 0; i < v->nvirtio; i++)
		if (ipa_hits_mgmt(&(struct vmcfg_range){ v->virtio[i].ipa, 0, VMCFG_VIRTIO_WINDOW }))
			return vmcfg_fail(c->err, HVM_E_OVERLAP, "VMCFG-027",
					  "%s: virtio device '%s' overlaps the management window at IPA 0x%lx",
					  c->who, v->virtio[i].name, (unsigned long)VMCFG_MGMT_IPA);
	return HVM_OK;
}

int vmcfg_parse_node(const void *fdt, int node, struct vmcfg *out, struct vmcfg_err *err)
{
	static const char *const allowed[] = { "compatible",
					       "vm-name",
					       "uuid",
					       "vcpus",
					       "cpus",
					       "memory",
					       "criticality",
					       "fault-policy",
					       "watchdog-timeout-ms",
					       "restart-budget",
					       "boot-order",
					       "autostart",
					       "management",
					       "#address-cells",
					       "#size-cells",
					       "phandle",
					       "model",
					       "stop-grace-ms",
					       "abort-policy",
					       "ota-confirm-ms",
					       "ota-slot-size",
					       "ota-initrd-slot-size",
					       NULL };
	struct vmcfg_err local;
	struct cfg_ctx c;
	const char *nm;
	int len, rc;

	if (!err)
		err = &local;
	vmcfg_err_clear(err);
	if (!fdt || !out)
		return vmcfg_fail(err, HVM_E_BAD_ARG, "VMCFG-001",
				  "vmcfg_parse_node: no blob or no output");
	memset(out, 0, sizeof(*out));
	c.fdt = fdt;
	c.err = err;
	nm = fdt_get_name(fdt, node, &len);
	if (!nm)
		return vmcfg_fail(err, HVM_E_BAD_ARG, "VMCFG-001", "node offset %d is not a node",
				  node);
	cfg_set_who(&c, "vm node", node == 0 ? "/" : nm);
	if (fdt_node_check_compatible(fdt, node, VMCFG_COMPAT_VM) != 0)
		return vmcfg_fail(err, HVM_E_BAD_CONFIG, "VMCFG-010",
				  "%s: compatible is not \"" VMCFG_COMPAT_VM "\"", c.who);
	rc = parse_identity(&c, node, out);
	if (!rc)
		rc = cfg_only_props(&c, node, "the vm node", allowed);
	if (!rc)
		rc = parse_policy(&c, node, out);
	if (!rc)
		rc = parse_cpus(&c, node, out);
	if (!rc)
		rc = parse_memory(&c, node, out);
	if (!rc)
		rc = parse_children(&c, node, out);
	if (!rc)
		rc = check_mgmt_window(&c, out);
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
		return vmcfg_fail(err, HVM_E_BAD_ARG, "VMCFG-001",
				  "node offset %d is not in the blob", node);
	return vmcfg_parse_node(fdt, node, out, err);
}
