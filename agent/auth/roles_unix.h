/* Roles of callers on hv-agent's unix sockets, from the uid and gid the
 * kernel reports for the connecting process (SO_PEERCRED). The table is
 * hv-agent's configuration: uids that are admin (by default root and the
 * agent's own user) and, optionally, one group whose members are operators.
 * A caller in neither is unmapped: refused on the read-write socket, a
 * viewer on the read-only one. Only the primary gid the kernel reports is
 * compared, not supplementary groups. */
#ifndef HV_AUTH_ROLES_UNIX_H
#define HV_AUTH_ROLES_UNIX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "roles.h"

#define ROLES_UNIX_MAX_ADMINS 16

struct roles_unix {
	uid_t admin[ROLES_UNIX_MAX_ADMINS];
	size_t nadmin;
	bool has_operator_gid;
	gid_t operator_gid;
};

/* The default table: root and `self` are admin; no operator group. */
void roles_unix_default(struct roles_unix *t, uid_t self);

/* Replaces the admin uids with a comma-separated list of decimal uids
 * ("0,1000"). 0, or -1 with a message naming the bad entry (t unchanged). */
int roles_unix_set_admins(struct roles_unix *t, const char *list, char *msg, size_t msglen);

/* Sets the operator group from a decimal gid. 0, or -1 with a message. */
int roles_unix_set_operator_gid(struct roles_unix *t, const char *gid, char *msg, size_t msglen);

/* The role of a caller: admin, operator, or HV_ROLE_NONE when unmapped. */
enum hv_role roles_unix_role(const struct roles_unix *t, uid_t uid, gid_t gid);

#endif
