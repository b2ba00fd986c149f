/*
 * hvcore_mgmt_mmio.c - the trapped-MMIO transport and the management VM
 * (docs/mgmt-abi.md MGMT-112, MGMT-210..215; docs/vm-config.md VMCFG-027,
 * VMCFG-088, VMCFG-098) against the real hv-core under QEMU.
 *
 * hv-core/guests/boot-mgmt.dts boots rtos-demo, the management VM
 * "mgmt-client" and an ordinary VM "mgmt-intruder". mgmt-client drives
 * hv-core through its trapped register page and prints one "MC ..." line per
 * result on its console, which this test reads from the console ring; what it
 * did to rtos-demo is checked independently through the polled page (slot,
 * event ring). mgmt-intruder touches the same IPA and must meet a stage-2
 * fault handled by its fault policy (ignore). Waits are bounded; nothing
 * asserts a duration.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvqemu.h"
#include "hvcore_mgmt_util.h"

#define WAIT_S 60
#define BOOT_MGMT HV_SOURCE_DIR "/hv-core/guests/boot-mgmt.dts"
/* mgmt-client's memory is PA 0x4a000000 at IPA 0x40000000; it waits for a
 * non-zero word at IPA 0x40f00000 between SUSPEND and RESUME */
#define GO_FLAG_PA 0x4af00000ull
#define MGMT_IPA 0x41000000ull

static struct hvq q;
static int rtos, client, intruder;
static char con[HVM_CONSOLE_SIZE + 1];

static void boot(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.extra[0] = "--config";
	o.extra[1] = BOOT_MGMT;
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
	rtos = hvq_find_vm(&q, "rtos-demo");
	client = hvq_find_vm(&q, "mgmt-client");
	intruder = hvq_find_vm(&q, "mgmt-intruder");
	cr_assert(rtos >= 0 && client >= 0 && intruder >= 0,
		  "the three VMs of boot-mgmt.dts are defined");
}

static void teardown(void)
{
	hvq_stop(&q);
}

/* The console line of mgmt-client starting with "MC <what> " (or "MC <what>\n"). */
static const char *client_line(const char *what)
{
	char key[64];
	hvq_read_console(&q, (uint32_t)client, con, sizeof(con));
	snprintf(key, sizeof(key), "MC %s", what);
	for (const char *p = con; (p = strstr(p, key)) != NULL; p++) {
		char after = p[strlen(key)];
		if ((p == con || p[-1] == '\n') && (after == ' ' || after == '\n'))
			return p;
	}
	cr_assert_fail("mgmt-client printed no '%s' line; console:\n%s", key, con);
	return NULL;
}

/* Value of key=... on line (decimal or 0x hex), up to the end of the line. */
static uint64_t field(const char *line, const char *key)
{
	char k[40];
	snprintf(k, sizeof(k), " %s=", key);
	const char *end = strchr(line, '\n');
	const char *p = strstr(line, k);
	cr_assert(p && (!end || p < end), "no %s= in line: %.120s", key, line);
	return strtoull(p + strlen(k), NULL, 0);
}

static const char *text_field(const char *line, const char *key, char *out, size_t len)
{
	char k[40];
	snprintf(k, sizeof(k), " %s=", key);
	const char *p = strstr(line, k);
	const char *end = strchr(line, '\n');
	cr_assert(p && (!end || p < end), "no %s= in line: %.120s", key, line);
	p += strlen(k);
	size_t n = strcspn(p, " \n");
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = 0;
	return out;
}

static void set_go(void)
{
	uint32_t *go = hvq_pa(&q, GO_FLAG_PA, 4);
	cr_assert_not_null(go);
	__atomic_store_n(go, 1, __ATOMIC_RELEASE);
}

/* The sequence number of the first event (type, vm) at or after from, or -1. */
static int64_t find_event(uint32_t type, uint32_t vm, uint64_t from, struct hvm_event *out)
{
	uint64_t head = __atomic_load_n(&q.regs->ev_head, __ATOMIC_ACQUIRE);
	for (uint64_t s = from; s < head; s++)
		if (hvq_read_event(&q, s, out) == 0 && out->type == type && out->vm_id == vm)
			return (int64_t)s;
	return -1;
}

