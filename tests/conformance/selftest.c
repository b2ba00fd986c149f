/*
 * selftest.c - unit test of the conformance suite itself. Runs against the
 * test double of hv-core (tests/double/hvcore_double.h), playing one RUNNING
 * VM with a live guest: the conforming double passes every check, and each
 * flaw of the double makes the check of the clause it breaks fail (a suite
 * that cannot fail proves nothing). A double that never completes must give a
 * timeout FAIL and the run must end, not hang. It shows the suite notices, not
 * that hv-core conforms: that is conformance_hvcore.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conformance.h"
#include "hvcore_double.h"
#include "relay_mbox.h"

static char dir[64];
static char path[96];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/hv-conf-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/region", dir);
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
}

TestSuite(conformance_selftest, .init = setup, .fini = teardown, .timeout = 120);

/* The double with the given flaw, its region at the start of the file at path,
 * playing one RUNNING VM ("witness") whose guest beats and has written to its
 * console. */
static struct fakecore *start_double(enum fakecore_flaw flaw)
{
	static const struct fakecore_vm witness = {
		.name = "witness",
		.state = HVM_VM_RUNNING,
		.reason = HVM_R_BOOTED,
		.vcpus = 1,
		.pcpu_mask = 2,
		.mem_bytes = 16u << 20,
	};
	struct fakecore *f = fakecore_create(path, FAKECORE_RAM_BASE, FAKECORE_RAM_BASE);
	cr_assert_not_null(f, "the test double did not start");
	fakecore_flaw(f, flaw);
	fakecore_set_vm(f, 0, &witness);
	fakecore_event(f, HVM_EV_STARTED, 0, 0, HVM_R_BOOTED);
	fakecore_console(f, 0, "witness: booted\n", 16);
	fakecore_live_guests(f, true);
	cr_assert_eq(fakecore_start(f), 0);
	return f;
}

/* Whether the next run's double has its OTA commands (MGMT-613). */
static bool with_ota;

/* Runs the suite against the double with the given flaw, with the clause
 * declaration "CLAUSE=REASON" (--not-applicable) unless na is NULL; returns
 * the report. */
static struct conf_report *run_declared(enum fakecore_flaw flaw, const char *only, unsigned stress,
					const char *na)
{
	struct fakecore *f = start_double(flaw);
	if (with_ota)
		fakecore_ota(f, true, false);
	struct conf_opts o;
	conf_opts_init(&o);
	o.ram_file = path;
	o.ram_base = 0x40000000ull;
	o.mgmt_base = 0x40000000ull; /* the double's region starts the file */
	o.only = only;
	o.stress = stress;
	o.seed = 42;
	o.timeout_ms = 300;
	o.ready_timeout_ms = 1000;
	o.examples_dir = NULL;
	static char na_arg[128];
	char err[256];
	if (na) {
		snprintf(na_arg, sizeof(na_arg), "%s", na);
		cr_assert(conf_declare_na(&o, na_arg, err, sizeof(err)), "%s", err);
	}
	static struct conf_report rep;
	int rc = conf_run(&o, &rep, err, sizeof(err));
	fakecore_destroy(f);
	cr_assert_eq(rc, 0, "conf_run: %s", err);
	return &rep;
}

static struct conf_report *run_against(enum fakecore_flaw flaw, const char *only, unsigned stress)
{
	return run_declared(flaw, only, stress, NULL);
}

static void dump(const struct conf_report *rep)
{
	conf_print_table(rep, stderr);
}

/* The verdict of the first row of clause whose title contains words. */
static enum conf_verdict verdict(const struct conf_report *rep, const char *clause,
				 const char *words, const char **detail)
{
	for (unsigned i = 0; i < rep->n_rows; i++) {
		const struct conf_row *r = &rep->rows[i];
		if (!strcmp(r->clause, clause) && strstr(r->title, words)) {
			if (detail)
				*detail = r->detail;
			return r->verdict;
		}
	}
	cr_assert_fail("no row %s '%s'", clause, words);
	return CONF_SKIP;
}

