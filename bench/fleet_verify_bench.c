/*
 * hv-fleet-verify-bench - the vehicle's CPU cost of checking one signed
 * fleet request (fleet_verify, docs/fleet.md "Scale"), with the signer's
 * certificate chain walked (the first request of a certificate) and with it
 * known from the verifier's cache (every later one).
 *
 *   hvctl pki fleet-init --dir DIR --vehicle ID
 *   hv-fleet-verify-bench DIR ID [N]        (default N = 200)
 *
 * Signs 2N ListVms requests with DIR/fleet-admin.*, checks N of them each
 * with a new verifier (empty cache: the chain is walked) and N with one
 * verifier (the chain known after the first), and prints the CPU time
 * (CLOCK_PROCESS_CPUTIME_ID) per request of each. Figures mean something
 * only from the non-sanitized build of bench/run.sh or bench/fleet.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fleet_envelope.h"
#include "hvmgr/v1/hvmgr.pb-c.h"

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int check(struct fleet_verifier *v, const uint8_t *p, size_t len, struct hv_status *st)
{
	struct fleet_verified fv;
	int rc = fleet_verify(v, p, len, fleet_now_ms(), &fv, st);
	fleet_verified_release(&fv);
	return rc;
}

int main(int argc, char **argv)
{
	char ca[512], crt[512], key[512];
	struct hv_status st;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: hv-fleet-verify-bench PKI-DIR VEHICLE [N]\n");
		return 2;
	}
	int n = argc == 4 ? atoi(argv[3]) : 200;
	if (n < 1 || n > 100000) {
		fprintf(stderr, "hv-fleet-verify-bench: N must be 1..100000\n");
		return 2;
	}
	snprintf(ca, sizeof ca, "%s/fleet-ca.crt", argv[1]);
	snprintf(crt, sizeof crt, "%s/fleet-admin.crt", argv[1]);
	snprintf(key, sizeof key, "%s/fleet-admin.key", argv[1]);
	struct fleet_signer *s = fleet_signer_load(crt, key, &st);
	uint8_t **p = calloc(2 * (size_t)n, sizeof *p);
	size_t *len = calloc(2 * (size_t)n, sizeof *len);
	if (!s || !p || !len) {
		fprintf(stderr, "hv-fleet-verify-bench: %s\n", s ? "out of memory" : st.msg);
		return 1;
	}
	Hvmgr__V1__ListVmsRequest req = HVMGR__V1__LIST_VMS_REQUEST__INIT;
	uint8_t rb[16];
	size_t rlen = protobuf_c_message_pack(&req.base, rb);
	for (int i = 0; i < 2 * n; i++)
		if (fleet_sign_request(s, argv[2], "/hvmgr.v1.Hvmgr/ListVms", rb, rlen, 60000,
				       &p[i], &len[i], &st) != 0) {
			fprintf(stderr, "hv-fleet-verify-bench: %s\n", st.msg);
			return 1;
		}

	/* A new verifier per request: its cache is empty, the chain walked.
	 * Making and freeing the verifier is not counted. */
	double walked = 0;
	for (int i = 0; i < n; i++) {
		struct fleet_verifier *v = fleet_verifier_new(ca, argv[2], 16, &st);
		if (!v) {
			fprintf(stderr, "hv-fleet-verify-bench: %s\n", st.msg);
			return 1;
		}
		double t0 = cpu_ms();
		int rc = check(v, p[i], len[i], &st);
		walked += cpu_ms() - t0;
		fleet_verifier_free(v);
		if (rc != 0) {
			fprintf(stderr, "hv-fleet-verify-bench: %s\n", st.msg);
			return 1;
		}
	}
	/* One verifier: the chain is walked for the first request only. */
	struct fleet_verifier *v = fleet_verifier_new(ca, argv[2], 0, &st);
	if (!v || check(v, p[n], len[n], &st) != 0) {
		fprintf(stderr, "hv-fleet-verify-bench: %s\n", st.msg);
		return 1;
	}
	double t0 = cpu_ms();
	for (int i = n + 1; i < 2 * n; i++)
		if (check(v, p[i], len[i], &st) != 0) {
			fprintf(stderr, "hv-fleet-verify-bench: %s\n", st.msg);
			return 1;
		}
	double cached = n > 1 ? (cpu_ms() - t0) / (n - 1) : 0;
	printf("fleet_verify CPU per request (%d requests each): chain walked %.2f ms, "
	       "chain cached %.2f ms\n",
	       n, walked / n, cached);
	fleet_verifier_free(v);
	fleet_signer_free(s);
	for (int i = 0; i < 2 * n; i++)
		free(p[i]);
	free(p);
	free(len);
	return 0;
}
