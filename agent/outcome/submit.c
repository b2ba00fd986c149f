/*
 * submit.c - one management command submitted through hvlink, its outcome
 * classified as done, refused or unanswered (outcome.h).
 */
#include "outcome.h"

enum core_result core_submit(struct hvlink *l, const struct hvlink_cmd *c, struct hvlink_reply *rep,
			     const char *what, struct hv_status *st)
{
	if (hvlink_command(l, c, rep, st) != 0)
		return CORE_NO_ANSWER;
	if (rep->status != HVM_OK) {
		status_from_reply(st, what, c->cmd, rep);
		return CORE_REFUSED;
	}
	hv_status_ok(st);
	return CORE_OK;
}

/* core_submit, with `what` also prefixing the status of a command that got no answer. */
static enum core_result submit_named(struct hvlink *l, const struct hvlink_cmd *c,
				     struct hvlink_reply *rep, const char *what, struct hv_status *st)
{
	enum core_result rc = core_submit(l, c, rep, what, st);

	if (rc == CORE_NO_ANSWER)
		hv_status_prefix(st, "%s: ", what);
	return rc;
}

enum core_result core_cmd(struct hvlink *l, uint32_t cmd, uint32_t id, uint64_t arg0,
			  const char *what, struct hv_status *st)
{
	const struct hvlink_cmd c = { .cmd = cmd, .vm_id = id, .arg = { arg0 } };
	struct hvlink_reply rep;

	return submit_named(l, &c, &rep, what, st);
}

enum core_result core_define(struct hvlink *l, const void *blob, size_t len, const char *what,
			     uint32_t *id, struct hv_status *st)
{
	/* arg[0]: the blob's offset in the data area; arg[1]: its length. */
	const struct hvlink_cmd c = {
		.cmd = HVM_CMD_DEFINE,
		.arg = { 0, len },
		.data_in = blob,
		.data_in_len = len,
	};
	struct hvlink_reply rep;

	enum core_result rc = submit_named(l, &c, &rep, what, st);
	if (rc != CORE_OK)
		return rc;
	if (rep.ret[0] >= HVM_MAX_VMS) {
		hv_status_set(st, HV_INTERNAL, "%s: hv-core answered an invalid vm id %llu", what,
			      (unsigned long long)rep.ret[0]);
		return CORE_NO_ANSWER;
	}
	*id = (uint32_t)rep.ret[0];
	return CORE_OK;
}
