/*
 * ota.c - A/B image slots and the witnessed trial boot (see ota.h).
 *
 * Order of durable steps, so that a power cut at any point leaves a VM that
 * boots its old or its new image, never nothing:
 *   install:  the target slot is marked empty (stored), its bytes written and
 *             verified, then marked ready (stored);
 *   switch:   the trial is stored before the new image is booted;
 *   confirm:  slot good and the floor raised in one stored record;
 *   rollback: slot bad and the previous slot active in one stored record,
 *             then the previous image is booted.
 * At boot a stored trial means the reset came before confirmation: rollback.
 *
 * Update groups (MGMT-650..656): the VMs a signed manifest names are switched
 * in one stored record, confirmed in one and rolled back in one, so a power
 * cut between any two steps leaves all of them old or all of them new.
 */
#include <string.h>
#include "ota.h"
#include <libfdt.h>
#include "nvstore.h"
#include "sigcheck.h"
#include "vm.h"
#include "hvvmconfig.h"
#include "vm_life.h"
#include "region.h"
#include "sha256.h"
#include "platform.h"
#include "timer.h"
#include "mmu.h"
#include "fmt.h"
#include "log.h"

/* A trial in progress, in hv-core's memory only (MGMT-622). */
struct trial {
	int on;
	uint32_t vm_gen; /* the VM slot's generation at the switch */
	uint64_t start_ns, deadline_ns, window_ns, stall_ns;
	uint64_t ok_since_ns, hb_at_ok;
	uint64_t hb_seen;  /* the heartbeat at the last look                  */
	uint32_t advances; /* looks in this window that found it had changed */
	uint32_t faults0, restarts0;
	uint64_t wd0;
	int mismatches;
	int passed; /* MGMT-652: its own window is over; waits for its group */
};
static struct trial trials[HVM_MAX_VMS];

static const char *slot_name(uint32_t s)
{
	return s ? "B" : "A";
}

/* The defined VM called `name`, or NULL. */
static struct vm *vm_named(const char *name)
{
	for (uint32_t id = 0; id < HVM_MAX_VMS; id++)
		if (vms[id].used && strncmp(vms[id].cfg.name, name, HVM_NAME_LEN) == 0)
			return &vms[id];
	return NULL;
}

/* MGMT-650: the entries that share e's update group (e among them), those in
 * trial only when in_trial. A VM updated alone is its own group of one. */
static uint32_t group_entries(const struct nv_vm *e, int in_trial, struct nv_vm *out[NV_MAX_VMS])
{
	struct nv_rec *r = nv_rec();
	const struct nv_group *g = nv_group_of(e);
	uint32_t n = 0;
	if (g->members <= 1) {
		out[0] = &r->vm[e - r->vm];
		return 1;
	}
	for (uint32_t i = 0; i < NV_MAX_VMS; i++)
		if (r->vm[i].name[0] && r->grp[i].members == g->members &&
		    memcmp(r->grp[i].bundle, g->bundle, NV_BUNDLE_ID_LEN) == 0 &&
		    (!in_trial || r->vm[i].trial))
			out[n++] = &r->vm[i];
	return n;
}

int ota_version_cmp(const char *a, const char *b)
{
	const char *p[2] = { a, b };
	for (int i = 0; i < 2; i++) {
		size_t n = strnlen(p[i], HVM_VERSION_LEN);
		if (n == 0 || n >= HVM_VERSION_LEN || p[i][0] == '.' || p[i][n - 1] == '.')
			return 2;
		for (size_t k = 0; k < n; k++)
			if (!((p[i][k] >= '0' && p[i][k] <= '9') ||
			      (p[i][k] == '.' && p[i][k + 1] != '.')))
				return 2;
	}
	while (*a || *b) {
		uint64_t x = 0, y = 0;
		while (*a >= '0' && *a <= '9')
			x = x * 10 + (uint64_t)(*a++ - '0');
		while (*b >= '0' && *b <= '9')
			y = y * 10 + (uint64_t)(*b++ - '0');
		if (x != y)
			return x < y ? -1 : 1;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
	}
	return 0;
}

/* The active slot's image becomes the one the VM boots: copied from flash
 * into its place in the image store, its digest the one checked at boot. */
static enum hvm_status load_slot(struct vm *vm, const struct nv_vm *e, uint32_t s, char *msg,
				 unsigned mlen)
{
	struct vm_config *c = &vm->cfg;
	const struct hvm_ota_slot *sl = &e->slot[s];
	if (!sl->durable)
		return HVM_OK; /* the image the VM was defined with, still in the store */
	if (nv_slot_cap(e, s) < sl->size) {
		hv_snprintf(msg, mlen, "'%s': slot %s is in a slot store this boot lacks (MGMT-661)",
			    c->name, slot_name(s));
		return HVM_E_NV;
	}
	if (sl->size > c->image_max) {
		hv_snprintf(msg, mlen, "'%s': slot %s holds %lu bytes, its store place %lu", c->name,
			    slot_name(s), (unsigned long)sl->size, (unsigned long)c->image_max);
		return HVM_E_NO_SPACE;
	}
	uint8_t *dst = (uint8_t *)(uintptr_t)c->image_pa;
	uint64_t t0 = timer_uptime_ns(), rd_bytes = 0;
	vm->store_known[0] = 0; /* the image store changes: hashed again before it boots */
	nv_slot_read(e, s, dst, sl->size);
	c->image_size = sl->size;
	memcpy(c->image_sha256, sl->sha256, 32);
	c->has_sha256 = 1;
	dcache_clean_range(dst, sl->size);
	/* MGMT-663: the initrd of the same slot, when one was kept there */
	const struct hvm_ota_slot *rd = &nv_place_of(e)->initrd[s];
	if (rd->durable && c->initrd_pa && rd->size <= c->initrd_max &&
	    rd->size <= nv_slot_cap(e, 2 + s)) {
		uint8_t *to = (uint8_t *)(uintptr_t)c->initrd_pa;
		vm->store_known[1] = 0;
		nv_slot_read(e, 2 + s, to, rd->size);
		dcache_clean_range(to, rd->size);
		vm_set_initrd(vm->id, rd->size, rd->sha256);
		rd_bytes = rd->size;
	}
	/* docs/performance.md "OTA switch copy of the Linux guest": under
	 * -icount shift=0 a nanosecond is one instruction */
	hv_log("ota: '%s': slot %s copied into its place: %lu image and %lu initrd bytes in %lu ns",
	       c->name, slot_name(s), (unsigned long)sl->size, (unsigned long)rd_bytes,
	       (unsigned long)(timer_uptime_ns() - t0));
	return HVM_OK;
}

/* MGMT-663: the initrd slots take the state of the image slot of the same
 * letter once the pair has been switched to (TRIAL, GOOD, BAD). */
