/*
 * fleet_envelope.c - signing and checking fleet requests with mbedTLS 2.28
 * (docs/fleet.md "Signed requests"). The signature covers SHA-256 of the
 * packed body exactly as received; nothing is re-encoded before checking.
 */
#include "fleet_envelope.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/asn1.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "log.h"

uint64_t fleet_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int random_bytes(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	while (len > 0) {
		ssize_t n = getrandom(buf, len, 0);
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int sha256(const uint8_t *data, size_t len, unsigned char out[32])
{
	return mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), data, len, out);
}

/* ------------------------------------------------------------------------ */
/* The caller's side                                                         */

struct fleet_signer {
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
};

struct fleet_signer *fleet_signer_load(const char *cert_file, const char *key_file,
				       struct hv_status *st)
{
	struct fleet_signer *s = calloc(1, sizeof *s);

	if (!s) {
		hv_status_set(st, HV_INTERNAL, "out of memory");
		return NULL;
	}
	mbedtls_x509_crt_init(&s->crt);
	mbedtls_pk_init(&s->key);
	if (mbedtls_x509_crt_parse_file(&s->crt, cert_file) != 0) {
		hv_status_set(st, HV_INVALID_ARGUMENT, "%s: not a readable PEM certificate",
			      cert_file);
		goto fail;
	}
	if (mbedtls_pk_parse_keyfile(&s->key, key_file, NULL) != 0) {
		hv_status_set(st, HV_INVALID_ARGUMENT, "%s: not a readable PEM private key",
			      key_file);
		goto fail;
	}
	if (mbedtls_pk_check_pair(&s->crt.pk, &s->key) != 0) {
		hv_status_set(st, HV_INVALID_ARGUMENT, "%s does not belong to %s", key_file,
			      cert_file);
		goto fail;
	}
	return s;
fail:
	fleet_signer_free(s);
	return NULL;
}

void fleet_signer_free(struct fleet_signer *s)
{
	if (!s)
		return;
	mbedtls_x509_crt_free(&s->crt);
	mbedtls_pk_free(&s->key);
	free(s);
}

