/*
 * fleet_envelope.c - signing and checking fleet requests with mbedTLS 2.28
 * (docs/fleet.md "Signed requests"). The signature covers SHA-256 of the
 * packed body exactly as received; nothing is re-encoded before checking.
 */
#include "fleet_envelope.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <mbedtls/asn1.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

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

int fleet_sign_body(struct fleet_signer *s, const Hvmgr__V1__FleetRequestBody *body, uint8_t **out,
		    size_t *out_len, struct hv_status *st)
{
	Hvmgr__V1__FleetRequest fr = HVMGR__V1__FLEET_REQUEST__INIT;
	unsigned char hash[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t sig_len = 0;

	*out = NULL;
	size_t blen = protobuf_c_message_get_packed_size(&body->base);
	uint8_t *bbuf = malloc(blen ? blen : 1);
	if (!bbuf)
		return hv_status_set(st, HV_INTERNAL, "out of memory");
	protobuf_c_message_pack(&body->base, bbuf);
	if (sha256(bbuf, blen, hash) != 0 ||
	    mbedtls_pk_sign(&s->key, MBEDTLS_MD_SHA256, hash, sizeof hash, sig, &sig_len,
			    random_bytes, NULL) != 0) {
		free(bbuf);
		return hv_status_set(st, HV_INTERNAL, "cannot sign the request");
	}
	fr.body.data = bbuf;
	fr.body.len = blen;
	fr.signature.data = sig;
	fr.signature.len = sig_len;
	fr.certificate.data = s->crt.raw.p;
	fr.certificate.len = s->crt.raw.len;
	*out_len = protobuf_c_message_get_packed_size(&fr.base);
	*out = malloc(*out_len ? *out_len : 1);
	if (*out)
		protobuf_c_message_pack(&fr.base, *out);
	free(bbuf);
	if (!*out)
		return hv_status_set(st, HV_INTERNAL, "out of memory");
	return 0;
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

struct fleet_verifier {
	mbedtls_x509_crt ca;
	char *vehicle;
	pthread_mutex_t lock;
	struct nonce_entry *nonces;
	size_t cap;
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
	free(v->nonces);
	free(v->vehicle);
	free(v);
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

/* Remembers a nonce until until_ms; -1 when it is already known (replay) or
 * no room is left (full is 1 then). */
static int nonce_remember(struct fleet_verifier *v, const uint8_t *nonce, size_t len,
			  uint64_t now_ms, uint64_t until_ms, int *full)
{
	unsigned char id[32];
	struct nonce_entry *freeslot = NULL;
	int rc = 0;

	*full = 0;
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
			rc = -1;
			break;
		}
	}
	if (rc == 0) {
		if (freeslot) {
			memcpy(freeslot->id, id, sizeof id);
			freeslot->until_ms = until_ms;
		} else {
			*full = 1;
			rc = -1;
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
	int full;
	if (nonce_remember(v, b->nonce.data, b->nonce.len, now_ms,
			   b->not_after_ms + FLEET_CLOCK_SKEW_MS, &full) != 0) {
		if (full)
			return hv_status_set(st, HV_RESOURCE_EXHAUSTED,
					     "too many live requests to remember their nonces");
		return hv_status_set(st, HV_ALREADY_EXISTS,
				     "replayed request: its nonce was already used");
	}
	return 0;
}

int fleet_verify(struct fleet_verifier *v, const uint8_t *data, size_t len, uint64_t now_ms,
		 struct fleet_verified *out, struct hv_status *st)
{
	Hvmgr__V1__FleetRequest *fr = NULL;
	mbedtls_x509_crt crt;
	unsigned char hash[32];
	uint32_t flags = 0;
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
	if (mbedtls_x509_crt_parse_der(&crt, fr->certificate.data, fr->certificate.len) != 0) {
		hv_status_set(st, HV_UNAUTHENTICATED, "the signer's certificate is not X.509 DER");
		goto out;
	}
	subject_of(&crt, out);
	if (mbedtls_x509_crt_verify(&crt, &v->ca, NULL, NULL, &flags, NULL, NULL) != 0) {
		char why[160];
		int n = mbedtls_x509_crt_verify_info(why, sizeof why, "", flags);
		while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == ' '))
			why[--n] = '\0';
		for (char *p = why; *p; p++)
			if (*p == '\n')
				*p = ';';
		hv_status_set(st, HV_UNAUTHENTICATED, "certificate of '%s' refused: %s",
			      out->subject, n > 0 ? why : "not issued by the fleet CA");
		goto out;
	}
	if (sha256(fr->body.data, fr->body.len, hash) != 0 ||
	    mbedtls_pk_verify(&crt.pk, MBEDTLS_MD_SHA256, hash, sizeof hash, fr->signature.data,
			      fr->signature.len) != 0) {
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

void fleet_verified_release(struct fleet_verified *out)
{
	if (out->body)
		hvmgr__v1__fleet_request_body__free_unpacked(out->body, NULL);
	out->body = NULL;
}