static void initrd_follow(struct nv_vm *e)
{
	struct nv_place *p = nv_place_of(e);
	for (uint32_t s = 0; s < 2; s++)
		if (p->initrd[s].durable && e->slot[s].state != HVM_SLOT_READY &&
		    e->slot[s].state != HVM_SLOT_EMPTY)
			p->initrd[s].state = e->slot[s].state;
}

/* MGMT-663, MGMT-664: when the VM of e boots an initrd, whether slot s has
 * its pair ready: HVM_OK, HVM_E_STATE (no initrd of the image slot's version
 * READY beside it) or HVM_E_MIXED (image and initrd installed from different
 * signed manifests), with msg. */
static enum hvm_status initrd_pair(const struct vm *vm, struct nv_vm *e, uint32_t s, char *msg,
				   unsigned mlen)
{
	const struct vmcfg *vc = vm_vmcfg(vm->id);
	const struct hvm_ota_slot *rd = &nv_place_of(e)->initrd[s];
	if (!vc || !vc->boot.has_initrd || nv_slot_cap(e, 2) == 0)
		return HVM_OK;
	if (rd->state != HVM_SLOT_READY ||
	    strncmp(rd->version, e->slot[s].version, HVM_VERSION_LEN) != 0) {
		hv_snprintf(msg, mlen,
			    "'%s': the image %s and its initrd must both be installed (MGMT-663)",
			    e->name, e->slot[s].version);
		return HVM_E_STATE;
	}
	const struct nv_origin *o = nv_origin_of(e);
	if (memcmp(o->manifest[s], o->manifest[2 + s], NV_ORIGIN_LEN) != 0) {
		const uint8_t *a = o->manifest[s], *b = o->manifest[2 + s];
		hv_snprintf(msg, mlen,
			    "'%s': image and initrd of different bundles (MGMT-664): the image "
			    "%s in slot %s from manifest %02x%02x%02x%02x..., the initrd from "
			    "%02x%02x%02x%02x...; install both from one bundle",
			    e->name, e->slot[s].version, slot_name(s), a[0], a[1], a[2], a[3], b[0],
			    b[1], b[2], b[3]);
		return HVM_E_MIXED;
	}
	return HVM_OK;
}

/* Boots the VM again from its (new) image: a running or crashed VM is reset,
 * a stopped one started. Either checks the layout only and answers; the VM is
 * BLOCKED while the boot job hashes the image store and the copy in units
 * (MGMT-711, MGMT-713). A boot that fails there leaves the VM SHUTOFF
 * (FAILED) with BOOT_FAILED, which fails a trial (MGMT-622). */
static enum hvm_status reboot_vm(struct vm *vm, char *msg, unsigned mlen)
{
	if (vm->state == HVM_VM_SHUTOFF)
		return vm_op_start_cmd(vm, HVM_R_BOOTED, msg, mlen);
	return vm_op_restart(vm, HVM_R_RESET, msg, mlen);
}

void ota_boot(void)
{
	nv_init();
	struct nv_rec *r = nv_rec();
	int dirty = 0;
	for (uint32_t i = 0; i < NV_MAX_VMS; i++) {
		struct nv_vm *e = &r->vm[i];
		if (e->name[0] && e->trial) {
			/* MGMT-624: reset before confirmation: the trial failed */
			uint32_t bad = e->active;
			e->slot[bad].state = HVM_SLOT_BAD;
			e->active = 1 - bad;
			e->trial = 0;
			e->last_result = HVM_OTA_FAIL_RESET;
			initrd_follow(e);
			dirty = 1;
			hv_log("ota: '%s': reset during the trial of slot %s: back to slot %s",
			       e->name, slot_name(bad), slot_name(e->active));
		}
	}
	if (dirty && nv_commit() != 0)
		hv_log("ota: the rollback could not be stored; it is applied for this boot");
	for (uint32_t id = 0; id < HVM_MAX_VMS; id++) {
		struct vm *vm = &vms[id];
		if (!vm->used)
			continue;
		const struct nv_vm *e = nv_vm_find(vm->cfg.name, 0);
		if (!e)
			continue;
		char msg[96];
		if (load_slot(vm, e, e->active, msg, sizeof(msg)) != HVM_OK)
			hv_log("ota: %s", msg);
		else
			hv_log("ota: vm %u '%s' boots slot %s (%s)", id, vm->cfg.name,
			       slot_name(e->active),
			       e->slot[e->active].version[0] ? e->slot[e->active].version : "?");
		if (e->last_result == HVM_OTA_FAIL_RESET)
			events_append(HVM_EV_OTA_ROLLED_BACK, id, HVM_OTA_FAIL_RESET, vm->reason);
	}
}

enum hvm_status ota_audit_seq_set(uint64_t seq, char *msg, unsigned mlen)
{
	struct nv_rec *r = nv_rec();
	if (!nv_present()) {
		hv_snprintf(msg, mlen, "no non-volatile storage on this platform (MGMT-600)");
		return HVM_E_NV;
	}
	if (seq < r->audit_seq) {
		hv_snprintf(msg, mlen, "audit sequence %lu is below the stored %lu (MGMT-630)",
			    (unsigned long)seq, (unsigned long)r->audit_seq);
		return HVM_E_ROLLBACK;
	}
	if (seq == r->audit_seq)
		return HVM_OK;
	r->audit_seq = seq;
	if (nv_commit() != 0) {
		hv_snprintf(msg, mlen, "the non-volatile record could not be written (MGMT-603)");
		events_append(HVM_EV_NV_FAILED, HVM_EV_NO_VM, 2, HVM_R_UNKNOWN);
		return HVM_E_NV;
	}
	return HVM_OK;
}

void ota_audit_seq_get(uint64_t *ret)
{
	ret[0] = nv_rec()->audit_seq;
	ret[1] = nv_rec()->seq;
	ret[2] = (uint64_t)nv_present();
	ret[3] = nv_boot(); /* MGMT-500 */
}

static void guest_version(struct vm *vm, char out[HVM_VERSION_LEN])
{
	for (unsigned i = 0; i < HVM_VERSION_LEN; i++)
		out[i] = i == HVM_VERSION_LEN - 1 ? 0 : vm->coop->image_version[i];
}

static enum hvm_status store_failed(char *msg, unsigned mlen, const char *what)
{
	nv_discard();
	events_append(HVM_EV_NV_FAILED, HVM_EV_NO_VM, 2, HVM_R_UNKNOWN);
	hv_snprintf(msg, mlen, "%s: the non-volatile storage failed (MGMT-603)", what);
	return HVM_E_NV;
}

/* MGMT-640: the update trust anchor of the boot configuration (DER), and the
 * system name a manifest must name ("" = any). */
static uint8_t trust_ca[4096];
static size_t trust_ca_len;
static char trust_system[64];

