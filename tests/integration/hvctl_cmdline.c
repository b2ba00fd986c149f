/*
 * hvctl_cmdline.c - hvctl's own side, with no hypervisor (suite hvctl_local):
 * help, the man page and the bash completion generated from the command
 * table, command-line errors (exit 2), an unreachable hv-agent (exit 3), and
 * configurations refused before anything is sent: every
 * docs/examples/invalid-*.dts with the clause it breaks, a corrupt .dts
 * (dtc's error lines), a missing file (exit 4). The same CLI against the real
 * stack: hvctl_cli.c.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent_harness.h"
#include "hvctl_testlib.h"

static char tmp[64];

/* The verbs the operator's documentation promises (docs/hvctl.md). */
static const char *const verbs[] = {
	"list",     "dominfo",        "domstate",        "domid",   "domname",  "domuuid",
	"domstats", "start",          "shutdown",        "destroy", "reboot",   "reset",
	"suspend",  "resume",         "autostart",       "define",  "undefine", "dumpconfig",
	"edit",     "config-history", "config-rollback", "console", "event",    "faults",
	"selftest", "diag",           "audit",           "health",  "version",  "pki",
	"help",
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

static void local_setup(void)
{
	out = err = NULL;
	snprintf(tmp, sizeof tmp, "/tmp/hvctl-cli-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	snprintf(uri, sizeof uri, "unix://%s/none.sock", tmp);
}

static void local_teardown(void)
{
	free(out);
	free(err);
	out = err = NULL;
	remove_tree(tmp);
}

TestSuite(hvctl_local, .init = local_setup, .fini = local_teardown, .timeout = 120);

Test(hvctl_local, help_lists_every_verb_and_the_exit_statuses)
{
	cr_assert_eq(HVRAW("help"), OK, "%s", err);
	for (size_t i = 0; i < NVERBS; i++) {
		char line[64];
		snprintf(line, sizeof line, "\n  %s ", verbs[i]);
		cr_expect_not_null(strstr(out, line), "help lacks '%s':\n%s", verbs[i], out);
	}
	cr_assert_not_null(strstr(out, "exit status:"), "%s", out);
	static const char *const codes[] = { "  0  ok",          "  1  failed",    "  2  usage",
					     "  3  unreachable", "  4  not found", "  5  denied" };
	for (size_t i = 0; i < 6; i++)
		cr_expect_not_null(strstr(out, codes[i]), "help lacks '%s'", codes[i]);
	/* --help is the same text */
	char *help = strdup(out);
	cr_assert_eq(HVRAW("--help"), OK);
	cr_assert_str_eq(out, help);
	free(help);
}

/* The exit-status table of `hvctl help` as "N|name|meaning\n" lines, its
 * wrapped lines joined. */
static void help_exit_table(const char *help, char *buf, size_t len)
{
	const char *p = strstr(help, "\nexit status:\n");
	size_t n = 0;

	cr_assert_not_null(p, "%s", help);
	buf[0] = '\0';
	for (p = strchr(p + 1, '\n') + 1; *p; p = strchr(p, '\n') + 1) {
		const char *eol = strchr(p, '\n');
		cr_assert_not_null(eol);
		const char *t = p + strspn(p, " ");
		if (t - p == 2) { /* "  N  name (12 columns) meaning..." */
			int nl = 12;
			cr_assert(t[0] >= '0' && t[0] <= '9' && eol - t > 3 + 13, "%.*s",
				  (int)(eol - p), p);
			while (nl && t[3 + nl - 1] == ' ')
				nl--;
			if (n)
				buf[n - 1] = '\n'; /* the space a continuation would have added */
			n += (size_t)snprintf(buf + n, len - n, "%c|%.*s|", t[0], nl, t + 3);
			t += 3 + 13;
		}
		n += (size_t)snprintf(buf + n, len - n, "%.*s ", (int)(eol - t), t);
		cr_assert_lt(n, len);
	}
	if (n)
		buf[n - 1] = '\n';
}

/* The "| N | name | meaning |" rows after heading in a Markdown file, in the
 * same form. */
static void doc_exit_table(const char *file, const char *heading, char *buf, size_t len)
{
	char path[512];
	size_t n = 0;

	snprintf(path, sizeof path, "%s/%s", HV_SOURCE_DIR, file);
	char *text = read_file_text(path);
	cr_assert_not_null(text, "cannot read %s", path);
	const char *p = strstr(text, heading);
	cr_assert_not_null(p, "%s has no '%s'", file, heading);
	p = strstr(p, "| Status | Name | When |\n|---|---|---|\n");
	cr_assert_not_null(p, "%s: no exit-status table after '%s'", file, heading);
	p = strchr(strchr(p, '\n') + 1, '\n') + 1;
	buf[0] = '\0';
	while (p[0] == '|') {
		int code, a, b;
		char name[32];
		const char *eol = strchr(p, '\n');
		cr_assert_not_null(eol);
		cr_assert_eq(sscanf(p, "| %d | %n%31[a-z ]%n", &code, &a, name, &b), 2, "%.*s",
			     (int)(eol - p), p);
		size_t nl = strlen(name);
		while (nl && name[nl - 1] == ' ')
			name[--nl] = '\0';
		const char *m = p + b + strspn(p + b, "| ");
		const char *end = eol;
		while (end > m && (end[-1] == '|' || end[-1] == ' '))
			end--;
		n += (size_t)snprintf(buf + n, len - n, "%d|%s|%.*s\n", code, name, (int)(end - m),
				      m);
		cr_assert_lt(n, len);
		p = eol + 1;
	}
	free(text);
}

/* docs/hvctl.md is the one description of hvctl; docs/api.md repeats only the
 * exit statuses. Both tables must say exactly what `hvctl help` (cli/table.c)
 * says. */
Test(hvctl_local, exit_status_tables_in_the_docs_match_help)
{
	char help[4096], doc[4096];

	cr_assert_eq(HVRAW("help"), OK, "%s", err);
	help_exit_table(out, help, sizeof help);
	cr_assert_eq(count_of(help, "\n"), 6, "%s", help);
	doc_exit_table("docs/hvctl.md", "## Exit status", doc, sizeof doc);
	cr_expect_str_eq(doc, help, "docs/hvctl.md differs from hvctl help:\n%s\n---\n%s", doc, help);
	doc_exit_table("docs/api.md", "## hvctl", doc, sizeof doc);
	cr_expect_str_eq(doc, help, "docs/api.md differs from hvctl help:\n%s\n---\n%s", doc, help);
}

Test(hvctl_local, help_verb_shows_usage_and_options)
{
	for (size_t i = 0; i < NVERBS; i++) {
		char usage[64];
		cr_assert_eq(HVRAW("help", verbs[i]), OK, "help %s: %s", verbs[i], err);
		snprintf(usage, sizeof usage, "usage: hvctl %s", verbs[i]);
		cr_expect_eq(strncmp(out, usage, strlen(usage)), 0, "help %s:\n%s", verbs[i], out);
	}
	cr_assert_eq(HVRAW("help", "list"), OK);
	static const char *const list_opts[] = { "--all",           "--state-running",
						 "--state-shutoff", "--state-paused",
						 "--name",          "--uuid",
						 "--json" };
	for (size_t i = 0; i < sizeof list_opts / sizeof list_opts[0]; i++)
		cr_expect_not_null(strstr(out, list_opts[i]), "help list lacks %s", list_opts[i]);
	cr_assert_eq(HVRAW("help", "start"), OK);
	cr_expect_not_null(strstr(out, "--console"), "%s", out);
	cr_assert_eq(HVRAW("help", "autostart"), OK);
	cr_expect_not_null(strstr(out, "--disable"), "%s", out);
	cr_assert_eq(HVRAW("help", "dumpconfig"), OK);
	cr_expect_not_null(strstr(out, "--revision N"), "%s", out);
	cr_assert_eq(HVRAW("help", "event"), OK);
	static const char *const ev_opts[] = { "--loop", "--domain VM", "--event TYPE",
					       "--timeout SECS" };
	for (size_t i = 0; i < 4; i++)
		cr_expect_not_null(strstr(out, ev_opts[i]), "help event lacks %s", ev_opts[i]);
}

Test(hvctl_local, help_for_an_unknown_verb_is_a_usage_error)
{
	cr_assert_eq(HVRAW("help", "frobnicate"), USAGE);
	cr_assert_str_eq(out, "");
	cr_assert_not_null(strstr(err, "unknown command 'frobnicate'"), "%s", err);
	cr_assert_eq(HVRAW("frobnicate"), USAGE);
	cr_assert_not_null(strstr(err, "unknown command 'frobnicate'"), "%s", err);
	cr_assert_eq(HVRAW("help", "list", "extra"), USAGE);
}

/* The verbs `hvctl help` lists (its command table), in order. */
static int table_verbs(char names[][32], int max)
{
	int n = 0;
	cr_assert_eq(HVRAW("help"), OK);
	char *text = strdup(out), *save = NULL;
	int in_cmds = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] != ' ') {
			size_t l = strlen(line);
			in_cmds = l && line[l - 1] == ':' && strcmp(line, "global options:") != 0 &&
				  strcmp(line, "exit status:") != 0;
			continue;
		}
		if (in_cmds && line[1] == ' ' && line[2] != ' ' && n < max)
			sscanf(line + 2, "%31s", names[n++]);
	}
	free(text);
	return n;
}