TestSuite(hvcore_mgmt_mmio, .init = boot, .fini = teardown, .timeout = 240);

/* MGMT-003, VMCFG-098, MGMT-112, MGMT-210..214: the management VM finds the
 * region in its device tree and every command completes before its store of
 * req_seq retires; SUSPEND/RESUME really act on rtos-demo. */
Test(hvcore_mgmt_mmio, the_management_vm_drives_hv_core_through_the_trapped_page)
{
	cr_assert_eq(hvq_wait_console(&q, client, "MC WAIT-GO", WAIT_S), 0, "%s", q.err);

	char s[80];
	const char *l = client_line("DT");
	cr_assert_str_eq(text_field(l, "path", s, sizeof(s)), "/reserved-memory/hv-mgmt@41000000");
	cr_assert_eq(field(l, "base"), MGMT_IPA);
	cr_assert_eq(field(l, "size"), HVM_REGION_SIZE);
	cr_assert_eq(field(l, "no-map"), 1);

	cr_assert_eq(q.regs->selftest_failed, 0, "check 6 accepts the management window (MGMT-211)");
	l = client_line("HELLO");
	cr_assert_eq(field(l, "magic"), HVM_MAGIC);
	cr_assert_eq(field(l, "major"), HVM_ABI_MAJOR);
	cr_assert_eq(field(l, "ok"), 1);

	/* MGMT-212: stores to hypervisor-owned fields are ignored */
	cr_assert_eq(field(client_line("RO-WRITE"), "magic"), HVM_MAGIC);
	cr_assert_eq(q.regs->magic, HVM_MAGIC);

	l = client_line("GET_INFO");
	cr_assert_eq(field(l, "status"), HVM_OK);
	cr_assert_eq(field(l, "sync"), 1, "MGMT-112: done before the store retired");
	cr_assert_eq(field(l, "vm_count"), 3);
	cr_assert_eq(field(l, "caps"), q.regs->caps);

	l = client_line("LIST");
	cr_assert_eq(field(l, "status"), HVM_OK);
	cr_assert_eq(field(l, "sync"), 1);
	cr_assert_eq(field(l, "mask"), (1ull << rtos) | (1ull << client) | (1ull << intruder));

	l = client_line("UNKNOWN");
	cr_assert_eq(field(l, "status"), HVM_E_UNKNOWN_CMD);
	cr_assert_eq(field(l, "sync"), 1);

	cr_assert_eq(field(client_line("FIND"), "id"), (uint64_t)rtos);

	l = client_line("SUSPEND");
	cr_assert_eq(field(l, "status"), HVM_OK);
	cr_assert_eq(field(l, "sync"), 1);
	cr_assert_eq(field(l, "state"), HVM_VM_PAUSED, "the slot says PAUSED right after the reply");

	/* seen from outside, through the polled page: PAUSED (USER), one SUSPENDED event */
	struct hvm_vm_slot sl = mu_slot(&q, rtos);
	cr_assert_eq(sl.state, HVM_VM_PAUSED);
	cr_assert_eq(sl.reason, HVM_R_USER);
	struct hvm_event ev;
	int64_t susp = find_event(HVM_EV_SUSPENDED, (uint32_t)rtos, 0, &ev);
	cr_assert_geq(susp, 0, "a SUSPENDED event for rtos-demo is in the ring");
	cr_assert_eq(ev.reason, HVM_R_USER);
	uint64_t hb_paused = sl.heartbeat;

	set_go();
	cr_assert_eq(hvq_wait_console(&q, client, "MC DONE", WAIT_S), 0, "%s", q.err);

	l = client_line("RESUME");
	cr_assert_eq(field(l, "status"), HVM_OK);
	cr_assert_eq(field(l, "sync"), 1);
	cr_assert_eq(field(l, "state"), HVM_VM_RUNNING);
	int64_t res = find_event(HVM_EV_RESUMED, (uint32_t)rtos, (uint64_t)susp, &ev);
	cr_assert_gt(res, susp, "RESUMED follows SUSPENDED in the ring");
	cr_assert_eq(ev.reason, HVM_R_USER);
	cr_assert_eq(mu_wait_state(&q, rtos, HVM_VM_RUNNING, HVM_R_USER, WAIT_S), 0, "%s", q.err);
	/* it really runs again: its heartbeat moves past the paused value */
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, hb_paused, WAIT_S), 0, "%s", q.err);

	/* MGMT-049 through the transport's own data area (MGMT-213) */
	l = client_line("READ_CONSOLE");
	cr_assert_eq(field(l, "status"), HVM_OK);
	cr_assert_eq(field(l, "sync"), 1);
	cr_assert_gt(field(l, "count"), 0);
	cr_assert_eq(field(l, "next"), field(l, "count"));
	cr_assert_eq(field(l, "lost"), 0);
	cr_assert_str_eq(text_field(l, "text", s, sizeof(s)), "rtos-demo:_hello_from_EL1");

	l = client_line("BAD_VM");
	cr_assert_eq(field(l, "status"), HVM_E_BAD_VM);
	cr_assert_eq(field(l, "sync"), 1);

	/* the management VM never faulted on its accesses */
	cr_assert_eq(mu_slot(&q, client).fault_count, 0);
	cr_assert_eq(mu_slot(&q, client).state, HVM_VM_RUNNING);
}

