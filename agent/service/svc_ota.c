/*
 * svc_ota.c - OTA updates of guest images, hv-agent's side (docs/ota.md
 * "hv-agent: upload, install, status"; hv-core's side is docs/mgmt-abi.md
 * section 15).
 *
 * Upload (OtaUpload, client streaming; OtaUploadOffset). A bundle is known
 * by the SHA-256 of its manifest. Its bytes go to STATE/ota/KEY.part (mode
 * 0600); every 4 MiB, and whenever the stream ends, the part is fdatasync'd
 * and then its durable length written to KEY.len (and synced), so after a
 * cut link, a killed agent or a power cut the upload resumes from the last
 * byte known to be on the disk (a longer part is cut back to it):
 * OtaUploadOffset tells the client where. Bounded: the declared size is at most --ota-max-bytes, and as soon
 * as the head is stored it must equal what the manifest declares (and the
 * manifest's digest the key); a sender slower than --ota-min-rate over
 * --ota-rate-window-ms is refused (what it sent is kept for a resume). The
 * complete file is verified (ota/, streaming: signer chain to the update CA,
 * revocation, signature, system, expiry and the time floor, every image's
 * digest) and only then renamed to KEY.hvota; a refused bundle is deleted.
 *
 * Install (OtaInstall). The stored bundle is verified again (the clock moves
 * on; the file lies in a directory others may write), every VM it names must
 * be defined, then for each image: staging area, OTA_INSTALL into the VM's
 * inactive slot with the manifest and its signature block (hv-core checks
 * both itself, MGMT-643; an hv-core without an update trust anchor gets the
 * digest form, MGMT-612), a line `VM.initrd` into VM's inactive initrd slot
 * (arg[3] = 1, MGMT-663), then the switch (ota_switch_vms; an initrd goes
 * with its VM's image). A switch the
 * safety policy refuses is E_POLICY, or with when_allowed a pending
 * "otaswitch" command that pending.c runs when allowed. Every step is an
 * audit row; hv-core witnesses the trial and confirms or rolls back alone.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fleet_fetch.h"
#include "log.h"
#include "ota.h"
#include "store.h"
#include "testcut.h"

#define STAGE_ALIGN 0x200000ull /* as LoadImage (svc_image.c) */
#define WAIT_MS 250u            /* how often a waiting upload looks at its rate */
#define COPY_BUF (256u * 1024u)
#define HEAD_MAX (24u + OTA_MANIFEST_MAX + OTA_SIGBLOCK_MAX)
#define SYNC_BYTES (4u << 20) /* bytes received between two syncs of an upload */
#define LEN_DIGITS 20u        /* KEY.len: the durable length, zero-padded decimal */

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
	out[2 * n] = '\0';
}

static int bundle_path(const struct agent *ag, const uint8_t key[32], const char *ext, char *out,
		       size_t len)
{
	char k[65];
	hex(key, 32, k);
	int n = snprintf(out, len, "%s/%s.%s", ag->ota.dir, k, ext);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* The durable length recorded in path (KEY.len); 0 when there is none. */
static uint64_t durable_len(const char *path)
{
	char buf[LEN_DIGITS + 1] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, LEN_DIGITS);
	close(fd);
	if (n != (ssize_t)LEN_DIGITS)
		return 0;
	char *end;
	unsigned long long v = strtoull(buf, &end, 10);
	return *end == '\0' ? v : 0;
}

static int ensure_dir(const struct agent *ag, struct hv_status *st)
{
	if (!ag->ota.dir)
		return hv_status_set(st, HV_FAILED_PRECONDITION, "hv-agent keeps no OTA directory");
	if (mkdir(ag->ota.dir, 0700) != 0 && errno != EEXIST)
		return hv_status_set(st, HV_INTERNAL, "cannot create %s: %s", ag->ota.dir,
				     strerror(errno));
	return 0;
}

/* OTA-209: the key whose part an upload or fetch is writing (hex, "" when
 * none). The sweep of abandoned parts holds the lock while it looks at and
 * removes the files of one key, and an upload names its key here before it
 * opens its part, so a part is never removed while it is written. One agent
 * per process. */
static pthread_mutex_t writing_lock = PTHREAD_MUTEX_INITIALIZER;
static char writing_key[65];

static void writing_set(const char *key)
{
	pthread_mutex_lock(&writing_lock);
	snprintf(writing_key, sizeof writing_key, "%s", key);
	pthread_mutex_unlock(&writing_lock);
}

/* An audit row of hv-agent's own (caller "hv-agent", role "system") or
 * hv-core's; a failure to write it is counted and logged. */
static void system_audit(struct agent *ag, const char *caller, const char *rpc, const char *args,
			 const char *outcome)
{
	struct store_audit_entry e = { .caller = caller, .role = "system" };
	struct store_err err;

	if (!ag->store)
		return;
	e.rpc = rpc;
	e.args = args;
	e.outcome = outcome;
	pthread_mutex_lock(&ag->audit_lock);
	enum store_status ss = store_audit_append(ag->store, &e, &err);
	pthread_mutex_unlock(&ag->audit_lock);
	if (ss == STORE_OK)
		return;
	__atomic_add_fetch(&ag->audit_failures, 1, __ATOMIC_RELAXED);
	log_error("audit: cannot record %s (%s): %s", rpc, args, err.msg);
}

/* ---- abandoned uploads (OTA-209) ---- */

#define SWEEP_KEYS 64u /* keys looked at in one pass; the next pass takes the rest */

static const char *const part_exts[] = { "part", "len", "fetch.part" };

/* Whether name is KEY.part, KEY.len or KEY.fetch.part; the key then. */
static int part_name(const char *name, char key[65])
{
	if (strlen(name) < 66 || name[64] != '.')
		return 0;
	for (int i = 0; i < 64; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	for (size_t i = 0; i < sizeof part_exts / sizeof part_exts[0]; i++)
		if (!strcmp(name + 65, part_exts[i])) {
			memcpy(key, name, 64);
			key[64] = '\0';
			return 1;
		}
	return 0;
}

/* path = DIR/KEY.EXT; nonzero when it does not fit (the key is a 64-digit
 * manifest hash, so only an over-long directory can make it). */
static int part_path(char *path, size_t size, const char *dir, const char *key, const char *ext)
{
	int n = snprintf(path, size, "%s/%.64s.%s", dir, key, ext);
	return n < 0 || (size_t)n >= size;
}

/* Removes the files of key when the newest of them is older than max_age_s
 * and no upload writes them; the bytes removed, or -1 when kept. */
static int64_t expire_key(const struct agent *ag, const char *key, time_t now, uint64_t *age_s)
{
	char path[PATH_MAX];
	struct stat sb;
	time_t newest = 0;
	int64_t bytes = 0;

	pthread_mutex_lock(&writing_lock);
	int keep = !strcmp(key, writing_key);
	for (size_t i = 0; !keep && i < sizeof part_exts / sizeof part_exts[0]; i++) {
		if (part_path(path, sizeof path, ag->ota.dir, key, part_exts[i]) ||
		    lstat(path, &sb) != 0)
			continue;
		if (sb.st_mtime > newest)
			newest = sb.st_mtime;
		if (strcmp(part_exts[i], "len"))
			bytes += (int64_t)sb.st_size;
	}
	keep = keep || now < newest || (uint64_t)(now - newest) <= ag->ota.part_max_age_s;
	for (size_t i = 0; !keep && i < sizeof part_exts / sizeof part_exts[0]; i++) {
		if (part_path(path, sizeof path, ag->ota.dir, key, part_exts[i]))
			continue;
		if (unlink(path) != 0 && errno != ENOENT)
			log_warn("ota: cannot remove the abandoned %s: %s", path, strerror(errno));
	}
	pthread_mutex_unlock(&writing_lock);
	*age_s = now > newest ? (uint64_t)(now - newest) : 0;
	return keep ? -1 : bytes;
}

/* The sweep; keep: a key not to touch (the upload that asks), or NULL. */
static unsigned sweep_parts(struct agent *ag, const char *why, const char *keep)
{
	char keys[SWEEP_KEYS][65];
	size_t n = 0;

	if (!ag->ota.dir || !ag->ota.part_max_age_s)
		return 0;
	DIR *d = opendir(ag->ota.dir);
	if (!d)
		return 0; /* no directory: nothing uploaded yet */
	for (struct dirent *de; n < SWEEP_KEYS && (de = readdir(d));) {
		char k[65];
		int seen = !part_name(de->d_name, k) || (keep && !strcmp(k, keep));
		for (size_t i = 0; !seen && i < n; i++)
			seen = !strcmp(keys[i], k);
		if (!seen)
			memcpy(keys[n++], k, sizeof k);
	}
	closedir(d);
	unsigned removed = 0;
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		uint64_t age;
		int64_t bytes = expire_key(ag, keys[i], now, &age);
		if (bytes < 0)
			continue;
		char args[256];
		snprintf(args, sizeof args,
			 "manifest_sha256=%.64s bytes=%" PRId64 " age_s=%" PRIu64
			 " max_age_s=%" PRIu64 " when=%.32s",
			 keys[i], bytes, age, ag->ota.part_max_age_s, why);
		system_audit(ag, "hv-agent", "OtaUpload.expire", args, "OK: removed");
		log_info("ota: removed the upload %.16s abandoned %" PRIu64 " s ago (%" PRId64
			 " bytes; --ota-part-max-age %" PRIu64 ")",
			 keys[i], age, bytes, ag->ota.part_max_age_s);
		removed++;
	}
	if (removed)
		fsync_dir(ag->ota.dir);
	return removed;
}

