/*
 * conf_internal.h - what the conformance checks share: the mapped region, the
 * client side of the command protocol (MGMT-111) with a bound on every wait,
 * consistent reads of slots, fault records and events (MGMT-140/150/160), and
 * the helpers a check uses to record PASS/FAIL/SKIP with a reason.
 *
 * The suite reads the region only through the published offsets where the
 * document says they are published (MGMT-004), and checks separately that they
 * equal the 1.0 layout.
 */
#ifndef HV_CONF_INTERNAL_H
#define HV_CONF_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conformance.h"
#include "hvmgmt.h"
#include "relay_mbox.h"

struct conf {
	const struct conf_opts *opt;
	volatile uint8_t *base; /* the management region             */
	volatile struct hvm_regs *r;
	void *map;
	size_t map_len;
	uint64_t caps;
	uint32_t max_vms; /* min(published max_vms, HVM_MAX_VMS) */
	bool wedged;      /* a command timed out: later ones fail fast */
	char wedge_msg[160];
	/* MGMT-121, seen on every reply: messages cut with "...", and the first
	 * one that did not start with its clause id */
	unsigned msgs_cut, msgs_cut_bad;
	char msg_cut_bad[80];
	/* the trapped transport (opt->trapped): the relay VM's mailbox in the
	 * guest-RAM file, the relay's VM id (never driven by a check), and what
	 * MGMT-112 says of the trapped page, seen on every command: answered
	 * before the req_seq store retired (LOAD_IMAGE excepted, MGMT-711) */
	volatile struct relay_mbox *mbox;
	void *mbox_map;
	size_t mbox_len;
	int relay_id;
	bool relay_broken;
	char relay_msg[160];
	unsigned trapped_cmds, trapped_late;
	char trapped_late_what[96];
	uint32_t polled_req0, polled_done0; /* the polled block when the run began */
};

/* The pattern the trapped run leaves in the polled page's data area at the
 * start, which no trapped command may touch (MGMT-213). */
#define CONF_POLLED_MARK_LEN 256u
uint8_t conf_polled_mark(unsigned i);

/* One check: a clause id, what it checks, and the function. */
struct conf_result {
	enum conf_verdict verdict;
	char detail[CONF_DETAIL_LEN];
};

typedef void (*conf_check_fn)(struct conf *c, struct conf_result *res);

struct conf_check {
	const char *clause;
	const char *title;
	conf_check_fn fn;
};

/* Check tables, one per file, each ending with a zeroed entry. */
extern const struct conf_check conf_checks_region[];
extern const struct conf_check conf_checks_commands[];
extern const struct conf_check conf_checks_records[];
extern const struct conf_check conf_checks_lifecycle[];
extern const struct conf_check conf_checks_guest[];
extern const struct conf_check conf_checks_define[];
extern const struct conf_check conf_checks_clauses[];
extern const struct conf_check conf_checks_stress[];
extern const struct conf_check conf_checks_trapped[]; /* run only with --transport trapped */

/* MGMT-121: whether a ret_msg that ends with "..." starts with "ID-nnn: ". */
bool conf_msg_cut_ok(const char *msg);

