/*
 * check_clauses.c - conformance checks of the clauses that refine the command
 * set: checking order (MGMT-022), state and reason numbering (MGMT-040/041),
 * the command block (MGMT-110), the polled transport (MGMT-112), fitted
 * ret_msg (MGMT-121), the argument rules of SHUTDOWN, DEFINE, LOAD_IMAGE and
 * READ_CONSOLE (MGMT-046..049), events per change (MGMT-050/051), fault
 * semantics (MGMT-060..062, MGMT-161), heap pages (MGMT-101), the stats record
 * (MGMT-180), the self-test result (MGMT-190) and the QEMU virt placement and
 * times (MGMT-200/201).
 *
 * They run after the state machine and before the robustness pass: the fault
 * checks read the records of the VM that faulted on purpose while it is still
 * CRASHED, and every change made here is undone (SUSPEND is followed by RESUME).
 */
#include <stdio.h>
#include <string.h>

#include <libfdt.h>

#include "conf_internal.h"

/* The first defined VM in one of the states of mask, or -1. */
static int vm_in(struct conf *c, uint32_t mask)
{
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if (conf_read_slot(c, i, &s) && s.defined == 1 && s.state < 32 &&
		    (mask >> s.state & 1u))
			return (int)i;
	}
	return -1;
}

#define SM(s) (1u << (s))

/* MGMT-022: code, then VM, then state, then arguments; ret_msg names the
 * command for the VM and state refusals. */
static void check_order(struct conf *c, struct conf_result *res)
{
	struct conf_snap before;
	if (!conf_snap_take(c, &before)) {
		conf_fail(res, "slots never read consistently");
		return;
	}
	uint64_t bad_timeout[6] = { 600001 };
	struct conf_reply rep;
	conf_expect(c, res, "unknown code at a bad vm id", 0x77, c->max_vms, bad_timeout,
		    HVM_E_UNKNOWN_CMD, NULL);
	if (conf_expect(c, res, "SHUTDOWN with a bad timeout at a bad vm id", HVM_CMD_SHUTDOWN,
			c->max_vms, bad_timeout, HVM_E_BAD_VM, &rep) &&
	    !strstr(rep.msg, "SHUTDOWN"))
		conf_fail(res, "E_BAD_VM ret_msg \"%s\" does not name the command", rep.msg);
	int run = conf_first_vm_in_state(c, HVM_VM_RUNNING);
	if (run >= 0) {
		uint64_t bad_index[6] = { 0, 4096, 7 };
		if (conf_expect(c, res, "LOAD_IMAGE with a bad index on RUNNING",
				HVM_CMD_LOAD_IMAGE, (uint32_t)run, bad_index, HVM_E_STATE, &rep) &&
		    !strstr(rep.msg, "LOAD_IMAGE"))
			conf_fail(res, "E_STATE ret_msg \"%s\" does not name the command", rep.msg);
		conf_expect(c, res, "SHUTDOWN with a bad timeout on RUNNING", HVM_CMD_SHUTDOWN,
			    (uint32_t)run, bad_timeout, HVM_E_BAD_ARG, NULL);
	} else {
		conf_note(res, "no RUNNING VM: state-before-argument order not checked");
	}
	conf_expect_unchanged(c, res, "refusals", &before);
}

/* MGMT-040/041: every state and reason published is a defined number. */
static void check_numbering(struct conf *c, struct conf_result *res)
{
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if (!conf_read_slot(c, i, &s) || s.defined != 1)
			continue;
		if (s.state == HVM_VM_NOSTATE || s.state > HVM_VM_CRASHED)
			conf_fail(res, "slot %u: state %u is not 1..6", i, s.state);
		if (s.reason > HVM_R_FAILED)
			conf_fail(res, "slot %u: reason %u is not 0..12", i, s.reason);
	}
	uint64_t head = LD64(c->r->ev_head);
	uint64_t from = head > HVM_EVENT_COUNT ? head - HVM_EVENT_COUNT : 0;
	for (uint64_t n = from; n < head; n++) {
		struct hvm_event e;
		if (conf_read_event(c, n, &e) == 1 && e.reason > HVM_R_FAILED)
			conf_fail(res, "event %llu: reason %u is not 0..12", (unsigned long long)n,
				  e.reason);
	}
}

/* MGMT-110: the command block belongs to the client: the hypervisor reads
 * it and leaves it as written. */
static void check_command_block(struct conf *c, struct conf_result *res)
{
	uint64_t args[6] = { 0x1111, 0x2222222222ull, 3, 0x4444, 5, 0x6666666666666666ull };
	if (!conf_expect(c, res, "GET_INFO with arguments", HVM_CMD_GET_INFO, 7, args, HVM_OK, NULL))
		return;
	/* read back from the transport's own block (MGMT-212: on the trapped
	 * page loads of 0x100..0x1FF return that transport's block) */
	uint32_t cmd = (uint32_t)conf_reg_load(c, CONF_REG(cmd), 4);
	uint32_t vm = (uint32_t)conf_reg_load(c, CONF_REG(vm_id), 4);
	if (cmd != HVM_CMD_GET_INFO || vm != 7)
		conf_fail(res, "cmd/vm_id read back %u/%u, written %u/7", cmd, vm, HVM_CMD_GET_INFO);
	for (unsigned i = 0; i < 6; i++)
		if (conf_reg_load(c, CONF_REG(arg[0]) + 8 * i, 8) != args[i])
			conf_fail(res, "arg[%u] changed by the hypervisor", i);
	if (!conf_failed(res))
		conf_note(res, "on the %s", conf_transport_name(c));
}