Test(conformance_selftest, conforming_fake_passes_everything)
{
	struct conf_report *rep = run_against(FAKECORE_GOOD, NULL, 300);
	if (rep->failed || getenv("HV_CONF_DUMP"))
		dump(rep);
	cr_expect_eq(rep->failed, 0, "%u checks failed against the conforming fake", rep->failed);
	cr_expect_gt(rep->passed, 30);
	/* skipped: the two docs/examples rows (no examples dir in this run); the
	 * fault rows GABI-060, MGMT-045 CRASHED, MGMT-060/061/062/161 (the fake's
	 * VM never faults) and MGMT-051 (no doorbells); MGMT-048 (no SHUTOFF or
	 * CRASHED VM); MGMT-200/201 (not the QEMU virt placement); MGMT-401,
	 * MGMT-403, MGMT-404 (no safety policy), MGMT-613 (no OTA commands) and
	 * MGMT-500 (no AUDIT_SEQ_GET) */
	cr_expect_eq(rep->skipped, 17, "skipped %u", rep->skipped);
	/* N/A rows: counted apart, one per clause the shared page cannot reach */
	unsigned na = 0;
	for (const struct conf_clause *k = conf_clauses; k->id; k++)
		na += k->na_reason != NULL;
	cr_expect_eq(rep->na, na);
	cr_expect_eq(rep->passed + rep->failed + rep->skipped + rep->na, rep->n_rows);
	/* every clause of the documents has at least one row */
	for (const struct conf_clause *k = conf_clauses; k->id; k++)
		cr_expect_geq(conf_clause_verdict(rep, k->id), 0, "no row for %s", k->id);
}

/* --coverage: one line per clause with its combined verdict, before the
 * totals line, which stays the last. */
