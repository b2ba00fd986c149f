/*
 * hvcore_boot.c - hv-core boots under QEMU at EL2, publishes its management
 * region, runs the rtos-demo guest, answers commands, and contains a guest that
 * accesses memory outside its own (bad-access).
 *
 * Clause ids: MGMT-xxx in docs/mgmt-abi.md / hvmgmt.h, GABI-xxx in
 * docs/guest-abi.md / hvguest.h. Waits are bounded; nothing asserts a duration.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "hvqemu.h"
#include "hvguest.h"

#define WAIT_S 30

static struct hvq q;

static void boot(const char *g1, const char *g2)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = g1;
	o.guests[1] = g2;
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
	cr_log_info("hv-core READY after %llu ms", (unsigned long long)q.ready_ms);
}

static void boot_rtos(void)
{
	boot("rtos-demo", NULL);
}
static void boot_both(void)
{
	boot("rtos-demo", "bad-access");
}
static void teardown(void)
{
	hvq_stop(&q);
}

static struct hvm_vm_slot slot_of(int id)
{
	struct hvm_vm_slot s;
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)id, &s), 0, "%s", q.err);
	return s;
}

static int find(const char *name)
{
	int id = hvq_find_vm(&q, name);
	cr_assert_geq(id, 0, "no VM named %s in the status slots", name);
	return id;
}

struct slot_wait {
	int id;
	uint32_t state;
	uint32_t guest_state;
	uint64_t heartbeat_above;
	const char *console_has;
};

static int slot_matches(struct hvq *h, void *arg)
{
	struct slot_wait *w = arg;
	struct hvm_vm_slot s;
	if (hvq_read_slot(h, (uint32_t)w->id, &s) != 0)
		return 0;
	if (w->state && s.state != w->state)
		return 0;
	if (w->guest_state && s.guest_state != w->guest_state)
		return 0;
	if (s.heartbeat < w->heartbeat_above + (w->heartbeat_above ? 1 : 0))
		return 0;
	if (w->console_has) {
		char buf[HVM_CONSOLE_SIZE + 1];
		hvq_read_console(h, (uint32_t)w->id, buf, sizeof(buf));
		if (!strstr(buf, w->console_has))
			return 0;
	}
	return 1;
}

static int ticks_above(struct hvq *h, void *arg)
{
	return __atomic_load_n(&h->regs->hv_ticks, __ATOMIC_ACQUIRE) > *(uint64_t *)arg;
}

/* Number of events of `type` for `vm` in the ring. */
static int count_events(uint32_t type, uint32_t vm)
{
	uint64_t head = __atomic_load_n(&q.regs->ev_head, __ATOMIC_ACQUIRE);
	int n = 0;
	for (uint64_t s = head > HVM_EVENT_COUNT ? head - HVM_EVENT_COUNT : 0; s < head; s++) {
		struct hvm_event e;
		if (hvq_read_event(&q, s, &e) == 0 && e.type == type && e.vm_id == vm)
			n++;
	}
	return n;
}

TestSuite(hvcore_boot, .init = boot_rtos, .fini = teardown, .timeout = 120);