/* MGMT-112: a command completes with nothing but the write of req_seq; on
 * the trapped page before that store retires: the first load of done_seq
 * after it already reads the new value (LOAD_IMAGE excepted, MGMT-711), on
 * every command the suite sent so far. */
static void check_polled(struct conf *c, struct conf_result *res)
{
	for (int i = 0; i < 3; i++)
		if (!conf_expect(c, res, "NOP", HVM_CMD_NOP, 0, NULL, HVM_OK, NULL))
			return;
	if (!c->opt->trapped) {
		conf_note(res, "polled page; the trapped page is checked by conformance_trapped");
		return;
	}
	if (c->trapped_late)
		conf_fail(res, "%u of %u commands not complete when the store retired, first: %s",
			  c->trapped_late, c->trapped_cmds, c->trapped_late_what);
	else
		conf_note(res, "trapped page: %u commands, each complete when the store retired",
			  c->trapped_cmds);
}

/* A vm-config blob (docs/vm-config.md) whose refusal text is long: a 31-byte
 * name and two memory regions that overlap in guest-physical space. */
static size_t long_refusal_blob(void *buf, size_t size)
{
	static const char name[] = "conformance-vm-with-a-long-name";
	const fdt32_t mem[12] = {
		cpu_to_fdt32(0),          cpu_to_fdt32(0x40000000), cpu_to_fdt32(0),
		cpu_to_fdt32(0x70000000), cpu_to_fdt32(0),          cpu_to_fdt32(0x01000000),
		cpu_to_fdt32(0),          cpu_to_fdt32(0x40800000), cpu_to_fdt32(0),
		cpu_to_fdt32(0x72000000), cpu_to_fdt32(0),          cpu_to_fdt32(0x01000000),
	};
	const fdt32_t load[2] = { cpu_to_fdt32(0), cpu_to_fdt32(0x40000000) };
	const fdt32_t isize[2] = { cpu_to_fdt32(0), cpu_to_fdt32(0x00100000) };
	uint8_t sha[32] = { 0 };
	int err = fdt_create(buf, (int)size);
	err |= fdt_finish_reservemap(buf);
	err |= fdt_begin_node(buf, "");
	err |= fdt_property_string(buf, "compatible", "avirt,vm-config-v1");
	err |= fdt_property_string(buf, "vm-name", name);
	err |= fdt_property_u32(buf, "vcpus", 1);
	err |= fdt_property_u32(buf, "cpus", 2);
	err |= fdt_property(buf, "memory", mem, sizeof(mem));
	err |= fdt_property_string(buf, "criticality", "QM");
	err |= fdt_begin_node(buf, "boot");
	err |= fdt_property(buf, "load-address", load, sizeof(load));
	err |= fdt_property(buf, "entry", load, sizeof(load));
	err |= fdt_property(buf, "image-size", isize, sizeof(isize));
	err |= fdt_property(buf, "image-sha256", sha, sizeof(sha));
	err |= fdt_end_node(buf);
	err |= fdt_end_node(buf);
	err |= fdt_finish(buf);
	return err ? 0 : fdt_totalsize(buf);
}

/* MGMT-121: a long refusal keeps its clause id in front and ends with "...";
 * every cut message seen during the run (all checks) does the same. */
