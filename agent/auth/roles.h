/* Roles and authorization for the hvmgr.v1 API: who a caller is (from the
 * client certificate gRPC verified) and which RPCs that caller may invoke.
 * The policy is one table, so that reviewing it means reading one array;
 * docs/security.md reproduces it for operators. */
#ifndef HV_AUTH_ROLES_H
#define HV_AUTH_ROLES_H

#include <stdbool.h>
#include <stddef.h>

/* Ordered: a higher role may do everything a lower one may. */
enum hv_role {
	HV_ROLE_NONE = 0,     /* not a role: parse failures, unknown strings */
	HV_ROLE_VIEWER = 1,   /* reads */
	HV_ROLE_OPERATOR = 2, /* reads + lifecycle of defined VMs */
	HV_ROLE_ADMIN = 3,    /* everything, including define/undefine and OTA */
};

/* The organization every fleet identity carries in its subject (O=...). */
#define ROLES_ORG "hv-fleet"

/* Longest identity name, the X.509 upper bound for a common name. */
#define ROLES_NAME_MAX 64

struct roles_identity {
	char name[ROLES_NAME_MAX + 1];
	enum hv_role role;
};

/* One RPC and the lowest role allowed to call it. */
struct roles_method {
	const char *method; /* full gRPC path, "/hvmgr.v1.Hvmgr/Destroy" */
	enum hv_role min_role;
	bool mutates; /* changes state: refused on the read-only socket */
};

/* The policy table and its size. */
const struct roles_method *roles_table(size_t *count);

/* The entry for a full method path, or NULL when the method is unknown. */
const struct roles_method *roles_lookup(const char *method);

/* "admin", "operator", "viewer"; "none" for HV_ROLE_NONE. */
const char *roles_name(enum hv_role role);

/* Role from its name; HV_ROLE_NONE when NAME is not exactly a role. */
enum hv_role roles_from_name(const char *name);

/* Checks a name used for an identity (certificate CN, file name of its pair):
 * 1..ROLES_NAME_MAX characters from [A-Za-z0-9._@-], not starting with '.' or
 * '-'. Returns true when valid; otherwise false with a message naming the
 * offending character or the length. */
bool roles_name_valid(const char *name, char *msg, size_t msglen);

/* Parses the caller's identity as gRPC reports it: PEER_IDENTITY is the
 * auth context's peer identity (SAN when the certificate has one, else CN;
 * may be NULL or empty), X509_SUBJECT its "x509_subject" property in
 * RFC 4514 form, e.g. "CN=alice,OU=operator,O=hv-fleet" (attribute order is
 * not significant). Requires exactly one CN, one OU naming a role and
 * O=hv-fleet; refuses escapes and multi-valued RDNs. The name is the peer
 * identity when given, else the CN. Returns 0, or -1 with a message. */
int roles_parse_identity(const char *peer_identity, const char *x509_subject,
			 struct roles_identity *out, char *msg, size_t msglen);

/* Flags for roles_check. */
#define ROLES_READ_ONLY 0x1u /* caller came through the read-only socket */

/* May ROLE call METHOD (a full gRPC path)? Returns true when allowed;
 * otherwise false with a refusal such as "role 'viewer' may not call
 * Destroy (requires operator)". Unknown methods are refused (default deny);
 * with ROLES_READ_ONLY every state-changing method is refused. */
bool roles_check(enum hv_role role, const char *method, unsigned flags, char *msg, size_t msglen);

#endif
