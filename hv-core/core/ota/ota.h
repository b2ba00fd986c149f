/*
 * ota.h - A/B image slots of the VMs and the trial boot hv-core witnesses
 * (docs/mgmt-abi.md MGMT-600..631). The slots' bytes and states live in
 * hv-core's non-volatile storage (nvstore.h); the image store holds the copy
 * of the active slot a VM boots from, checked against the slot's digest before
 * every boot (REQ-SAF-12).
 */
#ifndef HV_OTA_H
#define HV_OTA_H
#include <stddef.h>
#include <stdint.h>
#include "hvmgmt.h"

struct vm;

#define OTA_WINDOW_DEFAULT_MS 3000u  /* MGMT-621: confirmation window           */
#define OTA_BOOT_ALLOWANCE_MS 60000u /* MGMT-621: default timeout = window + this */
#define OTA_WINDOW_MAX_MS 600000u    /* = VMCFG_OTA_CONFIRM_MAX_MS               */
#define OTA_TIMEOUT_MAX_MS 660000u
#define OTA_MIN_ADVANCES 3u        /* MGMT-622: looks finding a new heartbeat per window */
#define OTA_STALL_DEFAULT_MS 2000u /* MGMT-622: heartbeat stalled (no watchdog) */

/* At boot, after the boot configuration's VMs are defined and before any
 * starts: reads the non-volatile record, ends a trial a reset interrupted
 * (its slot is bad, the previous one active again) and gives each VM with
 * slots the image of its active slot (MGMT-624). */
void ota_boot(void);
/* MGMT-630/631 */
enum hvm_status ota_audit_seq_set(uint64_t seq, char *msg, unsigned mlen);
void ota_audit_seq_get(uint64_t *ret);
/* MGMT-640: the update trust anchor and system name of the boot
 * configuration (/hv-core/ota). 0, or -1 with msg for a malformed node. */
int ota_configure(const void *fdt, char *msg, unsigned mlen);

/* MGMT-643: a signed manifest and its signature block (docs/ota.md OTA-004). */
struct ota_signed {
	const uint8_t *manifest;
	size_t manifest_len;
	const uint8_t *sigblock;
	size_t sigblock_len;
};

/* MGMT-620: len bytes at staging offset off (inside the staging area,
 * checked) into the VM's inactive image slot (kind 0) or initrd slot (kind 1,
 * MGMT-663), verified against img, or against the
 * VM's line of the signed manifest sg (MGMT-643). */
enum hvm_status ota_install(struct vm *vm, uint64_t off, uint64_t len, uint32_t kind,
			    const struct hvm_ota_image *img, const struct ota_signed *sg, char *msg,
			    unsigned mlen);
/* MGMT-621: boot the installed slot in trial; the policy was checked. */
/* MGMT-711: one unit of the OTA_INSTALL in progress (OTA_INSTALL answers
 * VM_PENDING after its checks); 0 when there is none. Service CPU, command
 * lock held. */
int ota_work_unit(void);
/* The answer of the OTA_INSTALL of VM id once its work ended: 1 with
 * *status and msg (taken once), 0 while it goes on. */
int ota_job_result(uint32_t id, uint32_t *status, char *msg, unsigned len);
enum hvm_status ota_switch(struct vm *vm, uint64_t window_ms, uint64_t timeout_ms, char *msg,
			   unsigned mlen);
/* MGMT-650: bit n set for each defined VM n of vm's update group (vm's own
 * bit always): the VMs an OTA_SWITCH of vm switches, each ruled on by the
 * safety policy. */
uint32_t ota_group_vms(struct vm *vm);
/* MGMT-613 */
void ota_status(struct vm *vm, struct hvm_ota_status *out);
/* Per service tick: witnesses the trials in progress (MGMT-622, MGMT-623). */
void ota_tick(uint64_t now_ns);
/* "1.2.3" against "1.10": -1, 0, 1 by dotted numbers; 2 when either is not
 * a version (digits and dots, at most 31 characters). Pure. */
int ota_version_cmp(const char *a, const char *b);
#endif
