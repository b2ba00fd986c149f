/*
 * linux_direct.c - integration tests of the Linux guest (Debian's arm64 kernel with
 * our initramfs, hv-core/guests/linux, built by the linux-guest target) booted
 * directly on QEMU virt, without hv-core:
 *  - the baseline boot: /init is reached, no hypervisor node, PSCI power-off on
 *    hvtest.poweroff=1 (docs/linux-guest.md);
 *  - the /init side of the cooperation page (GABI-010/020, REQ-SAF-21): the test
 *    plays the hypervisor's part through a shared memory file, with a device tree
 *    that carries the hypervisor node and a no-map reserved-memory region for the
 *    page: heartbeat, guest state, image version, shutdown and reboot requests,
 *    and a page with a bad magic that /init must refuse.
 * Function only, never time: every wait has a generous limit and ends in a kill.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hvguest.h"

#define GUEST_DIR HV_BUILD_DIR "/linux-guest"
/* Generous: the machine is shared and TCG is slow when others build. */
#define LIMIT_S 240
#define RAM_SIZE (512u << 20)
#define RAM_BASE 0x40000000u
/* The last page of RAM, kept from the kernel by a no-map reserved-memory node. */
#define COOP_IPA (RAM_BASE + RAM_SIZE - 4096u)

static char tmpdir[] = "/tmp/linux_direct.XXXXXX";
static pid_t qemu = -1;
static volatile struct hvg_coop_page *page;

static void setup(void)
{
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

/* Always stops QEMU and removes the temporary directory, also after a failure. */
static void teardown(void)
{
	DIR *d;
	struct dirent *e;
	char path[512];

	if (qemu > 0) {
		kill(qemu, SIGKILL);
		waitpid(qemu, NULL, 0);
		qemu = -1;
	}
	if (page) {
		munmap((void *)((uintptr_t)page - (COOP_IPA - RAM_BASE)), RAM_SIZE);
		page = NULL;
	}
	d = opendir(tmpdir);
	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
			unlink(path);
		}
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
}

/* Fixed names in the temporary directory, each with its own buffer so that they
 * can be used side by side. */
enum tmp_file {
	F_CONSOLE,
	F_VIRT_DTB,
	F_VIRT_DTS,
	F_COOP_DTB,
	F_RAM,
	F_COUNT
};

static const char *tmp_path(enum tmp_file f)
{
	static const char *const names[F_COUNT] = { "console.log", "virt.dtb", "virt.dts",
						    "coop.dtb", "ram.img" };
	static char path[F_COUNT][512];

	snprintf(path[f], sizeof path[f], "%s/%s", tmpdir, names[f]);
	return path[f];
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 }, NULL);
}

/* Starts QEMU with the guest; console output goes to console.log in the temporary
 * directory. dtb and ram may be NULL (QEMU's own device tree and anonymous RAM). */
