/*
 * check_records.c - conformance checks of what the hypervisor publishes
 * without being asked: VM status slots (MGMT-150), the event ring (MGMT-130,
 * MGMT-140, MGMT-050), fault records (MGMT-160, MGMT-060) and console rings
 * (MGMT-170), plus the read-only commands that copy them (GET_STATS,
 * READ_FAULT, READ_CONSOLE). Nothing here changes a VM's state.
 */
#include <stdio.h>
#include <string.h>

#include "conf_internal.h"

static void check_slots(struct conf *c, struct conf_result *res)
{
	uint32_t pcpus = LD32(c->r->pcpu_count), defined = 0;
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if (!conf_read_slot(c, i, &s)) {
			conf_fail(res, "slot %u: gen odd or changing for 1 s", i);
			continue;
		}
		if (s.gen & 1u)
			conf_fail(res, "slot %u: consistent copy with odd gen %u", i, s.gen);
		if (s.defined > 1)
			conf_fail(res, "slot %u: defined = %u", i, s.defined);
		if (s.defined != 1)
			continue;
		defined++;
		if (s.id != i)
			conf_fail(res, "slot %u: id %u", i, s.id);
		if (!memchr(s.name, 0, sizeof(s.name)) || !s.name[0])
			conf_fail(res, "slot %u: name empty or not NUL-terminated", i);
		if (!memchr(s.image_version, 0, sizeof(s.image_version)))
			conf_fail(res, "slot %u: image_version not NUL-terminated", i);
		if (s.state > HVM_VM_CRASHED || s.state == HVM_VM_NOSTATE)
			conf_fail(res, "slot %u: state %u (MGMT-040)", i, s.state);
		if (s.reason > HVM_R_FAILED)
			conf_fail(res, "slot %u: reason %u (MGMT-041)", i, s.reason);
		if (s.vcpus == 0 || s.mem_bytes == 0)
			conf_fail(res, "slot %u: vcpus %u, mem_bytes %llu", i, s.vcpus,
				  (unsigned long long)s.mem_bytes);
		if (s.criticality > 4)
			conf_fail(res, "slot %u: criticality %u (0..4)", i, s.criticality);
		if (!s.pcpu_mask || (pcpus < 64 && (s.pcpu_mask >> pcpus)))
			conf_fail(res, "slot %u: pcpu_mask 0x%llx with %u pCPUs", i,
				  (unsigned long long)s.pcpu_mask, pcpus);
	}
	if (!conf_failed(res))
		conf_note(res, "%u defined", defined);
}

/* MGMT-150: "refreshes a slot on every service tick". */
static void check_slot_refresh(struct conf *c, struct conf_result *res)
{
	uint32_t gen0[HVM_MAX_VMS];
	uint64_t def = 0;
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if (conf_read_slot(c, i, &s) && s.defined == 1) {
			def |= 1ull << i;
			gen0[i] = s.gen;
		}
	}
	if (!def) {
		conf_skip(res, "no VM defined");
		return;
	}
	conf_ticks_advance(c, 1000);
	conf_ticks_advance(c, 1000);
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if ((def >> i & 1) && conf_read_slot(c, i, &s) && s.gen == gen0[i])
			conf_fail(res, "slot %u: gen stayed %u over two service ticks", i, gen0[i]);
	}
}

static void check_heartbeat(struct conf *c, struct conf_result *res)
{
	unsigned n = 0;
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if (!conf_read_slot(c, i, &s) || s.defined != 1 || s.state != HVM_VM_RUNNING)
			continue;
		n++;
		if (!conf_heartbeat_advances(c, i, 5000))
			conf_fail(res, "vm %u ('%s') RUNNING but its heartbeat stayed %llu for 5 s",
				  i, s.name, (unsigned long long)s.heartbeat);
	}
	if (!n)
		conf_skip(res, "no RUNNING VM");
	else
		conf_note(res, "%u running VM(s)", n);
}

static bool known_event(uint32_t t)
{
	return t <= HVM_EV_CRASHED || (t >= HVM_EV_FAULT && t <= HVM_EV_DOORBELL_DENIED) ||
	       t == HVM_EV_VEHICLE_STATE || t == HVM_EV_POLICY_DENIED;
}

