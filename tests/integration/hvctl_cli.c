/*
 * hvctl_cli.c - hvctl as an operator uses it (REQ-STD-02: virsh's verbs,
 * options and output), checked by its output and exit status, END-TO-END with
 * no test double (suite hvctl_stack): the real hv-core under QEMU at EL2
 * (tests/lib/hvqemu.h), the real hv-agent on a fresh state directory, the
 * real hvctl. Success paths and every error path (unknown VM, illegal
 * transition, read-only socket, a viewer certificate over tls://), the
 * console followed live (SIGINT, a closed stdout, Ctrl-] on a terminal),
 * event --loop seeing a VM stop and start while another hvctl drives it, and
 * the stored-configuration commands. hvctl's side alone: hvctl_cmdline.c.
 *
 * Exit statuses (docs/hvctl.md): 0 ok, 1 failed, 2 usage, 3 unreachable,
 * 4 not found, 5 denied.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_stack.h"
#include "hvctl_testlib.h"

static struct hvq q;
static struct agent_proc agent;

static void stack_setup(void)
{
	out = err = NULL;
	agent_stack_start(&q, &agent, NULL, uri, sizeof uri);
}

static void stack_teardown(void)
{
	agent_stack_stop(&q, &agent);
	free(out);
	free(err);
	out = err = NULL;
}

/* hv-agent stops cleanly: the CLI left nothing hanging. */
static void expect_clean_stop(void)
{
	int rc = agent_stop(&agent);
	char *log = read_file_text(agent.log);
	cr_expect_eq(rc, 0, "hv-agent exit status %d; log:\n%s", rc, log ? log : "");
	free(log);
}

TestSuite(hvctl_stack, .init = stack_setup, .fini = stack_teardown, .timeout = 300);

Test(hvctl_stack, reads_in_virsh_layout_and_json)
{
	cr_assert_eq(HV("list", "--all"), OK, "%s", err);
	cr_assert_str_eq(out, " Id   Name        State\n"
			      "---------------------------\n"
			      " 0    rtos-demo   running\n\n");
	cr_assert_eq(HV("list"), OK, "%s", err);
	cr_assert_not_null(strstr(out, "rtos-demo"), "%s", out);
	cr_assert_eq(HV("list", "--all", "--name"), OK, "%s", err);
	cr_assert_str_eq(out, "rtos-demo\n\n");
	cr_assert_eq(HV("list", "--state-running", "--uuid"), OK, "%s", err);
	cr_assert_eq(strlen(out), 38, "%s", out);
	cr_assert_eq(HV("list", "--state-shutoff", "--name"), OK, "%s", err);
	cr_assert_str_eq(out, "\n");
	cr_assert_eq(HV("list", "--state-paused"), OK, "%s", err);
	cr_assert_null(strstr(out, "rtos-demo"), "%s", out);

	cr_assert_eq(HV("dominfo", "rtos-demo"), OK, "%s", err);
	static const char *const lines[] = {
		"Id:             0\n",       "Name:           rtos-demo\n",
		"State:          running\n", "Reason:         booted\n",
		"CPU(s):         1\n",       "Criticality:    ",
		"Autostart:      "
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		cr_expect_not_null(strstr(out, lines[i]), "missing '%s' in:\n%s", lines[i], out);
	cr_assert_eq(HV("domstate", "rtos-demo", "--reason"), OK, "%s", err);
	cr_assert_str_eq(out, "running (booted)\n\n");
	cr_assert_eq(HV("domid", "rtos-demo"), OK, "%s", err);
	cr_assert_str_eq(out, "0\n\n");
	cr_assert_eq(HV("domname", "0"), OK, "%s", err);
	cr_assert_str_eq(out, "rtos-demo\n\n");
	cr_assert_eq(HV("domuuid", "rtos-demo"), OK, "%s", err);
	char uuid[64];
	snprintf(uuid, sizeof uuid, "%.36s", out);
	cr_assert_eq(HV("domname", uuid), OK, "%s", err);
	cr_assert_str_eq(out, "rtos-demo\n\n");

	/* --json on every read command: one parseable document. */
	static const char *const reads[][3] = {
		{ "list", "--all", NULL },
		{ "dominfo", "rtos-demo", NULL },
		{ "domstate", "rtos-demo", NULL },
		{ "domstats", NULL, NULL },
		{ "faults", NULL, NULL },
		{ "selftest", NULL, NULL },
		{ "diag", NULL, NULL },
		{ "version", NULL, NULL },
		{ "health", NULL, NULL },
	};
	for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
		const char *args[] = { "--connect", uri,         reads[i][0], "--json",
				       reads[i][1], reads[i][2], NULL };
		cr_assert_eq(run(args), OK, "%s --json: %s", reads[i][0], err);
		json_decref(parse_json(out));
	}
	cr_assert_eq(HV("dominfo", "rtos-demo", "--json"), OK);
	json_t *j = parse_json(out);
	cr_expect_str_eq(json_string_value(json_object_get(j, "name")), "rtos-demo");
	cr_expect_str_eq(json_string_value(json_object_get(j, "state")), "running");
	cr_expect(json_is_boolean(json_object_get(j, "autostart")));
	json_decref(j);
	cr_assert_eq(HV("event", "--oldest", "--count", "1", "--json"), OK, "%s", err);
	j = parse_json(out);
	cr_expect_str_eq(json_string_value(json_object_get(j, "class")), "lifecycle");
	json_decref(j);
	cr_assert_eq(HV("health"), OK, "%s", err);
	cr_assert_str_eq(out, "SERVING\n");
	/* bash completes VM names through hvctl list --all --name, with the
	 * connection options already typed */
	char words[600];
	snprintf(words, sizeof words, "%s --connect %s start rto", HVCTL_BIN, uri);
	cr_assert_eq(complete_words(COMPLETION_FILE, words), 0, "%s", err);
	cr_assert_str_eq(out, "rtos-demo\n");
	snprintf(words, sizeof words, "%s --connect %s event --domain ''", HVCTL_BIN, uri);
	cr_assert_eq(complete_words(COMPLETION_FILE, words), 0, "%s", err);
	cr_assert_str_eq(out, "rtos-demo\n");
	cr_assert_eq(HV("version"), OK, "%s", err);
	cr_assert_not_null(strstr(out, "hv-core"), "%s", out);
	expect_clean_stop();
}