int ota_configure(const void *fdt, char *msg, unsigned mlen)
{
	trust_ca_len = 0;
	trust_system[0] = 0;
	int node = fdt_path_offset(fdt, "/hv-core/ota");
	if (node < 0)
		return 0;
	int len;
	const void *ca = fdt_getprop(fdt, node, "update-ca", &len);
	if (ca && (len <= 0 || (size_t)len > sizeof(trust_ca))) {
		hv_snprintf(msg, mlen,
			    "/hv-core/ota: update-ca of %d bytes, 1..%u allowed (MGMT-640)", len,
			    (unsigned)sizeof(trust_ca));
		return -1;
	}
	int slen;
	const char *sys = fdt_getprop(fdt, node, "system", &slen);
	if (sys && (slen < 2 || (size_t)slen > sizeof(trust_system) || sys[slen - 1] != 0)) {
		hv_snprintf(msg, mlen,
			    "/hv-core/ota: system must be a string of 1..%u characters "
			    "(MGMT-640)",
			    (unsigned)sizeof(trust_system) - 1);
		return -1;
	}
	/* MGMT-661: the slot store, <base size> in two cells each */
	int stlen;
	const fdt32_t *st = fdt_getprop(fdt, node, "slot-store", &stlen);
	if (st) {
		if (stlen != 16) {
			hv_snprintf(msg, mlen,
				    "/hv-core/ota: slot-store must be <base size>, two cells each "
				    "(MGMT-661)");
			return -1;
		}
		uint64_t base = (uint64_t)fdt32_to_cpu(st[0]) << 32 | fdt32_to_cpu(st[1]);
		uint64_t size = (uint64_t)fdt32_to_cpu(st[2]) << 32 | fdt32_to_cpu(st[3]);
		if (platform_set_slot_store(base, size, msg, mlen) != 0)
			return -1;
		mmu_map_data(base, size);
		hv_log("ota: slot store 0x%lx+0x%lx (MGMT-661)", (unsigned long)base,
		       (unsigned long)size);
	}
	if (ca) {
		memcpy(trust_ca, ca, (size_t)len);
		trust_ca_len = (size_t)len;
	}
	if (sys)
		strlcpy(trust_system, sys, sizeof(trust_system));
	hv_log("ota: update trust anchor %s, system '%s'", trust_ca_len ? "configured" : "none",
	       trust_system);
	return 0;
}

/* MGMT-662: a new entry's slots: in the slot store when the VM's image slot
 * (VMCFG-602 ota-slot-size, else its image place) exceeds a flash slot or it
 * has initrd slots (ota-initrd-slot-size, else its initrd place), else in
 * the flash bank. */
static enum hvm_status place_slots(struct vm *vm, struct nv_vm *e, char *msg, unsigned mlen)
{
	const struct vmcfg *vc = vm_vmcfg(vm->id);
	const struct vm_config *c = &vm->cfg;
	uint64_t img = vc && vc->ota_slot_size ? vc->ota_slot_size : c->image_max;
	uint64_t initrd = vc && vc->ota_initrd_slot_size ? vc->ota_initrd_slot_size
			  : c->initrd_pa                 ? c->initrd_max
							 : 0;
	if (img <= NV_SLOT_SIZE && initrd == 0)
		return HVM_OK;
	if (nv_place_alloc(e, img, initrd) != 0) {
		hv_snprintf(msg, mlen,
			    "'%s': slots of 0x%lx and 0x%lx bytes do not fit the slot store "
			    "(MGMT-662)",
			    c->name, (unsigned long)img, (unsigned long)initrd);
		return HVM_E_NO_SPACE;
	}
	const struct nv_place *p = nv_place_of(e);
	hv_log("ota: '%s': slots in the slot store at 0x%lx, 0x%lx bytes each; initrd 0x%lx", c->name,
	       (unsigned long)p->off[0], (unsigned long)p->size[0], (unsigned long)p->size[1]);
	return HVM_OK;
}

/* The entry of vm, made when it has none: slots placed (MGMT-662) and slot A
 * the image the VM was defined with. NULL with msg and *st when refused
 * (nothing changed). */
static struct nv_vm *entry_for(struct vm *vm, enum hvm_status *st, char *msg, unsigned mlen)
{
	struct vm_config *c = &vm->cfg;
	struct nv_vm *e = nv_vm_find(c->name, 0);
	if (e)
		return e;
	e = nv_vm_find(c->name, 1);
	if (!e) {
		hv_snprintf(msg, mlen, "'%s': OTA slots of %u VMs are in use (MGMT-601)", c->name,
			    NV_MAX_VMS);
		*st = HVM_E_NV;
		return NULL;
	}
	if (place_slots(vm, e, msg, mlen) != HVM_OK) {
		nv_discard();
		*st = HVM_E_NO_SPACE;
		return NULL;
	}
	e->active = 0;
	e->slot[0].state = HVM_SLOT_GOOD;
	e->slot[0].size = c->image_size;
	memcpy(e->slot[0].sha256, c->image_sha256, 32);
	guest_version(vm, e->slot[0].version);
	return e;
}

/* ---- OTA_INSTALL in units (MGMT-620, MGMT-711) -------------------------------
 *
 * Keeping the running image (or initrd) in its slot as the rollback target,
 * writing the staged bytes into the inactive slot and hashing both from the
 * slot take hundreds of millions of instructions for a Linux-sized image.
 * OTA_INSTALL does its checks, then stays pending while the service CPU does
 * one unit of at most INST_UNIT bytes at a time between supervision passes
 * (ota_work_unit(), mgmt_work()); its answer, when the work ends, is the one
 * it had when it ran at once. One install at a time: a command waits while
 * another is pending (MGMT-214). The stored steps are those of MGMT-620. */
#define INST_UNIT 0x10000ull

enum {
	INST_IDLE,
	INST_KEEP,      /* the running image into the active slot        */
	INST_KEEP_HASH, /* that copy, against the VM's configured digest */
	INST_WRITE,     /* the staged bytes into the emptied target      */
	INST_HASH,      /* that copy, against the digest given           */
};

static struct {
	uint32_t step;
	struct vm *vm;
	uint32_t kind; /* 0 the image slots, 1 the initrd slots (MGMT-663) */
	uint32_t cur;  /* the active slot; the target is the other one      */
	uint64_t pos;
	struct sha256 h;
	const volatile uint8_t *src; /* the staged bytes */
	uint64_t len;
	const volatile uint8_t *keep; /* the running image or initrd */
	uint64_t keep_len;
	uint8_t keep_sha[32];
	uint8_t want[32];
	char version[HVM_VERSION_LEN];
	struct nv_group grp;
	uint8_t origin[NV_ORIGIN_LEN]; /* MGMT-664: the manifest that brought it */
	int done;
	uint32_t status;
	char msg[192];
} inst;

