/*
 * blkback.c - hv-blkback, the backend process of one VM's virtio-blk device
 * (docs/guest-abi.md GABI-494, docs/mgmt-abi.md MGMT-860..864). It stands
 * where a ServiceOS's block backend would: hv-core emulates the virtio-mmio
 * transport and keeps the virtqueue; this process serves the requests hv-core
 * posts in the VM's ring of the management region, reading and writing a disk
 * file in hv-agent's state directory.
 *
 * It maps two pieces of the machine's RAM file and nothing else: the VM's
 * 4 KiB ring page and the VM's bounce area, hv-core's own memory through which
 * hv-core copies each request's data to and from the guest's buffers
 * (VMCFG-852). Every buffer of a request is an offset into that area, checked
 * again here; no byte of the VM's RAM, other VMs or the rest of hv-core is in
 * this process's address space.
 *
 * Killed at any moment, it can be started again: the ring (posted, done) lives
 * in hv-core's region, so a new backend continues at `done` and serves again
 * a request the old one was serving (reads and writes of whole sectors are
 * idempotent). The guest's driver sees only a slower request.
 *
 * usage: hv-blkback --ram FILE --vm ID --disk FILE [--ram-base PA]
 *                   [--region PA] [--poll-us N]
 * The disk file is created, or grown, to the device's capacity. SIGTERM and
 * SIGINT end it after the request being served. It also ends by itself once
 * the RAM file has been removed (checked every second): its machine is gone
 * for good, and its mapping would only keep that memory alive (MGMT-868).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hvmgmt.h"

#define RAM_BASE_DEFAULT 0x40000000ull /* QEMU virt: the RAM file's offset 0 */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Once a second at most: 1 when the RAM file (fd) has no name left, i.e.
 * whoever ran the machine removed it. A file that is only being reused by a
 * restarted machine keeps its name, and the backend keeps serving. */
static int machine_gone(int fd, const char *ram, uint64_t *next_ns)
{
	struct timespec now;
	struct stat st;

	clock_gettime(CLOCK_MONOTONIC, &now);
	uint64_t ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	if (ns < *next_ns)
		return 0;
	*next_ns = ns + 1000000000ull;
	if (fstat(fd, &st) != 0 || st.st_nlink > 0)
		return 0;
	fprintf(stderr, "hv-blkback: the RAM file '%s' was removed: its machine is gone, exiting\n",
		ram);
	return 1;
}

static int usage(const char *why)
{
	fprintf(stderr,
		"hv-blkback: %s\n"
		"usage: hv-blkback --ram FILE --vm ID --disk FILE [--ram-base PA] [--region PA] "
		"[--poll-us N]\n",
		why);
	return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || !*s || *end ? -1 : 0;
}

/* Maps [pa, pa + len) of the RAM file (page-aligned); NULL with a message. */
static void *map_ram(int fd, uint64_t ram_base, uint64_t ram_size, uint64_t pa, uint64_t len,
		     const char *what)
{
	if (pa < ram_base || pa - ram_base > ram_size || len > ram_size - (pa - ram_base) ||
	    (pa & 0xFFF) || (len & 0xFFF) || !len) {
		fprintf(stderr,
			"hv-blkback: %s at 0x%" PRIx64 "+0x%" PRIx64
			" is not page-aligned inside the RAM file\n",
			what, pa, len);
		return NULL;
	}
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)(pa - ram_base));
	if (p == MAP_FAILED) {
		fprintf(stderr, "hv-blkback: cannot map %s: %s\n", what, strerror(errno));
		return NULL;
	}
	return p;
}

/* One request: the status to report (enum hvm_blk_status). */
static uint32_t serve(int disk, uint8_t *win, uint64_t win_size, uint64_t capacity,
		      const volatile struct hvm_blk_req *r)
{
	struct hvm_blk_req q;
	uint64_t pos;

	memcpy(&q, (const void *)r, sizeof q); /* one copy: hv-core may not change it after */
	if (q.type == HVM_BLK_FLUSH)
		return fdatasync(disk) == 0 ? HVM_BLK_S_OK : HVM_BLK_S_IOERR;
	if ((q.type != HVM_BLK_IN && q.type != HVM_BLK_OUT) || q.nseg > HVM_BLK_SEGS)
		return HVM_BLK_S_UNSUPP;
	if (q.sector > capacity / HVM_BLK_SECTOR)
		return HVM_BLK_S_IOERR;
	pos = q.sector * HVM_BLK_SECTOR;
	for (uint32_t i = 0; i < q.nseg; i++) {
		uint64_t off = q.seg[i].off, len = q.seg[i].len;
		/* the bounce area is all this process has: check it again */
		if (off > win_size || len > win_size - off || len > capacity - pos)
			return HVM_BLK_S_IOERR;
		ssize_t n = q.type == HVM_BLK_IN ? pread(disk, win + off, len, (off_t)pos)
						 : pwrite(disk, win + off, len, (off_t)pos);
		if (n < 0 || (uint64_t)n != len) {
			if (q.type == HVM_BLK_IN && n >= 0) /* past the file's end: zeroes */
				memset(win + off + n, 0, len - (uint64_t)n);
			else
				return HVM_BLK_S_IOERR;
		}
		pos += len;
	}
	return HVM_BLK_S_OK;
}

