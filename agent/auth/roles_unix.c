/* The uid/gid -> role table of hv-agent's unix sockets (roles_unix.h). */
#include "roles_unix.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void roles_unix_default(struct roles_unix *t, uid_t self)
{
	memset(t, 0, sizeof *t);
	t->admin[t->nadmin++] = 0;
	if (self != 0)
		t->admin[t->nadmin++] = self;
}

/* A decimal id below 2^32-1 (the kernel's "no id") from s..end. */
static int parse_id(const char *s, size_t n, unsigned long *out)
{
	char buf[16], *end;

	if (n == 0 || n >= sizeof buf || strspn(s, "0123456789") < n)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	unsigned long v = strtoul(buf, &end, 10);
	if (errno || *end || v >= 0xffffffffUL)
		return -1;
	*out = v;
	return 0;
}

int roles_unix_set_admins(struct roles_unix *t, const char *list, char *msg, size_t msglen)
{
	uid_t ids[ROLES_UNIX_MAX_ADMINS];
	size_t n = 0;
	const char *p = list;

	for (;;) {
		size_t len = strcspn(p, ",");
		unsigned long v;
		if (parse_id(p, len, &v) != 0) {
			snprintf(msg, msglen, "admin uid '%.*s' is not a decimal uid", (int)len, p);
			return -1;
		}
		if (n == ROLES_UNIX_MAX_ADMINS) {
			snprintf(msg, msglen, "more than %d admin uids", ROLES_UNIX_MAX_ADMINS);
			return -1;
		}
		ids[n++] = (uid_t)v;
		if (!p[len])
			break;
		p += len + 1;
	}
	memcpy(t->admin, ids, n * sizeof ids[0]);
	t->nadmin = n;
	return 0;
}

int roles_unix_set_operator_gid(struct roles_unix *t, const char *gid, char *msg, size_t msglen)
{
	unsigned long v;

	if (parse_id(gid, strlen(gid), &v) != 0) {
		snprintf(msg, msglen, "operator gid '%s' is not a decimal gid", gid);
		return -1;
	}
	t->has_operator_gid = true;
	t->operator_gid = (gid_t)v;
	return 0;
}

enum hv_role roles_unix_role(const struct roles_unix *t, uid_t uid, gid_t gid)
{
	for (size_t i = 0; i < t->nadmin; i++)
		if (t->admin[i] == uid)
			return HV_ROLE_ADMIN;
	if (t->has_operator_gid && t->operator_gid == gid)
		return HV_ROLE_OPERATOR;
	return HV_ROLE_NONE;
}