static void inst_begin(struct vm *vm, uint32_t kind, uint32_t cur, uint64_t off, uint64_t len,
		       const struct hvm_ota_image *img, const char *version,
		       const uint8_t origin[NV_ORIGIN_LEN])
{
	memset(&inst, 0, sizeof(inst));
	memcpy(inst.origin, origin, NV_ORIGIN_LEN);
	inst.vm = vm;
	inst.kind = kind;
	inst.cur = cur;
	inst.src = (const volatile uint8_t *)(uintptr_t)(platform.staging + off);
	inst.len = len;
	memcpy(inst.want, img->sha256, 32);
	strlcpy(inst.version, version, sizeof(inst.version));
}

/* Slot s (0 A, 1 B) of the kind being installed, numbered as nv_slot_cap(). */
static uint32_t inst_slot(uint32_t s)
{
	return inst.kind ? 2 + s : s;
}

static void inst_end(uint32_t status)
{
	inst.status = status;
	inst.done = 1;
	inst.step = INST_IDLE;
}

/* The kept copy is the rollback target, and the target slot is empty from
 * now on, until it is verified: stored, then the write begins. */
static enum hvm_status inst_target_empty(struct nv_vm *e)
{
	uint32_t cur = inst.cur, target = 1 - cur;
	if (inst.kind) {
		struct nv_place *p = nv_place_of(e);
		if (inst.keep) {
			p->initrd[cur].state = e->slot[cur].state;
			p->initrd[cur].durable = 1;
			p->initrd[cur].size = inst.keep_len;
			memcpy(p->initrd[cur].sha256, inst.keep_sha, 32);
			memcpy(p->initrd[cur].version, e->slot[cur].version, HVM_VERSION_LEN);
			/* MGMT-664: the running pair came together */
			memcpy(nv_origin_of(e)->manifest[2 + cur], nv_origin_of(e)->manifest[cur],
			       NV_ORIGIN_LEN);
		}
		memset(&p->initrd[target], 0, sizeof(p->initrd[target]));
	} else {
		if (inst.keep)
			e->slot[cur].durable = 1;
		memset(&e->slot[target], 0, sizeof(e->slot[target]));
		memset(nv_group_of(e), 0, sizeof(struct nv_group));
	}
	memset(nv_origin_of(e)->manifest[inst_slot(target)], 0, NV_ORIGIN_LEN);
	if (nv_commit() != 0)
		return store_failed(inst.msg, sizeof(inst.msg), "OTA_INSTALL");
	inst.step = INST_WRITE;
	inst.pos = 0;
	return HVM_OK;
}

/* One unit of hashing the first len bytes of slot s; 1 with the digest in d. */
static int inst_hash(const struct nv_vm *e, uint32_t s, uint64_t len, uint8_t d[32])
{
	if (inst.pos == 0)
		sha256_init(&inst.h);
	uint64_t n = len - inst.pos > INST_UNIT ? INST_UNIT : len - inst.pos;
	nv_slot_sha256_unit(e, s, &inst.h, inst.pos, n);
	inst.pos += n;
	if (inst.pos < len)
		return 0;
	sha256_final(&inst.h, d);
	return 1;
}

/* One unit of writing len bytes from src into slot s; 1 when they are all
 * written (inst.pos back at 0), -1 when the storage failed (answered). */
static int inst_write(const struct nv_vm *e, uint32_t s, const volatile uint8_t *src, uint64_t len,
		      const char *what)
{
	int64_t n = nv_slot_write_unit(e, s, src, len, inst.pos, INST_UNIT);
	if (n < 0) {
		inst_end(store_failed(inst.msg, sizeof(inst.msg), what));
		return -1;
	}
	inst.pos += (uint64_t)n;
	if (inst.pos < len)
		return 0;
	inst.pos = 0;
	return 1;
}

/* The staged bytes are in the target slot with the digest given: READY. */
static void inst_ready(struct nv_vm *e)
{
	struct vm *vm = inst.vm;
	uint32_t target = 1 - inst.cur;
	struct hvm_ota_slot *t = inst.kind ? &nv_place_of(e)->initrd[target] : &e->slot[target];
	t->state = HVM_SLOT_READY;
	t->durable = 1;
	t->size = inst.len;
	memcpy(t->sha256, inst.want, 32);
	strlcpy(t->version, inst.version, sizeof(t->version));
	memcpy(nv_origin_of(e)->manifest[inst_slot(target)], inst.origin, NV_ORIGIN_LEN);
	if (!inst.kind) {
		*nv_group_of(e) = inst.grp;
		e->last_result = HVM_OTA_INSTALLED;
	}
	if (nv_commit() != 0) {
		inst_end(store_failed(inst.msg, sizeof(inst.msg), "OTA_INSTALL"));
		return;
	}
	events_append(HVM_EV_OTA_INSTALLED, vm->id, target, vm->reason);
	hv_log("ota: vm %u '%s': %s %s installed into %sslot %s%s", vm->id, vm->cfg.name,
	       inst.kind ? "initrd" : "version", inst.version, inst.kind ? "initrd " : "",
	       slot_name(target), inst.grp.members > 1 ? " (one VM of an update group)" : "");
	inst_end(HVM_OK);
}

int ota_work_unit(void)
{
	if (inst.step == INST_IDLE)
		return 0;
	struct vm_config *c = &inst.vm->cfg;
	struct nv_vm *e = nv_vm_find(c->name, 0);
	const char *what = inst.kind ? "initrd" : "image";
	uint32_t cur = inst.cur, target = 1 - cur;
	uint8_t d[32];
	if (!e) { /* cannot be: no command runs meanwhile (MGMT-214) */
		hv_snprintf(inst.msg, sizeof(inst.msg), "'%s': its OTA entry is gone", c->name);
		inst_end(HVM_E_INTERNAL);
		return 1;
	}
	switch (inst.step) {
	case INST_KEEP: {
		int r = inst_write(e, inst_slot(cur), inst.keep, inst.keep_len,
				   inst.kind ? "saving the current initrd"
					     : "saving the current image");
		if (r > 0)
			inst.step = INST_KEEP_HASH;
		return 1;
	}
	case INST_KEEP_HASH:
		if (!inst_hash(e, inst_slot(cur), inst.keep_len, d))
			return 1;
		if (memcmp(d, inst.keep_sha, 32) != 0) {
			nv_discard();
			hv_snprintf(inst.msg, sizeof(inst.msg),
				    "'%s': its %s in the store no longer has its digest; not kept as "
				    "rollback target",
				    c->name, what);
			inst_end(HVM_E_HASH);
			return 1;
		}
		if (inst_target_empty(e) != HVM_OK)
			inst_end(HVM_E_NV);
		return 1;
	case INST_WRITE:
		if (inst_write(e, inst_slot(target), inst.src, inst.len,
			       inst.kind ? "writing the initrd slot" : "writing the slot") > 0)
			inst.step = INST_HASH;
		return 1;
	case INST_HASH:
		/* MGMT-303: the copy in hv-core's hands */
		if (!inst_hash(e, inst_slot(target), inst.len, d))
			return 1;
		if (memcmp(d, inst.want, 32) != 0) {
			hv_snprintf(inst.msg, sizeof(inst.msg),
				    "'%s': staged %s SHA-256 differs from the manifest's (%s); %sslot %s "
				    "left empty",
				    c->name, what, inst.kind ? "MGMT-663" : "MGMT-620",
				    inst.kind ? "initrd " : "", slot_name(target));
			inst_end(HVM_E_HASH);
			return 1;
		}
		inst_ready(e);
		return 1;
	default:
		inst_end(HVM_E_INTERNAL);
		return 1;
	}
}

