/*
 * mgmt.c - the management region on hv-core's side: layout set-up, the service
 * tick and the command decoder.
 *
 * The command protocol (MGMT-110/120): a client writes cmd, vm_id, arg[], then
 * req_seq = done_seq + 1 (release). Each tick the service CPU loads req_seq
 * (acquire); when it differs from done_seq it copies the command block once
 * (so a client changing it meanwhile cannot make hv-core act on a mix), runs it,
 * writes ret[], ret_msg and status, and stores done_seq = req_seq (release).
 *
 * The decoder itself is mgmt_cmd.c (portable, fuzzed on the host); what it
 * calls is mgmt_backend.c.
 */
#include <string.h>
#include "mgmt.h"
#include "mgmt_cmd.h"
#include "vm.h"
#include "vm_life.h"
#include "selftest.h"
#include "timer.h"
#include "fmt.h"
#include "hvconfig.h"
#include "spinlock.h"
#include "safety.h"
#include "ota.h"
#include "mgmt_mmio.h"

/* MGMT-214: one command at a time across both transports (this polled page
 * and mgmt_mmio.c's trapped page), and no command while the tick supervises
 * the VMs: lifecycle code was written for one caller at a time. */
static spinlock_t cmd_lock;

void mgmt_cmd_lock(void)
{
	spin_lock(&cmd_lock);
}

void mgmt_cmd_unlock(void)
{
	spin_unlock(&cmd_lock);
}

void mgmt_init(uint64_t base, uint32_t pcpu_count, uint64_t staging_base, uint64_t staging_size)
{
	mgmt_region_set(base, staging_base, staging_size);
	volatile struct hvm_regs *r = mgmt_regs();
	/* A region left over from an earlier boot must not look READY while we set up. */
	__atomic_store_n(&r->hv_state, HVM_HV_BOOTING, __ATOMIC_RELEASE);
	__atomic_store_n(&r->magic, 0, __ATOMIC_RELEASE);
	memset((void *)r, 0, HVM_REGION_SIZE);
	r->abi_major = HVM_ABI_MAJOR;
	r->abi_minor = HVM_ABI_MINOR;
	r->region_size = HVM_REGION_SIZE;
	r->caps = mgmt_cmd_caps(); /* MGMT-021: exactly the decoder's table */
	r->max_vms = HVM_MAX_VMS;
	r->off_events = HVM_OFF_EVENTS;
	r->event_count = HVM_EVENT_COUNT;
	r->off_slots = HVM_OFF_SLOTS;
	r->slot_size = sizeof(struct hvm_vm_slot);
	r->off_faults = HVM_OFF_FAULTS;
	r->fault_size = sizeof(struct hvm_fault);
	r->off_consoles = HVM_OFF_CONSOLES;
	r->console_size = sizeof(struct hvm_console);
	r->off_data = HVM_OFF_DATA;
	r->data_size = HVM_DATA_SIZE;
	r->staging_base = staging_base;
	r->staging_size = staging_size;
	r->pcpu_count = pcpu_count;
	strlcpy((char *)r->hv_version, HV_VERSION, sizeof(r->hv_version));
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		mgmt_slot(i)->id = i;
		mgmt_fault_header(mgmt_fault(i)); /* MGMT-162 */
		mgmt_console(i)->size = HVM_CONSOLE_SIZE;
		mgmt_console(i)->vm_id = i;
	}
	__atomic_store_n(&r->magic, HVM_MAGIC, __ATOMIC_RELEASE);
}

void mgmt_set_ready(void)
{
	/* MGMT-100: vm_count agrees with the slots (the boot configuration's
	 * VMs are published already) from the moment a client may look, not
	 * only from the first service tick on */
	mgmt_regs()->vm_count = vm_count();
	/* MGMT-010: live either way; SELFTEST_FAILED says some VMs were held back */
	__atomic_store_n(&mgmt_regs()->hv_state,
			 selftest_failed_mask() ? HVM_HV_SELFTEST_FAILED : HVM_HV_READY,
			 __ATOMIC_RELEASE);
}

