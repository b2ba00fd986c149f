/*
 * fleet_envelope_test.c - the fleet link's replay cache on disk: a request
 * accepted before a restart of the verifier is refused after it, expired
 * nonces are forgotten, and a file that is not a replay cache is refused
 * and left as it is; and its cache of verified signer certificate chains:
 * walked once per certificate until its notAfter, never for a refused one.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_envelope.h"
#include "hvmgr/v1/hvmgr.pb-c.h"
#include "pki.h"
#include "pki_testutil.h"

#define VEHICLE "unit-car"

static char *dir;
static char ca[512], crt[512], key[512], cache[512];

static void setup(void)
{
	struct pki_err err;
	dir = pkit_mkdtemp();
	cr_assert_eq(pki_fleet_init(dir, VEHICLE, NULL, &err), 0, "%s", err.msg);
	pkit_path(ca, sizeof ca, dir, "fleet-ca.crt");
	pkit_path(crt, sizeof crt, dir, "fleet-operator.crt");
	pkit_path(key, sizeof key, dir, "fleet-operator.key");
	pkit_path(cache, sizeof cache, dir, "fleet-nonces");
}

static void teardown(void)
{
	pkit_rmtree(dir);
}

TestSuite(fleet_envelope, .init = setup, .fini = teardown);

static void sign(uint8_t **p, size_t *len)
{
	struct hv_status st;
	struct fleet_signer *s = fleet_signer_load(crt, key, &st);
	cr_assert_not_null(s, "%s", st.msg);
	Hvmgr__V1__GetVersionRequest gv = HVMGR__V1__GET_VERSION_REQUEST__INIT;
	uint8_t req[16];
	size_t rlen = protobuf_c_message_pack(&gv.base, req);
	cr_assert_eq(fleet_sign_request(s, VEHICLE, "/hvmgr.v1.Hvmgr/GetVersion", req, rlen, 60000,
					p, len, &st),
		     0, "%s", st.msg);
	fleet_signer_free(s);
}

static struct fleet_verifier *verifier(uint64_t now)
{
	struct hv_status st;
	struct fleet_verifier *v = fleet_verifier_new(ca, VEHICLE, 16, &st);
	cr_assert_not_null(v, "%s", st.msg);
	cr_assert_eq(fleet_verifier_persist(v, cache, now, &st), 0, "%s", st.msg);
	return v;
}

static int verify(struct fleet_verifier *v, const uint8_t *p, size_t len, uint64_t now,
		  struct hv_status *st)
{
	struct fleet_verified fv;
	int rc = fleet_verify(v, p, len, now, &fv, st);
	fleet_verified_release(&fv);
	return rc;
}

Test(fleet_envelope, a_replay_after_a_restart_is_refused)
{
	struct hv_status st;
	uint8_t *a, *b;
	size_t alen, blen;
	uint64_t now = fleet_now_ms();

	sign(&a, &alen);
	sign(&b, &blen);
	struct fleet_verifier *v = verifier(now);
	cr_assert_eq(verify(v, a, alen, now, &st), 0, "%s", st.msg);
	fleet_verifier_free(v);

	/* "Restarted": a new verifier on the same file. */
	v = verifier(now + 1000);
	cr_assert_eq(fleet_verifier_nonces(v), 1);
	cr_assert_eq(verify(v, a, alen, now + 1000, &st), -1);
	cr_assert_eq(st.code, HV_ALREADY_EXISTS);
	cr_assert_not_null(strstr(st.msg, "replayed request"), "%s", st.msg);
	cr_assert_eq(verify(v, b, blen, now + 1000, &st), 0, "%s", st.msg);
	fleet_verifier_free(v);

	/* Once their requests expired, the nonces are forgotten on load. */
	v = verifier(now + FLEET_MAX_LIFETIME_MS + 2 * FLEET_CLOCK_SKEW_MS);
	cr_assert_eq(fleet_verifier_nonces(v), 0);
	fleet_verifier_free(v);
	free(a);
	free(b);
}

