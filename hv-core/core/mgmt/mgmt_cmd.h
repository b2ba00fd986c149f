/*
 * mgmt_cmd.h - the management command decoder (MGMT-020, MGMT-030, MGMT-045)
 * and the back end it drives.
 *
 * The decoder (mgmt_cmd.c) is portable C with no hv-core dependencies beyond
 * this header, hvmgmt.h and lib/fmt.h: it is compiled into hv-core and, for
 * fuzzing, for the host (tests/fuzz/fuzz_mgmt.c), where a stub back end stands
 * in for the VM table. It checks everything a client controls (command code,
 * vm_id, arguments, data-area ranges, the state machine) before it calls the
 * back end, so a back end function is only ever called with a defined VM in a
 * state where the command is legal (REQ-SAF-09).
 */
#ifndef HV_MGMT_CMD_H
#define HV_MGMT_CMD_H
#include <stddef.h>
#include <stdint.h>
#include "hvmgmt.h"

/* The command block, copied once out of the shared register page. */
struct mgmt_cmd {
	uint32_t cmd, vm_id;
	uint64_t arg[6];
};

/* MGMT-121: handlers write the whole message to full; mgmt_cmd_execute()
 * fits it into msg (ret_msg, 64 bytes) with the clause id first. */
#define MGMT_MSG_FULL 192u
struct mgmt_reply {
	uint32_t status;
	uint64_t ret[6];
	char msg[64];
	char full[MGMT_MSG_FULL];
};

/* MGMT-121: fits a message into out (outlen bytes, NUL included). A message
 * that fits is copied as it is; a longer one starts with the first clause id
 * it names ("VMCFG-041: ..."), is cut at a UTF-8 character boundary and ends
 * with "...". Portable and pure: unit-testable on the host. */
void mgmt_msg_fit(const char *full, char *out, size_t outlen);

/* MGMT-112: DEFINE blobs are copied out of the data area before they are
 * parsed, so a client cannot change them under the parser. */
#define MGMT_DEFINE_MAX 0x10000u

/* Runs one command. data is the command data area (HVM_DATA_SIZE bytes). */
void mgmt_cmd_execute(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *data);
/* MGMT-021: the caps word, exactly the commands implemented. */
uint64_t mgmt_cmd_caps(void);
const char *mgmt_cmd_name(uint32_t cmd);

/* ---- the back end (core/mgmt_backend.c in hv-core, a stub when fuzzing) ---- */

/* enum hvm_vm_state of VM id, or -1 when no VM is defined with this id. */
int mgmt_be_state(uint32_t id);
uint64_t mgmt_be_defined_mask(void);
uint32_t mgmt_be_vm_count(void);
uint64_t mgmt_be_uptime_ns(void);
/* MGMT-101: free and total pages of hv-core's page heap. */
void mgmt_be_heap_pages(uint64_t *free_pages, uint64_t *total_pages);
uint64_t mgmt_be_staging_size(void);
void mgmt_be_selftest(uint64_t *failed_mask, uint64_t *checks_run);

/* DEFINE: blob is a private copy. On success *id is the new VM. */
enum hvm_status mgmt_be_define(const uint8_t *blob, size_t len, uint32_t *id, char *msg,
			       unsigned mlen);
/* UNDEFINE, START, SHUTDOWN, DESTROY, REBOOT, RESET, SUSPEND, RESUME. */
enum hvm_status mgmt_be_lifecycle(uint32_t cmd, uint32_t id, const uint64_t *arg, char *msg,
				  unsigned mlen);
/* LOAD_IMAGE: [off, off + len) is inside the staging area (checked). */
enum hvm_status mgmt_be_load_image(uint32_t id, uint64_t off, uint64_t len, uint32_t index,
				   char *msg, unsigned mlen);
void mgmt_be_stats(uint32_t id, struct hvm_stats *out);
/* MGMT-850: out is zeroed; fill the header and the VM's devices. */
void mgmt_be_virtio(uint32_t id, struct hvm_virtio *out);
void mgmt_be_fault(uint32_t id, struct hvm_fault *out);
/* READ_FAULT_HISTORY: the faults after fault_seq `after` still held (MGMT-330). */
void mgmt_be_fault_history(uint32_t id, uint64_t after, struct hvm_fault_history *out);
/* Console bytes from position `from` (<= head, checked by the back end):
 * copies at most max bytes to dst; returns the count, sets *next and *lost
 * (bytes between from and the oldest byte still in the ring). */
enum hvm_status mgmt_be_console(uint32_t id, uint64_t from, volatile uint8_t *dst, uint64_t max,
				uint64_t *count, uint64_t *next, uint64_t *lost, char *msg,
				unsigned mlen);
/* MGMT-801: n bytes into VM id's vUART receive FIFO; returns how many fitted,
 * *free_after the FIFO space left. */
uint64_t mgmt_be_console_input(uint32_t id, const uint8_t *p, uint32_t n, uint64_t *free_after);

/* MGMT-400: the safety policy's verdict on cmd for VM id (defined; the
 * decoder calls it before the state check). HVM_OK or HVM_E_POLICY with the
 * rule in msg; dry_run (CHECK_POLICY) records no refusal. *cell: the matrix
 * cell (struct hvm_policy), *vs: the vehicle state it was taken in. */
enum hvm_status mgmt_be_policy_gate(uint32_t cmd, uint32_t id, int dry_run, uint64_t *cell,
				    uint64_t *vs, char *msg, unsigned mlen);
/* MGMT-401: ret[0..5] of GET_VEHICLE_STATE. */
void mgmt_be_vehicle(uint64_t *ret);
/* MGMT-402 */
enum hvm_status mgmt_be_set_vehicle(uint64_t vs, char *msg, unsigned mlen);
/* MGMT-403 */
void mgmt_be_policy(struct hvm_policy *out);
/* MGMT-630 (set) and MGMT-631 (get: ret[0..2]) */
enum hvm_status mgmt_be_audit_seq(int set, uint64_t seq, uint64_t *ret, char *msg, unsigned mlen);
/* MGMT-620: [off, off + len) is inside the staging area (checked); img is a
 * copy. MGMT-643: manifest and sigblock (copies, lengths checked) or NULL. */
enum hvm_status mgmt_be_ota_install(uint32_t id, uint64_t off, uint64_t len, uint32_t kind,
				    const struct hvm_ota_image *img, const uint8_t *manifest,
				    size_t manifest_len, const uint8_t *sigblock,
				    size_t sigblock_len, char *msg, unsigned mlen);
/* MGMT-621: the safety policy rules on it as on the START or RESET it performs. */
enum hvm_status mgmt_be_ota_switch(uint32_t id, uint64_t window_ms, uint64_t timeout_ms, char *msg,
				   unsigned mlen);
/* MGMT-613 */
void mgmt_be_ota_status(uint32_t id, struct hvm_ota_status *out);
#endif
