/*
 * hvcore_faulthist.c - the fault history of a VM and the fault policy that
 * stops only the faulting vCPU, in the real hv-core under QEMU (REQ-SAF-20,
 * REQ-SAF-22; docs/mgmt-abi.md MGMT-330..333, docs/vm-config.md VMCFG-330,
 * docs/guest-abi.md GABI-330). rtos-demo, the safety VM, runs beside on its
 * own CPU and must stay untouched. Waits are bounded; nothing asserts a
 * duration.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "hvqemu.h"
#include "hvguest.h"
#include "hvcore_mgmt_util.h"

#define WAIT_S 60
#define STAGE_A 0x04000000ull

static struct hvq q;
static int rtos;

static void boot(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = "rtos-demo";
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
	rtos = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(rtos, 0);
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, 0, WAIT_S), 0, "rtos-demo never beat: %s", q.err);
}

static void teardown(void)
{
	hvq_stop(&q);
}

TestSuite(hvcore_faulthist, .init = boot, .fini = teardown, .timeout = 300);

static struct hvq_reply cmd(uint32_t c, int id, uint64_t a0)
{
	struct hvq_reply rep;
	uint64_t args[6] = { a0 };
	cr_assert_eq(hvq_command(&q, c, (uint32_t)id, args, &rep), 0, "%s", q.err);
	return rep;
}

static int define_and_start(struct mu_vm *v, const char *guest)
{
	int id = mu_define_guest(&q, v, guest, STAGE_A);
	cr_assert_geq(id, 0, "%s", q.err);
	struct hvq_reply r = cmd(HVM_CMD_START, id, 0);
	cr_assert_eq(r.status, HVM_OK, "START %s: %s", v->name, r.msg);
	return id;
}

/* READ_FAULT_HISTORY after fault_seq `after`; checks the record's header. */
static struct hvm_fault_history history(int id, uint64_t after)
{
	struct hvq_reply r = cmd(HVM_CMD_READ_FAULT_HISTORY, id, after);
	cr_assert_eq(r.status, HVM_OK, "READ_FAULT_HISTORY: %u '%s'", r.status, r.msg);
	struct hvm_fault_history h;
	memcpy(&h, (const void *)(q.mgmt + HVM_OFF_DATA), sizeof(h));
	cr_assert_eq(h.magic, HVM_FHIST_MAGIC);
	cr_assert_eq(h.version, HVM_FHIST_VERSION);
	cr_assert_eq(h.size, sizeof(h));
	cr_assert_eq(h.entry_size, sizeof(struct hvm_fault_entry));
	cr_assert_eq(h.vm_id, (uint32_t)id);
	cr_assert_eq(r.ret[0], sizeof(h));
	cr_assert_eq(r.ret[1], h.count);
	cr_assert_eq(r.ret[2], h.total);
	cr_assert_leq(h.count, HVM_FAULT_HISTORY);
	/* MGMT-331: consecutive sequence numbers ending at the newest, time in order */
	for (unsigned i = 0; i < h.count; i++) {
		cr_assert_eq(h.entry[i].fault_seq, h.total - h.count + 1 + i, "entry %u", i);
		if (i)
			cr_assert_geq(h.entry[i].time_ns, h.entry[i - 1].time_ns);
		cr_assert_neq(h.entry[i].time_ns, 0);
	}
	return h;
}

static void rtos_is_healthy(void)
{
	struct hvm_vm_slot s = mu_slot(&q, rtos);
	cr_assert_eq(s.state, HVM_VM_RUNNING);
	cr_assert_eq(s.fault_count, 0);
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, s.heartbeat, WAIT_S), 0,
		     "rtos-demo heartbeat stalled: %s", q.err);
}

/* MGMT-330, REQ-SAF-22: every fault of a VM is in its history across
 * restarts, each with its number, time, action and event. */
