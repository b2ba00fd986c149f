/*
 * vm.h - the VM table: one struct vm per defined VM, its configuration, state,
 * stage-2 tables, cooperation page and virtual devices. VMs are created from a
 * struct vm_config by vm_create(); vmdef.c produces it from a device-tree
 * configuration (DEFINE or the boot configuration).
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
#include "virtio_mmio.h"
#include "sha256.h"

#define HV_MAX_VCPUS 4
#define VM_FAULT_KINDS 8 /* > the largest enum hvm_fault_kind */

/* What a VM is made of (docs/vm-config.md will define the device-tree form). */
struct vm_config {
	char name[HVM_NAME_LEN];
	uint8_t uuid[16];
	uint32_t vcpus; /* vCPU i runs on the i-th CPU set in pcpu_mask   */
	uint64_t pcpu_mask;
	uint64_t mem_ipa; /* guest-physical base of its RAM                  */
	uint64_t mem_pa;  /* where that RAM is in physical memory            */
	uint64_t mem_size;
	uint64_t image_pa;    /* the guest image in the image store (arm64 Image) */
	uint64_t image_max;   /* bytes reserved for it there                     */
	uint32_t criticality; /* 0 = QM, 1..4 = ASIL-A..D                        */
	uint32_t fault_policy;
	uint32_t watchdog_ms;   /* 0 = none                                        */
	uint32_t stop_grace_ms; /* VMCFG-331: stop hook's grace period, 0 = none */
	uint32_t abort_policy;  /* VMCFG-700: enum vmcfg_abort_policy            */
	int autostart;
	/* lifecycle and fault containment (vm_life.c) */
	uint32_t restart_max; /* policy restarts allowed within restart_window_ms */
	uint32_t restart_window_ms;
	uint32_t boot_order;
	/* image from a vm-config blob (VMCFG-050): copied image_size bytes to
	 * load_ipa, entered at entry_ipa. entry_ipa == 0: the built-in form, an
	 * arm64 Image header at image_pa says size and text offset. */
	uint64_t load_ipa;
	uint64_t entry_ipa;
	uint64_t image_size;
	int has_sha256; /* REQ-SAF-12: checked before every load           */
	uint8_t image_sha256[32];
	/* guest device tree and Linux boot (core/guest_boot.c, VMCFG-051..053) */
	uint64_t initrd_pa;   /* initrd in the image store, 0 = none             */
	uint64_t initrd_max;  /* bytes reserved for it there                     */
	uint64_t initrd_size; /* 0: its length is found in the slot (zero-padded) */
	uint64_t initrd_ipa;  /* 0: in the middle of its memory                  */
	uint64_t fdt_ipa;     /* 0: the top 64 KiB of its memory                 */
	char bootargs[256];
	uint32_t n_pt_spis; /* pass-through SPIs (VMCFG-060), INTID = 32 + n   */
	uint32_t pt_spis[8];
	/* VIRTIO devices served by hv-core (VMCFG-480, core/virtio/) */
	uint32_t n_virtio;
	struct virtio_dev_cfg virtio[VIRTIO_MAX_DEVS];
};

struct vm_console_line {
	char buf[128];
	unsigned len;
};

