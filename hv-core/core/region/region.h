/*
 * region.h - the management region (docs/mgmt-abi.md, include/hvmgmt.h) as the
 * parts of hv-core that publish into it see it: the register page, each VM's
 * status slot, fault record and console ring, and the event ring (events.c).
 * The management service (mgmt/) lays the region out and serves commands
 * through it; vm/, comm/ and boot/ publish what happens to the VMs.
 */
#ifndef HV_REGION_H
#define HV_REGION_H
#include <stdint.h>
#include "hvmgmt.h"

/* Where the region and the image staging area are (mgmt_init() calls it). */
void mgmt_region_set(uint64_t base, uint64_t staging_base, uint64_t staging_size);

volatile struct hvm_regs *mgmt_regs(void);
/* The image staging area as hv-core set it up. Never read back from the
 * register page: a client can write there, and LOAD_IMAGE must not copy from
 * wherever it points (REQ-SAF-09). */
uint64_t mgmt_staging_base(void);
uint64_t mgmt_staging_size(void);
volatile struct hvm_vm_slot *mgmt_slot(uint32_t id);
volatile struct hvm_fault *mgmt_fault(uint32_t id);
/* Writes the record's magic, version and size (MGMT-162). */
void mgmt_fault_header(volatile struct hvm_fault *f);
volatile struct hvm_console *mgmt_console(uint32_t id);
/* VM id's virtio-blk request ring (MGMT-860). */
volatile struct hvm_blk_ring *mgmt_blk_ring(uint32_t id);
/* VM id's virtio-blk bounce area, HVM_BLK_BOUNCE_SIZE bytes of hv-core's own
 * memory outside the region and every VM's RAM (MGMT-864). */
uint8_t *mgmt_blk_bounce(uint32_t id);

/* The gen protocol of slots and fault records (MGMT-150, MGMT-160) with the
 * count kept in hv-core's memory (MGMT-301): begin makes the published gen
 * odd, end makes it even again. A client that rewrites gen misleads only
 * itself. */
void mgmt_slot_begin(uint32_t id);
void mgmt_slot_end(uint32_t id);
void mgmt_fault_begin(uint32_t id);
void mgmt_fault_end(uint32_t id);

/* UNDEFINE: slot id reads as not defined (MGMT-150). */
void mgmt_clear_slot(uint32_t id);

/* Appends an event (MGMT-140); returns its sequence number. Any CPU may call. */
uint64_t events_append(uint32_t type, uint32_t vm_id, uint32_t detail, uint32_t reason);
/* events_append() that also gives the time the event carries (time_ns), for
 * a rate limit measured between the events' own times (MGMT-051, MGMT-052). */
uint64_t events_append_stamped(uint32_t type, uint32_t vm_id, uint32_t detail, uint32_t reason,
			       uint64_t *time_ns);
#endif