static void check_ring(struct conf *c, struct conf_result *res)
{
	uint64_t head = LD64(c->r->ev_head), ovf = LD64(c->r->ev_overflow);
	uint64_t from = head > HVM_EVENT_COUNT ? head - HVM_EVENT_COUNT : 0, prev_t = 0;
	unsigned read = 0;
	for (uint64_t p = from; p < head; p++) {
		struct hvm_event e;
		int rc = conf_read_event(c, p, &e);
		if (rc == 0)
			continue; /* overwritten since we read head: that is allowed */
		if (rc < 0) {
			conf_fail(res, "event %llu: seq never stable", (unsigned long long)p);
			continue;
		}
		read++;
		if (!known_event(e.type))
			conf_fail(res, "event %llu: type %u (MGMT-050)", (unsigned long long)p,
				  e.type);
		if (e.vm_id >= c->max_vms && e.type != HVM_EV_SELFTEST)
			conf_fail(res, "event %llu: vm_id %u", (unsigned long long)p, e.vm_id);
		if (e.time_ns < prev_t)
			conf_fail(res, "event %llu: time_ns goes backwards", (unsigned long long)p);
		prev_t = e.time_ns;
	}
	/* entries past head are not yet written: their seq must not claim a number >= head */
	for (uint32_t k = 0; k < HVM_EVENT_COUNT; k++) {
		volatile struct hvm_event *e =
			(volatile struct hvm_event *)(c->base + HVM_OFF_EVENTS) + k;
		uint64_t s = LD64(e->seq);
		if (s > LD64(c->r->ev_head) || (s && s % HVM_EVENT_COUNT != k))
			conf_fail(res, "ring entry %u holds seq %llu (head %llu)", k,
				  (unsigned long long)s, (unsigned long long)LD64(c->r->ev_head));
	}
	if (ovf > head)
		conf_fail(res, "ev_overflow %llu > ev_head %llu", (unsigned long long)ovf,
			  (unsigned long long)head);
	if (!conf_failed(res))
		conf_note(res, "ev_head %llu, %u events read", (unsigned long long)head, read);
}

/* MGMT-130: ev_ack belongs to the client. */
static void check_ev_ack(struct conf *c, struct conf_result *res)
{
	uint64_t head = LD64(c->r->ev_head);
	/* on the trapped page a store to ev_ack goes to the register page
	 * (MGMT-212, MGMT-213), which the region shows */
	conf_reg_store(c, CONF_REG(ev_ack), 8, head);
	conf_ticks_advance(c, 1000);
	conf_ticks_advance(c, 1000);
	uint64_t ack = LD64(c->r->ev_ack);
	if (ack != head)
		conf_fail(res, "ev_ack written as %llu reads %llu: the hypervisor wrote it",
			  (unsigned long long)head, (unsigned long long)ack);
	if (LD64(c->r->ev_head) < head)
		conf_fail(res, "ev_head went backwards");
}

static void check_faults(struct conf *c, struct conf_result *res)
{
	unsigned recorded = 0;
	uint64_t head = LD64(c->r->ev_head);
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_fault f;
		if (!conf_read_fault(c, i, &f)) {
			conf_fail(res, "fault record %u: gen odd or changing for 1 s", i);
			continue;
		}
		if (f.kind > HVM_F_HYPERCALL)
			conf_fail(res, "fault record %u: kind %u (MGMT-060)", i, f.kind);
		if (f.kind == HVM_F_NONE)
			continue;
		recorded++;
		if (f.seq >= head)
			conf_fail(res,
				  "fault record %u: event seq %llu not yet in the ring (head %llu)",
				  i, (unsigned long long)f.seq, (unsigned long long)head);
		struct hvm_event e;
		if (conf_read_event(c, f.seq, &e) == 1 && (e.type != HVM_EV_FAULT || e.vm_id != i))
			conf_fail(res, "fault record %u: event %llu is type %u for vm %u, not FAULT",
				  i, (unsigned long long)f.seq, e.type, e.vm_id);
	}
	if (!conf_failed(res))
		conf_note(res, "%u record(s) hold a fault", recorded);
}

/* MGMT-162: every record, defined VM or not, and READ_FAULT's copy carry the header. */
static bool fault_header_ok(struct conf_result *res, const char *where, const struct hvm_fault *f)
{
	if (f->magic != HVM_FAULT_MAGIC)
		conf_fail(res, "%s: magic 0x%08x, expected 0x%08x", where, f->magic, HVM_FAULT_MAGIC);
	else if (f->version != HVM_FAULT_VERSION)
		conf_fail(res, "%s: version %u, expected %u", where, f->version, HVM_FAULT_VERSION);
	else if (f->size != sizeof(*f))
		conf_fail(res, "%s: size %u, expected %zu", where, f->size, sizeof(*f));
	else
		return true;
	return false;
}

