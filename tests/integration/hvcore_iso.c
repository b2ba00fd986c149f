/*
 * hvcore_iso.c - hv-core's isolation and image guarantees against a hostile
 * management client, through the real register interface of hv-core under
 * QEMU (docs/mgmt-abi.md MGMT-300..MGMT-315, docs/safety-manual.md):
 *   - the image staging area lies apart from every image slot, and a refused,
 *     oversized, aborted or corrupted upload leaves every slot byte-identical
 *     (MGMT-302);
 *   - hv-core hashes its own copy of an image, at LOAD_IMAGE and at boot
 *     (MGMT-303);
 *   - what hv-core decides on comes from its own memory, not from the shared
 *     block a client can rewrite (MGMT-300, MGMT-301): START's self-test gate,
 *     the event ring's head, the command being run. The rewrites while hv-core
 *     works on a request come from the test hooks of hvcore-test.bin, which
 *     only tests boot.
 * Waits are bounded; nothing asserts a duration.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvqemu.h"
#include "hvguest.h"
#include "hvcore_mgmt_util.h"
#include "sha256.h"

#define WAIT_S 30
#define STORE_PA 0x42000000ull /* MGMT-200: the image store, 96 MiB */
#define STORE_SIZE 0x06000000ull
#define TAMPER_PA 0x41FFF010ull /* MGMT-301: the test hooks' flag words */
#define TAMPER_MAGIC 0x504D4154u
#define HOOK_COMMAND 1u
#define HOOK_LOADED 2u
#define HOOK_BOOT 4u
#define TEST_IMAGE HV_CORE_OUT "/hvcore-test.bin"
#define BOOT_DEMO HV_SOURCE_DIR "/hv-core/guests/boot-demo.dts"

static struct hvq q;

static void teardown(void)
{
	hvq_stop(&q);
}

static void boot(const char *a, const char *b, const char *c, const char *d, const char *e,
		 const char *f)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	const char *x[6] = { a, b, c, d, e, f };
	for (int i = 0; i < 6; i++)
		o.extra[i] = x[i];
	if (!a)
		o.guests[0] = "rtos-demo";
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
}

static struct hvq_reply cmd(uint32_t c, int id, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct hvq_reply rep;
	uint64_t args[6] = { a0, a1, a2 };
	cr_assert_eq(hvq_command(&q, c, (uint32_t)id, args, &rep), 0, "%s", q.err);
	return rep;
}

static void expect(struct hvq_reply rep, uint32_t status, const char *what)
{
	cr_assert_eq(rep.status, status, "%s: status %u (want %u): '%s'", what, rep.status, status,
		     rep.msg);
}

/* The digest of the whole image store: every VM's image and initrd slot. */
static void store_digest(uint8_t out[32])
{
	sha256(hvq_pa(&q, STORE_PA, STORE_SIZE), STORE_SIZE, out);
}

static volatile uint32_t *tamper(void)
{
	return hvq_pa(&q, TAMPER_PA, 12);
}

static void tamper_on(uint32_t points)
{
	volatile uint32_t *t = tamper();
	t[2] = 0;
	t[1] = points;
	t[0] = TAMPER_MAGIC;
}

static void tamper_off(void)
{
	tamper()[0] = 0;
}

TestSuite(hvcore_iso, .fini = teardown, .timeout = 300);

/* MGMT-302: the staging area is apart from the image store and from every VM's
 * memory; a VM whose memory would overlap it is refused. */
Test(hvcore_iso, staging_area_is_apart_from_every_image_slot)
{
	boot(NULL, NULL, NULL, NULL, NULL, NULL);
	uint64_t base = q.regs->staging_base, size = q.regs->staging_size;
	cr_assert_gt(size, 0);
	cr_assert(base >= STORE_PA + STORE_SIZE || base + size <= STORE_PA,
		  "staging 0x%llx+0x%llx overlaps the image store", (unsigned long long)base,
		  (unsigned long long)size);
	struct mu_vm v = { .name = "onstage", .cpu = 2, .mem_pa = base };
	uint64_t isz;
	cr_assert_eq(mu_stage(&q, "shutdown-ack", 0, &isz, v.sha256), 0, "%s", q.err);
	v.image_size = isz;
	char *dts = mu_vm_dts(&v);
	char err[256];
	size_t len;
	void *blob = mu_dtc(dts, &len, err, sizeof(err));
	cr_assert_not_null(blob, "%s", err);
	struct hvq_reply rep;
	cr_assert_eq(mu_define_blob(&q, blob, len, &rep), 0, "%s", q.err);
	free(blob);
	free(dts);
	expect(rep, HVM_E_OVERLAP, "VM memory on the staging area");
	cr_assert(strstr(rep.msg, "VMCFG-081"), "'%s'", rep.msg);
}

