/*
 * irq.c - physical interrupt dispatch at EL2 (see irq.h).
 *
 * Interrupts hv-core consumes itself are finished (priority drop and
 * deactivation) before their handler runs, because an IPI handler may never
 * return. Interrupts handed to a guest (its virtual and EL1 physical timers,
 * pass-through SPIs) only
 * get their priority dropped: they stay active until the guest deactivates the
 * virtual interrupt, which the hardware-linked list register forwards to the
 * physical one (vgic.c).
 */
#include "irq.h"
#include "ipi.h"
#include "gicv3.h"
#include "cpu.h"
#include "vcpu.h"
#include "vgic.h"
#include "sysregs.h"

unsigned irq_handle_all(void)
{
	unsigned n = 0;
	/* bounded: a level interrupt whose source stays asserted must not keep
	 * this CPU here */
	for (unsigned round = 0; round < 64; round++) {
		uint32_t intid = gicv3_ack();
		if (intid >= 1020)
			return n;
		n++;
		struct vcpu *v = cpu_current()->vcpu;
		if (intid == GIC_INTID_VTIMER || intid == GIC_INTID_PTIMER ||
		    (intid >= 32 && v && vgic_owns_hw_spi(v, intid))) {
			gicv3_drop(intid);
			if (!v || !vcpu_runnable(v) || vgic_inject_hw(v, intid) != 0) {
				/* nobody to give it to: silence the source, then finish it */
				if (intid == GIC_INTID_VTIMER)
					write_sysreg(cntv_ctl_el0, 0);
				else if (intid == GIC_INTID_PTIMER)
					write_sysreg(cntp_ctl_el0, 0);
				else
					gicv3_disable_spi(intid);
				gicv3_deactivate(intid);
			}
			continue;
		}
		if (intid == GIC_INTID_HYP_TIMER) {
			/* a wake-up only: silence the timer (level-triggered), whoever
			 * sleeps arms it again */
			write_sysreg(cnthp_ctl_el2, 0);
			isb();
		}
		gicv3_eoi(intid);
		if (intid == IPI_SGI)
			ipi_handle();
		else if (intid == GIC_INTID_MAINT)
			vgic_maintenance();
		else if (intid >= 32)
			gicv3_disable_spi(intid); /* an SPI no VM on this CPU owns (its VM
						     stopped): keep it from coming back */
						  /* anything else unexpected is dropped */
	}
	return n;
}