static void check_fault_header(struct conf *c, struct conf_result *res)
{
	char where[48];
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_fault f;
		if (!conf_read_fault(c, i, &f)) {
			conf_fail(res, "fault record %u: gen odd or changing for 1 s", i);
			return;
		}
		snprintf(where, sizeof(where), "fault record %u", i);
		if (!fault_header_ok(res, where, &f))
			return;
	}
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if (!conf_read_slot(c, i, &s) || s.defined != 1)
			continue;
		struct conf_reply rep;
		if (!conf_expect(c, res, "READ_FAULT", HVM_CMD_READ_FAULT, i, NULL, HVM_OK, &rep))
			return;
		if (rep.ret[0] != sizeof(struct hvm_fault)) {
			conf_fail(res, "READ_FAULT vm %u: ret[0] %llu, expected %zu", i,
				  (unsigned long long)rep.ret[0], sizeof(struct hvm_fault));
			return;
		}
		struct hvm_fault copy;
		conf_copy_in(&copy, conf_data_ptr(c), sizeof(copy));
		snprintf(where, sizeof(where), "READ_FAULT copy of vm %u", i);
		fault_header_ok(res, where, &copy);
		return;
	}
}

static void check_read_fault(struct conf *c, struct conf_result *res)
{
	/* a VM with a recorded fault if there is one, else any defined VM */
	int vm = -1;
	for (int pass = 0; pass < 2 && vm < 0; pass++) {
		for (uint32_t i = 0; i < c->max_vms && vm < 0; i++) {
			struct hvm_vm_slot s;
			struct hvm_fault f;
			if (conf_read_slot(c, i, &s) && s.defined == 1 &&
			    (pass || (conf_read_fault(c, i, &f) && f.kind != HVM_F_NONE)))
				vm = (int)i;
		}
	}
	if (vm < 0) {
		conf_skip(res, "no VM defined");
		return;
	}
	struct conf_reply rep;
	if (!conf_expect(c, res, "READ_FAULT", HVM_CMD_READ_FAULT, (uint32_t)vm, NULL, HVM_OK, &rep))
		return;
	struct hvm_fault copy, rec;
	conf_copy_in(&copy, conf_data_ptr(c), sizeof(copy));
	if (!conf_read_fault(c, (uint32_t)vm, &rec)) {
		conf_fail(res, "fault record %d never consistent", vm);
		return;
	}
	/* the record may be replaced by a new fault in between; compare when it was not */
	if (rec.seq == copy.seq &&
	    (copy.kind != rec.kind || copy.esr != rec.esr || copy.elr != rec.elr))
		conf_fail(res, "data area copy differs from fault record %d (kind %u/%u)", vm,
			  copy.kind, rec.kind);
}

static void check_get_stats(struct conf *c, struct conf_result *res)
{
	int vm = conf_first_defined_vm(c);
	if (vm < 0) {
		conf_skip(res, "no VM defined");
		return;
	}
	struct conf_reply rep;
	if (!conf_expect(c, res, "GET_STATS", HVM_CMD_GET_STATS, (uint32_t)vm, NULL, HVM_OK, &rep))
		return;
	if (rep.ret[0] == 0 || rep.ret[0] > LD32(c->r->data_size))
		conf_fail(res, "stats record length %llu outside 1..data_size",
			  (unsigned long long)rep.ret[0]);
}

static void check_consoles(struct conf *c, struct conf_result *res)
{
	uint32_t csize = LD32(c->r->console_size);
	uint64_t head0[HVM_MAX_VMS];
	for (uint32_t i = 0; i < c->max_vms; i++) {
		volatile struct hvm_console *k = conf_console_ptr(c, i);
		uint32_t size = LD32(k->size), id = LD32(k->vm_id);
		if (size + 0x40u != csize)
			conf_fail(res, "console %u: size %u + 64-byte header != console_size %u", i,
				  size, csize);
		if (id != i)
			conf_fail(res, "console %u: vm_id %u", i, id);
		head0[i] = LD64(k->head);
	}
	conf_ticks_advance(c, 1000);
	for (uint32_t i = 0; i < c->max_vms; i++) {
		uint64_t h = LD64(conf_console_ptr(c, i)->head);
		if (h < head0[i])
			conf_fail(res, "console %u: head went back %llu -> %llu", i,
				  (unsigned long long)head0[i], (unsigned long long)h);
	}
}

