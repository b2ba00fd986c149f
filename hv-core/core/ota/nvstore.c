/*
 * nvstore.c - hv-core's non-volatile record (see nvstore.h, MGMT-600..603).
 *
 * Crash safety: copy i lives in erase block i. A write goes to the copy that
 * does not hold the newest record: erase, program, read back. A power cut at
 * any point leaves the other copy, the newest record stored before, intact;
 * the half-written copy fails its SHA-256 and is ignored when read.
 */
#include <stddef.h>
#include <string.h>
#include "nvstore.h"
#include "pflash.h"
#include "platform.h"
#include "sha256.h"
#include "mmu.h"
#include "log.h"

#define NV_SLOTS_OFF (2ull * PFLASH_BLOCK)
#define NV_REC_BYTES ((sizeof(struct nv_rec) + 3u) & ~3u)

_Static_assert(sizeof(struct nv_rec) <= PFLASH_BLOCK, "a record copy fits one block");
_Static_assert(sizeof(struct nv_rec) % 8 == 0, "record size");

#ifdef HV_TEST_HOOKS
/* MGMT-604, test builds only: power-cut points. Words at NV_CUT_FLAG: "NVCT"
 * and the point to cut at (written by a test), then, written by hv-core, the
 * points passed since boot and 1 once it has cut. A point is passed after a
 * record copy is erased, after the first half of a record is programmed,
 * after a record is stored (before hv-core acts on it), and after the first
 * half of a slot's bytes are programmed; at the chosen one
 * hv-core stops all work on this CPU with the flash as it is, as if the power
 * went, and the test kills QEMU. */
#define NV_CUT_FLAG 0x41FFF020ull
#define NV_CUT_MAGIC 0x5443564Eu /* "NVCT" */

static void cut_point(void)
{
	volatile uint32_t *f = (volatile uint32_t *)(uintptr_t)NV_CUT_FLAG;
	uint32_t n = f[2] + 1;
	f[2] = n;
	if (f[0] != NV_CUT_MAGIC || f[1] != n)
		return;
	hv_log("non-volatile storage: power cut at point %u (test hook)", n);
	f[3] = 1;
	for (;;)
		__asm__ volatile("msr daifset, #0xf\n\tdsb sy\n\twfi" ::: "memory");
}
#else
static void cut_point(void)
{
}
#endif

static struct nv_rec work, stored;
static int stored_copy = -1; /* the copy that holds `stored`, -1: none */
static uint32_t boot_no;     /* MGMT-500: this boot, 0: not counted        */
static uint8_t buf[NV_REC_BYTES] __attribute__((aligned(8)));

int nv_present(void)
{
	return platform.nv_size >= NV_SLOTS_OFF + 2ull * NV_MAX_VMS * NV_SLOT_SIZE;
}

static void seal(struct nv_rec *r)
{
	r->magic = NV_REC_MAGIC;
	r->version = NV_REC_VERSION;
	r->size = sizeof(*r);
	sha256(r, sizeof(*r) - 32, r->sha256);
}

/* Version 1 (ABI 2.2): the record without grp[], place[] and origin[];
 * version 2 (ABI 2.3): without place[] and origin[]; version 3 (ABI 2.4):
 * without origin[]. */
#define NV_REC_V1_BODY offsetof(struct nv_rec, grp)
#define NV_REC_V2_BODY offsetof(struct nv_rec, place)
#define NV_REC_V3_BODY offsetof(struct nv_rec, origin)

static size_t old_body(int version)
{
	return version == 1 ? NV_REC_V1_BODY : version == 2 ? NV_REC_V2_BODY : NV_REC_V3_BODY;
}