/* MGMT-001..004, MGMT-010, MGMT-021, MGMT-100: identification and layout. */
Test(hvcore_boot, register_page_identifies_the_region)
{
	volatile struct hvm_regs *r = q.regs;
	cr_assert_eq(r->magic, HVM_MAGIC);
	cr_assert_eq(r->abi_major, HVM_ABI_MAJOR);
	cr_assert_eq(r->abi_minor, HVM_ABI_MINOR);
	cr_assert_eq(r->region_size, HVM_REGION_SIZE);
	cr_assert_eq(r->hv_state, HVM_HV_READY);
	cr_assert_eq(r->max_vms, HVM_MAX_VMS);
	cr_assert_eq(r->off_events, HVM_OFF_EVENTS);
	cr_assert_eq(r->event_count, HVM_EVENT_COUNT);
	cr_assert_eq(r->off_slots, HVM_OFF_SLOTS);
	cr_assert_eq(r->slot_size, sizeof(struct hvm_vm_slot));
	cr_assert_eq(r->off_faults, HVM_OFF_FAULTS);
	cr_assert_eq(r->fault_size, sizeof(struct hvm_fault));
	cr_assert_eq(r->off_consoles, HVM_OFF_CONSOLES);
	cr_assert_eq(r->console_size, sizeof(struct hvm_console));
	cr_assert_eq(r->off_data, HVM_OFF_DATA);
	cr_assert_eq(r->data_size, HVM_DATA_SIZE);
	cr_assert_eq(r->staging_base, 0x7A000000ull, "MGMT-302: the top 96 MiB of RAM");
	cr_assert_eq(r->staging_size, 0x06000000ull);
	cr_assert_eq(r->pcpu_count, 4);
	cr_assert(r->caps & HVM_CAP(HVM_CMD_NOP));
	cr_assert(r->caps & HVM_CAP(HVM_CMD_GET_INFO));
	cr_assert(r->caps & HVM_CAP(HVM_CMD_LIST));
	uint64_t all = 0;
	for (uint32_t c = 0; c < HVM_CMD__COUNT; c++)
		if (hvm_cmd_name(c))
			all |= HVM_CAP(c);
	cr_assert_eq(r->caps, all, "caps: exactly the commands of MGMT-020");
	cr_assert_eq(strncmp((const char *)r->hv_version, "hv-core ", 8), 0);
	cr_assert_eq(r->vm_count, 1);
	uint64_t t = r->hv_ticks;
	cr_assert_eq(hvq_wait(&q, ticks_above, &t, WAIT_S), 0, "service tick stalled: %s", q.err);
}

/* MGMT-150, GABI-020, GABI-021, GABI-022, GABI-031: the rtos-demo slot reflects the
 * VM and the cooperation page it found by hypercall. */
Test(hvcore_boot, rtos_demo_runs_and_reports_through_its_cooperation_page)
{
	int id = find("rtos-demo");
	struct hvm_vm_slot s = slot_of(id);
	cr_assert_eq(s.defined, 1);
	cr_assert_eq(s.id, (uint32_t)id);
	cr_assert_eq(s.state, HVM_VM_RUNNING);
	cr_assert_eq(s.reason, HVM_R_BOOTED);
	cr_assert_eq(s.vcpus, 1);
	cr_assert_eq(s.pcpu_mask, 1u << 1, "rtos-demo is pinned to CPU 1");
	cr_assert_eq(s.mem_bytes, 16u << 20);

	struct slot_wait w = { .id = id, .guest_state = HVG_GS_RUNNING };
	cr_assert_eq(hvq_wait(&q, slot_matches, &w, WAIT_S), 0, "guest_state never RUNNING: %s",
		     q.err);
	s = slot_of(id);
	cr_assert_str_eq(s.image_version, "rtos-demo 1.0.0");
	cr_assert_eq(s.health_code, 0);
	cr_assert_gt(s.exits, 0, "the guest's UART and hypercalls trap to EL2");

	/* heartbeat advances between two reads (REQ-SAF-13) */
	uint64_t h1 = s.heartbeat;
	w = (struct slot_wait){ .id = id, .heartbeat_above = h1 ? h1 : 1 };
	cr_assert_eq(hvq_wait(&q, slot_matches, &w, WAIT_S), 0, "heartbeat stuck at %llu: %s",
		     (unsigned long long)h1, q.err);
}

/* MGMT-170, GABI-040: guest UART output lands in the VM's console ring. */
Test(hvcore_boot, console_ring_holds_the_guest_greeting)
{
	int id = find("rtos-demo");
	struct slot_wait w = { .id = id, .console_has = "rtos-demo: hello from EL1\n" };
	cr_assert_eq(hvq_wait(&q, slot_matches, &w, WAIT_S), 0, "greeting not in console ring: %s",
		     q.err);
	volatile struct hvm_console *c =
		(volatile struct hvm_console *)(q.mgmt + HVM_OFF_CONSOLES +
						(size_t)id * sizeof(struct hvm_console));
	cr_assert_eq(c->size, HVM_CONSOLE_SIZE);
	cr_assert_eq(c->vm_id, (uint32_t)id);
}

