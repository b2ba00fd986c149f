/*
 * vmconfig_system.c - rules between VMs and against the platform
 * (docs/vm-config.md, clauses VMCFG-011 and VMCFG-080..087).
 *
 * One VM may be valid on its own and still take memory, a device or a CPU that
 * another VM or the hypervisor owns. These checks keep partitions apart
 * (REQ-SAF-10, REQ-SAF-19), keep a safety VM's CPUs its own (REQ-SAF-06) and
 * let only channels both ends declared exist (REQ-SAF-07). DEFINE runs
 * vmcfg_check_against() for one new VM; a whole system configuration runs it
 * for each VM against the ones before it, then requires every channel peer.
 */
#include <libfdt.h>

#include "vmcfg_read.h"

static bool zero_uuid(const uint8_t u[16])
{
	static const uint8_t z[16];

	return memcmp(u, z, 16) == 0;
}

/* The end of a channel in `peer` that matches channel `ch` of VM `self`. */
static const struct vmcfg_channel *twin(const struct vmcfg *self, const struct vmcfg_channel *ch,
					const struct vmcfg *peer)
{
	uint32_t i;

	for (i = 0; i < peer->nchan; i++) {
		const struct vmcfg_channel *o = &peer->chan[i];

		if (strcmp(o->peer, self->name) == 0 && o->shm.pa == ch->shm.pa)
			return o;
	}
	return NULL;
}

/* VMCFG-086: both ends of a channel agree. */
static int check_ends(const struct vmcfg *v, const struct vmcfg_channel *ch,
		      const struct vmcfg *peer, struct vmcfg_err *err)
{
	const struct vmcfg_channel *o = twin(v, ch, peer);

	if (!o)
		return vmcfg_fail(err, HVM_E_CHANNEL, "VMCFG-086",
				  "vm '%s': channel %u: vm '%s' has no channel back with shm PA 0x%lx",
				  v->name, ch->id, peer->name, ch->shm.pa);
	if (o->shm.size != ch->shm.size)
		return vmcfg_fail(err, HVM_E_CHANNEL, "VMCFG-086",
				  "vm '%s': channel %u: shm size 0x%lx differs from vm '%s' (0x%lx)",
				  v->name, ch->id, ch->shm.size, peer->name, o->shm.size);
	if ((ch->rights & VMCFG_R_DOORBELL_SEND) && o->doorbell_spi == VMCFG_NO_SPI)
		return vmcfg_fail(err, HVM_E_CHANNEL, "VMCFG-086",
				  "vm '%s': channel %u may ring the doorbell but vm '%s' gives no doorbell-spi",
				  v->name, ch->id, peer->name);
	if ((o->rights & VMCFG_R_DOORBELL_SEND) && ch->doorbell_spi == VMCFG_NO_SPI)
		return vmcfg_fail(err, HVM_E_CHANNEL, "VMCFG-086",
				  "vm '%s': channel %u gives no doorbell-spi but vm '%s' may ring it",
				  v->name, ch->id, peer->name);
	return HVM_OK;
}

/* Physical memory the VM holds: regions, channel windows and device ranges,
 * walked as one list so every pair of kinds gets the same overlap rule. */
enum pa_kind {
	PA_MEM,
	PA_SHM,
	PA_DEV
};

struct pa_item {
	enum pa_kind kind;
	uint32_t index; /* region, channel id or device index */
	uint32_t sub;   /* device range                       */
	uint64_t base;
	uint64_t size;
};

static bool pa_at(const struct vmcfg *v, uint32_t k, struct pa_item *it)
{
	uint32_t i;

	if (k < v->nmem) {
		*it = (struct pa_item){ PA_MEM, k, 0, v->mem[k].pa, v->mem[k].size };
		return true;
	}
	k -= v->nmem;
	if (k < v->nchan) {
		*it = (struct pa_item){ PA_SHM, v->chan[k].id, k, v->chan[k].shm.pa,
					v->chan[k].shm.size };
		return true;
	}
	k -= v->nchan;
	for (i = 0; i < v->ndev; i++) {
		if (k < v->dev[i].nreg) {
			*it = (struct pa_item){ PA_DEV, i, k, v->dev[i].reg[k].pa,
						v->dev[i].reg[k].size };
			return true;
		}
		k -= v->dev[i].nreg;
	}
	return false;
}

