/*
 * main.c - hv-core's boot sequence on the boot CPU and on secondary CPUs, and
 * the service loop. CPU 0 stands where the ServiceOS will be: it runs no guest,
 * only the management service tick (about every 10 ms, sleeping in WFI between)
 * and, between ticks, the units of boots and image loads (MGMT-711).
 */
#include <string.h>
#include "hvconfig.h"
#include "platform.h"
#include "cpu.h"
#include "mmu.h"
#include "mgmt.h"
#include "vm.h"
#include "bootcfg.h"
#include "channel.h"
#include "pl011.h"
#include "gicv3.h"
#include "timer.h"
#include "sysregs.h"
#include "log.h"

#define SERVICE_TICK_NS 10000000ull

void hv_main(uint64_t dtb);
void hv_secondary_main(uint64_t index);
void log_mmu_ready(void);

static void cpu_gic_setup(struct pcpu *c)
{
	if (gicv3_init_cpu(c->mpidr) != 0)
		hv_panic("no GIC redistributor for mpidr 0x%lx", (unsigned long)c->mpidr);
	gicv3_enable_ppi(c->mpidr, GIC_INTID_HYP_TIMER);
	gicv3_enable_ppi(c->mpidr, 0); /* SGI 0: wake-up for an idle CPU */
}

void hv_main(uint64_t dtb)
{
	char msg[128];
	cpu_set_current(0);
	mmu_init_primary();
	log_mmu_ready();
	timer_init();
	hv_log("%s at EL2, device tree at 0x%lx", HV_VERSION, (unsigned long)dtb);
	if (platform_init(dtb, msg, sizeof(msg)) != 0)
		hv_panic("%s", msg);
	pl011_init(platform.uart);
	mmu_map_ram(platform.ram_base, platform.ram_size);
	hv_log("platform: %u CPUs, RAM 0x%lx+0x%lx, GICD 0x%lx GICR 0x%lx, UART 0x%lx",
	       platform.ncpus, (unsigned long)platform.ram_base, (unsigned long)platform.ram_size,
	       (unsigned long)platform.gicd, (unsigned long)platform.gicr,
	       (unsigned long)platform.uart);
	if (platform.ram_base > HV_IMAGE_BASE || platform.ram_base + platform.ram_size < HV_GUEST_BASE)
		hv_panic("RAM 0x%lx+0x%lx does not cover hv-core's memory map",
			 (unsigned long)platform.ram_base, (unsigned long)platform.ram_size);

	mgmt_init(HV_MGMT_BASE, platform.ncpus, platform.staging, HV_STAGING_SIZE);
	pcpus[0].mpidr = platform.cpu_mpidr[0];
	if ((read_sysreg(mpidr_el1) & 0xFF00FFFFFFull) != pcpus[0].mpidr)
		hv_log("boot CPU mpidr 0x%lx is not the first cpu node (0x%lx)",
		       (unsigned long)(read_sysreg(mpidr_el1) & 0xFF00FFFFFFull),
		       (unsigned long)pcpus[0].mpidr);
	gicv3_init_dist(platform.gicd, platform.gicr, platform.gicr_size);
	cpu_gic_setup(&pcpus[0]);
	pcpus[0].online = 1;

	cpu_start_secondaries();
	/* virtio-net frames between VMs go through the channel checks (GABI-493) */
	virtio_set_net_switch(channel_net_switch);
	/* boot configuration (none: no VM), self-test, autostart */
	bootcfg_start();

	mgmt_set_ready();
	hv_log("ready: management region at 0x%lx, %u VM(s)", (unsigned long)HV_MGMT_BASE,
	       vm_count());

	uint64_t period = timer_ns_to_count(SERVICE_TICK_NS);
	uint64_t next = timer_count() + period;
	for (;;) {
		mgmt_tick();
		mgmt_work(next);        /* MGMT-711: boots and image loads, between ticks */
		mgmt_serve_until(next); /* MGMT-112: commands between ticks */
		next += period;
		uint64_t now = timer_count();
		if (next < now)
			next = now + period; /* fell behind (host was busy): do not burst */
	}
}

void hv_secondary_main(uint64_t index)
{
	cpu_set_current((uint32_t)index);
	mmu_enable_secondary();
	struct pcpu *c = cpu_current();
	c->mpidr = read_sysreg(mpidr_el1) & 0xFF00FFFFFFull;
	cpu_gic_setup(c);
	__atomic_store_n(&c->online, 1, __ATOMIC_RELEASE);
	hv_log("cpu %u online (mpidr 0x%lx)", c->index, (unsigned long)c->mpidr);
	cpu_idle();
}
