/*
 * hvctl.h - what hvctl's command files share: the command table entry (the
 * one description of every command, from which usage, `hvctl help`, the man
 * page and the bash completion are generated), the parsed arguments, the
 * session (connection, options), exit statuses and output helpers.
 */
#ifndef HVCTL_H
#define HVCTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "client.h"
#include "hvmgr/v1/hvmgr.pb-c.h"
#include "status.h"

/* Exit statuses. Stable: scripts depend on them. The table that documents
 * them (help, man page, docs/hvctl.md) is hvctl_exit_codes[] in table.c. */
enum hvctl_exit {
	HVCTL_OK = 0,          /* done */
	HVCTL_FAIL = 1,        /* the operation failed (refused, invalid, ...) */
	HVCTL_USAGE = 2,       /* the command line was wrong */
	HVCTL_UNREACHABLE = 3, /* hv-agent could not be reached */
	HVCTL_NOT_FOUND = 4,   /* the VM, revision or file named does not exist */
	HVCTL_DENIED = 5,      /* refused: read-only socket or role */
};

struct hvctl_exit_doc {
	int code;
	const char *name;
	const char *meaning;
};
extern const struct hvctl_exit_doc hvctl_exit_codes[]; /* ends with name NULL */

#define HVCTL_CALL_TIMEOUT_MS 30000u

/* How a positional argument or an option value is completed. */
enum hvctl_complete {
	HC_NONE = 0,
	HC_VM,         /* a VM name (hvctl list --all --name) */
	HC_FILE,       /* a file name */
	HC_COMMAND,    /* an hvctl command */
	HC_EVENT_TYPE, /* an event class or type */
	HC_PKI,        /* pki subcommands */
};

struct hvctl_optdef {
	const char *name; /* long name, without the leading "--" */
	const char *arg;  /* value placeholder ("N", "FILE"); NULL for a flag */
	enum hvctl_complete complete;
	const char *help;
};

#define HVCTL_F_RAW 1u   /* the handler parses argv itself (pki) */
#define HVCTL_F_LOCAL 2u /* needs no connection to hv-agent */

#define HVCTL_MAX_POS 4
#define HVCTL_MAX_OPTS 16

struct hvctl;
struct hvctl_args;

struct hvctl_cmd {
	const char *name;
	const char *group; /* section in help and the man page */
	const char *args;  /* positional synopsis: "VM", "[VM]", "FILE" */
	int min_pos, max_pos;
	enum hvctl_complete complete;    /* of the positional arguments */
	const struct hvctl_optdef *opts; /* ends with name NULL; may be NULL */
	const char *summary;             /* one line for `hvctl help` */
	const char *description;         /* for `hvctl help VERB` and the man page */
	unsigned flags;
	int (*fn)(struct hvctl *h, const struct hvctl_args *a);
};

extern const struct hvctl_cmd hvctl_commands[];
extern const unsigned hvctl_ncommands;
const struct hvctl_cmd *hvctl_find_cmd(const char *name);

/* A command line parsed against its table entry. */
struct hvctl_args {
	const struct hvctl_cmd *cmd;
	int npos;
	const char *pos[HVCTL_MAX_POS];
	bool set[HVCTL_MAX_OPTS];
	const char *val[HVCTL_MAX_OPTS];
	int argc; /* raw, after the verb (HVCTL_F_RAW) */
	char **argv;
};

/* Parses argv (after the verb): options anywhere, "--" ends them, --opt=V or
 * --opt V. Prints a usage error and returns -1 on anything unexpected. */
int hvctl_parse(const struct hvctl_cmd *cmd, int argc, char **argv, struct hvctl_args *a);
bool opt_flag(const struct hvctl_args *a, const char *name);
const char *opt_str(const struct hvctl_args *a, const char *name);
/* *out = the option's decimal value when given (else left alone). Returns 0,
 * or prints a usage error naming the option and the range and returns -1. */
int opt_u64(const struct hvctl_args *a, const char *name, uint64_t min, uint64_t max, uint64_t *out);

