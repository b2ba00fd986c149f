/*
 * check_trapped.c - conformance checks of the trapped transport itself
 * (docs/mgmt-abi.md MGMT-210, MGMT-212, MGMT-213), run only with --transport
 * trapped: the relay VM (hv-core/guests/mgmt-relay) reports what it found in
 * its device tree and what its trapped loads and stores did; the verdicts are
 * taken here, against the region as the polled page shows it.
 */
#include <stdio.h>
#include <string.h>

#include "conf_internal.h"

/* MGMT-210: the management VM finds the region in its device tree at IPA
 * 0x41000000, 1 MiB, no-map, and the register page there has the magic. */
static void check_window(struct conf *c, struct conf_result *res)
{
	volatile struct relay_mbox *m = c->mbox;
	char path[65];
	conf_copy_in(path, m->dt_path, 64);
	path[64] = 0;
	if (LD32(m->dt_found) != 1) {
		conf_fail(res, "no /reserved-memory node \"avirt,mgmt-v1\" in the VM's device tree");
		return;
	}
	uint64_t base = LD64(m->dt_base), size = LD64(m->dt_size);
	if (strcmp(path, "/reserved-memory/hv-mgmt@41000000") != 0)
		conf_fail(res, "node at %s, expected /reserved-memory/hv-mgmt@41000000", path);
	if (base != HVM_DEFAULT_BASE || size != HVM_REGION_SIZE)
		conf_fail(res, "reg 0x%llx+0x%llx, expected 0x41000000+0x100000",
			  (unsigned long long)base, (unsigned long long)size);
	if (LD32(m->dt_no_map) != 1)
		conf_fail(res, "the node lacks no-map");
	if (LD32(m->relay_ok) != 1)
		conf_fail(res, "no magic in the register page at the window");
	if (!conf_failed(res))
		conf_note(res, "%s reg 0x%llx+0x%llx no-map; magic read through the trap", path,
			  (unsigned long long)base, (unsigned long long)size);
}

/* MGMT-212: loads return the register page as the hypervisor keeps it;
 * stores to hypervisor-owned fields are ignored. */
static void check_loads_and_ignored_stores(struct conf *c, struct conf_result *res)
{
	static const struct {
		const char *name;
		uint32_t off;
		unsigned width;
	} f[] = {
		{ "magic", CONF_REG(magic), 4 },
		{ "abi_major/minor", CONF_REG(abi_major), 4 },
		{ "caps", CONF_REG(caps), 8 },
		{ "max_vms", CONF_REG(max_vms), 4 },
		{ "off_data", CONF_REG(off_data), 4 },
		{ "staging_base", CONF_REG(staging_base), 8 },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		uint64_t region = f[i].width == 8 ? LD64(*(volatile uint64_t *)(c->base + f[i].off))
						  : LD32(*(volatile uint32_t *)(c->base + f[i].off));
		uint64_t trapped = conf_reg_load(c, f[i].off, f[i].width);
		if (trapped != region)
			conf_fail(res, "%s loads 0x%llx through the trap, the region holds 0x%llx",
				  f[i].name, (unsigned long long)trapped, (unsigned long long)region);
	}
	/* stores the hypervisor ignores: identification and its counters */
	uint64_t ticks0 = LD64(c->r->hv_ticks);
	conf_reg_store(c, CONF_REG(magic), 4, 0);
	conf_reg_store(c, CONF_REG(caps), 8, 0);
	conf_reg_store(c, CONF_REG(hv_ticks), 8, 0);
	conf_reg_store(c, CONF_REG(hv_state), 4, HVM_HV_BOOTING);
	if (LD32(c->r->magic) != HVM_MAGIC || conf_reg_load(c, CONF_REG(magic), 4) != HVM_MAGIC)
		conf_fail(res, "a trapped store of 0 to magic was not ignored");
	if (LD64(c->r->caps) != c->caps)
		conf_fail(res, "a trapped store of 0 to caps was not ignored");
	if (LD64(c->r->hv_ticks) < ticks0)
		conf_fail(res, "a trapped store of 0 to hv_ticks set it back");
	if (LD32(c->r->hv_state) == HVM_HV_BOOTING)
		conf_fail(res, "a trapped store to hv_state was not ignored");
	if (c->relay_broken)
		conf_fail(res, "%s", c->relay_msg);
	if (!conf_failed(res))
		conf_note(res, "6 fields load as the region holds them; stores to magic, caps, "
			       "hv_ticks, hv_state ignored");
}

/* MGMT-213: the two transports have their own command block, completion
 * block and data area. */