int fleet_seal(struct fleet_signer *s, const uint8_t *body, size_t len, uint8_t **out,
	       size_t *out_len, struct hv_status *st)
{
	Hvmgr__V1__FleetSigned fs = HVMGR__V1__FLEET_SIGNED__INIT;
	unsigned char hash[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t sig_len = 0;

	*out = NULL;
	if (sha256(body, len, hash) != 0 ||
	    mbedtls_pk_sign(&s->key, MBEDTLS_MD_SHA256, hash, sizeof hash, sig, &sig_len,
			    random_bytes, NULL) != 0)
		return hv_status_set(st, HV_INTERNAL, "cannot sign");
	fs.body.data = (uint8_t *)body;
	fs.body.len = len;
	fs.signature.data = sig;
	fs.signature.len = sig_len;
	fs.certificate.data = s->crt.raw.p;
	fs.certificate.len = s->crt.raw.len;
	*out_len = protobuf_c_message_get_packed_size(&fs.base);
	*out = malloc(*out_len ? *out_len : 1);
	if (!*out)
		return hv_status_set(st, HV_INTERNAL, "out of memory");
	protobuf_c_message_pack(&fs.base, *out);
	return 0;
}

int fleet_sign_body(struct fleet_signer *s, const Hvmgr__V1__FleetRequestBody *body, uint8_t **out,
		    size_t *out_len, struct hv_status *st)
{
	*out = NULL;
	size_t blen = protobuf_c_message_get_packed_size(&body->base);
	uint8_t *bbuf = malloc(blen ? blen : 1);
	if (!bbuf)
		return hv_status_set(st, HV_INTERNAL, "out of memory");
	protobuf_c_message_pack(&body->base, bbuf);
	/* A FleetRequest is a FleetSigned of its body. */
	int rc = fleet_seal(s, bbuf, blen, out, out_len, st);
	free(bbuf);
	if (rc != 0)
		hv_status_set(st, st->code, "cannot sign the request");
	return rc;
}

size_t fleet_request_nonce(const uint8_t *data, size_t len, uint8_t out[FLEET_NONCE_MAX])
{
	size_t n = 0;
	if (len > FLEET_MAX_REQUEST_BYTES)
		return 0;
	Hvmgr__V1__FleetRequest *fr = hvmgr__v1__fleet_request__unpack(NULL, len, data);
	if (!fr)
		return 0;
	Hvmgr__V1__FleetRequestBody *b =
		hvmgr__v1__fleet_request_body__unpack(NULL, fr->body.len, fr->body.data);
	if (b && b->nonce.len <= FLEET_NONCE_MAX) {
		n = b->nonce.len;
		memcpy(out, b->nonce.data, n);
	}
	if (b)
		hvmgr__v1__fleet_request_body__free_unpacked(b, NULL);
	hvmgr__v1__fleet_request__free_unpacked(fr, NULL);
	return n;
}

int fleet_sign_request(struct fleet_signer *s, const char *vehicle, const char *method,
		       const uint8_t *req, size_t req_len, unsigned lifetime_ms, uint8_t **out,
		       size_t *out_len, struct hv_status *st)
{
	Hvmgr__V1__FleetRequestBody body = HVMGR__V1__FLEET_REQUEST_BODY__INIT;
	uint8_t nonce[FLEET_NONCE_MIN];
	uint64_t now = fleet_now_ms();

	*out = NULL;
	if (lifetime_ms == 0 || lifetime_ms > FLEET_MAX_LIFETIME_MS)
		lifetime_ms = FLEET_MAX_LIFETIME_MS;
	if (random_bytes(NULL, nonce, sizeof nonce) != 0)
		return hv_status_set(st, HV_INTERNAL, "no random bytes for the nonce");
	body.vehicle = (char *)vehicle;
	body.method = (char *)method;
	body.request.data = (uint8_t *)req;
	body.request.len = req_len;
	body.issued_ms = now;
	body.not_after_ms = now + lifetime_ms;
	body.nonce.data = nonce;
	body.nonce.len = sizeof nonce;
	return fleet_sign_body(s, &body, out, out_len, st);
}

/* ------------------------------------------------------------------------ */
/* The vehicle's side                                                        */

struct nonce_entry {
	unsigned char id[32]; /* SHA-256 of the nonce */
	uint64_t until_ms;    /* forgotten after this; 0 = free */
};

/* The replay cache's file: a header, then one record per accepted nonce
 * (its SHA-256 and until_ms, little-endian), appended in order. */
#define NONCE_MAGIC "hv-fleet-nonces1"
#define NONCE_MAGIC_LEN 16u
#define NONCE_REC 40u

/* Verified certificate chains of request signers, by the SHA-256 of the
 * certificate's DER: a backend signs many requests with one certificate, so
 * after the first only the signature is checked. An entry lives until the
 * certificate's notAfter and at most as long as the verifier, which holds
 * the fleet CA it was checked against (a new CA is a new verifier, with an
 * empty cache; there is no CRL). Bounded: the least recently used entry
 * makes room. */
#define CHAIN_CACHE_MAX 64u

struct chain_entry {
	unsigned char digest[32];
	uint64_t until_ms; /* the certificate's notAfter, Unix ms; 0 = free */
	uint64_t used;     /* when last hit, in lookups */
};

struct fleet_verifier {
	mbedtls_x509_crt ca;
	char *vehicle;
	pthread_mutex_t lock; /* the nonces, the file and the chain cache */
	struct chain_entry chains[CHAIN_CACHE_MAX];
	uint64_t chain_tick, chain_walks, chain_hits;
	struct nonce_entry *nonces;
	size_t cap;
	/* the persistent copy (fleet_verifier_persist), under lock */
	char *path;
	int fd;
	size_t file_records;
};

struct fleet_verifier *fleet_verifier_new(const char *fleet_ca_file, const char *vehicle,
					  size_t nonce_cap, struct hv_status *st)
{
	struct fleet_verifier *v = calloc(1, sizeof *v);

	if (!v) {
		hv_status_set(st, HV_INTERNAL, "out of memory");
		return NULL;
	}
	mbedtls_x509_crt_init(&v->ca);
	pthread_mutex_init(&v->lock, NULL);
	v->fd = -1;
	v->cap = nonce_cap ? nonce_cap : 8192;
	v->nonces = calloc(v->cap, sizeof *v->nonces);
	v->vehicle = strdup(vehicle);
	if (!v->nonces || !v->vehicle) {
		hv_status_set(st, HV_INTERNAL, "out of memory");
		goto fail;
	}
	if (mbedtls_x509_crt_parse_file(&v->ca, fleet_ca_file) != 0 || !v->ca.ca_istrue) {
		hv_status_set(st, HV_INVALID_ARGUMENT, "%s: not a readable PEM CA certificate",
			      fleet_ca_file);
		goto fail;
	}
	return v;
fail:
	fleet_verifier_free(v);
	return NULL;
}

void fleet_verifier_free(struct fleet_verifier *v)
{
	if (!v)
		return;
	mbedtls_x509_crt_free(&v->ca);
	pthread_mutex_destroy(&v->lock);
	if (v->fd >= 0)
		close(v->fd);
	free(v->path);
	free(v->nonces);
	free(v->vehicle);
	free(v);
}

static void rec_pack(unsigned char rec[NONCE_REC], const struct nonce_entry *e)
{
	memcpy(rec, e->id, sizeof e->id);
	for (unsigned i = 0; i < 8; i++)
		rec[32 + i] = (unsigned char)(e->until_ms >> (8 * i));
}

static int write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Rewrites the file with the live nonces alone (tmp, fsync, rename) and
 * keeps it open for appending. Caller holds the lock (or owns v). */
static int nonce_file_rewrite(struct fleet_verifier *v, uint64_t now_ms, struct hv_status *st)
{
	char tmp[4096];
	unsigned char rec[NONCE_REC];
	size_t n = 0;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", v->path) >= sizeof tmp)
		return hv_status_set(st, HV_INVALID_ARGUMENT, "%s: path too long", v->path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int bad = fd < 0 || write_all(fd, NONCE_MAGIC, NONCE_MAGIC_LEN) != 0;
	for (size_t i = 0; !bad && i < v->cap; i++) {
		struct nonce_entry *e = &v->nonces[i];
		if (e->until_ms != 0 && e->until_ms < now_ms)
			e->until_ms = 0;
		if (e->until_ms == 0)
			continue;
		rec_pack(rec, e);
		bad = write_all(fd, rec, sizeof rec) != 0;
		n++;
	}
	if (!bad)
		bad = fsync(fd) != 0 || rename(tmp, v->path) != 0;
	int err = errno;
	if (fd >= 0)
		close(fd);
	if (bad) {
		unlink(tmp);
		return hv_status_set(st, HV_UNAVAILABLE, "replay cache %s cannot be written: %s",
				     v->path, strerror(err));
	}
	if (v->fd >= 0)
		close(v->fd);
	v->fd = open(v->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (v->fd < 0)
		return hv_status_set(st, HV_UNAVAILABLE, "replay cache %s cannot be opened: %s",
				     v->path, strerror(errno));
	v->file_records = n;
	return 0;
}

int fleet_verifier_persist(struct fleet_verifier *v, const char *path, uint64_t now_ms,
			   struct hv_status *st)
{
	unsigned char head[NONCE_MAGIC_LEN], rec[NONCE_REC];
	size_t loaded = 0, dropped = 0;

	free(v->path);
	v->path = strdup(path);
	if (!v->path)
		return hv_status_set(st, HV_INTERNAL, "out of memory");
	FILE *f = fopen(path, "rbe");
	if (!f && errno != ENOENT)
		return hv_status_set(st, HV_INVALID_ARGUMENT, "replay cache %s: %s", path,
				     strerror(errno));
	if (f) {
		size_t got = fread(head, 1, sizeof head, f);
		if (got != 0 && (got != sizeof head || memcmp(head, NONCE_MAGIC, sizeof head) != 0)) {
			fclose(f);
			return hv_status_set(st, HV_INVALID_ARGUMENT,
					     "%s is not a replay cache of the fleet link", path);
		}
		while (fread(rec, 1, sizeof rec, f) == sizeof rec) {
			struct nonce_entry e;
			memcpy(e.id, rec, sizeof e.id);
			e.until_ms = 0;
			for (unsigned i = 0; i < 8; i++)
				e.until_ms |= (uint64_t)rec[32 + i] << (8 * i);
			if (e.until_ms < now_ms)
				continue;
			if (loaded == v->cap) {
				dropped++;
				continue;
			}
			v->nonces[loaded++] = e;
		}
		fclose(f);
	}
	if (dropped)
		/* More live nonces than the cache holds cannot have been
		 * written by this cache size; keep those that fit. */
		log_warn("replay cache %s: %zu live nonces beyond %zu not loaded", path, dropped,
			 v->cap);
	pthread_mutex_lock(&v->lock);
	int rc = nonce_file_rewrite(v, now_ms, st);
	pthread_mutex_unlock(&v->lock);
	return rc;
}

size_t fleet_verifier_nonces(struct fleet_verifier *v)
{
	size_t n = 0;
	pthread_mutex_lock(&v->lock);
	for (size_t i = 0; i < v->cap; i++)
		n += v->nonces[i].until_ms != 0;
	pthread_mutex_unlock(&v->lock);
	return n;
}

/* "CN=a,OU=b,O=c" from mbedTLS's "CN=a, OU=b, O=c". */
static void subject_of(const mbedtls_x509_crt *crt, struct fleet_verified *out)
{
	char raw[sizeof out->subject];
	size_t j = 0;

	if (mbedtls_x509_dn_gets(raw, sizeof raw, &crt->subject) < 0)
		raw[0] = '\0';
	for (size_t i = 0; raw[i] && j < sizeof out->subject - 1; i++) {
		if (raw[i] == ' ' && i > 0 && raw[i - 1] == ',')
			continue;
		out->subject[j++] = raw[i];
	}
	out->subject[j] = '\0';
	for (const mbedtls_x509_name *n = &crt->subject; n; n = n->next) {
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
			size_t len = n->val.len < sizeof out->name - 1 ? n->val.len
								       : sizeof out->name - 1;
			memcpy(out->name, n->val.p, len);
			out->name[len] = '\0';
		}
	}
}

enum nonce_result {
	NONCE_NEW,
	NONCE_REPLAY,
	NONCE_FULL,
	NONCE_UNWRITTEN
};

/* Remembers a nonce until until_ms, in memory and (when persistent) on disk
 * before the request may run. */
static enum nonce_result nonce_remember(struct fleet_verifier *v, const uint8_t *nonce, size_t len,
					uint64_t now_ms, uint64_t until_ms, int *err)
{
	unsigned char id[32], rec[NONCE_REC];
	struct nonce_entry *freeslot = NULL;
	enum nonce_result rc = NONCE_NEW;

	*err = 0;
	sha256(nonce, len, id);
	pthread_mutex_lock(&v->lock);
	for (size_t i = 0; i < v->cap; i++) {
		struct nonce_entry *e = &v->nonces[i];
		if (e->until_ms != 0 && e->until_ms < now_ms)
			e->until_ms = 0; /* past its request's lifetime: forgotten */
		if (e->until_ms == 0) {
			if (!freeslot)
				freeslot = e;
			continue;
		}
		if (memcmp(e->id, id, sizeof id) == 0) {
			rc = NONCE_REPLAY;
			break;
		}
	}
	if (rc == NONCE_NEW && !freeslot)
		rc = NONCE_FULL;
	if (rc == NONCE_NEW) {
		memcpy(freeslot->id, id, sizeof id);
		freeslot->until_ms = until_ms;
		if (v->path) {
			struct hv_status st;
			rec_pack(rec, freeslot);
			if (v->file_records >= 2 * v->cap && nonce_file_rewrite(v, now_ms, &st) != 0)
				*err = EIO;
			else if (v->fd < 0 || write_all(v->fd, rec, sizeof rec) != 0 ||
				 fdatasync(v->fd) != 0)
				*err = v->fd < 0 ? EBADF : errno;
			if (*err) {
				freeslot->until_ms = 0;
				rc = NONCE_UNWRITTEN;
			} else {
				v->file_records++;
			}
		}
	}
	pthread_mutex_unlock(&v->lock);
	return rc;
}

static int check_body(struct fleet_verifier *v, const Hvmgr__V1__FleetRequestBody *b,
		      uint64_t now_ms, struct hv_status *st)
{
	if (strcmp(b->vehicle, v->vehicle) != 0)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "request is for vehicle '%.64s', this is '%s'", b->vehicle,
				     v->vehicle);
	if (b->method[0] != '/')
		return hv_status_set(st, HV_INVALID_ARGUMENT, "method '%.80s' is not a full path",
				     b->method);
	if (b->nonce.len < FLEET_NONCE_MIN || b->nonce.len > FLEET_NONCE_MAX)
		return hv_status_set(st, HV_INVALID_ARGUMENT, "nonce of %zu bytes (must be %u to %u)",
				     b->nonce.len, FLEET_NONCE_MIN, FLEET_NONCE_MAX);
	if (b->not_after_ms < now_ms)
		return hv_status_set(st, HV_DEADLINE_EXCEEDED, "request expired %llu ms ago",
				     (unsigned long long)(now_ms - b->not_after_ms));
	if (b->not_after_ms > now_ms + FLEET_MAX_LIFETIME_MS + FLEET_CLOCK_SKEW_MS ||
	    b->not_after_ms < b->issued_ms || b->not_after_ms - b->issued_ms > FLEET_MAX_LIFETIME_MS)
		return hv_status_set(st, HV_DEADLINE_EXCEEDED,
				     "request is valid for longer than %u s",
				     FLEET_MAX_LIFETIME_MS / 1000u);
	if (b->issued_ms > now_ms + FLEET_CLOCK_SKEW_MS)
		return hv_status_set(st, HV_DEADLINE_EXCEEDED, "request issued in the future");
	int err;
	switch (nonce_remember(v, b->nonce.data, b->nonce.len, now_ms,
			       b->not_after_ms + FLEET_CLOCK_SKEW_MS, &err)) {
	case NONCE_NEW:
		return 0;
	case NONCE_FULL:
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED,
				     "too many live requests to remember their nonces");
	case NONCE_UNWRITTEN:
		return hv_status_set(st, HV_UNAVAILABLE,
				     "replay cache %s cannot be written (%s): request not run",
				     v->path, strerror(err));
	case NONCE_REPLAY:
	default:
		return hv_status_set(st, HV_ALREADY_EXISTS,
				     "replayed request: its nonce was already used");
	}
}

