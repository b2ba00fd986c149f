/*
 * agent_python.c - runs the independent Python client (agent_grpc_client.py,
 * Debian's python3-grpcio with protoc-generated messages) against a live
 * hv-agent. Runs against the test double of hv-core
 * (tests/double/hvcore_double.h), which plays the management region. Also: hv-agent ends an open event stream cleanly on SIGTERM.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "double_vms.h"
#include "hvcore_double.h"

static char dir[64], ram[128], work[128];
static struct fakecore *fc;
static struct agent_proc agent;

static void setup(void)
{
	fc = double_vms_start("/tmp/agent-py-XXXXXX", dir, sizeof dir, ram, sizeof ram, work,
			      sizeof work);
	cr_assert_eq(agent_start(&agent, dir, NULL), 0, "%s", agent.err);
}

static void teardown(void)
{
	agent_stop(&agent);
	fakecore_destroy(fc);
	remove_tree(dir);
}

TestSuite(agent_python, .init = setup, .fini = teardown, .timeout = 120);

Test(agent_python, independent_python_client)
{
	char *out, *err;
	int rc = run_program(HV_SYSTEM_PYTHON,
			     (const char *const[]){
				     HV_SOURCE_DIR "/tests/integration/agent_grpc_client.py",
				     HV_SOURCE_DIR "/proto", work, agent.sock, agent.ro_sock, NULL },
			     &out, &err);
	cr_expect_eq(rc, 0, "python client: status %d\nstdout: %s\nstderr: %s", rc, out, err);
	cr_expect_str_eq(out, "ok\n");
	free(out);
	free(err);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* The interactive console over the double (its guest echoes what it gets):
 * one writer, readers, refusals; the Python client checks each rule. */
