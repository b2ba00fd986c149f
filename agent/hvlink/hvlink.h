/*
 * hvlink.h - the register-level transport between hv-agent and hv-core.
 *
 * hvlink maps the management region (docs/mgmt-abi.md) and offers its parts as
 * plain C calls: read the register page, read VM status slots and fault records
 * with the gen protocol (MGMT-150/160), submit one command at a time (MGMT-111),
 * follow the event ring (MGMT-130/140) and the console rings (MGMT-170).
 *
 * In the development setup the region lives in the file that backs QEMU's guest
 * RAM; it is mapped at offset (mgmt_base - ram_base). On a target the ServiceOS
 * maps the reserved-memory node instead; only hvlink_open's mapping differs.
 *
 * hvlink never blocks forever and never trusts the region: a missing file, a
 * hypervisor that is still booting, a wrong magic or ABI major, a writer that
 * never finishes a slot and a command that never completes all come back as a
 * status with a message (UNAVAILABLE or DEADLINE_EXCEEDED). The link is
 * (re)established lazily, so hv-agent can start before hv-core and survives a
 * restart of QEMU that recreates the RAM file.
 *
 * Thread safety: every call may be made from any thread. Commands go through
 * a bounded FIFO queue: one is outstanding on the register interface at a
 * time (MGMT-111), at most queue_max wait behind it, and one more is refused
 * with RESOURCE_EXHAUSTED at once rather than piling up. A waiting command
 * honors its caller's deadline (hvlink_cmd.deadline_ns, or the call scope of
 * the thread, callscope.h) and a stopping server: it is then answered
 * DEADLINE_EXCEEDED or UNAVAILABLE and never submitted. Reads (register page,
 * slots, rings) never wait for the queue.
 */
#ifndef HVLINK_H
#define HVLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvmgmt.h"
#include "opqueue.h"
#include "status.h"

#define HVLINK_DEFAULT_RAM_BASE 0x40000000ull
#define HVLINK_DEFAULT_CMD_TIMEOUT_MS 5000u
#define HVLINK_DEFAULT_QUEUE_MAX 16u

struct hvlink;

struct hvlink_config {
	const char *ram_file;    /* file backing guest RAM (copied)             */
	uint64_t ram_base;       /* guest physical address of the file's byte 0 */
	uint64_t mgmt_base;      /* guest physical address of the region        */
	unsigned cmd_timeout_ms; /* 0 = HVLINK_DEFAULT_CMD_TIMEOUT_MS           */
	unsigned queue_max;      /* commands that may wait behind the one being
	                            executed; 0 = HVLINK_DEFAULT_QUEUE_MAX      */
};

/* The identification part of the register page (MGMT-100), copied. */
struct hvlink_info {
	uint32_t abi_major, abi_minor;
	uint32_t region_size;
	uint32_t hv_state; /* enum hvm_hv_state */
	uint64_t caps;
	uint32_t max_vms, vm_count;
	uint64_t uptime_ns, hv_ticks;
	uint32_t pcpu_count, selftest_failed;
	uint64_t ev_head, ev_ack, ev_overflow;
	char hv_version[33];
};

/* Counters of what the link did, for diagnostics. */
struct hvlink_counters {
	uint64_t commands_sent;
	uint64_t commands_failed; /* completed with status != HVM_OK      */
	uint64_t commands_timed_out;
	uint64_t maps;          /* successful (re)mappings             */
	uint64_t queue_full;    /* refused: the queue was full         */
	uint64_t queue_expired; /* not sent: deadline passed in queue  */
	uint64_t queue_stopped; /* not sent: server stopping           */
	uint32_t queue_waiting; /* commands waiting right now          */
	uint32_t queue_peak;    /* most commands ever waiting at once  */
	uint32_t queue_max;     /* the limit (hvlink_config.queue_max) */
};

/* A command to submit. data_in is copied to the command data area before
 * submission; up to data_out_cap bytes of the data area are copied back into
 * data_out afterwards (the command decides how many are meaningful). */
struct hvlink_cmd {
	uint32_t cmd;
	uint32_t vm_id;
	uint64_t arg[6];
	const void *data_in;
	size_t data_in_len;
	void *data_out;
	size_t data_out_cap;
	/* Latest time (hv_mono_ns) the command may still be submitted; 0 = the
	 * calling thread's call-scope deadline, if any. Once submitted, a
	 * command is always waited for (up to cmd_timeout_ms). */
	uint64_t deadline_ns;
	/* How long a submitted command may take, when longer than the link's
	 * cmd_timeout_ms (commands that write hv-core's flash, MGMT-620). */
	unsigned timeout_ms;
};

struct hvlink_reply {
	uint32_t status; /* enum hvm_status                 */
	uint64_t ret[6];
	char msg[65]; /* ret_msg, always NUL-terminated */
};

/* Create a link. Never fails for a hypervisor that is not up yet: mapping is
 * attempted on first use. Fails (INVALID_ARGUMENT) only for a configuration
 * that can never work (mgmt_base below ram_base or not page-aligned). */
