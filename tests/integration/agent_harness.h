/*
 * agent_harness.h - integration-test helpers for hv-agent and hvctl: start the
 * real hv-agent on a fresh state directory, stop it with SIGTERM and report
 * how it exited, and run the real hvctl capturing its output and exit status.
 * A started hv-agent dies with the test process (PR_SET_PDEATHSIG), so a
 * crashing test never leaves one behind.
 */
#ifndef AGENT_HARNESS_H
#define AGENT_HARNESS_H

#include <sys/types.h>

struct agent_proc {
	pid_t pid;
	char dir[128];
	char sock[192];
	char ro_sock[192];
	char log[192];
	char err[256];
};

/* Starts BIN/hv-agent --foreground --state-dir dir [extra...] and waits
 * (bounded) for both sockets. extra is NULL-terminated, may be NULL. With
 * HV_AGENT_TEST_CUT set in the environment it starts BIN/hv-agent-test, which
 * ends with HV_TEST_CUT_EXIT (86) at the cut point named (agent/common/testcut.h). */
int agent_start(struct agent_proc *a, const char *dir, const char *const *extra);

/* SIGTERM, then waits; SIGKILL if it does not exit in 30 s. Returns the exit
 * status (0 = clean), 128+signal if killed, -1 if not running. Idempotent. */
int agent_stop(struct agent_proc *a);

/* Runs BIN/hvctl with args (NULL-terminated); *out and *err get its stdout
 * and stderr (malloc'd, NUL-terminated). Returns the exit status, or 128+signal. */
int run_hvctl(const char *const *args, char **out, char **err);
/* The same for any program (path) with args. */
int run_program(const char *path, const char *const *args, char **out, char **err);

/* Reads a whole text file (malloc'd), NULL if missing. */
char *read_file_text(const char *path);
/* A loopback TCP port nobody listens on now (bound and released). */
int loopback_port(void);

/* rm -r of a test directory (files and one level of subdirectories). */
void remove_tree(const char *dir);

#endif /* AGENT_HARNESS_H */
