/*
 * conformance.h - the management-interface conformance suite as a library
 * (REQ-STD-07): options, the per-check result rows, and conf_run(), which maps
 * a guest-RAM file, drives the register interface of whatever implementation
 * sits behind it and checks each clause of docs/mgmt-abi.md by clause id.
 *
 * hv-conformance (main.c) is a thin command line around this; the suite's own
 * unit test (selftest.c) calls conf_run() against a test double.
 */
#ifndef HV_CONFORMANCE_H
#define HV_CONFORMANCE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CONF_MAX_ROWS 192
#define CONF_DETAIL_LEN 320
#define CONF_MAX_DECLARED_NA 32

/* A clause the user declares not applicable to the implementation under test
 * (--not-applicable CLAUSE=REASON): a check of it that would be skipped is an
 * N/A row carrying the reason instead. A check of it that runs still passes
 * or fails. */
struct conf_declared_na {
	const char *clause;
	const char *reason;
};

struct conf_opts {
	const char *ram_file;      /* the guest-RAM file (or any file holding the region) */
	uint64_t ram_base;         /* physical address of file offset 0                  */
	uint64_t mgmt_base;        /* physical address of the management region           */
	const char *only;          /* comma-separated clause ids or prefixes; NULL = all   */
	unsigned stress;           /* random commands in the robustness pass; 0 = none    */
	uint64_t seed;             /* seed of the robustness pass                         */
	unsigned timeout_ms;       /* bound on every command completion                   */
	unsigned ready_timeout_ms; /* bound on waiting for hv_state to leave BOOTING      */
	const char *examples_dir;  /* docs/examples for the DEFINE checks; NULL = skip    */
	const char *dtc;           /* device-tree compiler used on the examples           */
	bool verbose;              /* progress lines on stderr                            */
	bool coverage;             /* also print every clause with its verdict            */
	bool trapped;              /* commands over the trapped page, through the relay   */
	uint64_t relay_mbox;       /* trapped: physical address of the relay's mailbox    */
	const char *relay_vm;      /* trapped: the relay VM's name (never driven)         */
	unsigned n_na;             /* clauses declared not applicable, with the reason    */
	struct conf_declared_na na[CONF_MAX_DECLARED_NA];
};

/* CONF_NA: the clause cannot be checked through the shared page (it needs a
 * management VM, a cooperating guest, a special boot), or the user declared it
 * not applicable to this implementation with a reason; its row says why and
 * is not counted in passed, failed or skipped (docs/conformance.md). A
 * skipped check is not a pass: any CONF_SKIP makes the run unsuccessful. */
enum conf_verdict {
	CONF_PASS = 0,
	CONF_FAIL = 1,
	CONF_SKIP = 2,
	CONF_NA = 3
};

struct conf_row {
	const char *clause; /* "MGMT-045" */
	const char *title;
	enum conf_verdict verdict;
	char detail[CONF_DETAIL_LEN];
};

struct conf_report {
	char implementation[192]; /* hv_version, abi and caps as read from the region */
	unsigned n_rows;
	struct conf_row rows[CONF_MAX_ROWS];
	unsigned passed, failed, skipped;
	unsigned na;  /* N/A rows, not counted in the three above */
	bool trapped; /* the run's commands went over the trapped page */
};

/* The clauses of docs/mgmt-abi.md and the guest-visible clauses of
 * docs/guest-abi.md, in document order, each with the reason when it cannot
 * be checked through the shared page (NULL when the suite checks it). */
struct conf_clause {
	const char *id;
	const char *na_reason;
};
extern const struct conf_clause conf_clauses[];

/* Whether the clause is checked when the commands go over the trapped page
 * (--transport trapped, test conformance_trapped); its na_reason then applies
 * only to the polled run. */
bool conf_clause_trapped(const char *id);

/* Fills defaults (RAM 0x40000000, region 0x41000000, 5 s per command; the
 * polled transport; for the trapped one the relay "mgmt-relay" with its
 * mailbox at 0x4c800000, as hv-core/guests/vms/mgmt-relay.dtsi places it). */
void conf_opts_init(struct conf_opts *o);

/* Runs the suite. Returns 0 when the checks ran (the report says how they
 * went), -1 when the region could not be mapped or never became live; then
 * err names the reason and the report holds no rows. */
int conf_run(const struct conf_opts *o, struct conf_report *rep, char *err, size_t errlen);

/* Adds a --not-applicable declaration "CLAUSE=REASON" to o (arg is kept, not
 * copied). Returns false with err naming what is wrong: no '=', an empty
 * reason, a clause id not of the form MGMT-nnn or GABI-nnn, too many. */
bool conf_declare_na(struct conf_opts *o, char *arg, char *err, size_t errlen);

/* The exit status of a run: 0 when every check passed (N/A rows are no
 * checks), 1 when a check failed or was skipped. */
int conf_exit_status(const struct conf_report *rep);

/* The report as the text table ending "N passed, M failed, K skipped". */
void conf_print_table(const struct conf_report *rep, FILE *out);
/* The report as one JSON object; with coverage, a "coverage" array as well. */
void conf_print_json(const struct conf_report *rep, FILE *out);
void conf_print_json_coverage(const struct conf_report *rep, FILE *out);
/* The rows, then (coverage) one line per clause of conf_clauses with its
 * combined verdict, then the totals line, which is always the last. */
void conf_print_table_coverage(const struct conf_report *rep, FILE *out);
/* Combined verdict of a clause over the report's rows: FAIL if any row
 * failed, else PASS if any passed, else SKIP if any was skipped, else N/A.
 * Returns -1 when no row names the clause. */
int conf_clause_verdict(const struct conf_report *rep, const char *id);

#endif /* HV_CONFORMANCE_H */
