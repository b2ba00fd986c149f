/*
 * hvcore_rtcheck.c - hv-core checks at run time that its configuration still
 * holds what it wrote (REQ-SAF-04, docs/mgmt-abi.md MGMT-712): the GIC
 * distributor's and redistributors' settings, and each VM's stage-2 tables against the checksum
 * taken after their full check, and HCR_EL2, VTCR_EL2 and VTTBR_EL2 on
 * every CPU that runs a guest. hvcore-test.bin (the same hypervisor with the
 * test hooks) corrupts one of them on request, through a debug path release
 * builds do not have; the test sees the corruption caught and contained: the
 * VMs it concerns shut off with reason SELFTEST and held back (START answers
 * E_SELFTEST), a SELFTEST event with the check's bit, selftest_failed and
 * hv_state saying so, and a VM it does not concern running on. Waits are
 * bounded; nothing asserts a duration.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "hvqemu.h"
#include "hvcore_mgmt_util.h"

#define TEST_IMAGE HV_CORE_OUT "/hvcore-test.bin"
#define CORRUPT_PA 0x41FFF020ull
#define CORRUPT_MAGIC 0x52524F43u /* "CORR" */
#define WAIT_S 120

static struct hvq q;

static void boot(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = "rtos-demo";
	o.extra[0] = "--hv-image";
	o.extra[1] = TEST_IMAGE;
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
}

static void teardown(void)
{
	hvq_stop(&q);
}

TestSuite(hvcore_rtcheck, .init = boot, .fini = teardown, .timeout = 300);

static volatile uint32_t *corrupt_flag(void)
{
	return hvq_pa(&q, CORRUPT_PA, 16);
}

/* Asks hv-core to corrupt `what` (2: a redistributor, 64: VM id's stage-2 tables;
 * 4: HCR_EL2, 16: VTTBR_EL2 on the CPU of VM id's vCPU 0) at its next tick,
 * and waits until it did. */
static void corrupt(uint32_t what, uint32_t id)
{
	volatile uint32_t *f = corrupt_flag();
	uint32_t struck = f[3];
	f[1] = what;
	f[2] = id;
	__atomic_store_n(&f[0], CORRUPT_MAGIC, __ATOMIC_RELEASE);
	cr_assert_eq(mu_wait_ticks(&q, 3), 0, "%s", q.err);
	cr_assert_eq(f[3], struck + 1, "the corruption was not made");
}

static int started_guest(const char *name, unsigned cpu, uint64_t pa)
{
	struct mu_vm v = { .name = name, .cpu = cpu, .mem_pa = pa };
	int id = mu_define_guest(&q, &v, "shutdown-ack", 0);
	cr_assert_geq(id, 0, "%s", q.err);
	struct hvq_reply rep;
	uint64_t args[6] = { 0 };
	cr_assert_eq(hvq_command(&q, HVM_CMD_START, (uint32_t)id, args, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_OK, "START %s: '%s'", name, rep.msg);
	cr_assert_eq(hvq_wait_console(&q, id, "shutdown-ack: hello from EL1", WAIT_S), 0, "%s",
		     q.err);
	return id;
}

static void held_back(int id, uint32_t bit, uint64_t ev0)
{
	cr_assert_eq(mu_wait_state(&q, id, HVM_VM_SHUTOFF, HVM_R_SELFTEST, WAIT_S), 0,
		     "VM %d not shut off for the check: %s", id, q.err);
	cr_assert_geq(mu_count_events(&q, HVM_EV_SELFTEST, (uint32_t)id, ev0), 1,
		      "no SELFTEST event for VM %d", id);
	struct hvq_reply rep;
	uint64_t args[6] = { 0 };
	cr_assert_eq(hvq_command(&q, HVM_CMD_START, (uint32_t)id, args, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_E_SELFTEST, "START after the failure: %u '%s'", rep.status,
		     rep.msg);
	cr_assert(q.regs->selftest_failed & bit, "selftest_failed 0x%x", q.regs->selftest_failed);
	cr_assert_eq(q.regs->hv_state, HVM_HV_SELFTEST_FAILED);
}

/* Check 6: a changed entry in one VM's stage-2 tables stops that VM only. */
Test(hvcore_rtcheck, a_changed_stage2_entry_stops_its_vm_only)
{
	int rtos = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(rtos, 0);
	int late = started_guest("late", 2, 0x50000000);
	cr_assert_eq(mu_wait_ticks(&q, 40), 0, "%s", q.err); /* both seen and summed */
	cr_assert_eq(q.regs->selftest_failed, 0);
	uint64_t ev0 = q.regs->ev_head;
	corrupt(64, (uint32_t)late);
	held_back(late, 1u << 6, ev0);
	struct hvm_vm_slot s = mu_slot(&q, rtos);
	cr_expect_eq(s.state, HVM_VM_RUNNING, "rtos-demo state %u", s.state);
	cr_expect_eq(mu_wait_heartbeat(&q, rtos, s.heartbeat, WAIT_S), 0,
		     "rtos-demo's heartbeat stopped: %s", q.err);
	cr_expect_eq(mu_count_events(&q, HVM_EV_SELFTEST, (uint32_t)rtos, ev0), 0);
}

/* Check 1: a redistributor that no longer takes the wake-up SGI concerns
 * every VM. */
Test(hvcore_rtcheck, a_changed_redistributor_setting_stops_every_vm)
{
	int rtos = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(rtos, 0);
	int late = started_guest("late", 2, 0x50000000);
	uint64_t ev0 = q.regs->ev_head;
	corrupt(2, 0);
	held_back(rtos, 1u << 1, ev0);
	held_back(late, 1u << 1, ev0);
}

/* Checks 2 and 4 run on every CPU that runs a guest: a register changed on a
 * secondary CPU stops the VM on that CPU only. */
static void cpu_register_case(uint32_t what, uint32_t bit)
{
	int rtos = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(rtos, 0);
	int late = started_guest("late", 2, 0x50000000);
	cr_assert_eq(mu_wait_ticks(&q, 5), 0, "%s", q.err);
	cr_assert_eq(q.regs->selftest_failed, 0);
	uint64_t ev0 = q.regs->ev_head;
	corrupt(what, (uint32_t)late);
	held_back(late, bit, ev0);
	struct hvm_vm_slot s = mu_slot(&q, rtos);
	cr_expect_eq(s.state, HVM_VM_RUNNING, "rtos-demo state %u", s.state);
	cr_expect_eq(mu_wait_heartbeat(&q, rtos, s.heartbeat, WAIT_S), 0,
		     "rtos-demo's heartbeat stopped: %s", q.err);
	cr_expect_eq(mu_count_events(&q, HVM_EV_SELFTEST, (uint32_t)rtos, ev0), 0);
}

Test(hvcore_rtcheck, a_changed_hcr_on_a_secondary_cpu_stops_the_vm_there)
{
	cpu_register_case(4, 1u << 2);
}

Test(hvcore_rtcheck, a_changed_vttbr_on_a_secondary_cpu_stops_the_vm_there)
{
	cpu_register_case(16, 1u << 4);
}
