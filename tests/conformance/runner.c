/*
 * runner.c - runs the conformance check tables in order, filters them by
 * clause id (--only), and prints the report as a table or as JSON.
 *
 * Order matters: read-only checks first (the guest-visible ones while a
 * faulted VM still shows its fault), then DEFINE, then the state machine
 * (which leaves the driven VM RUNNING again), then the robustness pass, which
 * needs running VMs as witnesses, then (--transport trapped) the checks of the
 * trapped page itself, which account for every command of the run. Clauses
 * that cannot be checked through the shared page get an N/A row with the
 * reason (coverage.c), so the report accounts for every clause of the
 * documents. A skipped check counts as skipped, never as passed, and makes the
 * run unsuccessful unless the user declared its clause not applicable with a
 * reason (--not-applicable).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conf_internal.h"

void conf_opts_init(struct conf_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ram_base = 0x40000000ull;
	o->mgmt_base = HVM_DEFAULT_BASE;
	o->timeout_ms = 5000;
	o->ready_timeout_ms = 30000;
	o->seed = 1;
	o->dtc = "dtc";
	o->relay_mbox = 0x4c800000ull;
	o->relay_vm = "mgmt-relay";
}

/* "MGMT-04" selects MGMT-040..049; entries are separated by commas. */
static bool selected(const char *only, const char *clause)
{
	if (!only || !*only)
		return true;
	const char *p = only;
	while (*p) {
		size_t l = strcspn(p, ",");
		while (l && isspace((unsigned char)*p)) {
			p++;
			l--;
		}
		size_t t = l;
		while (t && isspace((unsigned char)p[t - 1]))
			t--;
		if (t && strncasecmp(p, clause, t) == 0)
			return true;
		p += l;
		if (*p == ',')
			p++;
	}
	return false;
}

/* The reason clause was declared not applicable with, or NULL. */
static const char *declared_na(const struct conf_opts *o, const char *clause)
{
	for (unsigned i = 0; i < o->n_na; i++)
		if (strcasecmp(o->na[i].clause, clause) == 0)
			return o->na[i].reason;
	return NULL;
}

bool conf_declare_na(struct conf_opts *o, char *arg, char *err, size_t errlen)
{
	char *eq = arg ? strchr(arg, '=') : NULL;
	if (!eq) {
		snprintf(err, errlen, "--not-applicable needs CLAUSE=REASON, got '%s'",
			 arg ? arg : "");
		return false;
	}
	*eq = 0;
	const char *reason = eq + 1;
	while (isspace((unsigned char)*reason))
		reason++;
	bool id_ok = strlen(arg) == 8 &&
		     (strncasecmp(arg, "MGMT-", 5) == 0 || strncasecmp(arg, "GABI-", 5) == 0) &&
		     isdigit((unsigned char)arg[5]) && isdigit((unsigned char)arg[6]) &&
		     isdigit((unsigned char)arg[7]);
	if (!id_ok) {
		snprintf(err, errlen,
			 "--not-applicable: '%s' is not a clause id (MGMT-nnn, GABI-nnn)", arg);
		*eq = '=';
		return false;
	}
	if (!*reason) {
		snprintf(err, errlen, "--not-applicable %s: the reason is empty", arg);
		*eq = '=';
		return false;
	}
	if (o->n_na >= CONF_MAX_DECLARED_NA) {
		snprintf(err, errlen, "--not-applicable: more than %u clauses declared",
			 CONF_MAX_DECLARED_NA);
		*eq = '=';
		return false;
	}
	o->na[o->n_na].clause = arg;
	o->na[o->n_na].reason = reason;
	o->n_na++;
	return true;
}

int conf_exit_status(const struct conf_report *rep)
{
	return rep->failed || rep->skipped ? 1 : 0;
}

int conf_run(const struct conf_opts *o, struct conf_report *rep, char *err, size_t errlen)
{
	memset(rep, 0, sizeof(*rep));
	rep->trapped = o->trapped;
	struct conf c;
	if (conf_open(&c, o, err, errlen) != 0)
		return -1;
	char ver[33];
	conf_copy_in(ver, c.r->hv_version, 32);
	ver[32] = 0;
	for (char *q = ver; *q; q++)
		if (!isprint((unsigned char)*q))
			*q = '?';
	snprintf(rep->implementation, sizeof(rep->implementation),
		 "\"%s\" abi %u.%u caps 0x%llx; commands over the %s", ver, c.r->abi_major,
		 c.r->abi_minor, (unsigned long long)c.caps, conf_transport_name(&c));

	const struct conf_check *const tables[] = {
		conf_checks_region,  conf_checks_commands, conf_checks_records,
		conf_checks_guest,   conf_checks_define,   conf_checks_lifecycle,
		conf_checks_clauses, conf_checks_stress,   conf_checks_trapped,
	};
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		/* a robustness pass not asked for (--stress 0) is left out as
		 * --only leaves clauses out: no row, not a skip */
		if (tables[t] == conf_checks_stress && !o->stress)
			continue;
		/* the trapped page's own clauses: on the polled page their
		 * N/A rows below name the test that checks them */
		if (tables[t] == conf_checks_trapped && !o->trapped)
			continue;
		for (const struct conf_check *k = tables[t]; k->clause; k++) {
			if (!selected(o->only, k->clause) || rep->n_rows >= CONF_MAX_ROWS)
				continue;
			struct conf_result res = { CONF_PASS, "" };
			if (o->verbose)
				fprintf(stderr, "hv-conformance: %s %s ...\n", k->clause, k->title);
			k->fn(&c, &res);
			struct conf_row *row = &rep->rows[rep->n_rows++];
			row->clause = k->clause;
			row->title = k->title;
			row->verdict = res.verdict;
			snprintf(row->detail, sizeof(row->detail), "%s", res.detail);
			const char *why = declared_na(o, k->clause);
			if (res.verdict == CONF_SKIP && why) {
				row->verdict = CONF_NA;
				snprintf(row->detail, sizeof(row->detail),
					 "declared not applicable: %s (%s)", why, res.detail);
			}
			if (row->verdict == CONF_PASS)
				rep->passed++;
			else if (row->verdict == CONF_FAIL)
				rep->failed++;
			else if (row->verdict == CONF_NA)
				rep->na++;
			else
				rep->skipped++;
		}
	}
	for (const struct conf_clause *k = conf_clauses; k->id; k++) {
		if (!k->na_reason || !selected(o->only, k->id) || rep->n_rows >= CONF_MAX_ROWS)
			continue;
		if (o->trapped && conf_clause_trapped(k->id))
			continue; /* checked over the trapped page in this run */
		struct conf_row *row = &rep->rows[rep->n_rows++];
		row->clause = k->id;
		row->title = "not checkable through the shared page";
		row->verdict = CONF_NA;
		snprintf(row->detail, sizeof(row->detail), "%s", k->na_reason);
		rep->na++;
	}
	conf_close(&c);
	return 0;
}