/* MGMT-302, REQ-SAF-09/12: a refused, oversized, aborted or corrupted upload
 * leaves every image slot byte-identical - the target's and everyone else's,
 * wherever in the staging area the client put its bytes. */
Test(hvcore_iso, bad_uploads_leave_every_slot_byte_identical)
{
	boot(NULL, NULL, NULL, NULL, NULL, NULL);
	int rtos = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(rtos, 0);
	struct mu_vm v = { .name = "target", .cpu = 2, .mem_pa = 0x50000000 };
	int id = mu_define_guest(&q, &v, "shutdown-ack", 0x00800000);
	cr_assert_geq(id, 0, "%s", q.err);
	uint8_t before[32], after[32];
	store_digest(before);
	uint64_t ev0 = q.regs->ev_head;

	/* corrupted, staged at offset 0 (once the very slot of rtos-demo) */
	uint64_t size;
	uint8_t sha[32];
	cr_assert_eq(mu_stage(&q, "shutdown-ack", 0, &size, sha), 0, "%s", q.err);
	uint8_t *staged = hvq_pa(&q, q.regs->staging_base, size);
	staged[64] ^= 0x01;
	expect(cmd(HVM_CMD_LOAD_IMAGE, id, 0, size, 0), HVM_E_HASH, "corrupted upload");
	/* larger than the VM's slot: refused before a byte is written */
	expect(cmd(HVM_CMD_LOAD_IMAGE, id, 0, 0x02000000, 0), HVM_E_BAD_ARG, "oversized upload");
	/* an upload aborted half-way: the client wrote, never asked */
	memset(staged, 0xA5, size / 2);
	/* a whole staging area of garbage, then refused for the rtos-demo slot */
	memset(hvq_pa(&q, q.regs->staging_base, q.regs->staging_size), 0x3C, q.regs->staging_size);
	expect(cmd(HVM_CMD_LOAD_IMAGE, rtos, 0, 4096, 0), HVM_E_STATE, "running VM");
	expect(cmd(HVM_CMD_LOAD_IMAGE, id, 0, size, 0), HVM_E_HASH, "garbage upload");

	store_digest(after);
	cr_assert_eq(memcmp(before, after, 32), 0, "an image slot changed");
	cr_assert_eq(q.regs->ev_head, ev0, "no event: nothing happened");
	/* both VMs still boot from their slots */
	expect(cmd(HVM_CMD_START, id, 0, 0, 0), HVM_OK, "START");
	cr_assert_eq(mu_wait_heartbeat(&q, id, 1, WAIT_S), 0, "%s", q.err);
	expect(cmd(HVM_CMD_RESET, rtos, 0, 0, 0), HVM_OK, "RESET rtos-demo");
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, 1, WAIT_S), 0, "%s", q.err);
}

/* MGMT-300: START's gate is hv-core's own self-test verdict. A client that
 * clears selftest_failed does not get a held-back VM started; one that sets it
 * does not keep a healthy VM from starting. */
Test(hvcore_iso, start_gate_uses_hv_cores_own_selftest_result)
{
	boot("--hv-image", TEST_IMAGE, "--config", BOOT_DEMO, "--selftest-inject", "0x1");
	cr_assert_eq(q.regs->hv_state, HVM_HV_SELFTEST_FAILED);
	int r = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(r, 0);
	q.regs->selftest_failed = 0;
	expect(cmd(HVM_CMD_START, r, 0, 0, 0), HVM_E_SELFTEST, "START with the shared copy cleared");
	cr_assert_eq(mu_slot(&q, r).state, HVM_VM_SHUTOFF);
	hvq_stop(&q);

	boot("--config", BOOT_DEMO, NULL, NULL, NULL, NULL);
	cr_assert_eq(q.regs->hv_state, HVM_HV_READY);
	int a = hvq_find_vm(&q, "ack");
	cr_assert_geq(a, 0);
	cr_assert_eq(mu_wait_state(&q, a, HVM_VM_RUNNING, 0, WAIT_S), 0, "%s", q.err);
	expect(cmd(HVM_CMD_DESTROY, a, 0, 0, 0), HVM_OK, "DESTROY");
	q.regs->selftest_failed = ~0u;
	expect(cmd(HVM_CMD_START, a, 0, 0, 0), HVM_OK, "START with the shared copy set");
}