Test(conformance_selftest, coverage_lists_every_clause_and_keeps_the_totals_last)
{
	struct conf_report *rep = run_against(FAKECORE_LAX_STATE, "MGMT-04,MGMT-21", 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	cr_assert_not_null(m);
	conf_print_table_coverage(rep, m);
	fclose(m);
	cr_expect(strstr(buf, "\n  MGMT-045  FAIL") != NULL, "%s", buf);
	cr_expect(strstr(buf, "\n  MGMT-044  PASS") != NULL, "%s", buf);
	cr_expect(strstr(buf,
			 "\n  MGMT-210  N-A     checked over the trapped page by test conformance_trapped") !=
			  NULL,
		  "%s", buf);
	cr_expect(strstr(buf, "\n  MGMT-001  NOT-RUN") != NULL, "%s", buf);
	cr_expect(strstr(buf, "\nMGMT-212  N/A") != NULL, "%s", buf);
	char want[64];
	snprintf(want, sizeof(want), "\n%u passed, %u failed", rep->passed, rep->failed);
	char *last = strrchr(buf, '\n');
	cr_assert_not_null(last);
	*last = 0;
	last = strrchr(buf, '\n');
	cr_assert_not_null(last);
	cr_expect(strncmp(last, want, strlen(want)) == 0, "last line: %s", last);
	free(buf);
}

/* MGMT-613: the double's OTA_STATUS, once it has the OTA commands, answers
 * the record of a VM that never had an update. */
Test(conformance_selftest, ota_status_answers_its_record)
{
	with_ota = true;
	struct conf_report *rep = run_against(FAKECORE_GOOD, "MGMT-613", 0);
	with_ota = false;
	const char *detail = NULL;
	cr_expect_eq(verdict(rep, "MGMT-613", "OTA_STATUS", &detail), CONF_PASS, "%s",
		     detail ? detail : "");
}

Test(conformance_selftest, ok_to_unknown_commands_fails_mgmt_030)
{
	struct conf_report *rep = run_against(FAKECORE_OK_UNKNOWN, "MGMT-02,MGMT-03,MGMT-12", 0);
	cr_expect_eq(verdict(rep, "MGMT-030", "unknown codes", NULL), CONF_FAIL);
	cr_expect_eq(verdict(rep, "MGMT-120", "status/ret_msg", NULL), CONF_FAIL);
	cr_expect_eq(verdict(rep, "MGMT-021", "caps bit", NULL), CONF_PASS);
}

Test(conformance_selftest, caps_that_lie_fail_mgmt_021)
{
	struct conf_report *rep = run_against(FAKECORE_CAPS_LIE, "MGMT-021,MGMT-045", 0);
	const char *d;
	cr_expect_eq(verdict(rep, "MGMT-021", "caps bit", &d), CONF_FAIL);
	cr_expect(strstr(d, "SUSPEND is in caps but answers E_UNKNOWN_CMD") != NULL, "%s", d);
	cr_expect_eq(verdict(rep, "MGMT-045", "SUSPEND ->", NULL), CONF_FAIL);
}

Test(conformance_selftest, never_completing_gives_timeout_fail_not_hang)
{
	struct conf_report *rep = run_against(FAKECORE_NEVER_COMPLETE, NULL, 50);
	const char *d;
	cr_expect_eq(verdict(rep, "MGMT-111", "NOP round trip", &d), CONF_FAIL);
	cr_expect(strstr(d, "timeout") != NULL, "detail: %s", d);
	cr_expect(strstr(d, "not completed within 300 ms") != NULL, "detail: %s", d);
	cr_expect_gt(rep->failed, 10);
	/* read-only clauses still pass: the suite tells what works from what does not */
	cr_expect_eq(verdict(rep, "MGMT-001", "magic", NULL), CONF_PASS);
}

Test(conformance_selftest, standing_ticks_fail_mgmt_011)
{
	struct conf_report *rep = run_against(FAKECORE_NO_TICKS, "MGMT-011", 0);
	const char *d;
	cr_expect_eq(verdict(rep, "MGMT-011", "hv_ticks", &d), CONF_FAIL);
	cr_expect(strstr(d, "stood still") != NULL, "detail: %s", d);
}

Test(conformance_selftest, lax_state_machine_fails_mgmt_045)
{
	struct conf_report *rep = run_against(FAKECORE_LAX_STATE, "MGMT-045", 0);
	const char *d;
	cr_expect_eq(verdict(rep, "MGMT-045", "RUNNING:", &d), CONF_FAIL);
	cr_expect(strstr(d, "RESUME on RUNNING") != NULL, "detail: %s", d);
	cr_expect_eq(verdict(rep, "MGMT-045", "RESET ->", NULL), CONF_PASS);
}

Test(conformance_selftest, wedging_on_a_skipped_seq_fails_mgmt_113)
{
	struct conf_report *rep = run_against(FAKECORE_WEDGE_ON_ABUSE, "MGMT-113", 0);
	const char *d;
	cr_expect_eq(verdict(rep, "MGMT-113", "wrong and doubled", &d), CONF_FAIL);
	cr_expect(strstr(d, "wedged") != NULL, "detail: %s", d);
}

Test(conformance_selftest, wrong_magic_is_refused_with_a_reason)
{
	struct fakecore *f = start_double(FAKECORE_BAD_MAGIC);
	struct conf_opts o;
	conf_opts_init(&o);
	o.ram_file = path;
	o.mgmt_base = o.ram_base;
	o.ready_timeout_ms = 200;
	static struct conf_report rep;
	char err[256] = "";
	int rc = conf_run(&o, &rep, err, sizeof(err));
	fakecore_destroy(f);
	cr_expect_eq(rc, -1);
	cr_expect(strstr(err, "magic 0x12345678") != NULL, "err: %s", err);
	cr_expect_eq(rep.n_rows, 0);
}

Test(conformance_selftest, missing_or_small_file_is_refused)
{
	struct conf_opts o;
	conf_opts_init(&o);
	static struct conf_report rep;
	char err[256] = "";
	o.ram_file = "/nonexistent/guest-ram";
	cr_expect_eq(conf_run(&o, &rep, err, sizeof(err)), -1);
	cr_expect(strstr(err, "cannot open") != NULL, "err: %s", err);
	FILE *fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fputs("tiny", fp);
	fclose(fp);
	o.ram_file = path;
	cr_expect_eq(conf_run(&o, &rep, err, sizeof(err)), -1);
	cr_expect(strstr(err, "too small") != NULL, "err: %s", err);
}

Test(conformance_selftest, only_selects_by_clause_prefix)
{
	struct conf_report *rep = run_against(FAKECORE_GOOD, "mgmt-00", 0);
	cr_expect_eq(rep->n_rows, 5); /* MGMT-001..005 */
	for (unsigned i = 0; i < rep->n_rows; i++)
		cr_expect(strncmp(rep->rows[i].clause, "MGMT-00", 7) == 0);
}

/* The last line of the table is exactly "N passed, M failed[, K skipped]";
 * scripts and CI parse it. */
Test(conformance_selftest, table_and_json_formats)
{
	struct conf_report *rep = run_against(FAKECORE_LAX_STATE, "MGMT-00,MGMT-045", 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	cr_assert_not_null(m);
	conf_print_table(rep, m);
	fclose(m);
	char want[64];
	snprintf(want, sizeof(want), "\n%u passed, %u failed, %u skipped\n", rep->passed,
		 rep->failed, rep->skipped);
	cr_expect(rep->failed > 0 && rep->skipped > 0);
	cr_expect(len > strlen(want) && strcmp(buf + len - strlen(want), want) == 0,
		  "table ends: %s", buf);
	cr_expect(strstr(buf, "\nMGMT-001  PASS") != NULL, "%s", buf);
	cr_expect(strstr(buf, "\nMGMT-045  FAIL") != NULL, "%s", buf);
	free(buf);

	m = open_memstream(&buf, &len);
	cr_assert_not_null(m);
	conf_print_json(rep, m);
	fclose(m);
	cr_expect(strncmp(buf, "{\"implementation\":\"\\\"" FAKECORE_VERSION "\\\"", 41) == 0, "%s",
		  buf);
	cr_expect(strstr(buf, "{\"clause\":\"MGMT-045\",\"check\":") != NULL, "%s", buf);
	snprintf(want, sizeof(want), "\"passed\":%u,\"failed\":%u,\"skipped\":%u,\"na\":%u}\n",
		 rep->passed, rep->failed, rep->skipped, rep->na);
	cr_expect(strstr(buf, want) != NULL, "%s", buf);
	free(buf);
}

/* A skipped check is not a pass: it is counted, printed in the totals line
 * and makes the run unsuccessful. The double's VM rings no doorbell, so
 * MGMT-051 has nothing to check. */
Test(conformance_selftest, a_skip_fails_the_run)
{
	struct conf_report *rep = run_against(FAKECORE_GOOD, "MGMT-001,MGMT-051", 0);
	cr_expect_eq(verdict(rep, "MGMT-051", "DOORBELL_DENIED", NULL), CONF_SKIP);
	cr_expect_eq(rep->passed, 1);
	cr_expect_eq(rep->skipped, 1);
	cr_expect_eq(conf_exit_status(rep), 1, "a run with a skip must not succeed");
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	cr_assert_not_null(m);
	conf_print_table(rep, m);
	fclose(m);
	cr_expect(strstr(buf, "\n1 passed, 0 failed, 1 skipped\n") != NULL, "%s", buf);
	free(buf);
}

/* Declared not applicable with a reason, the same skip is an N/A row that
 * names the reason, and the run succeeds; a declared clause that runs is
 * still checked. */
Test(conformance_selftest, a_declared_clause_is_na_with_its_reason)
{
	struct conf_report *rep = run_declared(FAKECORE_GOOD, "MGMT-001,MGMT-051", 0,
					       "mgmt-051=no VM of this target has channels");
	const char *d;
	cr_expect_eq(verdict(rep, "MGMT-051", "DOORBELL_DENIED", &d), CONF_NA);
	cr_expect(strstr(d, "declared not applicable: no VM of this target has channels") != NULL,
		  "%s", d);
	cr_expect_eq(rep->skipped, 0);
	cr_expect_eq(rep->na, 1);
	cr_expect_eq(conf_exit_status(rep), 0);
	rep = run_declared(FAKECORE_GOOD, "MGMT-001", 0, "MGMT-001=not a skip");
	cr_expect_eq(verdict(rep, "MGMT-001", "magic", NULL), CONF_PASS);
}

/* A declaration without a reason, or of something that is no clause id, is
 * refused with a message naming the problem. */
Test(conformance_selftest, bad_declarations_are_refused)
{
	struct conf_opts o;
	conf_opts_init(&o);
	char err[160];
	char a1[] = "MGMT-051", a2[] = "MGMT-051=  ", a3[] = "MGMT-51=why";
	cr_expect_not(conf_declare_na(&o, a1, err, sizeof(err)));
	cr_expect(strstr(err, "needs CLAUSE=REASON") != NULL, "%s", err);
	cr_expect_not(conf_declare_na(&o, a2, err, sizeof(err)));
	cr_expect(strstr(err, "MGMT-051: the reason is empty") != NULL, "%s", err);
	cr_expect_not(conf_declare_na(&o, a3, err, sizeof(err)));
	cr_expect(strstr(err, "'MGMT-51' is not a clause id") != NULL, "%s", err);
	cr_expect_eq(o.n_na, 0);
}

/* ---- the trapped transport, against a stand-in for the relay VM ------------
 *
 * A thread plays mgmt-relay (hv-core/guests/mgmt-relay): it serves the
 * mailbox in the file by driving the double's page, and reports what it saw
 * as the real relay does. With late set it reports that done_seq still held
 * the old value at the first load after the store, as a transport that does
 * not complete before the store retires would (MGMT-112). */

#define RELAY_FILE_OFF 0x1000000ull /* past the double's region and staging area */

struct fake_relay {
	struct fakecore *f;
	volatile struct relay_mbox *m;
	void *map;
	size_t len;
	bool late, stop;
	pthread_t thread;
};

static void relay_command(struct fake_relay *fr)
{
	volatile struct relay_mbox *m = fr->m;
	volatile struct hvm_regs *r = fakecore_regs(fr->f);
	volatile uint8_t *area = fakecore_base(fr->f) + HVM_OFF_DATA;
	volatile uint8_t *data = (volatile uint8_t *)m + RELAY_DATA_OFF;
	for (uint64_t i = 0; i < m->data_len; i++)
		area[i] = data[i];
	uint32_t done = __atomic_load_n(&r->done_seq, __ATOMIC_ACQUIRE);
	r->cmd = m->cmd;
	r->vm_id = m->vm_id;
	for (unsigned i = 0; i < 6; i++)
		r->arg[i] = m->arg[i];
	uint32_t seq = done + 1;
	__atomic_store_n(&r->req_seq, seq, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < 20000 && __atomic_load_n(&r->done_seq, __ATOMIC_ACQUIRE) != seq; i++)
		usleep(100);
	m->done_before = m->req_before = done;
	m->req_written = seq;
	m->done_last = r->done_seq;
	m->done_first = fr->late ? done : m->done_last;
	if (m->done_last != seq) {
		m->error = RELAY_E_TIMEOUT;
		return;
	}
	m->status = r->status;
	for (unsigned i = 0; i < 6; i++)
		m->ret[i] = r->ret[i];
	for (unsigned i = 0; i < 64; i++)
		m->ret_msg[i] = r->ret_msg[i];
	for (uint64_t i = 0; i < m->data_len; i++)
		data[i] = area[i];
}

static void *relay_main(void *arg)
{
	struct fake_relay *fr = arg;
	volatile struct relay_mbox *m = fr->m;
	volatile uint8_t *page = fakecore_base(fr->f);
	while (!__atomic_load_n(&fr->stop, __ATOMIC_ACQUIRE)) {
		uint32_t req = __atomic_load_n(&m->req, __ATOMIC_ACQUIRE);
		if (req == m->ack) {
			usleep(100);
			continue;
		}
		m->error = RELAY_OK;
		if (m->op == RELAY_OP_COMMAND)
			relay_command(fr);
		else if (m->op == RELAY_OP_LOAD)
			m->value = m->width == 8 ? *(volatile uint64_t *)(page + m->off)
						 : *(volatile uint32_t *)(page + m->off);
		else if (m->op == RELAY_OP_STORE && m->width == 8)
			*(volatile uint64_t *)(page + m->off) = m->value;
		else if (m->op == RELAY_OP_STORE)
			*(volatile uint32_t *)(page + m->off) = (uint32_t)m->value;
		__atomic_store_n(&m->ack, req, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* The double with a VM named mgmt-relay, and (serve) the relay's thread. */
static struct fake_relay *start_relay(bool serve, bool late)
{
	static struct fake_relay fr;
	memset(&fr, 0, sizeof(fr));
	fr.f = start_double(FAKECORE_GOOD);
	static const struct fakecore_vm relay = {
		.name = "mgmt-relay",
		.state = HVM_VM_RUNNING,
		.reason = HVM_R_BOOTED,
		.vcpus = 1,
		.pcpu_mask = 4,
		.mem_bytes = 16u << 20,
	};
	fakecore_set_vm(fr.f, 1, &relay);
	fr.len = RELAY_DATA_OFF + RELAY_DATA_SIZE;
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)(RELAY_FILE_OFF + fr.len)), 0);
	fr.map = mmap(NULL, fr.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)RELAY_FILE_OFF);
	close(fd);
	cr_assert_neq(fr.map, MAP_FAILED);
	fr.m = fr.map;
	fr.late = late;
	if (serve) {
		fr.m->relay_ok = 1;
		fr.m->dt_found = 1;
		fr.m->dt_no_map = 1;
		fr.m->dt_base = HVM_DEFAULT_BASE;
		fr.m->dt_size = HVM_REGION_SIZE;
		snprintf((char *)fr.m->dt_path, sizeof(fr.m->dt_path),
			 "/reserved-memory/hv-mgmt@41000000");
		fr.m->magic = RELAY_MAGIC;
		cr_assert_eq(pthread_create(&fr.thread, NULL, relay_main, &fr), 0);
	}
	return &fr;
}

static void stop_relay(struct fake_relay *fr, bool served)
{
	if (served) {
		__atomic_store_n(&fr->stop, true, __ATOMIC_RELEASE);
		pthread_join(fr->thread, NULL);
	}
	munmap(fr->map, fr->len);
	fakecore_destroy(fr->f);
}

static int run_trapped(bool serve, bool late, const char *only, struct conf_report *rep, char *err,
		       size_t errlen)
{
	struct fake_relay *fr = start_relay(serve, late);
	struct conf_opts o;
	conf_opts_init(&o);
	o.ram_file = path;
	o.ram_base = 0x40000000ull;
	o.mgmt_base = 0x40000000ull;
	o.trapped = true;
	o.relay_mbox = 0x40000000ull + RELAY_FILE_OFF;
	o.only = only;
	o.timeout_ms = 300;
	o.ready_timeout_ms = 1000;
	int rc = conf_run(&o, rep, err, errlen);
	stop_relay(fr, serve);
	return rc;
}

Test(conformance_selftest, commands_through_a_relay_run_over_the_trapped_page)
{
	static struct conf_report rep;
	char err[256];
	cr_assert_eq(run_trapped(true, false, "MGMT-11,MGMT-03,MGMT-210", &rep, err, sizeof(err)),
		     0, "%s", err);
	if (rep.failed || rep.skipped != 1 || getenv("HV_CONF_DUMP"))
		dump(&rep);
	cr_expect(strstr(rep.implementation, "commands over the trapped page") != NULL);
	cr_expect_eq(rep.failed, 0);
	cr_expect_eq(rep.skipped, 1); /* the docs/examples row: no examples dir here */
	cr_expect_eq(verdict(&rep, "MGMT-111", "NOP round trip", NULL), CONF_PASS);
	cr_expect_eq(verdict(&rep, "MGMT-113", "wrong and doubled", NULL), CONF_PASS);
	cr_expect_eq(verdict(&rep, "MGMT-030", "bad vm id", NULL), CONF_PASS);
	cr_expect_eq(verdict(&rep, "MGMT-210", "device tree", NULL), CONF_PASS);
	const char *detail = NULL;
	cr_expect_eq(verdict(&rep, "MGMT-112", "req_seq write", &detail), CONF_PASS);
	cr_expect(strstr(detail, "trapped page:") != NULL, "%s", detail);
	/* MGMT-210 is checked in this run: no N/A row for it */
	cr_expect_eq(conf_clause_verdict(&rep, "MGMT-210"), CONF_PASS);
}

Test(conformance_selftest, a_late_answer_on_the_trapped_page_fails_mgmt_112)
{
	static struct conf_report rep;
	char err[256];
	cr_assert_eq(run_trapped(true, true, "MGMT-112", &rep, err, sizeof(err)), 0, "%s", err);
	const char *detail = NULL;
	cr_expect_eq(verdict(&rep, "MGMT-112", "req_seq write", &detail), CONF_FAIL);
	cr_expect(strstr(detail, "not complete when the store retired") != NULL, "%s", detail);
}

Test(conformance_selftest, a_relay_that_never_serves_is_refused_with_a_reason)
{
	static struct conf_report rep;
	char err[256];
	cr_assert_eq(run_trapped(false, false, "MGMT-111", &rep, err, sizeof(err)), -1);
	cr_expect(strstr(err, "the relay never announced its mailbox") != NULL, "%s", err);
	cr_expect_eq(rep.n_rows, 0);
}