int ota_job_result(uint32_t id, uint32_t *status, char *msg, unsigned len)
{
	if (!inst.done || !inst.vm || inst.vm->id != id)
		return 0;
	inst.done = 0;
	*status = inst.status;
	strlcpy(msg, inst.msg, len);
	return 1;
}

/* MGMT-663: len staged bytes into the inactive initrd slot, verified against
 * img (the digest given, or the manifest's `NAME.initrd` line). */
static enum hvm_status install_initrd(struct vm *vm, uint64_t off, uint64_t len,
				      const struct hvm_ota_image *img, const char *version,
				      const uint8_t origin[NV_ORIGIN_LEN], char *msg, unsigned mlen)
{
	struct vm_config *c = &vm->cfg;
	const struct vmcfg *vc = vm_vmcfg(vm->id);
	enum hvm_status st = HVM_OK;
	struct nv_vm *e = nv_vm_find(c->name, 0);
	if (e && e->trial) {
		hv_snprintf(msg, mlen, "'%s': a trial is in progress (MGMT-620)", c->name);
		return HVM_E_STATE;
	}
	if (!vc || !vc->boot.has_initrd || !c->initrd_pa) {
		hv_snprintf(msg, mlen, "'%s' boots no initrd: no initrd slot (MGMT-663)", c->name);
		return HVM_E_BAD_ARG;
	}
	if (e && e->floor[0] && ota_version_cmp(version, e->floor) < 0) {
		hv_snprintf(msg, mlen,
			    "'%s': version %s is below the anti-rollback floor %s (MGMT-625)",
			    c->name, version, e->floor);
		return HVM_E_ROLLBACK;
	}
	e = entry_for(vm, &st, msg, mlen);
	if (!e)
		return st;
	struct nv_place *p = nv_place_of(e);
	uint32_t cur = e->active, target = 1 - cur;
	if (len > c->initrd_max || len > nv_slot_cap(e, 2 + target)) {
		hv_snprintf(msg, mlen,
			    "'%s': %lu bytes exceed its initrd place of %lu or initrd slot of %lu "
			    "(MGMT-663)",
			    c->name, (unsigned long)len, (unsigned long)c->initrd_max,
			    (unsigned long)nv_slot_cap(e, 2 + target));
		nv_discard();
		return HVM_E_NO_SPACE;
	}
	inst_begin(vm, 1, cur, off, len, img, version, origin);
	if (!p->initrd[cur].durable) {
		/* the running initrd is kept first: the rollback target */
		inst.keep = (const volatile uint8_t *)(uintptr_t)c->initrd_pa;
		inst.keep_len = vc->boot.initrd_size;
		memcpy(inst.keep_sha, vc->boot.initrd_sha256, 32);
		inst.step = INST_KEEP;
	} else if (inst_target_empty(e) != HVM_OK) {
		strlcpy(msg, inst.msg, mlen);
		inst.step = INST_IDLE;
		return HVM_E_NV;
	}
	return (enum hvm_status)VM_PENDING;
}

enum hvm_status ota_install(struct vm *vm, uint64_t off, uint64_t len, uint32_t kind,
			    const struct hvm_ota_image *given, const struct ota_signed *sg,
			    char *msg, unsigned mlen)
{
	struct vm_config *c = &vm->cfg;
	struct hvm_ota_image want = *given, *img = &want;
	struct nv_group grp;
	uint8_t origin[NV_ORIGIN_LEN];
	memset(&grp, 0, sizeof(grp));
	memset(origin, 0, sizeof(origin));
	if (!nv_present()) {
		hv_snprintf(msg, mlen, "no non-volatile storage on this platform (MGMT-600)");
		return HVM_E_NV;
	}
	if (!sg && trust_ca_len) {
		hv_snprintf(msg, mlen,
			    "'%s': hv-core has an update trust anchor: only a signed "
			    "manifest installs (MGMT-643)",
			    c->name);
		return HVM_E_SIGNATURE;
	}
	if (sg) {
		/* MGMT-643: hv-core's own check; the digest and version it then
		 * enforces are the manifest's */
		if (!trust_ca_len) {
			hv_snprintf(msg, mlen,
				    "hv-core has no update trust anchor in its boot "
				    "configuration (MGMT-640)");
			return HVM_E_SIGNATURE;
		}
		enum hvm_status st = sig_check(trust_ca, trust_ca_len, sg->manifest, sg->manifest_len,
					       sg->sigblock, sg->sigblock_len, msg, mlen);
		char line[HVM_NAME_LEN + 8];
		hv_snprintf(line, sizeof(line), kind ? "%s.initrd" : "%s", c->name);
		if (st == HVM_OK) /* MGMT-663: `NAME.initrd` names the initrd */
			st = manifest_image(sg->manifest, sg->manifest_len, line, trust_system,
					    want.version, &want.size, want.sha256, msg, mlen);
		if (st == HVM_OK && !kind) /* MGMT-650: the group is the manifest's */
			st = manifest_group(sg->manifest, sg->manifest_len, grp.bundle,
					    &grp.members, msg, mlen);
		if (st != HVM_OK)
			return st;
		want.magic = HVM_OTA_IMAGE_MAGIC;
		uint8_t d[32]; /* MGMT-664: the slot's origin */
		sha256(sg->manifest, sg->manifest_len, d);
		memcpy(origin, d, NV_ORIGIN_LEN);
		if (want.size != len) {
			hv_snprintf(msg, mlen,
				    "'%s': %lu staged bytes, the manifest says %lu "
				    "(MGMT-643)",
				    c->name, (unsigned long)len, (unsigned long)want.size);
			return HVM_E_BAD_ARG;
		}
	}
	char version[HVM_VERSION_LEN];
	memcpy(version, img->version, sizeof(version));
	version[HVM_VERSION_LEN - 1] = 0;
	if (img->magic != HVM_OTA_IMAGE_MAGIC || img->size != len) {
		hv_snprintf(msg, mlen,
			    "OTA_INSTALL: data-area header has magic 0x%x, size %lu "
			    "for %lu bytes (MGMT-612)",
			    img->magic, (unsigned long)img->size, (unsigned long)len);
		return HVM_E_BAD_ARG;
	}
	if (ota_version_cmp(version, "0") == 2) {
		hv_snprintf(msg, mlen, "OTA_INSTALL: version '%s' is not dotted numbers (MGMT-612)",
			    version);
		return HVM_E_BAD_ARG;
	}
	if (kind == 1)
		return install_initrd(vm, off, len, img, version, origin, msg, mlen);
	if (len > c->image_max) {
		hv_snprintf(msg, mlen, "'%s': %lu bytes exceed its image place of %lu (MGMT-601)",
			    c->name, (unsigned long)len, (unsigned long)c->image_max);
		return HVM_E_NO_SPACE;
	}
	struct nv_vm *e = nv_vm_find(c->name, 0);
	if (e && e->trial) {
		hv_snprintf(msg, mlen, "'%s': a trial is in progress (MGMT-620)", c->name);
		return HVM_E_STATE;
	}
	if (e && e->floor[0] && ota_version_cmp(version, e->floor) < 0) {
		hv_snprintf(msg, mlen,
			    "'%s': version %s is below the anti-rollback floor %s "
			    "(MGMT-625)",
			    c->name, version, e->floor);
		return HVM_E_ROLLBACK;
	}
	if (!e) {
		enum hvm_status st = HVM_OK;
		e = entry_for(vm, &st, msg, mlen);
		if (!e)
			return st;
	}
	uint32_t cur = e->active, target = 1 - cur;
	if (len > nv_slot_cap(e, target)) {
		hv_snprintf(msg, mlen, "'%s': %lu bytes exceed its OTA slot of %lu (MGMT-662)",
			    c->name, (unsigned long)len, (unsigned long)nv_slot_cap(e, target));
		nv_discard();
		return HVM_E_NO_SPACE;
	}
	inst_begin(vm, 0, cur, off, len, img, version, origin);
	inst.grp = grp;
	if (!e->slot[cur].durable) {
		/* MGMT-601: the running image is kept in flash before anything
		 * overwrites its place in the store: the rollback target */
		inst.keep = (const volatile uint8_t *)(uintptr_t)c->image_pa;
		inst.keep_len = c->image_size;
		memcpy(inst.keep_sha, c->image_sha256, 32);
		inst.step = INST_KEEP;
	} else if (inst_target_empty(e) != HVM_OK) {
		strlcpy(msg, inst.msg, mlen);
		inst.step = INST_IDLE;
		return HVM_E_NV;
	}
	return (enum hvm_status)VM_PENDING;
}

