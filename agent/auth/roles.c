/* Role-based authorization for hvmgr.v1: the method -> lowest-role table,
 * the identity parser for gRPC's x509 subject strings, and the check the
 * RPC layer runs before dispatching a call (REQ-PRD-03: RPCs are
 * authenticated, and authorized here). Default deny: a method that is not in
 * the table is refused for everyone. */
#include "roles.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SVC "/hvmgr.v1.Hvmgr/"

/* Reads are open to viewers; lifecycle of existing VMs needs an operator;
 * changing what is defined (and installing software) needs an admin.
 * GetConsole is a read: it returns console output, it does not inject input. */
static const struct roles_method table[] = {
	/* lifecycle of defined VMs */
	{ SVC "Start", HV_ROLE_OPERATOR, true },
	{ SVC "Shutdown", HV_ROLE_OPERATOR, true },
	{ SVC "Destroy", HV_ROLE_OPERATOR, true },
	{ SVC "Reboot", HV_ROLE_OPERATOR, true },
	{ SVC "Reset", HV_ROLE_OPERATOR, true },
	{ SVC "Suspend", HV_ROLE_OPERATOR, true },
	{ SVC "Resume", HV_ROLE_OPERATOR, true },
	/* what is defined */
	{ SVC "Define", HV_ROLE_ADMIN, true },
	{ SVC "Undefine", HV_ROLE_ADMIN, true },
	{ SVC "LoadImage", HV_ROLE_ADMIN, true },
	/* reads */
	{ SVC "ListVms", HV_ROLE_VIEWER, false },
	{ SVC "GetVm", HV_ROLE_VIEWER, false },
	{ SVC "GetStats", HV_ROLE_VIEWER, false },
	{ SVC "GetConsole", HV_ROLE_VIEWER, false },
	{ SVC "WatchEvents", HV_ROLE_VIEWER, false },
	{ SVC "GetFaults", HV_ROLE_VIEWER, false },
	{ SVC "GetSelfTest", HV_ROLE_VIEWER, false },
	{ SVC "GetDiagnostics", HV_ROLE_VIEWER, false },
	{ SVC "GetVersion", HV_ROLE_VIEWER, false },
	/* stored configurations and the audit log: reading them is a read;
     * autostart is lifecycle policy (operator); a rollback changes what is
     * defined (admin) */
	{ SVC "GetConfig", HV_ROLE_VIEWER, false },
	{ SVC "ListConfigRevisions", HV_ROLE_VIEWER, false },
	{ SVC "GetAudit", HV_ROLE_VIEWER, false },
	{ SVC "WatchHealth", HV_ROLE_VIEWER, false },
	{ SVC "ExportDiagnostics", HV_ROLE_VIEWER, false },
	{ SVC "SetAutostart", HV_ROLE_OPERATOR, true },
	{ SVC "RollbackConfig", HV_ROLE_ADMIN, true },
	/* OTA of guest images: uploading and installing software is an admin's
     * decision, as LoadImage is; where an upload resumes is asked by the
     * uploader; the slots are a read. */
	{ SVC "OtaUploadOffset", HV_ROLE_ADMIN, false },
	{ SVC "OtaUpload", HV_ROLE_ADMIN, true },
	{ SVC "OtaInstall", HV_ROLE_ADMIN, true },
	{ SVC "OtaStatus", HV_ROLE_VIEWER, false },
	{ SVC "OtaFetch", HV_ROLE_ADMIN, true },
	/* the keyed audit record: checking it is a read; acknowledging a
     * finding lifts the refusal of every change (admin) */
	{ SVC "VerifyAudit", HV_ROLE_VIEWER, false },
	{ SVC "AcknowledgeAudit", HV_ROLE_ADMIN, true },
	/* the vehicle state and the safety policy: reading them is a read;
     * declaring the vehicle state (management source only) is an admin's */
	{ SVC "GetVehicleState", HV_ROLE_VIEWER, false },
	{ SVC "SetVehicleState", HV_ROLE_ADMIN, true },
	{ SVC "GetPolicy", HV_ROLE_VIEWER, false },
	{ SVC "ListPending", HV_ROLE_VIEWER, false },
	{ SVC "CancelPending", HV_ROLE_OPERATOR, true },
	/* the interactive console types into a VM: operators and admins (viewers
     * read output with GetConsole) */
	{ SVC "Console", HV_ROLE_OPERATOR, true },
	{ SVC "ConsoleSessionOpen", HV_ROLE_OPERATOR, true },
	{ SVC "ConsoleSessionInput", HV_ROLE_OPERATOR, true },
	{ SVC "ConsoleSessionClose", HV_ROLE_OPERATOR, true },
	/* the standard health service answers everyone who authenticated */
	{ "/grpc.health.v1.Health/Check", HV_ROLE_VIEWER, false },
	{ "/grpc.health.v1.Health/Watch", HV_ROLE_VIEWER, false },
};

