/* Unit tests of hvauth's roles: the method table (complete, default deny),
 * the role ladder, the read-only socket rule and the parsing of the
 * identity gRPC reports for a verified client certificate. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "roles.h"

#define M(x) "/hvmgr.v1.Hvmgr/" x

static const char *const required[] = {
	"Define",     "Undefine",    "Start",     "Shutdown",    "Destroy",        "Reboot",
	"Reset",      "Suspend",     "Resume",    "ListVms",     "GetVm",          "GetStats",
	"GetConsole", "WatchEvents", "GetFaults", "GetSelfTest", "GetDiagnostics", "GetVersion",
};
static const char *const lifecycle[] = {
	"Start", "Shutdown", "Destroy", "Reboot", "Reset", "Suspend", "Resume",
};
static const char *const reads[] = {
	"ListVms",   "GetVm",       "GetStats",       "GetConsole", "WatchEvents",
	"GetFaults", "GetSelfTest", "GetDiagnostics", "GetVersion",
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void full(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, M("%s"), name);
}

Test(roles_table, every_hvmgr_method_has_an_entry)
{
	char path[128];
	for (size_t i = 0; i < N(required); i++) {
		full(path, sizeof path, required[i]);
		cr_expect_not_null(roles_lookup(path), "no table entry for %s", path);
	}
}

Test(roles_table, entries_are_well_formed_and_unique)
{
	size_t n;
	const struct roles_method *t = roles_table(&n);
	cr_assert_gt(n, N(required) - 1);
	for (size_t i = 0; i < n; i++) {
		cr_expect(strncmp(t[i].method, M(""), strlen(M(""))) == 0 ||
				  strncmp(t[i].method, "/grpc.health.v1.Health/", 23) == 0,
			  "unexpected service in %s", t[i].method);
		cr_expect(t[i].min_role >= HV_ROLE_VIEWER && t[i].min_role <= HV_ROLE_ADMIN,
			  "%s has no valid role", t[i].method);
		/* Anything a viewer may call must not change state. */
		cr_expect(!(t[i].min_role == HV_ROLE_VIEWER && t[i].mutates),
			  "%s is viewer-callable but mutates", t[i].method);
		for (size_t j = i + 1; j < n; j++)
			cr_expect(strcmp(t[i].method, t[j].method) != 0, "%s listed twice",
				  t[i].method);
	}
}

/* When the service definition exists, every rpc in it must be in the table,
 * so a new RPC cannot ship without a decision about who may call it. */
Test(roles_table, every_rpc_in_the_proto_has_an_entry)
{
	const char *dir = HV_SOURCE_DIR "/proto/hvmgr/v1";
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "%s: the service definition is missing", dir);
	struct dirent *e;
	int rpcs = 0;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 6, ".proto") != 0)
			continue;
		char path[512], line[512];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "r");
		cr_assert_not_null(f);
		while (fgets(line, sizeof line, f)) {
			char name[128], method[160];
			if (sscanf(line, " rpc %127[A-Za-z0-9_]", name) == 1) {
				full(method, sizeof method, name);
				cr_expect_not_null(roles_lookup(method),
						   "%s (from %s) has no table entry", method,
						   e->d_name);
				rpcs++;
			}
		}
		fclose(f);
	}
	closedir(d);
	cr_assert_gt(rpcs, 0, "no rpc definitions in %s", dir);
}

Test(roles_check, viewer_cannot_destroy)
{
	char msg[256] = "";
	cr_assert_not(roles_check(HV_ROLE_VIEWER, M("Destroy"), 0, msg, sizeof msg));
	cr_assert_str_eq(msg, "role 'viewer' may not call Destroy (requires operator)");
}

Test(roles_check, viewer_may_read)
{
	char path[128], msg[256];
	for (size_t i = 0; i < N(reads); i++) {
		full(path, sizeof path, reads[i]);
		cr_expect(roles_check(HV_ROLE_VIEWER, path, 0, msg, sizeof msg), "%s: %s", path, msg);
	}
}

Test(roles_check, viewer_may_not_change_anything)
{
	char path[128], msg[256];
	for (size_t i = 0; i < N(lifecycle); i++) {
		full(path, sizeof path, lifecycle[i]);
		cr_expect_not(roles_check(HV_ROLE_VIEWER, path, 0, msg, sizeof msg), "%s", path);
		cr_expect(strstr(msg, "role 'viewer'") && strstr(msg, lifecycle[i]), "%s", msg);
	}
}