unsigned agent_ota_sweep_parts(struct agent *ag, const char *why)
{
	return sweep_parts(ag, why, NULL);
}

/* The RPC code of a refused bundle. */
static enum hv_code code_of(enum ota_code c)
{
	switch (c) {
	case OTA_E_IO:
		return HV_INTERNAL;
	case OTA_E_TOO_LARGE:
		return HV_RESOURCE_EXHAUSTED;
	case OTA_E_TRUST:
		return HV_FAILED_PRECONDITION;
	default:
		return HV_INVALID_ARGUMENT;
	}
}

/* Verifies the bundle in fd (from offset 0) as configured. *refused is set
 * when the bundle itself was refused (not hv-agent's configuration or disk). */
static int verify_fd(struct agent *ag, int fd, struct ota_manifest *m, struct ota_signer *signer,
		     const char *what, int *refused, struct hv_status *st)
{
	struct ota_err e = { 0 };
	struct ota_trust *t = NULL;
	int64_t floor = 0;

	if (ag->ota.trust_conf)
		t = ota_trust_load(ag->ota.trust_conf, &e);
	else if (ag->ota.ca)
		t = ota_trust_from_ca(ag->ota.ca, &e);
	else
		return hv_status_set(st, HV_FAILED_PRECONDITION,
				     "%s: hv-agent has no update trust configuration "
				     "(--ota-trust CONF or --ota-ca CERT)",
				     what);
	if (!t)
		return hv_status_set(st, HV_FAILED_PRECONDITION,
				     "%s: the update trust configuration is unusable (%s): %s",
				     what, ota_code_name(e.code), e.msg);
	if (ota_floor_load(ag->ota.floor_path, &floor, &e) != 0) {
		ota_trust_free(t);
		return hv_status_set(st, HV_INTERNAL, "%s: the time floor: %s", what, e.msg);
	}
	struct ota_verify_opts o = {
		.trust = t, .system = ag->ota.system, .floor = floor, .max_bytes = ag->ota.max_bytes
	};
	int rc = -1;
	if (lseek(fd, 0, SEEK_SET) != 0)
		hv_status_set(st, HV_INTERNAL, "%s: seek: %s", what, strerror(errno));
	else if (ota_bundle_verify_fd(fd, &o, m, signer, &e) != 0) {
		*refused = e.code != OTA_E_IO;
		hv_status_set(st, code_of(e.code), "%s: bundle refused (%s): %s", what,
			      ota_code_name(e.code), e.msg);
	} else if (ota_floor_raise(ag->ota.floor_path, m->created, &e) != 0)
		hv_status_set(st, HV_INTERNAL, "%s: the time floor: %s", what, e.msg);
	else
		rc = 0;
	ota_trust_free(t);
	return rc;
}

/* ---- the OtaBundle message ---- */

struct bundle_msg {
	Hvmgr__V1__OtaBundle b;
	Hvmgr__V1__OtaImage img[OTA_MAX_IMAGES];
	Hvmgr__V1__OtaImage *imgp[OTA_MAX_IMAGES];
	struct ota_manifest m;
	struct ota_signer signer;
	uint8_t key[32];
	char id[33];
};

static void bundle_msg_fill(struct bundle_msg *bm, uint64_t size)
{
	hvmgr__v1__ota_bundle__init(&bm->b);
	hex(bm->m.bundle_id, 16, bm->id);
	bm->b.manifest_sha256.data = bm->key;
	bm->b.manifest_sha256.len = 32;
	bm->b.bundle_id = bm->id;
	bm->b.system = bm->m.system;
	bm->b.group = bm->m.group;
	bm->b.created = bm->m.created;
	bm->b.expires = bm->m.expires;
	bm->b.signer = bm->signer.subject;
	bm->b.size = size;
	for (unsigned i = 0; i < bm->m.nimages; i++) {
		hvmgr__v1__ota_image__init(&bm->img[i]);
		bm->img[i].vm = bm->m.images[i].vm;
		bm->img[i].version = bm->m.images[i].version;
		bm->img[i].size = bm->m.images[i].size;
		bm->img[i].sha256.data = bm->m.images[i].sha256;
		bm->img[i].sha256.len = 32;
		bm->imgp[i] = &bm->img[i];
	}
	bm->b.n_images = bm->m.nimages;
	bm->b.images = bm->imgp;
}

/* ---- OtaUploadOffset ---- */

static int key_of(const ProtobufCBinaryData *d, const char *what, struct hv_status *st)
{
	if (d->len != 32)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "%s: manifest_sha256 is %zu bytes, a SHA-256 is 32", what,
				     d->len);
	return 0;
}

void svc_ota_upload_offset(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
			   struct rpc_result *res)
{
	const Hvmgr__V1__OtaUploadOffsetRequest *req = (const Hvmgr__V1__OtaUploadOffsetRequest *)m;
	Hvmgr__V1__OtaUploadOffsetResponse resp = HVMGR__V1__OTA_UPLOAD_OFFSET_RESPONSE__INIT;
	struct agent *ag = ctx->app;
	char path[PATH_MAX];
	struct stat sb;

	if (key_of(&req->manifest_sha256, "ota upload offset", &res->st) != 0)
		return;
	if (bundle_path(ag, req->manifest_sha256.data, "hvota", path, sizeof path) == 0 &&
	    stat(path, &sb) == 0) {
		resp.offset = (uint64_t)sb.st_size;
		resp.complete = true;
	} else if (bundle_path(ag, req->manifest_sha256.data, "part", path, sizeof path) == 0 &&
		   stat(path, &sb) == 0 &&
		   bundle_path(ag, req->manifest_sha256.data, "len", path, sizeof path) == 0) {
		uint64_t d = durable_len(path);
		resp.offset = d < (uint64_t)sb.st_size ? d : (uint64_t)sb.st_size;
	}
	rpc_result_message(res, &resp.base);
}

/* ---- OtaUpload ---- */