/* Recording. The first failure decides the verdict; later messages are appended. */
void conf_fail(struct conf_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void conf_skip(struct conf_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void conf_note(struct conf_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool conf_failed(const struct conf_result *res);

/* ---- region access --------------------------------------------------------- */

#define LD32(p) __atomic_load_n((volatile uint32_t *)&(p), __ATOMIC_ACQUIRE)
#define LD64(p) __atomic_load_n((volatile uint64_t *)&(p), __ATOMIC_ACQUIRE)
#define ST32(p, v) __atomic_store_n((volatile uint32_t *)&(p), (uint32_t)(v), __ATOMIC_RELEASE)
#define ST64(p, v) __atomic_store_n((volatile uint64_t *)&(p), (uint64_t)(v), __ATOMIC_RELEASE)

/* Maps opt->ram_file at mgmt_base - ram_base and waits (bounded) until the
 * magic is right and hv_state has left BOOTING. */
int conf_open(struct conf *c, const struct conf_opts *o, char *err, size_t errlen);
void conf_close(struct conf *c);

void conf_copy_in(void *dst, const volatile void *src, size_t n);
void conf_copy_out(volatile void *dst, const void *src, size_t n);

volatile struct hvm_vm_slot *conf_slot_ptr(struct conf *c, uint32_t i);
volatile struct hvm_fault *conf_fault_ptr(struct conf *c, uint32_t i);
volatile struct hvm_console *conf_console_ptr(struct conf *c, uint32_t i);
volatile struct hvm_event *conf_event_ptr(struct conf *c, uint64_t seq);
volatile uint8_t *conf_data_ptr(struct conf *c);

/* A consistent copy by the gen protocol (MGMT-150/160); false when gen stayed
 * odd or kept changing for a whole second. */
bool conf_read_slot(struct conf *c, uint32_t i, struct hvm_vm_slot *out);
bool conf_read_fault(struct conf *c, uint32_t i, struct hvm_fault *out);
/* Event number seq (MGMT-140): 1 = copied, 0 = not yet written or lost,
 * -1 = overwritten while read and retries exhausted. */
int conf_read_event(struct conf *c, uint64_t seq, struct hvm_event *out);

/* Time and waiting. */
uint64_t conf_now_ms(void);
void conf_sleep_ms(unsigned ms);
/* True when hv_ticks advances within timeout_ms. */
bool conf_ticks_advance(struct conf *c, unsigned timeout_ms);

/* ---- the command protocol (MGMT-111) --------------------------------------- */

struct conf_reply {
	uint32_t seq;
	uint32_t status;
	uint64_t ret[6];
	char msg[65];        /* ret_msg, always terminated here                 */
	bool msg_terminated; /* whether the implementation terminated it     */
};

/* Submits one command and waits at most opt->timeout_ms for done_seq. Returns
 * true with rep filled, or false with err naming the timeout or the busy
 * interface. Data for the command is written to the data area beforehand. */
bool conf_cmd(struct conf *c, uint32_t cmd, uint32_t vm, const uint64_t args[6],
	      struct conf_reply *rep, char *err, size_t errlen);

/* conf_cmd() that records a failure on timeout and on a status other than
 * want; returns true when the status was want. what names the step. */
bool conf_expect(struct conf *c, struct conf_result *res, const char *what, uint32_t cmd,
		 uint32_t vm, const uint64_t args[6], uint32_t want, struct conf_reply *rep);

/* The command and completion blocks of the transport under test, one access
 * each (MGMT-110, MGMT-120): on the polled page a load or store of the
 * region, on the trapped page one trapped access through the relay. The rest
 * of the register page is one and the same for both (MGMT-213) and is read
 * from the region. A relay that does not answer makes loads return 0 and
 * later commands fail with the reason. */
#define CONF_REG(f) ((uint32_t)offsetof(struct hvm_regs, f))
uint64_t conf_reg_load(struct conf *c, uint32_t off, unsigned width);
void conf_reg_store(struct conf *c, uint32_t off, unsigned width, uint64_t v);
/* The transport's name for messages: "polled page" or "trapped page". */
const char *conf_transport_name(const struct conf *c);

/* Waits for the completion block to settle (done_seq == req_seq) after the
 * client broke the protocol on purpose. */
bool conf_settle(struct conf *c, unsigned timeout_ms);

const char *conf_cmd_name(uint32_t cmd);
const char *conf_status_name(uint32_t st);
const char *conf_state_name(uint32_t st);
bool conf_cmd_has_vm(uint32_t cmd);
bool conf_has_cap(const struct conf *c, uint32_t cmd);

/* ---- state snapshots: "a refusal changes nothing" (MGMT-030) --------------- */

struct conf_snap {
	uint32_t vm_count;
	uint64_t defined;
	uint32_t state[HVM_MAX_VMS], reason[HVM_MAX_VMS];
	char name[HVM_MAX_VMS][HVM_NAME_LEN];
};

bool conf_snap_take(struct conf *c, struct conf_snap *s);
/* Compares two snapshots; on a difference writes it to why and returns false. */
bool conf_snap_same(const struct conf_snap *a, const struct conf_snap *b, char *why, size_t n);
/* Takes a snapshot and records a failure naming what changed since before. */
void conf_expect_unchanged(struct conf *c, struct conf_result *res, const char *what,
			   const struct conf_snap *before);

/* VM helpers. */
int conf_first_vm_in_state(struct conf *c, uint32_t state); /* -1 when none */
int conf_first_defined_vm(struct conf *c);                  /* not the relay; -1 when none */
int conf_first_free_id(struct conf *c);                     /* -1 when none */
bool conf_wait_state(struct conf *c, uint32_t vm, uint32_t state, unsigned timeout_ms,
		     struct hvm_vm_slot *out);
bool conf_heartbeat_advances(struct conf *c, uint32_t vm, unsigned timeout_ms);
/* Looks for an event of type (and vm) with seq >= from, waiting up to timeout. */
bool conf_find_event(struct conf *c, uint64_t from, uint32_t type, uint32_t vm, unsigned timeout_ms,
		     struct hvm_event *out);

#endif /* HV_CONF_INTERNAL_H */