/* The certificate's notAfter in Unix ms. */
static uint64_t not_after_ms(const mbedtls_x509_crt *crt)
{
	struct tm tm = {
		.tm_year = crt->valid_to.year - 1900,
		.tm_mon = crt->valid_to.mon - 1,
		.tm_mday = crt->valid_to.day,
		.tm_hour = crt->valid_to.hour,
		.tm_min = crt->valid_to.min,
		.tm_sec = crt->valid_to.sec,
	};
	time_t t = timegm(&tm);
	return t > 0 ? (uint64_t)t * 1000u : 0;
}

/* 1 when the chain of the certificate with this digest was verified and
 * the certificate is still valid at now_ms. */
static int chain_known(struct fleet_verifier *v, const unsigned char digest[32], uint64_t now_ms)
{
	int hit = 0;
	pthread_mutex_lock(&v->lock);
	v->chain_tick++;
	for (size_t i = 0; i < CHAIN_CACHE_MAX; i++) {
		struct chain_entry *e = &v->chains[i];
		if (e->until_ms && e->until_ms <= now_ms)
			e->until_ms = 0; /* the certificate expired */
		if (e->until_ms && memcmp(e->digest, digest, 32) == 0) {
			e->used = v->chain_tick;
			hit = 1;
		}
	}
	if (hit)
		v->chain_hits++;
	else
		v->chain_walks++;
	pthread_mutex_unlock(&v->lock);
	return hit;
}