/* MGMT-050, MGMT-140: DEFINED then STARTED for the VM. */
Test(hvcore_boot, lifecycle_events_are_in_the_ring)
{
	int id = find("rtos-demo");
	cr_assert_eq(count_events(HVM_EV_DEFINED, (uint32_t)id), 1);
	cr_assert_eq(count_events(HVM_EV_STARTED, (uint32_t)id), 1);
	struct hvm_event e0, e1;
	cr_assert_eq(hvq_read_event(&q, 0, &e0), 0);
	cr_assert_eq(hvq_read_event(&q, 1, &e1), 0);
	cr_assert_eq(e0.type, HVM_EV_DEFINED);
	cr_assert_eq(e0.reason, HVM_R_DEFINED);
	cr_assert_eq(e1.type, HVM_EV_STARTED);
	cr_assert_eq(e1.reason, HVM_R_BOOTED);
	cr_assert_eq(q.regs->ev_overflow, 0);
}

/* MGMT-110/120: GET_INFO, LIST and NOP through the command protocol. */
Test(hvcore_boot, get_info_list_and_nop_answer_ok)
{
	int id = find("rtos-demo");
	struct hvq_reply rep;
	cr_assert_eq(hvq_command(&q, HVM_CMD_GET_INFO, 0, NULL, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_OK, "GET_INFO: %s", rep.msg);
	cr_assert_eq(rep.ret[0], 1, "vm_count");
	cr_assert_eq(rep.ret[1], q.regs->caps);
	cr_assert_gt(rep.ret[2], 0, "uptime_ns");

	cr_assert_eq(hvq_command(&q, HVM_CMD_LIST, 0, NULL, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_OK);
	cr_assert_eq(rep.ret[0], 1ull << id);

	cr_assert_eq(hvq_command(&q, HVM_CMD_NOP, 0, NULL, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_OK);
	cr_assert_eq(q.regs->done_seq, q.regs->req_seq);
}

/* REQ-SAF-09, MGMT-030: bad commands are refused with a reason and change nothing. */
Test(hvcore_boot, unknown_and_unsupported_commands_are_refused_and_change_nothing)
{
	int id = find("rtos-demo");
	struct hvm_vm_slot before = slot_of(id);
	uint64_t ev_before = q.regs->ev_head;
	uint32_t count_before = q.regs->vm_count;
	struct hvq_reply rep;

	uint64_t args[6] = { 1, 2, 3, 4, 5, 6 };
	cr_assert_eq(hvq_command(&q, 99, (uint32_t)id, args, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_E_UNKNOWN_CMD);
	cr_assert(strstr(rep.msg, "99"), "ret_msg names the command: '%s'", rep.msg);

	cr_assert_eq(hvq_command(&q, HVM_CMD__COUNT, (uint32_t)id, NULL, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_E_UNKNOWN_CMD);
	char code[16];
	snprintf(code, sizeof(code), "%u", (unsigned)HVM_CMD__COUNT);
	cr_assert(strstr(rep.msg, code), "ret_msg names the command: '%s'", rep.msg);

	cr_assert_eq(hvq_command(&q, 0xFFFFFFFFu, 0xFFFFFFFFu, NULL, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_E_UNKNOWN_CMD);

	/* a command that names an absent VM and garbage arguments is refused too */
	cr_assert_eq(hvq_command(&q, HVM_CMD_START, HVM_MAX_VMS + 5, args, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_E_BAD_VM);
	cr_assert(strstr(rep.msg, "START"), "ret_msg names the command: '%s'", rep.msg);

	struct hvm_vm_slot after = slot_of(id);
	cr_assert_eq(after.state, before.state);
	cr_assert_eq(after.reason, before.reason);
	cr_assert_eq(after.fault_count, 0);
	cr_assert_eq(q.regs->ev_head, ev_before, "no event from a refused command");
	cr_assert_eq(q.regs->vm_count, count_before);
	/* the interface still works afterwards */
	cr_assert_eq(hvq_command(&q, HVM_CMD_GET_INFO, 0, NULL, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_OK);
}

/* REQ-SAF-01, REQ-SAF-20, REQ-SAF-22, MGMT-060, MGMT-160: a guest that reads
 * outside its memory is stopped alone; its fault context is saved; hv-core and
 * the other VM carry on (GABI-060). */
TestSuite(hvcore_fault, .init = boot_both, .fini = teardown, .timeout = 120);

Test(hvcore_fault, guest_access_outside_its_memory_crashes_only_that_vm)
{
	int bad = find("bad-access");
	int good = find("rtos-demo");
	struct slot_wait w = { .id = bad, .state = HVM_VM_CRASHED };
	cr_assert_eq(hvq_wait(&q, slot_matches, &w, WAIT_S), 0, "bad-access never CRASHED: %s",
		     q.err);
	struct hvm_vm_slot s = slot_of(bad);
	cr_assert_eq(s.reason, HVM_R_CRASHED);
	cr_assert_eq(s.fault_count, 1);

	struct hvm_fault f;
	cr_assert_eq(hvq_read_fault(&q, (uint32_t)bad, &f), 0, "%s", q.err);
	cr_assert_eq(f.kind, HVM_F_STAGE2_ABORT);
	cr_assert_eq(f.esr >> 26, 0x24, "data abort from a lower EL, ESR 0x%llx",
		     (unsigned long long)f.esr);
	cr_assert_eq(f.far, 0x7F000000ull);
	cr_assert_eq(f.hpfar, 0x7F000000ull >> 8);
	cr_assert(f.elr >= 0x40000000ull && f.elr < 0x41000000ull, "ELR 0x%llx inside the guest",
		  (unsigned long long)f.elr);
	cr_assert_eq(f.vcpu, 0);
	struct hvm_event e;
	cr_assert_eq(hvq_read_event(&q, f.seq, &e), 0, "fault seq %llu names an event",
		     (unsigned long long)f.seq);
	cr_assert_eq(e.type, HVM_EV_FAULT);
	cr_assert_eq(e.vm_id, (uint32_t)bad);
	cr_assert_eq(e.detail, HVM_F_STAGE2_ABORT);
	cr_assert_eq(count_events(HVM_EV_CRASHED, (uint32_t)bad), 1);
	cr_assert_eq(count_events(HVM_EV_CRASHED, (uint32_t)good), 0);

	/* hv-core stays alive: ticks advance, commands answer */
	uint64_t t = q.regs->hv_ticks;
	cr_assert_eq(hvq_wait(&q, ticks_above, &t, WAIT_S), 0, "service tick stalled: %s", q.err);
	struct hvq_reply rep;
	cr_assert_eq(hvq_command(&q, HVM_CMD_GET_INFO, 0, NULL, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_OK);
	cr_assert_eq(rep.ret[0], 2, "a crashed VM stays defined");
	cr_assert_eq(hvq_command(&q, HVM_CMD_LIST, 0, NULL, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.ret[0], (1ull << bad) | (1ull << good));

	/* the other VM is untouched and keeps beating */
	s = slot_of(good);
	cr_assert_eq(s.state, HVM_VM_RUNNING);
	cr_assert_eq(s.fault_count, 0);
	w = (struct slot_wait){ .id = good, .heartbeat_above = s.heartbeat ? s.heartbeat : 1 };
	cr_assert_eq(hvq_wait(&q, slot_matches, &w, WAIT_S), 0, "rtos-demo heartbeat stopped: %s",
		     q.err);
}

/* VMCFG-103: without a boot configuration hv-core defines no VM (there is no
 * compiled-in table), says so on its console, and is READY with vm_count 0,
 * its management interface live. */
static void boot_none(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.extra[0] = "--no-config";
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
}

TestSuite(hvcore_no_config, .init = boot_none, .fini = teardown, .timeout = 120);

static int serial_has(struct hvq *h, void *arg)
{
	char buf[16384];
	FILE *f = fopen(h->serial, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strstr(buf, (const char *)arg) != NULL;
}

Test(hvcore_no_config, no_boot_configuration_defines_no_vm_and_says_so)
{
	cr_assert_eq(q.regs->hv_state, HVM_HV_READY);
	cr_assert_eq(q.regs->vm_count, 0);
	struct hvq_reply rep;
	cr_assert_eq(hvq_command(&q, HVM_CMD_LIST, 0, NULL, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_OK);
	cr_assert_eq(rep.ret[0], 0, "LIST mask 0x%llx", (unsigned long long)rep.ret[0]);
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		struct hvm_vm_slot s = slot_of((int)i);
		cr_assert_eq(s.defined, 0, "slot %u defined ('%s')", i, s.name);
	}
	cr_assert_eq(hvq_wait(&q, serial_has, "no boot configuration at 0x41f00000: no VM defined",
			      WAIT_S),
		     0, "the console never said that no VM is defined: %s", q.err);
	cr_assert_eq(hvq_wait(&q, serial_has, "ready: management region at 0x41000000, 0 VM(s)",
			      WAIT_S),
		     0, "%s", q.err);
}