const struct roles_method *roles_table(size_t *count)
{
	*count = sizeof table / sizeof table[0];
	return table;
}

const struct roles_method *roles_lookup(const char *method)
{
	if (method == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcmp(table[i].method, method) == 0)
			return &table[i];
	return NULL;
}

const char *roles_name(enum hv_role role)
{
	switch (role) {
	case HV_ROLE_VIEWER:
		return "viewer";
	case HV_ROLE_OPERATOR:
		return "operator";
	case HV_ROLE_ADMIN:
		return "admin";
	case HV_ROLE_NONE:
		break;
	}
	return "none";
}

enum hv_role roles_from_name(const char *name)
{
	if (name == NULL)
		return HV_ROLE_NONE;
	for (enum hv_role r = HV_ROLE_VIEWER; r <= HV_ROLE_ADMIN; r++)
		if (strcmp(name, roles_name(r)) == 0)
			return r;
	return HV_ROLE_NONE;
}

static void say(char *msg, size_t msglen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *msg, size_t msglen, const char *fmt, ...)
{
	if (msg == NULL || msglen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || c == '@';
}

bool roles_name_valid(const char *name, char *msg, size_t msglen)
{
	if (name == NULL || name[0] == '\0') {
		say(msg, msglen, "name is empty");
		return false;
	}
	size_t n = strnlen(name, ROLES_NAME_MAX + 1);
	if (n > ROLES_NAME_MAX) {
		say(msg, msglen, "name is longer than %d characters", ROLES_NAME_MAX);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!name_char_ok((char)c)) {
			if (c < 0x20 || c >= 0x7f)
				say(msg, msglen,
				    "name '%s': byte 0x%02x at position %zu is not allowed "
				    "(use letters, digits, '.', '_', '-', '@')",
				    name, c, i);
			else
				say(msg, msglen,
				    "name '%s': character '%c' at position %zu is not allowed "
				    "(use letters, digits, '.', '_', '-', '@')",
				    name, c, i);
			return false;
		}
	}
	if (name[0] == '.' || name[0] == '-') {
		say(msg, msglen, "name '%s' must not start with '%c'", name, name[0]);
		return false;
	}
	return true;
}

/* One attribute of the subject, pointing into the caller's copy. */
struct attr {
	const char *key, *val;
};

/* Splits S (modified in place) at ',' into KEY=VALUE pairs. Spaces after a
 * comma are tolerated (some printers use ", "). */
static int split_subject(char *s, struct attr *attrs, size_t max, size_t *n, char *msg, size_t msglen)
{
	*n = 0;
	char *p = s;
	for (;;) {
		while (*p == ' ')
			p++;
		char *end = strchr(p, ',');
		if (end)
			*end = '\0';
		char *eq = strchr(p, '=');
		if (eq == NULL || eq == p) {
			say(msg, msglen, "subject attribute '%s' is not KEY=VALUE", p);
			return -1;
		}
		*eq = '\0';
		if (*n == max) {
			say(msg, msglen, "subject has more than %zu attributes", max);
			return -1;
		}
		attrs[(*n)++] = (struct attr){ p, eq + 1 };
		if (!end)
			return 0;
		p = end + 1;
	}
}