static void chain_remember(struct fleet_verifier *v, const unsigned char digest[32],
			   uint64_t until_ms, uint64_t now_ms)
{
	if (until_ms <= now_ms)
		return;
	pthread_mutex_lock(&v->lock);
	struct chain_entry *slot = &v->chains[0];
	for (size_t i = 0; i < CHAIN_CACHE_MAX; i++) {
		struct chain_entry *e = &v->chains[i];
		if (!e->until_ms) {
			slot = e;
			break;
		}
		if (e->used < slot->used)
			slot = e;
	}
	memcpy(slot->digest, digest, 32);
	slot->until_ms = until_ms;
	slot->used = v->chain_tick;
	pthread_mutex_unlock(&v->lock);
}

void fleet_verifier_chain_stats(struct fleet_verifier *v, uint64_t *walks, uint64_t *hits,
				size_t *entries)
{
	size_t n = 0;
	pthread_mutex_lock(&v->lock);
	for (size_t i = 0; i < CHAIN_CACHE_MAX; i++)
		n += v->chains[i].until_ms != 0;
	*walks = v->chain_walks;
	*hits = v->chain_hits;
	*entries = n;
	pthread_mutex_unlock(&v->lock);
}

/* The signer's certificate (DER) chains to ca and is valid now, and sig is
 * its signature over SHA-256(body). crt is parsed into (caller inits and
 * frees it); out->subject and out->name are filled as far as it could be
 * read. With v (the vehicle's side), a chain verified before is not walked
 * again until the certificate's notAfter. */