int hvlink_open(struct hvlink **out, const struct hvlink_config *cfg, struct hv_status *st);
void hvlink_close(struct hvlink *link);

/* Make sure the region is mapped and valid: magic, ABI major and hv_state !=
 * BOOTING. 0 when ready; -1 with UNAVAILABLE (or FAILED_PRECONDITION for an ABI
 * mismatch) and a message saying which check failed. Cheap when already up. */
int hvlink_ensure(struct hvlink *link, struct hv_status *st);

/* The last reason hvlink_ensure failed ("" when up). */
void hvlink_last_error(struct hvlink *link, char *buf, size_t len);

int hvlink_info(struct hvlink *link, struct hvlink_info *out, struct hv_status *st);
void hvlink_counters(struct hvlink *link, struct hvlink_counters *out);
/* The command queue's counters alone, in the operation queue's form. */
void hvlink_queue_stats(struct hvlink *link, struct hv_opqueue_stats *out);

/* Copy slot `id` with the gen protocol. out->defined tells whether it holds a VM. */
int hvlink_read_slot(struct hvlink *link, uint32_t id, struct hvm_vm_slot *out, struct hv_status *st);

/* MGMT-713: hv-core answers START, RESET and REBOOT while it still boots the
 * VM, BLOCKED until its boot job ends. Reads slot id every 20 ms until the VM
 * is not BLOCKED, the CLOCK_MONOTONIC deadline until_ns passes or stop (may
 * be NULL) says so; *out holds the last copy. -1 when the slot cannot be read. */
int hvlink_wait_not_blocked(struct hvlink *link, uint32_t id, uint64_t until_ns, bool (*stop)(void),
			    struct hvm_vm_slot *out, struct hv_status *st);

/* Copy every slot; *defined_mask gets bit i for each defined slot i. */
int hvlink_read_slots(struct hvlink *link, struct hvm_vm_slot out[HVM_MAX_VMS],
		      uint32_t *defined_mask, struct hv_status *st);

/* Find a defined VM by name / uuid / id; NOT_FOUND naming the VM otherwise. */
int hvlink_find_by_name(struct hvlink *link, const char *name, struct hvm_vm_slot *out,
			struct hv_status *st);
int hvlink_find_by_uuid(struct hvlink *link, const uint8_t uuid[16], struct hvm_vm_slot *out,
			struct hv_status *st);
int hvlink_find_by_id(struct hvlink *link, uint32_t id, struct hvm_vm_slot *out,
		      struct hv_status *st);

/* The header of VM `id`'s virtio-blk request ring (MGMT-860): valid is 1
 * while hv-core runs the VM with a virtio-blk device (`live`, magic, version,
 * size and vm_id as MGMT-860 has them); the other fields only then. */
struct hvlink_blk {
	int valid;
	uint64_t capacity; /* bytes of the disk */
	uint32_t epoch, posted, done;
	uint32_t backend_pid; /* what the last backend wrote; it may be gone */
	uint64_t backend_beat;
};
int hvlink_read_blk(struct hvlink *link, uint32_t id, struct hvlink_blk *out, struct hv_status *st);

/* What a data record of hv-core must be: its command's name, the clause, its
 * magic (and the magic's four letters), version and size. */
struct hvlink_record_kind {
	const char *what, *clause, *tag;
	uint32_t magic;
	uint16_t version;
	size_t size;
};
/* Checks the answered length ret0, the bytes read (len) and the record's
 * header in buf (magic, version, size, VM id) against k and vm_id: 0, or -1
 * with INTERNAL naming the wrong field. */
int hvlink_record_check(const struct hvlink_record_kind *k, const void *buf, size_t len,
			uint64_t ret0, uint32_t vm_id, struct hv_status *st);

/* Copy the fault record of VM `id` with the gen protocol (MGMT-160). */
int hvlink_read_fault(struct hvlink *link, uint32_t id, struct hvm_fault *out, struct hv_status *st);

/* Submit a command and wait for its completion (MGMT-111). Returns 0 when
 * hv-core completed it; reply->status then says whether it was accepted.
 * Returns -1 when the command could not be delivered or did not complete in
 * time (UNAVAILABLE, DEADLINE_EXCEEDED, INVALID_ARGUMENT for oversized data),
 * and, without submitting it, RESOURCE_EXHAUSTED when queue_max commands
 * already wait, DEADLINE_EXCEEDED when the caller's deadline passed while it
 * waited, UNAVAILABLE when the server began to stop meanwhile. */
/* Waits (bounded by the command timeout) until no command is outstanding in
 * hv-core: one a killed hv-agent submitted is carried out by hv-core after
 * the new one started, so the VM slots are read after it. 0, or -1 with
 * UNAVAILABLE. */
int hvlink_wait_idle(struct hvlink *link, struct hv_status *st);
int hvlink_command(struct hvlink *link, const struct hvlink_cmd *cmd, struct hvlink_reply *reply,
		   struct hv_status *st);