struct vm {
	int used;
	uint32_t id; /* slot index in the management region             */
	struct vm_config cfg;
	volatile uint32_t state;  /* enum hvm_vm_state                               */
	volatile uint32_t reason; /* enum hvm_vm_reason                              */
	struct stage2 s2;
	struct vcpu vcpu[HV_MAX_VCPUS];
	struct vgic_dist vgic; /* its virtual GIC distributor (arch/arm64/vgic.c) */
	volatile struct hvg_coop_page *coop;
	uint64_t coop_ipa;
	uint64_t entry_ipa;
	struct vpl011 uart;
	struct vm_console_line line;
	/* Kept across reuse of the slot (vm_create()): a peer's doorbell may be
	 * waiting for or holding these locks, and may write the cooperation page
	 * (coop above), while the slot is undefined and defined again. */
	spinlock_t lock; /* state changes, slot and fault record writes     */
	spinlock_t console_lock;
	uint32_t gen;     /* incremented by every vm_create() of this slot   */
	uint64_t hb_last; /* heartbeat.c */
	uint64_t hb_changed_ns;
	uint32_t fault_count;
	uint32_t restart_count;
	/* lifecycle (vm_life.c): requests to the VM's vCPUs, acted on at
	 * their next exit (a kick makes that prompt) */
	volatile uint32_t live_mask;   /* vCPU i is in (or entering) guest context  */
	volatile int paused;           /* SUSPEND: vCPUs wait at their next exit     */
	volatile int pending_boot;     /* reload and boot once no vCPU is live       */
	uint64_t shutdown_deadline_ns; /* state SHUTDOWN: fallback at this time      */
	uint32_t shutdown_seq;         /* hv_request_seq of the shutdown request     */
	uint64_t reboot_deadline_ns;   /* REBOOT asked of the guest: hard reset at   */
				       /* this time; 0 = no reboot request pending   */
	int selftest_blocked;          /* depends on a failed boot self-test check   */
	uint64_t restart_times[100];   /* ring of recent policy restarts (budget)    */
	uint32_t restart_ring;
	/* MGMT-052: rate limit of FAULT/WATCHDOG events, per fault kind */
	uint64_t fault_ev_ns[VM_FAULT_KINDS];    /* time of the last event            */
	uint32_t fault_ev_quiet[VM_FAULT_KINDS]; /* faults not reported since          */
	uint64_t fault_ev_seq[VM_FAULT_KINDS];   /* event number of the last event    */
	struct vm_stats {                        /* GET_STATS counters not kept per vCPU       */
		uint64_t doorbells_sent;
		uint64_t doorbells_denied;
		uint64_t doorbells_received;
		uint64_t faults_ignored;
		uint64_t watchdog_expiries;
		uint64_t exits_by_class[8];
		uint64_t faults_by_kind[VM_FAULT_KINDS]; /* MGMT-802: by enum hvm_fault_kind */
	} stats;
	/* MGMT-330: its last faults, every one, across restarts; new at DEFINE */
	struct hvm_fault_entry fault_hist[HVM_FAULT_HISTORY];
	uint64_t fault_seq;     /* faults since DEFINE (the newest fault_seq)   */
	uint32_t vcpus_stopped; /* MGMT-333: vCPUs stopped by policy stop-vcpu  */
	/* GABI-331: a stop hook in progress; the policy acts at this time, or
	 * when the guest acknowledges request hook_seq (0: none in progress) */
	uint64_t hook_deadline_ns;
	uint32_t hook_seq;
	uint32_t hook_then;       /* what the hook's end does: VM_HOOK_THEN_*        */
	uint32_t hook_action;     /* VM_HOOK_THEN_ACTION: the policy's decision      */
	uint32_t hook_kind;       /* VM_HOOK_THEN_ACTION: the fault kind behind it   */
	struct virtio_set virtio; /* reset at every boot (guest_boot.c) */
	/* VMCFG-701: per channel id, the time the next ring is due at the
	 * configured rate (a virtual-schedule rate limit); reset at DEFINE */
	uint64_t db_due_ns[16];
	/* MGMT-711: a boot or a LOAD_IMAGE in progress, done in units between
	 * supervision passes on the service CPU (vm_life.c, vm_work_unit()) */
	struct vm_job {
		uint32_t kind; /* VM_JOB_NONE, _BOOT, _LOAD                   */
		uint32_t step; /* of the job's kind                          */
		uint64_t seq;  /* jobs run in the order they began           */
		uint64_t pos;  /* bytes of the step done                     */
		struct sha256 sha;
		int for_cmd;     /* a management command waits for its end     */
		int begun;       /* BOOT: the state is RUNNING (STARTED sent)   */
		uint32_t reason; /* BOOT for START: the reason RUNNING takes   */
		uint32_t status; /* its result so far (HVM_OK until a failure) */
		uint64_t copy, off, entry,
			x0; /* BOOT: image_layout(); LOAD: copy, off the ns spent copying, hashing */
		const volatile uint8_t *src;  /* LOAD: staging bytes   */
		uint64_t size, park_until_ns; /* LOAD                  */
		uint32_t index;               /* LOAD: 0 image, 1 initrd */
		uint8_t want[32];             /* LOAD: the digest      */
	} job;
	/* the result of a job a command waited for, until the command takes it */
	int job_done;
	uint32_t job_status;
	char job_msg[192];
	/* the digests hv-core last found in the image store (0: image,
	 * 1: initrd), so a START, RESET or REBOOT need not hash it again
	 * before it answers; every boot still hashes the copy it runs */
	int store_known[2];
	uint8_t store_sha256[2][32];
};

#define VM_JOB_NONE 0
#define VM_JOB_BOOT 1
#define VM_JOB_LOAD 2

/* What the end of a stop hook (GABI-331) carries out. */
#define VM_HOOK_THEN_POLICY 0  /* watchdog: the fault policy, decided then  */
#define VM_HOOK_THEN_ACTION 1  /* a vCPU's fault: the action decided at it  */
#define VM_HOOK_THEN_DESTROY 2 /* a SHUTDOWN whose timeout ran out          */