static void check_msg_fit(struct conf *c, struct conf_result *res)
{
	if (!conf_has_cap(c, HVM_CMD_DEFINE)) {
		conf_fail(res, "DEFINE not in caps");
		return;
	}
	struct conf_snap before;
	if (!conf_snap_take(c, &before)) {
		conf_fail(res, "slots never read consistently");
		return;
	}
	static uint8_t blob[4096] __attribute__((aligned(8)));
	size_t len = long_refusal_blob(blob, sizeof(blob));
	if (!len) {
		conf_fail(res, "could not build the test blob");
		return;
	}
	conf_copy_out(conf_data_ptr(c), blob, len);
	uint64_t args[6] = { 0, len };
	struct conf_reply rep;
	char err[256];
	if (!conf_cmd(c, HVM_CMD_DEFINE, 0, args, &rep, err, sizeof(err))) {
		conf_fail(res, "DEFINE: %s", err);
		return;
	}
	if (rep.status == HVM_OK) {
		conf_fail(res, "DEFINE of overlapping memory regions answered OK");
		uint64_t none[6] = { 0 };
		conf_expect(c, res, "UNDEFINE of it", HVM_CMD_UNDEFINE, (uint32_t)rep.ret[0], none,
			    HVM_OK, NULL);
		return;
	}
	if (!rep.msg_terminated)
		conf_fail(res, "ret_msg not NUL-terminated within 64 bytes");
	size_t n = strlen(rep.msg);
	if (n >= 3 && strcmp(rep.msg + n - 3, "...") == 0) {
		if (!conf_msg_cut_ok(rep.msg))
			conf_fail(res, "cut ret_msg \"%s\" does not start with its clause id",
				  rep.msg);
	} else if (n == 63) {
		conf_fail(res,
			  "ret_msg fills all 63 bytes without '...' (cut without a mark?): \"%s\"",
			  rep.msg);
	} else {
		conf_note(res, "refusal fit without cutting: \"%s\"", rep.msg);
	}
	conf_expect_unchanged(c, res, "the refused DEFINE", &before);
	if (c->msgs_cut_bad)
		conf_fail(res,
			  "%u of %u cut messages seen in the run lack the clause id in front, first: "
			  "\"%s\"",
			  c->msgs_cut_bad, c->msgs_cut, c->msg_cut_bad);
	else if (!conf_failed(res))
		conf_note(res, "%u cut messages in the run, each led by its clause id", c->msgs_cut);
}

/* MGMT-046: SHUTDOWN above 600000 ms is refused and changes nothing. */
static void check_shutdown_args(struct conf *c, struct conf_result *res)
{
	int vm = conf_first_vm_in_state(c, HVM_VM_RUNNING);
	if (vm < 0) {
		conf_skip(res, "no RUNNING VM");
		return;
	}
	struct conf_snap before;
	if (!conf_snap_take(c, &before)) {
		conf_fail(res, "slots never read consistently");
		return;
	}
	uint64_t head = LD64(c->r->ev_head);
	uint64_t args[6] = { 600001 };
	conf_expect(c, res, "SHUTDOWN 600001 ms", HVM_CMD_SHUTDOWN, (uint32_t)vm, args,
		    HVM_E_BAD_ARG, NULL);
	args[0] = ~0ull;
	conf_expect(c, res, "SHUTDOWN 2^64-1 ms", HVM_CMD_SHUTDOWN, (uint32_t)vm, args,
		    HVM_E_BAD_ARG, NULL);
	conf_expect_unchanged(c, res, "refused SHUTDOWN", &before);
	/* other VMs may append events meanwhile (a guest ringing refused
	 * doorbells does, MGMT-051): only this VM's count */
	uint64_t end = LD64(c->r->ev_head);
	for (uint64_t n = head; n < end; n++) {
		struct hvm_event e;
		if (conf_read_event(c, n, &e) == 1 && e.vm_id == (uint32_t)vm) {
			conf_fail(res, "a refused SHUTDOWN appended event %llu (type %u) for vm %d",
				  (unsigned long long)n, e.type, vm);
			break;
		}
	}
}

/* MGMT-047: the blob's offset is a multiple of 8 and its length 1..65536. */
static void check_define_args(struct conf *c, struct conf_result *res)
{
	struct conf_snap before;
	if (!conf_snap_take(c, &before)) {
		conf_fail(res, "slots never read consistently");
		return;
	}
	uint64_t args[6] = { 4, 64 };
	conf_expect(c, res, "DEFINE at offset 4", HVM_CMD_DEFINE, 0, args, HVM_E_BAD_ARG, NULL);
	args[0] = 0;
	args[1] = 65537;
	conf_expect(c, res, "DEFINE of 65537 bytes", HVM_CMD_DEFINE, 0, args, HVM_E_BAD_ARG, NULL);
	conf_expect_unchanged(c, res, "refused DEFINE", &before);
}

/* MGMT-048: image indexes other than 0 and 1, and ranges outside the staging
 * area, are refused and change nothing. */
static void check_load_image_args(struct conf *c, struct conf_result *res)
{
	int vm = vm_in(c, SM(HVM_VM_SHUTOFF) | SM(HVM_VM_CRASHED));
	if (vm < 0) {
		conf_skip(res, "no SHUTOFF or CRASHED VM to load an image into");
		return;
	}
	struct conf_snap before;
	if (!conf_snap_take(c, &before)) {
		conf_fail(res, "slots never read consistently");
		return;
	}
	uint64_t size = LD64(c->r->staging_size);
	uint64_t args[6] = { 0, 4096, 2 };
	conf_expect(c, res, "LOAD_IMAGE index 2", HVM_CMD_LOAD_IMAGE, (uint32_t)vm, args,
		    HVM_E_BAD_ARG, NULL);
	args[0] = size;
	args[2] = 0;
	conf_expect(c, res, "LOAD_IMAGE past the staging area", HVM_CMD_LOAD_IMAGE, (uint32_t)vm,
		    args, HVM_E_BAD_ARG, NULL);
	args[0] = ~0ull - 8;
	args[1] = 4096;
	conf_expect(c, res, "LOAD_IMAGE with a wrapping range", HVM_CMD_LOAD_IMAGE, (uint32_t)vm,
		    args, HVM_E_BAD_ARG, NULL);
	conf_expect_unchanged(c, res, "refused LOAD_IMAGE", &before);
}