Test(fleet_envelope, a_record_cut_short_is_ignored)
{
	struct hv_status st;
	uint8_t *a;
	size_t alen;
	uint64_t now = fleet_now_ms();

	sign(&a, &alen);
	struct fleet_verifier *v = verifier(now);
	cr_assert_eq(verify(v, a, alen, now, &st), 0, "%s", st.msg);
	fleet_verifier_free(v);
	FILE *f = fopen(cache, "ab");
	cr_assert_not_null(f);
	fwrite("partial", 1, 7, f);
	fclose(f);
	v = verifier(now);
	cr_assert_eq(fleet_verifier_nonces(v), 1);
	cr_assert_eq(verify(v, a, alen, now, &st), -1);
	cr_assert_eq(st.code, HV_ALREADY_EXISTS);
	fleet_verifier_free(v);
	free(a);
}

Test(fleet_envelope, a_file_that_is_no_replay_cache_is_refused_and_kept)
{
	struct hv_status st;
	FILE *f = fopen(cache, "w");
	cr_assert_not_null(f);
	fputs("something else entirely\n", f);
	fclose(f);
	struct fleet_verifier *v = fleet_verifier_new(ca, VEHICLE, 16, &st);
	cr_assert_not_null(v, "%s", st.msg);
	cr_assert_eq(fleet_verifier_persist(v, cache, fleet_now_ms(), &st), -1);
	cr_assert_eq(st.code, HV_INVALID_ARGUMENT);
	cr_assert_not_null(strstr(st.msg, cache), "%s", st.msg);
	fleet_verifier_free(v);
	char *text = pkit_slurp(cache);
	cr_assert_str_eq(text, "something else entirely\n");
	free(text);
}

Test(fleet_envelope, the_file_is_compacted_and_the_cache_stays_bounded)
{
	struct hv_status st;
	uint64_t now = fleet_now_ms();
	struct fleet_verifier *v = verifier(now);

	/* 16 live nonces fill a cache of 16: the next is refused, not forgotten. */
	for (int i = 0; i < 16; i++) {
		uint8_t *p;
		size_t len;
		sign(&p, &len);
		cr_assert_eq(verify(v, p, len, now, &st), 0, "%d: %s", i, st.msg);
		free(p);
	}
	uint8_t *p;
	size_t len;
	sign(&p, &len);
	cr_assert_eq(verify(v, p, len, now, &st), -1);
	cr_assert_eq(st.code, HV_RESOURCE_EXHAUSTED);
	/* After their lifetime they make room; the file is rewritten past
	 * twice the cache and holds the live nonces only. */
	uint64_t later = now + FLEET_MAX_LIFETIME_MS + 2 * FLEET_CLOCK_SKEW_MS;
	for (int i = 0; i < 40; i++) {
		uint8_t *q;
		size_t qlen;
		struct fleet_signer *s = fleet_signer_load(crt, key, &st);
		Hvmgr__V1__FleetRequestBody b = HVMGR__V1__FLEET_REQUEST_BODY__INIT;
		uint8_t nonce[16] = { (uint8_t)i, 1, 2, 3 };
		b.vehicle = VEHICLE;
		b.method = "/hvmgr.v1.Hvmgr/GetVersion";
		b.issued_ms = later + (uint64_t)i * 400000u;
		b.not_after_ms = b.issued_ms + 1000;
		b.nonce.data = nonce;
		b.nonce.len = sizeof nonce;
		cr_assert_eq(fleet_sign_body(s, &b, &q, &qlen, &st), 0, "%s", st.msg);
		fleet_signer_free(s);
		cr_assert_eq(verify(v, q, qlen, b.issued_ms, &st), 0, "%d: %s", i, st.msg);
		free(q);
	}
	fleet_verifier_free(v);
	FILE *f = fopen(cache, "rb");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fclose(f);
	cr_assert_leq(size, 16 + 40 * 2 * 16, "%ld bytes", size);
	free(p);
}