Test(hvctl_stack, lifecycle_verbs_print_virsh_sentences)
{
	cr_assert_eq(HV("suspend", "rtos-demo"), OK, "%s", err);
	cr_assert_str_eq(out, "Domain 'rtos-demo' suspended\n\n");
	cr_assert_eq(HV("domstate", "rtos-demo"), OK, "%s", err);
	cr_assert_str_eq(out, "paused\n\n");
	cr_assert_eq(HV("list", "--state-paused", "--name"), OK, "%s", err);
	cr_assert_str_eq(out, "rtos-demo\n\n");
	cr_assert_eq(HV("resume", "0"), OK, "%s", err);
	cr_assert_str_eq(out, "Domain 'rtos-demo' resumed\n\n");
	cr_assert_eq(HV("reset", "rtos-demo"), OK, "%s", err);
	cr_assert_str_eq(out, "Domain 'rtos-demo' was reset\n\n");
	cr_assert_eq(HV("destroy", "rtos-demo"), OK, "%s", err);
	cr_assert_str_eq(out, "Domain 'rtos-demo' destroyed\n\n");
	cr_assert_eq(HV("domstate", "rtos-demo", "--reason"), OK, "%s", err);
	cr_assert_str_eq(out, "shut off (destroyed)\n\n");
	cr_assert_eq(HV("list"), OK, "%s", err);
	cr_assert_null(strstr(out, "rtos-demo"), "inactive VM in plain list: %s", out);
	cr_assert_eq(HV("list", "--inactive", "--name"), OK, "%s", err);
	cr_assert_str_eq(out, "rtos-demo\n\n");
	/* start --console: started, then the console (not a terminal: printed once) */
	cr_assert_eq(HV("start", "--console", "rtos-demo"), OK, "%s", err);
	cr_assert_eq(strncmp(out, "Domain 'rtos-demo' started\n\n", 28), 0, "%s", out);
	cr_assert_not_null(strstr(out, "rtos-demo: hello from EL1"), "%s", out);
	cr_assert_eq(HV("domstate", "rtos-demo"), OK, "%s", err);
	cr_assert_str_eq(out, "running\n\n");
	expect_clean_stop();
}

