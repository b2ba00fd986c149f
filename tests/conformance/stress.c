/*
 * stress.c - the robustness pass of the conformance suite (--stress N,
 * MGMT-113, MGMT-030, REQ-SAF-09): a long random sequence of commands with
 * random codes, VM ids, arguments and data-area bytes, mixed with protocol
 * abuse (wrong req_seq values, req_seq rewritten while outstanding, a client
 * scribbling on done_seq). Every command must complete within the bound, every
 * reply must be a defined status with a terminated ret_msg, and afterwards the
 * hypervisor must still answer and every witness VM must still run.
 *
 * Witnesses: the VMs RUNNING when the pass starts. State-changing commands
 * (UNDEFINE, START, SHUTDOWN, DESTROY, REBOOT, RESET, SUSPEND, RESUME,
 * LOAD_IMAGE) are never sent to a witness, since they may legitimately stop
 * it; they go to the other ids (undefined or out of range ones included) and
 * every other command goes to all ids. With a single VM defined, the random
 * lifecycle commands thus only meet undefined ids.
 * The sequence is reproducible from the printed seed.
 */
#include <stdio.h>
#include <string.h>

#include "conf_internal.h"

static struct {
	bool ran;
	uint64_t witnesses;
	uint64_t seed;
} pass;

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: small, and the same sequence on every host */
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static bool changes_state(uint32_t cmd)
{
	return (cmd >= HVM_CMD_UNDEFINE && cmd <= HVM_CMD_RESUME) || cmd == HVM_CMD_LOAD_IMAGE;
}

static uint32_t random_cmd(uint64_t *s)
{
	uint64_t r = rng_next(s) % 100;
	if (r < 75) {
		uint32_t cmd = (uint32_t)(rng_next(s) % HVM_CMD__COUNT);
		/* the vehicle state decides what the checks after the stress meet */
		return cmd == HVM_CMD_SET_VEHICLE_STATE ? HVM_CMD_GET_VEHICLE_STATE : cmd;
	}
	if (r < 90)
		return HVM_CMD__COUNT + (uint32_t)(rng_next(s) % 48);
	return (uint32_t)rng_next(s);
}

static uint32_t random_vm(struct conf *c, uint64_t *s)
{
	uint64_t r = rng_next(s) % 100;
	if (r < 60)
		return (uint32_t)(rng_next(s) % c->max_vms);
	if (r < 85)
		return c->max_vms + (uint32_t)(rng_next(s) % 4);
	return (uint32_t)rng_next(s);
}

/* A target for a state-changing command that is not a witness. */
static uint32_t non_witness(struct conf *c, uint64_t *s, uint32_t vm)
{
	if (vm >= c->max_vms || !(pass.witnesses >> vm & 1))
		return vm;
	for (unsigned tries = 0; tries < 32; tries++) {
		uint32_t v = (uint32_t)(rng_next(s) % (c->max_vms + 4));
		if (v >= c->max_vms || !(pass.witnesses >> v & 1))
			return v;
	}
	return c->max_vms;
}

static void random_args(uint64_t *s, uint64_t args[6])
{
	for (unsigned i = 0; i < 6; i++) {
		uint64_t r = rng_next(s);
		args[i] = (r & 3) == 0 ? r : (r & 3) == 1 ? (r >> 8) % 0x100000u : (r >> 8) % 64;
	}
}

/* Random bytes in the data area, now and then behind a device-tree magic. */
static void scribble_data(struct conf *c, uint64_t *s)
{
	uint8_t buf[512];
	for (size_t i = 0; i < sizeof(buf); i += 8) {
		uint64_t r = rng_next(s);
		memcpy(buf + i, &r, 8);
	}
	if (rng_next(s) & 1) {
		static const uint8_t magic[4] = { 0xd0, 0x0d, 0xfe, 0xed };
		memcpy(buf, magic, 4);
	}
	uint64_t off = rng_next(s) & 1 ? 0 : (rng_next(s) % (HVM_DATA_SIZE - sizeof(buf))) & ~7ull;
	conf_copy_out(conf_data_ptr(c) + off, buf, sizeof(buf));
}

