/*
 * vm.h - the VM table: one struct vm per defined VM, its configuration, state,
 * stage-2 tables, cooperation page and virtual devices. VMs are created from a
 * struct vm_config by vm_create(), whatever produced the configuration (the
 * built-in table now, the device-tree configuration parser later).
 */
#ifndef HV_VM_H
#define HV_VM_H
#include <stdint.h>
#include "hvmgmt.h"
#include "hvguest.h"
#include "stage2.h"
#include "spinlock.h"
#include "vpl011.h"
#include "vcpu.h"

#define HV_MAX_VCPUS 4

/* What a VM is made of (docs/vm-config.md will define the device-tree form). */
struct vm_config {
	char     name[HVM_NAME_LEN];
	uint8_t  uuid[16];
	uint32_t vcpus;          /* vCPU i runs on the i-th CPU set in pcpu_mask   */
	uint64_t pcpu_mask;
	uint64_t mem_ipa;        /* guest-physical base of its RAM                  */
	uint64_t mem_pa;         /* where that RAM is in physical memory            */
	uint64_t mem_size;
	uint64_t image_pa;       /* the guest image in the image store (arm64 Image) */
	uint64_t image_max;      /* bytes reserved for it there                     */
	uint32_t criticality;    /* 0 = QM, 1..4 = ASIL-A..D                        */
	uint32_t fault_policy;
	uint32_t watchdog_ms;    /* 0 = none                                        */
	int      autostart;
};

struct vm_console_line {
	char     buf[128];
	unsigned len;
};

struct vm {
	int      used;
	uint32_t id;             /* slot index in the management region             */
	struct vm_config cfg;
	volatile uint32_t state; /* enum hvm_vm_state                               */
	volatile uint32_t reason;/* enum hvm_vm_reason                              */
	struct stage2 s2;
	struct vcpu vcpu[HV_MAX_VCPUS];
	volatile struct hvg_coop_page *coop;
	uint64_t coop_ipa;
	uint64_t entry_ipa;
	struct vpl011 uart;
	struct vm_console_line line;
	spinlock_t lock;         /* state changes, slot and fault record writes     */
	spinlock_t console_lock;
	uint64_t hb_last;        /* heartbeat.c */
	uint64_t hb_changed_ns;
	uint32_t fault_count;
	uint32_t restart_count;
};

extern struct vm vms[HVM_MAX_VMS];

/* REQ-SAF-09: validates cfg against the platform and the other VMs; on refusal
 * nothing changes and msg names what was wrong. */
enum hvm_status vm_create(const struct vm_config *cfg, struct vm **out, char *msg, unsigned msglen);
/* Copies the image from the store into the VM's memory, resets the cooperation
 * page and hands the vCPUs to their physical CPUs. */
enum hvm_status vm_start(struct vm *vm, char *msg, unsigned msglen);
uint32_t vm_count(void);

/* Guest fault: record it, stop the VM (CRASHED), park this CPU. Never returns. */
struct trap_frame;
void vm_fault(struct vcpu *v, struct trap_frame *f, uint32_t kind, uint64_t esr)
	__attribute__((noreturn));
/* Guest-reported fault (hypercall): recorded, the VM keeps running. */
void vm_fault_report(struct vcpu *v, struct trap_frame *f, uint64_t code);
/* Guest asked to power off (PSCI SYSTEM_OFF): SHUTOFF/SHUTDOWN. Never returns. */
void vm_guest_poweroff(struct vcpu *v) __attribute__((noreturn));
#endif
