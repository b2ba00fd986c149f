/*
 * blksup.h - hv-agent runs the backend processes of its VMs' virtio-blk
 * devices (docs/mgmt-abi.md MGMT-865..867): one hv-blkback per VM whose
 * request ring hv-core has set up (MGMT-860), serving the VM's data disk
 * STATE/disks/NAME.disk, restarted with a growing delay when it ends, given
 * up on with an alarm when it keeps crashing, and stopped when the VM is
 * undefined.
 *
 * A backend runs in its own session: hv-agent's crash, or its stop, does not
 * end it. A starting hv-agent adopts the backends that are still running (the
 * ring's backend_pid, or the pid file STATE/blkback/vmID.pid), so the
 * guest's disk keeps being served while hv-agent is away.
 *
 * Thread safety: blksup_get may be called from any thread.
 */
#ifndef BLKSUP_H
#define BLKSUP_H

#include <limits.h>
#include <stdint.h>

#include "hvlink.h"
#include "status.h"

struct agent;
struct blksup;

struct blksup_config {
	struct agent *ag;       /* for the audit rows; its link reads the rings */
	const char *state_dir;  /* STATE: disks/ and blkback/ go below it      */
	const char *program;    /* the hv-blkback to run                       */
	const char *ram_file;   /* handed to hv-blkback (--ram)                */
	uint64_t ram_base;      /* --ram-base                                   */
	uint64_t mgmt_base;     /* --region                                     */
	unsigned poll_ms;       /* how often the rings and backends are looked at */
	unsigned base_delay_ms; /* the first restart's delay; doubles up to max  */
	unsigned max_delay_ms;
	unsigned give_up; /* crashes in a row after which it is not restarted */
};

/* The default delays and the crash count that ends restarting. */
#define BLKSUP_POLL_MS 200u
#define BLKSUP_BASE_DELAY_MS 250u
#define BLKSUP_MAX_DELAY_MS 8000u
#define BLKSUP_GIVE_UP 5u
/* A backend that served this long before it ended was not crash-looping. */
#define BLKSUP_STABLE_NS (30ull * 1000000000ull)

/* One VM's backend as hv-agent sees it. */
struct blksup_info {
	int present;        /* 0: hv-agent runs no backend for this VM */
	char state[16];     /* "running", "adopted", "restarting", "failed" */
	uint32_t pid;       /* 0 when none runs                         */
	uint32_t restarts;  /* started again after it ended, since hv-agent started */
	char last_exit[96]; /* "killed by signal 9", "exited with status 1", "" */
	char disk[PATH_MAX];
};

/* Starts the supervising thread (after the link is open). NULL with st. */
struct blksup *blksup_start(const struct blksup_config *cfg, struct hv_status *st);
/* Stops the thread; the backends keep running (a next hv-agent adopts them). */
void blksup_stop(struct blksup *b);
/* VM `id`'s backend; out->present 0 when there is none (or b is NULL). */
void blksup_get(struct blksup *b, uint32_t id, struct blksup_info *out);
/* Adds VM `id`'s backend to its blk device in m (GetVm, GetStats). */
struct virtio_msg;
void blksup_fill_msg(struct blksup *b, uint32_t id, struct virtio_msg *m);

#endif /* BLKSUP_H */
