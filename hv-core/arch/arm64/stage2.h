/*
 * stage2.h - per-VM stage-2 translation (IPA -> PA) tables. Whatever a VM's
 * stage 2 does not map traps to hv-core as a stage-2 abort: that is how virtual
 * devices are emulated and how accesses outside a VM's memory are caught
 * (REQ-SAF-10, REQ-SAF-19).
 */
#ifndef HV_STAGE2_H
#define HV_STAGE2_H
#include <stdint.h>
#include "hvmgmt.h"

struct stage2 {
	uint64_t *l1; /* level-1 table: 4 GiB IPA space, 1 GiB per entry */
	uint16_t vmid;
};

enum s2_attr {
	S2_NORMAL_RW,
	S2_DEVICE_RW,
	S2_NORMAL_RO
};

/* Returns HVM_OK or HVM_E_INTERNAL with msg filled (out of table memory). */
enum hvm_status stage2_init(struct stage2 *s2, uint16_t vmid, char *msg, unsigned msglen);
enum hvm_status stage2_map(struct stage2 *s2, uint64_t ipa, uint64_t pa, uint64_t size,
			   enum s2_attr attr, char *msg, unsigned msglen);
/* Frees every table page of s2 (back to the page heap) and removes the VMID's
 * TLB entries on all CPUs. Only when no vCPU of the VM can run. s2->l1 is NULL
 * afterwards; calling it again does nothing. */
void stage2_destroy(struct stage2 *s2);
uint64_t stage2_vttbr(const struct stage2 *s2);
/* A checksum of every entry of s2's tables (REQ-SAF-04): a change of any
 * entry changes it. About 4 instructions per entry, 512 entries per page. */
uint64_t stage2_checksum(const struct stage2 *s2);
/* VTCR_EL2 as stage2_activate() loads it (REQ-SAF-02: the self-test checks it). */
extern const uint64_t stage2_vtcr;
/* Loads VTCR_EL2/VTTBR_EL2 for this VM on the calling CPU and flushes its TLB entries. */
void stage2_activate(const struct stage2 *s2);
#endif
