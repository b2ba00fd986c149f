/*
 * dtc.c - VM configurations between device-tree source and blob through
 * Debian's dtc (device-tree-compiler), run as a subprocess: the compiler users
 * already run by hand, with its own error messages (file:line), rather than a
 * second DTS parser of our own.
 */
#define _GNU_SOURCE
#include "dtc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CAPTURE_MAX (16u * 1024u * 1024u)

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_read(struct buf *b, int fd)
{
	if (b->cap - b->len < 4097) {
		size_t cap = b->cap ? b->cap * 2 : 8192;
		char *p = cap <= CAPTURE_MAX ? realloc(b->p, cap) : NULL;
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	ssize_t n = read(fd, b->p + b->len, 4096);
	if (n < 0)
		return errno == EINTR ? 1 : -1;
	b->len += (size_t)n;
	b->p[b->len] = '\0';
	return n > 0;
}

int run_capture(const char *const argv[], char **out, size_t *out_len, char **err, int *status,
		struct hv_status *st)
{
	int po[2], pe[2];
	struct buf bo = { 0 }, be = { 0 };

	*out = *err = NULL;
	*out_len = 0;
	if (pipe2(po, O_CLOEXEC) != 0)
		return hv_status_set(st, HV_INTERNAL, "pipe: %s", strerror(errno));
	if (pipe2(pe, O_CLOEXEC) != 0) {
		close(po[0]);
		close(po[1]);
		return hv_status_set(st, HV_INTERNAL, "pipe: %s", strerror(errno));
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
		return hv_status_set(st, HV_INTERNAL, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	struct pollfd fds[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
	int open_fds = 2, failed = 0;
	while (open_fds) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			failed = 1;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			int r = buf_read(i ? &be : &bo, fds[i].fd);
			if (r == 0 || r < 0) {
				if (r < 0)
					failed = 1;
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	int ws;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (failed) {
		free(bo.p);
		free(be.p);
		return hv_status_set(st, HV_INTERNAL,
				     "reading the output of %s failed (more than %u bytes?)",
				     argv[0], CAPTURE_MAX);
	}
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	*out = bo.p ? bo.p : calloc(1, 1);
	*out_len = bo.len;
	*err = be.p ? be.p : calloc(1, 1);
	if (!*out || !*err) {
		free(*out);
		free(*err);
		*out = *err = NULL;
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
	}
	return 0;
}

/* dtc's messages, each line indented, without a trailing newline. */
static void indent_lines(const char *text, char *msg, size_t len)
{
	size_t used = 0;

	msg[0] = '\0';
	for (const char *line = text; *line && used + 1 < len;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		if (n)
			used += (size_t)snprintf(msg + used, len - used, "%s  %.*s",
						 used ? "\n" : "", (int)n, line);
		line += n + (nl ? 1 : 0);
	}
}

int dtc_compile(const char *path, uint8_t **dtb, size_t *len, char *msg, size_t msglen,
		struct hv_status *st)
{
	const char *const argv[] = { "dtc", "-q", "-I", "dts", "-O", "dtb", path, NULL };
	char *out, *err;
	int status;

	*dtb = NULL;
	msg[0] = '\0';
	if (run_capture(argv, &out, len, &err, &status, st) != 0)
		return -1;
	if (status == 127) {
		free(out);
		free(err);
		return hv_status_set(st, HV_FAILED_PRECONDITION,
				     "dtc is needed to compile %s: install device-tree-compiler, or pass a .dtb",
				     path);
	}
	if (status != 0 || *len == 0) {
		indent_lines(err, msg, msglen);
		free(out);
		free(err);
		return hv_status_set(st, HV_INVALID_ARGUMENT, "dtc could not compile %s", path);
	}
	free(err);
	*dtb = (uint8_t *)out;
	return 0;
}

int dtc_decompile(const uint8_t *dtb, size_t len, char **dts, struct hv_status *st)
{
	const char *tmp = getenv("TMPDIR");
	char path[512], *err, msg[1024];
	size_t out_len;
	int status, fd;

	*dts = NULL;
	snprintf(path, sizeof path, "%s/hvctl-XXXXXX.dtb", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemps(path, 4);
	if (fd < 0)
		return hv_status_set(st, HV_INTERNAL, "cannot create a temporary file in %s: %s",
				     tmp && *tmp ? tmp : "/tmp", strerror(errno));
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, dtb + off, len - off);
		if (n <= 0) {
			close(fd);
			unlink(path);
			return hv_status_set(st, HV_INTERNAL, "cannot write %s: %s", path,
					     strerror(errno));
		}
		off += (size_t)n;
	}
	close(fd);
	const char *const argv[] = { "dtc", "-q", "-I", "dtb", "-O", "dts", path, NULL };
	int rc = run_capture(argv, dts, &out_len, &err, &status, st);
	unlink(path);
	if (rc != 0)
		return -1;
	if (status != 0) {
		indent_lines(err, msg, sizeof msg);
		free(*dts);
		free(err);
		*dts = NULL;
		if (status == 127)
			return hv_status_set(st, HV_FAILED_PRECONDITION,
					     "dtc is needed to print the configuration: install device-tree-compiler");
		return hv_status_set(st, HV_DATA_LOSS,
				     "dtc could not decompile the stored configuration:\n%s", msg);
	}
	free(err);
	return 0;
}