/* MGMT-701 (ABI 2.2): every defined VM publishes its image slot's size, and
 * a LOAD_IMAGE one page larger than that is refused and changes nothing. */
static void check_slot_sizes(struct conf *c, struct conf_result *res)
{
	if (c->r->abi_major == 2 && c->r->abi_minor < 2) {
		conf_fail(res, "ABI %u.%u has no slot sizes (MGMT-701 needs 2.2)", c->r->abi_major,
			  c->r->abi_minor);
		return;
	}
	unsigned n = 0;
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if (!conf_read_slot(c, i, &s) || s.defined != 1)
			continue;
		n++;
		if (s.image_slot_bytes == 0)
			conf_fail(res, "vm %u ('%s'): image_slot_bytes 0", i, s.name);
	}
	if (n == 0) {
		conf_skip(res, "no VM defined");
		return;
	}
	int vm = vm_in(c, SM(HVM_VM_SHUTOFF) | SM(HVM_VM_CRASHED));
	struct hvm_vm_slot s;
	if (vm < 0 || !conf_read_slot(c, (uint32_t)vm, &s) || conf_failed(res)) {
		conf_note(res, "%u VMs publish their slot size; no SHUTOFF or CRASHED VM to load", n);
		return;
	}
	uint64_t too_big = s.image_slot_bytes + 4096, size = LD64(c->r->staging_size);
	if (too_big > size) {
		conf_note(res, "%u VMs publish their slot size; vm %d's slot is the staging area's",
			  n, vm);
		return;
	}
	struct conf_snap before;
	if (!conf_snap_take(c, &before)) {
		conf_fail(res, "slots never read consistently");
		return;
	}
	uint64_t args[6] = { 0, too_big, 0 };
	conf_expect(c, res, "LOAD_IMAGE one page larger than the image slot", HVM_CMD_LOAD_IMAGE,
		    (uint32_t)vm, args, HVM_E_BAD_ARG, NULL);
	conf_expect_unchanged(c, res, "refused LOAD_IMAGE", &before);
	if (!conf_failed(res))
		conf_note(res, "%u VMs publish their slot size; vm %d: %llu bytes refused", n, vm,
			  (unsigned long long)too_big);
}

/* MGMT-049: a position beyond head is refused; next = from + skipped + count. */
static void check_read_console_args(struct conf *c, struct conf_result *res)
{
	int vm = vm_in(c, 0x7Eu);
	if (vm < 0) {
		conf_skip(res, "no VM defined");
		return;
	}
	uint64_t head = LD64(conf_console_ptr(c, (uint32_t)vm)->head);
	uint64_t args[6] = { head + 1000000 };
	conf_expect(c, res, "READ_CONSOLE beyond head", HVM_CMD_READ_CONSOLE, (uint32_t)vm, args,
		    HVM_E_BAD_ARG, NULL);
	struct conf_reply rep;
	args[0] = 0;
	if (!conf_expect(c, res, "READ_CONSOLE from 0", HVM_CMD_READ_CONSOLE, (uint32_t)vm, args,
			 HVM_OK, &rep))
		return;
	if (rep.ret[1] != rep.ret[2] + rep.ret[0])
		conf_fail(res, "next %llu != skipped %llu + count %llu",
			  (unsigned long long)rep.ret[1], (unsigned long long)rep.ret[2],
			  (unsigned long long)rep.ret[0]);
	if (rep.ret[0] > LD32(c->r->data_size))
		conf_fail(res, "count %llu above the data area", (unsigned long long)rep.ret[0]);
}

/* MGMT-050: SUSPEND and RESUME append exactly SUSPENDED then RESUMED for the
 * VM, each carrying reason USER. */
static void check_events_per_change(struct conf *c, struct conf_result *res)
{
	int vm = conf_first_vm_in_state(c, HVM_VM_RUNNING);
	if (vm < 0) {
		conf_skip(res, "no RUNNING VM");
		return;
	}
	uint64_t head = LD64(c->r->ev_head);
	if (!conf_expect(c, res, "SUSPEND", HVM_CMD_SUSPEND, (uint32_t)vm, NULL, HVM_OK, NULL))
		return;
	conf_expect(c, res, "RESUME", HVM_CMD_RESUME, (uint32_t)vm, NULL, HVM_OK, NULL);
	uint64_t end = LD64(c->r->ev_head);
	uint32_t want[2] = { HVM_EV_SUSPENDED, HVM_EV_RESUMED }, seen = 0;
	for (uint64_t n = head; n < end; n++) {
		struct hvm_event e;
		if (conf_read_event(c, n, &e) != 1) {
			conf_fail(res, "event %llu unreadable", (unsigned long long)n);
			return;
		}
		if (e.vm_id != (uint32_t)vm || e.type >= HVM_EV_FAULT)
			continue; /* other VMs, and faults, may happen meanwhile */
		if (seen >= 2 || e.type != want[seen]) {
			conf_fail(res, "event %llu: type %u for vm %d, expected %s",
				  (unsigned long long)n, e.type, vm,
				  seen >= 2 ? "nothing more"
				  : seen    ? "RESUMED"
					    : "SUSPENDED");
			return;
		}
		if (e.reason != HVM_R_USER)
			conf_fail(res, "event %llu: reason %u, expected USER",
				  (unsigned long long)n, e.reason);
		seen++;
	}
	if (seen != 2)
		conf_fail(res, "%u of the 2 lifecycle events appended", seen);
	if (!conf_heartbeat_advances(c, (uint32_t)vm, 10000))
		conf_fail(res, "vm %d heartbeat does not advance after RESUME", vm);
}