Test(hvcore_faulthist, history_keeps_each_fault_across_restarts)
{
	struct mu_vm v = { .name = "hbhist",
			   .cpu = 2,
			   .mem_pa = 0x50000000,
			   .policy = "restart",
			   .watchdog_ms = 200,
			   .restarts = 2 };
	int id = define_and_start(&v, "hb-stop");
	struct hvm_fault_history h = history(id, 0);
	cr_assert_eq(h.count, 0, "a new VM has no history");
	cr_assert_eq(h.total, 0);
	cr_assert_eq(mu_wait_state(&q, id, HVM_VM_CRASHED, HVM_R_WATCHDOG, WAIT_S), 0, "%s", q.err);
	h = history(id, 0);
	cr_assert_eq(h.count, 3, "two restarts, then the budget stop");
	cr_assert_eq(h.total, 3);
	cr_assert_eq(h.lost, 0);
	static const uint32_t actions[3] = { HVM_ACT_RESTART, HVM_ACT_RESTART, HVM_ACT_BUDGET_STOP };
	for (unsigned i = 0; i < 3; i++) {
		cr_assert_eq(h.entry[i].kind, HVM_F_WATCHDOG);
		cr_assert_eq(h.entry[i].action, actions[i], "entry %u action %u", i,
			     h.entry[i].action);
		struct hvm_event e;
		cr_assert_eq(hvq_read_event(&q, h.entry[i].event_seq, &e), 0);
		cr_assert_eq(e.type, HVM_EV_WATCHDOG);
		cr_assert_eq(e.vm_id, (uint32_t)id);
		if (i)
			cr_assert_gt(h.entry[i].event_seq, h.entry[i - 1].event_seq);
	}
	/* the newest entry is the fault READ_FAULT shows */
	cr_assert_eq(cmd(HVM_CMD_READ_FAULT, id, 0).status, HVM_OK);
	struct hvm_fault f;
	memcpy(&f, (const void *)(q.mgmt + HVM_OFF_DATA), sizeof(f));
	cr_assert_eq(f.time_ns, h.entry[2].time_ns);
	cr_assert_eq(f.seq, h.entry[2].event_seq);
	/* after = 2: only the third */
	h = history(id, 2);
	cr_assert_eq(h.count, 1);
	cr_assert_eq(h.entry[0].fault_seq, 3);
	cr_assert_eq(history(id, 3).count, 0);
	cr_assert_eq(history(id, 1000).count, 0, "nothing after a number not reached");
	/* a VM defined into the slot again starts a new history */
	cr_assert_eq(cmd(HVM_CMD_UNDEFINE, id, 0).status, HVM_OK);
	int id2 = mu_define_guest(&q, &v, "hb-stop", STAGE_A);
	cr_assert_eq(id2, id, "the slot is reused");
	h = history(id2, 0);
	cr_assert_eq(h.total, 0);
	cr_assert_eq(h.count, 0);
	rtos_is_healthy();
}

/* MGMT-330: the ring holds the last HVM_FAULT_HISTORY faults, also of faults
 * MGMT-052 does not report as events; older ones are counted as lost. */
Test(hvcore_faulthist, ring_holds_the_newest_faults_and_counts_the_lost)
{
	struct mu_vm v = { .name = "accloop", .cpu = 2, .mem_pa = 0x50000000, .policy = "ignore" };
	int id = define_and_start(&v, "access-loop");
	for (int i = 0; i < 600 && mu_slot(&q, id).fault_count < 3 * HVM_FAULT_HISTORY; i++)
		mu_wait_ticks(&q, 10);
	cr_assert_eq(cmd(HVM_CMD_DESTROY, id, 0).status, HVM_OK);
	cr_assert_eq(mu_wait_state(&q, id, HVM_VM_SHUTOFF, 0, WAIT_S), 0, "%s", q.err);
	mu_wait_ticks(&q, 10);
	uint32_t faults = mu_slot(&q, id).fault_count;
	cr_assert_geq(faults, 3 * HVM_FAULT_HISTORY);
	struct hvm_fault_history h = history(id, 0);
	cr_assert_eq(h.count, HVM_FAULT_HISTORY);
	cr_assert_eq(h.total, faults, "every fault is numbered: %lu vs %u", (unsigned long)h.total,
		     faults);
	cr_assert_eq(h.lost, faults - HVM_FAULT_HISTORY);
	for (unsigned i = 0; i < h.count; i++) {
		cr_assert_eq(h.entry[i].kind, HVM_F_STAGE2_ABORT);
		cr_assert_eq(h.entry[i].action, HVM_ACT_IGNORE);
		cr_assert_eq(h.entry[i].far, 0x7F000000ull);
		cr_assert_eq(h.entry[i].esr >> 26, 0x24);
	}
	h = history(id, faults - 2);
	cr_assert_eq(h.count, 2);
	cr_assert_eq(h.lost, 0);
	h = history(id, faults - 20);
	cr_assert_eq(h.count, HVM_FAULT_HISTORY);
	cr_assert_eq(h.lost, 20 - HVM_FAULT_HISTORY);
	rtos_is_healthy();
}