/* The version of a valid record (1..3 or NV_REC_VERSION); 0: not valid. */
static int valid(const struct nv_rec *r)
{
	uint8_t d[32];
	if (r->magic != NV_REC_MAGIC)
		return 0;
	if (r->version >= 1 && r->version < NV_REC_VERSION) {
		size_t body = old_body(r->version);
		if (r->size != body + 32)
			return 0;
		sha256(r, body, d);
		return memcmp(d, (const uint8_t *)r + body, 32) == 0 ? r->version : 0;
	}
	if (r->version != NV_REC_VERSION || r->size != sizeof(*r))
		return 0;
	sha256(r, sizeof(*r) - 32, d);
	return memcmp(d, r->sha256, 32) == 0 ? NV_REC_VERSION : 0;
}

/* An older record read into `to`: its body kept, no VM in a group (version
 * 1), every slot in the flash bank (versions 1, 2), no slot with a known
 * origin (versions 1..3); the next commit writes the current version. */
static void upgrade(struct nv_rec *to, const struct nv_rec *old, int version)
{
	memset(to, 0, sizeof(*to));
	memcpy(to, old, old_body(version));
	seal(to);
}

void nv_init(void)
{
	memset(&work, 0, sizeof(work));
	stored_copy = -1;
	if (!nv_present()) {
		hv_log("non-volatile storage: none on this platform (MGMT-600); OTA slots unavailable");
		seal(&work);
		stored = work;
		return;
	}
	int seen[2];
	for (int i = 0; i < 2; i++) {
		pflash_read(platform.nv_base, (uint64_t)i * PFLASH_BLOCK, buf, sizeof(struct nv_rec));
		struct nv_rec *r = (struct nv_rec *)buf;
		seen[i] = valid(r);
		if (seen[i] && (stored_copy < 0 || r->seq > work.seq)) {
			if (seen[i] != NV_REC_VERSION)
				upgrade(&work, r, seen[i]);
			else
				memcpy(&work, r, sizeof(work));
			stored_copy = i;
		}
	}
	if (stored_copy < 0)
		seal(&work);
	stored = work;
	/* MGMT-500: this boot counted before anything else changes the record */
	work.boots = stored.boots + 1;
	if (work.boots == 0 || nv_commit() != 0) {
		nv_discard();
		boot_no = 0;
	} else {
		boot_no = work.boots;
	}
	static const char *const how[NV_REC_VERSION + 1] = { "invalid", "valid (version 1)",
							     "valid (version 2)",
							     "valid (version 3)", "valid" };
	hv_log("non-volatile storage at 0x%lx: copy A %s, copy B %s; record %lu, audit sequence "
	       "%lu, boot %lu%s",
	       (unsigned long)platform.nv_base, how[seen[0]], how[seen[1]], (unsigned long)work.seq,
	       (unsigned long)work.audit_seq, (unsigned long)boot_no,
	       boot_no ? "" : " (not counted: the record could not be written)");
}

uint32_t nv_boot(void)
{
	return boot_no;
}

struct nv_rec *nv_rec(void)
{
	return &work;
}

void nv_discard(void)
{
	work = stored;
}

int nv_commit(void)
{
	if (!nv_present()) {
		nv_discard();
		return -1;
	}
	int copy = stored_copy == 0 ? 1 : 0;
	uint64_t off = (uint64_t)copy * PFLASH_BLOCK;
	work.seq = stored.seq + 1;
	seal(&work);
	int rc = pflash_erase(platform.nv_base, off);
	cut_point();
	/* in two halves: a power cut between them leaves a torn copy (MGMT-603) */
	const uint64_t half = (sizeof(work) / 2) & ~3ull;
	if (rc == 0)
		rc = pflash_program(platform.nv_base, off, &work, half);
	cut_point();
	if (rc == 0)
		rc = pflash_program(platform.nv_base, off + half, (const uint8_t *)&work + half,
				    sizeof(work) - half);
	if (rc == 0) {
		pflash_read(platform.nv_base, off, buf, sizeof(work));
		rc = memcmp(buf, &work, sizeof(work)) == 0 ? 0 : -1;
	}
	if (rc != 0) {
		hv_log("non-volatile storage: writing record %lu into copy %c failed",
		       (unsigned long)work.seq, copy ? 'B' : 'A');
		nv_discard();
		return -1;
	}
	stored = work;
	stored_copy = copy;
	cut_point(); /* stored, not yet acted on */
	return 0;
}