struct upload {
	struct agent *ag;
	const Hvmgr__V1__OtaUploadHeader *hdr;
	char key[65];
	char part[PATH_MAX], done[PATH_MAX], len[PATH_MAX];
	int fd, len_fd;
	uint64_t stored, received;
	uint64_t durable; /* what KEY.len says is on the disk */
	uint8_t head[HEAD_MAX];
	size_t head_have;
	int head_ok;
	int discard; /* the stored bytes are no bundle of this key: delete them */
};

/* Syncs the part, then records its length in KEY.len (synced too). */
static int record_len(struct upload *u, struct hv_status *st)
{
	char buf[LEN_DIGITS + 1];

	snprintf(buf, sizeof buf, "%0*" PRIu64, (int)LEN_DIGITS, u->stored);
	if (fdatasync(u->fd) != 0 || pwrite(u->len_fd, buf, LEN_DIGITS, 0) != (ssize_t)LEN_DIGITS ||
	    fdatasync(u->len_fd) != 0)
		return hv_status_set(st, HV_INTERNAL, "ota upload: syncing %s: %s", u->part,
				     strerror(errno));
	u->durable = u->stored;
	return 0;
}

/* record_len when bytes arrived since the last one. */
static int make_durable(struct upload *u, struct hv_status *st)
{
	if (u->stored == u->durable)
		return 0;
	if (record_len(u, st) != 0)
		return -1;
	hv_test_cut("ota.after-part-sync", NULL); /* OTA-212: bytes arrived, synced, recorded */
	return 0;
}

/* The head, once stored: the key and the declared size must be the
 * manifest's, the size within the cap (the manifest is not yet known to be
 * signed: the cap bounds what an unsigned one can ask for). */
static int check_head(struct upload *u, struct hv_status *st)
{
	struct ota_head h;
	struct ota_err e = { 0 };
	uint64_t need;
	char got[65];

	if (u->head_ok)
		return 0;
	int r = ota_bundle_head(u->head, u->head_have, &h, &need, &e);
	u->discard = r < 0;
	if (r < 0)
		return hv_status_set(st, code_of(e.code), "ota upload %.16s: bundle refused (%s): %s",
				     u->key, ota_code_name(e.code), e.msg);
	if (r > 0) {
		if (u->head_have == u->hdr->total_size)
			return hv_status_set(st, HV_INVALID_ARGUMENT,
					     "ota upload %.16s: bundle refused (truncated): %" PRIu64
					     " bytes hold no whole bundle head (%" PRIu64 " needed)",
					     u->key, u->hdr->total_size, need);
		return 0;
	}
	if (memcmp(h.manifest_sha256, u->hdr->manifest_sha256.data, 32) != 0) {
		u->discard = 1;
		hex(h.manifest_sha256, 32, got);
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "ota upload %.16s: the bundle's manifest has SHA-256 %s, not the "
				     "key the upload was started with",
				     u->key, got);
	}
	if (h.total_len != u->hdr->total_size)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "ota upload %.16s: total_size %" PRIu64 " is not the %" PRIu64
				     " bytes the manifest declares",
				     u->key, u->hdr->total_size, h.total_len);
	u->head_ok = 1;
	return 0;
}

static void head_take(struct upload *u, const uint8_t *p, size_t n, uint64_t at)
{
	if (at >= HEAD_MAX)
		return;
	size_t k = n < HEAD_MAX - at ? n : (size_t)(HEAD_MAX - at);
	memcpy(u->head + at, p, k);
	if (at + k > u->head_have)
		u->head_have = (size_t)(at + k);
}

