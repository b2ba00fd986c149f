/*
 * hvctl_testlib.h - what the hvctl test suites (hvctl_cli.c, hvctl_cmdline.c)
 * share: hvctl's paths and exit statuses, running hvctl in the foreground
 * (output captured) or in the background (bounded waits, never a timing
 * assertion), and running bash completion.
 */
#ifndef HVCTL_TESTLIB_H
#define HVCTL_TESTLIB_H

#include <jansson.h>
#include <sys/types.h>

#define HVCTL_BIN HV_BIN_DIR "/hvctl"
#define MAN_FILE HV_BUILD_DIR "/share/man/man1/hvctl.1"
#define COMPLETION_FILE HV_BUILD_DIR "/share/bash-completion/completions/hvctl"

/* hvctl's exit statuses (docs/hvctl.md). */
enum {
	OK = 0,
	FAIL = 1,
	USAGE = 2,
	UNREACHABLE = 3,
	NOT_FOUND = 4,
	DENIED = 5
};

/* The connection URI the suite's HV() uses; stdout and stderr of the last run. */
extern char uri[320];
extern char *out, *err;

/* hvctl with the test's connection; hvctl without one. */
#define HV(...) run((const char *const[]){ "--connect", uri, __VA_ARGS__, NULL })
#define HVRAW(...) run((const char *const[]){ __VA_ARGS__, NULL })

void nap_ms(long ms);
/* hvctl with args (NULL-ended); output in out/err; returns the exit status. */
int run(const char *const *args);
/* Any program, the same way. */
int run_prog(const char *path, const char *const *args);
int count_of(const char *hay, const char *needle);
/* Parses text as JSON or fails the test. */
json_t *parse_json(const char *text);

/* hvctl in the background: stdout to outfd, stderr to errpath, no stdin,
 * no other descriptor; it dies with the test. */
pid_t spawn_hvctl(const char *const *args, int outfd, const char *errpath);
/* Its exit status within timeout_s, or -1 after killing it. */
int wait_exit(pid_t pid, unsigned timeout_s);
/* 0 once path holds needle at least n times, -1 after timeout_s. */
int wait_file(const char *path, const char *needle, int n, unsigned timeout_s);

/* Sources script in bash, completes the words given (a bash array body),
 * prints COMPREPLY one a line into out. */
int complete_words(const char *script, const char *words);

/* A loopback TCP port nobody listens on right now. */
unsigned free_port(void);

#endif /* HVCTL_TESTLIB_H */
