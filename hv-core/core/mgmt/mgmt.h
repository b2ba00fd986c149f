/*
 * mgmt.h - hv-core's side of the management region (docs/mgmt-abi.md,
 * include/hvmgmt.h): set-up, the service tick on the service CPU, and
 * accessors for the per-VM parts of the region.
 */
#ifndef HV_MGMT_H
#define HV_MGMT_H
#include <stdint.h>
#include "hvmgmt.h"

struct vm;

/* Zeroes the region and writes its identification; hv_state stays BOOTING. */
void mgmt_init(uint64_t base, uint32_t pcpu_count, uint64_t staging_base, uint64_t staging_size);
/* Publishes READY with release ordering: the last step of boot (MGMT-010). */
void mgmt_set_ready(void);
/* One service tick: uptime, ticks, every VM slot, and at most one command. */
void mgmt_tick(void);
/* Refreshes a VM's status slot from the VM and its cooperation page (MGMT-150). */
void mgmt_publish_slot(struct vm *vm);

/* UNDEFINE: slot id reads as not defined (MGMT-150). */
void mgmt_clear_slot(uint32_t id);

/* MGMT-214: held while a command runs (either transport) and while the tick
 * supervises the VMs. Never taken by code a command calls. */
void mgmt_cmd_lock(void);
void mgmt_cmd_unlock(void);

volatile struct hvm_regs *mgmt_regs(void);
/* The image staging area as hv-core set it up. Never read back from the
 * register page: a client can write there, and LOAD_IMAGE must not copy from
 * wherever it points (REQ-SAF-09). */
uint64_t mgmt_staging_base(void);
uint64_t mgmt_staging_size(void);
volatile struct hvm_vm_slot *mgmt_slot(uint32_t id);
volatile struct hvm_fault *mgmt_fault(uint32_t id);
volatile struct hvm_console *mgmt_console(uint32_t id);

/* Appends an event (MGMT-140); returns its sequence number. Any CPU may call. */
uint64_t events_append(uint32_t type, uint32_t vm_id, uint32_t detail, uint32_t reason);
#endif