Test(hvctl_stack, error_paths_have_their_exit_status)
{
	/* unknown VM: 4, one line naming it */
	static const char *const on_vm[] = { "dominfo", "domstate", "domid",    "start", "destroy",
					     "console", "undefine", "domstats", "faults" };
	for (size_t i = 0; i < sizeof on_vm / sizeof on_vm[0]; i++) {
		cr_expect_eq(HV(on_vm[i], "no-such-vm"), NOT_FOUND, "%s: %s", on_vm[i], err);
		cr_expect_not_null(strstr(err, "no VM named 'no-such-vm'"), "%s: %s", on_vm[i], err);
		cr_expect_not_null(strstr(err, "[NOT_FOUND]"), "%s", err);
		cr_expect_eq(strchr(err, '\n'), err + strlen(err) - 1, "one line expected: %s", err);
	}
	cr_assert_eq(HV("dominfo", "7"), NOT_FOUND);
	cr_assert_not_null(strstr(err, "no VM with id 7"), "%s", err);

	/* illegal transitions: 1, hv-core's reason */
	cr_assert_eq(HV("resume", "rtos-demo"), FAIL);
	cr_assert_eq(strncmp(err, "hvctl: resume 'rtos-demo': hv-core refused RESUME (E_STATE): ", 61),
		     0, "the verb once: %s", err);
	cr_assert_not_null(strstr(err, "[FAILED_PRECONDITION]"), "%s", err);
	cr_assert_not_null(strstr(err, "E_STATE"), "%s", err);
	cr_assert_eq(HV("start", "rtos-demo"), FAIL);
	cr_assert_not_null(strstr(err, "E_STATE"), "%s", err);
	cr_assert_eq(HV("undefine", "rtos-demo"), FAIL);
	cr_assert_not_null(strstr(err, "[FAILED_PRECONDITION]"), "%s", err);

	/* the read-only socket: reads work, changes exit 5 and change nothing */
	cr_assert_eq(run((const char *const[]){ "--connect", uri, "--readonly", "list", "--all",
						NULL }),
		     OK, "%s", err);
	cr_assert_not_null(strstr(out, "rtos-demo"), "%s", out);
	cr_assert_eq(run((const char *const[]){ "--connect", uri, "-r", "destroy", "rtos-demo", NULL }),
		     DENIED);
	cr_assert_not_null(strstr(err, "[PERMISSION_DENIED]"), "%s", err);
	cr_assert_not_null(strstr(err, "read-only"), "%s", err);
	char ro[256];
	snprintf(ro, sizeof ro, "unix://%s", agent.ro_sock);
	cr_assert_eq(run((const char *const[]){ "--connect", ro, "suspend", "rtos-demo", NULL }),
		     DENIED);
	cr_assert_eq(HV("domstate", "rtos-demo"), OK, "%s", err);
	cr_assert_str_eq(out, "running\n\n");

	/* hv-core's own refusal of a configuration hvctl was told not to check */
	char path[256];
	snprintf(path, sizeof path, "%s/docs/examples/invalid-criticality.dts", HV_SOURCE_DIR);
	cr_assert_eq(HV("define", "--no-validate", path), FAIL);
	cr_assert_not_null(strstr(err, "hv-core refused DEFINE"), "server message not printed: %s",
			   err);
	/* one prefix: hv-agent's message names the command, hvctl does not repeat it */
	cr_assert_eq(strncmp(err, "hvctl: define 'nav' revision 1: hv-core refused DEFINE (E_", 58),
		     0, "%s", err);
	cr_assert_eq(count_of(err, "define"), 1, "%s", err);
	cr_assert_not_null(strstr(err, "VMCFG-022"), "%s", err);
	cr_assert_not_null(strstr(err, "[INVALID_ARGUMENT]"), "%s", err);
	cr_assert_eq(HV("list", "--all", "--name"), OK);
	cr_assert_str_eq(out, "rtos-demo\n\n"); /* nothing was defined */
	expect_clean_stop();
}

