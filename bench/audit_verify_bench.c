/*
 * hv-audit-bench - how long hv-agent's start-up check of the keyed audit log
 * takes with N rows (REQ-SAF-16, docs/security.md "The audit record").
 *
 *   hv-audit-bench [ROWS] [DIR]      (default 1000000 rows, a fresh temporary directory)
 *
 * Builds a sealed database (key, head file, seal row) through the store, adds
 * ROWS rows in one transaction with their SHA-256 links and HMACs computed as
 * the store computes them, then times store_open_sealed (structure check, SHA
 * chain, HMAC chain, head file) and store_audit_verify, three times each, and
 * prints one line per measurement ("before"). Then it folds the log under
 * hv-agent's default retention limits (STORE_RETAIN_ROWS_DEFAULT,
 * STORE_RETAIN_BYTES_DEFAULT) into a checkpoint, timing the fold, and measures
 * both again ("after": verification starts at the checkpoint). Figures mean something only from the
 * non-sanitized build of bench/run.sh.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store_internal.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* CPU time of this process: the figure that does not depend on how busy
 * the machine is. */
static double cpu_s(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static int die(const char *what, const char *msg)
{
	fprintf(stderr, "hv-audit-bench: %s: %s\n", what, msg);
	return 1;
}

/* Rows 2..rows+1 after the seal row, as store_audit_append would write them. */
static int fill(const char *db, const char *keyfile, uint64_t rows)
{
	uint8_t key[32], prev_hash[32], prev_mac[32];
	FILE *f = fopen(keyfile, "rb");
	if (!f || fread(key, 1, 32, f) != 32)
		return die(keyfile, "cannot read the key");
	fclose(f);
	sqlite3 *h;
	sqlite3_stmt *last, *ins;
	if (sqlite3_open(db, &h) != SQLITE_OK)
		return die(db, sqlite3_errmsg(h));
	sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
	if (sqlite3_prepare_v2(h, "SELECT hash, mac FROM audit_log WHERE seq = 1", -1, &last,
			       NULL) != SQLITE_OK ||
	    sqlite3_step(last) != SQLITE_ROW)
		return die(db, "no seal row");
	memcpy(prev_hash, sqlite3_column_blob(last, 0), 32);
	memcpy(prev_mac, sqlite3_column_blob(last, 1), 32);
	sqlite3_finalize(last);
	sqlite3_prepare_v2(h,
			   "INSERT INTO audit_log (seq, time_ms, caller, role, rpc, args, outcome, "
			   "hash, mac) VALUES (?, ?, 'unix-rw', 'admin', 'hvmgr.v1.Hvmgr/Start', ?, "
			   "'OK', ?, ?)",
			   -1, &ins, NULL);
	int64_t t = store_now_ms();
	for (uint64_t seq = 2; seq <= rows + 1; seq++) {
		char args[48];
		uint8_t hash[32], mac[32];
		snprintf(args, sizeof args, "vm=name:web%" PRIu64, seq % 16);
		store_audit_row_hash(prev_hash, seq, t, "unix-rw", "admin", "hvmgr.v1.Hvmgr/Start",
				     args, "OK", hash);
		store_audit_mac(key, prev_mac, hash, mac);
		sqlite3_bind_int64(ins, 1, (int64_t)seq);
		sqlite3_bind_int64(ins, 2, t);
		sqlite3_bind_text(ins, 3, args, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(ins, 4, hash, 32, SQLITE_TRANSIENT);
		sqlite3_bind_blob(ins, 5, mac, 32, SQLITE_TRANSIENT);
		if (sqlite3_step(ins) != SQLITE_DONE)
			return die(db, sqlite3_errmsg(h));
		sqlite3_reset(ins);
		memcpy(prev_hash, hash, 32);
		memcpy(prev_mac, mac, 32);
	}
	sqlite3_finalize(ins);
	sqlite3_stmt *up;
	sqlite3_prepare_v2(h, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", -1, &up, NULL);
	sqlite3_bind_int64(up, 1, (int64_t)rows + 1);
	sqlite3_bind_blob(up, 2, prev_hash, 32, SQLITE_STATIC);
	int rc = sqlite3_step(up);
	sqlite3_finalize(up);
	if (rc != SQLITE_DONE || sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return die(db, sqlite3_errmsg(h));
	sqlite3_close(h);
	return 0;
}

/* store_open_sealed and store_audit_verify, three runs. */
static int measure(const char *label, const char *db, const struct store_seal *seal)
{
	int rc = 0;
	for (int i = 0; i < 3 && rc == 0; i++) {
		struct store *st;
		struct store_err e;
		double t0 = now_s(), c0 = cpu_s();
		if (store_open_sealed(db, seal, &st, &e) != STORE_OK)
			return die(db, e.msg);
		double open_s = now_s() - t0, open_cpu = cpu_s() - c0;
		if (store_audit_tampered(st, &e))
			rc = die("finding", e.msg);
		t0 = now_s();
		c0 = cpu_s();
		if (!rc && store_audit_verify(st, &e) != STORE_OK)
			rc = die("verify", e.msg);
		printf("%s, run %d: store_open_sealed %.3f s (cpu %.3f s), store_audit_verify "
		       "%.3f s (cpu %.3f s)\n",
		       label, i + 1, open_s, open_cpu, now_s() - t0, cpu_s() - c0);
		store_close(st);
	}
	return rc;
}

int main(int argc, char **argv)
{
	uint64_t rows = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	char dir[256], db[320], key[320], head[320];
	if (argc > 2)
		snprintf(dir, sizeof dir, "%s", argv[2]);
	else if (!mkdtemp(strcpy(dir, "/tmp/hv-audit-bench-XXXXXX")))
		return die("mkdtemp", "failed");
	snprintf(db, sizeof db, "%s/hv-agent.db", dir);
	snprintf(key, sizeof key, "%s/audit.key", dir);
	snprintf(head, sizeof head, "%s/audit.head", dir);
	if (rows == 0 || rows > 100000000)
		return die("ROWS", "must be 1..100000000");

	struct store_seal seal = { key, head };
	struct store *st;
	struct store_err e;
	if (store_open_sealed(db, &seal, &st, &e) != STORE_OK)
		return die(db, e.msg);
	store_close(st);
	double t0 = now_s();
	if (fill(db, key, rows) != 0)
		return 1;
	printf("audit rows: %" PRIu64 " (written in %.2f s)\n", rows + 1, now_s() - t0);

	int rc = measure("before", db, &seal);
	if (rc == 0) {
		uint64_t folded = 0;
		if (store_open_sealed(db, &seal, &st, &e) != STORE_OK)
			return die(db, e.msg);
		t0 = now_s();
		double c0 = cpu_s();
		if (store_retention_set(st, STORE_RETAIN_ROWS_DEFAULT, STORE_RETAIN_BYTES_DEFAULT,
					&e) != STORE_OK ||
		    store_audit_retain(st, &folded, &e) != STORE_OK)
			rc = die("fold", e.msg);
		else
			printf("fold at the default limits (%u rows, %u bytes): %" PRIu64
			       " rows in %.3f s (cpu %.3f s)\n",
			       STORE_RETAIN_ROWS_DEFAULT, STORE_RETAIN_BYTES_DEFAULT, folded,
			       now_s() - t0, cpu_s() - c0);
		store_close(st);
	}
	if (rc == 0)
		rc = measure("after", db, &seal);
	if (argc <= 2) {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "hv-audit-bench: could not remove %s\n", dir);
	}
	return rc;
}