int roles_parse_identity(const char *peer_identity, const char *x509_subject,
			 struct roles_identity *out, char *msg, size_t msglen)
{
	char buf[1024];
	memset(out, 0, sizeof *out);
	if (x509_subject == NULL || x509_subject[0] == '\0') {
		say(msg, msglen, "client certificate has no subject");
		return -1;
	}
	if (strlen(x509_subject) >= sizeof buf) {
		say(msg, msglen, "client certificate subject is longer than %zu bytes",
		    sizeof buf - 1);
		return -1;
	}
	/* Escapes and '+' (multi-valued RDNs) never occur in subjects this PKI
     * issues; refusing them keeps the parser small and unambiguous. */
	for (const char *c = x509_subject; *c; c++) {
		if (*c == '\\' || *c == '+' || *c == '"' || (unsigned char)*c < 0x20) {
			say(msg, msglen,
			    "client certificate subject '%s' contains escaped or "
			    "multi-valued attributes, which are not accepted",
			    x509_subject);
			return -1;
		}
	}
	strcpy(buf, x509_subject);

	struct attr attrs[16];
	size_t n;
	if (split_subject(buf, attrs, 16, &n, msg, msglen) < 0)
		return -1;

	const char *cn = NULL, *ou = NULL, *o = NULL;
	for (size_t i = 0; i < n; i++) {
		const char **slot = NULL;
		if (strcmp(attrs[i].key, "CN") == 0)
			slot = &cn;
		else if (strcmp(attrs[i].key, "OU") == 0)
			slot = &ou;
		else if (strcmp(attrs[i].key, "O") == 0)
			slot = &o;
		else
			continue; /* C, L, ... carry no authority here */
		if (*slot != NULL) {
			say(msg, msglen, "client certificate subject '%s' has more than one %s",
			    x509_subject, attrs[i].key);
			return -1;
		}
		*slot = attrs[i].val;
	}
	if (o == NULL || strcmp(o, ROLES_ORG) != 0) {
		say(msg, msglen, "client certificate subject '%s' is not of organization O=%s",
		    x509_subject, ROLES_ORG);
		return -1;
	}
	if (ou == NULL) {
		say(msg, msglen,
		    "client certificate subject '%s' has no role (OU=admin|operator|viewer)",
		    x509_subject);
		return -1;
	}
	enum hv_role role = roles_from_name(ou);
	if (role == HV_ROLE_NONE) {
		say(msg, msglen,
		    "client certificate subject '%s': unknown role '%s' "
		    "(expected admin, operator or viewer)",
		    x509_subject, ou);
		return -1;
	}
	if (cn == NULL || cn[0] == '\0') {
		say(msg, msglen, "client certificate subject '%s' has no common name (CN)",
		    x509_subject);
		return -1;
	}
	const char *name = (peer_identity && peer_identity[0]) ? peer_identity : cn;
	char why[256];
	if (!roles_name_valid(name, why, sizeof why)) {
		say(msg, msglen, "client identity: %s", why);
		return -1;
	}
	strcpy(out->name, name);
	out->role = role;
	return 0;
}

/* "Destroy" from "/hvmgr.v1.Hvmgr/Destroy"; the whole string otherwise. */
static const char *short_name(const char *method)
{
	const char *slash = strrchr(method, '/');
	return (slash && slash[1]) ? slash + 1 : method;
}

bool roles_check(enum hv_role role, const char *method, unsigned flags, char *msg, size_t msglen)
{
	if (method == NULL || method[0] == '\0') {
		say(msg, msglen, "role '%s' may not call an unnamed method", roles_name(role));
		return false;
	}
	const struct roles_method *m = roles_lookup(method);
	if (m == NULL) {
		say(msg, msglen, "role '%s' may not call %s: unknown method", roles_name(role),
		    method);
		return false;
	}
	if ((flags & ROLES_READ_ONLY) && m->mutates) {
		say(msg, msglen, "%s changes state and is refused on the read-only socket",
		    short_name(method));
		return false;
	}
	if (role < m->min_role || role > HV_ROLE_ADMIN) {
		say(msg, msglen, "role '%s' may not call %s (requires %s)", roles_name(role),
		    short_name(method), roles_name(m->min_role));
		return false;
	}
	return true;
}
