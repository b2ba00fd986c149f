/* File handling for the PKI: the set of files a command writes is staged
 * into temporary files and then moved into place, so that an interrupted or
 * failed `hvctl pki` never leaves a CA without its key or a key readable by
 * others (REQ-SAF-14). Keys are created 0600 from the start (mkstemp), never
 * chmod'ed down after being written. */
#include "pki_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#define READ_MAX (64 * 1024)

int pki_join(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int pki_read_file(const char *path, unsigned char **buf, size_t *len, struct pki_err *err)
{
	*buf = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		int e = errno;
		pki_fail(err, "%s: cannot open: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	unsigned char *b = malloc(READ_MAX + 1);
	if (b == NULL) {
		fclose(f);
		pki_fail(err, "%s: out of memory", path);
		return -1;
	}
	size_t n = fread(b, 1, READ_MAX + 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad || n > READ_MAX) {
		pki_fail(err, "%s: %s", path, bad ? "read error" : "larger than 64 KiB");
		free(b);
		return -1;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

int pki_stage_begin(struct pki_stage *st, const char *dir, struct pki_err *err)
{
	memset(st, 0, sizeof *st);
	if (strlen(dir) >= sizeof st->dir) {
		pki_fail(err, "directory path '%.64s...' is too long", dir);
		return -1;
	}
	strcpy(st->dir, dir);
	return 0;
}

int pki_stage_exists(const struct pki_stage *st, const char *name, struct pki_err *err)
{
	char path[PKI_PATH_BUF];
	struct stat sb;
	if (pki_join(path, sizeof path, st->dir, name) < 0) {
		pki_fail(err, "path of %s is too long", name);
		return -1;
	}
	if (lstat(path, &sb) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	if (errno == ENOTDIR) {
		pki_fail(err, "%s: a component of the path is not a directory", path);
		return -1;
	}
	pki_fail(err, "%s: cannot check: %s", path, strerror(errno));
	return -1;
}

int pki_stage_add(struct pki_stage *st, const char *name, const unsigned char *data, size_t len,
		  mode_t mode, struct pki_err *err)
{
	if (st->n == PKI_STAGE_MAX || strlen(name) >= PKI_NAME_BUF) {
		pki_fail(err, "internal: cannot stage %s", name);
		return -1;
	}
	struct pki_staged *f = &st->files[st->n];
	f->data = malloc(len + 1);
	if (f->data == NULL) {
		pki_fail(err, "out of memory staging %s", name);
		return -1;
	}
	memcpy(f->data, data, len);
	f->data[len] = '\0';
	f->len = len;
	f->mode = mode;
	strcpy(f->name, name);
	st->n++;
	return 0;
}

void pki_stage_free(struct pki_stage *st)
{
	for (int i = 0; i < st->n; i++) {
		mbedtls_platform_zeroize(st->files[i].data, st->files[i].len);
		free(st->files[i].data);
		st->files[i].data = NULL;
	}
	st->n = 0;
}

/* mkdir -p: parents 0755 (they may hold world-reachable sockets), the PKI
 * directory itself 0700. */
static int make_dirs(const char *dir, struct pki_err *err)
{
	char path[PKI_PATH_BUF];
	struct stat sb;
	strcpy(path, dir);
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	for (char *p = path + 1;; p++) {
		int last = (*p == '\0');
		if (*p != '/' && !last)
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(path, last ? 0700 : 0755) == 0) {
			if (last && chmod(path, 0700) != 0) {
				pki_fail(err, "%s: cannot set mode 0700: %s", path, strerror(errno));
				return -1;
			}
		} else if (errno != EEXIST) {
			pki_fail(err, "cannot create directory %s: %s", path, strerror(errno));
			return -1;
		} else if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			pki_fail(err, "%s exists and is not a directory", path);
			return -1;
		}
		*p = saved;
		if (last)
			return 0;
	}
}

static int write_all(int fd, const unsigned char *data, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, data, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

int pki_stage_commit(struct pki_stage *st, int replace, struct pki_err *err)
{
	char tmp[PKI_STAGE_MAX][PKI_PATH_BUF];
	char final[PKI_PATH_BUF];
	int made = 0, placed = 0;

	if (make_dirs(st->dir, err) < 0)
		return -1;
	for (; made < st->n; made++) {
		struct pki_staged *f = &st->files[made];
		snprintf(tmp[made], PKI_PATH_BUF, "%s/.%s.XXXXXX", st->dir, f->name);
		int fd = mkstemp(tmp[made]); /* 0600 */
		if (fd < 0) {
			pki_fail(err, "cannot create a file in %s: %s", st->dir, strerror(errno));
			goto undo;
		}
		if (fchmod(fd, f->mode) != 0 || write_all(fd, f->data, f->len) != 0 ||
		    fsync(fd) != 0) {
			int e = errno;
			close(fd);
			unlink(tmp[made]);
			pki_fail(err, "cannot write %s/%s: %s", st->dir, f->name, strerror(e));
			goto undo;
		}
		if (close(fd) != 0) {
			int e = errno;
			unlink(tmp[made]);
			pki_fail(err, "cannot write %s/%s: %s", st->dir, f->name, strerror(e));
			goto undo;
		}
	}
	for (; placed < st->n; placed++) {
		pki_join(final, sizeof final, st->dir, st->files[placed].name);
		if (replace) {
			if (rename(tmp[placed], final) != 0) {
				pki_fail(err, "cannot replace %s: %s", final, strerror(errno));
				goto undo;
			}
		} else {
			/* link() fails on an existing name: no check-then-write race. */
			if (link(tmp[placed], final) != 0) {
				if (errno == EEXIST)
					pki_fail(err, "%s already exists: refusing to overwrite it",
						 final);
				else
					pki_fail(err, "cannot create %s: %s", final, strerror(errno));
				goto undo;
			}
			unlink(tmp[placed]);
		}
	}
	return 0;
undo:
	/* Files already moved into place by this call are ours to remove only
     * when nothing was replaced. */
	for (int i = 0; i < placed && !replace; i++) {
		pki_join(final, sizeof final, st->dir, st->files[i].name);
		unlink(final);
	}
	for (int i = placed; i < made; i++)
		unlink(tmp[i]);
	return -1;
}