Test(hvctl_local, man_page_is_generated_from_the_table_and_renders)
{
	char names[64][32], needle[96];
	int n = table_verbs(names, 64);

	cr_assert_geq(n, (int)NVERBS);
	cr_assert_eq(HVRAW("--man"), OK, "%s", err);
	cr_assert_eq(strncmp(out, ".\\\" hvctl.1", 11), 0, "%.80s", out);
	cr_assert_not_null(strstr(out, ".TH HVCTL 1"), "no .TH");
	for (int i = 0; i < n; i++) {
		/* roff writes a hyphen in a command name as \- */
		char esc[64];
		size_t k = 0;
		for (const char *c = names[i]; *c && k + 3 < sizeof esc; c++) {
			if (*c == '-')
				esc[k++] = '\\';
			esc[k++] = *c;
		}
		esc[k] = '\0';
		snprintf(needle, sizeof needle, "\n.B %s\n", esc);
		cr_expect_not_null(strstr(out, needle), "man page lacks command %s", names[i]);
	}
	cr_expect_not_null(strstr(out, ".SH EXIT STATUS"), "no EXIT STATUS");
	cr_expect_not_null(strstr(out, ".SH ENVIRONMENT"), "no ENVIRONMENT");
	cr_expect_not_null(strstr(out, "HVCTL_CONNECT"), "no HVCTL_CONNECT");
	/* The build installed the same text. */
	char *built = read_file_text(MAN_FILE);
	cr_assert_not_null(built, "the build did not write %s", MAN_FILE);
	cr_expect_str_eq(built, out, "%s differs from hvctl --man", MAN_FILE);
	free(built);
	/* man renders it without a groff warning. */
	setenv("MANWIDTH", "80", 1);
	int rc = run_prog("/usr/bin/man",
			  (const char *const[]){ "--warnings", "-l", MAN_FILE, NULL });
	cr_assert_eq(rc, 0, "man -l: %s", err);
	cr_expect_str_eq(err, "", "man warnings:\n%s", err);
	cr_expect_not_null(strstr(out, "EXIT STATUS"), "%.400s", out);
	cr_expect_not_null(strstr(out, "config-rollback"), "%.400s", out);
}

