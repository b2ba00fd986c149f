/*
 * hvcore_supgap.c - supervision keeps its pace while hv-core loads and boots
 * a 33 MiB Linux kernel (REQ-SAF-10, docs/mgmt-abi.md MGMT-710, MGMT-711).
 *
 * hv-core runs under QEMU -icount shift=0,sleep=off (every instruction is one
 * nanosecond of virtual time, an idle CPU jumps to its next timer), with
 * rtos-demo (ASIL-B, watchdog 1 s) running and the Linux VM defined but
 * stopped (hv-core/guests/boot-supgap.dts). The test stages Debian's kernel,
 * LOAD_IMAGEs it (copy into hv-core's hands, SHA-256, copy into the slot) and
 * STARTs the VM (SHA-256 of the slot, clearing 256 MiB, the copy, its SHA-256,
 * cache maintenance). Afterwards the longest gap between two supervision
 * passes hv-core measured (hvm_regs.sup_gap_max_ns) must be at or under the
 * ceiling of bench/supervision-ceilings.txt, rtos-demo's watchdog never fired
 * and its heartbeat advanced. The figure is virtual time, deterministic for a
 * build: no wall time is measured or asserted. The same holds for a RESET
 * that has to check the kernel's slot again (MGMT-713), and while a QM guest
 * floods doorbells.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvqemu.h"
#include "hvcore_mgmt_util.h"
#include "sha256.h"

#define CEILINGS HV_SOURCE_DIR "/bench/supervision-ceilings.txt"
#define WAIT_S 600

static struct hvq q;

static void teardown(void)
{
	hvq_stop(&q);
}

/* The ceiling `what` of bench/supervision-ceilings.txt. */
static unsigned long long read_ceiling(const char *what)
{
	FILE *f = fopen(CEILINGS, "r");
	cr_assert_not_null(f, "cannot open %s", CEILINGS);
	char line[256];
	unsigned long long ceiling = 0;
	int seen = 0;
	while (fgets(line, sizeof line, f)) {
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char name[32];
		unsigned long long v;
		int n = sscanf(line, "%31s %llu", name, &v);
		if (n <= 0)
			continue;
		cr_assert_eq(n, 2, "%s: expected 'NAME NANOSECONDS'", CEILINGS);
		cr_assert(strcmp(name, "supervision_gap") == 0 ||
				  strcmp(name, "doorbell_flood_gap") == 0 ||
				  strcmp(name, "reset_gap") == 0 ||
				  strcmp(name, "ota_install_gap") == 0,
			  "%s: unknown entry '%s'", CEILINGS, name);
		if (strcmp(name, what) != 0)
			continue;
		cr_assert_not(seen++, "%s: second ceiling %s", CEILINGS, what);
		ceiling = v;
	}
	fclose(f);
	cr_assert_gt(ceiling, 0, "%s: no ceiling %s", CEILINGS, what);
	return ceiling;
}

static int done(struct hvq *h, void *arg)
{
	(void)arg;
	return __atomic_load_n(&h->regs->done_seq, __ATOMIC_ACQUIRE) ==
	       __atomic_load_n(&h->regs->req_seq, __ATOMIC_ACQUIRE);
}

/* One command through the register page, waited for (bounded) as long as a
 * slow emulation needs: under -icount QEMU runs one CPU at a time. */
static uint32_t command_args(uint32_t cmd, uint32_t vm, const uint64_t a[6])
{
	volatile struct hvm_regs *r = q.regs;
	r->cmd = cmd;
	r->vm_id = vm;
	for (int i = 0; i < 6; i++)
		r->arg[i] = a[i];
	__atomic_store_n(&r->req_seq, r->done_seq + 1, __ATOMIC_RELEASE);
	cr_assert_eq(hvq_wait(&q, done, NULL, WAIT_S), 0, "command %u never completed: %s", cmd,
		     q.err);
	if (r->status != HVM_OK)
		cr_log_error("command %u: status %u '%s'", cmd, r->status, (const char *)r->ret_msg);
	return r->status;
}

