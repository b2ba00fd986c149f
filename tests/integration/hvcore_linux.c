/*
 * hvcore_linux.c - a real, unmodified Debian arm64 kernel boots as a 2-vCPU
 * guest of hv-core beside rtos-demo (REQ-STD-05, REQ-STD-06, REQ-SAF-19):
 * its boot log reaches /init on the VM's console ring, both vCPUs are online
 * (the second started through PSCI CPU_ON), /init finds the cooperation page
 * through the guest device tree and its heartbeat and image version reach the
 * management slot, rtos-demo's heartbeat keeps advancing all along, and the
 * cooperation-page shutdown request (MGMT SHUTDOWN) makes Linux power off:
 * SHUTOFF, reason SHUTDOWN. Waits are bounded; nothing asserts a duration.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "hvqemu.h"
#include "hvguest.h"

#define WAIT_S 300

static struct hvq q;

static void boot(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = "rtos-demo";
	o.guests[1] = "linux";
	o.ready_timeout_s = 300;
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
}

static void teardown(void)
{
	hvq_stop(&q);
}

static int find(const char *name)
{
	int id = hvq_find_vm(&q, name);
	cr_assert_geq(id, 0, "no VM named %s", name);
	return id;
}

static struct hvm_vm_slot slot(int id)
{
	struct hvm_vm_slot s;
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)id, &s), 0, "%s", q.err);
	return s;
}

static void wait_console(int id, const char *text)
{
	if (hvq_wait_console(&q, id, text, WAIT_S) != 0)
		cr_assert_fail("%s", q.err);
}

struct hb_wait {
	int id;
	uint64_t above;
};

static int heartbeat_above(struct hvq *h, void *arg)
{
	struct hb_wait *w = arg;
	struct hvm_vm_slot s;
	return hvq_read_slot(h, (uint32_t)w->id, &s) == 0 && s.heartbeat > w->above;
}

/* rtos-demo's heartbeat moves on from where it was last seen. */
static uint64_t rtos_beats_on(int rtos, uint64_t last, const char *when)
{
	struct hb_wait w = { rtos, last };
	cr_assert_eq(hvq_wait(&q, heartbeat_above, &w, WAIT_S), 0,
		     "rtos-demo's heartbeat stalled at %llu %s: %s", (unsigned long long)last, when,
		     q.err);
	return slot(rtos).heartbeat;
}

struct state_wait {
	int id;
	uint32_t state, reason;
};

static int state_is(struct hvq *h, void *arg)
{
	struct state_wait *w = arg;
	struct hvm_vm_slot s;
	return hvq_read_slot(h, (uint32_t)w->id, &s) == 0 && s.state == w->state &&
	       s.reason == w->reason;
}

static void kernel_release(char *buf, size_t len)
{
	FILE *f = fopen(LINUX_GUEST_DIR "/kernel-release", "r");
	cr_assert(f, "cannot read %s/kernel-release", LINUX_GUEST_DIR);
	cr_assert(fgets(buf, (int)len, f), "empty kernel-release");
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
}

TestSuite(hvcore_linux, .init = boot, .fini = teardown, .timeout = 1200);

Test(hvcore_linux, debian_kernel_boots_beside_rtos_and_powers_off_on_request)
{
	int rtos = find("rtos-demo");
	int lx = find("linux");
	uint64_t hb = rtos_beats_on(rtos, 0, "before Linux booted");

	/* the kernel's own log on the VM's vPL011, up to /init */
	wait_console(lx, "Run /init as init process");
	wait_console(lx, "hv-linux-guest: init reached");
	hb = rtos_beats_on(rtos, hb, "while Linux booted");
	/* both vCPUs: the second one came up through PSCI CPU_ON */
	wait_console(lx, "hv-linux-guest: cpus online 2 (0-1)");
	wait_console(lx, "CPU1: Booted secondary processor");
	/* discovery through the guest device tree (GABI-010), page outside /memory */
	wait_console(lx, "hv-linux-guest: cooperation page at 0xb000000");

	/* the guest side of the cooperation page reaches the management slot */
	struct hb_wait w = { lx, 2 };
	cr_assert_eq(hvq_wait(&q, heartbeat_above, &w, WAIT_S), 0,
		     "Linux heartbeat never above 2: %s", q.err);
	struct hvm_vm_slot s = slot(lx);
	char rel[64];
	kernel_release(rel, sizeof(rel));
	cr_expect_str_eq(s.image_version, rel, "image version '%s', kernel '%s'", s.image_version,
			 rel);
	cr_expect_eq(s.guest_state, HVG_GS_RUNNING);
	cr_expect_eq(s.state, HVM_VM_RUNNING);
	hb = rtos_beats_on(rtos, hb, "while Linux ran");

	/* MGMT-801, GABI-800: bytes written to the VM's vUART receive FIFO
	 * reach the shell /init runs on its console, whose answer comes back
	 * on the console ring */
	wait_console(lx, "hv-linux-guest: shell on the console");
	static const char typed[] = "uname -a\r";
	uint64_t wargs[6] = { sizeof typed - 1 };
	struct hvq_reply wrep;
	memcpy((void *)(q.mgmt + HVM_OFF_DATA), typed, sizeof typed - 1);
	cr_assert_eq(hvq_command(&q, HVM_CMD_WRITE_CONSOLE, (uint32_t)lx, wargs, &wrep), 0, "%s",
		     q.err);
	cr_assert_eq(wrep.status, HVM_OK, "WRITE_CONSOLE: status %u '%s'", wrep.status, wrep.msg);
	cr_assert_eq(wrep.ret[0], sizeof typed - 1, "bytes taken");
	wait_console(lx, "aarch64 GNU/Linux");
	/* nothing, or more than one command takes at once, is refused */
	wargs[0] = 0;
	cr_assert_eq(hvq_command(&q, HVM_CMD_WRITE_CONSOLE, (uint32_t)lx, wargs, &wrep), 0, "%s",
		     q.err);
	cr_expect_eq(wrep.status, HVM_E_BAD_ARG, "%s", wrep.msg);
	wargs[0] = HVM_CONSOLE_INPUT_MAX + 1;
	cr_assert_eq(hvq_command(&q, HVM_CMD_WRITE_CONSOLE, (uint32_t)lx, wargs, &wrep), 0, "%s",
		     q.err);
	cr_expect_eq(wrep.status, HVM_E_BAD_ARG, "%s", wrep.msg);

	/* SHUTDOWN: request in the cooperation page, /init acknowledges and
	 * powers off with PSCI SYSTEM_OFF; only this VM stops */
	uint64_t args[6] = { 60000 };
	struct hvq_reply rep;
	cr_assert_eq(hvq_command(&q, HVM_CMD_SHUTDOWN, (uint32_t)lx, args, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_OK, "SHUTDOWN: status %u '%s'", rep.status, rep.msg);
	wait_console(lx, "hv-linux-guest: shutdown requested");
	struct state_wait sw = { lx, HVM_VM_SHUTOFF, HVM_R_SHUTDOWN };
	cr_assert_eq(hvq_wait(&q, state_is, &sw, WAIT_S), 0, "Linux never SHUTOFF/SHUTDOWN: %s",
		     q.err);
	hb = rtos_beats_on(rtos, hb, "after Linux powered off");
	cr_expect_eq(slot(rtos).state, HVM_VM_RUNNING);
}