/* The header, and the part file opened at the offset the client must send from. */
static int open_part(struct upload *u, struct hv_status *st)
{
	const Hvmgr__V1__OtaUploadHeader *h = u->hdr;
	struct agent *ag = u->ag;
	struct stat sb;

	if (key_of(&h->manifest_sha256, "ota upload", st) != 0)
		return -1;
	hex(h->manifest_sha256.data, 32, u->key);
	if (h->total_size == 0)
		return hv_status_set(st, HV_INVALID_ARGUMENT, "ota upload %.16s: total_size is 0",
				     u->key);
	if (h->total_size > ag->ota.max_bytes)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED,
				     "ota upload %.16s: bundle refused (too-large): %" PRIu64
				     " bytes exceed hv-agent's cap of %" PRIu64
				     " (--ota-max-bytes); nothing was stored",
				     u->key, h->total_size, ag->ota.max_bytes);
	if (ensure_dir(ag, st) != 0 ||
	    bundle_path(ag, h->manifest_sha256.data, "part", u->part, sizeof u->part) != 0 ||
	    bundle_path(ag, h->manifest_sha256.data, "hvota", u->done, sizeof u->done) != 0 ||
	    bundle_path(ag, h->manifest_sha256.data, "len", u->len, sizeof u->len) != 0)
		return -1;
	if (stat(u->done, &sb) == 0)
		return hv_status_set(st, HV_ALREADY_EXISTS,
				     "ota upload %.16s: the bundle is already stored and verified; "
				     "install it",
				     u->key);
	u->durable = durable_len(u->len);
	u->fd = open(u->part, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	u->len_fd = open(u->len, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (u->fd < 0 || u->len_fd < 0 || fstat(u->fd, &sb) != 0)
		return hv_status_set(st, HV_INTERNAL, "ota upload: %s: %s", u->part, strerror(errno));
	/* what is not known to be on the disk is sent again; more than this
	 * bundle declares is no part of it: start again */
	u->stored = u->durable < (uint64_t)sb.st_size ? u->durable : (uint64_t)sb.st_size;
	if (u->stored > h->total_size)
		u->stored = 0;
	if ((uint64_t)sb.st_size != u->stored && ftruncate(u->fd, (off_t)u->stored) != 0)
		return hv_status_set(st, HV_INTERNAL, "ota upload: %s: %s", u->part, strerror(errno));
	if (record_len(u, st) != 0)
		return -1;
	if (h->offset != u->stored)
		return hv_status_set(st, HV_FAILED_PRECONDITION,
				     "ota upload %.16s: hv-agent holds %" PRIu64
				     " bytes; the upload resumes at byte %" PRIu64 ", not %" PRIu64
				     " (OtaUploadOffset)",
				     u->key, u->stored, u->stored, h->offset);
	size_t want = u->stored < HEAD_MAX ? (size_t)u->stored : HEAD_MAX;
	ssize_t got = want ? pread(u->fd, u->head, want, 0) : 0;
	if (got < 0 || (size_t)got != want)
		return hv_status_set(st, HV_INTERNAL, "ota upload: reading %s: %s", u->part,
				     got < 0 ? strerror(errno) : "short read");
	u->head_have = want;
	return check_head(u, st);
}

/* The bytes, each message durable before the next is read. */
static int receive(struct upload *u, struct rpc_stream *s, struct hv_status *st)
{
	const struct agent_ota *o = &u->ag->ota;
	uint64_t win_start = hv_mono_ns(), win_bytes = 0;

	while (u->stored < u->hdr->total_size) {
		ProtobufCMessage *m;
		int got = rpc_stream_recv_wait(s, &hvmgr__v1__ota_upload_request__descriptor, &m,
					       WAIT_MS, st);
		if (got < 0)
			return -1;
		uint64_t now = hv_mono_ns();
		if (got == 1) {
			const Hvmgr__V1__OtaUploadRequest *r = (const Hvmgr__V1__OtaUploadRequest *)m;
			int rc = 0;
			if (r->part_case != HVMGR__V1__OTA_UPLOAD_REQUEST__PART_DATA)
				rc = hv_status_set(st, HV_INVALID_ARGUMENT,
						   "ota upload %.16s: only the first message may be "
						   "a header; the one at byte %" PRIu64
						   " is not data",
						   u->key, u->stored);
			else if (r->data.len > u->hdr->total_size - u->stored)
				rc = hv_status_set(st, HV_INVALID_ARGUMENT,
						   "ota upload %.16s: bundle refused (too-large): "
						   "more bytes than the declared total_size %" PRIu64,
						   u->key, u->hdr->total_size);
			else if (r->data.len && pwrite(u->fd, r->data.data, r->data.len,
						       (off_t)u->stored) != (ssize_t)r->data.len)
				rc = hv_status_set(st, HV_INTERNAL, "ota upload: writing %s: %s",
						   u->part, strerror(errno));
			if (rc == 0) {
				head_take(u, r->data.data, r->data.len, u->stored);
				u->stored += r->data.len;
				u->received += r->data.len;
				win_bytes += r->data.len;
			}
			protobuf_c_message_free_unpacked(m, NULL);
			if (rc != 0 || check_head(u, st) != 0)
				return -1;
			if (u->stored - u->durable >= SYNC_BYTES && make_durable(u, st) != 0)
				return -1;
		} else if (got == 0) {
			return hv_status_set(st, HV_ABORTED,
					     "ota upload %.16s: the stream ended at byte %" PRIu64
					     " of %" PRIu64 "; resume from there",
					     u->key, u->stored, u->hdr->total_size);
		}
		/* the slow-retrieval defence: a minimum rate over each window */
		uint64_t win = (uint64_t)o->rate_window_ms * 1000000ull;
		if (o->min_rate && u->stored < u->hdr->total_size && now - win_start >= win) {
			uint64_t want = o->min_rate * o->rate_window_ms / 1000u;
			if (win_bytes < want)
				return hv_status_set(st, HV_DEADLINE_EXCEEDED,
						     "ota upload %.16s: %" PRIu64
						     " bytes arrived in %u ms, below the minimum rate "
						     "of %" PRIu64 " bytes/s (--ota-min-rate); %" PRIu64
						     " bytes are stored, resume from there",
						     u->key, win_bytes, o->rate_window_ms,
						     o->min_rate, u->stored);
			win_start = now;
			win_bytes = 0;
		}
	}
	return 0;
}

void svc_ota_upload(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_stream *s,
		    struct hv_status *st)
{
	const Hvmgr__V1__OtaUploadRequest *req = (const Hvmgr__V1__OtaUploadRequest *)m;
	struct agent *ag = ctx->app;
	struct upload *u = calloc(1, sizeof *u);
	struct bundle_msg *bm = calloc(1, sizeof *bm);
	char args[200] = "(no header)";
	int owner = 0;

	if (!u || !bm) {
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "ota upload: out of memory");
		goto audit;
	}
	u->ag = ag;
	u->fd = -1;
	u->len_fd = -1;
	if (req->part_case != HVMGR__V1__OTA_UPLOAD_REQUEST__PART_HEADER || !req->header) {
		hv_status_set(st, HV_INVALID_ARGUMENT,
			      "ota upload: the first message must be the header (manifest_sha256, "
			      "total_size, offset)");
		goto audit;
	}
	u->hdr = req->header;
	char k[65] = "";
	if (u->hdr->manifest_sha256.len == 32)
		hex(u->hdr->manifest_sha256.data, 32, k);
	sweep_parts(ag, "upload", k); /* not this upload's own part: it resumes */
	if (__atomic_exchange_n(&ag->ota.upload_busy, 1, __ATOMIC_ACQ_REL) != 0) {
		hv_status_set(st, HV_ABORTED, "ota upload: another upload is in progress; try again");
		goto audit;
	}
	owner = 1;
	writing_set(k);
	int opened = open_part(u, st);
	snprintf(args, sizeof args, "manifest_sha256=%s total_size=%" PRIu64 " offset=%" PRIu64,
		 u->key[0] ? u->key : "(malformed)", u->hdr->total_size, u->hdr->offset);
	if (opened != 0 || receive(u, s, st) != 0)
		goto audit;
	/* complete: verified before it counts as stored */
	if (fsync(u->fd) != 0) {
		hv_status_set(st, HV_INTERNAL, "ota upload: %s: %s", u->part, strerror(errno));
		goto audit;
	}
	memcpy(bm->key, u->hdr->manifest_sha256.data, 32);
	char what[64];
	snprintf(what, sizeof what, "ota upload %.16s", u->key);
	int refused = 0;
	if (verify_fd(ag, u->fd, &bm->m, &bm->signer, what, &refused, st) != 0) {
		u->discard = refused; /* a refused bundle is not kept */
		goto audit;
	}
	if (rename(u->part, u->done) != 0 || fsync_dir(ag->ota.dir) != 0) {
		hv_status_set(st, HV_INTERNAL, "ota upload: %s: %s", u->done, strerror(errno));
		goto audit;
	}
	hv_test_cut("ota.after-upload", NULL); /* OTA-212 */
	unlink(u->len);
	log_info("ota upload %.16s: %" PRIu64 " bytes stored and verified (bundle %s, %u images)",
		 u->key, u->stored, u->key, bm->m.nimages);
	Hvmgr__V1__OtaUploadResponse resp = HVMGR__V1__OTA_UPLOAD_RESPONSE__INIT;
	bundle_msg_fill(bm, u->stored);
	resp.bundle = &bm->b;
	resp.received = u->received;
	if (rpc_stream_send(s, &resp.base, st) == 0)
		hv_status_ok(st);
audit:
	if (u && u->fd >= 0 && st->code != HV_OK && !u->discard) {
		/* what arrived is kept for a resume */
		struct hv_status sst;
		if (make_durable(u, &sst) != 0)
			log_warn("%s", sst.msg);
	}
	if (u && u->fd >= 0)
		close(u->fd);
	if (u && u->len_fd >= 0)
		close(u->len_fd);
	if (u && u->discard) {
		unlink(u->part);
		unlink(u->len);
		fsync_dir(ag->ota.dir);
	}
	if (owner) {
		writing_set("");
		__atomic_store_n(&ag->ota.upload_busy, 0, __ATOMIC_RELEASE);
	}
	if (u && u->received && st->code != HV_OK) {
		size_t n = strlen(args);
		snprintf(args + n, sizeof args - n, " stored=%" PRIu64, u->stored);
	}
	agent_audit(ag, ctx->peer, "OtaUpload", args, st);
	free(u);
	free(bm);
}

/* ---- OtaFetch ---- */

/* A bundle named by an HTTPS URL (docs/fleet.md "OTA over the link"):
 * fleet_fetch() downloads it into KEY.fetch (resumed from KEY.fetch.part
 * after a dropped link or an earlier call), checks the file's SHA-256; its
 * head must carry the manifest digest the caller named; then it is verified
 * as an upload and becomes KEY.hvota. A refused bundle is deleted. */
