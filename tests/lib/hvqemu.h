/*
 * hvqemu.h - test fixture: hv-core under QEMU, reached through its shared RAM.
 *
 * hvq_start() makes a fresh state directory (mkdtemp), starts
 * scripts/hv-qemu.sh --foreground in it as a child process (the child becomes
 * QEMU), maps DIR/guest-ram and waits, bounded, until the management region
 * shows HVM_MAGIC and hv_state READY (or SELFTEST_FAILED, also live: MGMT-010). hvq_stop() kills QEMU, reaps it, unmaps and
 * removes the directory; it is idempotent. QEMU is also killed when the test
 * process exits (atexit) or dies (PR_SET_PDEATHSIG), so no test leaves one behind.
 * Set HVQ_KEEP=1 in the environment to keep the directory (serial.log) for
 * debugging.
 *
 *   struct hvq q;
 *   struct hvq_opts o = HVQ_OPTS_DEFAULT;        // rtos-demo only
 *   if (hvq_start(&q, &o) != 0) fail(q.err);
 *   volatile struct hvm_regs *r = q.regs;          // the register page
 *   struct hvq_reply rep;
 *   hvq_command(&q, HVM_CMD_GET_INFO, 0, NULL, &rep);
 *   hvq_stop(&q);
 *
 * Functions return 0 on success, -1 with a message in q->err otherwise.
 * Paths come from HV_SOURCE_DIR and HV_CORE_OUT (compile definitions set by
 * tests/CMakeLists.txt) unless the options name them.
 */
#ifndef HVQEMU_H
#define HVQEMU_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "hvmgmt.h"

#define HVQ_MAX_GUESTS 8

struct hvq_opts {
	const char *guests[HVQ_MAX_GUESTS]; /* names for --guest; none = rtos-demo    */
	const char *mem;                    /* "1G" if NULL (must match hv-core's map) */
	int smp;                            /* 4 if 0                                  */
	int icount;                         /* pass --icount                           */
	unsigned ready_timeout_s;           /* 60 if 0                                 */
	const char *core_dir;               /* HV_CORE_OUT if NULL                     */
	const char *source_dir;             /* HV_SOURCE_DIR if NULL                   */
	const char *extra[8];               /* more hv-qemu.sh arguments, verbatim
	                                        (e.g. "--config", FILE), NULL-ended  */
};
#define HVQ_OPTS_DEFAULT                                                                           \
	{                                                                                          \
		{ NULL }, NULL, 0, 0, 0, NULL, NULL,                                               \
		{                                                                                  \
			NULL                                                                       \
		}                                                                                  \
	}

struct hvq {
	char dir[256];    /* the state directory                      */
	char serial[300]; /* DIR/serial.log                            */
	pid_t pid;        /* QEMU, 0 when not running                  */
	uint8_t *ram;     /* DIR/guest-ram mapped; offset = PA - 0x40000000 */
	size_t ram_size;
	volatile uint8_t *mgmt;         /* management region (HVM_DEFAULT_BASE)      */
	volatile struct hvm_regs *regs; /* == (struct hvm_regs *)mgmt                */
	uint64_t ready_ms;              /* start to READY, for information only      */
	char err[512];
};

struct hvq_reply {
	uint32_t status;
	uint64_t ret[6];
	char msg[64];
};

int hvq_start(struct hvq *q, const struct hvq_opts *opts);
void hvq_stop(struct hvq *q);

/* Host pointer for physical address pa (len bytes),
 * or NULL when outside the machine's RAM. */
void *hvq_pa(struct hvq *q, uint64_t pa, size_t len);

/* Runs one management command (MGMT-110/120) and waits (bounded, 10 s) for its
 * completion. args may be NULL. Returns -1 only when hv-core did not answer. */
int hvq_command(struct hvq *q, uint32_t cmd, uint32_t vm_id, const uint64_t *args,
		struct hvq_reply *rep);

/* A consistent copy of slot id by the gen protocol (MGMT-150). */
int hvq_read_slot(struct hvq *q, uint32_t id, struct hvm_vm_slot *out);
/* A consistent copy of fault record id (MGMT-160). */
int hvq_read_fault(struct hvq *q, uint32_t id, struct hvm_fault *out);
/* Slot id of the defined VM with this name, or -1. */
int hvq_find_vm(struct hvq *q, const char *name);
/* The bytes still in VM id's console ring, NUL-terminated (at most len - 1). */
size_t hvq_read_console(struct hvq *q, uint32_t id, char *buf, size_t len);
/* Event number seq if it is still in the ring (0), else -1. */
int hvq_read_event(struct hvq *q, uint64_t seq, struct hvm_event *out);

/* Polls pred(q, arg) every 20 ms until it returns nonzero (0) or timeout_s
 * passes or QEMU exits (-1, q->err says which). No timing is asserted. */
int hvq_wait(struct hvq *q, int (*pred)(struct hvq *q, void *arg), void *arg, unsigned timeout_s);
/* hvq_wait until VM id's console ring holds text. On -1, q->err names the VM,
 * the text and why, and the ring's last 3000 bytes go to stderr. */
int hvq_wait_console(struct hvq *q, int id, const char *text, unsigned timeout_s);

/* Whether QEMU is still running (reaps it and clears q->pid if not). */
int hvq_alive(struct hvq *q);

#endif /* HVQEMU_H */
