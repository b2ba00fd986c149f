/*
 * coreops.c - one management command with its outcome classified (coreops.h).
 */
#include "coreops.h"

#include <string.h>

#include "status_map.h"

enum core_result core_cmd(struct hvlink *l, uint32_t cmd, uint32_t id, uint64_t arg0, const char *what,
			  struct hv_status *st)
{
	struct hvlink_cmd c;
	struct hvlink_reply rep;

	memset(&c, 0, sizeof c);
	c.cmd = cmd;
	c.vm_id = id;
	c.arg[0] = arg0;
	if (hvlink_command(l, &c, &rep, st) != 0) {
		hv_status_prefix(st, "%s: ", what);
		return CORE_NO_ANSWER;
	}
	if (rep.status != HVM_OK) {
		status_from_reply(st, what, cmd, &rep);
		return CORE_REFUSED;
	}
	hv_status_ok(st);
	return CORE_OK;
}

enum core_result core_define(struct hvlink *l, const void *blob, size_t len, const char *what, uint32_t *id,
			     struct hv_status *st)
{
	struct hvlink_cmd c;
	struct hvlink_reply rep;

	memset(&c, 0, sizeof c);
	c.cmd = HVM_CMD_DEFINE;
	c.arg[0] = 0; /* blob offset in the data area */
	c.arg[1] = len;
	c.data_in = blob;
	c.data_in_len = len;
	if (hvlink_command(l, &c, &rep, st) != 0) {
		hv_status_prefix(st, "%s: ", what);
		return CORE_NO_ANSWER;
	}
	if (rep.status != HVM_OK) {
		status_from_reply(st, what, HVM_CMD_DEFINE, &rep);
		return CORE_REFUSED;
	}
	if (rep.ret[0] >= HVM_MAX_VMS) {
		hv_status_set(st, HV_INTERNAL, "%s: hv-core answered an invalid vm id %llu", what,
			      (unsigned long long)rep.ret[0]);
		return CORE_NO_ANSWER;
	}
	*id = (uint32_t)rep.ret[0];
	hv_status_ok(st);
	return CORE_OK;
}