static bool check_reply(struct conf *c, struct conf_result *res, unsigned i, uint32_t cmd,
			uint32_t vm, const struct conf_reply *rep)
{
	const char *bad = NULL;
	char why[96];
	if (!hvm_status_name(rep->status)) /* MGMT-030: a status of the table */
		bad = "status out of range";
	else if (!rep->msg_terminated)
		bad = "ret_msg not terminated";
	else if (rep->status == HVM_OK && rep->msg[0])
		bad = "ret_msg not empty on OK";
	else if (rep->status != HVM_OK && !rep->msg[0])
		bad = "refusal without ret_msg";
	else if (cmd >= HVM_CMD__COUNT && rep->status != HVM_E_UNKNOWN_CMD)
		bad = "unknown code not refused with E_UNKNOWN_CMD";
	else if (cmd < HVM_CMD__COUNT && !conf_has_cap(c, cmd) && rep->status != HVM_E_UNKNOWN_CMD)
		bad = "command outside caps not refused with E_UNKNOWN_CMD";
	else if (conf_cmd_has_vm(cmd) && conf_has_cap(c, cmd) && vm >= c->max_vms &&
		 rep->status != HVM_E_BAD_VM)
		bad = "out-of-range vm_id not refused with E_BAD_VM";
	if (!bad)
		return true;
	snprintf(why, sizeof(why), "%s", bad);
	conf_fail(res, "op %u: %s(0x%x) vm %u -> %s: %s", i, conf_cmd_name(cmd), cmd, vm,
		  conf_status_name(rep->status), why);
	return false;
}