Test(hvctl_stack, define_and_undefine_from_dts)
{
	char path[256];

	snprintf(path, sizeof path, "%s/docs/examples/linux.dts", HV_SOURCE_DIR);
	cr_assert_eq(HV("define", path), OK, "%s", err);
	cr_assert_not_null(strstr(out, "Domain 'linux' defined from"), "%s", out);
	cr_assert_eq(HV("domstate", "linux", "--reason"), OK, "%s", err);
	cr_assert_str_eq(out, "shut off (defined)\n\n");
	cr_assert_eq(HV("list", "--all", "--name"), OK, "%s", err);
	cr_assert_str_eq(out, "rtos-demo\nlinux\n\n");
	cr_assert_eq(HV("undefine", "linux"), OK, "%s", err);
	cr_assert_str_eq(out, "Domain 'linux' has been undefined\n\n");
	cr_assert_eq(HV("dominfo", "linux"), NOT_FOUND);
	expect_clean_stop();
}

Test(hvctl_stack, console_follows_live_output_until_sigint)
{
	char outpath[300], errpath[300];

	snprintf(outpath, sizeof outpath, "%s/console.out", q.dir);
	snprintf(errpath, sizeof errpath, "%s/console.err", q.dir);
	int fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	pid_t pid = spawn_hvctl((const char *const[]){ "--connect", uri, "console", "rtos-demo",
						       "--follow", NULL },
				fd, errpath);
	close(fd);
	cr_assert_eq(wait_file(outpath, "rtos-demo: hello from EL1", 1, 60), 0,
		     "console printed nothing");
	/* New output appears while it follows: the guest boots again. */
	cr_assert_eq(HV("destroy", "rtos-demo"), OK, "%s", err);
	cr_assert_eq(HV("start", "rtos-demo"), OK, "%s", err);
	int seen = wait_file(outpath, "rtos-demo: hello from EL1", 2, 60);
	kill(pid, SIGINT);
	int rc = wait_exit(pid, 30);
	char *text = read_file_text(outpath), *errs = read_file_text(errpath);
	cr_expect_eq(seen, 0, "the restart's output did not reach the follower:\n%s", text);
	cr_expect_eq(rc, 0, "console after SIGINT: status %d, %s", rc, errs);
	free(text);
	free(errs);
	expect_clean_stop();
}

Test(hvctl_stack, console_on_a_terminal_detaches_on_ctrl_bracket)
{
	char cmd[1024], keys[300];

	/* script(1) gives hvctl a terminal whose only input is Ctrl-] (with no
	 * input at all, the console keeps following until `timeout` ends it). */
	snprintf(keys, sizeof keys, "%s/keys", q.dir);
	FILE *f = fopen(keys, "w");
	cr_assert_not_null(f);
	fputc(0x1d, f);
	fclose(f);
	snprintf(cmd, sizeof cmd,
		 "timeout 100 script -qfec '%s --connect %s console rtos-demo' /dev/null < %s",
		 HVCTL_BIN, uri, keys);
	int rc = run_prog("/bin/sh", (const char *const[]){ "-c", cmd, NULL });
	cr_assert_eq(rc, 0, "status %d (124 = did not detach): %s %s", rc, out, err);
	cr_assert_not_null(strstr(out, "Connected to domain 'rtos-demo'"), "%s", out);
	cr_assert_not_null(strstr(out, "Escape character is ^] (Ctrl + ])"), "%s", out);
	/* Whether the console's earlier output is printed before the Ctrl-] is
	 * read depends on which arrives first; the output itself is checked by
	 * console_follows_live_output_until_sigint. */
	expect_clean_stop();
}