static const char *pa_what(enum pa_kind k)
{
	return k == PA_MEM ? "memory region" : k == PA_SHM ? "channel" : "device";
}

/* VMCFG-081, VMCFG-082 */
static int check_memory(const struct vmcfg *v, const struct vmcfg *existing, size_t n,
			const struct vmcfg_platform *plat, struct vmcfg_err *err)
{
	struct pa_item a, b;
	uint32_t k, m, r;
	size_t e;

	for (k = 0; pa_at(v, k, &a); k++) {
		if (plat && a.kind != PA_DEV && plat->nram) {
			bool in_ram = false;

			for (r = 0; r < plat->nram && r < VMCFG_PLAT_MAX_RANGES; r++)
				if (cfg_inside(a.base, a.size, plat->ram[r].base, plat->ram[r].size))
					in_ram = true;
			if (!in_ram) {
				vmcfg_fail(err, HVM_E_BAD_CONFIG, "VMCFG-081",
					   "vm '%s': %s %u at PA 0x%lx is not inside platform RAM",
					   v->name, pa_what(a.kind), a.index, a.base);
				return vmcfg_held(err, "PA 0x%lx: not platform RAM", a.base);
			}
		}
		for (r = 0; plat && r < plat->nreserved && r < VMCFG_PLAT_MAX_RANGES; r++)
			if (cfg_overlaps(a.base, a.size, plat->reserved[r].base,
					 plat->reserved[r].size))
				return vmcfg_fail(err, HVM_E_OVERLAP, "VMCFG-081",
						  "vm '%s': %s %u at PA 0x%lx overlaps the hypervisor's reserved range 0x%lx",
						  v->name, pa_what(a.kind), a.index, a.base,
						  plat->reserved[r].base);
		for (e = 0; e < n; e++) {
			const struct vmcfg *o = &existing[e];

			for (m = 0; pa_at(o, m, &b); m++) {
				if (!cfg_overlaps(a.base, a.size, b.base, b.size))
					continue;
				/* the one sharing allowed: the two ends of one channel */
				if (a.kind == PA_SHM && b.kind == PA_SHM &&
				    strcmp(v->chan[a.sub].peer, o->name) == 0 &&
				    strcmp(o->chan[b.sub].peer, v->name) == 0 && a.base == b.base &&
				    a.size == b.size)
					continue;
				vmcfg_fail(err, HVM_E_OVERLAP, "VMCFG-082",
					   "vm '%s': %s %u at PA 0x%lx overlaps %s %u of vm '%s'",
					   v->name, pa_what(a.kind), a.index, a.base,
					   pa_what(b.kind), b.index, o->name);
				return vmcfg_held(err, "%s PA 0x%lx held by '%s'",
						  b.kind == PA_MEM   ? "memory"
						  : b.kind == PA_SHM ? "channel"
								     : "device",
						  a.base > b.base ? a.base : b.base, o->name);
			}
		}
	}
	return HVM_OK;
}

/* VMCFG-083, VMCFG-084 */
static int check_cpus(const struct vmcfg *v, const struct vmcfg *existing, size_t n,
		      const struct vmcfg_platform *plat, struct vmcfg_err *err)
{
	uint32_t i;
	size_t e;

	for (i = 0; plat && i < v->vcpus; i++) {
		if (v->pcpu[i] >= plat->pcpu_count) {
			vmcfg_fail(err, HVM_E_CPU, "VMCFG-083",
				   "vm '%s': cpus[%u] = %u, the platform has %u physical CPUs",
				   v->name, i, v->pcpu[i], plat->pcpu_count);
			return vmcfg_held(err, "CPU %u: the platform has %u CPUs", v->pcpu[i],
					  plat->pcpu_count);
		}
		if (plat->reserved_cpu_mask & (1ull << v->pcpu[i])) {
			vmcfg_fail(err, HVM_E_CPU, "VMCFG-083",
				   "vm '%s': physical CPU %u is reserved by the platform", v->name,
				   v->pcpu[i]);
			return vmcfg_held(err, "CPU %u held by the platform", v->pcpu[i]);
		}
	}
	for (e = 0; e < n; e++) {
		const struct vmcfg *o = &existing[e];
		uint64_t shared = v->pcpu_mask & o->pcpu_mask;

		if (!shared || (v->criticality == VMCFG_QM && o->criticality == VMCFG_QM))
			continue;
		for (i = 0; !(shared & (1ull << i)); i++)
			;
		vmcfg_fail(err, HVM_E_CPU, "VMCFG-084",
			   "vm '%s': physical CPU %u is shared with vm '%s' but the %s VM needs it alone",
			   v->name, i, o->name,
			   vmcfg_criticality_name(v->criticality != VMCFG_QM ? v->criticality
									     : o->criticality));
		return vmcfg_held(err, "CPU %u held by '%s'", i, o->name);
	}
	return HVM_OK;
}

