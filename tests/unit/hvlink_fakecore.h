/*
 * hvlink_fakecore.h - TEST DOUBLE of hv-core's side of the management region.
 *
 * Creates a file laid out like QEMU's guest-RAM file with a management region
 * at (mgmt_base - ram_base), fills the register page per docs/mgmt-abi.md and
 * runs a small thread that answers commands with the MGMT-045 state machine,
 * ticks hv_ticks, and lets a test write slots, events, console bytes and
 * fault records. It exists so hvlink and hv-agent can be tested without QEMU;
 * it is never used by `make run` or by the end-to-end tests with hv-core.
 */
#ifndef HVLINK_FAKECORE_H
#define HVLINK_FAKECORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvmgmt.h"

#define FAKECORE_RAM_BASE 0x40000000ull
/* The staging area follows the management region in the file. */
#define FAKECORE_STAGING_SIZE (4ull << 20)

struct fakecore;

struct fakecore_vm {
	const char *name;
	uint32_t state, reason;
	uint32_t vcpus;
	uint64_t pcpu_mask, mem_bytes;
	uint32_t criticality, fault_policy;
	uint64_t heartbeat;
	const char *image_version;
	uint8_t uuid[16];
};

/* Creates (or truncates) path, maps the region, writes a valid READY register
 * page. Returns NULL on failure (errno set). */
struct fakecore *fakecore_create(const char *path, uint64_t ram_base, uint64_t mgmt_base);
/* Stops the thread if running, unmaps; the file stays. */
void fakecore_destroy(struct fakecore *fc);

/* The mapped register page, to corrupt or inspect in tests. */
volatile struct hvm_regs *fakecore_regs(struct fakecore *fc);
volatile uint8_t *fakecore_base(struct fakecore *fc);

/* Slots, written with the gen protocol. */
void fakecore_set_vm(struct fakecore *fc, uint32_t id, const struct fakecore_vm *vm);
void fakecore_clear_vm(struct fakecore *fc, uint32_t id);
/* Leaves slot id's gen odd (a writer that died mid-write) or even again. */
void fakecore_hold_slot(struct fakecore *fc, uint32_t id, bool held);

void fakecore_event(struct fakecore *fc, uint32_t type, uint32_t vm_id, uint32_t detail, uint32_t reason);
void fakecore_console(struct fakecore *fc, uint32_t id, const void *data, size_t len);
void fakecore_set_fault(struct fakecore *fc, uint32_t id, const struct hvm_fault *f);

/* The command thread. While paused it neither answers nor ticks. */
int fakecore_start(struct fakecore *fc);
void fakecore_pause(struct fakecore *fc, bool paused);

/* Makes a command code answer E_UNKNOWN_CMD (and clears its caps bit). */
void fakecore_disable_cmd(struct fakecore *fc, uint32_t cmd);

/* GET_STATS answers a valid MGMT-180 record (exits_by_class[c] = 10 + c,
 * irqs_injected 7, faults_ignored 1, watchdog_expiries 2, doorbells sent 3,
 * received 4, denied 5), or one with the defect set here. */
enum fakecore_stats_defect {
	FAKECORE_STATS_OK,
	FAKECORE_STATS_BAD_MAGIC,
	FAKECORE_STATS_BAD_VERSION,
	FAKECORE_STATS_BAD_SIZE,
	FAKECORE_STATS_SHORT, /* ret[0] = 64 */
};
void fakecore_stats_defect(struct fakecore *fc, enum fakecore_stats_defect d);

/* Commands answered so far; the last command's code and data length. */
uint64_t fakecore_commands(struct fakecore *fc);

#endif /* HVLINK_FAKECORE_H */