Test(roles_check, operator_can_start_but_not_define)
{
	char msg[256] = "";
	cr_expect(roles_check(HV_ROLE_OPERATOR, M("Start"), 0, msg, sizeof msg), "%s", msg);
	for (size_t i = 0; i < N(lifecycle); i++) {
		char path[128];
		full(path, sizeof path, lifecycle[i]);
		cr_expect(roles_check(HV_ROLE_OPERATOR, path, 0, msg, sizeof msg), "%s", msg);
	}
	cr_assert_not(roles_check(HV_ROLE_OPERATOR, M("Define"), 0, msg, sizeof msg));
	cr_assert_str_eq(msg, "role 'operator' may not call Define (requires admin)");
	cr_assert_not(roles_check(HV_ROLE_OPERATOR, M("Undefine"), 0, msg, sizeof msg));
}

Test(roles_check, admin_can_call_everything_in_the_table)
{
	size_t n;
	char msg[256];
	const struct roles_method *t = roles_table(&n);
	for (size_t i = 0; i < n; i++)
		cr_expect(roles_check(HV_ROLE_ADMIN, t[i].method, 0, msg, sizeof msg), "%s", msg);
}

Test(roles_check, unknown_methods_are_denied_to_everyone)
{
	char msg[256];
	const char *bad[] = { M("FormatDisk"),
			      "/hvmgr.v1.Hvmgr/destroy",
			      M("Destroy/"),
			      "/hvmgr.v2.Hvmgr/Destroy",
			      "Destroy",
			      "/",
			      M("") };
	for (size_t i = 0; i < N(bad); i++) {
		cr_expect_not(roles_check(HV_ROLE_ADMIN, bad[i], 0, msg, sizeof msg), "%s", bad[i]);
		cr_expect(strstr(msg, "unknown method") != NULL, "%s -> %s", bad[i], msg);
	}
	cr_expect_not(roles_check(HV_ROLE_ADMIN, NULL, 0, msg, sizeof msg));
	cr_expect_not(roles_check(HV_ROLE_ADMIN, "", 0, msg, sizeof msg));
	cr_expect(strstr(msg, "unnamed") != NULL, "%s", msg);
}

Test(roles_check, no_role_is_refused)
{
	char msg[256];
	cr_assert_not(roles_check(HV_ROLE_NONE, M("GetVersion"), 0, msg, sizeof msg));
	cr_assert_str_eq(msg, "role 'none' may not call GetVersion (requires viewer)");
	cr_assert_not(roles_check((enum hv_role)42, M("GetVersion"), 0, msg, sizeof msg));
}

Test(roles_check, read_only_socket_refuses_state_changes)
{
	char msg[256] = "";
	cr_assert_not(roles_check(HV_ROLE_ADMIN, M("Destroy"), ROLES_READ_ONLY, msg, sizeof msg));
	cr_assert_str_eq(msg, "Destroy changes state and is refused on the read-only socket");
	cr_assert_not(roles_check(HV_ROLE_ADMIN, M("Define"), ROLES_READ_ONLY, msg, sizeof msg));
	char path[128];
	for (size_t i = 0; i < N(reads); i++) {
		full(path, sizeof path, reads[i]);
		cr_expect(roles_check(HV_ROLE_VIEWER, path, ROLES_READ_ONLY, msg, sizeof msg), "%s",
			  msg);
	}
	size_t n;
	const struct roles_method *t = roles_table(&n);
	for (size_t i = 0; i < n; i++)
		cr_expect_eq(roles_check(HV_ROLE_ADMIN, t[i].method, ROLES_READ_ONLY, msg, sizeof msg),
			     !t[i].mutates, "%s", t[i].method);
}

Test(roles_check, tolerates_missing_message_buffer)
{
	cr_assert_not(roles_check(HV_ROLE_VIEWER, M("Destroy"), 0, NULL, 0));
	char one[1];
	cr_assert_not(roles_check(HV_ROLE_VIEWER, M("Destroy"), 0, one, sizeof one));
	cr_assert_eq(one[0], '\0');
}