Test(hvctl_stack, console_ends_when_its_reader_goes_away)
{
	char errpath[300], buf[4096];
	int p[2], got = 0;

	snprintf(errpath, sizeof errpath, "%s/console.err", q.dir);
	cr_assert_eq(pipe(p), 0);
	pid_t pid = spawn_hvctl((const char *const[]){ "--connect", uri, "console", "rtos-demo",
						       "--follow", NULL },
				p[1], errpath);
	close(p[1]);
	ssize_t n = read(p[0], buf, sizeof buf - 1); /* blocks until output comes */
	got = n > 0;
	close(p[0]);
	int rc = wait_exit(pid, 60);
	char *errs = read_file_text(errpath);
	cr_expect(got, "no console output");
	cr_expect_eq(rc, 0, "console with a closed stdout: status %d (-1 = still running), %s", rc,
		     errs);
	free(errs);
	expect_clean_stop();
}

Test(hvctl_stack, event_loop_sees_stop_and_start_from_another_hvctl)
{
	char outpath[300], errpath[300], from[32];

	/* Resume point = the next event, so nothing is missed however long the
	 * watcher takes to connect. */
	cr_assert_eq(HV("diag", "--json"), OK, "%s", err);
	json_t *j = parse_json(out);
	snprintf(from, sizeof from, "%lld",
		 (long long)json_integer_value(json_object_get(j, "events_head")));
	json_decref(j);
	snprintf(outpath, sizeof outpath, "%s/event.out", q.dir);
	snprintf(errpath, sizeof errpath, "%s/event.err", q.dir);
	int fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	pid_t pid = spawn_hvctl((const char *const[]){ "--connect", uri, "event", "--loop",
						       "--domain", "rtos-demo", "--event",
						       "lifecycle", "--from", from, NULL },
				fd, errpath);
	close(fd);
	cr_assert_eq(HV("destroy", "rtos-demo"), OK, "%s", err);
	cr_assert_eq(HV("start", "rtos-demo"), OK, "%s", err);
	int seen = wait_file(outpath, "Started Booted", 1, 60);
	kill(pid, SIGINT);
	int rc = wait_exit(pid, 30);
	char *text = read_file_text(outpath), *errs = read_file_text(errpath);
	cr_assert_eq(seen, 0, "no STARTED event:\n%s\n%s", text, errs);
	cr_expect_eq(rc, 0, "event --loop after SIGINT: status %d, %s", rc, errs);
	const char *stopped =
		strstr(text, "event 'lifecycle' for domain 'rtos-demo': Stopped Destroyed");
	const char *started =
		strstr(text, "event 'lifecycle' for domain 'rtos-demo': Started Booted");
	cr_expect_not_null(stopped, "%s", text);
	cr_expect(stopped && started && stopped < started, "STOPPED then STARTED expected:\n%s",
		  text);
	cr_expect_not_null(strstr(text, "events received: 2\n"), "%s", text);
	free(text);
	free(errs);
	/* without --loop: one event, then the loop's end by --timeout */
	cr_assert_eq(HV("event", "--domain", "rtos-demo", "--oldest", "--event", "started"), OK,
		     "%s", err);
	cr_assert_not_null(strstr(out, "Started Booted"), "%s", out);
	cr_assert_eq(count_of(out, "event '"), 1, "%s", out);
	cr_assert_eq(HV("event", "--loop", "--timeout", "1", "--domain", "rtos-demo"), OK, "%s", err);
	cr_assert_not_null(strstr(out, "event loop timed out\nevents received: 0\n"), "%s", out);
	cr_assert_eq(HV("event", "--domain", "no-such-vm", "--timeout", "1"), NOT_FOUND, "%s", err);
	expect_clean_stop();
}

