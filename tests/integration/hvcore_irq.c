/*
 * hvcore_irq.c - interrupt virtualization and multi-vCPU VMs under QEMU
 * (REQ-STD-06, REQ-SAF-19; docs/guest-abi.md GABI-012, GABI-050; VMCFG-091..094).
 *
 * rtos-demo counts its virtual timer interrupts (INTID 27, delivered through
 * the list registers) and beats its heartbeat from them; irq-test (2 vCPUs)
 * prints what it observed of PSCI, its emulated distributor, SGIs between its
 * vCPUs (including more at once than there are list registers) and a
 * pass-through SPI. The test reads the VMs' console rings and status slots in
 * the management region. Waits are bounded; nothing asserts a duration.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "hvqemu.h"
#include "hvguest.h"

#define WAIT_S 120

static struct hvq q;

static void boot(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = "rtos-demo";
	o.guests[1] = "irq-test";
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
}

static void teardown(void)
{
	hvq_stop(&q);
}

static void wait_console(int id, const char *text)
{
	if (hvq_wait_console(&q, id, text, WAIT_S) != 0)
		cr_assert_fail("%s", q.err);
}

static int find(const char *name)
{
	int id = hvq_find_vm(&q, name);
	cr_assert_geq(id, 0, "no VM named %s", name);
	return id;
}

struct slot_wait {
	int id;
	uint64_t heartbeat;
};

static int heartbeat_at_least(struct hvq *h, void *arg)
{
	struct slot_wait *w = arg;
	struct hvm_vm_slot s;
	return hvq_read_slot(h, (uint32_t)w->id, &s) == 0 && s.heartbeat >= w->heartbeat;
}

/* The line of irq-test's console that starts with "irq-test: <what> ". */
static void expect_line(int id, const char *what, const char *value)
{
	char line[160];
	snprintf(line, sizeof(line), "irq-test: %s %s\n", what, value);
	char buf[HVM_CONSOLE_SIZE + 1];
	hvq_read_console(&q, (uint32_t)id, buf, sizeof(buf));
	cr_expect(strstr(buf, line) != NULL, "expected '%.*s' on irq-test's console:\n%s",
		  (int)strlen(line) - 1, line, buf);
}

TestSuite(hvcore_irq, .init = boot, .fini = teardown, .timeout = 900);

Test(hvcore_irq, rtos_demo_runs_from_its_virtual_timer_interrupt)
{
	int id = find("rtos-demo");
	/* rtos-demo only beats from timer ticks: 100 beats need 500 interrupts */
	wait_console(id, "rtos-demo: heartbeat 100 timer ticks 500");
	/* the status slot follows the cooperation page at the next service tick */
	struct slot_wait w = { id, 100 };
	cr_assert_eq(hvq_wait(&q, heartbeat_at_least, &w, WAIT_S), 0,
		     "heartbeat never reached 100 in the slot: %s", q.err);
	struct hvm_vm_slot s;
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)id, &s), 0, "%s", q.err);
	cr_expect_eq(s.guest_state, HVG_GS_RUNNING);
}

Test(hvcore_irq, psci_starts_the_second_vcpu_and_answers_for_the_vm_alone)
{
	int id = find("irq-test");
	wait_console(id, "irq-test: done");
	expect_line(id, "psci version", "0x10000");
	expect_line(id, "psci features cpu_on", "0");
	expect_line(id, "psci affinity_info cpu1 before", "1"); /* OFF until CPU_ON */
	expect_line(id, "psci cpu_on cpu1", "0");
	expect_line(id, "cpu1 up", "1");
	expect_line(id, "psci cpu_on cpu1 again", "-4"); /* ALREADY_ON */
	expect_line(id, "psci cpu_on cpu5", "-2");       /* not this VM's vCPU */
	expect_line(id, "psci cpu_on bad entry", "-9");  /* outside its memory */
	expect_line(id, "psci affinity_info cpu1 after", "0");
	expect_line(id, "dtb", "0x40ff0000"); /* x0: its device tree */
}

Test(hvcore_irq, distributor_shows_only_the_vms_own_interrupts)
{
	int id = find("irq-test");
	wait_console(id, "irq-test: done");
	expect_line(id, "typer itlines", "2"); /* 64 SPIs: INTIDs up to 95 */
	expect_line(id, "typer lpis", "0");
	expect_line(id, "typer2", "0");
	/* INTID 200 and 500 exist on the physical GIC but not in this VM: RAZ/WI */
	expect_line(id, "foreign isenabler", "0x0");
	expect_line(id, "foreign ipriority", "0x0");
	expect_line(id, "foreign irouter", "0x0");
	expect_line(id, "own ipriority", "0xa0");
	expect_line(id, "own isenabler", "0x10000000");
}

Test(hvcore_irq, sgis_reach_the_other_vcpu_also_beyond_the_list_registers)
{
	int id = find("irq-test");
	wait_console(id, "irq-test: done");
	expect_line(id, "sgi 1 received", "1");
	/* SGIs 1..9: eight sent while vCPU 1 masked interrupts, more than the
	 * four list registers of the emulated CPU */
	expect_line(id, "sgis received by cpu1", "0x3fe");
	char serial[1 << 16];
	FILE *fp = fopen(q.serial, "r");
	cr_assert(fp, "cannot open %s", q.serial);
	size_t n = fread(serial, 1, sizeof(serial) - 1, fp);
	fclose(fp);
	serial[n] = 0;
	cr_expect(strstr(serial, "'irq-test' vCPU 1: more virtual interrupts than list registers") !=
			  NULL,
		  "no maintenance-interrupt refill logged for irq-test vCPU 1");
}

Test(hvcore_irq, passthrough_spi_is_delivered_to_the_vcpu_it_is_routed_to)
{
	int id = find("irq-test");
	wait_console(id, "irq-test: done");
	expect_line(id, "passthrough spi on cpu0", "1");
	expect_line(id, "passthrough spi on cpu1", "1");
}

/* GABI-050: the EL1 physical timer's interrupt (INTID 30) reaches the guest
 * as the virtual timer's does; the guest re-arms it twice from its handler. */
Test(hvcore_irq, el1_physical_timer_interrupt_arrives)
{
	int id = find("irq-test");
	wait_console(id, "irq-test: done");
	expect_line(id, "ptimer interrupts", "3");
}

Test(hvcore_irq, irq_test_timer_keeps_ticking_after_the_tests)
{
	int id = find("irq-test");
	wait_console(id, "irq-test: timer ticks 200");
}