/* VMCFG-330, MGMT-333, GABI-330 (REQ-SAF-20's "stop the faulting task"): the
 * faulting vCPU stops, the VM's other vCPU runs on and is told which one
 * stopped; CPU_ON starts it again; the last vCPU running stops the VM. */
Test(hvcore_faulthist, stop_vcpu_stops_only_the_faulting_vcpu)
{
	uint64_t ev0 = q.regs->ev_head;
	struct mu_vm v = {
		.name = "vcpufault", .cpu = 2, .cpu2 = 3, .mem_pa = 0x50000000, .policy = "stop-vcpu"
	};
	int id = define_and_start(&v, "vcpu-fault");
	cr_assert_eq(hvq_wait_console(&q, id, "vcpu-fault: vcpus_stopped 2", WAIT_S), 0,
		     "the guest saw vCPU 1 stopped: %s", q.err);
	cr_assert_eq(hvq_wait_console(&q, id, "vcpu-fault: vcpu 0 still beats 1", WAIT_S), 0, "%s",
		     q.err);
	cr_assert_eq(hvq_wait_console(&q, id, "vcpu-fault: affinity_info 1 1", WAIT_S), 0, "%s",
		     q.err);
	cr_assert_eq(hvq_wait_console(&q, id, "vcpu-fault: vcpu 1 back, vcpus_stopped 0", WAIT_S),
		     0, "CPU_ON clears the bit: %s", q.err);
	cr_assert_eq(mu_wait_state(&q, id, HVM_VM_CRASHED, HVM_R_CRASHED, WAIT_S), 0, "%s", q.err);
	struct hvm_fault_history h = history(id, 0);
	cr_assert_eq(h.count, 2);
	cr_assert_eq(h.entry[0].kind, HVM_F_STAGE2_ABORT);
	cr_assert_eq(h.entry[0].vcpu, 1);
	cr_assert_eq(h.entry[0].action, HVM_ACT_VCPU_STOP);
	cr_assert_eq(h.entry[0].far, 0x7F000000ull);
	cr_assert_eq(h.entry[1].vcpu, 0);
	cr_assert_eq(h.entry[1].action, HVM_ACT_STOP, "the last vCPU running stops the VM");
	char buf[HVM_CONSOLE_SIZE + 1];
	hvq_read_console(&q, (uint32_t)id, buf, sizeof(buf));
	cr_assert_null(strstr(buf, "survived"), "console: %s", buf);
	cr_assert_null(strstr(buf, "never reported"), "console: %s", buf);
	/* the vCPU stop is reported as a FAULT event; the VM crashed only once */
	cr_assert_eq(mu_count_events(&q, HVM_EV_FAULT, (uint32_t)id, ev0), 2);
	cr_assert_eq(mu_count_events(&q, HVM_EV_CRASHED, (uint32_t)id, ev0), 1);
	rtos_is_healthy();
}

/* ---- stop hook (REQ-SAF-21, VMCFG-331, GABI-331) --------------------------- */

#define HOOK_PA (0x50000000ull + 0xF00000ull) /* hb-hook's HOOK_IPA in its memory */
#define HOOK_MARKER 0x4556415344524148ull

static const volatile uint64_t *hook_data(void)
{
	return (const volatile uint64_t *)(q.ram + (HOOK_PA - 0x40000000ull));
}

static int run_hook_guest(const char *guest, const char *props)
{
	struct mu_vm v = { .name = "hook",
			   .cpu = 2,
			   .mem_pa = 0x50000000,
			   .policy = "stop",
			   .watchdog_ms = 200,
			   .props = props };
	int id = define_and_start(&v, guest);
	cr_assert_eq(mu_wait_state(&q, id, HVM_VM_CRASHED, HVM_R_WATCHDOG, WAIT_S), 0, "%s", q.err);
	struct hvm_fault_history h = history(id, 0);
	cr_assert_eq(h.count, 1);
	cr_assert_eq(h.entry[0].kind, HVM_F_WATCHDOG);
	cr_assert_eq(h.entry[0].action, HVM_ACT_STOP);
	return id;
}