/* A request signed at `at` (Unix ms) with crt/key, valid 60 s. */
static void sign_at(const char *c, const char *k, uint64_t at, uint8_t **p, size_t *len)
{
	struct hv_status st;
	struct fleet_signer *s = fleet_signer_load(c, k, &st);
	cr_assert_not_null(s, "%s", st.msg);
	Hvmgr__V1__GetVersionRequest gv = HVMGR__V1__GET_VERSION_REQUEST__INIT;
	uint8_t req[16], nonce[16];
	size_t rlen = protobuf_c_message_pack(&gv.base, req);
	for (size_t i = 0; i < sizeof nonce; i++)
		nonce[i] = (uint8_t)(at >> (i % 8)) ^ (uint8_t)rand();
	Hvmgr__V1__FleetRequestBody b = HVMGR__V1__FLEET_REQUEST_BODY__INIT;
	b.vehicle = VEHICLE;
	b.method = "/hvmgr.v1.Hvmgr/GetVersion";
	b.request.data = req;
	b.request.len = rlen;
	b.issued_ms = at;
	b.not_after_ms = at + 60000;
	b.nonce.data = nonce;
	b.nonce.len = sizeof nonce;
	cr_assert_eq(fleet_sign_body(s, &b, p, len, &st), 0, "%s", st.msg);
	fleet_signer_free(s);
}

static void expect_chains(struct fleet_verifier *v, uint64_t walks, uint64_t hits, size_t entries)
{
	uint64_t w, h;
	size_t n;
	fleet_verifier_chain_stats(v, &w, &h, &n);
	cr_assert(w == walks && h == hits && n == entries,
		  "chain walks %llu (want %llu), hits %llu (want %llu), entries %zu (want %zu)",
		  (unsigned long long)w, (unsigned long long)walks, (unsigned long long)h,
		  (unsigned long long)hits, n, entries);
}

Test(fleet_envelope, a_signers_chain_is_walked_once_until_its_not_after)
{
	struct hv_status st;
	struct pki_err err;
	char other[512], fcrt[600], fkey[600];
	uint8_t *p;
	size_t len;
	uint64_t now = fleet_now_ms();

	struct fleet_verifier *v = fleet_verifier_new(ca, VEHICLE, 16, &st);
	cr_assert_not_null(v, "%s", st.msg);
	/* The first request walks the chain, the next ones of that
	 * certificate only check their signature. */
	sign_at(crt, key, now, &p, &len);
	cr_assert_eq(verify(v, p, len, now, &st), 0, "%s", st.msg);
	free(p);
	expect_chains(v, 1, 0, 1);
	sign_at(crt, key, now, &p, &len);
	cr_assert_eq(verify(v, p, len, now, &st), 0, "%s", st.msg);
	/* ... which still refuses a signature that does not match. */
	p[6] ^= 0x01; /* in the body: the certificate stays the same */
	cr_assert_eq(verify(v, p, len, now, &st), -1);
	cr_assert_eq(st.code, HV_UNAUTHENTICATED, "%d: %s", st.code, st.msg);
	free(p);
	expect_chains(v, 1, 2, 1);

	/* A certificate of another CA is refused every time, never cached. */
	snprintf(other, sizeof other, "%s/other", dir);
	cr_assert_eq(pki_fleet_init(other, VEHICLE, NULL, &err), 0, "%s", err.msg);
	snprintf(fcrt, sizeof fcrt, "%s/fleet-operator.crt", other);
	snprintf(fkey, sizeof fkey, "%s/fleet-operator.key", other);
	for (int i = 0; i < 2; i++) {
		sign_at(fcrt, fkey, now, &p, &len);
		cr_assert_eq(verify(v, p, len, now, &st), -1);
		cr_assert_eq(st.code, HV_UNAUTHENTICATED, "%d: %s", st.code, st.msg);
		cr_assert_not_null(strstr(st.msg, "refused"), "%s", st.msg);
		free(p);
	}
	expect_chains(v, 3, 2, 1);

	/* Past the certificate's notAfter (825 days) the entry is gone: the
	 * chain is walked again and not kept. */
	uint64_t later = now + 900ull * 86400000ull;
	sign_at(crt, key, later, &p, &len);
	verify(v, p, len, later, &st);
	free(p);
	expect_chains(v, 4, 2, 0);
	fleet_verifier_free(v);
}