static int check_signed(struct fleet_verifier *v, uint64_t now_ms, mbedtls_x509_crt *ca,
			mbedtls_x509_crt *crt, const ProtobufCBinaryData *cert,
			const ProtobufCBinaryData *body, const ProtobufCBinaryData *sig,
			struct fleet_verified *out, struct hv_status *st)
{
	unsigned char hash[32], digest[32];
	uint32_t flags = 0;

	if (mbedtls_x509_crt_parse_der(crt, cert->data, cert->len) != 0)
		return hv_status_set(st, HV_UNAUTHENTICATED,
				     "the signer's certificate is not X.509 DER");
	subject_of(crt, out);
	bool known =
		v && sha256(cert->data, cert->len, digest) == 0 && chain_known(v, digest, now_ms);
	if (!known && mbedtls_x509_crt_verify(crt, ca, NULL, NULL, &flags, NULL, NULL) != 0) {
		char why[160];
		int n = mbedtls_x509_crt_verify_info(why, sizeof why, "", flags);
		while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == ' '))
			why[--n] = '\0';
		for (char *p = why; *p; p++)
			if (*p == '\n')
				*p = ';';
		return hv_status_set(st, HV_UNAUTHENTICATED, "certificate of '%s' refused: %s",
				     out->subject, n > 0 ? why : "not issued by the fleet CA");
	}
	if (v && !known)
		chain_remember(v, digest, not_after_ms(crt), now_ms);
	if (sha256(body->data, body->len, hash) != 0 ||
	    mbedtls_pk_verify(&crt->pk, MBEDTLS_MD_SHA256, hash, sizeof hash, sig->data, sig->len) !=
		    0)
		return hv_status_set(st, HV_UNAUTHENTICATED, "signature of '%s' does not match",
				     out->subject);
	return 0;
}