/* Read console bytes of VM `id` from byte position `from` (MGMT-170). At most
 * `cap` bytes go to buf. *start is the position of buf[0] (later than `from`
 * when bytes were overwritten: *lost says how many), *next the position after
 * the last byte copied, *n the count. */
int hvlink_read_console(struct hvlink *link, uint32_t id, uint64_t from, void *buf, size_t cap,
			size_t *n, uint64_t *start, uint64_t *next, uint64_t *lost,
			struct hv_status *st);

/* Read events from position *pos (MGMT-140). Copies up to max events with
 * consecutive seq numbers into out, advances *pos past them, sets *n. If
 * events were overwritten before they were read, *lost gets their number and
 * *pos jumps to the oldest event still in the ring. Does not acknowledge. */
int hvlink_read_events(struct hvlink *link, uint64_t *pos, struct hvm_event *out, size_t max,
		       size_t *n, uint64_t *lost, struct hv_status *st);

/* The position a new reader should start from: ev_ack, the first event nobody
 * consumed yet (if it was overwritten meanwhile, the first hvlink_read_events
 * reports the loss), or the oldest event held when the ring was reset. */
int hvlink_event_start(struct hvlink *link, uint64_t *pos, uint64_t *head, struct hv_status *st);

/* Tell hv-core that all events below pos were consumed (writes ev_ack). */
int hvlink_ack_events(struct hvlink *link, uint64_t pos, struct hv_status *st);

/* The image staging area (MGMT-004 staging_base/staging_size, MGMT-048):
 * its physical base and size as the register page publishes them, checked
 * to lie inside the RAM file. */
int hvlink_staging_info(struct hvlink *link, uint64_t *base, uint64_t *size, struct hv_status *st);

/* Copies len bytes to [staging_base + off, + len). Refuses (INVALID_ARGUMENT,
 * naming the area's size) anything that does not lie wholly inside the
 * staging area; writes nothing then. Does not take the command queue: the
 * caller orders it with the LOAD_IMAGE that reads the bytes. */
int hvlink_staging_write(struct hvlink *link, uint64_t off, const void *data, size_t len,
			 struct hv_status *st);

/* ---- OTA (docs/mgmt-abi.md section 15, hvlink_ota.c) ----
 * The image is staged first (hvlink_staging_write at stage_off); these build
 * the command's data area. Returns as hvlink_command. OTA_INSTALL and
 * OTA_SWITCH write hv-core's flash and copy an image: they may take up to
 * HVLINK_OTA_TIMEOUT_MS (or the link's cmd_timeout_ms, if longer). */
#define HVLINK_OTA_TIMEOUT_MS 120000u

/* OTA_INSTALL with the bundle's manifest and signature block (MGMT-643):
 * hv-core checks the signature and enforces the manifest's size, digest and
 * version for the VM's inactive slot. kind (arg[3]): HVLINK_OTA_IMAGE, or
 * HVLINK_OTA_INITRD for the VM's inactive initrd slot (MGMT-663; the
 * manifest's line `NAME.initrd`). */
#define HVLINK_OTA_IMAGE 0u
#define HVLINK_OTA_INITRD 1u
int hvlink_ota_install_signed(struct hvlink *link, uint32_t vm_id, uint32_t kind,
			      uint64_t stage_off, uint64_t len, const void *manifest,
			      size_t manifest_len, const void *sigblock, size_t sigblock_len,
			      struct hvlink_reply *reply, struct hv_status *st);
/* OTA_INSTALL with the digest and version given (MGMT-612): accepted only by
 * an hv-core without an update trust anchor (MGMT-640). kind as above. */
int hvlink_ota_install_digest(struct hvlink *link, uint32_t vm_id, uint32_t kind,
			      uint64_t stage_off, uint64_t len, const uint8_t sha256[32],
			      const char *version, struct hvlink_reply *reply, struct hv_status *st);
/* OTA_SWITCH (MGMT-621): window_ms and timeout_ms 0 = hv-core's defaults. */
int hvlink_ota_switch(struct hvlink *link, uint32_t vm_id, uint64_t window_ms, uint64_t timeout_ms,
		      struct hvlink_reply *reply, struct hv_status *st);
/* OTA_STATUS (MGMT-613) into *out, checked (magic, version, size, vm) when
 * hv-core accepted; a malformed record is -1 with INTERNAL. deadline_ns as
 * hvlink_cmd's (0: the call scope's). */
int hvlink_ota_status(struct hvlink *link, uint32_t vm_id, uint64_t deadline_ns,
		      struct hvm_ota_status *out, struct hvlink_reply *reply, struct hv_status *st);

/* Names for logs and messages. */
const char *hvlink_cmd_name(uint32_t cmd); /* "START", "cmd 42" ... */
const char *hvlink_hvm_status_name(uint32_t status);

#endif /* HVLINK_H */