extern struct vm vms[HVM_MAX_VMS];
/* REQ-SAF-03, GABI-701: the boot self-test's failed-check mask, set before
 * any VM boots and told to every guest through its cooperation page. */
extern uint32_t vm_selftest_failed;

/* REQ-SAF-09: validates cfg against the platform and the other VMs; on refusal
 * nothing changes and msg names what was wrong. */
enum hvm_status vm_create(const struct vm_config *cfg, struct vm **out, char *msg, unsigned msglen);
/* Copies the image from the store into the VM's memory, resets the cooperation
 * page and hands the vCPUs to their physical CPUs. */
enum hvm_status vm_start(struct vm *vm, char *msg, unsigned msglen);
uint32_t vm_count(void);
/* Refreshes a VM's status slot from the VM and its cooperation page (MGMT-150). */
void vm_publish_slot(struct vm *vm);

/* The vm-config description (docs/vm-config.md) VM id was defined from, or
 * NULL for a VM built into hv-core. Kept by vm_set_vmcfg() when the VM is
 * defined, dropped by vm_forget_vmcfg() when it is undefined. */
struct vmcfg;
const struct vmcfg *vm_vmcfg(uint32_t id);
/* MGMT-663: the initrd an OTA slot gives VM id, size and digest, as if its
 * configuration named them. */
void vm_set_initrd(uint32_t id, uint64_t size, const uint8_t sha256[32]);
void vm_set_vmcfg(uint32_t id, const struct vmcfg *v);
void vm_forget_vmcfg(uint32_t id);

/* Guest fault: record it and apply the VM's fault policy (REQ-SAF-20):
 * ignore returns (an abort or trapped instruction is skipped); stop and
 * restart park this CPU and do not return. */
struct trap_frame;
void vm_fault(struct vcpu *v, struct trap_frame *f, uint32_t kind, uint64_t esr);
/* Called on every guest exit before the guest resumes, with the exit's class
 * (HVM_EXIT_*, counted for GET_STATS): acts on stop, pause and reset
 * requests. Inline because every exit runs it; vm_vcpu_wait (vm_life.c) acts
 * on a request and may not return (the vCPU parks). */
void vm_vcpu_wait(struct vcpu *v);
static inline void vm_vcpu_check(struct vcpu *v, uint32_t exit_class)
{
	struct vm *vm = v->vm;
	__atomic_add_fetch(&vm->stats.exits_by_class[exit_class], 1, __ATOMIC_RELAXED);
	if (!__atomic_load_n(&v->run, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE))
		vm_vcpu_wait(v);
}
/* GET_STATS and the status slot's irqs_injected: the virtual interrupts put
 * in list registers, every kind, summed over the VM's vCPUs (each vCPU counts
 * its own on its CPU, vgic.c, so an injection takes no shared atomic). */
static inline uint64_t vm_irqs_injected(const struct vm *vm)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < vm->cfg.vcpus && i < HV_MAX_VCPUS; i++)
		n += __atomic_load_n(&vm->vcpu[i].vgic.injected, __ATOMIC_RELAXED);
	return n;
}
/* Called by vcpu_run() on the vCPU's own CPU just before it enters the guest:
 * vm_life.c reloads a VM's memory only while none of its vCPUs is live. Parks
 * the CPU instead (does not return) when the vCPU was stopped meanwhile. */
void vm_vcpu_entering(struct vcpu *v);
/* Guest asked for a reset (PSCI SYSTEM_RESET): RUNNING/REBOOTED, booted again
 * from its image. Never returns. */
void vm_guest_reset(struct vcpu *v) __attribute__((noreturn));
/* MGMT-330: the VM's fault history after fault_seq `after` (0: all it holds). */
void vm_fault_history(struct vm *vm, uint64_t after, struct hvm_fault_history *out);
/* PSCI CPU_ON started vCPU vcpu again: no longer stopped by the fault policy
 * stop-vcpu (GABI-330). Caller holds vm->lock. */
void vm_vcpu_started(struct vm *vm, uint32_t vcpu);
/* Guest-reported fault (hypercall): recorded, the VM keeps running. */
void vm_fault_report(struct vcpu *v, struct trap_frame *f, uint64_t code);
/* Guest asked to power off (PSCI SYSTEM_OFF): SHUTOFF/SHUTDOWN. Never returns. */
void vm_guest_poweroff(struct vcpu *v) __attribute__((noreturn));
#endif
