/*
 * hvcore_admission.c - admission control (REQ-SAF-06, docs/vm-config.md
 * VMCFG-455) through the real register interface of hv-core under QEMU: a
 * safety VM's physical CPU, memory, pass-through device and interrupt are
 * reserved from the moment it is DEFINEd (it is never started here), and a
 * DEFINE of another VM taking any of them, or oversubscribing what the
 * platform has (CPUs, RAM, a CPU already running a vCPU), is refused with
 * ret_msg naming the resource and the VM that holds it - and changes
 * nothing. The same VM on free resources is accepted, and once the safety VM
 * is undefined its CPU is free again.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvqemu.h"
#include "hvcore_mgmt_util.h"

#define WAIT_S 30
#define STAGE_A 0x04000000ull /* staging offsets (MGMT-302: apart from every slot) */
#define STAGE_B 0x04800000ull

/* The PL061 GPIO of QEMU's virt machine (docs/examples/passthrough.dts) and
 * its SPI; the PL031 RTC, another platform device. */
#define GPIO_DEV(spis)                                                                             \
	"  gpio { compatible = \"avirt,passthrough-v1\"; mmio = <0x0 0x09030000 0x0 0x09030000 "   \
	"0x0 0x1000>; " spis " };\n"
#define RTC_DEV(spis)                                                                              \
	"  rtc { compatible = \"avirt,passthrough-v1\"; mmio = <0x0 0x09010000 0x0 0x09010000 "    \
	"0x0 0x1000>; " spis " };\n"

static struct hvq q;

static void boot(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = "rtos-demo";
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
}

static void teardown(void)
{
	hvq_stop(&q);
}

TestSuite(hvcore_admission, .init = boot, .fini = teardown, .timeout = 300);

static struct hvq_reply define_dts(const struct mu_vm *v)
{
	char *dts = mu_vm_dts(v);
	char err[512];
	size_t len;
	void *blob = mu_dtc(dts, &len, err, sizeof(err));
	free(dts);
	cr_assert_not_null(blob, "%s", err);
	struct hvq_reply rep;
	cr_assert_eq(mu_define_blob(&q, blob, len, &rep), 0, "%s", q.err);
	free(blob);
	return rep;
}