static uint32_t command(uint32_t cmd, uint32_t vm, uint64_t a0, uint64_t a1, uint64_t a2)
{
	uint64_t a[6] = { a0, a1, a2 };
	return command_args(cmd, vm, a);
}

struct ticks_wait {
	uint64_t until;
};

static int ticks_reach(struct hvq *h, void *arg)
{
	struct ticks_wait *w = arg;
	return __atomic_load_n(&h->regs->hv_ticks, __ATOMIC_ACQUIRE) >= w->until;
}

/* MGMT-713: START is answered before the boot's work; the VM runs after it. */
static int vm_running(struct hvq *h, void *arg)
{
	struct hvm_vm_slot s;
	return hvq_read_slot(h, (uint32_t)(uintptr_t)arg, &s) == 0 && s.state == HVM_VM_RUNNING;
}

static struct hvm_stats stats(uint32_t id)
{
	struct hvm_stats s;
	cr_assert_eq(command(HVM_CMD_GET_STATS, id, 0, 0, 0), HVM_OK);
	memcpy(&s, (const void *)(q.mgmt + HVM_OFF_DATA), sizeof s);
	return s;
}

/* Debian's kernel into the staging area at offset 0; its size. */
static long stage_linux(void)
{
	FILE *f = fopen(LINUX_GUEST_DIR "/Image", "rb");
	cr_assert_not_null(f, "cannot open %s/Image", LINUX_GUEST_DIR);
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	rewind(f);
	cr_assert(size > (30l << 20) && (uint64_t)size <= q.regs->staging_size,
		  "Image of %ld bytes", size);
	uint8_t *staging = hvq_pa(&q, q.regs->staging_base, (size_t)size);
	cr_assert_not_null(staging);
	cr_assert_eq(fread(staging, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	return size;
}

/* hv-core under -icount with boot-supgap.dts (rtos-demo and the linux VM);
 * their VM ids. */
static void start_supgap(int *rtos, int *lx)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	const char *extra[] = { "--config",   HV_SOURCE_DIR "/hv-core/guests/boot-supgap.dts",
				"--qemu-arg", "-icount",
				"--qemu-arg", "shift=0,sleep=off",
				NULL };
	memcpy(o.extra, extra, sizeof(extra));
	o.ready_timeout_s = 300;
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
	*rtos = hvq_find_vm(&q, "rtos-demo");
	*lx = hvq_find_vm(&q, "linux");
	cr_assert(*rtos >= 0 && *lx >= 0, "rtos-demo %d, linux %d", *rtos, *lx);
}

/* Waits until linux (id lx) runs and ten more supervision passes went by,
 * reads the longest gap and rtos-demo's statistics, then destroys linux. */
static unsigned long long linux_settled(int lx, int rtos, struct hvm_stats *s1)
{
	cr_assert_eq(hvq_wait(&q, vm_running, (void *)(uintptr_t)lx, WAIT_S), 0,
		     "linux never ran: %s", q.err);
	struct ticks_wait w = { q.regs->hv_ticks + 10 };
	cr_assert_eq(hvq_wait(&q, ticks_reach, &w, WAIT_S), 0, "%s", q.err);
	unsigned long long gap = q.regs->sup_gap_max_ns;
	*s1 = stats((uint32_t)rtos);
	cr_assert_eq(command(HVM_CMD_DESTROY, (uint32_t)lx, 0, 0, 0), HVM_OK, "DESTROY");
	return gap;
}

/* What every case asserts: rtos-demo's watchdog never fired, its heartbeat
 * advanced, and the longest gap stayed under the ceiling. */
static void expect_supervised(const struct hvm_stats *s0, const struct hvm_stats *s1,
			      unsigned long long gap, unsigned long long ceiling)
{
	cr_expect_eq(s1->watchdog_expiries, s0->watchdog_expiries, "rtos-demo's watchdog fired");
	cr_expect_gt(s1->heartbeat, s0->heartbeat, "rtos-demo's heartbeat did not advance");
	cr_expect_leq(gap, ceiling,
		      "the longest supervision gap is %llu ns, above the ceiling of %llu in %s",
		      gap, ceiling, CEILINGS);
}

Test(hvcore_supgap, linux_load_and_boot_keep_supervision_under_its_ceiling, .fini = teardown,
     .timeout = 840)
{
	unsigned long long ceiling = read_ceiling("supervision_gap");
	int rtos, lx;
	start_supgap(&rtos, &lx);

	long size = stage_linux();
	struct hvm_stats s0 = stats((uint32_t)rtos);
	unsigned long long before = q.regs->sup_gap_max_ns;
	cr_assert_eq(command(HVM_CMD_LOAD_IMAGE, (uint32_t)lx, 0, (uint64_t)size, 0), HVM_OK,
		     "LOAD_IMAGE");
	unsigned long long after_load = q.regs->sup_gap_max_ns;
	cr_assert_eq(command(HVM_CMD_START, (uint32_t)lx, 0, 0, 0), HVM_OK, "START");
	struct hvm_stats s1;
	unsigned long long gap = linux_settled(lx, rtos, &s1); /* passes after the boot's last step */

	fprintf(stderr,
		"hvcore_supgap: longest supervision gap %llu ns (before LOAD_IMAGE %llu, after it "
		"%llu, after START %llu), ceiling %llu\n",
		gap, before, after_load, gap, ceiling);
	expect_supervised(&s0, &s1, gap, ceiling);
}

/* Whether VM id is SHUTOFF (FAILED): a boot that failed. */
static int boot_failed(struct hvq *h, void *arg)
{
	struct hvm_vm_slot s;
	return hvq_read_slot(h, (uint32_t)(uintptr_t)arg, &s) == 0 && s.state == HVM_VM_SHUTOFF &&
	       s.reason == HVM_R_FAILED;
}

#define STORE_PA 0x42000000ull /* MGMT-200: the image store, 96 MiB */
#define STORE_SIZE 0x06000000ull

/* REQ-SAF-10, MGMT-713: RESET of a VM whose image-store slot hv-core has not
 * found intact since it changed checks the 33 MiB kernel in the boot's units,
 * not inside the command. The slot is changed behind hv-core's back and a
 * boot fails on it (hv-core forgets what it found there), it is made good
 * again, and a START is overtaken at once by a RESET, which finds the slot
 * unchecked: under -icount the longest gap between two supervision passes
 * stays under the ceiling reset_gap, rtos-demo's watchdog never fires and its
 * heartbeat advances. */
Test(hvcore_supgap, a_reset_that_checks_the_linux_slot_keeps_supervision_under_its_ceiling,
     .fini = teardown, .timeout = 840)
{
	unsigned long long ceiling = read_ceiling("reset_gap");
	int rtos, lx;
	start_supgap(&rtos, &lx);
	long size = stage_linux();
	uint8_t *staging = hvq_pa(&q, q.regs->staging_base, (size_t)size);
	cr_assert_eq(command(HVM_CMD_LOAD_IMAGE, (uint32_t)lx, 0, (uint64_t)size, 0), HVM_OK,
		     "LOAD_IMAGE");
	uint8_t *slot = NULL;
	for (uint64_t pa = STORE_PA; pa + (uint64_t)size <= STORE_PA + STORE_SIZE && !slot;
	     pa += 0x200000) {
		uint8_t *p = hvq_pa(&q, pa, (size_t)size);
		if (p && memcmp(p, staging, (size_t)size) == 0)
			slot = p;
	}
	cr_assert_not_null(slot, "the kernel is not in the image store");

	/* a boot fails on the changed slot: hv-core no longer holds it checked */
	slot[4096] ^= 0x01;
	cr_assert_eq(command(HVM_CMD_START, (uint32_t)lx, 0, 0, 0), HVM_OK, "START");
	cr_assert_eq(hvq_wait(&q, boot_failed, (void *)(uintptr_t)lx, WAIT_S), 0,
		     "the changed kernel was not refused: %s", q.err);
	slot[4096] ^= 0x01;

	struct hvm_stats s0 = stats((uint32_t)rtos);
	unsigned long long before = q.regs->sup_gap_max_ns;
	cr_assert_eq(command(HVM_CMD_START, (uint32_t)lx, 0, 0, 0), HVM_OK, "START");
	cr_assert_eq(command(HVM_CMD_RESET, (uint32_t)lx, 0, 0, 0), HVM_OK, "RESET");
	struct hvm_stats s1;
	unsigned long long gap = linux_settled(lx, rtos, &s1);

	fprintf(stderr,
		"hvcore_supgap: longest supervision gap %llu ns (before the RESET %llu), "
		"ceiling %llu\n",
		gap, before, ceiling);
	expect_supervised(&s0, &s1, gap, ceiling);
}

/* REQ-SAF-10, MGMT-710: a QM guest ringing doorbells as fast as it can
 * (db-flood: every channel id, none granted, each ring a trap refused and
 * counted) does not stretch the supervision of the others: under -icount,
 * the longest gap between two passes while it floods stays under the
 * ceiling doorbell_flood_gap, rtos-demo's watchdog never fires and its
 * heartbeat advances. */
Test(hvcore_supgap, a_doorbell_flood_keeps_supervision_under_its_ceiling, .fini = teardown,
     .timeout = 840)
{
	unsigned long long ceiling = read_ceiling("doorbell_flood_gap");
	int rtos, lx;
	start_supgap(&rtos, &lx);
	/* the Linux VM holds CPUs 2 and 3: undefined, CPU 2 takes the flood */
	cr_assert_eq(command(HVM_CMD_UNDEFINE, (uint32_t)lx, 0, 0, 0), HVM_OK, "UNDEFINE linux");
	struct mu_vm v = { .name = "flood", .cpu = 2, .mem_pa = 0x50000000 };
	int fl = mu_define_guest(&q, &v, "db-flood", 0);
	cr_assert_geq(fl, 0, "%s", q.err);
	struct hvm_stats s0 = stats((uint32_t)rtos);
	cr_assert_eq(command(HVM_CMD_START, (uint32_t)fl, 0, 0, 0), HVM_OK, "START flood");
	cr_assert_eq(hvq_wait(&q, vm_running, (void *)(uintptr_t)fl, WAIT_S), 0,
		     "the flood never ran: %s", q.err);
	unsigned long long before = q.regs->sup_gap_max_ns;
	/* two seconds of hv-core's time while it floods */
	struct ticks_wait w = { q.regs->hv_ticks + 200 };
	cr_assert_eq(hvq_wait(&q, ticks_reach, &w, WAIT_S), 0, "%s", q.err);
	unsigned long long gap = q.regs->sup_gap_max_ns;
	struct hvm_stats f = stats((uint32_t)fl);
	struct hvm_stats s1 = stats((uint32_t)rtos);
	cr_assert_eq(command(HVM_CMD_DESTROY, (uint32_t)fl, 0, 0, 0), HVM_OK, "DESTROY");

	fprintf(stderr,
		"hvcore_supgap: longest supervision gap %llu ns while db-flood rang %llu times "
		"(%llu denied; before the flood %llu), ceiling %llu\n",
		gap, (unsigned long long)(f.doorbells_sent + f.doorbells_denied),
		(unsigned long long)f.doorbells_denied, before, ceiling);
	cr_expect_gt(f.doorbells_denied, 1000, "db-flood hardly rang");
	expect_supervised(&s0, &s1, gap, ceiling);
}

/* OTA_INSTALL of len staged bytes at off as version 2.0.0 into the Linux
 * VM's inactive image (initrd 0) or initrd (1) slot (MGMT-612, MGMT-663). */
static uint32_t ota_install(uint32_t vm, uint64_t off, uint64_t len, uint64_t initrd)
{
	struct hvm_ota_image h;
	memset(&h, 0, sizeof h);
	h.magic = HVM_OTA_IMAGE_MAGIC;
	h.size = len;
	sha256(hvq_pa(&q, q.regs->staging_base + off, (size_t)len), (size_t)len, h.sha256);
	snprintf(h.version, sizeof h.version, "2.0.0");
	memcpy((void *)(q.mgmt + HVM_OFF_DATA), &h, sizeof h);
	uint64_t a[6] = { off, len, 0, initrd };
	return command_args(HVM_CMD_OTA_INSTALL, vm, a);
}

/* REQ-SAF-10, MGMT-620, MGMT-711: OTA_INSTALL of the 33 MiB kernel into the
 * Linux VM's inactive slot in the slot store keeps the running kernel in its
 * active slot first, then writes the staged kernel and hashes both from the
 * slot store: in units between supervision passes while the command is
 * pending. Under -icount the longest gap between two passes stays under the
 * ceiling ota_install_gap, rtos-demo's watchdog never fires and its heartbeat
 * advances; the slot is READY afterwards. */
Test(hvcore_supgap, an_ota_install_of_the_linux_kernel_keeps_supervision_under_its_ceiling,
     .fini = teardown, .timeout = 840)
{
	unsigned long long ceiling = read_ceiling("ota_install_gap");
	int rtos, lx;
	start_supgap(&rtos, &lx);
	long size = stage_linux();

	struct hvm_stats s0 = stats((uint32_t)rtos);
	unsigned long long before = q.regs->sup_gap_max_ns;
	cr_assert_eq(ota_install((uint32_t)lx, 0, (uint64_t)size, 0), HVM_OK, "OTA_INSTALL");
	unsigned long long after_install = q.regs->sup_gap_max_ns;
	/* its initrd of the same version, for the switch (MGMT-663) */
	FILE *f = fopen(LINUX_GUEST_DIR "/initramfs.cpio.gz", "rb");
	cr_assert_not_null(f);
	uint64_t rd_off = ((uint64_t)size + 0xFFFF) & ~0xFFFFull;
	uint8_t *rd = hvq_pa(&q, q.regs->staging_base + rd_off, 16u << 20);
	cr_assert_not_null(rd);
	size_t rd_len = fread(rd, 1, 16u << 20, f);
	fclose(f);
	cr_assert_gt(rd_len, 0);
	cr_assert_eq(ota_install((uint32_t)lx, rd_off, rd_len, 1), HVM_OK, "OTA_INSTALL initrd");
	unsigned long long gap = q.regs->sup_gap_max_ns;
	struct hvm_ota_status st;
	cr_assert_eq(command(HVM_CMD_OTA_STATUS, (uint32_t)lx, 0, 0, 0), HVM_OK, "OTA_STATUS");
	memcpy(&st, (const void *)(q.mgmt + HVM_OFF_DATA), sizeof st);
	cr_expect_eq(st.slot[1].state, HVM_SLOT_READY, "slot B is not READY");
	cr_expect_eq(st.slot[0].durable, 1, "the running kernel was not kept in slot A");

	/* MGMT-621, MGMT-713: the switch of the shut-off VM copies the slots into
	 * the image store and answers; its boot job hashes them */
	cr_assert_eq(command(HVM_CMD_OTA_SWITCH, (uint32_t)lx, 1000, 60000, 0), HVM_OK, "OTA_SWITCH");
	struct hvm_stats s1;
	unsigned long long switch_gap = linux_settled(lx, rtos, &s1);

	fprintf(stderr,
		"hvcore_supgap: longest supervision gap %llu ns over the OTA_INSTALL of the %ld-byte "
		"kernel, %llu ns with its initrd's, %llu ns after the OTA switch booted it (before "
		"them %llu), ceiling %llu\n",
		after_install, size, gap, switch_gap, before, ceiling);
	expect_supervised(&s0, &s1, switch_gap, ceiling);
}
