/*
 * hvcore_virtio_blk.c - virtio-blk with a backend process (docs/guest-abi.md
 * GABI-494, docs/mgmt-abi.md MGMT-860..864, REQ-AVP-01): the real hv-core
 * under QEMU emulates the transport and keeps the virtqueue; hv-blkback, a
 * process of its own on the host, serves the requests from the VM's ring with
 * a disk file. The bare-metal guest blk-test (hv-core/guests/blk-test) keeps a
 * boot counter on the disk, is refused a request over the advertised limits
 * and a sector past the disk's end, and checks 200 writes and reads.
 *
 * hv-core copies each request's data between the guest's buffers and its own
 * bounce area: the backend maps only the ring page and that area of the RAM
 * file, no byte of the VM's RAM (read from /proc/PID/maps and checked for both
 * the bare-metal and the Linux guest); SIGKILLed while the guest's I/O runs and
 * started again, it continues at the ring's `done` and the guest's I/O
 * completes. The suite hvcore_linux_blk boots the Linux guest of
 * hv-core/guests/vms/linux-blk.dtsi: Debian's virtio_blk binds, /init mounts
 * the disk and counts its boots there. Waits are bounded; nothing asserts a
 * duration.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvqemu.h"
#include "hvcore_mgmt_util.h"

#define WAIT_S 300
#define STAGE_A 0x04000000ull
#define RAM_FILE_BASE 0x40000000ull /* physical address of the RAM file's byte 0 */

static struct hvq q;
static pid_t backend;
static int vm;

static void start_backend(void)
{
	char ram[320], disk[320], log[320], id[16];
	snprintf(ram, sizeof ram, "%s/guest-ram", q.dir);
	snprintf(disk, sizeof disk, "%s/blk-test.disk", q.dir);
	snprintf(log, sizeof log, "%s/blkback.log", q.dir);
	snprintf(id, sizeof id, "%d", vm);
	pid_t parent = getpid();
	backend = fork();
	cr_assert_geq(backend, 0);
	if (backend == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		execl(HV_BIN_DIR "/hv-blkback", "hv-blkback", "--ram", ram, "--vm", id, "--disk",
		      disk, (char *)NULL);
		_exit(127);
	}
}

static void stop_backend(int sig)
{
	if (backend <= 0)
		return;
	kill(backend, sig);
	waitpid(backend, NULL, 0);
	backend = 0;
}

static void boot(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = "rtos-demo";
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
}

static void teardown(void)
{
	stop_backend(SIGKILL);
	hvq_stop(&q);
}

static void console_shows(const char *text)
{
	if (hvq_wait_console(&q, vm, text, WAIT_S) != 0) {
		char buf[HVM_CONSOLE_SIZE + 1];
		hvq_read_console(&q, (uint32_t)vm, buf, sizeof(buf));
		cr_assert_fail("console never showed '%s' (%s); it holds:\n%s", text, q.err, buf);
	}
}

static int reply_ready(struct hvq *qq, void *arg)
{
	(void)arg;
	return __atomic_load_n(&qq->regs->done_seq, __ATOMIC_ACQUIRE) == qq->regs->req_seq;
}

static void command(uint32_t cmd)
{
	struct hvq_reply rep;
	uint64_t args[6] = { 0 };
	if (hvq_command(&q, cmd, (uint32_t)vm, args, &rep) != 0) {
		/* START is answered once the boot's image checks are done
		 * (MGMT-711): hashing the Linux guest's 32 MB image can take
		 * longer than hvq_command waits on a loaded host */
		cr_assert_eq(hvq_wait(&q, reply_ready, NULL, WAIT_S), 0, "%s", q.err);
		rep.status = q.regs->status;
		for (int i = 0; i < 63; i++)
			rep.msg[i] = q.regs->ret_msg[i];
		rep.msg[63] = 0;
	}
	cr_assert_eq(rep.status, HVM_OK, "%s: %s", hvm_cmd_name(cmd), rep.msg);
}

/* MGMT-864: the backend maps exactly the VM's ring page and its bounce area
 * of the RAM file, and no byte of the VM's RAM [ram_pa, +ram_size). */
static int backend_ram_maps(uint64_t off[][2], int max);
static void backend_reach_is_ring_and_bounce(uint64_t ram_pa, uint64_t ram_size)
{
	uint64_t maps[8][2];
	int n = backend_ram_maps(maps, 8);
	uint64_t ring = HVM_DEFAULT_BASE - RAM_FILE_BASE + HVM_OFF_BLK + (uint64_t)vm * 0x1000;
	uint64_t bounce = 0x41100000ull - RAM_FILE_BASE + (uint64_t)vm * HVM_BLK_BOUNCE_SIZE;
	uint64_t ram = ram_pa - RAM_FILE_BASE;
	cr_assert_eq(n, 2, "the backend maps %d ranges of the RAM file", n);
	for (int i = 0; i < n; i++) {
		cr_expect((maps[i][0] == ring && maps[i][1] == ring + 0x1000) ||
				  (maps[i][0] == bounce && maps[i][1] == bounce + HVM_BLK_BOUNCE_SIZE),
			  "the backend maps 0x%llx-0x%llx of the RAM file",
			  (unsigned long long)maps[i][0], (unsigned long long)maps[i][1]);
		cr_expect(maps[i][1] <= ram || maps[i][0] >= ram + ram_size,
			  "the backend maps 0x%llx-0x%llx, in the VM's RAM",
			  (unsigned long long)maps[i][0], (unsigned long long)maps[i][1]);
	}
}

