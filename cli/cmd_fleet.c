/*
 * cmd_fleet.c - `hvctl fleet list` and `hvctl fleet run VERB ...` through the
 * fleet's broker (docs/fleet.md). Presence messages are checked against the
 * fleet CA: an unsigned or forged one is listed as unverified and never run on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "fleet_client.h"

#define FLEET_MAX 4096

struct fleet_args {
	const char *sub;
	const char *vehicles;
	unsigned wait_ms;
	bool json;
	int rest; /* index in argv of the first argument after the subcommand */
};

static int parse(const struct hvctl_args *a, struct fleet_args *fa)
{
	memset(fa, 0, sizeof *fa);
	fa->wait_ms = 1000;
	for (int i = 0; i < a->argc; i++) {
		const char *arg = a->argv[i];
		if (strcmp(arg, "--json") == 0) {
			fa->json = true;
		} else if ((strcmp(arg, "--vehicles") == 0 || strcmp(arg, "--wait") == 0) &&
			   i + 1 < a->argc) {
			if (arg[2] == 'v')
				fa->vehicles = a->argv[++i];
			else {
				char *end;
				unsigned long v = strtoul(a->argv[++i], &end, 10);
				if (*end || v == 0 || v > 60000)
					return hvctl_usage(a->cmd, "--wait: 1..60000 ms");
				fa->wait_ms = (unsigned)v;
			}
		} else if (arg[0] == '-') {
			return hvctl_usage(a->cmd, "unexpected option '%s'", arg);
		} else {
			fa->sub = arg;
			fa->rest = i + 1;
			break;
		}
	}
	if (!fa->sub || (strcmp(fa->sub, "list") != 0 && strcmp(fa->sub, "run") != 0))
		return hvctl_usage(a->cmd, "expected 'list' or 'run VERB ...'");
	return 0;
}

/* What the State column says: a presence that fails the vehicle's
 * signature check is never shown as online. */
static const char *state_of(const struct hvf_vehicle *v)
{
	if (!v->verified)
		return "unverified";
	if (v->online)
		return "online";
	return v->will ? "offline (link lost)" : "offline";
}

static void print_list(const struct hvf_vehicle *v, size_t n, bool json)
{
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *o = json_pack("{s:s, s:b, s:b, s:s}", "vehicle", v[i].id, "online",
					      v[i].online, "verified", v[i].verified, "state",
					      state_of(&v[i]));
			if (v[i].verified) {
				json_object_set_new(o, "since_ms",
						    json_integer((json_int_t)v[i].since_ms));
				json_object_set_new(o, "agent_version", json_string(v[i].version));
				json_object_set_new(o, "link_lost", json_boolean(v[i].will));
			} else {
				json_object_set_new(o, "refused", json_string(v[i].why));
			}
			json_array_append_new(arr, o);
		}
		json_print(arr);
		return;
	}
	const char *hdr[] = { "Vehicle", "State", "Since", "Agent", "Note" };
	struct fmt_table *t = fmt_table_new(5, hdr);
	for (size_t i = 0; i < n; i++) {
		char since[40] = "-";
		const char *note = "";
		if (v[i].verified)
			fmt_time_ms((int64_t)v[i].since_ms, since, sizeof since);
		if (!v[i].verified)
			note = v[i].why;
		else if (v[i].will)
			note = "since: when the lost link was made";
		const char *row[] = { v[i].id, state_of(&v[i]), since,
				      v[i].verified ? v[i].version : "-", note };
		fmt_table_row(t, row);
	}
	fmt_table_print(t);
	fmt_table_free(t);
}