Test(hvctl_local, bash_completion_is_generated_from_the_table)
{
	char names[64][32], needle[96];
	int n = table_verbs(names, 64);

	cr_assert_eq(HVRAW("--completion", "bash"), OK, "%s", err);
	char *script = strdup(out);
	char *built = read_file_text(COMPLETION_FILE);
	cr_assert_not_null(built, "the build did not write %s", COMPLETION_FILE);
	cr_expect_str_eq(built, script);
	free(built);
	for (int i = 0; i < n; i++) {
		snprintf(needle, sizeof needle, "\n        %.60s) opts=", names[i]);
		cr_expect_not_null(strstr(script, needle), "completion lacks command %s", names[i]);
	}
	cr_assert_not_null(strstr(script, "list --all --name"),
			   "VM names do not come from list --all --name");
	cr_assert_not_null(strstr(script, "complete -F _hvctl hvctl"));
	free(script);

	cr_assert_eq(run_prog("/bin/bash", (const char *const[]){ "-n", COMPLETION_FILE, NULL }), 0,
		     "%s", err);
	/* Verbs, options and option values complete. */
	cr_assert_eq(complete_words(COMPLETION_FILE, "hvctl dom"), 0, "%s", err);
	cr_assert_str_eq(out, "dominfo\ndomstate\ndomid\ndomname\ndomuuid\ndomstats\n");
	cr_assert_eq(complete_words(COMPLETION_FILE, "hvctl list --state-"), 0, "%s", err);
	cr_assert_str_eq(out, "--state-running\n--state-paused\n--state-shutoff\n--state-other\n");
	cr_assert_eq(complete_words(COMPLETION_FILE, "hvctl event --event sta"), 0, "%s", err);
	cr_assert_str_eq(out, "started\n");
	cr_assert_eq(complete_words(COMPLETION_FILE, "hvctl --conn"), 0, "%s", err);
	cr_assert_str_eq(out, "--connect\n");
	cr_assert_eq(HVRAW("--completion", "zsh"), USAGE);
}