static void check_stress(struct conf *c, struct conf_result *res)
{
	unsigned n = c->opt->stress;
	if (!n) {
		conf_skip(res, "robustness pass not requested (--stress N)");
		return;
	}
	pass.ran = true;
	pass.seed = c->opt->seed;
	pass.witnesses = 0;
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot sl;
		if (conf_read_slot(c, i, &sl) && sl.defined == 1 && sl.state == HVM_VM_RUNNING)
			pass.witnesses |= 1ull << i;
	}
	uint64_t s = c->opt->seed ? c->opt->seed : 1;
	unsigned bad_replies = 0, abuse = 0;
	for (unsigned i = 0; i < n; i++) {
		uint32_t cmd = random_cmd(&s), vm = random_vm(c, &s);
		uint64_t args[6];
		random_args(&s, args);
		if (changes_state(cmd))
			vm = non_witness(c, &s, vm);
		if (cmd == HVM_CMD_DEFINE || (rng_next(&s) % 8) == 0)
			scribble_data(c, &s);
		uint64_t op = rng_next(&s) % 16;
		if (op < 12) {
			struct conf_reply rep;
			char err[200];
			if (!conf_cmd(c, cmd, vm, args, &rep, err, sizeof(err))) {
				conf_fail(res, "op %u (seed %llu): %s", i,
					  (unsigned long long)pass.seed, err);
				return;
			}
			if (!check_reply(c, res, i, cmd, vm, &rep) && ++bad_replies >= 5)
				return;
			/* a DEFINE that random bytes got through must not hold a slot */
			if (cmd == HVM_CMD_DEFINE && rep.status == HVM_OK && rep.ret[0] < c->max_vms)
				conf_cmd(c, HVM_CMD_UNDEFINE, (uint32_t)rep.ret[0], NULL, &rep, err,
					 sizeof(err));
			continue;
		}
		/* protocol abuse (MGMT-113): the command itself gets no guarantee;
		 * on the trapped page each store of req_seq completes a command */
		if (!conf_settle(c, c->opt->timeout_ms)) {
			conf_fail(res, "op %u: interface busy (req_seq %u, done_seq %u)", i,
				  (uint32_t)conf_reg_load(c, CONF_REG(req_seq), 4),
				  (uint32_t)conf_reg_load(c, CONF_REG(done_seq), 4));
			return;
		}
		abuse++;
		conf_reg_store(c, CONF_REG(cmd), 4, cmd);
		conf_reg_store(c, CONF_REG(vm_id), 4, vm);
		for (unsigned k = 0; k < 6; k++)
			conf_reg_store(c, CONF_REG(arg[0]) + 8 * k, 8, args[k]);
		uint32_t d = (uint32_t)conf_reg_load(c, CONF_REG(done_seq), 4);
		const uint32_t rq = CONF_REG(req_seq);
		if (op == 12) { /* a wrong sequence number */
			conf_reg_store(c, rq, 4, d + 2u + (uint32_t)(rng_next(&s) % 0xFFFFFFF0u));
		} else if (op == 13) { /* req_seq rewritten while outstanding */
			conf_reg_store(c, rq, 4, d + 1u);
			conf_reg_store(c, rq, 4, d + 1u + (uint32_t)(rng_next(&s) % 5));
		} else if (op == 14) { /* the client scribbles on done_seq: the old command repeats */
			conf_reg_store(c, CONF_REG(cmd), 4, HVM_CMD_NOP);
			conf_reg_store(c, CONF_REG(done_seq), 4, (uint32_t)rng_next(&s));
		} else { /* the block changes under an outstanding command */
			conf_reg_store(c, rq, 4, d + 1u);
			conf_reg_store(c, CONF_REG(cmd), 4,
				       random_cmd(&s) % HVM_CMD__COUNT == HVM_CMD_DEFINE
					       ? HVM_CMD_DEFINE
					       : HVM_CMD_NOP);
			conf_reg_store(c, CONF_REG(arg[1]), 8, rng_next(&s));
		}
		if (!conf_settle(c, c->opt->timeout_ms)) {
			conf_fail(res,
				  "op %u (seed %llu): done_seq %u never caught up with req_seq %u after "
				  "protocol abuse",
				  i, (unsigned long long)pass.seed,
				  (uint32_t)conf_reg_load(c, CONF_REG(done_seq), 4),
				  (uint32_t)conf_reg_load(c, CONF_REG(req_seq), 4));
			c->wedged = true;
			return;
		}
		if (i % 64 == 63 && !conf_ticks_advance(c, 2000)) {
			conf_fail(res, "op %u: hv_ticks stopped", i);
			return;
		}
	}
	if (!conf_failed(res))
		conf_note(res, "%u ops (%u protocol abuses), seed %llu", n, abuse,
			  (unsigned long long)pass.seed);
}

static void check_after_stress(struct conf *c, struct conf_result *res)
{
	if (!pass.ran) {
		conf_skip(res, "robustness pass not run");
		return;
	}
	struct conf_reply rep;
	conf_expect(c, res, "GET_INFO after the pass", HVM_CMD_GET_INFO, 0, NULL, HVM_OK, &rep);
	if (!conf_ticks_advance(c, 2000))
		conf_fail(res, "hv_ticks stand still after the pass");
	unsigned n = 0;
	for (uint32_t i = 0; i < c->max_vms; i++) {
		if (!(pass.witnesses >> i & 1))
			continue;
		n++;
		struct hvm_vm_slot sl;
		if (!conf_read_slot(c, i, &sl) || sl.defined != 1 || sl.state != HVM_VM_RUNNING)
			conf_fail(res, "witness vm %u is %s/%u, was RUNNING", i,
				  conf_state_name(sl.state), sl.reason);
		else if (!conf_heartbeat_advances(c, i, 5000))
			conf_fail(res, "witness vm %u ('%s') heartbeat stopped", i, sl.name);
	}
	if (!conf_failed(res))
		conf_note(res, "%u witness VM(s) alive (seed %llu)", n,
			  (unsigned long long)pass.seed);
}

const struct conf_check conf_checks_stress[] = {
	{ "MGMT-113", "stress: random and malformed commands, protocol abuse", check_stress },
	{ "MGMT-011", "after stress: answers, ticks, witness VMs' heartbeats", check_after_stress },
	{ 0 },
};
