/*
 * double_vms.h - the set-up shared by the suites that run hv-agent against the
 * test double of hv-core with the Python gRPC clients (agent_python,
 * agent_robust, agent_frame): a fresh directory, the double's RAM file in it,
 * a work directory for the clients, and the double with its two VMs.
 */
#ifndef DOUBLE_VMS_H
#define DOUBLE_VMS_H

#include <stddef.h>

#include "hvcore_double.h"

/* VM 0 "linux": running, 2 vCPUs on CPUs 0-1, 256 MiB, image 1.2.3.
 * VM 1 "rtos": shut off, 1 vCPU on CPU 2, 16 MiB, ASIL-D. */
extern const struct fakecore_vm double_vm_linux, double_vm_rtos;

/* Makes dir from the mkdtemp template tmpl, ram = dir/guest-ram and
 * work = dir/py, and starts the double on ram with both VMs. Fails the test
 * (Criterion assertions) when any step fails. */
struct fakecore *double_vms_start(const char *tmpl, char *dir, size_t dir_len, char *ram,
				  size_t ram_len, char *work, size_t work_len);

/* 1 while a command submitted to the double is not completed yet. */
int double_outstanding(struct fakecore *fc);

/* Bounded poll (60 s) for a condition; the message says what never came. */
#define WAIT_FOR(cond, what)                                                                       \
	do {                                                                                       \
		int ok_ = 0;                                                                       \
		for (int i_ = 0; i_ < 6000; i_++) {                                                \
			if (cond) {                                                                \
				ok_ = 1;                                                           \
				break;                                                             \
			}                                                                          \
			usleep(10000);                                                             \
		}                                                                                  \
		cr_assert(ok_, "timed out waiting for %s", what);                                  \
	} while (0)

#endif /* DOUBLE_VMS_H */