/* MGMT-301: the event ring's head is hv-core's; a client that rewrites ev_head
 * moves nothing. */
Test(hvcore_iso, event_head_is_hv_cores_own)
{
	boot(NULL, NULL, NULL, NULL, NULL, NULL);
	uint64_t head = q.regs->ev_head;
	q.regs->ev_head = 1000;
	struct mu_vm v = { .name = "evt", .cpu = 2, .mem_pa = 0x50000000 };
	int id = mu_define_guest(&q, &v, "shutdown-ack", 0);
	cr_assert_geq(id, 0, "%s", q.err);
	cr_assert_eq(q.regs->ev_head, head + 1, "DEFINE's event follows hv-core's own head");
	struct hvm_event e;
	cr_assert_eq(hvq_read_event(&q, head, &e), 0);
	cr_assert_eq(e.type, HVM_EV_DEFINED);
	cr_assert_eq(e.vm_id, (uint32_t)id);
}

/* MGMT-301, MGMT-303: hv-core rewrites the command block, the published
 * staging fields and selftest_failed after it copied the command, and the
 * whole staged image after LOAD_IMAGE copied it: the good image is still
 * loaded and boots, a corrupted one is still refused, and the self-test gate
 * still holds. */
Test(hvcore_iso, decisions_hold_when_the_shared_copy_is_rewritten_meanwhile)
{
	boot("--hv-image", TEST_IMAGE, "--config", BOOT_DEMO, "--selftest-inject", "0x1");
	int r = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(r, 0);
	struct mu_vm v = { .name = "raced", .cpu = 3, .mem_pa = 0x52000000 };
	int id = mu_define_guest(&q, &v, "shutdown-ack", 0);
	cr_assert_geq(id, 0, "%s", q.err);
	uint64_t base = q.regs->staging_base, size = q.regs->staging_size;
	uint8_t sha[32];
	uint64_t isz;

	/* a good image, rewritten in the staging area after hv-core's copy */
	cr_assert_eq(mu_stage(&q, "shutdown-ack", 0x01000000, &isz, sha), 0, "%s", q.err);
	tamper_on(HOOK_COMMAND | HOOK_LOADED);
	struct hvq_reply good = cmd(HVM_CMD_LOAD_IMAGE, id, 0x01000000, isz, 0);
	uint32_t struck = tamper()[2];
	tamper_off();
	q.regs->staging_base = base;
	q.regs->staging_size = size;
	expect(good, HVM_OK, "LOAD_IMAGE with the staging area rewritten after the copy");
	cr_assert_eq(struck, 2, "both hooks struck");

	/* a corrupted image stays refused */
	cr_assert_eq(mu_stage(&q, "shutdown-ack", 0x01000000, &isz, sha), 0, "%s", q.err);
	((uint8_t *)hvq_pa(&q, base + 0x01000000, isz))[32] ^= 0x80;
	tamper_on(HOOK_COMMAND);
	struct hvq_reply bad = cmd(HVM_CMD_LOAD_IMAGE, id, 0x01000000, isz, 0);
	tamper_off();
	q.regs->staging_base = base;
	q.regs->staging_size = size;
	expect(bad, HVM_E_HASH, "corrupted image");

	/* the self-test gate: selftest_failed is cleared while START runs */
	tamper_on(HOOK_COMMAND);
	struct hvq_reply held = cmd(HVM_CMD_START, r, 0, 0, 0);
	tamper_off();
	expect(held, HVM_E_SELFTEST, "START of a VM held back by the self-test");
	q.regs->staging_base = base;
	q.regs->staging_size = size;

	/* and the VM whose image was loaded under attack boots */
	expect(cmd(HVM_CMD_START, id, 0, 0, 0), HVM_OK, "START");
	cr_assert_eq(hvq_wait_console(&q, id, "shutdown-ack: hello from EL1", WAIT_S), 0, "%s",
		     q.err);
}