/* MGMT-713: START through the trapped page is answered before the store
 * retires, the VM BLOCKED while its boot's work goes on in units between
 * supervision passes (MGMT-711), and the VM runs again. */
Test(hvcore_mgmt_mmio, start_through_the_trapped_page_is_answered_before_its_work)
{
	cr_assert_eq(hvq_wait_console(&q, client, "MC WAIT-GO", WAIT_S), 0, "%s", q.err);
	set_go();
	cr_assert_eq(hvq_wait_console(&q, client, "MC DONE", WAIT_S), 0, "%s", q.err);
	uint64_t ev0 = q.regs->ev_head;
	uint32_t *go2 = hvq_pa(&q, GO_FLAG_PA + 4, 4);
	cr_assert_not_null(go2);
	__atomic_store_n(go2, 1, __ATOMIC_RELEASE);
	cr_assert_eq(hvq_wait_console(&q, client, "MC DONE2", WAIT_S), 0, "%s", q.err);
	const char *l = client_line("DESTROY");
	cr_assert_eq(field(l, "status"), HVM_OK);
	l = client_line("START");
	cr_assert_eq(field(l, "status"), HVM_OK, "START through the trapped page");
	cr_assert_eq(field(l, "sync"), 1, "MGMT-713: START is answered before the store retires");
	uint64_t st0 = field(l, "state");
	cr_assert(st0 == HVM_VM_BLOCKED || st0 == HVM_VM_RUNNING, "state %llu after START",
		  (unsigned long long)st0);
	cr_assert_eq(mu_wait_state(&q, rtos, HVM_VM_RUNNING, HVM_R_BOOTED, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(mu_count_events(&q, HVM_EV_STARTED, (uint32_t)rtos, ev0), 1);
	uint64_t hb = mu_slot(&q, rtos).heartbeat;
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, hb, WAIT_S), 0, "rtos-demo runs again: %s", q.err);
	cr_assert_eq(mu_slot(&q, client).fault_count, 0);
}

/* MGMT-213, MGMT-214: a command outstanding on the polled page while the
 * management VM runs its own: neither reply nor data area is disturbed. */