Test(hvctl_local, command_line_errors_exit_2_with_the_usage)
{
	cr_assert_eq(HVRAW("--bogus", "list"), USAGE);
	cr_assert_not_null(strstr(err, "unknown option '--bogus'"), "%s", err);
	cr_assert_eq(run((const char *const[]){ NULL }), USAGE);
	cr_assert_eq(HVRAW("--connect"), USAGE);
	cr_assert_eq(HV("dominfo"), USAGE);
	cr_assert_not_null(strstr(err, "missing argument"), "%s", err);
	cr_assert_not_null(strstr(err, "usage: hvctl dominfo"), "%s", err);
	cr_assert_eq(HV("dominfo", "a", "b"), USAGE);
	cr_assert_not_null(strstr(err, "unexpected argument 'b'"), "%s", err);
	cr_assert_eq(HV("list", "--bogus"), USAGE);
	cr_assert_not_null(strstr(err, "unknown option '--bogus'"), "%s", err);
	cr_assert_eq(HV("list", "-x"), USAGE);
	cr_assert_eq(HV("list", "--all=yes"), USAGE);
	cr_assert_not_null(strstr(err, "takes no value"), "%s", err);
	cr_assert_eq(HV("list", "--name", "--uuid"), USAGE);
	cr_assert_eq(HV("shutdown", "vm", "--timeout-ms", "soon"), USAGE);
	cr_assert_not_null(strstr(err, "--timeout-ms 'soon'"), "%s", err);
	cr_assert_eq(HV("shutdown", "vm", "--timeout-ms"), USAGE);
	cr_assert_not_null(strstr(err, "needs a value"), "%s", err);
	cr_assert_eq(HV("event", "--count", "0"), USAGE);
	cr_assert_eq(HV("event", "--timeout", "-1"), USAGE);
	cr_assert_eq(HV("event", "--event", "exploded"), USAGE);
	cr_assert_not_null(strstr(err, "unknown event type 'exploded'"), "%s", err);
	cr_assert_eq(HV("event", "--from", "3", "--oldest"), USAGE);
	cr_assert_eq(HV("event", "a", "--domain", "b"), USAGE);
	cr_assert_eq(HV("config-rollback", "vm", "latest"), USAGE);
	cr_assert_not_null(strstr(err, "revision 'latest'"), "%s", err);
	cr_assert_eq(HV("config-rollback", "vm", "0"), USAGE);
	/* strtoul alone takes a sign and leading blanks. */
	cr_assert_eq(HV("config-rollback", "vm", "+2"), USAGE);
	cr_assert_eq(HV("config-rollback", "vm", " 2"), USAGE);
	cr_assert_eq(HV("config-rollback", "vm", "4294967296"), USAGE);
	cr_assert_not_null(strstr(err, "revision '4294967296'"), "%s", err);
	cr_assert_eq(HV("dumpconfig", "vm", "--revision", "x"), USAGE);
	cr_assert_eq(HV("console", "vm", "--from", "-5"), USAGE);
	cr_assert_eq(HV("audit", "--max", "0"), USAGE);
	/* A connection URI hvctl does not speak is a command-line error. */
	cr_assert_eq(HVRAW("--connect", "tcp://127.0.0.1:1", "list"), USAGE);
	cr_assert_not_null(strstr(err, "unsupported connection URI"), "%s", err);
	cr_assert_eq(HVRAW("--connect", "tls://localhost", "list"), USAGE);
	cr_assert_not_null(strstr(err, "tls://HOST:PORT"), "%s", err);
	/* The event list and the version need no hv-agent. */
	cr_assert_eq(HV("event", "--list"), OK, "%s", err);
	cr_assert_not_null(strstr(out, "lifecycle:"), "%s", out);
	cr_assert_eq(HVRAW("--version"), OK);
	cr_assert_eq(strncmp(out, "hvctl ", 6), 0, "%s", out);
}