/* VMCFG-085: a physical SPI goes to one VM. */
static int check_spis(const struct vmcfg *v, const struct vmcfg *existing, size_t n,
		      const struct vmcfg_platform *plat, struct vmcfg_err *err)
{
	uint32_t d, s, od, os;
	size_t e;

	for (d = 0; d < v->ndev; d++)
		for (s = 0; s < v->dev[d].nspi; s++) {
			uint32_t spi = v->dev[d].spi[s];

			if (plat && plat->spi_count && spi >= plat->spi_count)
				return vmcfg_fail(err, HVM_E_BAD_CONFIG, "VMCFG-085",
						  "vm '%s': device '%s' SPI %u, the platform has %u SPIs",
						  v->name, v->dev[d].name, spi, plat->spi_count);
			for (e = 0; e < n; e++)
				for (od = 0; od < existing[e].ndev; od++)
					for (os = 0; os < existing[e].dev[od].nspi; os++)
						if (existing[e].dev[od].spi[os] == spi) {
							vmcfg_fail(err, HVM_E_BAD_CONFIG, "VMCFG-085",
								   "vm '%s': device '%s' SPI %u is already given to vm '%s'",
								   v->name, v->dev[d].name, spi,
								   existing[e].name);
							return vmcfg_held(err, "SPI %u held by '%s'",
									  spi, existing[e].name);
						}
		}
	return HVM_OK;
}

/* The start of both entry points below: err cleared, the arguments there. */
static int check_args(const struct vmcfg *cfg, const struct vmcfg *others, size_t n,
		      const char *rule, const char *fn, struct vmcfg_err *err)
{
	vmcfg_err_clear(err);
	if (!cfg || (n && !others))
		return vmcfg_fail(err, HVM_E_BAD_ARG, rule, "%s: no configuration", fn);
	return HVM_OK;
}

int vmcfg_check_against(const struct vmcfg *cfg, const struct vmcfg *existing, size_t n,
			const struct vmcfg_platform *plat, struct vmcfg_err *err)
{
	size_t e;
	uint32_t i;
	int rc;

	rc = check_args(cfg, existing, n, "VMCFG-080", "vmcfg_check_against", err);
	if (rc)
		return rc;
	/* VMCFG-080 */
	for (e = 0; e < n; e++) {
		if (strcmp(existing[e].name, cfg->name) == 0)
			return vmcfg_fail(err, HVM_E_EXISTS, "VMCFG-080",
					  "vm '%s': the name is already defined", cfg->name);
		if (!zero_uuid(cfg->uuid) && memcmp(existing[e].uuid, cfg->uuid, 16) == 0)
			return vmcfg_fail(err, HVM_E_EXISTS, "VMCFG-080",
					  "vm '%s': uuid is already used by vm '%s'", cfg->name,
					  existing[e].name);
	}
	/* VMCFG-088: one management VM */
	for (e = 0; cfg->management && e < n; e++)
		if (existing[e].management)
			return vmcfg_fail(err, HVM_E_BAD_CONFIG, "VMCFG-088",
					  "vm '%s': vm '%s' is already the management VM (only one may be)",
					  cfg->name, existing[e].name);
	/* VMCFG-086: where the peer is defined, both ends agree (a missing peer is
	 * allowed here, VMCFG-087). */
	for (i = 0; i < cfg->nchan; i++)
		for (e = 0; e < n; e++)
			if (strcmp(existing[e].name, cfg->chan[i].peer) == 0) {
				rc = check_ends(cfg, &cfg->chan[i], &existing[e], err);
				if (rc)
					return rc;
			}
	/* ... and channels of defined VMs that name this one find their end here. */
	for (e = 0; e < n; e++)
		for (i = 0; i < existing[e].nchan; i++)
			if (strcmp(existing[e].chan[i].peer, cfg->name) == 0) {
				rc = check_ends(&existing[e], &existing[e].chan[i], cfg, err);
				if (rc)
					return rc;
			}
	/* channels first: a mismatched channel window would otherwise be
	 * reported as a plain overlap */
	rc = check_memory(cfg, existing, n, plat, err);
	if (!rc)
		rc = check_cpus(cfg, existing, n, plat, err);
	if (!rc)
		rc = check_spis(cfg, existing, n, plat, err);
	return rc;
}