Test(hvcore_mgmt_mmio, commands_of_the_two_transports_do_not_mix)
{
	cr_assert_eq(hvq_wait_console(&q, client, "MC WAIT-GO", WAIT_S), 0, "%s", q.err);
	volatile struct hvm_regs *r = q.regs;
	/* the management VM's commands so far left the polled page alone */
	cr_assert_eq(r->req_seq, 0, "the trapped transport has its own command block");
	cr_assert_eq(r->done_seq, 0);

	/* submit GET_STATS of rtos-demo on the polled page, do not wait, and let
	 * the management VM go on with RESUME and READ_CONSOLE meanwhile */
	uint32_t seq = r->done_seq + 1;
	r->cmd = HVM_CMD_GET_STATS;
	r->vm_id = (uint32_t)rtos;
	for (int i = 0; i < 6; i++)
		r->arg[i] = 0;
	__atomic_store_n(&r->req_seq, seq, __ATOMIC_RELEASE);
	set_go();
	cr_assert_eq(hvq_wait_console(&q, client, "MC DONE", WAIT_S), 0, "%s", q.err);
	struct hvq_reply rep;
	/* a NOP after it: completes only once GET_STATS did */
	cr_assert_eq(hvq_command(&q, HVM_CMD_NOP, 0, NULL, &rep), 0, "%s", q.err);
	cr_assert_eq(r->done_seq, seq + 1);

	/* GET_STATS's record is intact in the polled page's data area (the
	 * management VM's READ_CONSOLE wrote its own) */
	struct hvm_stats st;
	memcpy(&st, (const void *)(q.mgmt + HVM_OFF_DATA), sizeof(st));
	cr_assert_eq(st.magic, HVM_STATS_MAGIC);
	cr_assert_eq(st.vm_id, (uint32_t)rtos);

	/* and the management VM's replies are intact too */
	cr_assert_eq(field(client_line("RESUME"), "status"), HVM_OK);
	const char *l = client_line("READ_CONSOLE");
	cr_assert_eq(field(l, "status"), HVM_OK);
	char s[80];
	cr_assert_str_eq(text_field(l, "text", s, sizeof(s)), "rtos-demo:_hello_from_EL1");
	/* the polled page's command block is still what this test wrote */
	cr_assert_eq(r->req_seq, seq + 1);
	cr_assert_eq(r->cmd, HVM_CMD_NOP);
}

/* MGMT-215: the window exists for the management VM only; another VM's access
 * at the same IPA is a stage-2 fault under its own policy (ignore here). */
Test(hvcore_mgmt_mmio, another_vm_touching_the_window_faults)
{
	cr_assert_eq(hvq_wait_console(&q, intruder, "INTRUDER DONE", WAIT_S), 0, "%s", q.err);
	/* MGMT-052: an ignored fault's count reaches the slot with the next service tick */
	cr_assert_eq(mu_wait_ticks(&q, 2), 0, "%s", q.err);
	struct hvm_vm_slot sl = mu_slot(&q, intruder);
	cr_assert_eq(sl.fault_count, 3, "a write of req_seq, a write of the data area, a read");
	cr_assert_eq(sl.state, HVM_VM_RUNNING, "fault policy ignore: it runs on");
	/* MGMT-052: one FAULT event at least, at most one per fault */
	int fault_events = mu_count_events(&q, HVM_EV_FAULT, (uint32_t)intruder, 0);
	cr_assert(fault_events >= 1 && fault_events <= 3, "%d FAULT events", fault_events);
	struct hvm_fault f;
	cr_assert_eq(hvq_read_fault(&q, (uint32_t)intruder, &f), 0, "%s", q.err);
	cr_assert_eq(f.kind, HVM_F_STAGE2_ABORT);
	cr_assert_eq(f.action, HVM_ACT_IGNORE);
	uint64_t ipa = ((f.hpfar & 0xFFFFFFFFFF0ull) << 8) | (f.far & 0xFFF);
	cr_assert_eq(ipa, MGMT_IPA, "the last fault is the read of the register page");
	/* nothing reached hv-core's command block or data area */
	cr_assert_eq(q.regs->req_seq, q.regs->done_seq);
	cr_assert_eq(*(volatile uint32_t *)(q.mgmt + HVM_OFF_DATA), 0);
	/* and the read was not served: the register kept the guest's value */
	hvq_read_console(&q, (uint32_t)intruder, con, sizeof(con));
	cr_assert(strstr(con, "survived, read value 1515870810"), "console:\n%s", con);
	/* the other VMs were not disturbed (REQ-SAF-19) */
	cr_assert_eq(mu_slot(&q, rtos).fault_count, 0);
	cr_assert_eq(mu_slot(&q, client).fault_count, 0);
}

