/*
 * runner.c - runs the conformance check tables in order, filters them by
 * clause id (--only), and prints the report as a table or as JSON.
 *
 * Order matters: read-only checks first (the guest-visible ones while a
 * faulted VM still shows its fault), then DEFINE, then the state machine
 * (which leaves the driven VM RUNNING again), then the robustness pass, which
 * needs running VMs as witnesses. Clauses that cannot be checked through the
 * shared page get an N/A row with the reason (coverage.c), so the report
 * accounts for every clause of the documents.
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

int conf_run(const struct conf_opts *o, struct conf_report *rep, char *err, size_t errlen)
{
	memset(rep, 0, sizeof(*rep));
	struct conf c;
	if (conf_open(&c, o, err, errlen) != 0)
		return -1;
	char ver[33];
	conf_copy_in(ver, c.r->hv_version, 32);
	ver[32] = 0;
	for (char *q = ver; *q; q++)
		if (!isprint((unsigned char)*q))
			*q = '?';
	snprintf(rep->implementation, sizeof(rep->implementation), "\"%s\" abi %u.%u caps 0x%llx",
		 ver, c.r->abi_major, c.r->abi_minor, (unsigned long long)c.caps);

	const struct conf_check *const tables[] = {
		conf_checks_region, conf_checks_commands,  conf_checks_records, conf_checks_guest,
		conf_checks_define, conf_checks_lifecycle, conf_checks_clauses, conf_checks_stress,
	};
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
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
			if (res.verdict == CONF_PASS)
				rep->passed++;
			else if (res.verdict == CONF_FAIL)
				rep->failed++;
			else
				rep->skipped++;
		}
	}
	for (const struct conf_clause *k = conf_clauses; k->id; k++) {
		if (!k->na_reason || !selected(o->only, k->id) || rep->n_rows >= CONF_MAX_ROWS)
			continue;
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
			k->na_reason ? k->na_reason : "");
	}
	fprintf(out, "clauses: %u pass, %u fail, %u skip, %u n-a, %u not run\n", n[CONF_PASS],
		n[CONF_FAIL], n[CONF_SKIP], n[CONF_NA], n[4]);
}

static void print_totals(const struct conf_report *rep, FILE *out)
{
	fprintf(out, "%u passed, %u failed", rep->passed, rep->failed);
	if (rep->skipped)
		fprintf(out, ", %u skipped", rep->skipped);
	fputc('\n', out);
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