Test(hvctl_local, unreachable_agent_exits_3_naming_the_target)
{
	cr_assert_eq(HV("list", "--all"), UNREACHABLE);
	cr_assert_str_eq(out, "");
	cr_assert_not_null(strstr(err, "cannot reach hv-agent"), "%s", err);
	cr_assert_not_null(strstr(err, "none.sock"), "%s", err);
	cr_assert_not_null(strstr(err, "[UNAVAILABLE]"), "%s", err);

	/* A socket file nobody accepts on (a crashed agent's leftover). */
	char path[100], dead[128];
	snprintf(path, sizeof path, "%.80s/dead.sock", tmp);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	close(fd);
	snprintf(dead, sizeof dead, "unix://%s", path);
	cr_assert_eq(HVRAW("--connect", dead, "dominfo", "x"), UNREACHABLE);
	cr_assert_not_null(strstr(err, "stale socket"), "%s", err);
	/* $HVCTL_CONNECT is the default; --readonly looks next to it. */
	setenv("HVCTL_CONNECT", dead, 1);
	cr_assert_eq(HVRAW("list"), UNREACHABLE);
	cr_assert_not_null(strstr(err, "dead.sock"), "%s", err);
	cr_assert_eq(HVRAW("--readonly", "list"), UNREACHABLE);
	cr_assert_not_null(strstr(err, "hv-agent-ro.sock"), "%s", err);
	unsetenv("HVCTL_CONNECT");

	/* tls://: a port nobody listens on; then missing certificate files. */
	char pki[128], ca[160], crt[160], key[160];
	snprintf(pki, sizeof pki, "%s/pki", tmp);
	cr_assert_eq(HVRAW("pki", "init", "--dir", pki), OK, "%s", err);
	snprintf(ca, sizeof ca, "%s/ca.crt", pki);
	snprintf(crt, sizeof crt, "%s/viewer.crt", pki);
	snprintf(key, sizeof key, "%s/viewer.key", pki);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof in;
	cr_assert_eq(bind(s, (struct sockaddr *)&in, sizeof in), 0);
	getsockname(s, (struct sockaddr *)&in, &sl);
	char tls[64];
	snprintf(tls, sizeof tls, "tls://127.0.0.1:%u", ntohs(in.sin_port));
	close(s); /* bound, never listened: refused */
	cr_assert_eq(HVRAW("--connect", tls, "--ca", ca, "--cert", crt, "--key", key, "list"),
		     UNREACHABLE);
	cr_assert_not_null(strstr(err, "cannot reach hv-agent at 127.0.0.1"), "%s", err);
	cr_assert_eq(HVRAW("--connect", tls, "--ca", "/nonexistent/ca.crt", "--cert", crt, "--key",
			   key, "list"),
		     USAGE);
	cr_assert_not_null(strstr(err, "/nonexistent/ca.crt"), "%s", err);
	cr_assert_eq(HVRAW("--connect", tls, "--readonly", "--ca", ca, "--cert", crt, "--key", key,
			   "list"),
		     USAGE);
}

