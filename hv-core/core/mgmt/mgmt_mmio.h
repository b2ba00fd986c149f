/*
 * mgmt_mmio.h - the trapped-MMIO transport of the management interface
 * (docs/mgmt-abi.md MGMT-112, MGMT-210..215): the management VM (vm-config
 * `management`, VMCFG-027) sees the management region at VMCFG_MGMT_IPA, with
 * its register page trapped and emulated here, and the rest of the region
 * mapped in its stage 2.
 */
#ifndef HV_MGMT_MMIO_H
#define HV_MGMT_MMIO_H
#include <stdint.h>
#include "hvmgmt.h"

struct vm;
struct vcpu;
struct trap_frame;

/* MGMT-211: maps the region into the management VM's stage 2 (register page
 * left out, event ring to console rings read-only, the transport's own data
 * area read-write) and resets the transport's command block. Called once when
 * the VM is defined: at boot, or by DEFINE with the command lock held. */
enum hvm_status mgmt_mmio_map(struct vm *vm, char *msg, unsigned len);

/* Whether a stage-2 abort of vm at ipa is an access to the register page that
 * this transport emulates (vm is the management VM). */
int mgmt_mmio_claims(const struct vm *vm, uint64_t ipa);

/* Emulates the trapped access (ESR_EL2 esr) and steps the guest past it.
 * Returns 0, or -1 when the access cannot be emulated (no syndrome, not
 * naturally aligned): the caller treats it as a stage-2 fault (MGMT-212). */
int mgmt_mmio_trap(struct vcpu *v, struct trap_frame *f, uint64_t esr, uint64_t ipa);

/* For the boot self-test (MGMT-190 check 6): whether [ipa, +size) -> pa is
 * a mapping mgmt_mmio_map() makes for vm. */
int mgmt_mmio_allowed(const struct vm *vm, uint64_t ipa, uint64_t pa, uint64_t size);
#endif
