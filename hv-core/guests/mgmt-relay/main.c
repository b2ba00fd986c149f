/*
 * main.c - "mgmt-relay", a bare-metal management VM (vm-config `management`,
 * VMCFG-027) that performs requests a client outside the machine leaves in a
 * mailbox in the relay's own RAM (relay_mbox.h) on hv-core's trapped register
 * page (docs/mgmt-abi.md MGMT-112, MGMT-210..215), and reports what the page
 * answered. The conformance suite's trapped transport uses it
 * (tests/conformance, --transport trapped).
 *
 * The relay adds no interpretation: a command is copied into the command
 * block field by field, submitted by one store of req_seq, and status, ret[],
 * ret_msg and the data area are copied back as loaded. Blob data goes to and
 * from this transport's own command data area (window + 0x80000, MGMT-211,
 * MGMT-213). Every access to the register page is one naturally aligned
 * LDR/STR (or STLR) without writeback, written in assembly (MGMT-212).
 *
 * It keeps its heartbeat while it waits, so it is a VM like any other to
 * whoever watches the slots.
 */
#include "guest.h"
#include "hvmgmt.h"
#include "mini_fdt.h"
#include "relay_mbox.h"

void guest_main(uint64_t dtb);

static uintptr_t regs; /* the register page (IPA) */

#include "mgmt_page.h"

static uint64_t now_ms(void)
{
	uint64_t v, f;
	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
	return f ? v / (f / 1000) : 0;
}

/* Word copies between the mailbox and the data area (both 8-byte aligned;
 * the MMU is off, so every access must be aligned). */
static void copy64(volatile uint64_t *dst, const volatile uint64_t *src, uint64_t bytes)
{
	for (uint64_t i = 0; i < bytes / 8; i++)
		dst[i] = src[i];
}

static void command(volatile struct relay_mbox *m)
{
	volatile uint64_t *area = (volatile uint64_t *)(regs + HVM_OFF_DATA);
	volatile uint64_t *data = (volatile uint64_t *)((uintptr_t)m + RELAY_DATA_OFF);
	uint64_t len = m->data_len;
	if (len > RELAY_DATA_SIZE || (len & 7)) {
		m->error = RELAY_E_BAD_REQUEST;
		return;
	}
	/* MGMT-111 step 1: nothing outstanding (a LOAD_IMAGE may still be) */
	uint64_t deadline = now_ms() + m->wait_ms;
	uint32_t rq = r32(OFF(req_seq)), done = r32(OFF(done_seq));
	while (rq != done && now_ms() < deadline) {
		g_sleep_ms(1);
		rq = r32(OFF(req_seq));
		done = r32(OFF(done_seq));
	}
	m->req_before = rq;
	m->done_before = done;
	if (rq != done) {
		m->error = RELAY_E_BUSY;
		return;
	}
	copy64(area, data, len);
	__asm__ volatile("dmb sy" ::: "memory");
	done = r32(OFF(done_seq));
	w32(OFF(cmd), m->cmd);
	w32(OFF(vm_id), m->vm_id);
	for (uint32_t i = 0; i < 6; i++)
		w64(OFF(arg[0]) + 8 * i, m->arg[i]);
	uint32_t seq = done + 1;
	w32_release(OFF(req_seq), seq);
	uint32_t first = r32(OFF(done_seq)), last = first;
	uint64_t polls = 1;
	deadline = now_ms() + m->wait_ms;
	/* MGMT-112: hv-core answers before the store retires, LOAD_IMAGE
	 * excepted (MGMT-711); the wait is bounded either way */
	while (last != seq && now_ms() < deadline) {
		if (polls > 64)
			g_sleep_ms(1);
		last = r32(OFF(done_seq));
		polls++;
	}
	m->done_before = done;
	m->req_written = seq;
	m->done_first = first;
	m->done_last = last;
	m->polls = polls;
	if (last != seq) {
		m->error = RELAY_E_TIMEOUT;
		return;
	}
	m->status = r32(OFF(status));
	for (uint32_t i = 0; i < 6; i++)
		m->ret[i] = r64(OFF(ret[0]) + 8 * i);
	volatile uint64_t *msg = (volatile uint64_t *)(uintptr_t)m->ret_msg;
	for (uint32_t i = 0; i < 8; i++)
		msg[i] = r64(OFF(ret_msg) + 8 * i);
	__asm__ volatile("dmb sy" ::: "memory");
	copy64(data, area, len);
}

static void reg_access(volatile struct relay_mbox *m)
{
	uint32_t w = m->width, off = m->off;
	if ((w != 4 && w != 8) || off >= 0x1000 || (off & (w - 1))) {
		m->error = RELAY_E_BAD_REQUEST;
		return;
	}
	if (m->op == RELAY_OP_LOAD)
		m->value = w == 4 ? r32(off) : r64(off);
	else if (w == 4)
		w32(off, (uint32_t)m->value);
	else
		w64(off, m->value);
}

static void serve(volatile struct relay_mbox *m)
{
	m->error = RELAY_OK;
	m->status = 0;
	m->done_before = m->req_written = m->done_first = m->done_last = m->req_before = 0;
	m->polls = 0;
	switch (m->op) {
	case RELAY_OP_COMMAND:
		command(m);
		break;
	case RELAY_OP_LOAD:
	case RELAY_OP_STORE:
		reg_access(m);
		break;
	default:
		m->error = RELAY_E_BAD_REQUEST;
		break;
	}
	m->served++;
}

void guest_main(uint64_t dtb)
{
	volatile struct hvg_coop_page *cp = g_start("mgmt-relay", "relay-1");
	volatile struct relay_mbox *m = (volatile struct relay_mbox *)RELAY_MBOX_IPA;
	struct mgmt_node node = { 0 };
	if (mini_fdt_find_mgmt(dtb, &node) == 0) {
		regs = (uintptr_t)node.base;
		m->dt_found = 1;
		m->dt_no_map = (uint32_t)node.no_map;
		m->dt_base = node.base;
		m->dt_size = node.size;
		for (uint32_t i = 0; i < sizeof(m->dt_path); i++)
			m->dt_path[i] = i < sizeof(node.path) ? node.path[i] : 0;
	} else {
		m->dt_found = 0;
		g_puts("mgmt-relay: no management region in the device tree\n");
		regs = (uintptr_t)HVM_DEFAULT_BASE; /* the documented IPA (MGMT-210) */
	}
	m->relay_ok = r32(OFF(magic)) == HVM_MAGIC;
	m->ack = m->req;
	m->served = 0;
	__asm__ volatile("dmb sy" ::: "memory");
	m->magic = RELAY_MAGIC;
	g_puts(m->relay_ok ? "mgmt-relay: serving\n" : "mgmt-relay: no register page\n");
	for (uint64_t n = 1;; n++) {
		if (cp)
			cp->heartbeat = n;
		uint32_t req = m->req;
		if (req == m->ack) {
			g_sleep_ms(1);
			continue;
		}
		__asm__ volatile("dmb sy" ::: "memory");
		serve(m);
		__asm__ volatile("dmb sy" ::: "memory");
		m->ack = req;
	}
}