int main(int argc, char **argv)
{
	const char *ram = NULL, *disk_path = NULL;
	uint64_t vm = HVM_MAX_VMS, ram_base = RAM_BASE_DEFAULT, region = HVM_DEFAULT_BASE;
	uint64_t poll_us = 1000;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int bad = 0;
		if (!v)
			return usage("an option lacks its value");
		if (strcmp(o, "--ram") == 0)
			ram = v;
		else if (strcmp(o, "--disk") == 0)
			disk_path = v;
		else if (strcmp(o, "--vm") == 0)
			bad = parse_u64(v, &vm) || vm >= HVM_MAX_VMS;
		else if (strcmp(o, "--ram-base") == 0)
			bad = parse_u64(v, &ram_base);
		else if (strcmp(o, "--region") == 0)
			bad = parse_u64(v, &region);
		else if (strcmp(o, "--poll-us") == 0)
			bad = parse_u64(v, &poll_us) || poll_us == 0 || poll_us > 1000000;
		else
			return usage("unknown option");
		if (bad) {
			fprintf(stderr, "hv-blkback: %s '%s' is not a valid value\n", o, v);
			return 2;
		}
		i++;
	}
	if (!ram || !disk_path || vm >= HVM_MAX_VMS)
		return usage("--ram, --vm and --disk are required");

	int fd = open(ram, O_RDWR);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "hv-blkback: cannot open the RAM file '%s': %s\n", ram,
			strerror(errno));
		return 1;
	}
	volatile struct hvm_blk_ring *ring =
		map_ram(fd, ram_base, (uint64_t)st.st_size, region + HVM_OFF_BLK + vm * 0x1000u,
			0x1000u, "the ring page");
	if (!ring)
		return 1;
	/* the ring is set up when the VM boots with its device: wait for it */
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	uint64_t next_check = 0;
	while (!stop && !(__atomic_load_n(&ring->live, __ATOMIC_ACQUIRE) &&
			  ring->magic == HVM_BLK_MAGIC && ring->vm_id == vm)) {
		if (machine_gone(fd, ram, &next_check))
			return 0;
		usleep(10000);
	}
	if (stop)
		return 0;
	if (ring->version != HVM_BLK_VERSION || ring->size != sizeof(struct hvm_blk_ring)) {
		fprintf(stderr,
			"hv-blkback: ring of VM %" PRIu64 ": version %u size %u, expected %u %zu\n",
			vm, ring->version, ring->size, HVM_BLK_VERSION, sizeof(struct hvm_blk_ring));
		return 1;
	}
	uint64_t capacity = ring->capacity, win_size = ring->window_size;
	uint8_t *win = map_ram(fd, ram_base, (uint64_t)st.st_size, ring->window_pa, win_size,
			       "the bounce area");
	if (!win)
		return 1;
	int disk = open(disk_path, O_RDWR | O_CREAT, 0600);
	struct stat ds;
	if (disk < 0 || fstat(disk, &ds) != 0 ||
	    ((uint64_t)ds.st_size < capacity && ftruncate(disk, (off_t)capacity) != 0)) {
		fprintf(stderr, "hv-blkback: cannot use the disk '%s': %s\n", disk_path,
			strerror(errno));
		return 1;
	}
	ring->backend_pid = (uint32_t)getpid();
	fprintf(stderr,
		"hv-blkback: VM %" PRIu64 ": %" PRIu64 " bytes of '%s', bounce area 0x%" PRIx64
		"+0x%" PRIx64 ", continuing at request %u\n",
		vm, capacity, disk_path, (uint64_t)ring->window_pa, win_size, ring->done);

	struct timespec nap = { 0, (long)(poll_us * 1000) };
	uint64_t beat = 0;
	while (!stop) {
		uint32_t epoch = __atomic_load_n(&ring->epoch, __ATOMIC_ACQUIRE);
		uint32_t posted = __atomic_load_n(&ring->posted, __ATOMIC_ACQUIRE);
		uint32_t done = ring->done;
		ring->backend_beat = ++beat;
		if (done == posted || posted - done > HVM_BLK_SLOTS) {
			if (machine_gone(fd, ram, &next_check))
				break;
			nanosleep(&nap, NULL);
			continue;
		}
		volatile struct hvm_blk_req *r = &ring->req[done % HVM_BLK_SLOTS];
		/* a request of an earlier boot or reset: hv-core forgot it */
		uint32_t status = r->epoch == epoch ? serve(disk, win, win_size, capacity, r)
						    : HVM_BLK_S_IOERR;
		r->status = status;
		__atomic_store_n(&ring->done, done + 1, __ATOMIC_RELEASE);
	}
	close(disk);
	close(fd);
	return 0;
}