static void check_read_console(struct conf *c, struct conf_result *res)
{
	int vm = -1;
	for (uint32_t i = 0; i < c->max_vms && vm < 0; i++) {
		struct hvm_vm_slot s;
		if (conf_read_slot(c, i, &s) && s.defined == 1 && LD64(conf_console_ptr(c, i)->head))
			vm = (int)i;
	}
	if (vm < 0) {
		conf_skip(res, "no defined VM has console output");
		return;
	}
	volatile struct hvm_console *k = conf_console_ptr(c, (uint32_t)vm);
	uint64_t head = LD64(k->head), from = head > 64 ? head - 64 : 0;
	uint64_t args[6] = { from };
	struct conf_reply rep;
	if (!conf_expect(c, res, "READ_CONSOLE", HVM_CMD_READ_CONSOLE, (uint32_t)vm, args, HVM_OK,
			 &rep))
		return;
	uint64_t n = rep.ret[0];
	if (n > LD32(c->r->data_size) || rep.ret[1] != from + n) {
		conf_fail(res, "from %llu: count %llu, next %llu (expected next = from + count)",
			  (unsigned long long)from, (unsigned long long)n,
			  (unsigned long long)rep.ret[1]);
		return;
	}
	if (n < head - from)
		conf_fail(res, "from %llu: %llu bytes, the ring held %llu", (unsigned long long)from,
			  (unsigned long long)n, (unsigned long long)(head - from));
	/* compare with the ring while those bytes are still in it */
	uint32_t size = LD32(k->size);
	if (size && LD64(k->head) - from <= size) {
		for (uint64_t j = 0; j < n && j < 64; j++) {
			uint8_t a = conf_data_ptr(c)[j], b = k->buf[(from + j) % size];
			if (a != b) {
				conf_fail(res, "byte %llu: data area 0x%02x, ring 0x%02x",
					  (unsigned long long)(from + j), a, b);
				break;
			}
		}
	}
}

/* MGMT-401: GET_VEHICLE_STATE answers the state, its source and the state as
 * the source wrote it, all in range. */
static bool vehicle_state(struct conf *c, struct conf_result *res, struct conf_reply *rep)
{
	if (!conf_expect(c, res, "GET_VEHICLE_STATE", HVM_CMD_GET_VEHICLE_STATE, 0, NULL, HVM_OK, rep))
		return false;
	if (rep->ret[0] >= HVM_VS__COUNT || rep->ret[4] >= HVM_VS__COUNT)
		conf_fail(res, "state %llu, as written %llu: not states (%u of them)",
			  (unsigned long long)rep->ret[0], (unsigned long long)rep->ret[4],
			  (unsigned)HVM_VS__COUNT);
	else if (rep->ret[1] > 1)
		conf_fail(res, "source %llu: neither management (0) nor guest (1)",
			  (unsigned long long)rep->ret[1]);
	else if (rep->ret[1] == 0 && rep->ret[3] != 0xFFFFFFFFu)
		conf_fail(res, "management source with source VM %llu (expected 0xFFFFFFFF)",
			  (unsigned long long)rep->ret[3]);
	else if (rep->ret[1] == 1 && rep->ret[3] >= c->max_vms)
		conf_fail(res, "guest source VM %llu is no VM id", (unsigned long long)rep->ret[3]);
	return !conf_failed(res);
}

static void check_vehicle_state(struct conf *c, struct conf_result *res)
{
	struct conf_reply rep;
	if (!conf_has_cap(c, HVM_CMD_GET_VEHICLE_STATE)) {
		conf_skip(res, "GET_VEHICLE_STATE not in caps (no safety policy)");
		return;
	}
	if (vehicle_state(c, res, &rep))
		conf_note(res, "state %s, source %s", hvm_vehicle_state_name((uint32_t)rep.ret[0]),
			  rep.ret[1] ? "guest" : "management");
}

