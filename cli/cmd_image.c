/*
 * cmd_image.c - `hvctl load-image NAME FILE [--initrd]`: streams a guest
 * image to hv-agent's LoadImage (docs/api.md), which has hv-core check it
 * against the VM's configured SHA-256 and keep it in the VM's image-store
 * slot. hvctl computes the SHA-256 first (mbedTLS) so that hv-agent can tell
 * a damaged transfer from a wrong image, then sends the file in 64 KiB chunks.
 * Progress goes to stderr, and only when stderr is a terminal: scripts and
 * tests see just the result line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "client.h"
#include "commands.h"

#define CHUNK (64u * 1024u)

struct feed {
	FILE *f;
	const char *path;
	uint64_t size, sent;
	uint8_t buf[CHUNK];
	Hvmgr__V1__LoadImageRequest msg;
	int progress;
};

static int next_chunk(void *arg, const ProtobufCMessage **out, struct hv_status *st)
{
	struct feed *fd = arg;
	Hvmgr__V1__LoadImageRequest init = HVMGR__V1__LOAD_IMAGE_REQUEST__INIT;

	if (fd->sent == fd->size)
		return 0;
	size_t want = fd->size - fd->sent < CHUNK ? (size_t)(fd->size - fd->sent) : CHUNK;
	if (fread(fd->buf, 1, want, fd->f) != want)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "%s: read failed after %" PRIu64 " bytes (file changed?)",
				     fd->path, fd->sent);
	fd->msg = init;
	fd->msg.part_case = HVMGR__V1__LOAD_IMAGE_REQUEST__PART_DATA;
	fd->msg.data.data = fd->buf;
	fd->msg.data.len = want;
	fd->sent += want;
	if (fd->progress)
		fprintf(stderr, "\rload-image: %" PRIu64 " of %" PRIu64 " bytes (%" PRIu64 "%%)",
			fd->sent, fd->size, fd->sent * 100 / fd->size);
	*out = &fd->msg.base;
	return 1;
}

/* SHA-256 of the whole file; 0, or -1 with errno. */
static int file_sha256(FILE *f, uint8_t out[32])
{
	mbedtls_sha256_context sha;
	uint8_t buf[CHUNK];
	size_t n;

	mbedtls_sha256_init(&sha);
	mbedtls_sha256_starts_ret(&sha, 0);
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		mbedtls_sha256_update_ret(&sha, buf, n);
	int bad = ferror(f);
	mbedtls_sha256_finish_ret(&sha, out);
	mbedtls_sha256_free(&sha);
	if (bad)
		return -1;
	rewind(f);
	return 0;
}

HVCTL_HANDLER(cmd_load_image)
{
	const char *path = a->pos[1];
	Hvmgr__V1__LoadImageRequest first = HVMGR__V1__LOAD_IMAGE_REQUEST__INIT;
	Hvmgr__V1__LoadImageHeader hdr = HVMGR__V1__LOAD_IMAGE_HEADER__INIT;
	Hvmgr__V1__VmSelector sel;
	Hvmgr__V1__LoadImageResponse *resp = NULL;
	uint8_t digest[32];
	struct stat sb;
	struct hv_status st;
	int rc;

	struct feed *fd = calloc(1, sizeof *fd);
	if (!fd)
		return hvctl_error(HVCTL_FAIL, h->verb, "out of memory");
	fd->path = path;
	fd->f = fopen(path, "rb");
	if (!fd->f) {
		int e = errno;
		free(fd);
		return hvctl_error(e == ENOENT ? HVCTL_NOT_FOUND : HVCTL_FAIL, h->verb, "%s: %s",
				   path, strerror(e));
	}
	if (fstat(fileno(fd->f), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
		rc = hvctl_error(HVCTL_FAIL, h->verb, "%s: not a regular, non-empty file", path);
		goto out;
	}
	fd->size = (uint64_t)sb.st_size;
	if (file_sha256(fd->f, digest) != 0) {
		rc = hvctl_error(HVCTL_FAIL, h->verb, "%s: %s", path, strerror(errno));
		goto out;
	}
	hvctl_selector(&sel, a->pos[0]);
	hdr.vm = &sel;
	hdr.image_index = opt_flag(a, "initrd") ? 1 : 0;
	hdr.total_size = fd->size;
	hdr.sha256.data = digest;
	hdr.sha256.len = sizeof digest;
	first.part_case = HVMGR__V1__LOAD_IMAGE_REQUEST__PART_HEADER;
	first.header = &hdr;
	fd->progress = isatty(STDERR_FILENO);

	struct hvc *c = hvctl_conn(h);
	if (!c) {
		rc = h->conn_rc;
		goto out;
	}
	int r = hvc_upload(c, "/hvmgr.v1.Hvmgr/LoadImage", &first.base, next_chunk, fd,
			   &hvmgr__v1__load_image_response__descriptor, (ProtobufCMessage **)&resp,
			   &st);
	if (fd->progress && fd->sent)
		fputc('\n', stderr);
	if (r != 0) {
		rc = hvctl_fail(h->verb, &st);
		goto out;
	}
	printf("Image %s (%" PRIu64 " bytes) loaded into domain '%s'\n\n",
	       hdr.image_index ? "initrd" : "boot", resp->bytes,
	       resp->vm ? resp->vm->name : a->pos[0]);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	rc = HVCTL_OK;
out:
	fclose(fd->f);
	free(fd);
	return rc;
}