void svc_ota_fetch(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res)
{
	const Hvmgr__V1__OtaFetchRequest *req = (const Hvmgr__V1__OtaFetchRequest *)m;
	struct agent *ag = ctx->app;
	struct hv_status *st = &res->st;
	struct bundle_msg *bm = calloc(1, sizeof *bm);
	struct ota_head *h = calloc(1, sizeof *h);
	uint8_t *head = malloc(HEAD_MAX);
	char key[65] = "(malformed)", fetched[PATH_MAX], done[PATH_MAX], args[400];
	int fd = -1, owner = 0, discard = 0;

	snprintf(args, sizeof args, "url=%.200s", req->url ? req->url : "");
	if (!bm || !h || !head) {
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "ota fetch: out of memory");
		goto out;
	}
	if (key_of(&req->manifest_sha256, "ota fetch", st) != 0)
		goto out;
	if (req->sha256.len != 32) {
		hv_status_set(st, HV_INVALID_ARGUMENT,
			      "ota fetch: sha256 must be the 32-byte SHA-256 of the bundle file");
		goto out;
	}
	hex(req->manifest_sha256.data, 32, key);
	snprintf(args, sizeof args, "url=%.200s manifest_sha256=%s", req->url ? req->url : "", key);
	if (ensure_dir(ag, st) != 0 ||
	    bundle_path(ag, req->manifest_sha256.data, "fetch", fetched, sizeof fetched) != 0 ||
	    bundle_path(ag, req->manifest_sha256.data, "hvota", done, sizeof done) != 0) {
		if (st->code == HV_OK)
			hv_status_set(st, HV_INTERNAL, "ota fetch: state directory path too long");
		goto out;
	}
	/* a campaign's request repeated: the stored bundle is answered again */
	int stored = access(done, F_OK) == 0;
	if (__atomic_exchange_n(&ag->ota.upload_busy, 1, __ATOMIC_ACQ_REL) != 0) {
		hv_status_set(st, HV_ABORTED, "ota fetch: an upload is in progress; try again");
		goto out;
	}
	owner = 1;
	writing_set(key);
	sweep_parts(ag, "fetch", key);
	struct fleet_fetch_opts fo = { .url = req->url,
				       .dest = fetched,
				       .ca_file = ag->ota.fetch_ca,
				       .sha256 = req->sha256.data,
				       .max_bytes = ag->ota.max_bytes,
				       .stop = &ag->ota.stopping };
	struct fleet_fetch_result fr = { 0 };
	if (!stored && fleet_fetch(&fo, &fr, st) != 0)
		goto out;
	fd = open(stored ? done : fetched, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	size_t size = fd >= 0 && fstat(fd, &sb) == 0 ? (size_t)sb.st_size : 0;
	snprintf(args + strlen(args), sizeof args - strlen(args), " size=%zu%s", size,
		 stored ? " (already stored)" : "");
	ssize_t got = fd < 0 ? -1 : pread(fd, head, HEAD_MAX, 0);
	struct ota_err e = { 0 };
	uint64_t need = 0;
	if (got < 0) {
		hv_status_set(st, HV_INTERNAL, "ota fetch: %s: %s", fetched, strerror(errno));
		goto out;
	}
	int hr = ota_bundle_head(head, (size_t)got, h, &need, &e);
	if (hr != 0 || memcmp(h->manifest_sha256, req->manifest_sha256.data, 32) != 0) {
		discard = !stored;
		hv_status_set(st, HV_INVALID_ARGUMENT,
			      "ota fetch: %s is not the bundle whose manifest has SHA-256 %.16s...: %s",
			      req->url, key,
			      hr != 0 ? (e.msg[0] ? e.msg : "no whole bundle head")
				      : "its manifest has another digest");
		goto out;
	}
	memcpy(bm->key, req->manifest_sha256.data, 32);
	char what[64];
	snprintf(what, sizeof what, "ota fetch %.16s", key);
	int refused = 0;
	if (verify_fd(ag, fd, &bm->m, &bm->signer, what, &refused, st) != 0) {
		discard = refused && !stored;
		goto out;
	}
	if (!stored && (rename(fetched, done) != 0 || fsync_dir(ag->ota.dir) != 0)) {
		hv_status_set(st, HV_INTERNAL, "ota fetch: %s: %s", done, strerror(errno));
		goto out;
	}
	log_info("ota fetch %.16s: %zu bytes from %s (%u attempts, resumed from %" PRIu64
		 "), stored and verified",
		 key, size, req->url, fr.attempts, fr.resumed_from);
	Hvmgr__V1__OtaUploadResponse resp = HVMGR__V1__OTA_UPLOAD_RESPONSE__INIT;
	bundle_msg_fill(bm, size);
	resp.bundle = &bm->b;
	resp.received = stored ? 0 : size - fr.resumed_from;
	rpc_result_message(res, &resp.base);
out:
	if (fd >= 0)
		close(fd);
	if (discard) {
		unlink(fetched);
		fsync_dir(ag->ota.dir);
	}
	if (owner) {
		writing_set("");
		__atomic_store_n(&ag->ota.upload_busy, 0, __ATOMIC_RELEASE);
	}
	agent_audit(ag, ctx->peer, "OtaFetch", args, st);
	free(head);
	free(h);
	free(bm);
}

/* ---- the switch ---- */

/* OTA_SWITCH of one VM; what names it. CORE_OK, CORE_REFUSED (st: hv-core's
 * refusal, E_POLICY among them) or CORE_NO_ANSWER. */
static enum core_result switch_one(struct agent *ag, const struct hvm_vm_slot *slot,
				   uint64_t window_ms, uint64_t timeout_ms, const char *what,
				   struct hv_status *st)
{
	struct hvlink_cmd c = { .cmd = HVM_CMD_OTA_SWITCH,
				.vm_id = slot->id,
				.arg = { window_ms, timeout_ms },
				.timeout_ms = HVLINK_OTA_TIMEOUT_MS };
	struct hvlink_reply rep;
	return core_submit(ag->link, &c, &rep, what, st);
}

int agent_ota_switch_locked(struct agent *ag, const struct hvm_vm_slot *slot, uint64_t arg,
			    struct hv_status *st)
{
	char what[96];
	snprintf(what, sizeof what, "ota switch '%s'", slot->name);
	return switch_one(ag, slot, arg & 0xFFFFFFFFu, arg >> 32, what, st) == CORE_OK ? 0 : -1;
}

/* Whether hv-core holds VM `vm` in the update group of `first` (MGMT-655:
 * it installed both from one signed manifest), and if so whether `vm` is in
 * its trial already (*in_trial). */
static int same_group(struct agent *ag, const struct hvm_vm_slot *first,
		      const struct hvm_vm_slot *vm, int *in_trial)
{
	struct hvm_ota_status os;
	struct hvlink_reply rep;
	struct hv_status st;
	if (first->id >= 32 || hvlink_ota_status(ag->link, vm->id, 0, &os, &rep, &st) != 0 ||
	    rep.status != HVM_OK || !(os.group_vms & (1u << first->id)))
		return 0;
	*in_trial = os.in_trial != 0;
	return 1;
}

/* The switch of every VM of the bundle (their update group). An hv-core
 * that verified the manifest itself switches the whole group when its first
 * VM is switched (MGMT-650..656): the others are then "switched with its
 * group" (or "pending with its group" when the first was queued), never
 * switched twice. Otherwise each VM is switched on its own (MGMT-621).
 * results[i] is "switched" or "pending" (pending[i] set); on the first
 * refusal that is not queued the rest are not switched and -1 comes back
 * with st. */
static int ota_switch_vms(struct agent *ag, const struct rpc_peer *peer, const struct ota_manifest *m,
			  const struct hvm_vm_slot *slots, const uint32_t *kind,
			  const Hvmgr__V1__OtaInstallRequest *req, const char **results,
			  struct store_pending *pending, int *queued, struct hv_status *st)
{
	uint64_t arg = (uint64_t)req->confirm_window_ms | (uint64_t)req->trial_timeout_ms << 32;
	unsigned first = 0, partner[OTA_MAX_IMAGES];