Test(hvctl_stack, tls_roles_decide_over_tcp)
{
	char pki[300], other[300], listen[32], tls[64], ca[320], vcrt[320], vkey[320], acrt[320],
		akey[320], oca[320];

	snprintf(pki, sizeof pki, "%s/pki", q.dir);
	snprintf(other, sizeof other, "%s/other-pki", q.dir);
	cr_assert_eq(HVRAW("pki", "init", "--dir", pki), OK, "%s", err);
	cr_assert_eq(HVRAW("pki", "init", "--dir", other), OK, "%s", err);
	unsigned port = free_port();
	snprintf(listen, sizeof listen, "127.0.0.1:%u", port);
	snprintf(tls, sizeof tls, "tls://127.0.0.1:%u", port);
	agent_stop(&agent);
	cr_assert_eq(agent_start(&agent, q.dir, (const char *const[]){ "--listen", listen, NULL }),
		     0, "%s", agent.err);
	snprintf(ca, sizeof ca, "%s/ca.crt", pki);
	snprintf(vcrt, sizeof vcrt, "%s/viewer.crt", pki);
	snprintf(vkey, sizeof vkey, "%s/viewer.key", pki);
	snprintf(acrt, sizeof acrt, "%s/admin.crt", pki);
	snprintf(akey, sizeof akey, "%s/admin.key", pki);
	snprintf(oca, sizeof oca, "%s/ca.crt", other);

	/* viewer reads, and is refused a change with the role's reason */
	cr_assert_eq(HVRAW("--connect", tls, "--ca", ca, "--cert", vcrt, "--key", vkey, "list",
			   "--all"),
		     OK, "%s", err);
	cr_assert_not_null(strstr(out, "rtos-demo"), "%s", out);
	cr_assert_eq(HVRAW("--connect", tls, "--ca", ca, "--cert", vcrt, "--key", vkey, "destroy",
			   "rtos-demo"),
		     DENIED);
	cr_assert_not_null(strstr(err, "role 'viewer' may not call Destroy"), "%s", err);
	cr_assert_not_null(strstr(err, "[PERMISSION_DENIED]"), "%s", err);
	cr_assert_eq(HV("domstate", "rtos-demo"), OK);
	cr_assert_str_eq(out, "running\n\n");
	/* admin through the environment's defaults */
	setenv("HVCTL_CA", ca, 1);
	setenv("HVCTL_CERT", acrt, 1);
	setenv("HVCTL_KEY", akey, 1);
	cr_assert_eq(HVRAW("--connect", tls, "suspend", "rtos-demo"), OK, "%s", err);
	cr_assert_str_eq(out, "Domain 'rtos-demo' suspended\n\n");
	/* a server certificate the client's CA did not sign: the handshake fails */
	cr_assert_eq(HVRAW("--connect", tls, "--ca", oca, "list"), UNREACHABLE);
	cr_assert_not_null(strstr(err, "TLS handshake failed"), "%s", err);
	unsetenv("HVCTL_CA");
	unsetenv("HVCTL_CERT");
	unsetenv("HVCTL_KEY");
	expect_clean_stop();
}

/* ---- stored configurations, autostart, audit (hv-agent's store) ---- */

static void define_linux(void)
{
	char path[256];
	snprintf(path, sizeof path, "%s/docs/examples/linux.dts", HV_SOURCE_DIR);
	cr_assert_eq(HV("define", path), OK, "%s", err);
}

Test(hvctl_stack, dumpconfig_and_config_history)
{
	define_linux();
	cr_assert_eq(HV("dumpconfig", "linux"), OK, "%s", err);
	cr_assert_eq(strncmp(out, "/dts-v1/;", 9), 0, "%s", out);
	cr_assert_not_null(strstr(out, "vm-name = \"linux\";"), "%s", out);
	cr_assert_eq(HV("dumpconfig", "linux", "--revision", "1"), OK, "%s", err);
	cr_assert_eq(HV("dumpconfig", "linux", "--revision", "99"), NOT_FOUND, "%s", err);
	cr_assert_eq(HV("config-history", "linux"), OK, "%s", err);
	cr_assert_not_null(strstr(out, " Revision   Time"), "%s", out);
	cr_assert_eq(HV("config-history", "linux", "--json"), OK, "%s", err);
	json_t *j = parse_json(out);
	cr_assert(json_is_array(j));
	cr_assert_eq(json_array_size(j), 1, "%s", out);
	cr_expect_eq(json_integer_value(json_object_get(json_array_get(j, 0), "revision")), 1);
	cr_expect_eq(strlen(json_string_value(json_object_get(json_array_get(j, 0), "sha256"))), 64);
	json_decref(j);
	cr_assert_eq(HV("config-history", "no-such-vm"), NOT_FOUND);
	expect_clean_stop();
}