static void trial_begin(struct vm *vm, uint64_t window_ms, uint64_t timeout_ms)
{
	struct trial *t = &trials[vm->id];
	uint64_t now = timer_uptime_ns();
	memset(t, 0, sizeof(*t));
	t->on = 1;
	t->vm_gen = vm->gen;
	t->start_ns = now;
	t->deadline_ns = now + timeout_ms * 1000000ull;
	t->window_ns = window_ms * 1000000ull;
	t->stall_ns = (vm->cfg.watchdog_ms ? vm->cfg.watchdog_ms : OTA_STALL_DEFAULT_MS) * 1000000ull;
	t->faults0 = vm->fault_count;
	t->restarts0 = vm->restart_count;
	t->wd0 = vm->stats.watchdog_expiries;
}

/* The window and timeout of VM vm's trial from OTA_SWITCH's arguments
 * (0: its configured window, the window plus the boot allowance). */
static enum hvm_status trial_times(struct vm *vm, uint64_t *window_ms, uint64_t *timeout_ms,
				   char *msg, unsigned mlen)
{
	const struct vmcfg *vc = vm_vmcfg(vm->id);
	if (*window_ms == 0) /* VMCFG-600: the VM's configured window */
		*window_ms = vc && vc->ota_confirm_ms ? vc->ota_confirm_ms : OTA_WINDOW_DEFAULT_MS;
	if (*timeout_ms == 0) /* time to boot, then the window */
		*timeout_ms = *window_ms + OTA_BOOT_ALLOWANCE_MS;
	if (*window_ms > OTA_WINDOW_MAX_MS || *timeout_ms > OTA_TIMEOUT_MAX_MS ||
	    *window_ms > *timeout_ms) {
		hv_snprintf(msg, mlen,
			    "OTA_SWITCH: window %lu ms, timeout %lu ms: window at most "
			    "the timeout and %u ms, timeout at most %u ms (MGMT-621)",
			    (unsigned long)*window_ms, (unsigned long)*timeout_ms,
			    OTA_WINDOW_MAX_MS, OTA_TIMEOUT_MAX_MS);
		return HVM_E_BAD_ARG;
	}
	return HVM_OK;
}

uint32_t ota_group_vms(struct vm *vm)
{
	const struct nv_vm *e = nv_vm_find(vm->cfg.name, 0);
	uint32_t mask = 1u << vm->id;
	if (!e)
		return mask;
	struct nv_vm *g[NV_MAX_VMS];
	uint32_t n = group_entries(e, 0, g);
	for (uint32_t k = 0; k < n; k++) {
		struct vm *v = vm_named(g[k]->name);
		if (v)
			mask |= 1u << v->id;
	}
	return mask;
}

/* MGMT-651: every VM of e's group, defined, with a READY inactive slot of the
 * group and no trial; gv[k] is the VM of g[k]. The count, or 0 with msg. */
static uint32_t group_ready(struct nv_vm *e, struct nv_vm *g[NV_MAX_VMS], struct vm *gv[NV_MAX_VMS],
			    char *msg, unsigned mlen)
{
	uint32_t n = group_entries(e, 0, g), ready = 0;
	const struct nv_group *grp = nv_group_of(e);
	for (uint32_t k = 0; k < n; k++) {
		if (g[k]->trial) {
			hv_snprintf(msg, mlen, "'%s' of its update group is in a trial (MGMT-651)",
				    g[k]->name);
			return 0;
		}
		struct vm *v = vm_named(g[k]->name);
		char why[8];
		if (v && g[k]->slot[1 - g[k]->active].state == HVM_SLOT_READY &&
		    initrd_pair(v, g[k], 1 - g[k]->active, why, sizeof(why)) == HVM_OK) {
			g[ready] = g[k];
			gv[ready] = v;
			ready++;
		}
	}
	if (grp->members > 1 && ready != grp->members) {
		hv_snprintf(msg, mlen,
			    "'%s': %u of the %u VMs of its update group have its image "
			    "installed and waiting: the group is switched whole or not at all "
			    "(MGMT-651)",
			    e->name, ready, grp->members);
		return 0;
	}
	return ready;
}

