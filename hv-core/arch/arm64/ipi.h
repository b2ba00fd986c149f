/*
 * ipi.h - inter-processor interrupts between hv-core's physical CPUs at EL2.
 *
 * One physical SGI (IPI_SGI) carries every kind: ipi_send() sets the kind's bit
 * in the target CPU's pending word and raises the SGI; the target runs the
 * handler registered for each pending kind. Kinds coalesce: several sends of
 * one kind before the target runs may give one handler call, so a handler
 * looks at shared state rather than counting calls.
 *
 * Where the handlers run: on the target CPU, at EL2 with interrupts masked,
 * after the SGI was acknowledged and deactivated. When that CPU was running a
 * vCPU, the vCPU has exited (its registers are in a trap frame) and re-enters
 * the guest after the handlers return; a handler may also not return (stop the
 * vCPU and call cpu_idle()). A CPU waiting in cpu_idle() or in a trapped WFI
 * wakes up and runs the handlers too.
 */
#ifndef HV_IPI_H
#define HV_IPI_H
#include <stdint.h>

#define IPI_SGI 0u /* the physical SGI used for all kinds (also the idle wake-up) */

enum ipi_kind {
	IPI_WAKE = 0,  /* nothing to run: wake an idle CPU so it looks at its vCPU   */
	IPI_KICK = 1,  /* make the running vCPU exit to EL2 (requests to process)    */
	IPI_VGIC = 2,  /* a virtual interrupt became pending for this CPU's vCPU     */
	IPI_CHECK = 3, /* run-time checks of this CPU's EL2 registers (MGMT-712)    */
	IPI_USER = 4,  /* first kind free for other users; kinds go up to 31         */
	IPI_KINDS = 32
};

typedef void (*ipi_handler_fn)(unsigned kind);

/* Sends kind (< IPI_KINDS) to physical CPU pcpu. Sending to the calling CPU
 * works (the handler runs when interrupts are next taken). Unknown CPUs and
 * kinds are ignored. */
void ipi_send(unsigned pcpu, unsigned kind);
/* Registers fn for kind (one handler per kind; NULL removes it). Returns 0, or
 * -1 for a kind out of range. Kinds without a handler just wake the CPU. */
int ipi_register(unsigned kind, ipi_handler_fn fn);
/* Runs the handlers of the kinds pending for the calling CPU. Called by the
 * interrupt dispatch (irq.c) after IPI_SGI was acknowledged and deactivated. */
void ipi_handle(void);
/* Kinds pending for the calling CPU (for a WFI loop deciding whether to wake). */
uint32_t ipi_pending(void);
#endif