struct nv_vm *nv_vm_find(const char *name, int create)
{
	struct nv_vm *free_e = NULL;
	for (uint32_t i = 0; i < NV_MAX_VMS; i++) {
		struct nv_vm *e = &work.vm[i];
		if (e->name[0] && strncmp(e->name, name, HVM_NAME_LEN) == 0)
			return e;
		if (!e->name[0] && !free_e)
			free_e = e;
	}
	if (!create || !free_e)
		return NULL;
	memset(free_e, 0, sizeof(*free_e));
	memset(nv_group_of(free_e), 0, sizeof(struct nv_group));
	memset(nv_place_of(free_e), 0, sizeof(struct nv_place));
	memset(nv_origin_of(free_e), 0, sizeof(struct nv_origin));
	strlcpy(free_e->name, name, sizeof(free_e->name));
	return free_e;
}

struct nv_group *nv_group_of(const struct nv_vm *e)
{
	return &work.grp[e - work.vm];
}

struct nv_place *nv_place_of(const struct nv_vm *e)
{
	return &work.place[e - work.vm];
}

struct nv_origin *nv_origin_of(const struct nv_vm *e)
{
	return &work.origin[e - work.vm];
}

#define MIB2 0x200000ull

int nv_place_alloc(struct nv_vm *e, uint64_t img, uint64_t initrd)
{
	img = (img + MIB2 - 1) & ~(MIB2 - 1);
	initrd = (initrd + MIB2 - 1) & ~(MIB2 - 1);
	uint64_t end = 0;
	for (uint32_t i = 0; i < NV_MAX_VMS; i++) {
		const struct nv_place *p = &work.place[i];
		if (!work.vm[i].name[0] || &work.vm[i] == e || !p->size[0])
			continue;
		uint64_t last = p->size[1] ? p->off[3] + p->size[1] : p->off[1] + p->size[0];
		if (last > end)
			end = last;
	}
	if (!platform.slot_size || img == 0 || img > platform.slot_size ||
	    initrd > platform.slot_size || end + 2 * img + 2 * initrd > platform.slot_size)
		return -1;
	struct nv_place *p = nv_place_of(e);
	p->size[0] = img;
	p->size[1] = initrd;
	p->off[0] = end;
	p->off[1] = end + img;
	p->off[2] = initrd ? end + 2 * img : 0;
	p->off[3] = initrd ? end + 2 * img + initrd : 0;
	return 0;
}

uint64_t nv_slot_cap(const struct nv_vm *e, uint32_t s)
{
	const struct nv_place *p = &work.place[e - work.vm];
	if (s > 3)
		return 0;
	if (p->size[0]) /* no slot store this boot: none of its slots */
		return platform.slot_size ? p->size[s >> 1] : 0;
	return s < 2 ? NV_SLOT_SIZE : 0;
}

/* Slot s of e in the slot store, or NULL when it is in the flash bank. */
static uint8_t *store_slot(const struct nv_vm *e, uint32_t s)
{
	const struct nv_place *p = &work.place[e - work.vm];
	if (!p->size[0] || !platform.slot_size)
		return NULL;
	return (uint8_t *)(uintptr_t)(platform.slot_base + p->off[s]);
}

static uint64_t slot_off(const struct nv_vm *e, uint32_t s)
{
	uint64_t idx = (uint64_t)(e - work.vm);
	return NV_SLOTS_OFF + (idx * 2 + s) * NV_SLOT_SIZE;
}