/* An "editor" that applies one sed expression to the file it is given. */
static void set_editor(const char *name, const char *sed_expr)
{
	char path[320];
	snprintf(path, sizeof path, "%s/%s", q.dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "#!/bin/sh\nexec sed -i -e '%s' \"$1\"\n", sed_expr);
	fclose(f);
	chmod(path, 0755);
	setenv("EDITOR", path, 1);
	unsetenv("VISUAL");
}

Test(hvctl_stack, edit_defines_a_new_revision_and_rollback_restores)
{
	define_linux();
	/* unchanged: nothing defined */
	setenv("EDITOR", "true", 1);
	unsetenv("VISUAL");
	cr_assert_eq(HV("edit", "linux"), OK, "%s", err);
	cr_assert_str_eq(out, "Domain 'linux' configuration not changed.\n\n");
	/* changed: a new revision */
	set_editor("ed-order.sh", "s/boot-order = <0x02>/boot-order = <0x07>/");
	cr_assert_eq(HV("edit", "linux"), OK, "%s", err);
	cr_assert_not_null(strstr(out, "Domain 'linux' configuration edited"), "%s", out);
	cr_assert_eq(HV("dumpconfig", "linux"), OK, "%s", err);
	cr_assert_not_null(strstr(out, "boot-order = <0x07>;"), "%s", out);
	/* invalid: the rule broken, and the file kept for another try */
	set_editor("ed-vcpus.sh", "s/vcpus = <0x02>/vcpus = <0x00>/");
	cr_assert_eq(HV("edit", "linux"), FAIL);
	cr_assert_not_null(strstr(err, "VMCFG-030"), "%s", err);
	const char *kept = strstr(err, "kept in ");
	cr_assert_not_null(kept, "%s", err);
	char path[256];
	cr_assert_eq(sscanf(kept, "kept in %255s", path), 1);
	cr_assert_eq(access(path, R_OK), 0, "%s is gone", path);
	unlink(path);
	/* rollback to revision 1 */
	cr_assert_eq(HV("config-rollback", "linux", "1"), OK, "%s", err);
	cr_assert_not_null(strstr(out, "Domain 'linux' rolled back to revision 1"), "%s", out);
	cr_assert_eq(HV("config-history", "linux", "--json"), OK, "%s", err);
	json_t *j = parse_json(out);
	cr_expect_eq(json_array_size(j), 3, "%s", out);
	json_decref(j);
	cr_assert_eq(HV("dumpconfig", "linux"), OK, "%s", err);
	cr_assert_not_null(strstr(out, "boot-order = <0x02>;"), "%s", out);
	cr_assert_eq(HV("config-rollback", "linux", "99"), NOT_FOUND);
	expect_clean_stop();
}

Test(hvctl_stack, autostart_marks_and_unmarks)
{
	define_linux();
	cr_assert_eq(HV("autostart", "linux"), OK, "%s", err);
	cr_assert_str_eq(out, "Domain 'linux' marked as autostarted\n\n");
	cr_assert_eq(HV("dominfo", "linux"), OK, "%s", err);
	cr_assert_not_null(strstr(out, "Autostart:      enable\n"), "%s", out);
	cr_assert_eq(HV("autostart", "--disable", "linux"), OK, "%s", err);
	cr_assert_str_eq(out, "Domain 'linux' unmarked as autostarted\n\n");
	cr_assert_eq(HV("autostart", "no-such-vm"), NOT_FOUND);
	cr_assert_eq(run((const char *const[]){ "--connect", uri, "--readonly", "autostart",
						"linux", NULL }),
		     DENIED);
	expect_clean_stop();
}

Test(hvctl_stack, audit_shows_changes)
{
	cr_assert_eq(HV("suspend", "rtos-demo"), OK, "%s", err);
	cr_assert_eq(HV("resume", "rtos-demo"), OK, "%s", err);
	cr_assert_eq(HV("audit"), OK, "%s", err);
	cr_assert_not_null(strstr(out, " Seq "), "%s", out);
	cr_assert_not_null(strstr(out, "Suspend"), "%s", out);
	cr_assert_eq(HV("audit", "--json", "--max", "1"), OK, "%s", err);
	json_t *j = parse_json(out);
	cr_assert(json_is_array(j));
	cr_expect_eq(json_array_size(j), 1, "%s", out);
	json_decref(j);
	expect_clean_stop();
}

