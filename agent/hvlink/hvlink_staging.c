/*
 * hvlink_staging.c - writing into the image staging area (MGMT-004,
 * `staging_base`/`staging_size` in the register page; MGMT-048 LOAD_IMAGE).
 *
 * The staging area lies outside the management region, in guest RAM, so it
 * is reached through its own mapping of the same RAM file: each write maps
 * just the pages it touches, copies, and unmaps. A write is bounded by what
 * the register page publishes and by the file's size, so a bad offset or a
 * region that publishes nonsense is an error with the limit in it, never a
 * write elsewhere. The bytes are ordered before LOAD_IMAGE by the release
 * store of req_seq (MGMT-111): both mappings share the file's pages.
 */
#include "hvlink_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The published area, checked against the RAM file. Called with the mapping held. */
static int staging_area(struct hvlink *l, uint64_t *base, uint64_t *size, struct hv_status *st)
{
	volatile struct hvm_regs *r = link_regs(l);
	uint64_t b = r->staging_base, s = r->staging_size;
	struct stat sb;

	if (s == 0)
		return hv_status_set(st, HV_FAILED_PRECONDITION,
				     "hv-core publishes no image staging area (staging_size 0)");
	if (b < l->ram_base || b + s < b)
		return hv_status_set(st, HV_UNAVAILABLE,
				     "the staging area 0x%" PRIx64 "+0x%" PRIx64
				     " lies outside guest RAM (base 0x%" PRIx64 ")",
				     b, s, l->ram_base);
	if (fstat(l->fd, &sb) != 0 || (uint64_t)sb.st_size < b - l->ram_base + s)
		return hv_status_set(st, HV_UNAVAILABLE,
				     "the staging area 0x%" PRIx64 "+0x%" PRIx64
				     " lies beyond the end of %s",
				     b, s, l->ram_file);
	*base = b;
	*size = s;
	return 0;
}

int hvlink_staging_info(struct hvlink *l, uint64_t *base, uint64_t *size, struct hv_status *st)
{
	if (link_get(l, st) != 0)
		return -1;
	int rc = staging_area(l, base, size, st);
	link_put(l);
	return rc;
}

int hvlink_staging_write(struct hvlink *l, uint64_t off, const void *data, size_t len,
			 struct hv_status *st)
{
	uint64_t base = 0, size = 0;

	if (link_get(l, st) != 0)
		return -1;
	int rc = staging_area(l, &base, &size, st);
	if (rc == 0 && (off > size || len > size - off))
		rc = hv_status_set(st, HV_INVALID_ARGUMENT,
				   "%zu bytes at staging offset 0x%" PRIx64
				   " do not fit the %" PRIu64 "-byte staging area",
				   len, off, size);
	if (rc == 0 && len) {
		long page = sysconf(_SC_PAGESIZE);
		uint64_t file_off = base - l->ram_base + off;
		uint64_t start = file_off - file_off % (uint64_t)page;
		size_t maplen = (size_t)(file_off - start) + len;
		void *p = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, l->fd, (off_t)start);
		if (p == MAP_FAILED) {
			rc = hv_status_set(st, HV_UNAVAILABLE,
					   "cannot map the staging area of %s at 0x%" PRIx64 ": %s",
					   l->ram_file, start, strerror(errno));
		} else {
			memcpy((uint8_t *)p + (file_off - start), data, len);
			munmap(p, maplen);
		}
	}
	link_put(l);
	return rc;
}
