/*
 * fleet_envelope.h - the signed request of the fleet link (docs/fleet.md,
 * proto/hvmgr/v1/fleet.proto): building and signing one on the caller's side
 * (hvctl --fleet, the fleet benchmark), and checking one on the vehicle's
 * side: the signer's certificate chains to the fleet CA, the signature over
 * the body holds, the request names this vehicle, has not expired, does not
 * live longer than FLEET_MAX_LIFETIME_MS and carries a nonce not seen before
 * (REQ-SAF-11: data id = vehicle + method, counter = nonce within its
 * lifetime, check = the signature).
 */
#ifndef FLEET_ENVELOPE_H
#define FLEET_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "hvmgr/v1/fleet.pb-c.h"
#include "status.h"

/* A request may be valid for five minutes at most: the replay cache keeps
 * every nonce that long, so the bound is what makes the cache finite. */
#define FLEET_MAX_LIFETIME_MS (5u * 60u * 1000u)
/* Clocks of backend and vehicle may disagree this much. */
#define FLEET_CLOCK_SKEW_MS (60u * 1000u)
#define FLEET_NONCE_MIN 16u
#define FLEET_NONCE_MAX 64u
/* Largest packed FleetRequest accepted (a Define carries up to 1 MiB). */
#define FLEET_MAX_REQUEST_BYTES (1024u * 1024u + 32u * 1024u)

/* Unix time in milliseconds. */
uint64_t fleet_now_ms(void);

/* ---- the caller's side ---- */

struct fleet_signer;

/* Loads a PEM certificate and its private key; INVALID_ARGUMENT naming the
 * file when either cannot be read or they do not belong together. */
struct fleet_signer *fleet_signer_load(const char *cert_file, const char *key_file,
				       struct hv_status *st);
void fleet_signer_free(struct fleet_signer *s);

/* A packed FleetRequest (malloc'd, *out) for `method` with the packed request
 * message req, for vehicle, valid lifetime_ms from now (at most
 * FLEET_MAX_LIFETIME_MS), with a fresh random nonce. */
int fleet_sign_request(struct fleet_signer *s, const char *vehicle, const char *method,
		       const uint8_t *req, size_t req_len, unsigned lifetime_ms, uint8_t **out,
		       size_t *out_len, struct hv_status *st);

/* Signs a body as given (any times and nonce: tests build refused requests
 * with it) into a packed FleetRequest (malloc'd). */
int fleet_sign_body(struct fleet_signer *s, const Hvmgr__V1__FleetRequestBody *body, uint8_t **out,
		    size_t *out_len, struct hv_status *st);

/* Signs body as is into a packed FleetSigned (malloc'd, *out): how a vehicle
 * sends replies and publications (FleetRequest has the same layout). */
int fleet_seal(struct fleet_signer *s, const uint8_t *body, size_t len, uint8_t **out,
	       size_t *out_len, struct hv_status *st);

/* The nonce of a packed FleetRequest, read without any check (a refused
 * request's reply still names it): copied to out, its length; 0 when none
 * could be read. */
size_t fleet_request_nonce(const uint8_t *data, size_t len, uint8_t out[FLEET_NONCE_MAX]);

/* ---- the backend's side of what vehicles sign ---- */

struct fleet_opener;

/* fleet_ca_file: the PEM of the fleet CA(s) vehicles' certificates chain to. */
struct fleet_opener *fleet_opener_new(const char *fleet_ca_file, struct hv_status *st);
void fleet_opener_free(struct fleet_opener *o);

/* Checks a packed FleetSigned: its certificate chains to the fleet CA and is
 * valid now, is a vehicle's (OU=vehicle) and names vehicle (its CN; NULL:
 * any vehicle, whose id is copied to who when who is not NULL), and the
 * signature over the body holds. 0: *body (malloc'd, *body_len) is the
 * signed body. -1: UNAUTHENTICATED naming what is wrong (INVALID_ARGUMENT
 * when data is no FleetSigned at all). */
int fleet_open(struct fleet_opener *o, const uint8_t *data, size_t len, const char *vehicle,
	       char who[72], uint8_t **body, size_t *body_len, struct hv_status *st);

/* ---- the vehicle's side ---- */

struct fleet_verifier;

/* fleet_ca_file: the PEM of the fleet CA(s) signers must chain to; vehicle:
 * this vehicle's id; nonce_cap: nonces remembered at once (0 = 8192). */
struct fleet_verifier *fleet_verifier_new(const char *fleet_ca_file, const char *vehicle,
					  size_t nonce_cap, struct hv_status *st);
void fleet_verifier_free(struct fleet_verifier *v);

/* Keeps the replay cache in the file path (in hv-agent's state directory) as
 * well as in memory, so that a request captured before hv-agent stopped is
 * still refused after it starts again. The nonces of path still live at
 * now_ms are loaded (the file is rewritten with them alone); from then on
 * every accepted nonce is appended and flushed to disk before
 * fleet_verify returns, and a nonce that cannot be written refuses its
 * request (UNAVAILABLE): the cache fails closed. A missing file is an empty
 * cache; a file that is not a replay cache is INVALID_ARGUMENT naming it and
 * is left as it is. A record cut short by a crash is ignored. */
int fleet_verifier_persist(struct fleet_verifier *v, const char *path, uint64_t now_ms,
			   struct hv_status *st);

/* Nonces remembered now (live or not yet swept), for tests and statistics. */
size_t fleet_verifier_nonces(struct fleet_verifier *v);

/* The cache of verified signer certificate chains (by the SHA-256 of the
 * certificate, at most 64, each until its notAfter): chain walks done,
 * requests whose chain was known already, and entries held now. */
void fleet_verifier_chain_stats(struct fleet_verifier *v, uint64_t *walks, uint64_t *hits,
				size_t *entries);

struct fleet_verified {
	Hvmgr__V1__FleetRequestBody *body; /* set when verified                   */
	char subject[256];                 /* "CN=..,OU=..,O=.." once the certificate was read */
	char name[72];                     /* its CN, or "" */
	uint64_t not_after_ms;
};

/* Checks one packed FleetRequest at Unix time now_ms. 0: out->body is the
 * request (release with fleet_verified_release). -1 with a status:
 * INVALID_ARGUMENT (malformed, nonce size, another vehicle), UNAUTHENTICATED
 * (certificate not from the fleet CA or not valid now, bad signature),
 * DEADLINE_EXCEEDED (expired, or valid for longer than allowed),
 * ALREADY_EXISTS (the nonce was seen: a replay), RESOURCE_EXHAUSTED (the
 * replay cache is full of live nonces). out->subject is filled as far as
 * the certificate could be read, for the audit. */
int fleet_verify(struct fleet_verifier *v, const uint8_t *data, size_t len, uint64_t now_ms,
		 struct fleet_verified *out, struct hv_status *st);
void fleet_verified_release(struct fleet_verified *out);

#endif /* FLEET_ENVELOPE_H */