/* MGMT-403: GET_POLICY writes struct hvm_policy at the start of the data area. */
static bool read_policy(struct conf *c, struct conf_result *res, struct hvm_policy *p)
{
	struct conf_reply rep;
	if (!conf_expect(c, res, "GET_POLICY", HVM_CMD_GET_POLICY, 0, NULL, HVM_OK, &rep))
		return false;
	if (rep.ret[0] != sizeof *p || sizeof *p > LD32(c->r->data_size)) {
		conf_fail(res, "ret[0] %llu, struct hvm_policy is %zu bytes",
			  (unsigned long long)rep.ret[0], sizeof *p);
		return false;
	}
	volatile uint8_t *d = conf_data_ptr(c);
	uint8_t *o = (uint8_t *)p;
	for (size_t i = 0; i < sizeof *p; i++)
		o[i] = d[i];
	if (p->magic != HVM_POLICY_MAGIC || p->version != HVM_POLICY_VERSION || p->size != sizeof *p) {
		conf_fail(res, "magic 0x%08x version %u size %u (expected \"HVPO\", %u, %zu)",
			  p->magic, p->version, p->size, HVM_POLICY_VERSION, sizeof *p);
		return false;
	}
	if (p->is_default > 1 || p->n_rules > HVM_POLICY_MAX_RULES) {
		conf_fail(res, "is_default %u, %u rules (at most %u)", p->is_default, p->n_rules,
			  HVM_POLICY_MAX_RULES);
		return false;
	}
	for (uint32_t v = 0; v < HVM_VS__COUNT; v++)
		for (uint32_t op = 0; op < HVM_OP__COUNT; op++)
			for (uint32_t k = 0; k < HVM_POLICY_CRITS; k++)
				if ((p->cell[v][op][k] & 0x7Fu) > p->n_rules) {
					conf_fail(res, "cell [%u][%u][%u] names rule %u of %u", v,
						  op, k, p->cell[v][op][k] & 0x7Fu, p->n_rules);
					return false;
				}
	for (uint32_t i = 0; i < p->n_rules; i++)
		if (!memchr(p->rule[i], 0, HVM_POLICY_RULE_LEN)) {
			conf_fail(res, "rule %u's text is not terminated", i + 1);
			return false;
		}
	return true;
}

static void check_policy(struct conf *c, struct conf_result *res)
{
	struct hvm_policy p;
	if (!conf_has_cap(c, HVM_CMD_GET_POLICY)) {
		conf_skip(res, "GET_POLICY not in caps (no safety policy)");
		return;
	}
	if (read_policy(c, res, &p))
		conf_note(res, "%s policy, %u rules", p.is_default ? "default" : "configured",
			  p.n_rules);
}

/* MGMT-404: CHECK_POLICY of a command of MGMT-400 answers OK exactly when the
 * cell it reports allows it, reports the vehicle state, changes nothing and
 * appends no event; a code outside MGMT-400 is E_BAD_ARG. */