int fleet_verify(struct fleet_verifier *v, const uint8_t *data, size_t len, uint64_t now_ms,
		 struct fleet_verified *out, struct hv_status *st)
{
	Hvmgr__V1__FleetRequest *fr = NULL;
	mbedtls_x509_crt crt;
	int rc = -1;

	memset(out, 0, sizeof *out);
	mbedtls_x509_crt_init(&crt);
	if (len > FLEET_MAX_REQUEST_BYTES) {
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "request of %zu bytes (at most %u)", len,
			      FLEET_MAX_REQUEST_BYTES);
		goto out;
	}
	fr = hvmgr__v1__fleet_request__unpack(NULL, len, data);
	if (!fr || fr->body.len == 0 || fr->signature.len == 0 || fr->certificate.len == 0) {
		hv_status_set(st, HV_INVALID_ARGUMENT,
			      "malformed request: not a FleetRequest with body, signature and "
			      "certificate");
		goto out;
	}
	if (check_signed(v, now_ms, &v->ca, &crt, &fr->certificate, &fr->body, &fr->signature, out,
			 st) != 0) {
		if (strstr(st->msg, "does not match"))
			hv_status_set(st, HV_UNAUTHENTICATED,
				      "signature of '%s' does not match the request", out->subject);
		goto out;
	}
	out->body = hvmgr__v1__fleet_request_body__unpack(NULL, fr->body.len, fr->body.data);
	if (!out->body) {
		hv_status_set(st, HV_INVALID_ARGUMENT, "malformed request body");
		goto out;
	}
	if (check_body(v, out->body, now_ms, st) != 0)
		goto out;
	out->not_after_ms = out->body->not_after_ms;
	rc = 0;
