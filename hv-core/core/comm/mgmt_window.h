/*
 * mgmt_window.h - the management VM's window onto the management region
 * (docs/mgmt-abi.md MGMT-211..213): the management VM (vm-config `management`,
 * VMCFG-027) sees the region at VMCFG_MGMT_IPA, its register page left out of
 * its stage 2 (trapped and emulated by mgmt/mgmt_mmio.c) and the rest mapped.
 */
#ifndef HV_MGMT_WINDOW_H
#define HV_MGMT_WINDOW_H
#include <stdint.h>
#include "hvmgmt.h"

struct vm;

#define MGMT_WINDOW_REG_PAGE 0x1000ull /* the trapped register page */

/* The trapped transport's command/completion blocks (only 0x100..0x1FF are
 * used) and data area; one management VM at most (VMCFG-088). Guarded by the
 * command lock. */
extern struct hvm_regs mgmt_window_shadow;
extern uint8_t mgmt_window_data[HVM_DATA_SIZE];

/* MGMT-211: maps the region into the management VM's stage 2 (register page
 * left out, event ring to console rings read-only, the transport's own data
 * area read-write) and resets the transport's command block. Called once when
 * the VM is defined: at boot, or by DEFINE with the command lock held. */
enum hvm_status mgmt_window_map(struct vm *vm, char *msg, unsigned len);

/* Whether a stage-2 abort of vm at ipa is an access to the register page that
 * the trapped transport emulates (vm is the management VM). */
int mgmt_window_claims(const struct vm *vm, uint64_t ipa);

/* For the boot self-test (MGMT-190 check 6): whether [ipa, +size) -> pa is
 * a mapping mgmt_window_map() makes for vm. */
int mgmt_window_allowed(const struct vm *vm, uint64_t ipa, uint64_t pa, uint64_t size);
#endif