static void check_check_policy(struct conf *c, struct conf_result *res)
{
	if (!conf_has_cap(c, HVM_CMD_CHECK_POLICY) || !conf_has_cap(c, HVM_CMD_GET_VEHICLE_STATE)) {
		conf_skip(res, "CHECK_POLICY not in caps (no safety policy)");
		return;
	}
	int vm = conf_first_defined_vm(c);
	if (vm < 0) {
		conf_skip(res, "no defined VM");
		return;
	}
	struct conf_reply vs, rep;
	if (!vehicle_state(c, res, &vs))
		return;
	struct conf_snap before;
	if (!conf_snap_take(c, &before)) {
		conf_fail(res, "no snapshot of the VMs");
		return;
	}
	static const uint32_t cmds[] = { HVM_CMD_START, HVM_CMD_SHUTDOWN, HVM_CMD_RESET };
	uint64_t ev0 = LD64(c->r->ev_head);
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0] && !conf_failed(res); i++) {
		uint64_t args[6] = { cmds[i] };
		char err[128];
		if (!conf_cmd(c, HVM_CMD_CHECK_POLICY, (uint32_t)vm, args, &rep, err, sizeof err)) {
			conf_fail(res, "CHECK_POLICY %s: %s", hvm_cmd_name(cmds[i]), err);
			return;
		}
		bool allowed = (rep.ret[1] & 0x80u) != 0;
		if (rep.status != (allowed ? HVM_OK : HVM_E_POLICY))
			conf_fail(res, "CHECK_POLICY %s: status %u with cell 0x%02llx",
				  hvm_cmd_name(cmds[i]), rep.status, (unsigned long long)rep.ret[1]);
		else if (rep.ret[0] != vs.ret[0])
			conf_fail(res, "CHECK_POLICY %s: state %llu, GET_VEHICLE_STATE said %llu",
				  hvm_cmd_name(cmds[i]), (unsigned long long)rep.ret[0],
				  (unsigned long long)vs.ret[0]);
	}
	uint64_t args[6] = { HVM_CMD_NOP };
	conf_expect(c, res, "CHECK_POLICY of NOP", HVM_CMD_CHECK_POLICY, (uint32_t)vm, args,
		    HVM_E_BAD_ARG, &rep);
	conf_expect_unchanged(c, res, "after CHECK_POLICY", &before);
	/* other VMs' events may arrive meanwhile; none may be a POLICY_DENIED */
	uint64_t ev1 = LD64(c->r->ev_head);
	for (uint64_t q = ev0; q < ev1 && !conf_failed(res); q++) {
		struct hvm_event e;
		if (conf_read_event(c, q, &e) == 1 && e.type == HVM_EV_POLICY_DENIED)
			conf_fail(res, "event %llu: POLICY_DENIED after a dry run",
				  (unsigned long long)q);
	}
	if (!conf_failed(res))
		conf_note(res, "VM %d, state %s", vm, hvm_vehicle_state_name((uint32_t)vs.ret[0]));
}

/* MGMT-613: OTA_STATUS of a defined VM writes struct hvm_ota_status; without
 * the non-volatile bank it answers E_NV (MGMT-600). */
static void check_ota_status(struct conf *c, struct conf_result *res)
{
	if (!conf_has_cap(c, HVM_CMD_OTA_STATUS)) {
		conf_skip(res, "OTA_STATUS not in caps");
		return;
	}
	int vm = conf_first_defined_vm(c);
	if (vm < 0) {
		conf_skip(res, "no defined VM");
		return;
	}
	struct conf_reply rep;
	char err[128];
	if (!conf_cmd(c, HVM_CMD_OTA_STATUS, (uint32_t)vm, NULL, &rep, err, sizeof err)) {
		conf_fail(res, "OTA_STATUS: %s", err);
		return;
	}
	if (rep.status == HVM_E_NV) {
		conf_note(res, "E_NV: no non-volatile bank");
		return;
	}
	if (rep.status != HVM_OK) {
		conf_fail(res, "OTA_STATUS: status %u (expected OK or E_NV)", rep.status);
		return;
	}
	struct hvm_ota_status st;
	volatile uint8_t *d = conf_data_ptr(c);
	uint8_t *o = (uint8_t *)&st;
	for (size_t i = 0; i < sizeof st; i++)
		o[i] = d[i];
	if (st.size != 240 && st.size != sizeof st)
		conf_fail(res, "size %u (240, or %zu with the initrd slots)", st.size, sizeof st);
	if (st.size < sizeof st)
		memset(st.initrd, 0, sizeof st.initrd);
	if (conf_failed(res))
		return;
	if (st.magic != HVM_OTA_STATUS_MAGIC || st.version != HVM_OTA_STATUS_VERSION ||
	    st.vm_id != (uint32_t)vm)
		conf_fail(res, "magic 0x%08x version %u vm_id %u (expected \"HVTS\", %u, %d)",
			  st.magic, st.version, st.vm_id, HVM_OTA_STATUS_VERSION, vm);
	else if (st.active > 1 || st.in_trial > 1 || st.last_result > HVM_OTA_FAIL_GROUP)
		conf_fail(res, "active %u, in_trial %u, last_result %u out of range", st.active,
			  st.in_trial, st.last_result);
	else if (st.slot[st.active].state != (st.in_trial ? HVM_SLOT_TRIAL : HVM_SLOT_GOOD))
		conf_fail(res, "active slot %c is in state %u (%s expected)", "AB"[st.active],
			  st.slot[st.active].state, st.in_trial ? "TRIAL" : "GOOD");
	for (int i = 0; i < 2 && !conf_failed(res); i++)
		if (st.slot[i].state > HVM_SLOT_READY || st.initrd[i].state > HVM_SLOT_READY ||
		    !memchr(st.slot[i].version, 0, sizeof st.slot[i].version))
			conf_fail(res, "slot %c: state %u, initrd state %u, version terminated: %s",
				  "AB"[i], st.slot[i].state, st.initrd[i].state,
				  memchr(st.slot[i].version, 0, sizeof st.slot[i].version) ? "yes"
											   : "no");
	if (!conf_failed(res))
		conf_note(res, "VM %d: slot %c active, %s, nv_present %u", vm, "AB"[st.active],
			  st.in_trial ? "in trial" : "no trial", st.nv_present);
}

