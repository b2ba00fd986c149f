/*
 * fleet_fetch.h - an update bundle named by an HTTPS URL, downloaded into a
 * file of hv-agent's state directory (docs/fleet.md "OTA over the link"):
 * what a campaign sends a vehicle is a URL, not the bundle, so the bytes come
 * from a CDN near the vehicle, not through the broker.
 *
 * The download survives a dropped link: the bytes received so far stay in
 * DEST.part, and every further attempt (after a doubling wait) asks the
 * server for the rest with an HTTP range request; a server that ignores the
 * range sends the whole file again and the part is started over. Only
 * https:// is fetched (redirects too), the server's certificate is checked
 * against the given CA file (or the system's), and the finished file is
 * moved to DEST only when its size is within the bound and its SHA-256 is
 * the one expected. Installing it is the OTA engine's business, not this.
 *
 * Layer: fleet (libcurl, mbedTLS for the digest); needs common only.
 */
#ifndef FLEET_FETCH_H
#define FLEET_FETCH_H

#include <stdint.h>

#include "status.h"

struct fleet_fetch_opts {
	const char *url;       /* https://HOST[:PORT]/PATH */
	const char *dest;      /* the finished file; DEST.part while it downloads */
	const char *ca_file;   /* PEM the server's certificate must chain to; NULL: the system's */
	const uint8_t *sha256; /* the 32-byte digest the file must have; NULL: not checked */
	uint64_t max_bytes;    /* larger is refused; 0 = 4 GiB */
	unsigned attempts;     /* connection attempts in all; 0 = 8 */
	unsigned backoff_ms;   /* the first wait between attempts, doubled each time; 0 = 500 */
	unsigned stall_s;      /* an attempt that receives nothing this long is dropped; 0 = 30 */
	const int *stop;       /* read atomically: non-zero gives up (ABORTED); may be NULL */
};

struct fleet_fetch_result {
	uint64_t bytes;        /* size of DEST */
	uint64_t resumed_from; /* bytes DEST.part held before the first attempt */
	unsigned attempts;     /* attempts made */
	unsigned resumed;      /* attempts the server answered with the rest (206) */
};

/* Downloads o->url into o->dest. 0 when DEST holds the whole file (at once
 * when DEST already exists with the expected digest). -1 with:
 * INVALID_ARGUMENT (not an https:// URL, bad options), UNAUTHENTICATED (the
 * server's certificate is refused), NOT_FOUND or FAILED_PRECONDITION (the
 * server answered 4xx), OUT_OF_RANGE (larger than max_bytes), DATA_LOSS
 * (the file's digest is not the one expected: the part is deleted),
 * UNAVAILABLE (every attempt failed; the part is kept for the next call),
 * ABORTED (*stop). Each message names the URL or file. */
int fleet_fetch(const struct fleet_fetch_opts *o, struct fleet_fetch_result *r, struct hv_status *st);

#endif /* FLEET_FETCH_H */