static void start_qemu(const char *append, const char *dtb, const char *ram)
{
	char machine[64], backend[600];
	const char *argv[40];
	int n = 0;

	snprintf(machine, sizeof machine, "virt,gic-version=3%s", ram ? ",memory-backend=ram" : "");
	snprintf(backend, sizeof backend, "memory-backend-file,id=ram,mem-path=%s,size=%u,share=on",
		 ram ? ram : "", RAM_SIZE);
	argv[n++] = "qemu-system-aarch64";
	argv[n++] = "-M";
	argv[n++] = machine;
	argv[n++] = "-cpu";
	argv[n++] = "cortex-a57";
	argv[n++] = "-smp";
	argv[n++] = "2";
	argv[n++] = "-m";
	argv[n++] = "512M";
	if (ram) {
		argv[n++] = "-object";
		argv[n++] = backend;
	}
	if (dtb) {
		argv[n++] = "-dtb";
		argv[n++] = dtb;
	}
	argv[n++] = "-nographic";
	argv[n++] = "-nic";
	argv[n++] = "none";
	argv[n++] = "-no-reboot";
	argv[n++] = "-kernel";
	argv[n++] = GUEST_DIR "/Image";
	argv[n++] = "-initrd";
	argv[n++] = GUEST_DIR "/initramfs.cpio.gz";
	argv[n++] = "-append";
	argv[n++] = append;
	argv[n] = NULL;

	struct stat st;
	cr_assert_eq(stat(GUEST_DIR "/Image", &st), 0, "no %s/Image: build the linux-guest target",
		     GUEST_DIR);
	cr_assert_eq(stat(GUEST_DIR "/initramfs.cpio.gz", &st), 0, "no %s/initramfs.cpio.gz",
		     GUEST_DIR);

	const char *log = tmp_path(F_CONSOLE);
	qemu = fork();
	cr_assert_neq(qemu, -1, "fork: %s", strerror(errno));
	if (qemu == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int in = open("/dev/null", O_RDONLY);

		if (fd < 0 || in < 0)
			_exit(126);
		dup2(in, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
}

/* Waits up to LIMIT_S for QEMU to exit by itself; returns its wait status, or -1
 * when it had to be killed. */
static int wait_qemu(void)
{
	int status;

	for (int i = 0; i < LIMIT_S * 10; i++) {
		if (waitpid(qemu, &status, WNOHANG) == qemu) {
			qemu = -1;
			return status;
		}
		sleep_ms(100);
	}
	kill(qemu, SIGKILL);
	waitpid(qemu, NULL, 0);
	qemu = -1;
	return -1;
}

static char *console(void)
{
	char *out = read_file(tmp_path(F_CONSOLE));

	cr_assert_not_null(out, "cannot read the console log");
	return out;
}

static void expect_clean_exit(int status, const char *out)
{
	cr_expect_neq(status, -1, "QEMU did not exit within %d s; console:\n%s", LIMIT_S, out);
	cr_expect(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "QEMU ended with status 0x%x; console:\n%s", status, out);
}

static void run(const char *cmd)
{
	int rc = system(cmd);

	cr_assert_eq(rc, 0, "'%s' failed (status 0x%x)", cmd, rc);
}

/* The device tree of the virt machine plus the hypervisor node (GABI-010) and a
 * no-map reserved-memory region over the page, the way hv-core presents it. */
static const char *coop_dtb(void)
{
	char cmd[2048];
	FILE *f;

	snprintf(cmd, sizeof cmd,
		 "qemu-system-aarch64 -M virt,gic-version=3,dumpdtb=%s -cpu cortex-a57 -smp 2 -m 512M "
		 "-nographic -nic none >/dev/null 2>&1 && dtc -q -I dtb -O dts -o %s %s",
		 tmp_path(F_VIRT_DTB), tmp_path(F_VIRT_DTS), tmp_path(F_VIRT_DTB));
	run(cmd);
	f = fopen(tmp_path(F_VIRT_DTS), "a");
	cr_assert_not_null(f);
	fprintf(f,
		"/ {\n"
		"\thypervisor {\n"
		"\t\tcompatible = \"avirt,hypervisor-v1\";\n"
		"\t\treg = <0x0 0x%x 0x0 0x1000>;\n"
		"\t};\n"
		"\treserved-memory {\n"
		"\t\t#address-cells = <2>;\n"
		"\t\t#size-cells = <2>;\n"
		"\t\tranges;\n"
		"\t\tcoop@%x {\n"
		"\t\t\treg = <0x0 0x%x 0x0 0x1000>;\n"
		"\t\t\tno-map;\n"
		"\t\t};\n"
		"\t};\n"
		"};\n",
		COOP_IPA, COOP_IPA, COOP_IPA);
	fclose(f);
	snprintf(cmd, sizeof cmd, "dtc -q -I dts -O dtb -o %s %s", tmp_path(F_COOP_DTB),
		 tmp_path(F_VIRT_DTS));
	run(cmd);
	return tmp_path(F_COOP_DTB);
}

/* Guest RAM as a shared file; the page gets the hypervisor's header (GABI-020). */
static const char *coop_ram(uint32_t magic)
{
	const char *ram = tmp_path(F_RAM);
	int fd = open(ram, O_RDWR | O_CREAT | O_TRUNC, 0600);
	void *m;

	cr_assert_geq(fd, 0, "open %s: %s", ram, strerror(errno));
	cr_assert_eq(ftruncate(fd, RAM_SIZE), 0);
	m = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	cr_assert_neq(m, MAP_FAILED, "mmap: %s", strerror(errno));
	page = (volatile struct hvg_coop_page *)((char *)m + (COOP_IPA - RAM_BASE));
	page->magic = magic;
	page->major = HVG_COOP_MAJOR;
	page->minor = HVG_COOP_MINOR;
	page->size = 4096;
	page->vm_id = 1;
	return ram;
}

/* Waits until the guest reports RUNNING with a heartbeat of at least n, or QEMU ends. */
static int wait_running(uint64_t n)
{
	for (int i = 0; i < LIMIT_S * 10; i++) {
		if (__atomic_load_n(&page->guest_state, __ATOMIC_ACQUIRE) == HVG_GS_RUNNING &&
		    __atomic_load_n(&page->heartbeat, __ATOMIC_ACQUIRE) >= n)
			return 1;
		if (waitpid(qemu, NULL, WNOHANG) == qemu) {
			qemu = -1;
			return 0;
		}
		sleep_ms(100);
	}
	return 0;
}

Test(linux_direct, boots_to_init_and_powers_off, .init = setup, .fini = teardown)
{
	int status;
	char *out;

	start_qemu("console=ttyAMA0 hvtest.poweroff=1", NULL, NULL);
	status = wait_qemu();
	out = console();
	expect_clean_exit(status, out);
	cr_expect_not_null(strstr(out, "hv-linux-guest: init reached"),
			   "/init not reached; console:\n%s", out);
	cr_expect_not_null(strstr(out, "hv-linux-guest: cpus online 2"),
			   "expected 2 CPUs online; console:\n%s", out);
	cr_expect_not_null(strstr(out, "hv-linux-guest: no hypervisor node"), "console:\n%s", out);
	cr_expect_not_null(strstr(out, "reboot: Power down"), "no PSCI power-off; console:\n%s", out);
	free(out);
}

/* Sends request req with sequence number seq once the guest runs, then checks the
 * acknowledgement, the final state and the console line. */
static void request_and_check(uint32_t req, uint32_t seq, const char *line)
{
	const char *ram = coop_ram(HVG_COOP_MAGIC);
	int status, running;
	char *out;

	start_qemu("console=ttyAMA0", coop_dtb(), ram);
	running = wait_running(2);
	if (!running) {
		out = console();
		fprintf(stderr, "console:\n%s\n", out);
		free(out);
		cr_assert_fail("guest never reported RUNNING with heartbeat >= 2 (state %u, heartbeat %llu)",
			       page->guest_state, (unsigned long long)page->heartbeat);
	}
	cr_expect_eq(strncmp((const char *)page->image_version, "6.", 2), 0,
		     "image_version '%.31s' is not a kernel release",
		     (const char *)page->image_version);
	cr_expect_eq(page->image_version[31], 0, "image_version is not NUL-terminated");
	__atomic_store_n(&page->hv_request_seq, seq, __ATOMIC_RELEASE);
	__atomic_store_n(&page->hv_request, req, __ATOMIC_RELEASE);

	status = wait_qemu();
	out = console();
	expect_clean_exit(status, out);
	cr_expect_eq(page->guest_ack_seq, seq, "guest_ack_seq %u, expected %u", page->guest_ack_seq,
		     seq);
	cr_expect_eq(page->guest_state, HVG_GS_READY_FOR_OFF,
		     "guest_state %u, expected READY_FOR_OFF", page->guest_state);
	cr_expect_not_null(strstr(out, "hv-linux-guest: cooperation page at"), "console:\n%s", out);
	cr_expect_not_null(strstr(out, line), "no '%s' on the console:\n%s", line, out);
	free(out);
}

Test(linux_direct, shutdown_request_through_cooperation_page, .init = setup, .fini = teardown)
{
	request_and_check(HVG_REQ_SHUTDOWN, 7, "hv-linux-guest: shutdown requested");
}

Test(linux_direct, reboot_request_through_cooperation_page, .init = setup, .fini = teardown)
{
	/* -no-reboot turns the guest's PSCI SYSTEM_RESET into QEMU's exit. */
	request_and_check(HVG_REQ_REBOOT, 3, "hv-linux-guest: reboot requested");
}

/* A page without the magic is not the hypervisor's: /init must not touch it. */
Test(linux_direct, page_with_bad_magic_is_refused, .init = setup, .fini = teardown)
{
	const char *ram = coop_ram(0x12345678u);
	int status;
	char *out;

	start_qemu("console=ttyAMA0 hvtest.poweroff=1", coop_dtb(), ram);
	status = wait_qemu();
	out = console();
	expect_clean_exit(status, out);
	cr_expect_not_null(strstr(out, "expected 0x50435648 major 1; not using it"), "console:\n%s",
			   out);
	cr_expect_eq(page->heartbeat, 0, "heartbeat written to a refused page");
	cr_expect_eq(page->guest_state, 0, "guest_state written to a refused page");
	free(out);
}