/* MGMT-850: GET_VIRTIO of every defined VM writes struct hvm_virtio, ret[0]
 * its size, ret[1] its count; entries past the count are zero. Without caps
 * bit 32 a hypervisor reports no devices. */
static void check_get_virtio(struct conf *c, struct conf_result *res)
{
	if (!conf_has_cap(c, HVM_CMD_GET_VIRTIO)) {
		conf_note(res, "caps bit 32 clear: no VIRTIO devices reported");
		return;
	}
	unsigned vms = 0, devs = 0;
	for (uint32_t i = 0; i < c->max_vms && !conf_failed(res); i++) {
		struct hvm_vm_slot sl;
		if (!conf_read_slot(c, i, &sl) || sl.defined != 1)
			continue;
		struct conf_reply rep;
		if (!conf_expect(c, res, "GET_VIRTIO", HVM_CMD_GET_VIRTIO, i, NULL, HVM_OK, &rep))
			return;
		struct hvm_virtio v;
		volatile uint8_t *d = conf_data_ptr(c);
		uint8_t *o = (uint8_t *)&v;
		for (size_t k = 0; k < sizeof v; k++)
			o[k] = d[k];
		if (rep.ret[0] != sizeof v || v.magic != HVM_VIRTIO_MAGIC ||
		    v.version != HVM_VIRTIO_VERSION || v.size != sizeof v || v.vm_id != i) {
			conf_fail(res,
				  "VM %u: ret[0] %llu, magic 0x%08x version %u size %u vm_id %u "
				  "(expected %zu, \"HVIO\", %u, %zu, %u)",
				  i, (unsigned long long)rep.ret[0], v.magic, v.version, v.size,
				  v.vm_id, sizeof v, HVM_VIRTIO_VERSION, sizeof v, i);
			return;
		}
		if (v.count > HVM_VIRTIO_MAX || rep.ret[1] != v.count) {
			conf_fail(res, "VM %u: count %u, ret[1] %llu (at most %u, equal)", i,
				  v.count, (unsigned long long)rep.ret[1], (unsigned)HVM_VIRTIO_MAX);
			return;
		}
		for (uint32_t k = 0; k < HVM_VIRTIO_MAX; k++) {
			const struct hvm_virtio_dev *e = &v.dev[k];
			static const struct hvm_virtio_dev zero;
			if (k < v.count && (e->type < 1 || e->type > 4))
				conf_fail(res, "VM %u device %u: type %u (1..4)", i, k, e->type);
			else if (k >= v.count && memcmp(e, &zero, sizeof zero) != 0)
				conf_fail(res, "VM %u: entry %u past the count %u is not zero", i,
					  k, v.count);
			if (conf_failed(res))
				return;
		}
		vms++;
		devs += v.count;
	}
	if (!conf_failed(res))
		conf_note(res, "%u VMs, %u devices", vms, devs);
}

/* MGMT-500: AUDIT_SEQ_GET answers hv-core's boot number in ret[3]: at least
 * 1 when the non-volatile bank works (OTA_STATUS's nv_present) unless its
 * write failed (NV_FAILED), 0 without it; it and the stored audit sequence (MGMT-631) do not change while
 * nothing writes the record. Without the bank the answer may be E_NV. */