/* The watchdog's stop is announced: the guest saves its data in the grace
 * period, acknowledges, and the VM is stopped with the data in its memory. */
Test(hvcore_faulthist, watchdog_stop_lets_the_guest_save_its_data_first)
{
	int id = run_hook_guest("hb-hook", "  stop-grace-ms = <5000>;\n");
	const volatile uint64_t *d = hook_data();
	cr_assert_eq(d[0], HOOK_MARKER, "the guest saved its data before the stop: 0x%llx",
		     (unsigned long long)d[0]);
	cr_assert_neq(d[1], 0, "the request's sequence");
	cr_assert_eq(d[2], HVM_F_WATCHDOG, "the stop reason");
	cr_assert_neq(d[3], 0, "the stop deadline");
	cr_assert_eq(hvq_wait_console(&q, id, "hb-hook: safety data saved", WAIT_S), 0, "%s", q.err);
	rtos_is_healthy();
}

/* Without stop-grace-ms the watchdog stops the VM at once: no request. */
Test(hvcore_faulthist, no_grace_period_means_no_stop_hook)
{
	run_hook_guest("hb-hook", NULL);
	cr_assert_eq(hook_data()[0], 0, "no stop hook without stop-grace-ms");
	rtos_is_healthy();
}

/* A guest that never answers is stopped when the grace period ends. */
Test(hvcore_faulthist, a_guest_that_ignores_the_stop_hook_is_stopped_at_the_deadline)
{
	int id = run_hook_guest("hb-stop", "  stop-grace-ms = <300>;\n");
	cr_assert_eq(hook_data()[0], 0);
	cr_assert_eq(mu_slot(&q, id).fault_count, 1);
	rtos_is_healthy();
}

/* GABI-331, REQ-SAF-21: a SHUTDOWN whose timeout runs out would destroy a
 * VM that still runs: the guest is told first, through its cooperation page
 * and the stop-hook interrupt, which it takes and counts, saves its data and
 * acknowledges; then the VM is destroyed. */
Test(hvcore_faulthist, shutdown_timeout_runs_the_stop_hook_first)
{
	struct mu_vm v = {
		.name = "hook", .cpu = 2, .mem_pa = 0x50000000, .props = "  stop-grace-ms = <5000>;\n"
	};
	int id = define_and_start(&v, "hook-irq");
	cr_assert_eq(hvq_wait_console(&q, id, "hook-irq: ignoring shutdown requests", WAIT_S), 0,
		     "%s", q.err);
	cr_assert_eq(mu_wait_heartbeat(&q, id, 0, WAIT_S), 0, "%s", q.err);
	struct hvq_reply r = cmd(HVM_CMD_SHUTDOWN, id, 300);
	cr_assert_eq(r.status, HVM_OK, "SHUTDOWN: %s", r.msg);
	cr_assert_eq(mu_wait_state(&q, id, HVM_VM_SHUTOFF, HVM_R_DESTROYED, WAIT_S), 0, "%s", q.err);
	const volatile uint64_t *d = hook_data();
	cr_assert_eq(d[0], HOOK_MARKER, "the guest saved its data before the stop: 0x%llx",
		     (unsigned long long)d[0]);
	cr_assert_neq(d[1], 0, "the request's sequence");
	cr_assert_eq(d[2], HVM_F_NONE, "a shutdown is no fault: stop reason %llu",
		     (unsigned long long)d[2]);
	cr_assert_geq(d[3], 1, "the stop-hook interrupt arrived in the guest");
	cr_assert_eq(hvq_wait_console(&q, id, "hook: safety data saved on interrupt 21", WAIT_S), 0,
		     "%s", q.err);
	cr_assert_eq(mu_slot(&q, id).fault_count, 0);
	rtos_is_healthy();
}

/* GABI-331, REQ-SAF-21: policy stop for a fault of vCPU 1 while vCPU 0 is
 * healthy: vCPU 1 stops at once, vCPU 0 takes the stop-hook interrupt and
 * saves its data, then the VM stops; the fault is recorded once, with the
 * faulting vCPU's context. */
