/* agent_harness.c - starting hv-agent and running hvctl for integration tests
 * (agent_harness.h). Waits are bounded polls, never timing assertions. */
#define _GNU_SOURCE
#include "agent_harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int is_socket(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0 && S_ISSOCK(sb.st_mode);
}

int agent_start(struct agent_proc *a, const char *dir, const char *const *extra)
{
	const char *argv[32];
	int n = 0;

	memset(a, 0, sizeof *a);
	snprintf(a->dir, sizeof a->dir, "%s", dir);
	snprintf(a->sock, sizeof a->sock, "%s/hv-agent.sock", dir);
	snprintf(a->ro_sock, sizeof a->ro_sock, "%s/hv-agent-ro.sock", dir);
	snprintf(a->log, sizeof a->log, "%s/agent.log", dir);
	/* a cut point named (docs/ota.md OTA-212): the build with cut points */
	argv[n++] =
		getenv("HV_AGENT_TEST_CUT") ? HV_BIN_DIR "/hv-agent-test" : HV_BIN_DIR "/hv-agent";
	argv[n++] = "--foreground";
	argv[n++] = "--state-dir";
	argv[n++] = dir;
	for (int i = 0; extra && extra[i] && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(a->err, sizeof a->err, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		int fd = open(a->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
			close(fd);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	a->pid = pid;
	for (int i = 0; i < 3000; i++) { /* up to 60 s on a loaded machine */
		if (is_socket(a->sock) && is_socket(a->ro_sock))
			return 0;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			a->pid = 0;
			char *log = read_file_text(a->log);
			snprintf(a->err, sizeof a->err, "hv-agent exited during startup: %s",
				 log ? log : "");
			free(log);
			return -1;
		}
		nap_ms(20);
	}
	snprintf(a->err, sizeof a->err, "hv-agent did not create %s", a->sock);
	agent_stop(a);
	return -1;
}

int agent_stop(struct agent_proc *a)
{
	int status;

	if (a->pid <= 0)
		return -1;
	kill(a->pid, SIGTERM);
	for (int i = 0; i < 1500; i++) {
		if (waitpid(a->pid, &status, WNOHANG) == a->pid)
			goto reaped;
		nap_ms(20);
	}
	kill(a->pid, SIGKILL);
	waitpid(a->pid, &status, 0);
reaped:
	a->pid = 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static char *slurp_fd(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	ssize_t n;

	if (!buf)
		return NULL;
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	return buf;
}

int run_hvctl(const char *const *args, char **out, char **err)
{
	return run_program(HV_BIN_DIR "/hvctl", args, out, err);
}

int run_program(const char *path, const char *const *args, char **out, char **err)
{
	char outp[] = "/tmp/hvctl-out-XXXXXX", errp[] = "/tmp/hvctl-err-XXXXXX";
	int ofd = mkstemp(outp), efd = mkstemp(errp);
	const char *argv[40];
	int n = 0, status;

	argv[n++] = path;
	for (int i = 0; args[i] && n < 39; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(ofd, 1);
		dup2(efd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	lseek(ofd, 0, SEEK_SET);
	lseek(efd, 0, SEEK_SET);
	*out = slurp_fd(ofd);
	*err = slurp_fd(efd);
	close(ofd);
	close(efd);
	unlink(outp);
	unlink(errp);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

char *read_file_text(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	char *s = slurp_fd(fd);
	close(fd);
	return s;
}

void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (unlink(p) != 0 && errno == EISDIR)
			remove_tree(p);
	}
	closedir(d);
	rmdir(dir);
}

int loopback_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}
