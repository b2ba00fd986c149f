/* OTA bundles: the signed update bundle of docs/ota.md. Writing and verifying
 * are streaming: the manifest and signature block are held in memory (each
 * capped), the images pass through a fixed buffer and are never held whole.
 * Signatures are ECDSA P-256 / SHA-256 over the manifest bytes (mbedTLS); the
 * images' SHA-256 is computed with OpenSSL's libcrypto (the fastest hash on
 * Debian 12, docs/performance.md "OTA bundle verification"). */
#ifndef HV_OTA_H
#define HV_OTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OTA_MAX_IMAGES 16            /* OTA-011 */
#define OTA_NAME_MAX 31              /* VM name, version: fits the 32-byte image_version */
#define OTA_SYSTEM_MAX 63            /* target system id */
#define OTA_GROUP_MAX 63             /* update group name */
#define OTA_MANIFEST_MAX 8192        /* OTA-003 */
#define OTA_SIGBLOCK_MAX 16384       /* OTA-004 */
#define OTA_MAX_CERTS 4              /* signer + intermediates */
#define OTA_MAX_REVOKED 64           /* revoked serials in one trust configuration */
#define OTA_DEFAULT_CAP (1ull << 30) /* bundle size cap when none is given: 1 GiB */

/* The named errors of docs/ota.md OTA-030..; ota_code_name() gives the name. */
enum ota_code {
	OTA_OK = 0,
	OTA_E_IO,           /* io: a file cannot be read or written */
	OTA_E_USAGE,        /* invalid-input: bad argument to the writer or options */
	OTA_E_TRUST,        /* bad-trust: the trust configuration is unusable */
	OTA_E_FORMAT,       /* not-a-bundle: bad magic, format version or framing */
	OTA_E_TRUNCATED,    /* truncated: the bundle ends before its declared end */
	OTA_E_TOO_LARGE,    /* too-large: declared size above the cap, or data past the end */
	OTA_E_UNTRUSTED,    /* untrusted-signer: the chain does not lead to the update CA */
	OTA_E_REVOKED,      /* revoked-signer: the signer is on the revocation list */
	OTA_E_SIGNATURE,    /* bad-signature: the manifest bytes are not what was signed */
	OTA_E_MANIFEST,     /* bad-manifest: signed, but not a valid manifest */
	OTA_E_WRONG_SYSTEM, /* wrong-system: made for another target system */
	OTA_E_EXPIRED,      /* expired: expiry at or before max(clock, time floor) */
	OTA_E_STALE,        /* older-than-floor: signed before the newest signed time seen */
	OTA_E_MIXED,        /* mixed-bundles: an image segment of another bundle */
	OTA_E_DIGEST,       /* payload-digest: an image's bytes differ from its SHA-256 */
	OTA_E_SINK,         /* sink: the caller's consumer refused the data */
};

struct ota_err {
	enum ota_code code;
	char msg[768];
};

/* "payload-digest", ... (docs/ota.md); "ok" for OTA_OK. */
const char *ota_code_name(enum ota_code code);

struct ota_image {
	char vm[OTA_NAME_MAX + 1];
	char version[OTA_NAME_MAX + 1];
	uint64_t size;
	uint8_t sha256[32];
};

struct ota_manifest {
	char system[OTA_SYSTEM_MAX + 1];
	uint8_t bundle_id[16];
	char group[OTA_GROUP_MAX + 1];
	int64_t created; /* signed time, seconds since the epoch (UTC) */
	int64_t expires;
	unsigned nimages;
	struct ota_image images[OTA_MAX_IMAGES];
};

/* ---- versions (OTA-012) ---- */

/* true when V is 1 to 4 dot-separated decimal numbers of at most 9 digits,
 * at most OTA_NAME_MAX characters. */
bool ota_version_valid(const char *v);
/* <0, 0, >0 as A is lower than, equal to or higher than B (numerically, by
 * component; a missing component is 0). Both must be valid. */
int ota_version_cmp(const char *a, const char *b);

/* ---- the update trust configuration (OTA-020..) ---- */

struct ota_trust;

/* Loads a trust configuration file (lines "ca FILE", "revoke-serial HEX";
 * '#' comments; relative FILEs are relative to the configuration's
 * directory). Returns NULL with ERR set (code OTA_E_TRUST or OTA_E_IO). */
struct ota_trust *ota_trust_load(const char *conf_path, struct ota_err *err);
/* A trust configuration of one CA file and no revocations. */
struct ota_trust *ota_trust_from_ca(const char *ca_path, struct ota_err *err);
/* Adds a revoked signer serial (hex, colons allowed). Returns 0 or -1 (ERR). */
int ota_trust_revoke(struct ota_trust *t, const char *serial_hex, struct ota_err *err);
void ota_trust_free(struct ota_trust *t);

