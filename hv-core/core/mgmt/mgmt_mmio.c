/*
 * mgmt_mmio.c - the trapped-MMIO transport of the management interface
 * (docs/mgmt-abi.md MGMT-112, MGMT-210..215), the one a ServiceOS running as
 * the management VM uses on a real target.
 *
 * The management VM (VMCFG-027) sees the management region at IPA
 * VMCFG_MGMT_IPA. Its stage 2 leaves the register page out, so every access
 * to it traps here; the event ring, slots, fault records and consoles are
 * mapped read-only (hv-core alone writes them), and the command data area is
 * mapped read-write from a data area of this transport's own (that mapping
 * and the transport's state are comm/mgmt_window.c).
 *
 * Why a command block and data area of its own (MGMT-213): the polled page is
 * still served on the service CPU for a client outside the machine. Were the
 * two transports to share cmd/arg[] and the data area, a client of one could
 * overwrite the other's command between its writes and its req_seq. So the
 * command and completion blocks (0x100..0x1FF) read and write a shadow here,
 * and commands of this transport use their own data area; everything else of
 * the register page reads from the real page, and the one client-written
 * field outside those blocks, ev_ack, goes to the real page. Both transports
 * run commands under mgmt.c's command lock: one command at a time (MGMT-214).
 *
 * A store to req_seq runs the command on the trapping CPU before the store
 * retires (MGMT-112): when the guest executes its next instruction, done_seq
 * already equals req_seq.
 */
#include <string.h>
#include "mgmt_mmio.h"
#include "mgmt_window.h"
#include "mgmt.h"
#include "mgmt_cmd.h"
#include "vm.h"
#include "vm_life.h"
#include "hvvmconfig.h"
#include "trap.h"
#include "sysregs.h"

#define BLOCK_START 0x100u /* MGMT-110 command block ...              */
#define BLOCK_END 0x200u   /* ... to the end of the MGMT-120 completion */
#define OFF_REQ_SEQ 0x138u
#define OFF_EV_ACK 0x208u
#define DABT_SSE (1u << 21) /* load sign-extends                  */
#define DABT_SF (1u << 15)  /* register is 64-bit (else 32-bit)   */

_Static_assert(__builtin_offsetof(struct hvm_regs, req_seq) == OFF_REQ_SEQ, "MGMT-110");
_Static_assert(__builtin_offsetof(struct hvm_regs, ev_ack) == OFF_EV_ACK, "MGMT-130");
_Static_assert(__builtin_offsetof(struct hvm_regs, cmd) == BLOCK_START, "MGMT-110");
_Static_assert(__builtin_offsetof(struct hvm_regs, ev_head) == BLOCK_END, "MGMT-130");

/* Naturally aligned loads and stores of 1, 2, 4 or 8 bytes: single-copy
 * atomic, so an 8-byte ev_head or uptime_ns is never torn. */
static uint64_t load(const volatile void *p, unsigned bytes)
{
	switch (bytes) {
	case 1:
		return *(const volatile uint8_t *)p;
	case 2:
		return *(const volatile uint16_t *)p;
	case 4:
		return __atomic_load_n((const volatile uint32_t *)p, __ATOMIC_ACQUIRE);
	default:
		return __atomic_load_n((const volatile uint64_t *)p, __ATOMIC_ACQUIRE);
	}
}

static void store(volatile void *p, unsigned bytes, uint64_t v)
{
	switch (bytes) {
	case 1:
		*(volatile uint8_t *)p = (uint8_t)v;
		break;
	case 2:
		*(volatile uint16_t *)p = (uint16_t)v;
		break;
	case 4:
		__atomic_store_n((volatile uint32_t *)p, (uint32_t)v, __ATOMIC_RELEASE);
		break;
	default:
		__atomic_store_n((volatile uint64_t *)p, v, __ATOMIC_RELEASE);
		break;
	}
}

