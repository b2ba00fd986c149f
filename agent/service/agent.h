/*
 * agent.h - the state every hvmgr.v1 handler shares, and the helpers the
 * service files use to turn hypervisor records into protobuf messages and
 * hvlink outcomes into RPC statuses.
 */
#ifndef AGENT_H
#define AGENT_H

#include <pthread.h>
#include <stdint.h>

#include "eventlog.h"
#include "hvlink.h"
#include "hvmgr/v1/hvmgr.pb-c.h"
#include "rpc_server.h"

#ifndef HV_VERSION
#define HV_VERSION "0.0.0"
#endif

struct agent {
	struct hvlink *link;
	struct eventlog *events;
	uint64_t started_ns;
	const char *ram_file;
	uint64_t mgmt_base;

	/* MGMT-011 liveness: when hv_ticks last changed, as seen by us. */
	pthread_mutex_t live_lock;
	uint64_t last_ticks, last_change_ns;
};

/* The method table of hvmgr.v1 and grpc.health.v1. */
const struct rpc_method *agent_methods(size_t *count);

/* Authorization (rpc_authorize_fn): unix read-write callers may do anything
 * (the socket's file mode is the access control), read-only callers only
 * what does not change state, TLS callers what their certificate's role
 * allows (agent/auth/roles.h). */
int agent_authorize(void *app, const struct rpc_peer *peer, const char *method, struct hv_status *st);

uint64_t agent_now_ns(void);

/* True when hv_ticks advanced within the last second (MGMT-011). */
int agent_hv_alive(struct agent *ag, uint64_t ticks);

/* ---- convert.c ---- */

/* A Vm message with storage for its strings. */
struct vm_msg {
	Hvmgr__V1__Vm vm;
	char name[HVM_NAME_LEN];
	char uuid[37];
	char image_version[HVM_VERSION_LEN];
};

void vm_msg_from_slot(struct vm_msg *m, const struct hvm_vm_slot *s);

/* ---- status_map.c ---- */

/* The RPC code for a hypervisor status (docs/api.md has the table). */
enum hv_code status_from_hvm(uint32_t hvm_status);

/* Fills st from a completed command that hv-core refused:
 * "<what>: hv-core refused START (E_STATE): <ret_msg>". */
int status_from_reply(struct hv_status *st, const char *what, uint32_t cmd,
		      const struct hvlink_reply *rep);

/* ---- resolve.c ---- */

/* Finds the VM a selector names; INVALID_ARGUMENT for an empty or malformed
 * selector, NOT_FOUND naming the VM otherwise. `label` gets a printable name
 * for messages ("'web'", "id 3", "uuid ..."). */
int resolve_vm(struct agent *ag, const Hvmgr__V1__VmSelector *sel, struct hvm_vm_slot *out,
	       char *label, size_t label_len, struct hv_status *st);

/* ---- the handlers, by file ---- */
void svc_list_vms(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_get_vm(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_get_stats(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_get_console(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);

void svc_define(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_undefine(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_start(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_shutdown(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_destroy(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_reboot(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_reset(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_suspend(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_resume(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);

void svc_get_faults(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_get_self_test(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_get_diagnostics(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_get_version(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);

void svc_watch_events(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_stream *,
		      struct hv_status *);

void svc_health_check(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_health_watch(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_stream *,
		      struct hv_status *);

#endif /* AGENT_H */