Test(hvcore_admission, a_defined_safety_vm_keeps_its_resources_by_name)
{
	/* The safety VM: ASIL-B, CPU 2, 16 MiB at 0x50000000, the GPIO with
	 * SPI 7. Defined, never started. */
	struct mu_vm safe = { .name = "brake",
			      .cpu = 2,
			      .mem_pa = 0x50000000,
			      .criticality = "ASIL-B",
			      .extra = GPIO_DEV("spis = <7>;") };
	int sid = mu_define_guest(&q, &safe, "gpio", STAGE_A);
	cr_assert_geq(sid, 0, "%s", q.err);
	cr_assert_eq(mu_slot(&q, sid).state, HVM_VM_SHUTOFF);

	uint32_t count0 = q.regs->vm_count;
	uint64_t ev0 = q.regs->ev_head;
	struct {
		const char *what;
		struct mu_vm v;
		uint32_t status;
		const char *msg; /* all of ret_msg: the rule, the resource, its holder */
	} cases[] = {
		{ "its CPU",
		  { .name = "ivi", .cpu = 2, .mem_pa = 0x52000000 },
		  HVM_E_CPU,
		  "VMCFG-084: CPU 2 held by 'brake'" },
		{ "its CPU, among two",
		  { .name = "ivi", .cpu = 2, .cpu2 = 3, .mem_pa = 0x52000000 },
		  HVM_E_CPU,
		  "VMCFG-084: CPU 2 held by 'brake'" },
		{ "its memory",
		  { .name = "ivi", .cpu = 3, .mem_pa = 0x50800000 },
		  HVM_E_OVERLAP,
		  "VMCFG-082: memory PA 0x50800000 held by 'brake'" },
		{ "its pass-through device",
		  { .name = "ivi", .cpu = 3, .mem_pa = 0x52000000, .extra = GPIO_DEV("") },
		  HVM_E_OVERLAP,
		  "VMCFG-082: device PA 0x9030000 held by 'brake'" },
		{ "its interrupt",
		  { .name = "ivi", .cpu = 3, .mem_pa = 0x52000000, .extra = RTC_DEV("spis = <7>;") },
		  HVM_E_BAD_CONFIG,
		  "VMCFG-085: SPI 7 held by 'brake'" },
		{ "another safety VM's memory (rtos-demo, running)",
		  { .name = "ivi", .cpu = 3, .mem_pa = 0x49800000 },
		  HVM_E_OVERLAP,
		  "VMCFG-082: memory PA 0x49800000 held by 'rtos-demo'" },
		/* oversubscription of the platform */
		{ "a CPU the platform lacks",
		  { .name = "ivi", .cpu = 4, .mem_pa = 0x52000000 },
		  HVM_E_CPU,
		  "VMCFG-083: CPU 4: the platform has 4 CPUs" },
		{ "the CPU the platform keeps",
		  { .name = "ivi", .cpu = 0, .mem_pa = 0x52000000 },
		  HVM_E_CPU,
		  "VMCFG-083: CPU 0 held by the platform" },
		{ "memory beyond the platform's RAM",
		  { .name = "ivi", .cpu = 3, .mem_pa = 0x80000000 },
		  HVM_E_BAD_CONFIG,
		  "VMCFG-081: PA 0x80000000: not platform RAM" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hvq_reply r = define_dts(&cases[i].v);
		cr_expect_eq(r.status, cases[i].status, "%s: status %u (want %u): '%s'",
			     cases[i].what, r.status, cases[i].status, r.msg);
		cr_expect_str_eq(r.msg, cases[i].msg, "%s: '%s'", cases[i].what, r.msg);
	}
	cr_assert_eq(q.regs->vm_count, count0, "a refused DEFINE defined nothing");
	cr_assert_eq(q.regs->ev_head, ev0, "a refused DEFINE appended no event");

	/* The same QM VM on free resources is accepted, and runs. */
	struct mu_vm ivi = { .name = "ivi", .cpu = 3, .mem_pa = 0x52000000 };
	int iid = mu_define_guest(&q, &ivi, "shutdown-ack", STAGE_B);
	cr_assert_geq(iid, 0, "%s", q.err);
	struct hvq_reply r;
	uint64_t args[6] = { 0 };
	cr_assert_eq(hvq_command(&q, HVM_CMD_START, (uint32_t)iid, args, &r), 0, "%s", q.err);
	cr_assert_eq(r.status, HVM_OK, "START ivi: '%s'", r.msg);
	cr_assert_eq(mu_wait_heartbeat(&q, iid, 0, WAIT_S), 0, "%s", q.err);

	/* Oversubscribed: a CPU that already runs a vCPU takes no second one,
	 * and the refusal names who runs it. */
	struct mu_vm more = { .name = "more", .cpu = 3, .mem_pa = 0x54000000 };
	r = define_dts(&more);
	cr_expect_eq(r.status, HVM_E_CPU, "status %u: '%s'", r.status, r.msg);
	cr_expect(strstr(r.msg, "MGMT-047: 'more': CPU 3 already runs 'ivi'"), "'%s'", r.msg);

	/* Undefined, the safety VM's CPU is free again: it was the holder. */
	cr_assert_eq(hvq_command(&q, HVM_CMD_UNDEFINE, (uint32_t)sid, args, &r), 0, "%s", q.err);
	cr_assert_eq(r.status, HVM_OK, "UNDEFINE brake: '%s'", r.msg);
	struct mu_vm later = {
		.name = "later", .cpu = 2, .mem_pa = 0x50000000, .extra = GPIO_DEV("spis = <7>;")
	};
	cr_assert_geq(mu_define_guest(&q, &later, "gpio", STAGE_A), 0, "%s", q.err);
}