static const char *verdict_name(enum conf_verdict v)
{
	return v == CONF_PASS ? "PASS" : v == CONF_FAIL ? "FAIL" : v == CONF_SKIP ? "SKIP" : "N/A";
}

int conf_clause_verdict(const struct conf_report *rep, const char *id)
{
	bool any = false, pass = false, skip = false;
	for (unsigned i = 0; i < rep->n_rows; i++) {
		const struct conf_row *r = &rep->rows[i];
		if (strcmp(r->clause, id) != 0)
			continue;
		any = true;
		if (r->verdict == CONF_FAIL)
			return CONF_FAIL;
		pass |= r->verdict == CONF_PASS;
		skip |= r->verdict == CONF_SKIP;
	}
	return !any ? -1 : pass ? CONF_PASS : skip ? CONF_SKIP : CONF_NA;
}

static const char *coverage_name(int v)
{
	return v < 0 ? "NOT-RUN" : v == CONF_NA ? "N-A" : verdict_name((enum conf_verdict)v);
}

static void print_rows(const struct conf_report *rep, FILE *out)
{
	fprintf(out, "implementation: %s\n", rep->implementation);
	fprintf(out, "%-9s %-5s %-64s %s\n", "CLAUSE", "RESULT", "CHECK", "DETAIL");
	for (unsigned i = 0; i < rep->n_rows; i++) {
		const struct conf_row *r = &rep->rows[i];
		fprintf(out, "%-9s %-5s  %-64s %s\n", r->clause, verdict_name(r->verdict), r->title,
			r->detail);
	}
}

/* Every clause of the documents with its combined verdict; NOT-RUN when
 * --only left it out. */
static void print_coverage(const struct conf_report *rep, FILE *out)
{
	unsigned n[5] = { 0 };
	fprintf(out, "coverage of docs/mgmt-abi.md and docs/guest-abi.md:\n");
	for (const struct conf_clause *k = conf_clauses; k->id; k++) {
		int v = conf_clause_verdict(rep, k->id);
		n[v < 0 ? 4 : v]++;
		fprintf(out, "  %-9s %-7s %s\n", k->id, coverage_name(v),
			k->na_reason && !(rep->trapped && conf_clause_trapped(k->id)) ? k->na_reason
										      : "");
	}
	fprintf(out, "clauses: %u pass, %u fail, %u skip, %u n-a, %u not run\n", n[CONF_PASS],
		n[CONF_FAIL], n[CONF_SKIP], n[CONF_NA], n[4]);
}

static void print_totals(const struct conf_report *rep, FILE *out)
{
	fprintf(out, "%u passed, %u failed, %u skipped\n", rep->passed, rep->failed, rep->skipped);
}

void conf_print_table(const struct conf_report *rep, FILE *out)
{
	print_rows(rep, out);
	print_totals(rep, out);
}

void conf_print_table_coverage(const struct conf_report *rep, FILE *out)
{
	print_rows(rep, out);
	print_coverage(rep, out);
	print_totals(rep, out);
}

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static void print_json(const struct conf_report *rep, FILE *out, bool coverage)
{
	fputs("{\"implementation\":", out);
	json_str(out, rep->implementation);
	fputs(",\"results\":[", out);
	for (unsigned i = 0; i < rep->n_rows; i++) {
		const struct conf_row *r = &rep->rows[i];
		fputs(i ? ",{\"clause\":" : "{\"clause\":", out);
		json_str(out, r->clause);
		fputs(",\"check\":", out);
		json_str(out, r->title);
		fprintf(out, ",\"result\":\"%s\",\"detail\":", verdict_name(r->verdict));
		json_str(out, r->detail);
		fputc('}', out);
	}
	fputc(']', out);
	if (coverage) {
		fputs(",\"coverage\":[", out);
		for (const struct conf_clause *k = conf_clauses; k->id; k++) {
			fputs(k == conf_clauses ? "{\"clause\":" : ",{\"clause\":", out);
			json_str(out, k->id);
			fprintf(out, ",\"result\":\"%s\"}",
				coverage_name(conf_clause_verdict(rep, k->id)));
		}
		fputc(']', out);
	}
	fprintf(out, ",\"passed\":%u,\"failed\":%u,\"skipped\":%u,\"na\":%u}\n", rep->passed,
		rep->failed, rep->skipped, rep->na);
}

void conf_print_json(const struct conf_report *rep, FILE *out)
{
	print_json(rep, out, false);
}
void conf_print_json_coverage(const struct conf_report *rep, FILE *out)
{
	print_json(rep, out, true);
}