/* ---- writing ---- */

struct ota_write_image {
	const char *vm;
	const char *path;
	const char *version;
};

struct ota_write_opts {
	const char *system;
	const char *group;     /* NULL: "update" */
	int64_t created;       /* 0: now */
	int64_t expires;       /* 0: created + 90 days */
	const char *key_path;  /* PEM private key, ECDSA P-256 */
	const char *cert_path; /* PEM: signer certificate first, then intermediates */
	unsigned nimages;
	const struct ota_write_image *images;
};

/* Writes a signed bundle to OUT_PATH (through a temporary file in the same
 * directory, renamed at the end: OUT_PATH is never left half-written).
 * MANIFEST (may be NULL) receives the manifest written. Returns 0 or -1 with
 * ERR set; on failure nothing is left at OUT_PATH. */
int ota_bundle_write(const char *out_path, const struct ota_write_opts *o,
		     struct ota_manifest *manifest, struct ota_err *err);

/* ---- verifying ---- */

struct ota_verify_opts {
	const struct ota_trust *trust;
	const char *system; /* required target system; NULL: not checked */
	int64_t now;        /* the clock; 0: time(NULL) */
	int64_t floor;      /* newest signed time seen before (OTA-041); 0: none */
	uint64_t max_bytes; /* size cap of the whole bundle; 0: OTA_DEFAULT_CAP */
	/* Called with each image's bytes in order, before they are known good:
	 * the consumer must not use them until ota_bundle_verify returns OK.
	 * Returns 0, or -1 to stop (OTA_E_SINK). May be NULL. */
	int (*sink)(void *ctx, unsigned index, const void *buf, size_t len);
	void *sink_ctx;
};

struct ota_signer {
	char subject[256];
	char serial[80]; /* hex, colon-separated as mbedTLS prints it */
};

/* Verifies the bundle read from FD (from its current offset to EOF) in the
 * order of OTA-040. MANIFEST and SIGNER (may be NULL) are filled once the
 * signature is good. Returns 0 or -1 with ERR set. */
int ota_bundle_verify_fd(int fd, const struct ota_verify_opts *o, struct ota_manifest *manifest,
			 struct ota_signer *signer, struct ota_err *err);
int ota_bundle_verify(const char *path, const struct ota_verify_opts *o,
		      struct ota_manifest *manifest, struct ota_signer *signer, struct ota_err *err);

/* ---- the head of a bundle (bundle_head.c) ---- */

struct ota_head {
	uint32_t manifest_len, sigblock_len; /* the manifest at byte 24, the block after it */
	uint64_t head_len;                   /* header + manifest + signature block */
	uint64_t total_len;                  /* the whole bundle, as the manifest declares */
	uint8_t manifest_sha256[32];         /* SHA-256 of the manifest bytes: the bundle's key */
	uint64_t image_off[OTA_MAX_IMAGES];  /* where image i's bytes start */
	struct ota_manifest manifest;        /* parsed, NOT yet known to be signed */
};

/* Reads the head from the first LEN bytes of a bundle. 0: *H filled; 1: more
 * bytes are needed, *NEED says how many in all; -1 with ERR (not-a-bundle,
 * bad-manifest). The signature is not checked: verify the whole bundle
 * before using anything of it. */
int ota_bundle_head(const void *buf, size_t len, struct ota_head *h, uint64_t *need,
		    struct ota_err *err);

/* ---- the time floor (OTA-041): a file holding decimal seconds ---- */

/* *T = the floor stored in PATH, 0 when PATH does not exist. */
int ota_floor_load(const char *path, int64_t *t, struct ota_err *err);
/* Raises the floor in PATH to T (never lowers it); atomic replace + fsync. */
int ota_floor_raise(const char *path, int64_t t, struct ota_err *err);

/* ---- SHA-256 in bulk (hash.c) ---- */

struct ota_sha256;
struct ota_sha256 *ota_sha256_new(void);
void ota_sha256_update(struct ota_sha256 *h, const void *buf, size_t len);
void ota_sha256_final(struct ota_sha256 *h, uint8_t out[32]);
void ota_sha256_free(struct ota_sha256 *h);

/* The `hvctl ota ...` command (local verbs bundle and info). ARGV[0] is "ota".
 * Returns 0 ok, 1 failure, 2 usage. */
int ota_cli_main(int argc, char **argv);

#endif