/* The detail of the first event `type` of VM vm at or after event `from`;
 * -1 when there is none. */
static int64_t event_detail(uint32_t type, uint32_t vm, uint64_t from)
{
	uint64_t head = __atomic_load_n(&q.regs->ev_head, __ATOMIC_ACQUIRE);
	for (uint64_t s = from; s < head; s++) {
		struct hvm_event e;
		if (hvq_read_event(&q, s, &e) == 0 && e.type == type && e.vm_id == vm)
			return e.detail;
	}
	return -1;
}

/* MGMT-303: the digest checked at boot is that of the bytes the VM runs. A
 * slot changed after START's check and before the copy is not booted.
 * MGMT-713: START is answered before the boot's work; the failure comes
 * later, as the VM SHUTOFF (FAILED) and a BOOT_FAILED event saying E_HASH. */
Test(hvcore_iso, boot_hashes_the_copy_it_runs)
{
	boot("--hv-image", TEST_IMAGE, NULL, NULL, NULL, NULL);
	struct mu_vm v = { .name = "late", .cpu = 2, .mem_pa = 0x50000000 };
	int id = mu_define_guest(&q, &v, "shutdown-ack", 0);
	cr_assert_geq(id, 0, "%s", q.err);
	uint64_t ev0 = q.regs->ev_head;
	tamper_on(HOOK_BOOT);
	struct hvq_reply rep = cmd(HVM_CMD_START, id, 0, 0, 0);
	expect(rep, HVM_OK, "START (answered before the boot's work, MGMT-713)");
	cr_assert_eq(mu_wait_state(&q, id, HVM_VM_SHUTOFF, HVM_R_FAILED, WAIT_S), 0, "%s", q.err);
	uint32_t struck = tamper()[2];
	tamper_off();
	cr_assert_eq(struck, 1, "the hook struck once");
	cr_assert_eq(event_detail(HVM_EV_BOOT_FAILED, (uint32_t)id, ev0), HVM_E_HASH,
		     "no BOOT_FAILED event with E_HASH");
	cr_assert_eq(mu_count_events(&q, HVM_EV_STARTED, (uint32_t)id, 0), 0,
		     "the boot was stopped before the VM ran");
	cr_assert_eq(mu_count_events(&q, HVM_EV_STOPPED, (uint32_t)id, ev0), 1, "STOPPED (FAILED)");
	char buf[256];
	hvq_read_console(&q, (uint32_t)id, buf, sizeof(buf));
	cr_assert_null(strstr(buf, "hello"), "the guest ran: '%s'", buf);
}

/* The image store's copy of the image staged at [staged, staged + size):
 * the slot that holds the same bytes (2 MiB aligned), NULL when none does. */
static uint8_t *slot_holding(const uint8_t *staged, uint64_t size)
{
	for (uint64_t pa = STORE_PA; pa + size <= STORE_PA + STORE_SIZE; pa += 0x200000) {
		uint8_t *p = hvq_pa(&q, pa, size);
		if (p && memcmp(p, staged, size) == 0)
			return p;
	}
	return NULL;
}

/* MGMT-713, REQ-SAF-10/12: RESET does no work on the image while it holds the
 * command: it is answered at once with the VM BLOCKED, and a slot that no
 * longer holds the image hv-core checked ends the boot it began with the VM
 * SHUTOFF (FAILED) and a BOOT_FAILED event saying E_HASH - never the guest
 * running. Another VM runs on meanwhile; the slot made good again boots. */
