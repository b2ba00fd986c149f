/*
 * psci.h - PSCI: hv-core as a caller of the firmware (CPU_ON for its own CPUs)
 * and as the PSCI implementation its guests see (the subset in docs/guest-abi.md).
 */
#ifndef HV_PSCI_H
#define HV_PSCI_H
#include <stdint.h>

#define PSCI_VERSION 0x84000000u
#define PSCI_CPU_SUSPEND 0x84000001u
#define PSCI_CPU_OFF 0x84000002u
#define PSCI_CPU_ON_32 0x84000003u
#define PSCI_CPU_ON_64 0xC4000003u
#define PSCI_AFFINITY_INFO_32 0x84000004u
#define PSCI_AFFINITY_INFO_64 0xC4000004u
#define PSCI_MIGRATE_INFO_TYPE 0x84000006u
#define PSCI_SYSTEM_OFF 0x84000008u
#define PSCI_SYSTEM_RESET 0x84000009u
#define PSCI_FEATURES 0x8400000Au

#define PSCI_E_SUCCESS 0
#define PSCI_E_NOT_SUPPORTED (-1)
#define PSCI_E_INVALID (-2)
#define PSCI_E_DENIED (-3)
#define PSCI_E_ALREADY_ON (-4)
#define PSCI_E_INVALID_ADDRESS (-9)

#define SMCCC_VERSION_ID 0x80000000u

/* Firmware call through the conduit the platform DT names ("smc"; "hvc" cannot
 * work from EL2 and is refused at boot). Returns x0. */
int64_t psci_fw_call(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3);
int64_t psci_cpu_on(uint64_t mpidr, uint64_t entry, uint64_t context);

struct trap_frame;
struct vcpu;
/* Handles a guest PSCI call (function id in f->x[0]); returns 1 when it was PSCI. */
int psci_guest_call(struct vcpu *v, struct trap_frame *f);
#endif