static void check_own_blocks(struct conf *c, struct conf_result *res)
{
	/* everything the suite sent so far went over the trapped page: the
	 * polled block and data area are as they were when the run began */
	uint32_t prq = LD32(c->r->req_seq), pdn = LD32(c->r->done_seq);
	if (prq != c->polled_req0 || pdn != c->polled_done0)
		conf_fail(res, "polled req_seq/done_seq %u/%u, were %u/%u before %u trapped commands",
			  prq, pdn, c->polled_req0, c->polled_done0, c->trapped_cmds);
	for (unsigned i = 0; i < CONF_POLLED_MARK_LEN; i++)
		if (c->base[HVM_OFF_DATA + i] != conf_polled_mark(i)) {
			conf_fail(res, "polled data area byte %u changed by a trapped command", i);
			break;
		}
	/* a trapped command, then one on the polled page: neither moves the
	 * other's sequence numbers or block */
	struct conf_reply rep;
	uint64_t args[6] = { 0x5151, 0, 0, 0, 0, 0 };
	if (!conf_expect(c, res, "GET_INFO on the trapped page", HVM_CMD_GET_INFO, 0, args, HVM_OK,
			 &rep))
		return;
	uint32_t tdn = (uint32_t)conf_reg_load(c, CONF_REG(done_seq), 4);
	if (tdn == pdn)
		conf_note(res, "both done_seq happen to be %u", tdn);
	volatile struct hvm_regs *r = c->r;
	ST32(r->cmd, HVM_CMD_LIST);
	ST32(r->vm_id, 0);
	for (unsigned i = 0; i < 6; i++)
		ST64(r->arg[i], 0x7070u + i);
	ST32(r->req_seq, pdn + 1u);
	uint64_t deadline = conf_now_ms() + c->opt->timeout_ms;
	while (LD32(r->done_seq) != pdn + 1u && conf_now_ms() < deadline)
		conf_sleep_ms(1);
	if (LD32(r->done_seq) != pdn + 1u) {
		conf_fail(res, "LIST on the polled page not completed within %u ms",
			  c->opt->timeout_ms);
		return;
	}
	if (LD32(r->status) != HVM_OK)
		conf_fail(res, "LIST on the polled page answered %s",
			  conf_status_name(LD32(r->status)));
	c->polled_req0 = c->polled_done0 = pdn + 1u;
	uint32_t tdn2 = (uint32_t)conf_reg_load(c, CONF_REG(done_seq), 4);
	uint32_t tcmd = (uint32_t)conf_reg_load(c, CONF_REG(cmd), 4);
	uint64_t targ = conf_reg_load(c, CONF_REG(arg[0]), 8);
	uint64_t tret = conf_reg_load(c, CONF_REG(ret[0]), 8);
	if (tdn2 != tdn || tcmd != HVM_CMD_GET_INFO || targ != 0x5151 || tret != rep.ret[0])
		conf_fail(res,
			  "the trapped block changed under a polled command: done_seq %u->%u, "
			  "cmd %u, arg[0] 0x%llx, ret[0] %llu (was %llu)",
			  tdn, tdn2, tcmd, (unsigned long long)targ, (unsigned long long)tret,
			  (unsigned long long)rep.ret[0]);
	if (!conf_expect(c, res, "NOP on the trapped page after it", HVM_CMD_NOP, 0, NULL, HVM_OK,
			 &rep))
		return;
	if (LD32(r->done_seq) != pdn + 1u || LD32(r->cmd) != HVM_CMD_LIST ||
	    LD64(r->arg[0]) != 0x7070u)
		conf_fail(res, "the polled block changed under a trapped command");
	if (!conf_failed(res))
		conf_note(res,
			  "trapped done_seq %u, polled %u; %u trapped commands left the polled "
			  "block and data area alone",
			  rep.seq, pdn + 1u, c->trapped_cmds);
}

/* MGMT-112 over the whole run (the robustness pass included): every command
 * but LOAD_IMAGE was complete at the first load of done_seq after its store. */
static void check_all_at_once(struct conf *c, struct conf_result *res)
{
	if (!c->trapped_cmds)
		conf_fail(res, "no command went over the trapped page");
	else if (c->trapped_late)
		conf_fail(res, "%u of %u commands not complete when the store retired, first: %s",
			  c->trapped_late, c->trapped_cmds, c->trapped_late_what);
	else
		conf_note(res, "%u commands, each complete when its store retired", c->trapped_cmds);
}

const struct conf_check conf_checks_trapped[] = {
	{ "MGMT-210", "management VM finds the window in its device tree", check_window },
	{ "MGMT-212", "trapped loads as the region; hypervisor fields ignore stores",
	  check_loads_and_ignored_stores },
	{ "MGMT-213", "own command/completion block and data area per transport", check_own_blocks },
	{ "MGMT-112", "trapped page: every command of the run answered at its store",
	  check_all_at_once },
	{ 0 },
};