int vmcfg_check_channels(const struct vmcfg *cfg, const struct vmcfg *all, size_t n,
			 struct vmcfg_err *err)
{
	uint32_t i;
	size_t e;
	int rc;

	rc = check_args(cfg, all, n, "VMCFG-087", "vmcfg_check_channels", err);
	if (rc)
		return rc;
	for (i = 0; i < cfg->nchan; i++) {
		const struct vmcfg *peer = NULL;

		for (e = 0; e < n; e++)
			if (&all[e] != cfg && strcmp(all[e].name, cfg->chan[i].peer) == 0)
				peer = &all[e];
		if (!peer)
			return vmcfg_fail(err, HVM_E_CHANNEL, "VMCFG-087",
					  "vm '%s': channel %u names unknown vm '%s'", cfg->name,
					  cfg->chan[i].id, cfg->chan[i].peer);
		rc = check_ends(cfg, &cfg->chan[i], peer, err);
		if (rc)
			return rc;
	}
	return HVM_OK;
}

/* VMCFG-011: the VM nodes of a system blob, or the root of a single-VM blob. */
int vmcfg_parse_system(const void *fdt, size_t len, struct vmcfg *out, size_t max, size_t *count,
		       const struct vmcfg_platform *plat, struct vmcfg_err *err)
{
	struct vmcfg_err local;
	size_t n = 0, i;
	int vms, sub, rc;

	if (!err)
		err = &local;
	if (count)
		*count = 0;
	rc = vmcfg_check_blob(fdt, len, err);
	if (rc)
		return rc;
	if (!out || !count)
		return vmcfg_fail(err, HVM_E_BAD_ARG, "VMCFG-011", "vmcfg_parse_system: no output");

	if (fdt_node_check_compatible(fdt, 0, VMCFG_COMPAT_VM) == 0) {
		if (max < 1)
			return vmcfg_fail(err, HVM_E_BAD_ARG, "VMCFG-011", "no room for one VM");
		rc = vmcfg_parse_node(fdt, 0, &out[0], err);
		n = 1;
	} else {
		if (fdt_node_check_compatible(fdt, 0, VMCFG_COMPAT_SYSTEM) != 0)
			return vmcfg_fail(err, HVM_E_BAD_CONFIG, "VMCFG-010",
					  "root node: compatible is neither \"" VMCFG_COMPAT_SYSTEM
					  "\" nor \"" VMCFG_COMPAT_VM "\"");
		vms = fdt_subnode_offset(fdt, 0, "vms");
		if (vms < 0)
			return vmcfg_fail(err, HVM_E_BAD_CONFIG, "VMCFG-011",
					  "system configuration: missing the /vms node");
		rc = HVM_OK;
		fdt_for_each_subnode(sub, fdt, vms)
		{
			if (n >= max || n >= VMCFG_MAX_VMS)
				return vmcfg_fail(err, HVM_E_BAD_CONFIG, "VMCFG-011",
						  "system configuration: more than %u VMs",
						  (unsigned)(max < VMCFG_MAX_VMS ? max
										 : VMCFG_MAX_VMS));
			rc = vmcfg_parse_node(fdt, sub, &out[n], err);
			if (rc)
				break;
			n++;
		}
		if (!rc && sub != -FDT_ERR_NOTFOUND)
			return vmcfg_fail(err, HVM_E_FDT, "VMCFG-001",
					  "/vms: child nodes unreadable: %s", fdt_strerror(sub));
		if (!rc && n == 0)
			return vmcfg_fail(err, HVM_E_BAD_CONFIG, "VMCFG-011",
					  "system configuration: /vms holds no VM");
	}
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		rc = vmcfg_check_against(&out[i], out, i, plat, err);
		if (rc)
			return rc;
	}
	for (i = 0; i < n; i++) {
		rc = vmcfg_check_channels(&out[i], out, n, err);
		if (rc)
			return rc;
	}
	*count = n;
	return HVM_OK;
}