int64_t nv_slot_write_unit(const struct nv_vm *e, uint32_t s, const volatile uint8_t *src,
			   uint64_t len, uint64_t pos, uint64_t max)
{
	if (!nv_present() || len > nv_slot_cap(e, s) || pos > len)
		return -1;
	uint64_t half = len / 2;
	uint8_t *mem = store_slot(e, s);
	if (mem) {
		/* MGMT-661: RAM the platform keeps, in two halves (MGMT-604): a
		 * unit ends at the half, where the power-cut point is; the bytes
		 * are hashed afterwards from this copy */
		const uint8_t *from = (const uint8_t *)(uintptr_t)src;
		uint64_t end = pos < half ? half : len;
		uint64_t n = end - pos > max ? max : end - pos;
		memcpy(mem + pos, from + pos, n);
		dcache_clean_range(mem + pos, n);
		if ((pos < half && pos + n == half) || (half == 0 && pos == 0))
			cut_point();
		return (int64_t)n;
	}
	/* the flash bank: each erase block as the write reaches it, then whole
	 * chunks; the power-cut point after the chunk that passes the half */
	static uint8_t chunk[4096] __attribute__((aligned(8)));
	uint64_t off = slot_off(e, s), n = 0;
	max = max < sizeof(chunk) ? sizeof(chunk) : max & ~(uint64_t)(sizeof(chunk) - 1);
	while (n < max && pos + n < len) {
		uint64_t at = pos + n, k = len - at > sizeof(chunk) ? sizeof(chunk) : len - at;
		if (at % PFLASH_BLOCK == 0 && pflash_erase(platform.nv_base, off + at) != 0)
			return -1;
		memset(chunk, 0xFF, sizeof(chunk));
		for (uint64_t i = 0; i < k; i++)
			chunk[i] = src[at + i]; /* each byte read once */
		if (pflash_program(platform.nv_base, off + at, chunk, (k + 3) & ~3ull) != 0)
			return -1;
		if (at < half && at + k >= half)
			cut_point();
		n += k;
	}
	return (int64_t)n;
}

int nv_slot_write(const struct nv_vm *e, uint32_t s, const volatile uint8_t *src, uint64_t len)
{
	uint64_t pos = 0;
	do {
		int64_t n = nv_slot_write_unit(e, s, src, len, pos, len);
		if (n < 0)
			return -1;
		pos += (uint64_t)n;
	} while (pos < len);
	return 0;
}

void nv_slot_read(const struct nv_vm *e, uint32_t s, void *dst, uint64_t len)
{
	const uint8_t *mem = store_slot(e, s);
	if (mem) {
		memcpy(dst, mem, len);
		return;
	}
	uint64_t off = slot_off(e, s);
	uint8_t *d = dst;
	uint64_t whole = len & ~3ull;
	pflash_read(platform.nv_base, off, d, whole);
	if (whole < len) {
		uint8_t last[4];
		pflash_read(platform.nv_base, off + whole, last, 4);
		memcpy(d + whole, last, len - whole);
	}
}

void nv_slot_sha256_unit(const struct nv_vm *e, uint32_t s, struct sha256 *h, uint64_t pos, uint64_t n)
{
	const uint8_t *mem = store_slot(e, s);
	if (mem) {
		sha256_update(h, mem + pos, n);
		return;
	}
	static uint8_t chunk[4096] __attribute__((aligned(8)));
	for (uint64_t done = 0; done < n;) {
		uint64_t k = n - done > sizeof(chunk) ? sizeof(chunk) : n - done;
		pflash_read(platform.nv_base, slot_off(e, s) + pos + done, chunk, (k + 3) & ~3ull);
		sha256_update(h, chunk, k);
		done += k;
	}
}

void nv_slot_sha256(const struct nv_vm *e, uint32_t s, uint64_t len, uint8_t out[32])
{
	struct sha256 h;
	sha256_init(&h);
	nv_slot_sha256_unit(e, s, &h, 0, len);
	sha256_final(&h, out);
}
