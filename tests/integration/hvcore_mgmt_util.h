/*
 * hvcore_mgmt_util.h - support for the hv-core management and fault tests:
 * vm-config blobs written as device-tree source and compiled with dtc, guest
 * images staged in the image staging area, and DEFINE + LOAD_IMAGE in one
 * step, all through the real register interface (hvqemu.h).
 */
#ifndef HVCORE_MGMT_UTIL_H
#define HVCORE_MGMT_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include "hvqemu.h"

/* One VM's configuration; zero fields take the defaults in mu_vm_dts(). */
struct mu_vm {
	const char *name;
	unsigned cpu;                 /* physical CPU of its one vCPU                 */
	uint64_t mem_pa;              /* 16 MiB at IPA 0x40000000                     */
	const char *criticality;      /* "QM" if NULL                                 */
	const char *policy;           /* fault-policy, "stop" if NULL                 */
	unsigned watchdog_ms;         /* 0 = none                                     */
	unsigned restarts, window_ms; /* restart-budget, <3 60000> if 0            */
	uint64_t image_size;
	uint8_t sha256[32];
	const char *extra; /* more nodes/properties, raw DTS, or NULL     */
	unsigned cpu2;     /* non-zero: a second vCPU, on this CPU        */
	const char *props; /* more properties, raw DTS before the nodes   */
};

/* DTS source of a single-VM blob (VMCFG-010), malloc'd. */
char *mu_vm_dts(const struct mu_vm *v);
/* Compiles DTS with dtc into a malloc'd blob; NULL on failure (err filled). */
void *mu_dtc(const char *dts, size_t *len, char *err, size_t errlen);

/* Copies CORE/guests/NAME.bin to staging offset off; fills size and digest. */
int mu_stage(struct hvq *q, const char *guest, uint64_t off, uint64_t *size, uint8_t sha[32]);
/* Copies CORE/guests/NAME.bin to physical address pa as a boot loader would
 * place it in the image store (MGMT-200); fills size and digest. */
int mu_place(struct hvq *q, const char *guest, uint64_t pa, uint64_t *size, uint8_t sha[32]);
/* Puts a blob at data-area offset 0 and runs DEFINE. */
int mu_define_blob(struct hvq *q, const void *blob, size_t len, struct hvq_reply *rep);
/* Stages guest at staging offset off, defines v (size, digest filled in) and
 * loads the image: returns the new VM id, or -1 with q->err set. */
int mu_define_guest(struct hvq *q, struct mu_vm *v, const char *guest, uint64_t off);

/* Waits (bounded) until slot id has state (and reason, unless 0). */
int mu_wait_state(struct hvq *q, int id, uint32_t state, uint32_t reason, unsigned timeout_s);
/* Waits until slot id's heartbeat is above `above`. */
int mu_wait_heartbeat(struct hvq *q, int id, uint64_t above, unsigned timeout_s);
/* Waits until n more service ticks passed. */
int mu_wait_ticks(struct hvq *q, uint64_t n);
/* Events of type for vm in the ring (from event number `from`). */
int mu_count_events(struct hvq *q, uint32_t type, uint32_t vm, uint64_t from);
struct hvm_vm_slot mu_slot(struct hvq *q, int id);
#endif
