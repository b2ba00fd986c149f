/*
 * agent_python_qemu.c - END-TO-END with the independent client: real hv-core
 * under QEMU at EL2 (tests/lib/hvqemu.h), the real hv-agent, the real hvctl,
 * and Debian's python3-grpcio (agent_python_watch.py) following WatchEvents
 * while hvctl destroys and starts the demo VM. No test double anywhere.
 * Skips, saying so, only when no hv-core image exists.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_stack.h"

#define VM "rtos-demo"

static struct hvq q;
static struct agent_proc agent;
static pid_t watcher;
static char uri[320], work[300], marker[300], wout[300];

static void setup(void)
{
	watcher = 0;
	agent_stack_start(&q, &agent, NULL, uri, sizeof uri);
	snprintf(work, sizeof work, "%s/py", q.dir);
	snprintf(marker, sizeof marker, "%s/watch.open", q.dir);
	snprintf(wout, sizeof wout, "%s/watch.out", q.dir);
	cr_assert_eq(mkdir(work, 0755), 0);
}

static void teardown(void)
{
	if (watcher > 0) {
		kill(watcher, SIGKILL);
		waitpid(watcher, NULL, 0);
	}
	agent_stop(&agent);
	hvq_stop(&q);
}

TestSuite(agent_python_qemu, .init = setup, .fini = teardown, .timeout = 300);

static char *hvctl_ok(const char *const *args)
{
	char *out, *err;
	int rc = run_hvctl(args, &out, &err);
	cr_assert_eq(rc, 0, "hvctl %s %s: %s", args[2], args[3] ? args[3] : "", err);
	free(err);
	return out;
}
#define HVCTL(...) hvctl_ok((const char *const[]){ "--connect", uri, __VA_ARGS__, NULL })

Test(agent_python_qemu, python_follows_events_while_hvctl_destroys_and_starts)
{
	char *out = HVCTL("version", "--json");
	int caps = strstr(out, "\"start\"") && strstr(out, "\"destroy\"");
	free(out);
	cr_assert(caps, "hv-core does not announce the start and destroy capabilities (GetVersion)");

	watcher = fork();
	cr_assert_geq(watcher, 0);
	if (watcher == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(wout, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(HV_SYSTEM_PYTHON, HV_SYSTEM_PYTHON,
		      HV_SOURCE_DIR "/tests/integration/agent_python_watch.py",
		      HV_SOURCE_DIR "/proto", work, agent.sock, VM, marker, (char *)NULL);
		_exit(127);
	}
	/* The stream is open once the boot events of the VM have arrived. */
	int open_ = 0;
	for (int i = 0; i < 3000 && !open_; i++) {
		open_ = access(marker, F_OK) == 0;
		if (!open_ && waitpid(watcher, NULL, WNOHANG) == watcher) {
			watcher = 0;
			break;
		}
		usleep(20000);
	}
	cr_assert(open_, "the Python client never received an event: %s", read_file_text(wout));

	free(HVCTL("destroy", VM));
	free(HVCTL("start", VM));
	out = HVCTL("domstate", VM);
	cr_expect_str_eq(out, "running\n\n");
	free(out);

	int status;
	cr_assert_eq(waitpid(watcher, &status, 0), watcher);
	watcher = 0;
	char *text = read_file_text(wout);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "Python watcher failed:\n%s",
		  text ? text : "");
	cr_expect(text && strstr(text, "STOPPED " VM " reason=VM_REASON_DESTROYED"), "%s",
		  text ? text : "");
	cr_expect(text && strstr(text, "\nok\n"), "%s", text ? text : "");
	cr_log_info("events seen by the Python client:\n%s", text ? text : "");
	free(text);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}