	while (first + 1 < m->nimages && kind[first] != HVLINK_OTA_IMAGE)
		first++;
	for (unsigned i = 0; i < m->nimages; i++) {
		char what[96], args[160];
		struct hv_status sst;
		int trial = 0;
		/* MGMT-663: an initrd is switched with its VM's image */
		partner[i] = i;
		for (unsigned j = 0; kind[i] == HVLINK_OTA_INITRD && j < m->nimages; j++)
			if (kind[j] == HVLINK_OTA_IMAGE && slots[j].id == slots[i].id)
				partner[i] = j;
		if (partner[i] != i)
			continue;
		if (i != first && same_group(ag, &slots[first], &slots[i], &trial)) {
			if (queued[first]) {
				results[i] = "pending with its group";
				continue;
			}
			if (trial) {
				results[i] = "switched with its group";
				continue;
			}
		}
		snprintf(what, sizeof what, "ota switch '%s'", slots[i].name);
		snprintf(args, sizeof args, "vm=name:%s version=%s window_ms=%u timeout_ms=%u",
			 slots[i].name, m->images[i].version, req->confirm_window_ms,
			 req->trial_timeout_ms);
		hv_test_cut("ota.before-switch", slots[i].name); /* OTA-212 */
		enum core_result r = switch_one(ag, &slots[i], req->confirm_window_ms,
						req->trial_timeout_ms, what, &sst);
		hv_test_cut("ota.after-switch", slots[i].name); /* OTA-212 */
		if (r == CORE_REFUSED && req->when_allowed && strstr(sst.msg, "(E_POLICY)")) {
			agent_audit(ag, peer, "OtaInstall.switch", args, &sst);
			if (agent_pending_queue(ag, peer, &slots[i], "otaswitch", arg, sst.msg,
						&pending[i], st) != 0)
				return -1;
			queued[i] = 1;
			results[i] = "pending";
			pending_kick(ag->pending);
			continue;
		}
		agent_audit(ag, peer, "OtaInstall.switch", args, &sst);
		if (r != CORE_OK) {
			*st = sst;
			return -1;
		}
		results[i] = "switched";
	}
	for (unsigned i = 0; i < m->nimages; i++)
		if (partner[i] != i)
			results[i] = queued[partner[i]] || !strncmp(results[partner[i]], "pending", 7)
					     ? "pending with its image"
					     : "switched with its image";
	return 0;
}

/* ---- OtaInstall ---- */

/* Copies image i of the bundle in fd to the staging area at off. */
static int stage_image(struct agent *ag, int fd, uint64_t from, uint64_t len, uint64_t off,
		       struct hv_status *st)
{
	uint8_t *buf = malloc(COPY_BUF);
	if (!buf)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "ota install: out of memory");
	int rc = 0;
	for (uint64_t done = 0; rc == 0 && done < len;) {
		size_t n = len - done < COPY_BUF ? (size_t)(len - done) : COPY_BUF;
		ssize_t got = pread(fd, buf, n, (off_t)(from + done));
		if (got != (ssize_t)n)
			rc = hv_status_set(st, HV_INTERNAL, "ota install: reading the bundle: %s",
					   got < 0 ? strerror(errno) : "short read");
		else
			rc = hvlink_staging_write(ag->link, off + done, buf, n, st);
		done += n;
	}
	free(buf);
	return rc;
}

/* MGMT-663: the manifest line `VM.initrd` names VM's initrd. The VM's name
 * into vm, and the kind of the line's image. */
static uint32_t image_kind(const char *line, char vm[HVM_NAME_LEN])
{
	size_t n = strlen(line);
	uint32_t kind = HVLINK_OTA_IMAGE;
	if (n > 7 && strcmp(line + n - 7, ".initrd") == 0) {
		n -= 7;
		kind = HVLINK_OTA_INITRD;
	}
	snprintf(vm, HVM_NAME_LEN, "%.*s", (int)(n < HVM_NAME_LEN ? n : HVM_NAME_LEN - 1), line);
	return kind;
}

/* Stages image i and installs it into the VM's inactive slot, or its
 * inactive initrd slot (kind HVLINK_OTA_INITRD). */
static int install_one(struct agent *ag, int fd, const struct ota_head *h, unsigned i,
		       const struct hvm_vm_slot *slot, uint32_t kind, struct hv_status *st)
{
	const struct ota_image *im = &h->manifest.images[i];
	uint64_t base, size;
	struct hvlink_reply rep;
	char what[96];

	snprintf(what, sizeof what, "ota install '%s'%s %s", slot->name,
		 kind == HVLINK_OTA_INITRD ? " initrd" : "", im->version);
	if (hvlink_staging_info(ag->link, &base, &size, st) != 0)
		return -1;
	if (im->size > size)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED,
				     "%s: %" PRIu64 " bytes do not fit the %" PRIu64
				     "-byte image staging area",
				     what, im->size, size);
	uint64_t off = (size - im->size) & ~(STAGE_ALIGN - 1);
	if (stage_image(ag, fd, h->image_off[i], im->size, off, st) != 0)
		return -1;
	uint8_t *blk = malloc(h->manifest_len + h->sigblock_len);
	if (!blk)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "%s: out of memory", what);
	size_t n = (size_t)h->manifest_len + h->sigblock_len;
	int rc = -1;
	if (pread(fd, blk, n, 24) != (ssize_t)n) {
		hv_status_set(st, HV_INTERNAL, "%s: reading the manifest: %s", what, strerror(errno));
	} else if (hvlink_ota_install_signed(ag->link, slot->id, kind, off, im->size, blk,
					     h->manifest_len, blk + h->manifest_len,
					     h->sigblock_len, &rep, st) == 0) {
		/* MGMT-640: an hv-core without an update trust anchor takes the
		 * digest form; hv-agent verified the signature itself */
		if (rep.status == HVM_E_SIGNATURE && strstr(rep.msg, "MGMT-640"))
			rc = hvlink_ota_install_digest(ag->link, slot->id, kind, off, im->size,
						       im->sha256, im->version, &rep, st);
		else
			rc = 0;
		if (rc == 0 && rep.status != HVM_OK)
			rc = status_from_reply(st, what, HVM_CMD_OTA_INSTALL, &rep);
	}
	free(blk);
	return rc;
}

void svc_ota_install(const struct rpc_call_ctx *ctx, const ProtobufCMessage *msg,
		     struct rpc_result *res)
{
	const Hvmgr__V1__OtaInstallRequest *req = (const Hvmgr__V1__OtaInstallRequest *)msg;
	struct agent *ag = ctx->app;
	struct bundle_msg *bm = calloc(1, sizeof *bm);
	struct ota_head *h = calloc(1, sizeof *h);
	uint8_t *head = malloc(HEAD_MAX);
	struct hvm_vm_slot slots[OTA_MAX_IMAGES];
	struct store_pending pend[OTA_MAX_IMAGES];
	Hvmgr__V1__PendingOp pmsg[OTA_MAX_IMAGES];
	Hvmgr__V1__OtaVmResult vr[OTA_MAX_IMAGES], *vrp[OTA_MAX_IMAGES];
	const char *results[OTA_MAX_IMAGES];
	uint32_t kind[OTA_MAX_IMAGES];
	int queued[OTA_MAX_IMAGES] = { 0 };
	char path[PATH_MAX], key[65] = "(malformed)", args[200];
	int fd = -1, op = 0, staging = 0;
	struct stat sb;