Test(roles_names, round_trip)
{
	for (enum hv_role r = HV_ROLE_VIEWER; r <= HV_ROLE_ADMIN; r++)
		cr_expect_eq(roles_from_name(roles_name(r)), r);
	cr_expect_eq(roles_from_name("Admin"), HV_ROLE_NONE);
	cr_expect_eq(roles_from_name("none"), HV_ROLE_NONE);
	cr_expect_eq(roles_from_name(""), HV_ROLE_NONE);
	cr_expect_eq(roles_from_name(NULL), HV_ROLE_NONE);
	cr_expect_eq(roles_from_name("admin "), HV_ROLE_NONE);
	cr_expect_str_eq(roles_name(HV_ROLE_NONE), "none");
	cr_expect(HV_ROLE_VIEWER < HV_ROLE_OPERATOR && HV_ROLE_OPERATOR < HV_ROLE_ADMIN);
}

Test(roles_names, name_rules)
{
	char msg[256], longest[ROLES_NAME_MAX + 2];
	memset(longest, 'a', ROLES_NAME_MAX);
	longest[ROLES_NAME_MAX] = '\0';
	cr_expect(roles_name_valid("alice", msg, sizeof msg));
	cr_expect(roles_name_valid("ecu-17.backend_tool@fleet", msg, sizeof msg));
	cr_expect(roles_name_valid(longest, msg, sizeof msg), "%s", msg);
	longest[ROLES_NAME_MAX] = 'a';
	longest[ROLES_NAME_MAX + 1] = '\0';
	cr_expect_not(roles_name_valid(longest, msg, sizeof msg));
	cr_expect(strstr(msg, "longer than 64") != NULL, "%s", msg);

	cr_expect_not(roles_name_valid("a,b", msg, sizeof msg));
	cr_expect_str_eq(msg, "name 'a,b': character ',' at position 1 is not allowed "
			      "(use letters, digits, '.', '_', '-', '@')");
	cr_expect_not(roles_name_valid("a/b", msg, sizeof msg));
	cr_expect(strstr(msg, "'/'") != NULL, "%s", msg);
	cr_expect_not(roles_name_valid("a\nb", msg, sizeof msg));
	cr_expect(strstr(msg, "byte 0x0a") != NULL, "%s", msg);
	cr_expect_not(roles_name_valid("caf\xc3\xa9", msg, sizeof msg));
	cr_expect(strstr(msg, "byte 0xc3") != NULL, "%s", msg);
	cr_expect_not(roles_name_valid("", msg, sizeof msg));
	cr_expect_str_eq(msg, "name is empty");
	cr_expect_not(roles_name_valid(NULL, msg, sizeof msg));
	cr_expect_not(roles_name_valid("..", msg, sizeof msg));
	cr_expect(strstr(msg, "must not start with '.'") != NULL, "%s", msg);
	cr_expect_not(roles_name_valid("-rf", msg, sizeof msg));
	const char *bad[] = { "a b", "a=b", "a+b", "a\\b", "a;b", "a\"b", "a<b", "a#b", "a\tb" };
	for (size_t i = 0; i < N(bad); i++)
		cr_expect_not(roles_name_valid(bad[i], msg, sizeof msg), "%s accepted", bad[i]);
}

Test(roles_identity, parses_subject_as_grpc_reports_it)
{
	struct roles_identity id;
	char msg[256] = "";
	cr_assert_eq(roles_parse_identity("alice", "CN=alice,OU=operator,O=hv-fleet", &id, msg,
					  sizeof msg),
		     0, "%s", msg);
	cr_assert_str_eq(id.name, "alice");
	cr_assert_eq(id.role, HV_ROLE_OPERATOR);
}

Test(roles_identity, attribute_order_and_spacing_do_not_matter)
{
	struct roles_identity id;
	char msg[256] = "";
	cr_assert_eq(roles_parse_identity(NULL, "O=hv-fleet, OU=viewer, CN=bob", &id, msg, sizeof msg),
		     0, "%s", msg);
	cr_assert_str_eq(id.name, "bob");
	cr_assert_eq(id.role, HV_ROLE_VIEWER);
	cr_assert_eq(roles_parse_identity("", "C=DE,O=hv-fleet,OU=admin,CN=root-ops", &id, msg,
					  sizeof msg),
		     0, "%s", msg);
	cr_assert_str_eq(id.name, "root-ops");
	cr_assert_eq(id.role, HV_ROLE_ADMIN);
}

