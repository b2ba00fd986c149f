/*
 * relay_mbox.h - the mailbox of "mgmt-relay" (hv-core/guests/mgmt-relay), a
 * management VM that lets a client outside the machine drive hv-core's
 * trapped register page (docs/mgmt-abi.md MGMT-112, MGMT-210..215).
 *
 * The mailbox lies in the relay's own RAM at RELAY_MBOX_IPA, so a host process
 * that maps the guest-RAM file reaches it at the physical address the VM's
 * memory region gives (tests/conformance, --transport trapped). The client
 * fills a request and then increments req; the relay performs it with real
 * trapped accesses and writes the results, then ack = req. The relay decides
 * nothing: it reports what the register page answered.
 *
 * Operations:
 *   RELAY_OP_COMMAND  waits (at most wait_ms) for req_seq == done_seq (MGMT-111
 *                     step 1), copies data[0..data_len) into its command data
 *                     area (window + 0x80000, MGMT-211/213), loads done_seq, stores
 *                     cmd, vm_id, arg[0..5], stores req_seq = done_seq + 1
 *                     (STLR), loads done_seq once more (done_first), waits for
 *                     done_seq == req_seq at most wait_ms, loads status, ret[],
 *                     ret_msg, and copies the data area back into data[].
 *   RELAY_OP_LOAD     one load of width bytes (4 or 8) at register page offset
 *                     off, into value.
 *   RELAY_OP_STORE    one store of width bytes of value at offset off.
 * An operation the relay cannot perform (a bad width, offset or op) is
 * answered with error set and nothing touched.
 */
#ifndef RELAY_MBOX_H
#define RELAY_MBOX_H
#include <stdint.h>

#define RELAY_MBOX_IPA 0x40800000ull /* in the relay's RAM (IPA 0x40000000, 16 MiB) */
#define RELAY_MAGIC 0x59414c52u      /* "RLAY": written once the relay serves */
#define RELAY_DATA_OFF 0x1000u       /* data[] from the mailbox start           */
#define RELAY_DATA_SIZE 0x80000u     /* as large as the command data area     */

enum relay_op {
	RELAY_OP_COMMAND = 1,
	RELAY_OP_LOAD = 2,
	RELAY_OP_STORE = 3
};

/* RELAY_E_BUSY: MGMT-111 step 1 failed, req_seq never equalled done_seq
 * within wait_ms, and nothing was submitted. */
enum relay_error {
	RELAY_OK = 0,
	RELAY_E_TIMEOUT = 1,
	RELAY_E_BAD_REQUEST = 2,
	RELAY_E_BUSY = 3
};

struct relay_mbox {
	/* 0x00: handshake */
	uint32_t magic;    /* relay: RELAY_MAGIC when it serves               */
	uint32_t relay_ok; /* relay: 1 = the register page had the right magic */
	uint32_t req;      /* client: incremented to submit                   */
	uint32_t ack;      /* relay: = req when the results are written       */
	/* 0x10: the request */
	uint32_t op;
	uint32_t width;    /* LOAD, STORE: 4 or 8                             */
	uint32_t off;      /* LOAD, STORE: register page offset               */
	uint32_t cmd;      /* COMMAND */
	uint32_t vm_id;    /* COMMAND */
	uint32_t wait_ms;  /* COMMAND: bound on the wait for done_seq        */
	uint64_t arg[6];   /* COMMAND */
	uint64_t value;    /* STORE: the value; LOAD: the result              */
	uint64_t data_len; /* COMMAND: bytes of data[] mirrored in and out  */
	/* 0x68: the results */
	uint32_t error;       /* enum relay_error                           */
	uint32_t done_before; /* COMMAND: done_seq loaded before the store  */
	uint32_t req_written; /* COMMAND: the req_seq value stored          */
	uint32_t done_first;  /* COMMAND: first load of done_seq after it   */
	uint32_t done_last;   /* COMMAND: last load of done_seq             */
	uint32_t status;
	uint32_t req_before; /* COMMAND: req_seq loaded before (step 1)    */
	uint32_t pad;
	uint64_t polls; /* COMMAND: loads of done_seq after the store */
	uint64_t ret[6];
	char ret_msg[64];
	uint64_t served; /* relay: requests served so far              */
	/* what the relay found in its device tree (MGMT-003, MGMT-210),
	 * written once before magic */
	uint32_t dt_found; /* 1: /reserved-memory node "avirt,mgmt-v1"  */
	uint32_t dt_no_map;
	uint64_t dt_base, dt_size;
	char dt_path[64];
};

_Static_assert(sizeof(struct relay_mbox) <= RELAY_DATA_OFF, "mailbox fits before data");
#endif