out:
	if (rc != 0)
		fleet_verified_release(out);
	if (fr)
		hvmgr__v1__fleet_request__free_unpacked(fr, NULL);
	mbedtls_x509_crt_free(&crt);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* The backend's side of what vehicles sign                                  */

struct fleet_opener {
	mbedtls_x509_crt ca;
};

struct fleet_opener *fleet_opener_new(const char *fleet_ca_file, struct hv_status *st)
{
	struct fleet_opener *o = calloc(1, sizeof *o);
	if (!o) {
		hv_status_set(st, HV_INTERNAL, "out of memory");
		return NULL;
	}
	mbedtls_x509_crt_init(&o->ca);
	if (mbedtls_x509_crt_parse_file(&o->ca, fleet_ca_file) != 0 || !o->ca.ca_istrue) {
		hv_status_set(st, HV_INVALID_ARGUMENT, "%s: not a readable PEM CA certificate",
			      fleet_ca_file);
		fleet_opener_free(o);
		return NULL;
	}
	return o;
}

void fleet_opener_free(struct fleet_opener *o)
{
	if (!o)
		return;
	mbedtls_x509_crt_free(&o->ca);
	free(o);
}

/* The value of the subject's OU, or "" (into buf). */
static const char *ou_of(const mbedtls_x509_crt *crt, char *buf, size_t len)
{
	buf[0] = '\0';
	for (const mbedtls_x509_name *n = &crt->subject; n; n = n->next) {
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_ORG_UNIT, &n->oid) == 0) {
			size_t l = n->val.len < len - 1 ? n->val.len : len - 1;
			memcpy(buf, n->val.p, l);
			buf[l] = '\0';
		}
	}
	return buf;
}

int fleet_open(struct fleet_opener *o, const uint8_t *data, size_t len, const char *vehicle,
	       char who[72], uint8_t **body, size_t *body_len, struct hv_status *st)
{
	struct fleet_verified fv;
	mbedtls_x509_crt crt;
	char ou[32];
	int rc = -1;

	*body = NULL;
	*body_len = 0;
	memset(&fv, 0, sizeof fv);
	mbedtls_x509_crt_init(&crt);
	Hvmgr__V1__FleetSigned *fs = len <= FLEET_MAX_REQUEST_BYTES
					     ? hvmgr__v1__fleet_signed__unpack(NULL, len, data)
					     : NULL;
	if (!fs || fs->body.len == 0 || fs->signature.len == 0 || fs->certificate.len == 0) {
		hv_status_set(st, HV_INVALID_ARGUMENT,
			      "not signed: no FleetSigned with body, signature and certificate");
		goto out;
	}
	if (check_signed(NULL, 0, &o->ca, &crt, &fs->certificate, &fs->body, &fs->signature, &fv,
			 st) != 0)
		goto out;
	if (strcmp(ou_of(&crt, ou, sizeof ou), "vehicle") != 0) {
		hv_status_set(st, HV_UNAUTHENTICATED, "signed by '%s', which is not a vehicle",
			      fv.subject);
		goto out;
	}
	if (vehicle && strcmp(fv.name, vehicle) != 0) {
		hv_status_set(st, HV_UNAUTHENTICATED, "signed by vehicle '%s', not by '%s'",
			      fv.name, vehicle);
		goto out;
	}
	if (who)
		snprintf(who, 72, "%s", fv.name);
	*body = malloc(fs->body.len);
	if (!*body) {
		hv_status_set(st, HV_INTERNAL, "out of memory");
		goto out;
	}
	memcpy(*body, fs->body.data, fs->body.len);
	*body_len = fs->body.len;
	rc = 0;
out:
	if (fs)
		hvmgr__v1__fleet_signed__free_unpacked(fs, NULL);
	mbedtls_x509_crt_free(&crt);
	return rc;
}

void fleet_verified_release(struct fleet_verified *out)
{
	if (out->body)
		hvmgr__v1__fleet_request_body__free_unpacked(out->body, NULL);
	out->body = NULL;
}
