/*
 * selftest.h - hv-core's boot self-test (REQ-SAF-02, REQ-SAF-03): read back
 * the hardware configuration hv-core wrote and walk its translation tables
 * before any VM starts. docs/mgmt-abi.md MGMT-190 lists the checks (bit n of
 * selftest_failed is check n).
 */
#ifndef HV_SELFTEST_H
#define HV_SELFTEST_H
#include <stdint.h>

/* Runs every check once; returns the mask of failed checks. inject: a mask of
 * checks whose subject is corrupted just before the check (fault injection,
 * to prove each check detects corruption), 0 in normal operation. */
uint32_t selftest_run(uint32_t inject);
/* MGMT-712 (REQ-SAF-04): the run-time checks of one service tick, after the
 * supervision pass; command lock held. A failure shuts off and holds back the
 * VMs it concerns. */
void selftest_tick(void);
uint32_t selftest_failed_mask(void);
uint32_t selftest_checks_run(void);
#endif
