/*
 * hvcore_double.h - THE TEST DOUBLE of hv-core's side of the management region.
 *
 * One double for every test that needs hv-core without QEMU: the hvlink and
 * hv-agent unit tests, the hv-agent/hvctl integration tests over a fake region,
 * and the conformance suite's own test. It creates a file laid out like QEMU's
 * guest-RAM file with the management region at (mgmt_base - ram_base), fills
 * the register page per docs/mgmt-abi.md and runs a thread that ticks and
 * answers commands. Which commands need a VM and the states each is legal in
 * come from hv-core's own command table (HVM_COMMAND_TABLE in hvmgmt.h), so the
 * double cannot drift from hv-core's rules. A flaw (fakecore_flaw) breaks one
 * clause on purpose, so the conformance suite's test can prove it notices.
 *
 * A test that passes against this double shows that its client follows the
 * interface as the double implements it, not that hv-core does: every test that
 * links it carries the ctest label "double" and is never cited as showing a
 * requirement of hv-core (docs/requirements-trace.md).
 */
#ifndef HVCORE_DOUBLE_H
#define HVCORE_DOUBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvmgmt.h"

#define FAKECORE_RAM_BASE 0x40000000ull
/* The staging area follows the management region in the file. */
#define FAKECORE_STAGING_SIZE (4ull << 20)
/* hv_version of the double: clients show it where they show hv-core's. */
#define FAKECORE_VERSION "hvcore-test-double"

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

void fakecore_event(struct fakecore *fc, uint32_t type, uint32_t vm_id, uint32_t detail,
		    uint32_t reason);
void fakecore_console(struct fakecore *fc, uint32_t id, const void *data, size_t len);
/* WRITE_CONSOLE (MGMT-801): the double's guest echoes every byte it receives
 * onto its console ring, as a terminal in echo mode does. */
/* The VM's fault record (MGMT-160) as hv-core would publish it after a fault
 * with these fields; READ_FAULT answers it. */
void fakecore_set_fault(struct fakecore *fc, uint32_t id, const struct hvm_fault *f);

/* Live guests: while on, the heartbeat of every RUNNING VM advances on each
 * tick, as a cooperating guest's does. Off by default, so a test reads back
 * the heartbeat it set. */
void fakecore_live_guests(struct fakecore *fc, bool live);

/* The command thread. While paused it neither answers nor ticks. It ticks
 * every 200 us while commands come; 100 ms after the last one its nap
 * doubles up to max_nap_ns (fakecore_idle_nap; default 20 ms), so an idle
 * double costs next to nothing and a command arriving then waits at most one
 * nap. */
int fakecore_start(struct fakecore *fc);
/* The longest idle nap (set before fakecore_start); 200000 (one tick) keeps
 * the double ticking every 200 us, busy or not. */
void fakecore_idle_nap(struct fakecore *fc, long max_nap_ns);
void fakecore_pause(struct fakecore *fc, bool paused);

/* Makes a command code answer E_UNKNOWN_CMD (and clears its caps bit). */
void fakecore_disable_cmd(struct fakecore *fc, uint32_t cmd);

/* GET_STATS answers a valid MGMT-180 record (exits_by_class[c] = 10 + c,
 * irqs_injected 7, doorbells sent 3, received 4; faults, restarts and denied
 * doorbells as the slot says), or one with the defect set here. */
enum fakecore_stats_defect {
	FAKECORE_STATS_OK,
	FAKECORE_STATS_BAD_MAGIC,
	FAKECORE_STATS_BAD_VERSION,
	FAKECORE_STATS_BAD_SIZE,
	FAKECORE_STATS_SHORT, /* ret[0] = 64 */
};
void fakecore_stats_defect(struct fakecore *fc, enum fakecore_stats_defect d);

/* One clause broken on purpose (set before fakecore_start). */
enum fakecore_flaw {
	FAKECORE_GOOD,           /* follows docs/mgmt-abi.md as far as the double goes */
	FAKECORE_OK_UNKNOWN,     /* answers OK to unknown command codes (MGMT-030)      */
	FAKECORE_NEVER_COMPLETE, /* never writes done_seq (MGMT-111)                    */
	FAKECORE_NO_TICKS,       /* hv_ticks and uptime_ns stand still (MGMT-011)       */
	FAKECORE_LAX_STATE,      /* RESUME on a RUNNING VM answers OK (MGMT-045)        */
	FAKECORE_CAPS_LIE,       /* advertises SUSPEND/RESUME, answers E_UNKNOWN_CMD    */
	FAKECORE_WEDGE_ON_ABUSE, /* stops completing after a req_seq skip (MGMT-113)    */
	FAKECORE_BAD_MAGIC,      /* the region never carries the right magic (MGMT-001) */
};
void fakecore_flaw(struct fakecore *fc, enum fakecore_flaw flaw);

/* OTA_INSTALL, OTA_SWITCH and OTA_STATUS (MGMT-610..625) on or off (off by
 * default: their caps bits are clear). A switched slot's trial ends on the
 * next tick: confirmed (floor raised, OTA_CONFIRMED), or with trials_fail
 * rolled back (FAIL_TIMEOUT, OTA_ROLLED_BACK). The double checks no digest
 * or signature; a signed install takes the version of the manifest's image
 * line for the VM and answers ret[0], ret[1] = manifest and signature block
 * lengths. */
void fakecore_ota(struct fakecore *fc, bool on, bool trials_fail);
/* MGMT-663: OTA_INSTALL with arg[3] = 1 installs into the VM's initrd slot
 * (the manifest's line `NAME.initrd`); it is switched with the image slot of
 * the same letter (refused when their versions differ) and takes its state.
 * OTA_STATUS shows the initrd slots (MGMT-665).
 * Initrd slot s (0 A, 1 B) of VM id into *out; -1 for a bad id or s. */
int fakecore_ota_initrd(struct fakecore *fc, uint32_t id, uint32_t s, struct hvm_ota_slot *out);

/* Commands answered so far. */
uint64_t fakecore_commands(struct fakecore *fc);

#endif /* HVCORE_DOUBLE_H */
