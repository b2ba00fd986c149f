/*
 * main.c - hv-conformance: the command line of the management-interface
 * conformance suite (REQ-STD-07, docs/conformance.md).
 *
 *   hv-conformance --ram-file PATH [--ram-base 0x40000000] [--mgmt-base 0x41000000]
 *                  [--only MGMT-1xx,...] [--stress N] [--seed S] [--json]
 *                  [--timeout-ms 5000] [--ready-timeout-ms 30000]
 *                  [--examples DIR] [--dtc PATH] [--verbose] [--coverage]
 *                  [--not-applicable CLAUSE=REASON]...
 *                  [--transport polled|trapped] [--relay-mailbox 0x4c800000]
 *                  [--relay-vm mgmt-relay]
 *
 * --transport trapped sends every command over hv-core's trapped register
 * page (MGMT-112, MGMT-210..215) instead of the polled page: the management
 * VM --relay-vm (hv-core/guests/mgmt-relay) performs each request it finds in
 * its mailbox at physical --relay-mailbox with real trapped accesses and
 * reports what the page answered; the suite decides. Checks that can only run
 * on the polled page say so (N/A, with the reason).
 *
 * --coverage also prints every clause of docs/mgmt-abi.md and the guest-visible
 * clauses of docs/guest-abi.md with PASS, FAIL, SKIP or N-A (not checkable
 * through the shared page, with the reason), before the totals line.
 *
 * --not-applicable CLAUSE=REASON declares a clause not applicable to the
 * implementation under test: a check of it that would be skipped is reported
 * N/A with the reason instead (a check that runs still passes or fails).
 *
 * Exit status: 0 every selected check passed, 1 a check failed or was skipped
 * (a skip is not a pass), 2 bad usage or no live region.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

static void usage(FILE *f)
{
	fputs("usage: hv-conformance --ram-file PATH [--ram-base ADDR] [--mgmt-base ADDR]\n"
	      "                      [--only CLAUSE[,CLAUSE...]] [--stress N] [--seed S] [--json]\n"
	      "                      [--timeout-ms MS] [--ready-timeout-ms MS] [--examples DIR]\n"
	      "                      [--dtc PATH] [--verbose] [--coverage]\n"
	      "                      [--not-applicable CLAUSE=REASON]...\n"
	      "                      [--transport polled|trapped] [--relay-mailbox ADDR]\n"
	      "                      [--relay-vm NAME]\n"
	      "Checks the management register interface behind PATH against docs/mgmt-abi.md.\n"
	      "Exit status 0 only when every check passed; a skipped check fails the run\n"
	      "unless its clause is declared not applicable with a reason.\n",
	      f);
}

static bool parse_u64(const char *opt, const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = s ? strtoull(s, &end, 0) : 0;
	if (!s || !*s || *end || errno || s[0] == '-') {
		fprintf(stderr, "hv-conformance: %s needs a non-negative number, got '%s'\n", opt,
			s ? s : "");
		return false;
	}
	*out = v;
	return true;
}

static bool parse_u32(const char *opt, const char *s, unsigned *out)
{
	uint64_t v;
	if (!parse_u64(opt, s, &v))
		return false;
	if (v > 0xFFFFFFFFu) {
		fprintf(stderr, "hv-conformance: %s %s is too large\n", opt, s);
		return false;
	}
	*out = (unsigned)v;
	return true;
}

int main(int argc, char **argv)
{
	struct conf_opts o;
	conf_opts_init(&o);
	bool json = false, seed_given = false;
#ifdef HV_SOURCE_DIR
	struct stat st;
	if (stat(HV_SOURCE_DIR "/docs/examples", &st) == 0)
		o.examples_dir = HV_SOURCE_DIR "/docs/examples";
#endif
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok = true, takes = true;
		if (!strcmp(a, "--ram-file"))
			o.ram_file = v, ok = v != NULL;
		else if (!strcmp(a, "--ram-base"))
			ok = parse_u64(a, v, &o.ram_base);
		else if (!strcmp(a, "--mgmt-base"))
			ok = parse_u64(a, v, &o.mgmt_base);
		else if (!strcmp(a, "--only"))
			o.only = v, ok = v != NULL;
		else if (!strcmp(a, "--stress"))
			ok = parse_u32(a, v, &o.stress);
		else if (!strcmp(a, "--seed"))
			ok = parse_u64(a, v, &o.seed), seed_given = true;
		else if (!strcmp(a, "--timeout-ms"))
			ok = parse_u32(a, v, &o.timeout_ms) && o.timeout_ms > 0;
		else if (!strcmp(a, "--ready-timeout-ms"))
			ok = parse_u32(a, v, &o.ready_timeout_ms);
		else if (!strcmp(a, "--examples"))
			o.examples_dir = v, ok = v != NULL;
		else if (!strcmp(a, "--transport")) {
			ok = v != NULL;
			if (ok && strcmp(v, "polled") != 0 && strcmp(v, "trapped") != 0) {
				fprintf(stderr,
					"hv-conformance: --transport is polled or trapped, got '%s'\n",
					v);
				return 2;
			}
			o.trapped = ok && !strcmp(v, "trapped");
		} else if (!strcmp(a, "--relay-mailbox"))
			ok = parse_u64(a, v, &o.relay_mbox);
		else if (!strcmp(a, "--relay-vm"))
			o.relay_vm = v, ok = v != NULL;
		else if (!strcmp(a, "--dtc"))
			o.dtc = v, ok = v != NULL;
		else if (!strcmp(a, "--not-applicable")) {
			char why[160];
			ok = v != NULL;
			if (ok && !conf_declare_na(&o, argv[i + 1], why, sizeof(why))) {
				fprintf(stderr, "hv-conformance: %s\n", why);
				return 2;
			}
		} else if (!strcmp(a, "--json"))
			json = true, takes = false;
		else if (!strcmp(a, "--verbose"))
			o.verbose = true, takes = false;
		else if (!strcmp(a, "--coverage"))
			o.coverage = true, takes = false;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "hv-conformance: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		}
		if (!ok) {
			if (takes && !v)
				fprintf(stderr, "hv-conformance: %s needs a value\n", a);
			else if (!strcmp(a, "--timeout-ms"))
				fprintf(stderr, "hv-conformance: --timeout-ms must be at least 1\n");
			usage(stderr);
			return 2;
		}
		if (takes)
			i++;
	}
	if (!o.ram_file) {
		fprintf(stderr, "hv-conformance: --ram-file is required\n");
		usage(stderr);
		return 2;
	}
	if (!seed_given)
		o.seed = ((uint64_t)time(NULL) << 16) ^ (uint64_t)getpid();
	if (o.stress)
		fprintf(json ? stderr : stdout,
			"robustness pass: %u ops, seed %llu (reproduce with --stress %u --seed %llu)\n",
			o.stress, (unsigned long long)o.seed, o.stress, (unsigned long long)o.seed);

	static struct conf_report rep;
	char err[256];
	if (conf_run(&o, &rep, err, sizeof(err)) != 0) {
		fprintf(stderr, "hv-conformance: %s\n", err);
		return 2;
	}
	if (json)
		(o.coverage ? conf_print_json_coverage : conf_print_json)(&rep, stdout);
	else
		(o.coverage ? conf_print_table_coverage : conf_print_table)(&rep, stdout);
	return conf_exit_status(&rep);
}
