/*
 * bench_double.h - the hv-core TEST DOUBLE (tests/double/) as the benchmarks
 * that measure hv-agent alone set it up: N running VMs, so that hv-agent's
 * cost is measured without QEMU.
 */
#ifndef BENCH_DOUBLE_H
#define BENCH_DOUBLE_H

#include "hvcore_double.h"

/* A double on the guest-RAM file ram with nvms (1..8) VMs "vm-0".."vm-N-1",
 * each RUNNING with one vCPU on CPU i, 64 MiB and image version "1.0"; not
 * started (fakecore_start). NULL with errno set on failure. */
struct fakecore *bench_double_running(const char *ram, unsigned nvms);

#endif