void mgmt_mmio_complete(uint32_t req, const struct mgmt_reply *rep)
{
	for (unsigned i = 0; i < 6; i++)
		mgmt_window_shadow.ret[i] = rep->ret[i];
	memcpy(mgmt_window_shadow.ret_msg, rep->msg, sizeof(mgmt_window_shadow.ret_msg));
	mgmt_window_shadow.ret_msg[sizeof(mgmt_window_shadow.ret_msg) - 1] = 0;
	mgmt_window_shadow.status = rep->status;
	volatile struct hvm_regs *r = mgmt_regs();
	r->vm_count = mgmt_be_vm_count();
	__atomic_store_n(&mgmt_window_shadow.done_seq, req, __ATOMIC_RELEASE);
}

/* MGMT-111 on the hypervisor's side, synchronously: the caller holds the
 * command lock. MGMT-711: while a command of either transport is pending,
 * the new one waits (the service CPU runs it when that one ends), and a
 * command whose work goes on in units is answered when it ends. */
static void submit(uint32_t req)
{
	if (req == mgmt_window_shadow.done_seq)
		return; /* nothing new: the store only set req_seq */
	if (mgmt_cmd_pending())
		return;
	struct mgmt_cmd c = { .cmd = mgmt_window_shadow.cmd, .vm_id = mgmt_window_shadow.vm_id };
	for (unsigned i = 0; i < 6; i++)
		c.arg[i] = mgmt_window_shadow.arg[i];
	struct mgmt_reply rep;
	mgmt_cmd_execute(&c, &rep, mgmt_window_data);
	if (rep.status == VM_PENDING) {
		mgmt_cmd_pend(1, req, c.vm_id);
		return;
	}
	mgmt_mmio_complete(req, &rep);
}

void mgmt_mmio_poll(void)
{
	submit(mgmt_window_shadow.req_seq);
}

static uint64_t reg_read(uint32_t off, unsigned bytes)
{
	if (off >= BLOCK_START && off < BLOCK_END) {
		mgmt_cmd_lock();
		uint64_t v = load((uint8_t *)&mgmt_window_shadow + off, bytes);
		mgmt_cmd_unlock();
		return v;
	}
	return load((const volatile uint8_t *)mgmt_regs() + off, bytes);
}

/* MGMT-212: the client-written fields take the store; stores to anything the
 * hypervisor owns are ignored. */
static void reg_write(uint32_t off, unsigned bytes, uint64_t val)
{
	if (off >= BLOCK_START && off < OFF_REQ_SEQ + 4) {
		mgmt_cmd_lock();
		store((uint8_t *)&mgmt_window_shadow + off, bytes, val);
		/* the store covers req_seq (a 4-byte one, or an 8-byte one at
		 * 0x138 whose upper half is reserved): submit */
		if (off <= OFF_REQ_SEQ && off + bytes >= OFF_REQ_SEQ + 4) {
			mgmt_window_shadow._rsvd1 = 0;
			submit(mgmt_window_shadow.req_seq);
		}
		mgmt_cmd_unlock();
		return;
	}
	if (off >= OFF_EV_ACK && off + bytes <= OFF_EV_ACK + 8)
		store((volatile uint8_t *)mgmt_regs() + off, bytes, val);
}

int mgmt_mmio_trap(struct vcpu *v, struct trap_frame *f, uint64_t esr, uint64_t ipa)
{
	uint32_t iss = ESR_ISS(esr);
	if (!(iss & DABT_ISV))
		return -1; /* load/store pair, writeback, SIMD: no syndrome to emulate */
	unsigned bytes = 1u << DABT_SAS(iss);
	unsigned srt = DABT_SRT(iss);
	uint32_t off = (uint32_t)(ipa - VMCFG_MGMT_IPA);
	if (off & (bytes - 1))
		return -1;
	if (iss & DABT_WNR) {
		reg_write(off, bytes, srt == 31 ? 0 : f->x[srt]);
	} else {
		uint64_t val = reg_read(off, bytes);
		if ((iss & DABT_SSE) && bytes < 8 && (val & (1ull << (bytes * 8 - 1))))
			val |= ~0ull << (bytes * 8);
		if (!(iss & DABT_SF))
			val &= 0xFFFFFFFFull;
		if (srt != 31)
			f->x[srt] = val;
	}
	f->elr += (esr & ESR_IL) ? 4 : 2;
	return 0;
}