enum hvm_status ota_switch(struct vm *vm, uint64_t window_ms, uint64_t timeout_ms, char *msg,
			   unsigned mlen)
{
	struct vm_config *c = &vm->cfg;
	uint64_t win[NV_MAX_VMS], tmo[NV_MAX_VMS];
	uint64_t w0 = window_ms, t0 = timeout_ms;
	enum hvm_status st = trial_times(vm, &w0, &t0, msg, mlen);
	if (st != HVM_OK)
		return st;
	struct nv_vm *e = nv_vm_find(c->name, 0);
	uint32_t target = e ? 1 - e->active : 1;
	if (!e || e->trial || e->slot[target].state != HVM_SLOT_READY) {
		hv_snprintf(msg, mlen, "'%s': %s (MGMT-621)", c->name,
			    e && e->trial ? "a trial is in progress"
					  : "no installed image waits in its inactive slot");
		return HVM_E_STATE;
	}
	st = initrd_pair(vm, e, target, msg, mlen);
	if (st != HVM_OK)
		return st;
	struct nv_vm *g[NV_MAX_VMS];
	struct vm *gv[NV_MAX_VMS];
	uint32_t n = group_ready(e, g, gv, msg, mlen);
	if (n == 0)
		return HVM_E_STATE;
	for (uint32_t k = 0; k < n; k++) {
		win[k] = window_ms;
		tmo[k] = timeout_ms;
		st = trial_times(gv[k], &win[k], &tmo[k], msg, mlen);
		if (st != HVM_OK)
			return st;
	}
	/* one stored record puts the whole group in trial (MGMT-624, MGMT-652) */
	for (uint32_t k = 0; k < n; k++) {
		g[k]->active = 1 - g[k]->active;
		g[k]->trial = 1;
		g[k]->slot[g[k]->active].state = HVM_SLOT_TRIAL;
		initrd_follow(g[k]);
	}
	if (nv_commit() != 0)
		return store_failed(msg, mlen, "OTA_SWITCH");
	static struct vm_config keep[NV_MAX_VMS];
	uint32_t done = 0;
	for (; done < n; done++) {
		keep[done] = gv[done]->cfg;
		st = load_slot(gv[done], g[done], g[done]->active, msg, mlen);
		if (st == HVM_OK)
			st = reboot_vm(gv[done], msg, mlen);
		if (st != HVM_OK)
			break;
	}
	if (st != HVM_OK) {
		/* a VM did not boot its new slot: the whole group stays on (or
		 * goes back to) its previous slots */
		for (uint32_t k = 0; k < n; k++) {
			g[k]->slot[g[k]->active].state = HVM_SLOT_READY;
			if (nv_place_of(g[k])->initrd[g[k]->active].durable)
				nv_place_of(g[k])->initrd[g[k]->active].state = HVM_SLOT_READY;
			g[k]->active = 1 - g[k]->active;
			g[k]->trial = 0;
		}
		if (nv_commit() != 0)
			nv_discard();
		char ignore[64];
		for (uint32_t k = 0; k <= done && k < n; k++) {
			gv[k]->cfg = keep[k];
			load_slot(gv[k], g[k], g[k]->active, ignore, sizeof(ignore));
			if (k < done)
				reboot_vm(gv[k], ignore, sizeof(ignore));
		}
		return st;
	}
	for (uint32_t k = 0; k < n; k++) {
		uint32_t s = g[k]->active;
		trial_begin(gv[k], win[k], tmo[k]);
		events_append(HVM_EV_OTA_TRIAL, gv[k]->id, s, gv[k]->reason);
		hv_log("ota: vm %u '%s': slot %s (%s) booted in trial: window %lu ms, timeout "
		       "%lu ms%s",
		       gv[k]->id, g[k]->name, slot_name(s), g[k]->slot[s].version,
		       (unsigned long)win[k], (unsigned long)tmo[k], n > 1 ? " (update group)" : "");
	}
	return HVM_OK;
}

void ota_status(struct vm *vm, struct hvm_ota_status *out)
{
	memset(out, 0, sizeof(*out));
	out->magic = HVM_OTA_STATUS_MAGIC;
	out->version = HVM_OTA_STATUS_VERSION;
	out->size = sizeof(*out);
	out->vm_id = vm->id;
	out->nv_seq = nv_rec()->seq;
	out->nv_present = (uint32_t)nv_present();
	const struct nv_vm *e = nv_vm_find(vm->cfg.name, 0);
	if (!e) {
		/* no update yet: slot A is the image it was defined with */
		out->slot[0].state = HVM_SLOT_GOOD;
		out->slot[0].size = vm->cfg.image_size;
		memcpy(out->slot[0].sha256, vm->cfg.image_sha256, 32);
		guest_version(vm, out->slot[0].version);
		const struct vmcfg *vc = vm_vmcfg(vm->id);
		if (vc && vc->boot.has_initrd) { /* MGMT-665: its configured initrd */
			out->initrd[0].state = HVM_SLOT_GOOD;
			out->initrd[0].size = vc->boot.initrd_size;
			memcpy(out->initrd[0].sha256, vc->boot.initrd_sha256, 32);
			memcpy(out->initrd[0].version, out->slot[0].version, HVM_VERSION_LEN);
		}
		return;
	}
	memcpy(out->initrd, nv_place_of(e)->initrd, sizeof(out->initrd)); /* MGMT-665 */
	const struct vmcfg *vc = vm_vmcfg(vm->id);
	if (vc && vc->boot.has_initrd && !out->initrd[0].durable && !out->initrd[1].durable &&
	    out->initrd[0].state == HVM_SLOT_EMPTY && out->initrd[1].state == HVM_SLOT_EMPTY) {
		/* MGMT-665: an image was updated, the initrd never was: initrd A
		 * is the configured one the VM boots */
		out->initrd[0].state = HVM_SLOT_GOOD;
		out->initrd[0].size = vc->boot.initrd_size;
		memcpy(out->initrd[0].sha256, vc->boot.initrd_sha256, 32);
	}
	out->active = e->active;
	out->in_trial = e->trial;
	out->last_result = e->last_result;
	memcpy(out->floor, e->floor, sizeof(out->floor));
	memcpy(out->slot, e->slot, sizeof(out->slot));
	if (nv_group_of(e)->members > 1)
		out->group_vms = ota_group_vms(vm);
	const struct trial *t = &trials[vm->id];
	uint64_t now = timer_uptime_ns();
	if (t->on && t->deadline_ns > now)
		out->trial_left_ms = (t->deadline_ns - now) / 1000000ull;
}

/* MGMT-623, MGMT-652, MGMT-653: ends the trial of vm's whole update group in
 * one stored record: all confirmed, or all back to their previous slots (the
 * VM that failed with its result, the others with FAIL_GROUP). */