/* The ranges of the RAM file the backend has mapped: "start-end" pairs of
 * file offsets, as /proc/PID/maps lists them. Returns how many. */
static int backend_ram_maps(uint64_t off[][2], int max)
{
	char path[64], line[512];
	int n = 0;
	snprintf(path, sizeof path, "/proc/%d/maps", (int)backend);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	while (fgets(line, sizeof line, f))
		if (strstr(line, "/guest-ram")) {
			unsigned long long a, b, o;
			cr_assert_eq(sscanf(line, "%llx-%llx %*s %llx", &a, &b, &o), 3, "%s", line);
			cr_assert_lt(n, max, "%s", line);
			off[n][0] = o;
			off[n][1] = o + (b - a);
			n++;
		}
	fclose(f);
	return n;
}

TestSuite(hvcore_virtio_blk, .init = boot, .fini = teardown, .timeout = 900);

Test(hvcore_virtio_blk, a_backend_process_serves_the_disk_across_boots_and_its_own_restart)
{
	static const char extra[] =
		"  disk { compatible = \"virtio,mmio\"; device = \"blk\";"
		" window = <0x0 0x0a000000>; spi = <16>; disk-size = <0x0 0x100000>; };\n";
	struct mu_vm v = {
		.name = "blk", .cpu = 2, .mem_pa = 0x50000000, .policy = "stop", .extra = extra
	};
	vm = mu_define_guest(&q, &v, "blk-test", STAGE_A);
	cr_assert_geq(vm, 0, "%s", q.err);
	start_backend();
	command(HVM_CMD_START);

	console_shows("blk-test: 2048 sectors");
	/* GABI-494: limits that make every request fit its bounce slot */
	console_shows("blk-test: size_max 4096 seg_max 4\n");
	console_shows("blk-test: boots=1\n");
	console_shows("blk-test: over 16 KiB: refused (status 1)");
	console_shows("blk-test: beyond the disk: refused (status 1)");
	console_shows("blk-test: boot 1 io done 200 ok");

	/* only the ring page and hv-core's bounce area of the machine's RAM */
	backend_reach_is_ring_and_bounce(v.mem_pa, 0x1000000);

	/* MGMT-850: the device's counters */
	struct hvq_reply rep;
	uint64_t args[6] = { 0 };
	cr_assert_eq(hvq_command(&q, HVM_CMD_GET_VIRTIO, (uint32_t)vm, args, &rep), 0, "%s", q.err);
	struct hvm_virtio vr;
	memcpy(&vr, (const void *)(q.mgmt + HVM_OFF_DATA), sizeof vr);
	cr_assert_eq(vr.count, 1);
	cr_expect_eq(vr.dev[0].type, 2);
	cr_expect_geq(vr.dev[0].requests, 405, "%llu", (unsigned long long)vr.dev[0].requests);
	cr_expect_geq(vr.dev[0].bytes, 400 * 512);
	cr_expect_geq(vr.dev[0].errors, 2);

	/* the disk outlives the VM: destroy and start, the counter grows */
	command(HVM_CMD_DESTROY);
	command(HVM_CMD_START);
	console_shows("blk-test: boots=2\n");
	/* the backend dies while the guest's I/O runs; a new one continues */
	console_shows("blk-test: boot 2 io 20\n");
	stop_backend(SIGKILL);
	start_backend();
	console_shows("blk-test: boot 2 io done 200 ok");
	char *log = NULL;
	char path[320];
	snprintf(path, sizeof path, "%s/blkback.log", q.dir);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	log = calloc(1, 8192);
	cr_assert_not_null(log);
	cr_assert_gt(fread(log, 1, 8191, f), 0);
	fclose(f);
	cr_expect_null(strstr(log, "NOT"), "%s", log);
	/* the second backend of the second boot took over mid-stream: the boot
	 * counter's three requests and at least 40 of the loop were posted and
	 * done before the first one died (hv-core answers refused ones itself) */
	const char *last = NULL;
	for (const char *p = log; (p = strstr(p, "continuing at request ")); p++)
		last = p;
	cr_assert_not_null(last, "%s", log);
	cr_expect_geq(strtoul(last + strlen("continuing at request "), NULL, 10), 40, "%s", log);
	free(log);
	struct hvm_vm_slot s;
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)vm, &s), 0, "%s", q.err);
	cr_expect_eq(s.state, HVM_VM_RUNNING);
	cr_expect_eq(s.fault_count, 0);
}

/* The Linux guest of linux-blk.dtsi: Debian's own virtio_blk binds the
 * device, /init mounts the disk (an ext2 file system it makes on first use)
 * and counts its boots there; the count grows across destroy and start. */
static void boot_linux(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = "linux-blk";
	o.ready_timeout_s = 300;
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
	vm = hvq_find_vm(&q, "linux");
	cr_assert_geq(vm, 0, "no VM named linux");
	start_backend();
}

TestSuite(hvcore_linux_blk, .init = boot_linux, .fini = teardown, .timeout = 1500);

Test(hvcore_linux_blk, linux_counts_its_boots_on_its_data_disk)
{
	console_shows("device 0x0002 driver virtio_blk");
	console_shows("hv-linux-guest: data boots=1");
	/* linux-blk.dtsi: 256 MiB of RAM at 0x60000000, none of it mapped */
	backend_reach_is_ring_and_bounce(0x60000000ull, 0x10000000ull);
	command(HVM_CMD_DESTROY);
	command(HVM_CMD_START);
	console_shows("hv-linux-guest: data boots=2");
	struct hvm_vm_slot s;
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)vm, &s), 0, "%s", q.err);
	cr_expect_eq(s.fault_count, 0);
}
