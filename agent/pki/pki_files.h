/* File handling for the PKI: paths, reading PEM files, and staging a set of
 * new files so that they appear together or not at all. Internal to hvpki. */
#ifndef HV_PKI_FILES_H
#define HV_PKI_FILES_H

#include <stddef.h>
#include <sys/types.h>

#include "pki.h"

#define PKI_PATH_BUF 4096
#define PKI_NAME_BUF 80 /* a validated name plus ".crt"/".key" */
#define PKI_STAGE_MAX 16

struct pki_staged {
	char name[PKI_NAME_BUF];
	unsigned char *data; /* NUL-terminated copy, LEN bytes before the NUL */
	size_t len;
	mode_t mode;
};

struct pki_stage {
	char dir[PKI_PATH_BUF - PKI_NAME_BUF - 16]; /* room for "/.NAME.XXXXXX" */
	struct pki_staged files[PKI_STAGE_MAX];
	int n;
};

void pki_fail(struct pki_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* DIR "/" NAME into BUF; -1 when it does not fit. */
int pki_join(char *buf, size_t len, const char *dir, const char *name);

/* Whole file into a malloc'd NUL-terminated buffer (at most 64 KiB). On
 * failure ERR names the file and errno is kept. */
int pki_read_file(const char *path, unsigned char **buf, size_t *len, struct pki_err *err);

int pki_stage_begin(struct pki_stage *st, const char *dir, struct pki_err *err);
/* 1 when DIR/NAME exists, 0 when it does not, -1 (ERR set) when unknown. */
int pki_stage_exists(const struct pki_stage *st, const char *name, struct pki_err *err);
int pki_stage_add(struct pki_stage *st, const char *name, const unsigned char *data, size_t len,
		  mode_t mode, struct pki_err *err);
/* Creates the directory if needed (0700, parents 0755), writes every file
 * to a temporary name and then moves them into place. Without REPLACE an
 * existing file is an error and nothing of the set stays behind. */
int pki_stage_commit(struct pki_stage *st, int replace, struct pki_err *err);
/* Wipes (keys!) and frees the staged contents. */
void pki_stage_free(struct pki_stage *st);

#endif