Test(hvcore_faulthist, fault_stop_with_a_healthy_vcpu_runs_the_stop_hook_first)
{
	uint64_t ev0 = q.regs->ev_head;
	struct mu_vm v = { .name = "hookfault",
			   .cpu = 2,
			   .cpu2 = 3,
			   .mem_pa = 0x50000000,
			   .policy = "stop",
			   .props = "  stop-grace-ms = <5000>;\n" };
	int id = define_and_start(&v, "hook-fault");
	cr_assert_eq(mu_wait_state(&q, id, HVM_VM_CRASHED, HVM_R_CRASHED, WAIT_S), 0, "%s", q.err);
	const volatile uint64_t *d = hook_data();
	cr_assert_eq(d[0], HOOK_MARKER, "the guest saved its data before the stop: 0x%llx",
		     (unsigned long long)d[0]);
	cr_assert_eq(d[2], HVM_F_STAGE2_ABORT, "the stop reason: %llu", (unsigned long long)d[2]);
	cr_assert_geq(d[3], 1, "the stop-hook interrupt arrived in the guest");
	struct hvm_fault_history h = history(id, 0);
	cr_assert_eq(h.count, 1);
	cr_assert_eq(h.entry[0].kind, HVM_F_STAGE2_ABORT);
	cr_assert_eq(h.entry[0].vcpu, 1);
	cr_assert_eq(h.entry[0].action, HVM_ACT_STOP);
	cr_assert_eq(h.entry[0].far, 0x7F000000ull);
	cr_assert_eq(mu_count_events(&q, HVM_EV_CRASHED, (uint32_t)id, ev0), 1);
	char buf[HVM_CONSOLE_SIZE + 1];
	hvq_read_console(&q, (uint32_t)id, buf, sizeof(buf));
	cr_assert_null(strstr(buf, "survived"), "console: %s", buf);
	cr_assert_not_null(strstr(buf, "hook: safety data saved on interrupt 21"), "console: %s",
			   buf);
	rtos_is_healthy();
}

/* MGMT-335: a VM defined into a reused slot never shows the console of the
 * VM that held the slot before. */
Test(hvcore_faulthist, a_vm_in_a_reused_slot_starts_with_an_empty_console)
{
	struct mu_vm v = { .name = "first", .cpu = 2, .mem_pa = 0x50000000 };
	int id = define_and_start(&v, "hb-stop");
	cr_assert_eq(hvq_wait_console(&q, id, "hb-stop: heartbeat stops now", WAIT_S), 0, "%s",
		     q.err);
	cr_assert_eq(cmd(HVM_CMD_DESTROY, id, 0).status, HVM_OK);
	mu_wait_ticks(&q, 10);
	cr_assert_eq(cmd(HVM_CMD_UNDEFINE, id, 0).status, HVM_OK);
	struct mu_vm w = { .name = "second", .cpu = 2, .mem_pa = 0x50000000, .policy = "ignore" };
	int id2 = mu_define_guest(&q, &w, "bad-access", STAGE_A);
	cr_assert_eq(id2, id, "the slot is reused");
	struct hvq_reply r = cmd(HVM_CMD_READ_CONSOLE, id2, 0);
	cr_assert_eq(r.status, HVM_OK, "%s", r.msg);
	cr_assert_eq(r.ret[0], 0, "a new VM's console is empty: %llu bytes",
		     (unsigned long long)r.ret[0]);
	volatile struct hvm_console *c =
		(volatile struct hvm_console *)(q.mgmt + HVM_OFF_CONSOLES + (size_t)id2 * sizeof(*c));
	cr_assert_eq(c->head, 0);
	for (unsigned i = 0; i < HVM_CONSOLE_SIZE; i++)
		cr_assert_eq(c->buf[i], 0, "byte %u of the shared ring is the old VM's", i);
	cr_assert_eq(cmd(HVM_CMD_START, id2, 0).status, HVM_OK);
	cr_assert_eq(hvq_wait_console(&q, id2, "bad-access: survived the read", WAIT_S), 0, "%s",
		     q.err);
	char buf[HVM_CONSOLE_SIZE + 1];
	hvq_read_console(&q, (uint32_t)id2, buf, sizeof(buf));
	cr_assert_null(strstr(buf, "hb-stop"), "console: %s", buf);
	rtos_is_healthy();
}
