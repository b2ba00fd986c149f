/*
 * cpu.c - physical CPU bookkeeping: per-CPU data and stacks, secondary CPU
 * bring-up through the firmware's PSCI CPU_ON. Their idle loop, which runs
 * the vCPU pinned to them, is vcpu.c's cpu_idle().
 */
#include "cpu.h"
#include "platform.h"
#include "psci.h"
#include "log.h"
#include "sysregs.h"
#include "timer.h"
#include "gicv3.h"

struct pcpu pcpus[HV_MAX_CPUS];
uint8_t hv_stacks[HV_MAX_CPUS][HV_STACK_SIZE] __attribute__((aligned(16)));

extern char hv_secondary_entry[];

void cpu_set_current(uint32_t index)
{
	pcpus[index].index = index;
	write_sysreg(tpidr_el2, (uint64_t)(uintptr_t)&pcpus[index]);
}

struct pcpu *cpu_current(void)
{
	uintptr_t p = (uintptr_t)read_sysreg(tpidr_el2);
	if (p < (uintptr_t)&pcpus[0] || p > (uintptr_t)&pcpus[HV_MAX_CPUS - 1])
		return &pcpus[0];
	return (struct pcpu *)p;
}

uint32_t cpu_index(void)
{
	return cpu_current()->index;
}

void cpu_start_secondaries(void)
{
	for (uint32_t i = 1; i < platform.ncpus && i < HV_MAX_CPUS; i++) {
		pcpus[i].index = i;
		pcpus[i].mpidr = platform.cpu_mpidr[i];
		int64_t r = psci_cpu_on(platform.cpu_mpidr[i],
					(uint64_t)(uintptr_t)hv_secondary_entry, i);
		if (r != 0) {
			hv_log("cpu %u (mpidr 0x%lx): PSCI CPU_ON failed with %ld", i,
			       (unsigned long)platform.cpu_mpidr[i], (long)r);
			continue;
		}
		/* bounded wait: a CPU that does not come up is reported, not waited for forever */
		uint64_t deadline = timer_count() + timer_freq();
		while (!pcpus[i].online && timer_count() < deadline)
			__asm__ volatile("yield");
		if (!pcpus[i].online)
			hv_log("cpu %u (mpidr 0x%lx): did not come online within 1 s", i,
			       (unsigned long)platform.cpu_mpidr[i]);
	}
}