#ifdef HV_TEST_HOOKS
/* MGMT-301, test builds only. While the flag words at HV_TAMPER_FLAG hold
 * "TAMP" and a mask of hook points, hv-core itself overwrites, at those
 * points, what a client (or a racing writer) can write: the command block,
 * the published staging_base/size and selftest_failed, and the bytes [p, +len)
 * the point names (the staging area after LOAD_IMAGE copied it, the image
 * slot after START checked it). A test shows that the decision taken does not
 * change. The third word counts the strikes. */
#define HV_TAMPER_FLAG 0x41FFF010ull
#define HV_TAMPER_MAGIC 0x504D4154u /* "TAMP" */

void vm_test_hook(uint32_t point, volatile uint8_t *p, uint64_t len)
{
	volatile uint32_t *flag = (volatile uint32_t *)(uintptr_t)HV_TAMPER_FLAG;
	volatile struct hvm_regs *r = mgmt_regs();
	if (flag[0] != HV_TAMPER_MAGIC || !(flag[1] & point))
		return;
	r->cmd = HVM_CMD_UNDEFINE;
	r->vm_id = 0;
	for (unsigned i = 0; i < 6; i++)
		r->arg[i] = ~0ull;
	r->selftest_failed = r->selftest_failed ? 0 : ~0u;
	r->staging_base = 0;
	r->staging_size = ~0ull;
	for (uint64_t i = 0; p && i < len; i += 64)
		p[i] ^= 0x5A;
	flag[2]++;
}
#endif

/* MGMT-711: the one command whose work goes on in units (either transport:
 * one command at a time, MGMT-214), answered when its VM's job ends. */
static struct {
	int active, mmio;
	uint32_t req, vm_id;
} pending;

int mgmt_cmd_pending(void)
{
	return pending.active;
}

void mgmt_cmd_pend(int mmio, uint32_t req, uint32_t vm_id)
{
	pending.active = 1;
	pending.mmio = mmio;
	pending.req = req;
	pending.vm_id = vm_id;
}

static void publish_reply(uint32_t req, const struct mgmt_reply *rep)
{
	volatile struct hvm_regs *r = mgmt_regs();
	for (unsigned i = 0; i < 6; i++)
		r->ret[i] = rep->ret[i];
	for (unsigned i = 0; i < sizeof(rep->msg); i++)
		r->ret_msg[i] = rep->msg[i];
	r->status = rep->status;
	r->vm_count = vm_count();
	__atomic_store_n(&r->done_seq, req, __ATOMIC_RELEASE);
}

/* MGMT-112: the commands run between service ticks as well: questions whose
 * answer is read from hv-core's own state, short and of bounded length. A
 * command that changes state or moves an image waits for the tick, where it
 * cannot push the next supervision pass back (MGMT-710). */
static int between_ticks(uint32_t cmd)
{
	switch (cmd) {
	case HVM_CMD_NOP:
	case HVM_CMD_GET_INFO:
	case HVM_CMD_LIST:
	case HVM_CMD_GET_STATS:
	case HVM_CMD_READ_CONSOLE:
	case HVM_CMD_READ_FAULT:
	case HVM_CMD_SELFTEST_RESULT:
	case HVM_CMD_READ_FAULT_HISTORY:
	case HVM_CMD_GET_VEHICLE_STATE:
	case HVM_CMD_GET_POLICY:
	case HVM_CMD_CHECK_POLICY:
	case HVM_CMD_GET_VIRTIO:
	case HVM_CMD_AUDIT_SEQ_GET:
	case HVM_CMD_OTA_STATUS:
		return 1;
	default:
		return 0;
	}
}

/* MGMT-111: copy the command block once (a client changing it meanwhile cannot
 * make hv-core act on a mix), run it, publish the reply, then done_seq.
 * quick_only: between ticks, where only what between_ticks() allows runs (the
 * decision is taken on the copy that runs). */
static void poll_command(int quick_only)
{
	volatile struct hvm_regs *r = mgmt_regs();
	if (pending.active)
		return; /* MGMT-214: after the command in progress */
	uint32_t req = __atomic_load_n(&r->req_seq, __ATOMIC_ACQUIRE);
	if (req == r->done_seq)
		return;
	struct mgmt_cmd c = { .cmd = r->cmd, .vm_id = r->vm_id };
	for (unsigned i = 0; i < 6; i++)
		c.arg[i] = r->arg[i];
	if (quick_only && !between_ticks(c.cmd))
		return; /* the tick runs it */
	vm_test_hook(VM_HOOK_COMMAND, NULL, 0);
	struct mgmt_reply rep;
	mgmt_cmd_execute(&c, &rep, (volatile uint8_t *)r + HVM_OFF_DATA);
	if (rep.status == VM_PENDING) {
		mgmt_cmd_pend(0, req, c.vm_id);
		return;
	}
	publish_reply(req, &rep);
}

