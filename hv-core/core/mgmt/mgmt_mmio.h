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

/* Emulates the trapped access (ESR_EL2 esr) and steps the guest past it.
 * Returns 0, or -1 when the access cannot be emulated (no syndrome, not
 * naturally aligned): the caller treats it as a stage-2 fault (MGMT-212). */
int mgmt_mmio_trap(struct vcpu *v, struct trap_frame *f, uint64_t esr, uint64_t ipa);

/* MGMT-711 (command lock held): the answer to this transport's command req,
 * which was pending; and running a command of this transport that waited
 * while another one was pending. */
struct mgmt_reply;
void mgmt_mmio_complete(uint32_t req, const struct mgmt_reply *rep);
void mgmt_mmio_poll(void);

#endif
