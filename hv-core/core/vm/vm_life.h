/*
 * vm_life.h - lifecycle operations and fault containment of vm_life.c:
 * what the management command decoder calls (after it checked the state
 * machine of MGMT-045) and what the service tick runs for every VM.
 */
#ifndef HV_VM_LIFE_H
#define HV_VM_LIFE_H
#include <stdint.h>
#include "hvmgmt.h"

struct vm;

/* Fault policies, numbered as vm-config.md (VMCFG-023) and hvm_vm_slot.fault_policy. */
#define VM_FP_IGNORE 0
#define VM_FP_STOP 1
#define VM_FP_RESTART 2
#define VM_FP_STOP_VCPU 3 /* VMCFG-330: stop the faulting vCPU, the others run on */

#define VM_SHUTDOWN_DEFAULT_MS 5000u /* MGMT-046: SHUTDOWN with arg[0] = 0    */
#define VM_SHUTDOWN_MAX_MS 600000u   /* MGMT-046: larger timeouts are refused */
#define VM_RESTART_RING 100u         /* VMCFG-025: restart-budget count max   */

/* Starts a stopped VM: the image store's digests are checked at once (a
 * refusal changes nothing), the VM is RUNNING, and its boot is done in units
 * (MGMT-711); a boot that fails later leaves it SHUTOFF (FAILED). */
/* MGMT-711: the status of a command whose work goes on in units after the
 * call (LOAD_IMAGE, START); its transport answers it once the work ends
 * (vm_job_result()). Never published. */
#define VM_PENDING 0xFFFFu

enum hvm_status vm_op_start(struct vm *vm, uint32_t reason, char *msg, unsigned len);
/* START as the command (MGMT-713): answered at once; the digests and the
 * boot in units while the VM is BLOCKED (vm_starting()), then RUNNING, or
 * SHUTOFF (FAILED) with a BOOT_FAILED event. */
enum hvm_status vm_op_start_cmd(struct vm *vm, uint32_t reason, char *msg, unsigned len);
/* Whether vm is BLOCKED while the boot of a START, RESET, REBOOT's
 * fallback, an OTA switch or a guest's own reset goes on (MGMT-713). */
int vm_starting(const struct vm *vm);
void vm_op_destroy(struct vm *vm, uint32_t reason);
enum hvm_status vm_op_shutdown(struct vm *vm, uint64_t timeout_ms, char *msg, unsigned len);
/* RESET (reason RESET), and REBOOT's fallback (reason REBOOTED): answered at
 * once (MGMT-713); the VM is BLOCKED while its boot, the image store's
 * digests included, goes on in units, then RUNNING, or SHUTOFF (FAILED) with a
 * BOOT_FAILED event. */
enum hvm_status vm_op_restart(struct vm *vm, uint32_t reason, char *msg, unsigned len);
/* REBOOT (MGMT-044, GABI-025): asks the guest through the cooperation page;
 * after timeout_ms (0: VM_SHUTDOWN_DEFAULT_MS) the service tick resets it. */
enum hvm_status vm_op_reboot(struct vm *vm, uint64_t timeout_ms, char *msg, unsigned len);
void vm_op_suspend(struct vm *vm);
void vm_op_resume(struct vm *vm);
enum hvm_status vm_op_undefine(struct vm *vm, char *msg, unsigned len);
/* LOAD_IMAGE (MGMT-048, MGMT-302, MGMT-303): size bytes at src (the staging
 * area) become image `index` (0 image, 1 initrd) of a stopped VM if their copy
 * in hv-core's hands has the digest want; otherwise nothing changes. Refuses
 * at once, or returns VM_PENDING: the work is done in units (MGMT-711). */
enum hvm_status vm_op_load(struct vm *vm, uint32_t index, const volatile uint8_t *src,
			   uint64_t size, const uint8_t want[32], char *msg, unsigned len);

/* MGMT-711: one unit of the oldest boot or LOAD_IMAGE in progress (at most
 * 64 KiB cleared, copied, hashed or cleaned); 0 when there is nothing to do
 * (or every job waits). Service CPU, command lock held. */
int vm_work_unit(void);
/* Every job to its end, at once: the boot configuration's VMs before the
 * service loop begins. */
void vm_work_drain(void);
/* The result of the job a command of VM id waited for: 1 and *status, msg
 * once it ended (taken once), 0 while it goes on. */
int vm_job_result(uint32_t id, uint32_t *status, char *msg, unsigned len);

/* Test builds only (HV_TEST_HOOKS): points where a test may rewrite what a
 * client can write while hv-core works on a request (MGMT-301). */
#define VM_HOOK_COMMAND 1u /* the command block was copied                     */
#define VM_HOOK_LOADED 2u  /* the staged image was copied into hv-core's hands */
#define VM_HOOK_BOOT 4u    /* START checked the slot, the copy is still to come */
#ifdef HV_TEST_HOOKS
void vm_test_hook(uint32_t point, volatile uint8_t *p, uint64_t len);
#else
static inline void vm_test_hook(uint32_t point, volatile uint8_t *p, uint64_t len)
{
	(void)point;
	(void)p;
	(void)len;
}
#endif
/* MGMT-800: policy restarts the budget (VMCFG-025) still allows at `now`.
 * Caller holds vm->lock. */
uint32_t vm_restarts_left(const struct vm *vm, uint64_t now);
/* Makes the VM's running vCPUs trap to EL2 so they see a request. */
void vm_kick(struct vm *vm);
/* Per service tick: deferred boots, shutdown and reboot timeouts, the watchdog. */
void vm_tick(struct vm *vm, uint64_t now_ns);
#endif