/* MGMT-051: DOORBELL_DENIED at most once per VM and channel per 100 ms, and
 * every refused doorbell counted all the same. Over one second of a guest
 * ringing refused doorbells, its slot's doorbells_denied must grow by more
 * than the number of its DOORBELL_DENIED events (it is rate-limited, not
 * silenced nor reported per ring), and the events in the whole ring must keep
 * their distance per VM and channel. */
static void check_doorbell_rate(struct conf *c, struct conf_result *res)
{
	uint64_t denied0[HVM_MAX_VMS];
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		denied0[i] = conf_read_slot(c, i, &s) && s.defined == 1 ? s.doorbells_denied : 0;
	}
	uint64_t head0 = LD64(c->r->ev_head);
	conf_sleep_ms(1000);
	uint64_t head = LD64(c->r->ev_head);
	uint64_t from = head > HVM_EVENT_COUNT ? head - HVM_EVENT_COUNT : 0;
	uint64_t last[HVM_MAX_VMS][16];
	unsigned in_window[HVM_MAX_VMS];
	memset(last, 0, sizeof(last));
	memset(in_window, 0, sizeof(in_window));
	unsigned n = 0;
	for (uint64_t s = from; s < head; s++) {
		struct hvm_event e;
		if (conf_read_event(c, s, &e) != 1 || e.type != HVM_EV_DOORBELL_DENIED)
			continue;
		n++;
		if (e.vm_id >= HVM_MAX_VMS || e.detail > 15) {
			conf_fail(res, "event %llu: vm %u channel %u out of range",
				  (unsigned long long)s, e.vm_id, e.detail);
			continue;
		}
		if (s >= head0)
			in_window[e.vm_id]++;
		uint64_t *l = &last[e.vm_id][e.detail];
		if (*l && e.time_ns - *l < 100000000ull)
			conf_fail(res, "two DOORBELL_DENIED for vm %u channel %u %llu ns apart",
				  e.vm_id, e.detail, (unsigned long long)(e.time_ns - *l));
		*l = e.time_ns;
	}
	unsigned ringers = 0;
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if (!conf_read_slot(c, i, &s) || s.defined != 1 || s.doorbells_denied <= denied0[i])
			continue;
		uint64_t refused = s.doorbells_denied - denied0[i];
		ringers++;
		if (in_window[i] == 0)
			conf_fail(res,
				  "vm %u: %llu doorbells refused during the check, no DOORBELL_DENIED event",
				  i, (unsigned long long)refused);
		else if (refused <= in_window[i])
			conf_fail(res,
				  "vm %u: %u DOORBELL_DENIED events for %llu refused doorbells "
				  "(not rate-limited)",
				  i, in_window[i], (unsigned long long)refused);
		else
			conf_note(res, "vm %u: %llu doorbells refused during the check, %u events",
				  i, (unsigned long long)refused, in_window[i]);
	}
	if (ringers == 0)
		conf_skip(res,
			  "no guest rang a refused doorbell (%u DOORBELL_DENIED in the ring); "
			  "boot one that does, e.g. hv-qemu.sh --guest db-ring",
			  n);
}

/* Fault records of VMs that faulted: calls fn on each. Returns how many. */
static unsigned each_fault(struct conf *c, struct conf_result *res,
			   void (*fn)(struct conf_result *, uint32_t, const struct hvm_vm_slot *,
				      const struct hvm_fault *))
{
	unsigned n = 0;
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		struct hvm_fault f;
		if (!conf_read_slot(c, i, &s) || s.defined != 1 || s.fault_count == 0)
			continue;
		if (!conf_read_fault(c, i, &f)) {
			conf_fail(res, "fault record %u: gen odd or changing", i);
			continue;
		}
		n++;
		fn(res, i, &s, &f);
	}
	if (n == 0)
		conf_skip(res,
			  "no VM has faulted (boot one that does, e.g. hv-qemu.sh --guest bad-access)");
	return n;
}

static void fault_kind(struct conf_result *res, uint32_t i, const struct hvm_vm_slot *s,
		       const struct hvm_fault *f)
{
	(void)s;
	if (f->kind < HVM_F_STAGE2_ABORT || f->kind > HVM_F_HYPERCALL)
		conf_fail(res, "vm %u: fault kind %u is not 1..5", i, f->kind);
}