/* ---- the safety policy (REQ-SAF-15.5, REQ-PRD-05; docs/mgmt-abi.md section 14) ---- */

/* While driving, hv-core refuses to shut down the ASIL-B rtos-demo, naming
 * the rule, and it keeps running; a dry run answers the same without doing
 * anything; a QM VM stays free; parked, the shutdown goes through. */
Test(hvctl_stack, safety_policy_gates_the_asil_vm_while_driving)
{
	cr_assert_eq(HV("vehicle"), OK, "%s", err);
	cr_assert_not_null(strstr(out, "Source:   management"), "%s", out);
	cr_assert_eq(HV("vehicle", "set", "moving"), FAIL, "%s", out);
	cr_assert_not_null(strstr(err, "'moving' is not a vehicle state"), "%s", err);
	cr_assert_eq(HV("vehicle", "set", "driving"), OK, "%s", err);
	cr_assert_not_null(strstr(out, "State:    driving"), "%s", out);
	cr_assert_eq(HV("vehicle", "--json"), OK, "%s", err);
	json_t *j = parse_json(out);
	cr_expect_str_eq(json_string_value(json_object_get(j, "state")), "driving");
	json_decref(j);

	cr_assert_eq(HV("shutdown", "--dry-run", "rtos-demo"), FAIL, "%s", err);
	cr_assert_not_null(strstr(out, "shutdown would be denied: "), "%s", out);
	cr_assert_eq(HV("shutdown", "rtos-demo"), FAIL, "%s", out);
	cr_assert_not_null(strstr(err, "(E_POLICY)"), "%s", err);
	cr_assert_not_null(strstr(err, "driving"), "the refusal names the state: %s", err);
	cr_assert_eq(HV("domstate", "rtos-demo"), OK, "%s", err);
	cr_assert_str_eq(out, "running\n\n");

	/* A QM VM is free while driving. */
	define_linux();
	cr_assert_eq(HV("start", "--dry-run", "linux"), OK, "%s", out);
	cr_assert_not_null(strstr(out, "start would be allowed (vehicle driving, QM)"), "%s", out);
	cr_assert_eq(HV("undefine", "linux"), OK, "%s", err);

	cr_assert_eq(HV("policy"), OK, "%s", err);
	cr_expect_not_null(strstr(out, "STATE     OPERATION   QM         ASIL-A"), "%s", out);
	cr_expect_not_null(strstr(out, "\ndriving   shutdown    allow/"), "%s", out);
	cr_expect_not_null(strstr(out, "\nrule 1: "), "%s", out);
	cr_assert_eq(HV("policy", "--json"), OK, "%s", err);
	j = parse_json(out);
	size_t i, n_deny = 0;
	json_t *c;
	json_array_foreach(json_object_get(j, "cells"), i, c)
	{
		if (!strcmp(json_string_value(json_object_get(c, "state")), "driving") &&
		    !strcmp(json_string_value(json_object_get(c, "operation")), "shutdown") &&
		    !strcmp(json_string_value(json_object_get(c, "criticality")), "ASIL-B"))
			n_deny += !json_is_true(json_object_get(c, "allowed"));
	}
	json_decref(j);
	cr_expect_eq(n_deny, 1, "the matrix shows driving/shutdown/ASIL-B denied");

	cr_assert_eq(HV("vehicle", "set", "parked"), OK, "%s", err);
	cr_assert_eq(HV("shutdown", "--dry-run", "rtos-demo"), OK, "%s", out);
	cr_assert_eq(HV("domstate", "rtos-demo"), OK, "%s", err);
	cr_assert_str_eq(out, "running\n\n");
	cr_assert_eq(HV("shutdown", "rtos-demo"), OK, "%s", err);
	cr_assert_str_eq(out, "Domain 'rtos-demo' is being shutdown\n\n");
	cr_assert_eq(HV("audit", "--json"), OK, "%s", err);
	cr_expect_eq(count_of(out, "\"state=driving\""), 1, "%s", out);
	cr_expect_eq(count_of(out, "\"state=parked\""), 1, "%s", out);
	expect_clean_stop();
}