static void check_boot_number(struct conf *c, struct conf_result *res)
{
	if (!conf_has_cap(c, HVM_CMD_AUDIT_SEQ_GET)) {
		conf_skip(res, "AUDIT_SEQ_GET not in caps");
		return;
	}
	struct conf_reply a, b;
	char err[128];
	if (!conf_cmd(c, HVM_CMD_AUDIT_SEQ_GET, 0, NULL, &a, err, sizeof err)) {
		conf_fail(res, "AUDIT_SEQ_GET: %s", err);
		return;
	}
	if (a.status == HVM_E_NV) {
		conf_note(res, "E_NV: no non-volatile bank");
		return;
	}
	if (a.status != HVM_OK) {
		conf_fail(res, "AUDIT_SEQ_GET: status %u (expected OK or E_NV)", a.status);
		return;
	}
	if (!conf_expect(c, res, "second AUDIT_SEQ_GET", HVM_CMD_AUDIT_SEQ_GET, 0, NULL, HVM_OK, &b))
		return;
	if (a.ret[0] != b.ret[0] || a.ret[3] != b.ret[3]) {
		conf_fail(res, "sequence %llu -> %llu, boot %llu -> %llu between two reads",
			  (unsigned long long)a.ret[0], (unsigned long long)b.ret[0],
			  (unsigned long long)a.ret[3], (unsigned long long)b.ret[3]);
		return;
	}
	/* whether the bank works, from OTA_STATUS of a defined VM (MGMT-613) */
	int nv = -1;
	for (uint32_t i = 0; i < c->max_vms && nv < 0 && conf_has_cap(c, HVM_CMD_OTA_STATUS); i++) {
		struct hvm_vm_slot sl;
		struct conf_reply r;
		if (!conf_read_slot(c, i, &sl) || sl.defined != 1)
			continue;
		if (!conf_cmd(c, HVM_CMD_OTA_STATUS, i, NULL, &r, err, sizeof err))
			break;
		nv = r.status == HVM_OK
			     ? (int)LD32(((volatile struct hvm_ota_status *)conf_data_ptr(c))->nv_present)
			     : 0;
	}
	/* "or when the write failed": an NV_FAILED event still in the ring */
	bool nv_failed = false;
	uint64_t head = LD64(c->r->ev_head);
	for (uint64_t q = head > 256 ? head - 256 : 1; q < head && !nv_failed; q++) {
		struct hvm_event e;
		nv_failed = conf_read_event(c, q, &e) == 1 && e.type == HVM_EV_NV_FAILED;
	}
	if (nv == 1 && a.ret[3] == 0 && !nv_failed)
		conf_fail(res, "boot number 0 with a working bank (nv_present 1) and no NV_FAILED");
	else if (nv == 0 && a.ret[3] != 0)
		conf_fail(res, "boot number %llu without a working bank",
			  (unsigned long long)a.ret[3]);
	else
		conf_note(res, "boot %llu, audit sequence %llu%s", (unsigned long long)a.ret[3],
			  (unsigned long long)a.ret[0], nv < 0 ? " (bank state unknown)" : "");
}

const struct conf_check conf_checks_records[] = {
	{ "MGMT-150", "slots: gen even, id == index, names terminated, fields in range", check_slots },
	{ "MGMT-150", "defined slots are refreshed every service tick", check_slot_refresh },
	{ "MGMT-150", "RUNNING VMs' heartbeat advances", check_heartbeat },
	{ "MGMT-140", "event ring: seq == number, known types, time ordered", check_ring },
	{ "MGMT-130", "ev_ack is left to the client", check_ev_ack },
	{ "MGMT-160", "fault records: gen protocol, kinds, event reference", check_faults },
	{ "MGMT-160", "READ_FAULT copies the record to the data area", check_read_fault },
	{ "MGMT-162", "fault records and READ_FAULT's copy: magic, version, size",
	  check_fault_header },
	{ "MGMT-020", "GET_STATS answers a record within the data area", check_get_stats },
	{ "MGMT-170", "consoles: size, vm_id, head monotonic", check_consoles },
	{ "MGMT-170", "READ_CONSOLE returns the ring's bytes", check_read_console },
	{ "MGMT-401", "GET_VEHICLE_STATE: state, source and source VM in range", check_vehicle_state },
	{ "MGMT-403", "GET_POLICY: struct hvm_policy, cells name existing rules", check_policy },
	{ "MGMT-404", "CHECK_POLICY: status follows the cell, nothing changes, NOP refused",
	  check_check_policy },
	{ "MGMT-613", "OTA_STATUS: struct hvm_ota_status, or E_NV without the bank",
	  check_ota_status },
	{ "MGMT-500", "AUDIT_SEQ_GET: boot number >= 1 with a working bank, stable",
	  check_boot_number },
	{ "MGMT-850", "GET_VIRTIO: struct hvm_virtio, count == ret[1], rest zero", check_get_virtio },
	{ 0 },
};