/* The pending command's answer, once its job ended. Command lock held. */
static void finish_pending(void)
{
	struct mgmt_reply rep;
	uint32_t st;
	if (!pending.active)
		return;
	memset(&rep, 0, sizeof(rep));
	if (!vm_job_result(pending.vm_id, &st, rep.full, sizeof(rep.full)) &&
	    !ota_job_result(pending.vm_id, &st, rep.full, sizeof(rep.full)))
		return;
	rep.status = st;
	rep.full[sizeof(rep.full) - 1] = 0;
	mgmt_msg_fit(rep.full, rep.msg, sizeof(rep.msg)); /* MGMT-121 */
	pending.active = 0;
	if (pending.mmio)
		mgmt_mmio_complete(pending.req, &rep);
	else
		publish_reply(pending.req, &rep);
	mgmt_mmio_poll(); /* a command of the trapped page that waited */
}

void mgmt_work(uint64_t until)
{
	for (;;) {
		mgmt_cmd_lock();
		int more = vm_work_unit() | ota_work_unit(); /* OTA_INSTALL too */
		finish_pending();
		mgmt_cmd_unlock();
		if (!more || timer_count() >= until)
			return;
	}
}

/* MGMT-112: between two service ticks the polled page is looked at every
 * CMD_POLL_NS as well, so a client waits about a millisecond for the answer
 * to a question (between_ticks()), not up to a tick. Not in the last
 * CMD_GUARD_NS before a tick, so that even a question cannot push the tick's
 * supervision pass back (MGMT-710). */
#define CMD_POLL_NS 1000000ull
#define CMD_GUARD_NS 2000000ull

void mgmt_serve_until(uint64_t next)
{
	volatile struct hvm_regs *r = mgmt_regs();
	uint64_t poll = timer_ns_to_count(CMD_POLL_NS);
	uint64_t last = next - timer_ns_to_count(CMD_GUARD_NS);

	for (uint64_t now = timer_count(); now < last; now = timer_count()) {
		timer_sleep_until(now + poll < last ? now + poll : last);
		if (__atomic_load_n(&r->req_seq, __ATOMIC_ACQUIRE) == r->done_seq)
			continue; /* nothing asked: a load and a compare */
		mgmt_cmd_lock();
		poll_command(1);
		mgmt_cmd_unlock();
	}
	timer_sleep_until(next);
}

static uint64_t ticks;
static uint64_t last_pass_ns, gap_max_ns;

/* MGMT-710: the time since the previous supervision pass; the longest is
 * published (measured here, in hv-core's memory, and only copied out). */
static void supervision_pass(volatile struct hvm_regs *r)
{
	uint64_t now = timer_uptime_ns();
	if (last_pass_ns && now - last_pass_ns > gap_max_ns) {
		gap_max_ns = now - last_pass_ns;
		r->sup_gap_max_ns = gap_max_ns;
	}
	last_pass_ns = now;
}

void mgmt_tick(void)
{
	volatile struct hvm_regs *r = mgmt_regs();
	uint64_t now = timer_uptime_ns();
	r->uptime_ns = now;
	r->vm_count = vm_count();
	mgmt_cmd_lock();
	supervision_pass(r);
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		if (!vms[i].used)
			continue;
		vms[i].coop->hv_time_ns = now;
		vm_publish_slot(&vms[i]);
		vm_tick(&vms[i], now);
	}
	ota_tick(now);    /* MGMT-622: trials in progress */
	safety_tick(now); /* MGMT-405 */
	selftest_tick();  /* MGMT-712 */
	poll_command(0);
	mgmt_cmd_unlock();
	/* MGMT-301: counted in hv-core's memory, only published in the block */
	__atomic_store_n(&r->hv_ticks, ++ticks, __ATOMIC_RELEASE);
}