/* The session: global options and the connection, made on first use. */
struct hvctl {
	struct hvc_opts conn_opts;
	struct hvc *conn;
	int conn_rc; /* exit status when the connection failed */
	const char *verb;
	/* --fleet mqtts://HOST:PORT --vehicle ID: calls go through the fleet's
	 * broker, signed with --cert/--key (docs/fleet.md). */
	const char *fleet_url;
	const char *vehicle;
	struct hvf *fleet;
	bool tls_given; /* --ca, --cert or --key on the command line */
};

/* The fleet connection, made on first use (NULL: failure printed, exit
 * status in h->conn_rc). */
struct hvf *hvctl_fleet(struct hvctl *h);

/* Connects on first use; prints the reason and returns NULL on failure
 * (h->conn_rc then says which exit status to use). */
struct hvc *hvctl_conn(struct hvctl *h);

/* One unary call of hvmgr.v1.Hvmgr/method (or a full "/pkg.Svc/M" path);
 * returns 0, or prints the failure and returns the exit status. */
int hvctl_call(struct hvctl *h, const char *method, const ProtobufCMessage *req,
	       const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp);

/* The exit status for a failed call's code. */
int hvctl_exit_for(int code);
/* "hvctl: VERB: message [CODE]" on stderr, or "hvctl: message [CODE]" when
 * the message already begins with VERB (the verb is said once). */
void hvctl_print_failure(const char *verb, const char *msg, int code);
/* hvctl_print_failure for a failed call; returns hvctl_exit_for(code). */
int hvctl_fail(const char *verb, const struct hv_status *st);
/* "hvctl: VERB: message" on stderr for a local failure; returns rc. */
int hvctl_error(int rc, const char *verb, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "hvctl: VERB: message" + usage line on stderr; returns HVCTL_USAGE. */
int hvctl_usage(const struct hvctl_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "hvctl VERB [OPTIONS...] ARGS" into buf. */
void hvctl_synopsis(const struct hvctl_cmd *cmd, char *buf, size_t len);

/* A VM argument as virsh reads it: all digits = id, a uuid = uuid, else name. */
void hvctl_selector(Hvmgr__V1__VmSelector *sel, const char *arg);

/* ---- doc.c: generated from the table ---- */
void doc_usage(FILE *f);                              /* hvctl help */
void doc_command(FILE *f, const struct hvctl_cmd *c); /* hvctl help VERB */
void doc_man(FILE *f);                                /* hvctl --man */
void doc_completion_bash(FILE *f);                    /* hvctl --completion bash */

/* ---- format.c ---- */
const char *fmt_state(int state); /* "running", "shut off", ...  */
/* The VM's id, or "-" for a VM only hv-agent's store holds (no slot in
 * hv-core), as virsh shows an inactive domain's id. */
const char *fmt_vm_id(const Hvmgr__V1__Vm *vm, char *buf, size_t len);
const char *fmt_reason(int reason);  /* "booted", "destroyed", ...  */
const char *fmt_event(int type);     /* "Started", "Stopped", ...   */
const char *fmt_criticality(int c);  /* "QM", "ASIL-B", ...         */
const char *fmt_fault_policy(int p); /* "ignore", "stop", "restart", "stop-vcpu" */
const char *fmt_guest_state(int g);  /* "running", "booting", ...   */
const char *fmt_fault_kind(int k);   /* "stage2-abort", ...         */
void fmt_cpuset(uint64_t mask, char *buf, size_t len); /* "0-1,3" */
void fmt_time_ms(int64_t ms, char *buf, size_t len);   /* "2026-11-21 12:00:00 UTC" */
void fmt_hex(const uint8_t *p, size_t n, char *buf, size_t len);

/* virsh's table layout: " Id   Name   State" and a dashed line. */
struct fmt_table;
struct fmt_table *fmt_table_new(int ncols, const char *const *header);
void fmt_table_row(struct fmt_table *t, const char *const *cells);
void fmt_table_print(struct fmt_table *t);
void fmt_table_free(struct fmt_table *t);

json_t *json_vm(const Hvmgr__V1__Vm *vm);
/* Prints j (2-space indent, keys in insertion order) and drops the reference. */
void json_print(json_t *j);

#endif /* HVCTL_H */