static void trial_end(struct vm *vm, struct nv_vm *e, uint32_t result)
{
	struct nv_vm *g[NV_MAX_VMS];
	struct vm *gv[NV_MAX_VMS];
	uint32_t n = group_entries(e, 1, g);
	for (uint32_t k = 0; k < n; k++) {
		gv[k] = vm_named(g[k]->name);
		if (gv[k])
			trials[gv[k]->id].on = 0;
	}
	if (result == HVM_OTA_CONFIRMED) {
		for (uint32_t k = 0; k < n; k++) {
			uint32_t s = g[k]->active;
			g[k]->slot[s].state = HVM_SLOT_GOOD;
			g[k]->trial = 0;
			g[k]->last_result = result;
			strlcpy(g[k]->floor, g[k]->slot[s].version, sizeof(g[k]->floor)); /* MGMT-625 */
			initrd_follow(g[k]);
		}
		if (nv_commit() != 0)
			hv_log("ota: vm %u '%s': confirmation could not be stored", vm->id,
			       vm->cfg.name);
		for (uint32_t k = 0; k < n; k++) {
			if (!gv[k])
				continue;
			uint32_t s = g[k]->active;
			events_append(HVM_EV_OTA_CONFIRMED, gv[k]->id, s, gv[k]->reason);
			hv_log("ota: vm %u '%s': slot %s (%s) confirmed; floor %s", gv[k]->id,
			       g[k]->name, slot_name(s), g[k]->slot[s].version, g[k]->floor);
		}
		return;
	}
	/* MGMT-623: back to the previous slot, on hv-core's own */
	uint32_t bad[NV_MAX_VMS];
	for (uint32_t k = 0; k < n; k++) {
		bad[k] = g[k]->active;
		g[k]->slot[bad[k]].state = HVM_SLOT_BAD;
		g[k]->active = 1 - bad[k];
		g[k]->trial = 0;
		g[k]->last_result = g[k] == e ? result : HVM_OTA_FAIL_GROUP;
		initrd_follow(g[k]);
	}
	if (nv_commit() != 0)
		hv_log("ota: vm %u '%s': rollback could not be stored", vm->id, vm->cfg.name);
	for (uint32_t k = 0; k < n; k++) {
		struct vm *v = gv[k];
		if (!v)
			continue;
		char msg[96];
		enum hvm_status st = load_slot(v, g[k], g[k]->active, msg, sizeof(msg));
		int was_stopped = v->state == HVM_VM_SHUTOFF && v->reason != HVM_R_CRASHED &&
				  v->reason != HVM_R_WATCHDOG;
		if (st == HVM_OK && !was_stopped)
			st = reboot_vm(v, msg, sizeof(msg));
		events_append(HVM_EV_OTA_ROLLED_BACK, v->id, g[k]->last_result, v->reason);
		hv_log("ota: vm %u '%s': trial of slot %s failed (result %u): slot %s %s", v->id,
		       g[k]->name, slot_name(bad[k]), g[k]->last_result, slot_name(g[k]->active),
		       st == HVM_OK ? (was_stopped ? "loaded" : "booted again") : msg);
	}
}

/* MGMT-652: vm passed its own window (and is looked at again on every tick
 * until its group ends); the group is confirmed when every VM of it has. A VM
 * of the group that is no longer defined, or no longer in its trial, fails
 * the group. */
static void trial_passed(struct vm *vm, struct trial *t, struct nv_vm *e)
{
	struct nv_vm *g[NV_MAX_VMS];
	uint32_t n = group_entries(e, 1, g);
	t->passed = 1;
	for (uint32_t k = 0; k < n; k++) {
		const struct vm *v = vm_named(g[k]->name);
		if (!v || !trials[v->id].on) {
			hv_log("ota: '%s' of the update group left its trial", g[k]->name);
			trial_end(vm, e, HVM_OTA_FAIL_GROUP);
			return;
		}
	}
	for (uint32_t k = 0; k < n; k++)
		if (!trials[vm_named(g[k]->name)->id].passed)
			return;
	if (n > 1)
		hv_log("ota: all %u VMs of the update group passed their trials", n);
	trial_end(vm, e, HVM_OTA_CONFIRMED);
}

/* MGMT-622: one look at a VM in trial. */
static void trial_check(struct vm *vm, struct trial *t, struct nv_vm *e, uint64_t now)
{
	if (vm->stats.watchdog_expiries != t->wd0) {
		trial_end(vm, e, HVM_OTA_FAIL_WATCHDOG);
		return;
	}
	if (vm->fault_count != t->faults0 || vm->restart_count != t->restarts0 ||
	    (vm->state != HVM_VM_RUNNING && vm->state != HVM_VM_BLOCKED &&
	     vm->state != HVM_VM_PAUSED)) {
		trial_end(vm, e, HVM_OTA_FAIL_FAULT);
		return;
	}
	if (vm->pending_boot)
		return; /* not booted yet */
	char v[HVM_VERSION_LEN];
	guest_version(vm, v);
	const char *want = e->slot[e->active].version;
	if (v[0] && strncmp(v, want, HVM_VERSION_LEN) != 0) {
		/* twice in a row: not a version the guest is writing just now */
		if (++t->mismatches >= 2) {
			hv_log("ota: vm %u '%s' reports version '%s', the trial wants '%s'", vm->id,
			       vm->cfg.name, v, want);
			trial_end(vm, e, HVM_OTA_FAIL_VERSION);
			return;
		}
	} else {
		t->mismatches = 0;
	}
	if (vm->state == HVM_VM_PAUSED) {
		t->ok_since_ns = 0; /* a paused guest shows no heartbeat */
	} else if (v[0] && t->mismatches == 0 && vm->hb_last != 0) {
		if (now > vm->hb_changed_ns && now - vm->hb_changed_ns > t->stall_ns) {
			trial_end(vm, e, HVM_OTA_FAIL_WATCHDOG);
			return;
		}
		/* the window counts only while every look finds a young heartbeat */
		uint64_t fresh = t->window_ns / 2 < t->stall_ns ? t->window_ns / 2 : t->stall_ns;
		uint64_t age = now > vm->hb_changed_ns ? now - vm->hb_changed_ns : 0;
		if (t->ok_since_ns == 0 || age > fresh) {
			t->ok_since_ns = now;
			t->hb_at_ok = t->hb_seen = vm->hb_last;
			t->advances = 0;
		} else {
			if (vm->hb_last != t->hb_seen)
				t->advances++;
			t->hb_seen = vm->hb_last;
		}
		/* one late look that finds a changed value proves little (a
		 * starved host): the window needs OTA_MIN_ADVANCES of them */
		if (!t->passed && t->ok_since_ns != now && now - t->ok_since_ns >= t->window_ns &&
		    t->advances >= OTA_MIN_ADVANCES) {
			trial_passed(vm, t, e);
			return;
		}
	}
	/* a VM that passed is still watched, until its group is confirmed */
	if (t->passed) {
		trial_passed(vm, t, e);
		return;
	}
	if (now >= t->deadline_ns)
		trial_end(vm, e, HVM_OTA_FAIL_TIMEOUT);
}

void ota_tick(uint64_t now)
{
	for (uint32_t id = 0; id < HVM_MAX_VMS; id++) {
		struct trial *t = &trials[id];
		struct vm *vm = &vms[id];
		if (!t->on)
			continue;
		struct nv_vm *e =
			vm->used && vm->gen == t->vm_gen ? nv_vm_find(vm->cfg.name, 0) : NULL;
		if (!e || !e->trial) {
			t->on = 0; /* the VM was undefined meanwhile */
			continue;
		}
		trial_check(vm, t, e, now);
	}
}