static void fault_action(struct conf_result *res, uint32_t i, const struct hvm_vm_slot *s,
			 const struct hvm_fault *f)
{
	(void)s;
	if (f->action > HVM_ACT_INJECTED)
		conf_fail(res, "vm %u: action %u is not 0..6", i, f->action);
	if ((f->kind == HVM_F_GUEST_REPORT) != (f->action == HVM_ACT_NONE))
		conf_fail(res, "vm %u: kind %u with action %u (NONE is for guest reports only)", i,
			  f->kind, f->action);
}

/* MGMT-061: what the hypervisor found, against the state it left. */
static void fault_what(struct conf_result *res, uint32_t i, const struct hvm_vm_slot *s,
		       const struct hvm_fault *f)
{
	if (s->state == HVM_VM_CRASHED && s->reason == HVM_R_WATCHDOG && f->kind != HVM_F_WATCHDOG)
		conf_fail(res, "vm %u: CRASHED/WATCHDOG but the record's kind is %u", i, f->kind);
	if (s->state == HVM_VM_CRASHED && s->reason == HVM_R_CRASHED &&
	    (f->kind == HVM_F_WATCHDOG || f->kind == HVM_F_GUEST_REPORT))
		conf_fail(res, "vm %u: CRASHED/CRASHED but the record's kind is %u", i, f->kind);
	uint32_t ec = (uint32_t)(f->esr >> 26) & 0x3Fu;
	if (f->kind == HVM_F_STAGE2_ABORT && ec != 0x24 && ec != 0x20)
		conf_fail(res, "vm %u: STAGE2_ABORT with ESR class 0x%x (not a lower-EL abort)", i,
			  ec);
	if (f->kind == HVM_F_WATCHDOG && (f->esr || f->elr))
		conf_fail(res, "vm %u: WATCHDOG record with registers (MGMT-160: zero)", i);
}

/* MGMT-062: the action follows the VM's policy, and the state the action. */
static void fault_policy(struct conf_result *res, uint32_t i, const struct hvm_vm_slot *s,
			 const struct hvm_fault *f)
{
	if (f->action == HVM_ACT_NONE)
		return;
	if (f->action == HVM_ACT_INJECTED) { /* MGMT-700: abort-policy inject */
		if (f->kind != HVM_F_STAGE2_ABORT)
			conf_fail(res, "vm %u: INJECTED for fault kind %u", i, f->kind);
		return;
	}
	static const char *const pol[] = { "ignore", "stop", "restart" };
	bool ok = (s->fault_policy == 0 && f->action == HVM_ACT_IGNORE) ||
		  (s->fault_policy == 1 && f->action == HVM_ACT_STOP) ||
		  (s->fault_policy == 2 &&
		   (f->action == HVM_ACT_RESTART || f->action == HVM_ACT_BUDGET_STOP));
	if (!ok)
		conf_fail(res, "vm %u: action %u under policy %s", i, f->action,
			  s->fault_policy < 3 ? pol[s->fault_policy] : "?");
	if (s->state == HVM_VM_CRASHED && f->action != HVM_ACT_STOP &&
	    f->action != HVM_ACT_BUDGET_STOP)
		conf_fail(res, "vm %u: CRASHED after action %u", i, f->action);
	if (s->fault_policy == 2 && s->restart_count == 0 && f->action == HVM_ACT_RESTART)
		conf_fail(res, "vm %u: restarted by policy with restart_count 0", i);
}

static void check_fault_kinds(struct conf *c, struct conf_result *res)
{
	each_fault(c, res, fault_kind);
}
static void check_fault_actions(struct conf *c, struct conf_result *res)
{
	each_fault(c, res, fault_action);
}
static void check_fault_what(struct conf *c, struct conf_result *res)
{
	each_fault(c, res, fault_what);
}
static void check_fault_policy(struct conf *c, struct conf_result *res)
{
	each_fault(c, res, fault_policy);
}

/* MGMT-101: GET_INFO ret[3] free pages <= ret[4] heap pages, the size stable. */
static void check_heap_pages(struct conf *c, struct conf_result *res)
{
	struct conf_reply a, b;
	if (!conf_expect(c, res, "GET_INFO", HVM_CMD_GET_INFO, 0, NULL, HVM_OK, &a) ||
	    !conf_expect(c, res, "GET_INFO again", HVM_CMD_GET_INFO, 0, NULL, HVM_OK, &b))
		return;
	if (LD32(c->r->abi_major) == 1 && LD32(c->r->abi_minor) < 1) {
		if (a.ret[3] || a.ret[4])
			conf_fail(res, "ABI 1.0 answers 0 in ret[3]/ret[4], got %llu/%llu",
				  (unsigned long long)a.ret[3], (unsigned long long)a.ret[4]);
		return;
	}
	if (a.ret[4] == 0)
		conf_fail(res, "ret[4] (heap size in pages) is 0");
	if (a.ret[3] > a.ret[4])
		conf_fail(res, "ret[3] free %llu above ret[4] size %llu",
			  (unsigned long long)a.ret[3], (unsigned long long)a.ret[4]);
	if (b.ret[4] != a.ret[4])
		conf_fail(res, "heap size changed from %llu to %llu", (unsigned long long)a.ret[4],
			  (unsigned long long)b.ret[4]);
	if (b.ret[3] != a.ret[3])
		conf_fail(res,
			  "free pages changed between two GET_INFOs (%llu, %llu) with no DEFINE between",
			  (unsigned long long)a.ret[3], (unsigned long long)b.ret[3]);
	if (!conf_failed(res))
		conf_note(res, "%llu of %llu pages free", (unsigned long long)a.ret[3],
			  (unsigned long long)a.ret[4]);
}