	if (req->manifest_sha256.len == 32)
		hex(req->manifest_sha256.data, 32, key);
	snprintf(args, sizeof args, "manifest_sha256=%s when_allowed=%d window_ms=%u timeout_ms=%u",
		 key, req->when_allowed, req->confirm_window_ms, req->trial_timeout_ms);
	if (!bm || !h || !head) {
		rpc_result_error(res, HV_RESOURCE_EXHAUSTED, "ota install: out of memory");
		goto audit;
	}
	if (key_of(&req->manifest_sha256, "ota install", &res->st) != 0)
		goto audit;
	memcpy(bm->key, req->manifest_sha256.data, 32);
	if (bundle_path(ag, bm->key, "hvota", path, sizeof path) != 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) != 0) {
		rpc_result_error(res, HV_NOT_FOUND,
				 "ota install: no uploaded bundle with manifest SHA-256 %s; upload "
				 "it first (OtaUpload)",
				 key);
		goto audit;
	}
	if (agent_op_enter(ag, "OTA_INSTALL", &res->st) != 0)
		goto audit;
	op = 1;
	if (__atomic_exchange_n(&ag->staging_busy, 1, __ATOMIC_ACQ_REL) != 0) {
		rpc_result_error(res, HV_ABORTED,
				 "ota install: an image upload is using the staging area; try again");
		goto audit;
	}
	staging = 1;
	char what[64];
	snprintf(what, sizeof what, "ota install %.16s", key);
	int refused = 0;
	if (verify_fd(ag, fd, &bm->m, &bm->signer, what, &refused, &res->st) != 0)
		goto audit;
	struct ota_err e;
	uint64_t need;
	ssize_t got = pread(fd, head, HEAD_MAX, 0);
	if (got < 0 || ota_bundle_head(head, (size_t)got, h, &need, &e) != 0 ||
	    memcmp(h->manifest_sha256, bm->key, 32) != 0) {
		rpc_result_error(res, HV_INTERNAL,
				 "%s: the stored bundle changed while it was read", what);
		goto audit;
	}
	/* every VM first: nothing is installed for a bundle that names one that
	 * is not here */
	for (unsigned i = 0; i < h->manifest.nimages; i++) {
		char vm[HVM_NAME_LEN];
		kind[i] = image_kind(h->manifest.images[i].vm, vm);
		if (hvlink_find_by_name(ag->link, vm, &slots[i], &res->st) != 0)
			goto audit;
	}
	for (unsigned i = 0; i < h->manifest.nimages; i++) {
		char a[200];
		const char *rd = kind[i] == HVLINK_OTA_INITRD ? " kind=initrd" : "";
		snprintf(a, sizeof a, "vm=name:%s%s version=%s size=%" PRIu64 " bundle=%.16s",
			 slots[i].name, rd, h->manifest.images[i].version,
			 h->manifest.images[i].size, key);
		int rc = install_one(ag, fd, h, i, &slots[i], kind[i], &res->st);
		agent_audit(ag, ctx->peer, "OtaInstall.install", a, &res->st);
		if (rc != 0)
			goto audit;
		hv_test_cut("ota.after-install", slots[i].name); /* OTA-212 */
		log_info("%s: '%s' %s installed into its inactive %s slot", what, slots[i].name,
			 h->manifest.images[i].version, *rd ? "initrd" : "image");
	}
	__atomic_store_n(&ag->staging_busy, 0, __ATOMIC_RELEASE);
	staging = 0;
	if (ota_switch_vms(ag, ctx->peer, &h->manifest, slots, kind, req, results, pend, queued,
			   &res->st) != 0)
		goto audit;

	Hvmgr__V1__OtaInstallResponse resp = HVMGR__V1__OTA_INSTALL_RESPONSE__INIT;
	bundle_msg_fill(bm, (uint64_t)sb.st_size);
	for (unsigned i = 0; i < h->manifest.nimages; i++) {
		hvmgr__v1__ota_vm_result__init(&vr[i]);
		vr[i].vm = h->manifest.images[i].vm;
		vr[i].version = h->manifest.images[i].version;
		vr[i].state = (char *)results[i];
		if (queued[i]) {
			pending_msg_from_store(&pmsg[i], &pend[i]);
			vr[i].pending = &pmsg[i];
		}
		vrp[i] = &vr[i];
	}
	resp.bundle = &bm->b;
	resp.n_vms = h->manifest.nimages;
	resp.vms = vrp;
	rpc_result_message(res, &resp.base);
audit:
	if (staging)
		__atomic_store_n(&ag->staging_busy, 0, __ATOMIC_RELEASE);
	if (op)
		agent_op_leave(ag);
	if (fd >= 0)
		close(fd);
	agent_audit(ag, ctx->peer, "OtaInstall", args, &res->st);
	free(head);
	free(h);
	free(bm);
}

/* ---- hv-core's OTA events in the audit log ---- */

/* OTA-210: hv-core's OTA events reach the audit log exactly once, also
 * those that happened while hv-agent was not running or that it had read but
 * not yet written when it was killed: hv-core keeps them in its event ring
 * until hv-agent acknowledges them (MGMT-140), and the event log holds the
 * acknowledgement at the oldest OTA event not yet written here
 * (eventlog_hold, agent_ota_held_events), so a starting hv-agent reads every
 * one of them again. What was written already is skipped: each row names the
 * event ("seq=N boot=B ns=T": hv-core's event number, its boot number,
 * MGMT-500, and the event's time), the newest such row of the audit log is
 * where a starting hv-agent resumes, and STATE/ota/events-audited (written
 * after the row) is where it resumes when the log no longer has one. */
struct ev_cursor {
	uint64_t boot, seq, ns;
};

uint64_t agent_ota_held_events(void)
{
	uint64_t m = 0;
	for (unsigned t = HVM_EV_OTA_INSTALLED; t <= HVM_EV_NV_FAILED; t++)
		m |= 1ull << t;
	return m;
}

