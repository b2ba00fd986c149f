/*
 * ipi.c - hv-core's inter-processor interrupts: one physical SGI plus a
 * per-CPU word of pending kinds (see ipi.h for the contract).
 */
#include "ipi.h"
#include "cpu.h"
#include "gicv3.h"
#include "sysregs.h"

static volatile uint32_t pending[HV_MAX_CPUS];
static ipi_handler_fn handlers[IPI_KINDS];

void ipi_send(unsigned pcpu, unsigned kind)
{
	if (pcpu >= HV_MAX_CPUS || kind >= IPI_KINDS)
		return;
	__atomic_fetch_or(&pending[pcpu], 1u << kind, __ATOMIC_RELEASE);
	/* the pending bit is visible before the SGI can be taken (gicv3_send_sgi
	 * issues a DSB before writing ICC_SGI1R_EL1) */
	uint64_t mpidr = pcpus[pcpu].mpidr;
	if (pcpu == cpu_index())
		mpidr = cpu_mpidr();
	else if (!pcpus[pcpu].online)
		return; /* it looks at its pending word when it comes up */
	gicv3_send_sgi(mpidr, IPI_SGI);
}

int ipi_register(unsigned kind, ipi_handler_fn fn)
{
	if (kind >= IPI_KINDS)
		return -1;
	__atomic_store_n(&handlers[kind], fn, __ATOMIC_RELEASE);
	return 0;
}

uint32_t ipi_pending(void)
{
	return __atomic_load_n(&pending[cpu_index()], __ATOMIC_ACQUIRE);
}

void ipi_handle(void)
{
	uint32_t bits = __atomic_exchange_n(&pending[cpu_index()], 0, __ATOMIC_ACQ_REL);
	while (bits) {
		unsigned kind = (unsigned)__builtin_ctz(bits);
		bits &= bits - 1;
		ipi_handler_fn fn = __atomic_load_n(&handlers[kind], __ATOMIC_ACQUIRE);
		if (fn) {
			/* a handler that does not return loses the kinds after it: put
			 * them back first so the next interrupt runs them */
			if (bits) {
				__atomic_fetch_or(&pending[cpu_index()], bits, __ATOMIC_RELEASE);
				gicv3_send_sgi(cpu_mpidr(), IPI_SGI);
			}
			fn(kind);
			bits = __atomic_exchange_n(&pending[cpu_index()], 0, __ATOMIC_ACQ_REL);
		}
	}
}