Test(roles_identity, peer_identity_names_the_caller)
{
	struct roles_identity id;
	char msg[256] = "";
	cr_assert_eq(roles_parse_identity("tool.example", "CN=backend,OU=viewer,O=hv-fleet", &id,
					  msg, sizeof msg),
		     0, "%s", msg);
	cr_assert_str_eq(id.name, "tool.example");
	cr_assert_neq(roles_parse_identity("bad name", "CN=backend,OU=viewer,O=hv-fleet", &id, msg,
					   sizeof msg),
		      0);
	cr_assert(strstr(msg, "client identity: name 'bad name'") != NULL, "%s", msg);
}

struct bad_subject {
	const char *subject;
	const char *expect; /* substring of the message */
};

Test(roles_identity, malformed_subjects_are_rejected)
{
	static const struct bad_subject cases[] = {
		{ NULL, "has no subject" },
		{ "", "has no subject" },
		{ "CN=alice", "not of organization O=hv-fleet" },
		{ "CN=alice,O=hv-fleet", "has no role" },
		{ "CN=alice,OU=root,O=hv-fleet", "unknown role 'root'" },
		{ "CN=alice,OU=Admin,O=hv-fleet", "unknown role 'Admin'" },
		{ "CN=alice,OU=,O=hv-fleet", "unknown role ''" },
		{ "CN=alice,OU=viewer,OU=admin,O=hv-fleet", "more than one OU" },
		{ "CN=alice,CN=bob,OU=viewer,O=hv-fleet", "more than one CN" },
		{ "CN=alice,OU=admin,O=hv-fleet,O=other", "more than one O" },
		{ "CN=alice,OU=admin,O=evil-fleet", "not of organization" },
		{ "CN=alice,OU=admin,O=hv-fleet2", "not of organization" },
		{ "OU=admin,O=hv-fleet", "no common name" },
		{ "CN=,OU=admin,O=hv-fleet", "no common name" },
		{ "CN=a\\,OU=admin,OU=viewer,O=hv-fleet", "escaped or multi-valued" },
		{ "CN=alice+OU=admin,OU=viewer,O=hv-fleet", "escaped or multi-valued" },
		{ "CN=\"x\",OU=admin,O=hv-fleet", "escaped or multi-valued" },
		{ "CN=al\nice,OU=admin,O=hv-fleet", "escaped or multi-valued" },
		{ "CN=alice,OU=admin,,O=hv-fleet", "is not KEY=VALUE" },
		{ "CN=alice,OU=admin,O=hv-fleet,", "is not KEY=VALUE" },
		{ "=alice,OU=admin,O=hv-fleet", "is not KEY=VALUE" },
		{ "garbage", "is not KEY=VALUE" },
		{ "CN=a/b,OU=admin,O=hv-fleet", "character '/'" },
		{ "CN=a,x=1,x=2,x=3,x=4,x=5,x=6,x=7,x=8,x=9,x=10,x=11,x=12,x=13,x=14,x=15,OU=admin,"
		  "O=hv-fleet",
		  "more than 16 attributes" },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct roles_identity id = { .role = HV_ROLE_ADMIN };
		char msg[512] = "";
		cr_expect_neq(roles_parse_identity(NULL, cases[i].subject, &id, msg, sizeof msg), 0,
			      "accepted '%s'", cases[i].subject ? cases[i].subject : "(null)");
		cr_expect(strstr(msg, cases[i].expect) != NULL, "'%s': message '%s' lacks '%s'",
			  cases[i].subject ? cases[i].subject : "(null)", msg, cases[i].expect);
		cr_expect_eq(id.role, HV_ROLE_NONE, "role left set for '%s'", cases[i].subject);
		cr_expect_str_eq(id.name, "");
	}
}

Test(roles_identity, overlong_subject_is_rejected)
{
	char subject[2048];
	memset(subject, 'x', sizeof subject - 1);
	subject[sizeof subject - 1] = '\0';
	memcpy(subject, "CN=", 3);
	struct roles_identity id;
	char msg[256] = "";
	cr_assert_neq(roles_parse_identity(NULL, subject, &id, msg, sizeof msg), 0);
	cr_assert(strstr(msg, "longer than") != NULL, "%s", msg);
}