static void progress(size_t done, size_t total)
{
	char bar[31];
	size_t fill = total ? done * 30 / total : 30;
	memset(bar, '#', fill);
	memset(bar + fill, '.', 30 - fill);
	bar[30] = '\0';
	fprintf(stderr, "\r[%s] %zu/%zu", bar, done, total);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

/* The vehicles a run is for: --vehicles, or every online one. */
static size_t targets(struct hvf *f, const struct fleet_args *fa, struct hvf_vehicle *v)
{
	size_t n = 0;
	if (fa->vehicles) {
		char *list = strdup(fa->vehicles), *save = NULL;
		for (char *tok = list ? strtok_r(list, ",", &save) : NULL; tok && n < FLEET_MAX;
		     tok = strtok_r(NULL, ",", &save))
			snprintf(v[n++].id, sizeof v[0].id, "%s", tok);
		free(list);
		return n;
	}
	size_t all = hvf_vehicles(f, v, FLEET_MAX, fa->wait_ms);
	for (size_t i = 0; i < all; i++)
		if (v[i].online && v[i].verified)
			v[n++] = v[i];
	return n;
}

static int run(struct hvctl *h, const struct hvctl_args *a, const struct fleet_args *fa,
	       struct hvf *f, struct hvf_vehicle *v)
{
	if (fa->rest >= a->argc)
		return hvctl_usage(a->cmd, "run: which verb?");
	const struct hvctl_cmd *cmd = hvctl_find_cmd(a->argv[fa->rest]);
	if (!cmd || (cmd->flags & (HVCTL_F_LOCAL | HVCTL_F_RAW)))
		return hvctl_usage(a->cmd, "run: '%s' is not a verb for a vehicle",
				   a->argv[fa->rest]);
	struct hvctl_args va;
	if (hvctl_parse(cmd, a->argc - fa->rest - 1, a->argv + fa->rest + 1, &va) != 0)
		return HVCTL_USAGE;
	size_t n = targets(f, fa, v);
	int *rcs = calloc(n ? n : 1, sizeof *rcs);
	if (!rcs)
		return hvctl_error(HVCTL_FAIL, "fleet", "out of memory");
	int *expired = calloc(n ? n : 1, sizeof *expired);
	if (!expired) {
		free(rcs);
		return hvctl_error(HVCTL_FAIL, "fleet", "out of memory");
	}
	size_t failed = 0, nexp = 0;
	for (size_t i = 0; i < n; i++) {
		h->vehicle = v[i].id;
		h->verb = cmd->name;
		printf("--- %s\n", v[i].id);
		fflush(stdout);
		rcs[i] = cmd->fn(h, &va);
		fflush(stdout);
		/* A request that expired is told apart from a refusal: its
		 * vehicle was not reached in time (FLEET-004). */
		expired[i] = rcs[i] != 0 ? hvf_last_expired(f) : 0;
		nexp += expired[i] != 0;
		failed += rcs[i] != 0 && !expired[i];
		progress(i + 1, n);
	}
	printf("%zu vehicle(s): %zu ok, %zu failed, %zu expired\n", n, n - failed - nexp, failed,
	       nexp);
	for (size_t i = 0; i < n; i++)
		if (expired[i])
			printf("expired: %s (%s)\n", v[i].id,
			       expired[i] == 1 ? "the vehicle refused the request as expired"
					       : "no reply before the request expired");
		else if (rcs[i])
			printf("failed: %s (exit %d)\n", v[i].id, rcs[i]);
	free(rcs);
	free(expired);
	return failed || nexp ? HVCTL_FAIL : HVCTL_OK;
}

HVCTL_HANDLER(cmd_fleet)
{
	struct fleet_args fa;
	int rc = parse(a, &fa);
	if (rc != 0)
		return rc;
	if (!h->fleet_url)
		return hvctl_error(HVCTL_USAGE, "fleet", "needs --fleet mqtts://HOST:PORT");
	struct hvf *f = hvctl_fleet(h);
	if (!f)
		return h->conn_rc;
	struct hvf_vehicle *v = calloc(FLEET_MAX, sizeof *v);
	if (!v)
		return hvctl_error(HVCTL_FAIL, "fleet", "out of memory");
	if (strcmp(fa.sub, "list") == 0) {
		print_list(v, hvf_vehicles(f, v, FLEET_MAX, fa.wait_ms), fa.json);
		rc = HVCTL_OK;
	} else {
		rc = run(h, a, &fa, f, v);
	}
	free(v);
	return rc;
}