Test(agent_python, console_one_writer_and_readers)
{
	char *out, *err;
	int rc = run_program(HV_SYSTEM_PYTHON,
			     (const char *const[]){
				     HV_SOURCE_DIR "/tests/integration/agent_python_console.py",
				     HV_SOURCE_DIR "/proto", work, agent.sock, agent.ro_sock, NULL },
			     &out, &err);
	cr_expect_eq(rc, 0, "python client: status %d\nstdout: %s\nstderr: %s", rc, out, err);
	cr_expect_str_eq(out, "ok\n");
	free(out);
	free(err);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

Test(agent_python, mutual_tls_with_roles)
{
	char pki[128], listen[64], port[16], *out, *err;

	char foreign[128];
	snprintf(pki, sizeof pki, "%s/pki", dir);
	snprintf(foreign, sizeof foreign, "%s/foreign-pki", dir);
	int rc = run_hvctl((const char *const[]){ "pki", "init", "--dir", pki, NULL }, &out, &err);
	cr_assert_eq(rc, 0, "hvctl pki init: %s", err);
	free(out);
	free(err);
	/* Another CA with the same names and roles: its certificates must not
	 * get in. */
	rc = run_hvctl((const char *const[]){ "pki", "init", "--dir", foreign, NULL }, &out, &err);
	cr_assert_eq(rc, 0, "hvctl pki init (foreign): %s", err);
	free(out);
	free(err);
	int p = loopback_port();
	cr_assert_gt(p, 0);
	snprintf(port, sizeof port, "%d", p);
	snprintf(listen, sizeof listen, "127.0.0.1:%d", p);
	agent_stop(&agent);
	static const char *extra[] = { "--listen", NULL, NULL };
	extra[1] = listen;
	cr_assert_eq(agent_start(&agent, dir, extra), 0, "%s", agent.err);

	rc = run_program(HV_SYSTEM_PYTHON,
			 (const char *const[]){
				 HV_SOURCE_DIR "/tests/integration/agent_mtls_client.py",
				 HV_SOURCE_DIR "/proto", work, pki, port, foreign, NULL },
			 &out, &err);
	cr_expect_eq(rc, 0, "mTLS client: status %d\nstdout: %s\nstderr: %s", rc, out, err);
	cr_expect_str_eq(out, "ok\n");
	free(out);
	free(err);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");

	/* No unauthenticated connection reached a handler: the TLS listener
	 * counted exactly the 5 calls of the clients with fleet certificates
	 * (2 refused by role), none from the anonymous or foreign clients. */
	char want[160];
	snprintf(want, sizeof want, "%s: 5 calls, 2 refused by authorization", listen);
	char *log = read_file_text(agent.log);
	cr_expect(log && strstr(log, want), "expected '%s' in hv-agent's log:\n%s", want,
		  log ? log : "");
	free(log);
}

Test(agent_python, listen_takes_any_address_with_mutual_tls_only)
{
	char *out, *err;
	agent_stop(&agent);
	/* Not HOST:PORT: refused, naming the form. */
	int rc = run_program(HV_BIN_DIR "/hv-agent",
			     (const char *const[]){ "--foreground", "--state-dir", dir, "--listen",
						    "nonsense", NULL },
			     &out, &err);
	cr_expect_eq(rc, 1, "status %d: %s", rc, err);
	cr_expect_not_null(strstr(err, "is not HOST:PORT"), "%s", err);
	free(out);
	free(err);

	/* A non-loopback address is taken (a workshop tester on the vehicle
	 * network), always with mutual TLS: without the PKI it is refused for
	 * the PKI, never served in plaintext. Nothing is bound: tests stay on
	 * loopback. */
	rc = run_program(HV_BIN_DIR "/hv-agent",
			 (const char *const[]){ "--foreground", "--state-dir", dir, "--listen",
						"0.0.0.0:50051", "--tls-dir", "/nonexistent", NULL },
			 &out, &err);
	cr_expect_eq(rc, 1, "status %d: %s", rc, err);
	cr_expect_null(strstr(err, "not loopback"), "%s", err);
	cr_expect_not_null(strstr(err, "cannot read /nonexistent/ca.crt"), "%s", err);
	free(out);
	free(err);

	/* Loopback but no PKI: refused after the unix sockets were set up; they
	 * are torn down again, nothing crashes, nothing is left behind. */
	rc = run_program(HV_BIN_DIR "/hv-agent",
			 (const char *const[]){ "--foreground", "--state-dir", dir, "--listen",
						"127.0.0.1:1", "--tls-dir", "/nonexistent", NULL },
			 &out, &err);
	cr_expect_eq(rc, 1, "status %d: %s", rc, err);
	cr_expect_not_null(strstr(err, "cannot read /nonexistent/ca.crt"), "%s", err);
	cr_expect_neq(access(agent.sock, F_OK), 0, "socket left behind");
	free(out);
	free(err);
}

Test(agent_python, sigterm_ends_an_open_event_stream)
{
	char outp[200], errp[200];
	snprintf(outp, sizeof outp, "%s/event.out", dir);
	snprintf(errp, sizeof errp, "%s/event.err", dir);
	char uri[256];
	snprintf(uri, sizeof uri, "unix://%s", agent.sock);

	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		freopen(outp, "w", stdout);
		freopen(errp, "w", stderr);
		execl(HV_BIN_DIR "/hvctl", "hvctl", "--connect", uri, "event", "--loop",
		      (char *)NULL);
		_exit(127);
	}
	/* Wait (bounded) until the stream is open: the agent logs nothing per
	 * call, so look for the event it delivers. */
	fakecore_event(fc, HVM_EV_STARTED, 0, 0, HVM_R_BOOTED);
	char *text = NULL;
	for (int i = 0; i < 3000; i++) {
		free(text);
		text = read_file_text(outp);
		if (text && strstr(text, "Started"))
			break;
		usleep(20000);
		fakecore_event(fc, HVM_EV_STARTED, 0, 0, HVM_R_BOOTED);
	}
	cr_assert_not_null(text && strstr(text, "Started") ? text : NULL, "no event arrived");
	free(text);

	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly with a stream open");
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	cr_expect_eq(WEXITSTATUS(status), 1);
	char *e = read_file_text(errp);
	cr_expect_not_null(e && strstr(e, "shutting down") ? e : NULL, "hvctl stderr: %s",
			   e ? e : "");
	free(e);
}