/* MGMT-180: the record of every defined VM, against its slot. */
static void check_stats_record(struct conf *c, struct conf_result *res)
{
	unsigned n = 0;
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s0, s1;
		if (!conf_read_slot(c, i, &s0) || s0.defined != 1)
			continue;
		struct conf_reply rep;
		if (!conf_expect(c, res, "GET_STATS", HVM_CMD_GET_STATS, i, NULL, HVM_OK, &rep))
			return;
		struct hvm_stats st;
		conf_copy_in(&st, conf_data_ptr(c), sizeof(st));
		uint64_t up = LD64(c->r->uptime_ns);
		/* the upper bounds come from a slot refreshed after the record was
		 * taken: counters that run on (a guest ringing refused doorbells
		 * all the time) are in the record ahead of the slot read at once */
		conf_ticks_advance(c, 1000);
		conf_ticks_advance(c, 1000);
		if (!conf_read_slot(c, i, &s1))
			continue;
		n++;
		if (rep.ret[0] != sizeof(st))
			conf_fail(res, "vm %u: ret[0] %llu, expected 256", i,
				  (unsigned long long)rep.ret[0]);
		if (st.magic != HVM_STATS_MAGIC || st.version != 1 || st.size != 256)
			conf_fail(res, "vm %u: magic 0x%x version %u size %u", i, st.magic,
				  st.version, st.size);
		if (st.vm_id != i)
			conf_fail(res, "vm %u: record vm_id %u", i, st.vm_id);
		if (s0.state == s1.state && st.state != s0.state)
			conf_fail(res, "vm %u: record state %u, slot %u", i, st.state, s0.state);
		if (st.time_ns == 0 || st.time_ns > up + 100000000ull)
			conf_fail(res, "vm %u: time_ns %llu, uptime %llu", i,
				  (unsigned long long)st.time_ns, (unsigned long long)up);
		if (st.faults < s0.fault_count || st.faults > s1.fault_count)
			conf_fail(res, "vm %u: faults %llu, slot fault_count %u", i,
				  (unsigned long long)st.faults, s1.fault_count);
		if (st.restarts < s0.restart_count || st.restarts > s1.restart_count)
			conf_fail(res, "vm %u: restarts %llu, slot restart_count %u", i,
				  (unsigned long long)st.restarts, s1.restart_count);
		if (st.doorbells_denied < s0.doorbells_denied ||
		    st.doorbells_denied > s1.doorbells_denied)
			conf_fail(res, "vm %u: doorbells_denied %llu, slot %llu", i,
				  (unsigned long long)st.doorbells_denied,
				  (unsigned long long)s1.doorbells_denied);
		if (st.faults_ignored > st.faults || st.watchdog_expiries > st.faults)
			conf_fail(res,
				  "vm %u: faults_ignored %llu / watchdog_expiries %llu above faults %llu",
				  i, (unsigned long long)st.faults_ignored,
				  (unsigned long long)st.watchdog_expiries,
				  (unsigned long long)st.faults);
		for (size_t b = 0; b < sizeof(st._rsvd); b++)
			if (st._rsvd[b]) {
				conf_fail(res, "vm %u: reserved byte 0x%zx is 0x%x", i,
					  __builtin_offsetof(struct hvm_stats, _rsvd) + b,
					  st._rsvd[b]);
				break;
			}
	}
	if (n == 0)
		conf_skip(res, "no VM defined");
}

/* MGMT-190: SELFTEST_RESULT, selftest_failed, hv_state and the held-back
 * VMs tell one story. */
static void check_selftest(struct conf *c, struct conf_result *res)
{
	struct conf_reply rep;
	if (!conf_expect(c, res, "SELFTEST_RESULT", HVM_CMD_SELFTEST_RESULT, 0, NULL, HVM_OK, &rep))
		return;
	uint32_t mask = LD32(c->r->selftest_failed), st = LD32(c->r->hv_state);
	if (rep.ret[0] != mask)
		conf_fail(res, "ret[0] 0x%llx, selftest_failed 0x%x",
			  (unsigned long long)rep.ret[0], mask);
	if (rep.ret[1] != 10)
		conf_fail(res, "ret[1] %llu checks run, the table has 10",
			  (unsigned long long)rep.ret[1]);
	if (mask >> 10)
		conf_fail(res, "mask 0x%x has bits beyond check 9", mask);
	if ((mask != 0) != (st == HVM_HV_SELFTEST_FAILED))
		conf_fail(res, "hv_state %u with mask 0x%x", st, mask);
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if (conf_read_slot(c, i, &s) && s.defined == 1 && s.reason == HVM_R_SELFTEST && !mask)
			conf_fail(res, "vm %u held back (reason SELFTEST) with no check failed", i);
	}
	conf_note(res, "mask 0x%x", mask);
}

