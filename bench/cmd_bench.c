/*
 * cmd_bench.c - hv-cmd-bench: times whole command invocations, start to exit,
 * the way an operator or a script experiences `hvctl dominfo` or
 * `virsh dominfo` (process start, connect, the RPCs, output). Runs the
 * command several times and reports the median, so one slow start on a busy
 * machine does not decide the figure. The command's output goes to
 * /dev/null; any run that exits non-zero makes the whole result invalid.
 *
 *   hv-cmd-bench [--runs N] [--warmup W] [--label L] -- PROGRAM [ARGS...]
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_driver.h"

extern char **environ;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Runs argv once; returns its wall time in ns, or 0 with a message. */
static uint64_t run_once(char **argv)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, err;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	uint64_t t0 = bench_now_ns();
	err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		fprintf(stderr, "hv-cmd-bench: cannot run %s: %s\n", argv[0], strerror(err));
		return 0;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "hv-cmd-bench: waitpid: %s\n", strerror(errno));
			return 0;
		}
	uint64_t t1 = bench_now_ns();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "hv-cmd-bench: %s %s\n", argv[0],
			WIFEXITED(st) ? "exited non-zero" : "was killed by a signal");
		return 0;
	}
	return t1 - t0 ? t1 - t0 : 1;
}

static int parse_count(const char *opt, const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > 100000) {
		fprintf(stderr, "hv-cmd-bench: %s: '%s' is not a count up to 100000\n", opt, s);
		return -1;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long runs = 21, warmup = 2;
	const char *label = "cmd";
	int i = 1;

	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--runs")) {
			if (parse_count("--runs", argv[++i], &runs) || runs == 0)
				return 2;
		} else if (i + 1 < argc && !strcmp(argv[i], "--warmup")) {
			if (parse_count("--warmup", argv[++i], &warmup))
				return 2;
		} else if (i + 1 < argc && !strcmp(argv[i], "--label"))
			label = argv[++i];
		else {
			fprintf(stderr,
				"usage: hv-cmd-bench [--runs N] [--warmup W] [--label L] -- PROGRAM [ARGS...]\n");
			return 2;
		}
	}
	if (i + 1 >= argc) {
		fprintf(stderr, "hv-cmd-bench: no command after --\n");
		return 2;
	}
	char **cmd = argv + i + 1;
	uint64_t *ns = calloc(runs, sizeof *ns);
	if (!ns) {
		fprintf(stderr, "hv-cmd-bench: out of memory\n");
		return 1;
	}
	for (unsigned long k = 0; k < warmup; k++)
		if (!run_once(cmd))
			goto fail;
	for (unsigned long k = 0; k < runs; k++)
		if (!(ns[k] = run_once(cmd)))
			goto fail;
	qsort(ns, runs, sizeof *ns, cmp_u64);
	/* The median of an even count is the mean of the two middle runs. */
	double med = runs % 2 ? (double)ns[runs / 2]
			      : ((double)ns[runs / 2 - 1] + (double)ns[runs / 2]) / 2;
	printf("%s runs=%lu median_ms=%.3f min_ms=%.3f max_ms=%.3f\n", label, runs, med / 1e6,
	       (double)ns[0] / 1e6, (double)ns[runs - 1] / 1e6);
	free(ns);
	return 0;
fail:
	free(ns);
	return 1;
}