/* ---- MGMT-212: what the register page does not emulate ------------------------ */

#define BOOT_MISUSE HV_SOURCE_DIR "/hv-core/guests/boot-mgmt-misuse.dts"

static int misuse;

static void boot_misuse(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.extra[0] = "--config";
	o.extra[1] = BOOT_MISUSE;
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
	rtos = hvq_find_vm(&q, "rtos-demo");
	misuse = hvq_find_vm(&q, "mgmt-misuse");
	cr_assert(rtos >= 0 && misuse >= 0, "the two VMs of boot-mgmt-misuse.dts are defined");
}

TestSuite(hvcore_mgmt_misuse, .init = boot_misuse, .fini = teardown, .timeout = 240);

/* MGMT-212: the management VM's load pair, load with writeback and unaligned
 * load of its register page are stage-2 faults under its policy (ignore: each
 * skipped and counted); its aligned loads before and after are served, the
 * polled page answers, and rtos-demo runs on (REQ-SAF-19). */
Test(hvcore_mgmt_misuse, pairs_writeback_and_unaligned_accesses_are_faults)
{
	cr_assert_eq(hvq_wait_console(&q, misuse, "MM DONE", WAIT_S), 0, "%s", q.err);
	hvq_read_console(&q, (uint32_t)misuse, con, sizeof(con));
	char want[64];
	snprintf(want, sizeof(want), "MM MAGIC-BEFORE magic=%u\n", HVM_MAGIC);
	cr_assert(strstr(con, want), "an aligned load is served; console:\n%s", con);
	snprintf(want, sizeof(want), "MM MAGIC-AFTER magic=%u\n", HVM_MAGIC);
	cr_assert(strstr(con, want), "and still is after the faults; console:\n%s", con);
	cr_assert(strstr(con, "MM PAIR survived") && strstr(con, "MM WRITEBACK survived"), "%s", con);
	/* the faulting load was skipped: the register kept the guest's value */
	cr_assert(strstr(con, "MM UNALIGNED survived value=1515870810"), "console:\n%s", con);

	cr_assert_eq(mu_wait_ticks(&q, 2), 0, "%s", q.err); /* slot refreshed by the tick (MGMT-052) */
	struct hvm_vm_slot sl = mu_slot(&q, misuse);
	cr_assert_eq(sl.fault_count, 3, "a load pair, a load with writeback, an unaligned load");
	cr_assert_eq(sl.state, HVM_VM_RUNNING, "fault policy ignore: it runs on");
	struct hvm_fault f;
	cr_assert_eq(hvq_read_fault(&q, (uint32_t)misuse, &f), 0, "%s", q.err);
	cr_assert_eq(f.kind, HVM_F_STAGE2_ABORT);
	cr_assert_eq(f.action, HVM_ACT_IGNORE);
	cr_assert_eq(f.esr >> 26, 0x24, "a data abort from the guest");
	uint64_t ipa = ((f.hpfar & 0xFFFFFFFFFF0ull) << 8) | (f.far & 0xFFF);
	cr_assert_eq(ipa, MGMT_IPA + 2, "the last fault is the unaligned load of the register page");

	/* the polled page still works, rtos-demo is untouched */
	struct hvq_reply rep;
	cr_assert_eq(hvq_command(&q, HVM_CMD_GET_INFO, 0, NULL, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_OK);
	struct hvm_vm_slot rs = mu_slot(&q, rtos);
	cr_assert_eq(rs.state, HVM_VM_RUNNING);
	cr_assert_eq(rs.fault_count, 0);
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, rs.heartbeat, WAIT_S), 0, "%s", q.err);
}