/* MGMT-200: the QEMU virt placement, when the region is where it puts it. */
static void check_placement_virt(struct conf *c, struct conf_result *res)
{
	if (c->opt->ram_base != 0x40000000ull || c->opt->mgmt_base != 0x41000000ull) {
		conf_skip(res, "not the QEMU virt placement (RAM 0x40000000, region 0x41000000)");
		return;
	}
	uint64_t base = LD64(c->r->staging_base), size = LD64(c->r->staging_size);
	if (base != 0x7A000000ull || size != 0x6000000ull)
		conf_fail(res, "staging area 0x%llx + 0x%llx, expected 0x7A000000 + 96 MiB",
			  (unsigned long long)base, (unsigned long long)size);
}

/* MGMT-201: the service tick, measured in the hypervisor's own time (uptime_ns
 * against hv_ticks), so a loaded host does not matter: 10 ms on average,
 * accepted between 5 and 100 ms (MGMT-011's bound). */
static void check_tick(struct conf *c, struct conf_result *res)
{
	if (c->opt->ram_base != 0x40000000ull || c->opt->mgmt_base != 0x41000000ull) {
		conf_skip(res,
			  "not the QEMU virt placement (section 11 is about hv-core on QEMU virt)");
		return;
	}
	uint64_t t0 = LD64(c->r->hv_ticks), u0 = LD64(c->r->uptime_ns);
	uint64_t deadline = conf_now_ms() + 5000;
	uint64_t t1 = t0, u1 = u0;
	while (conf_now_ms() < deadline && t1 - t0 < 50) {
		conf_sleep_ms(20);
		t1 = LD64(c->r->hv_ticks);
		u1 = LD64(c->r->uptime_ns);
	}
	if (t1 - t0 < 5) {
		conf_fail(res, "hv_ticks advanced by %llu in 5 s", (unsigned long long)(t1 - t0));
		return;
	}
	uint64_t period = (u1 - u0) / (t1 - t0);
	if (period < 5000000ull || period > 100000000ull)
		conf_fail(res, "average tick %llu ns over %llu ticks", (unsigned long long)period,
			  (unsigned long long)(t1 - t0));
	else
		conf_note(res, "average tick %.1f ms over %llu ticks", (double)period / 1e6,
			  (unsigned long long)(t1 - t0));
}

const struct conf_check conf_checks_clauses[] = {
	{ "MGMT-022", "checking order: code, VM, state, arguments", check_order },
	{ "MGMT-040", "published states are 1..6", check_numbering },
	{ "MGMT-041", "published reasons are 0..12", check_numbering },
	{ "MGMT-110", "the command block is left as the client wrote it", check_command_block },
	{ "MGMT-112", "commands complete on the req_seq write (trapped: at once)", check_polled },
	{ "MGMT-121", "long refusal: clause id first, cut with '...'", check_msg_fit },
	{ "MGMT-046", "SHUTDOWN above 600000 ms answers E_BAD_ARG", check_shutdown_args },
	{ "MGMT-047", "DEFINE: unaligned offset, length > 65536 refused", check_define_args },
	{ "MGMT-048", "LOAD_IMAGE: bad index and ranges refused", check_load_image_args },
	{ "MGMT-701", "slot sizes published; a larger LOAD_IMAGE refused", check_slot_sizes },
	{ "MGMT-049", "READ_CONSOLE: beyond head refused; next = skipped + count",
	  check_read_console_args },
	{ "MGMT-050", "SUSPEND/RESUME append exactly SUSPENDED, RESUMED", check_events_per_change },
	{ "MGMT-051", "DOORBELL_DENIED at most once per VM/channel per 100 ms", check_doorbell_rate },
	{ "MGMT-060", "fault kinds are 1..5", check_fault_kinds },
	{ "MGMT-061", "fault kind agrees with the state and the syndrome", check_fault_what },
	{ "MGMT-062", "fault action follows the VM's policy", check_fault_policy },
	{ "MGMT-161", "fault actions 0..4, NONE only for guest reports", check_fault_actions },
	{ "MGMT-101", "GET_INFO ret[3] free <= ret[4] heap pages, stable", check_heap_pages },
	{ "MGMT-180", "GET_STATS record: header, vm_id, state, counters", check_stats_record },
	{ "MGMT-190", "SELFTEST_RESULT agrees with hv_state/selftest_failed", check_selftest },
	{ "MGMT-200", "QEMU virt placement of the image store", check_placement_virt },
	{ "MGMT-201", "service tick of 10 ms (hypervisor time)", check_tick },
	{ 0 },
};