Test(hvcore_iso, reset_of_a_changed_slot_fails_its_boot_not_the_command)
{
	boot(NULL, NULL, NULL, NULL, NULL, NULL);
	int rtos = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(rtos, 0);
	struct mu_vm v = { .name = "victim", .cpu = 2, .mem_pa = 0x50000000 };
	int id = mu_define_guest(&q, &v, "shutdown-ack", 0x00800000);
	cr_assert_geq(id, 0, "%s", q.err);
	expect(cmd(HVM_CMD_START, id, 0, 0, 0), HVM_OK, "START");
	cr_assert_eq(mu_wait_heartbeat(&q, id, 1, WAIT_S), 0, "%s", q.err);
	uint8_t *staged = hvq_pa(&q, q.regs->staging_base + 0x00800000, v.image_size);
	uint8_t *slot = slot_holding(staged, v.image_size);
	cr_assert_not_null(slot, "the image is not in the store");

	slot[64] ^= 0x01; /* the slot changes behind hv-core's back */
	uint64_t ev0 = q.regs->ev_head;
	struct hvq_reply rep = cmd(HVM_CMD_RESET, id, 0, 0, 0);
	expect(rep, HVM_OK, "RESET (answered before the boot's work, MGMT-713)");
	cr_assert_eq(mu_wait_state(&q, id, HVM_VM_SHUTOFF, HVM_R_FAILED, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(event_detail(HVM_EV_BOOT_FAILED, (uint32_t)id, ev0), HVM_E_HASH,
		     "no BOOT_FAILED event with E_HASH");
	cr_assert_eq(mu_count_events(&q, HVM_EV_STARTED, (uint32_t)id, ev0), 0,
		     "the changed image was started");
	cr_assert_eq(mu_count_events(&q, HVM_EV_STOPPED, (uint32_t)id, ev0), 1, "STOPPED (FAILED)");
	/* the other VM was never disturbed */
	struct hvm_vm_slot r = mu_slot(&q, rtos);
	cr_assert_eq(r.state, HVM_VM_RUNNING);
	cr_assert_eq(mu_count_events(&q, HVM_EV_STOPPED, (uint32_t)rtos, ev0), 0);
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, r.heartbeat, WAIT_S), 0, "rtos-demo: %s", q.err);

	slot[64] ^= 0x01; /* made good again: checked afresh and booted */
	expect(cmd(HVM_CMD_START, id, 0, 0, 0), HVM_OK, "START");
	cr_assert_eq(mu_wait_state(&q, id, HVM_VM_RUNNING, HVM_R_BOOTED, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(mu_wait_heartbeat(&q, id, 0, WAIT_S), 0, "%s", q.err);
}

/* MGMT-713, GABI-012: a guest's own reset (PSCI SYSTEM_RESET) takes the boot
 * job as RESET does: a slot that no longer holds the image hv-core checked
 * ends that boot with the VM SHUTOFF (FAILED), a BOOT_FAILED event with E_HASH
 * and STOPPED, never a launch. reset-self resets itself after each boot, so
 * whichever reset comes after the change fails; the other VM runs on. */
Test(hvcore_iso, a_guests_own_reset_takes_the_boot_job)
{
	boot(NULL, NULL, NULL, NULL, NULL, NULL);
	int rtos = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(rtos, 0);
	struct mu_vm v = { .name = "resetter", .cpu = 2, .mem_pa = 0x50000000 };
	int id = mu_define_guest(&q, &v, "reset-self", 0x00800000);
	cr_assert_geq(id, 0, "%s", q.err);
	expect(cmd(HVM_CMD_START, id, 0, 0, 0), HVM_OK, "START");
	cr_assert_eq(mu_wait_heartbeat(&q, id, 0, WAIT_S), 0, "%s", q.err);
	uint8_t *staged = hvq_pa(&q, q.regs->staging_base + 0x00800000, v.image_size);
	uint8_t *slot = slot_holding(staged, v.image_size);
	cr_assert_not_null(slot, "the image is not in the store");

	uint64_t ev0 = q.regs->ev_head;
	slot[64] ^= 0x01; /* the slot changes behind hv-core's back */
	cr_assert_eq(mu_wait_state(&q, id, HVM_VM_SHUTOFF, HVM_R_FAILED, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(event_detail(HVM_EV_BOOT_FAILED, (uint32_t)id, ev0), HVM_E_HASH,
		     "no BOOT_FAILED event with E_HASH after the guest's reset");
	cr_assert_eq(mu_count_events(&q, HVM_EV_STOPPED, (uint32_t)id, ev0), 1, "STOPPED (FAILED)");
	cr_assert_eq(mu_slot(&q, id).fault_count, 0);
	struct hvm_vm_slot r = mu_slot(&q, rtos);
	cr_assert_eq(r.state, HVM_VM_RUNNING);
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, r.heartbeat, WAIT_S), 0, "rtos-demo: %s", q.err);

	slot[64] ^= 0x01; /* made good again: it boots, and its own reset boots it again */
	ev0 = q.regs->ev_head;
	expect(cmd(HVM_CMD_START, id, 0, 0, 0), HVM_OK, "START");
	cr_assert_eq(mu_wait_state(&q, id, HVM_VM_RUNNING, HVM_R_REBOOTED, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(mu_count_events(&q, HVM_EV_BOOT_FAILED, (uint32_t)id, ev0), 0);
	cr_assert_eq(mu_count_events(&q, HVM_EV_STOPPED, (uint32_t)id, ev0), 0);
	expect(cmd(HVM_CMD_DESTROY, id, 0, 0, 0), HVM_OK, "DESTROY");
}

/* ---- pass-through devices (MGMT-310..MGMT-314) ------------------------------ */

static struct hvq_reply define_with(const char *name, const char *extra)
{
	struct mu_vm v = { .name = name, .cpu = 2, .mem_pa = 0x50000000, .extra = extra };
	uint64_t isz;
	cr_assert_eq(mu_stage(&q, "gpio", 0, &isz, v.sha256), 0, "%s", q.err);
	v.image_size = isz;
	char *dts = mu_vm_dts(&v);
	char err[512];
	size_t len;
	void *blob = mu_dtc(dts, &len, err, sizeof(err));
	free(dts);
	cr_assert_not_null(blob, "%s", err);
	struct hvq_reply rep;
	cr_assert_eq(mu_define_blob(&q, blob, len, &rep), 0, "%s", q.err);
	free(blob);
	return rep;
}

#define DEV(ipa, pa, size, spis)                                                                   \
	"  dev { compatible = \"avirt,passthrough-v1\"; mmio = <0x0 " ipa " 0x0 " pa " 0x0 " size  \
	">; " spis " };\n"

/* REQ-SAF-09/10: a pass-through range that touches what hv-core uses, that is
 * no platform device, or that reaches a DMA master, and a guest-physical
 * window over a virtual device, are refused with the clause - and change
 * nothing. */
Test(hvcore_iso, passthrough_refusals_name_the_clause_and_change_nothing)
{
	boot(NULL, NULL, NULL, NULL, NULL, NULL);
	char staging[160];
	snprintf(staging, sizeof(staging), DEV("0x20000000", "0x%llx", "0x1000", ""),
		 (unsigned long long)q.regs->staging_base);
	struct {
		const char *what, *extra;
		uint32_t status;
		const char *rule, *text;
	} cases[] = {
		{ "GIC distributor", DEV("0x20000000", "0x08000000", "0x10000", ""), HVM_E_OVERLAP,
		  "MGMT-310", "GIC distributor" },
		{ "GIC redistributors", DEV("0x20000000", "0x080a0000", "0x20000", ""),
		  HVM_E_OVERLAP, "MGMT-310", "GIC redistributors" },
		{ "GIC ITS", DEV("0x20000000", "0x08080000", "0x20000", ""), HVM_E_OVERLAP,
		  "MGMT-310", "GIC ITS" },
		{ "hv-core's UART", DEV("0x20000000", "0x09000000", "0x1000", ""), HVM_E_OVERLAP,
		  "MGMT-310", "UART" },
		{ "free RAM", DEV("0x20000000", "0x5f000000", "0x1000", ""), HVM_E_OVERLAP,
		  "MGMT-310", "RAM" },
		{ "management region", DEV("0x20000000", "0x41000000", "0x1000", ""), HVM_E_OVERLAP,
		  "VMCFG-081", "0x41000000" },
		{ "staging area", staging, HVM_E_OVERLAP, "VMCFG-081", "0x7a000000" },
		{ "another VM's memory", DEV("0x20000000", "0x49000000", "0x1000", ""),
		  HVM_E_OVERLAP, "VMCFG-082", "0x49000000" },
		{ "no platform device", DEV("0x20000000", "0x09100000", "0x1000", ""),
		  HVM_E_BAD_CONFIG, "MGMT-311", "no platform device" },
		{ "virtio-mmio (DMA)", DEV("0x20000000", "0x0a000000", "0x1000", ""),
		  HVM_E_BAD_CONFIG, "MGMT-312", "virtio_mmio@a000000 masters DMA" },
		{ "UART's SPI", DEV("0x09030000", "0x09030000", "0x1000", "spis = <1>;"),
		  HVM_E_BAD_CONFIG, "MGMT-314", "SPI 1" },
		{ "IPA on the vGIC", DEV("0x08000000", "0x09030000", "0x1000", ""), HVM_E_OVERLAP,
		  "MGMT-313", "virtual GIC" },
		{ "IPA on the vUART", DEV("0x09000000", "0x09030000", "0x1000", ""), HVM_E_OVERLAP,
		  "MGMT-313", "virtual UART" },
		{ "IPA on the cooperation page", DEV("0x0b000000", "0x09030000", "0x1000", ""),
		  HVM_E_OVERLAP, "MGMT-313", "cooperation page" },
		{ "channel on the cooperation page",
		  "  c { compatible = \"avirt,channel-v1\"; channel-id = <0>; peer = \"other\";"
		  " shm = <0x0 0x0b000000 0x0 0x60000000 0x0 0x10000>; rights = \"read\"; };\n",
		  HVM_E_OVERLAP, "MGMT-313", "cooperation page" },
	};
	uint32_t count0 = q.regs->vm_count;
	uint64_t ev0 = q.regs->ev_head;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hvq_reply r = define_with("pt", cases[i].extra);
		cr_expect_eq(r.status, cases[i].status, "%s: status %u (want %u): '%s'",
			     cases[i].what, r.status, cases[i].status, r.msg);
		cr_expect(strstr(r.msg, cases[i].rule) && strstr(r.msg, cases[i].text),
			  "%s: '%s' does not say %s / %s", cases[i].what, r.msg, cases[i].rule,
			  cases[i].text);
	}
	cr_assert_eq(q.regs->vm_count, count0, "a refused DEFINE defined nothing");
	cr_assert_eq(q.regs->ev_head, ev0, "a refused DEFINE appended no event");
}

/* VMCFG-060, MGMT-310: a legitimate pass-through device works: the PL061 GPIO
 * of docs/examples/passthrough.dts, driven by the gpio guest. */
Test(hvcore_iso, passthrough_gpio_is_driven_by_its_guest)
{
	boot(NULL, NULL, NULL, NULL, NULL, NULL);
	struct mu_vm v = { .name = "gpio-owner",
			   .cpu = 2,
			   .mem_pa = 0x50000000,
			   .extra = DEV("0x09030000", "0x09030000", "0x1000", "spis = <7>;") };
	int id = mu_define_guest(&q, &v, "gpio", 0);
	cr_assert_geq(id, 0, "%s", q.err);
	expect(cmd(HVM_CMD_START, id, 0, 0, 0), HVM_OK, "START");
	cr_assert_eq(hvq_wait_console(&q, id, "gpio: direction 255", WAIT_S), 0, "%s", q.err);
	char buf[512];
	hvq_read_console(&q, (uint32_t)id, buf, sizeof(buf));
	cr_assert(strstr(buf, "gpio: periph id 97 16"), "PL061 identification: '%s'", buf);
	cr_assert_eq(mu_wait_heartbeat(&q, id, 2, WAIT_S), 0, "%s", q.err);
}

/* VMCFG-300, MGMT-312: a device the boot configuration lists as a DMA master
 * is not passed through; the rest of the configuration still comes up. */
Test(hvcore_iso, boot_configuration_dma_masters_are_refused)
{
	char dir[] = "/tmp/hvcore-iso-XXXXXX", path[256];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dma.dts", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "/dts-v1/;\n/ {\n  compatible = \"avirt,system-config-v1\";\n"
		   "  hv-core { dma-masters = \"arm,pl061\"; };\n  vms {\n");
	fprintf(f, "    gpio { compatible = \"avirt,vm-config-v1\"; vm-name = \"gpio\";"
		   " vcpus = <1>; cpus = <2>;"
		   " memory = <0x0 0x40000000 0x0 0x50000000 0x0 0x01000000>;"
		   " criticality = \"QM\"; autostart;\n"
		   "      boot { load-address = <0x0 0x40000000>; entry = <0x0 0x40000000>;"
		   " image-size = <0x0 @SIZE:gpio@>; image-store = <0x0 @STORE:gpio@>;"
		   " image-sha256 = [@SHA256:gpio@]; };\n"
		   "      " DEV("0x09030000", "0x09030000", "0x1000", "spis = <7>;") "    };\n");
	fprintf(f, "    ack { compatible = \"avirt,vm-config-v1\"; vm-name = \"ack\";"
		   " vcpus = <1>; cpus = <3>;"
		   " memory = <0x0 0x40000000 0x0 0x52000000 0x0 0x01000000>;"
		   " criticality = \"QM\"; autostart;\n"
		   "      boot { load-address = <0x0 0x40000000>; entry = <0x0 0x40000000>;"
		   " image-size = <0x0 @SIZE:shutdown-ack@>;"
		   " image-store = <0x0 @STORE:shutdown-ack@>;"
		   " image-sha256 = [@SHA256:shutdown-ack@]; };\n    };\n  };\n};\n");
	fclose(f);
	boot("--config", path, NULL, NULL, NULL, NULL);
	unlink(path);
	rmdir(dir);
	cr_assert_lt(hvq_find_vm(&q, "gpio"), 0, "the DMA master was passed through");
	int a = hvq_find_vm(&q, "ack");
	cr_assert_geq(a, 0);
	cr_assert_eq(mu_wait_heartbeat(&q, a, 1, WAIT_S), 0, "%s", q.err);
	FILE *log = fopen(q.serial, "r");
	cr_assert_not_null(log);
	char line[512];
	int seen = 0;
	while (fgets(line, sizeof(line), log))
		if (strstr(line, "'gpio' not defined") && strstr(line, "MGMT-312"))
			seen = 1;
	fclose(log);
	cr_assert(seen, "no MGMT-312 refusal of 'gpio' in %s", q.serial);
}

/* docs/performance.md ("SHA-256 of an image"): what hv-core's copy and hash of
 * a staged image cost per byte, counted in instructions under -icount (a
 * nanosecond of virtual time per instruction). Logged, not asserted. */
Test(hvcore_iso, staged_image_copy_and_hash_cost_per_byte, .timeout = 600)
{
	boot("--no-config", "--qemu-arg", "-icount", "--qemu-arg", "shift=0,sleep=off", NULL);
	const uint64_t size = 8ull << 20;
	uint8_t *staged = hvq_pa(&q, q.regs->staging_base, size);
	uint64_t x = 0x9E3779B97F4A7C15ull;
	for (uint64_t i = 0; i < size; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		staged[i] = (uint8_t)x;
	}
	struct mu_vm v = { .name = "big", .cpu = 2, .mem_pa = 0x50000000, .image_size = size };
	sha256(staged, size, v.sha256);
	char *dts = mu_vm_dts(&v);
	char err[256];
	size_t len;
	void *blob = mu_dtc(dts, &len, err, sizeof(err));
	free(dts);
	cr_assert_not_null(blob, "%s", err);
	struct hvq_reply rep;
	cr_assert_eq(mu_define_blob(&q, blob, len, &rep), 0, "%s", q.err);
	free(blob);
	expect(rep, HVM_OK, "DEFINE");
	int id = (int)rep.ret[0];
	expect(cmd(HVM_CMD_LOAD_IMAGE, id, 0, size, 0), HVM_OK, "LOAD_IMAGE");
	FILE *log = fopen(q.serial, "r");
	cr_assert_not_null(log);
	char line[512];
	unsigned long long n = 0, copy = 0, hash = 0;
	while (fgets(line, sizeof(line), log)) {
		const char *p = strstr(line, " bytes staged: copy");
		if (p)
			while (p > line && p[-1] >= '0' && p[-1] <= '9')
				p--;
		if (p && sscanf(p, "%llu bytes staged: copy %llu ns, SHA-256 %llu ns", &n, &copy,
				&hash) == 3)
			break;
	}
	fclose(log);
	cr_assert_eq(n, size, "no copy/hash line for the image in %s", q.serial);
	cr_log_info("staged image of %llu bytes: copy %.2f, SHA-256 %.2f instructions per byte", n,
		    (double)copy / (double)n, (double)hash / (double)n);
}
