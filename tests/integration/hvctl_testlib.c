/* hvctl_testlib.c - running hvctl as a user would, for the hvctl test suites
 * (hvctl_testlib.h): foreground runs with captured output, background runs
 * with bounded waits (never timing assertions), bash completion. */
#define _GNU_SOURCE
#include "hvctl_testlib.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_harness.h"

char uri[320];
char *out, *err;

void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

int run(const char *const *args)
{
	free(out);
	free(err);
	return run_hvctl(args, &out, &err);
}

/* Any other program, output into out/err as for hvctl. */
int run_prog(const char *path, const char *const *args)
{
	free(out);
	free(err);
	return run_program(path, args, &out, &err);
}

int count_of(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; hay && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

json_t *parse_json(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	cr_assert_not_null(j, "not JSON (%s):\n%s", jerr.text, text);
	return j;
}

/* ---- background hvctl ---- */

/* Starts hvctl with args, stdout to outfd (stderr to errpath); dies with the test. */
pid_t spawn_hvctl(const char *const *args, int outfd, const char *errpath)
{
	const char *argv[40];
	int n = 0;

	argv[n++] = HVCTL_BIN;
	for (int i = 0; args[i] && n < 39; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t parent = getpid(), pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int in = open("/dev/null", O_RDONLY);
		dup2(in, 0);
		dup2(outfd, 1);
		dup2(e, 2);
		for (int fd = 3; fd < 1024; fd++) /* e.g. the read end of a test's pipe */
			close(fd);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Exit status of pid within timeout_s (bounded wait, not a timing check);
 * -1 after killing it when it did not end. */
int wait_exit(pid_t pid, unsigned timeout_s)
{
	int status;

	for (unsigned i = 0; i < timeout_s * 50; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		nap_ms(20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* Polls file until it holds needle at least n times (bounded). */
int wait_file(const char *path, const char *needle, int n, unsigned timeout_s)
{
	for (unsigned i = 0; i < timeout_s * 10; i++) {
		char *s = read_file_text(path);
		int c = count_of(s, needle);
		free(s);
		if (c >= n)
			return 0;
		nap_ms(100);
	}
	return -1;
}

/* Runs the completion function in bash for the words given, prints COMPREPLY. */
int complete_words(const char *script, const char *words)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd,
		 "source '%s' || exit 9; COMP_WORDS=(%s); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); "
		 "_hvctl; printf '%%s\\n' \"${COMPREPLY[@]}\"",
		 script, words);
	return run_prog("/bin/bash",
			(const char *const[]){ "--noprofile", "--norc", "-c", cmd, NULL });
}

unsigned free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof in;
	cr_assert_eq(bind(s, (struct sockaddr *)&in, sizeof in), 0);
	getsockname(s, (struct sockaddr *)&in, &sl);
	close(s);
	return ntohs(in.sin_port);
}