static int cursor_path(const struct agent *ag, char *out, size_t len)
{
	int n = ag->ota.dir ? snprintf(out, len, "%s/events-audited", ag->ota.dir) : -1;
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void cursor_load(const struct agent *ag, struct ev_cursor *c)
{
	char path[PATH_MAX];
	memset(c, 0, sizeof *c);
	FILE *f = cursor_path(ag, path, sizeof path) == 0 ? fopen(path, "re") : NULL;
	if (!f)
		return;
	if (fscanf(f, "%" SCNu64 " %" SCNu64 " %" SCNu64, &c->boot, &c->seq, &c->ns) != 3)
		memset(c, 0, sizeof *c);
	fclose(f);
}

/* The event an hv-core.ota row names; 0 when it names none with its time. */
static int cursor_of_row(const struct store_audit_entry *e, struct ev_cursor *c)
{
	const char *seq = e->args ? strstr(e->args, " seq=") : NULL;
	const char *ns = e->args ? strstr(e->args, " ns=") : NULL;
	const char *boot = e->args ? strstr(e->args, " boot=") : NULL;
	struct ev_cursor r = { 0, 0, 0 };

	if (strcmp(e->caller, "hv-core") || strcmp(e->rpc, "hv-core.ota") || !seq || !ns ||
	    sscanf(seq, " seq=%" SCNu64, &r.seq) != 1 || sscanf(ns, " ns=%" SCNu64, &r.ns) != 1 ||
	    (boot && sscanf(boot, " boot=%" SCNu64, &r.boot) != 1))
		return 0;
	*c = r;
	return 1;
}

/* The newest hv-core.ota row among the newest AUDIT_LOOK rows of the audit
 * log, as the cursor: rows are written in the order of the events and before
 * the cursor file, so it is never older than the file, and after a cut
 * between the row and the file it is the newer one. */
#define AUDIT_LOOK 1024u
static void cursor_from_audit(struct agent *ag, struct ev_cursor *c)
{
	uint64_t end = ag->store ? store_audit_newest_seq(ag->store) + 1 : 1;

	for (unsigned looked = 0; end > 1 && looked < AUDIT_LOOK;) {
		uint64_t from = end > 256 ? end - 256 : 1;
		struct store_audit_entry *rows = NULL;
		size_t n = 0;
		struct store_err err;
		if (store_audit_list(ag->store, from, (size_t)(end - from), &rows, &n, &err) !=
		    STORE_OK) {
			log_warn("ota: cannot read the audit log for audited hv-core events: %s",
				 err.msg);
			return;
		}
		int found = 0;
		for (size_t i = n; i-- > 0 && !found;)
			found = rows[i].seq < end && cursor_of_row(&rows[i], c);
		store_audit_list_free(rows);
		if (found)
			return;
		looked += (unsigned)(end - from);
		end = from;
	}
}

/* Written to a new file, synced, renamed over the old one. */
static void cursor_store(const struct agent *ag, const struct ev_cursor *c)
{
	char path[PATH_MAX], tmp[PATH_MAX + 4], buf[80];
	struct hv_status st;
	if (cursor_path(ag, path, sizeof path) != 0 || ensure_dir(ag, &st) != 0)
		return;
	snprintf(tmp, sizeof tmp, "%s.new", path);
	int n = snprintf(buf, sizeof buf, "%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", c->boot, c->seq,
			 c->ns);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ok = fd >= 0 && write(fd, buf, (size_t)n) == n && fdatasync(fd) == 0;
	if (fd >= 0)
		close(fd);
	if (!ok || rename(tmp, path) != 0 || fsync_dir(ag->ota.dir) != 0)
		log_warn("ota: cannot record the newest audited hv-core event in %s: %s", path,
			 strerror(errno));
}

/* MGMT-500: the number of hv-core's boot now (0: not counted, or no answer). */
static uint64_t core_boot_number(struct agent *ag)
{
	struct hvlink_cmd c = { .cmd = HVM_CMD_AUDIT_SEQ_GET };
	struct hvlink_reply rep;
	struct hv_status st;
	return hvlink_command(ag->link, &c, &rep, &st) == 0 && rep.status == HVM_OK ? rep.ret[3] : 0;
}

/* Whether the event was written by an earlier run (or earlier in this one).
 * Without boot numbers an event of a later hv-core boot can only be told
 * from an older one by its number and time both being higher. */
static int cursor_covers(const struct ev_cursor *c, uint64_t boot, const struct hvm_event *ev)
{
	if (!c->seq || c->boot != boot)
		return 0;
	return ev->seq <= c->seq && (boot || ev->time_ns <= c->ns);
}

static void event_audit(struct agent *ag, const struct eventlog_rec *r)
{
	static const char *const names[] = { "installed", "trial", "confirmed", "rolled-back",
					     "nv-failed" };
	static struct ev_cursor cur;
	static int loaded;
	char args[240], out[64], tag[64];
	const char *name = names[r->ev.type - HVM_EV_OTA_INSTALLED];

	if (!loaded) { /* only the runner of pending.c calls this */
		cursor_load(ag, &cur);
		cursor_from_audit(ag, &cur);
		loaded = 1;
	}
	uint64_t boot = core_boot_number(ag);
	if (cursor_covers(&cur, boot, &r->ev))
		return;
	hv_test_cut("ota.event-read", name); /* OTA-212: read, its row not written */
	if (boot)
		snprintf(tag, sizeof tag, " boot=%" PRIu64 " ns=%" PRIu64, boot, r->ev.time_ns);
	else
		snprintf(tag, sizeof tag, " ns=%" PRIu64, r->ev.time_ns);
	if (r->ev.type == HVM_EV_NV_FAILED)
		snprintf(args, sizeof args, "event=nv-failed seq=%" PRIu64 "%s detail=%s",
			 r->ev.seq, tag, r->ev.detail == 1 ? "read" : "write");
	else
		snprintf(args, sizeof args, "vm=name:%s event=%s seq=%" PRIu64 "%s", r->vm_name,
			 name, r->ev.seq, tag);
	if (r->ev.type == HVM_EV_OTA_ROLLED_BACK)
		snprintf(out, sizeof out, "%s", agent_ota_result_name(r->ev.detail));
	else if (r->ev.type == HVM_EV_NV_FAILED)
		snprintf(out, sizeof out, "failed");
	else
		snprintf(out, sizeof out, "OK: slot %s", r->ev.detail ? "B" : "A");
	system_audit(ag, "hv-core", "hv-core.ota", args, out);
	hv_test_cut("ota.event-audited", name); /* OTA-212: the row, not the file */
	cur = (struct ev_cursor){ .boot = boot, .seq = r->ev.seq, .ns = r->ev.time_ns };
	cursor_store(ag, &cur);
}

void agent_ota_event_audit(struct agent *ag, const struct eventlog_rec *r)
{
	if (r->ev.type < HVM_EV_OTA_INSTALLED || r->ev.type > HVM_EV_NV_FAILED)
		return;
	event_audit(ag, r);
	/* written (or written before): hv-core may drop it from its ring */
	if (ag->events)
		eventlog_release(ag->events, r->ev.seq + 1);
}

/* ---- OtaStatus and GetVm's ota ---- */

const char *agent_ota_slot_state_name(uint32_t s)
{
	static const char *const n[] = { "empty", "good", "bad", "trial", "ready" };
	return s < sizeof n / sizeof n[0] ? n[s] : "unknown";
}

const char *agent_ota_result_name(uint32_t r)
{
	static const char *const n[] = { "none",          "installed",    "confirmed",
					 "fail-timeout",  "fail-version", "fail-fault",
					 "fail-watchdog", "fail-reset",   "fail-group" };
	return r < sizeof n / sizeof n[0] ? n[r] : "unknown";
}

static void slot_msg(Hvmgr__V1__OtaSlot *m, struct hvm_ota_slot *s)
{
	hvmgr__v1__ota_slot__init(m);
	m->state = (char *)agent_ota_slot_state_name(s->state);
	m->version = s->version;
	m->size = s->size;
	m->durable = s->durable != 0;
	if (s->state != HVM_SLOT_EMPTY) {
		m->sha256.data = s->sha256;
		m->sha256.len = 32;
	}
}

int agent_ota_status_msg(struct agent *ag, const struct hvm_vm_slot *slot, uint64_t deadline_ns,
			 struct ota_status_msg *o, struct hv_status *st)
{
	struct hvlink_reply rep;
	char what[96];

	snprintf(what, sizeof what, "ota status '%s'", slot->name);
	if (hvlink_ota_status(ag->link, slot->id, deadline_ns, &o->raw, &rep, st) != 0)
		return -1;
	if (rep.status != HVM_OK)
		return status_from_reply(st, what, HVM_CMD_OTA_STATUS, &rep);
	hvmgr__v1__ota_vm_status__init(&o->m);
	snprintf(o->vm, sizeof o->vm, "%s", slot->name);
	o->m.vm_id = slot->id;
	o->m.vm = o->vm;
	o->m.active = (char *)(o->raw.active ? "B" : "A");
	o->m.in_trial = o->raw.in_trial != 0;
	o->m.last_result = (char *)agent_ota_result_name(o->raw.last_result);
	o->m.floor = o->raw.floor;
	o->m.trial_left_ms = o->raw.trial_left_ms;
	o->m.nv_present = o->raw.nv_present != 0;
	slot_msg(&o->a, &o->raw.slot[0]);
	slot_msg(&o->b, &o->raw.slot[1]);
	o->m.slot_a = &o->a;
	o->m.slot_b = &o->b;
	if (o->raw.initrd[0].state != HVM_SLOT_EMPTY || o->raw.initrd[1].state != HVM_SLOT_EMPTY) {
		slot_msg(&o->ra, &o->raw.initrd[0]); /* MGMT-665 */
		slot_msg(&o->rb, &o->raw.initrd[1]);
		o->m.initrd_a = &o->ra;
		o->m.initrd_b = &o->rb;
	}
	return 0;
}

void svc_ota_status(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res)
{
	const Hvmgr__V1__OtaStatusRequest *req = (const Hvmgr__V1__OtaStatusRequest *)m;
	Hvmgr__V1__OtaStatusResponse resp = HVMGR__V1__OTA_STATUS_RESPONSE__INIT;
	struct agent *ag = ctx->app;
	struct hvm_vm_slot slots[HVM_MAX_VMS];
	uint32_t mask = 0;
	char label[96];
	struct ota_status_msg *msgs = calloc(HVM_MAX_VMS, sizeof *msgs);
	Hvmgr__V1__OtaVmStatus *ptrs[HVM_MAX_VMS];
	size_t n = 0;

	if (!msgs) {
		rpc_result_error(res, HV_RESOURCE_EXHAUSTED, "ota status: out of memory");
		return;
	}
	if (resolve_slots(ag, req->vm, slots, &mask, label, sizeof label, &res->st) != 0)
		goto out;
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		if (!(mask & (1u << i)))
			continue;
		if (agent_ota_status_msg(ag, &slots[i], 0, &msgs[n], &res->st) != 0)
			goto out;
		ptrs[n] = &msgs[n].m;
		n++;
	}
	resp.n_vms = n;
	resp.vms = ptrs;
	rpc_result_message(res, &resp.base);
out:
	free(msgs);
}