/* The clause id on the "expect:" line of an invalid example. */
static void expected_rule(const char *path, char *rule, size_t len)
{
	char *text = read_file_text(path);
	cr_assert_not_null(text, "%s", path);
	const char *e = strstr(text, "expect: ");
	cr_assert_not_null(e, "%s has no expect: line", path);
	const char *r = strstr(e, "VMCFG-");
	cr_assert_not_null(r, "%s", path);
	snprintf(rule, len, "%.9s", r);
	free(text);
}

Test(hvctl_local, invalid_configurations_are_refused_before_sending)
{
	char dir[256], path[512], rule[16];
	int n = 0;

	/* every docs/examples/invalid-*.dts, with the clause its expect: line names */
	snprintf(dir, sizeof dir, "%s/docs/examples", HV_SOURCE_DIR);
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "%s", dir);
	for (struct dirent *e; (e = readdir(d));) {
		size_t len = strlen(e->d_name);
		if (strncmp(e->d_name, "invalid-", 8) != 0 || len < 5 ||
		    strcmp(e->d_name + len - 4, ".dts") != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		expected_rule(path, rule, sizeof rule);
		/* exit 1, not 3: refused before any connection to the (absent) agent */
		cr_expect_eq(HV("define", path), FAIL, "%s: %s", e->d_name, err);
		cr_expect_not_null(strstr(err, rule), "%s: expected %s in: %s", e->d_name, rule, err);
		cr_expect_not_null(strstr(err, "[INVALID_ARGUMENT]"), "%s: %s", e->d_name, err);
		cr_expect_not_null(strstr(err, "vm "), "%s: message names no VM: %s", e->d_name, err);
		cr_expect_str_eq(out, "");
		n++;
	}
	closedir(d);
	cr_assert_geq(n, 9, "only %d invalid examples found in %s", n, dir);
	/* The property and the rule broken, in words. */
	snprintf(path, sizeof path, "%s/docs/examples/invalid-criticality.dts", HV_SOURCE_DIR);
	cr_assert_eq(HV("define", path), FAIL);
	cr_assert_not_null(strstr(err, "criticality 'ASIL-E'"), "%s", err);
	snprintf(path, sizeof path, "%s/docs/examples/invalid-zero-vcpus.dts", HV_SOURCE_DIR);
	cr_assert_eq(HV("define", "--validate-only", path), FAIL);
	cr_assert_not_null(strstr(err, "vcpus"), "%s", err);
	/* A valid one passes the same check. */
	snprintf(path, sizeof path, "%s/docs/examples/linux.dts", HV_SOURCE_DIR);
	cr_assert_eq(HV("define", "--validate-only", path), OK, "%s", err);
	cr_assert_not_null(strstr(out, "is valid"), "%s", out);
}

Test(hvctl_local, corrupt_and_missing_files)
{
	char dts[128], dtb[128], missing[128], dir[128];

	snprintf(dts, sizeof dts, "%s/broken.dts", tmp);
	FILE *f = fopen(dts, "w");
	fputs("/dts-v1/;\n/ {\n\tvm-name = \"x\"\n};\n", f); /* no ';' after the property */
	fclose(f);
	cr_assert_eq(HV("define", dts), FAIL);
	cr_assert_not_null(strstr(err, "dtc could not compile"), "%s", err);
	cr_assert_not_null(strstr(err, "broken.dts:4"), "dtc's line is not shown: %s", err);
	cr_assert_not_null(strstr(err, "syntax error"), "%s", err);

	snprintf(dtb, sizeof dtb, "%s/text.dtb", tmp);
	f = fopen(dtb, "w");
	fputs("/dts-v1/; / { };\n", f);
	fclose(f);
	cr_assert_eq(HV("define", dtb), FAIL);
	cr_assert_not_null(strstr(err, "not a device tree blob"), "%s", err);

	snprintf(missing, sizeof missing, "%s/nope.dts", tmp);
	cr_assert_eq(HV("define", missing), NOT_FOUND);
	cr_assert_not_null(strstr(err, "cannot read"), "%s", err);
	cr_assert_not_null(strstr(err, "nope.dts"), "%s", err);
	cr_assert_not_null(strstr(err, "No such file"), "%s", err);
	snprintf(dir, sizeof dir, "%s", tmp);
	cr_assert_eq(HV("define", dir), FAIL);
}
