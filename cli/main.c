/*
 * main.c - hvctl, the command-line client of hv-agent: global options,
 * argument parsing against the command table (table.c), the connection and
 * the helpers every command uses for calls, errors and exit statuses.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "fleet_client.h"
#include "uuid.h"

#define DEFAULT_CONNECT "./var/hv-agent.sock"
#define DEFAULT_PKI "./var/pki"

#ifdef HVCTL_WITH_PKI
#include "pki.h"

/* `hvctl pki ...` is served by the PKI module (agent/pki/); it works on files
 * only and needs no connection. */
HVCTL_HANDLER(cmd_pki)
{
	(void)h;
	return pki_cli_main(a->argc + 1, a->argv - 1); /* argv[-1] is "pki" */
}
#endif

#ifdef HVCTL_WITH_OTA
#include "ota.h"

/* `hvctl ota bundle|info` are served by the OTA library (ota/) on files;
 * install, status and history talk to hv-agent (cmd_ota.c). */
HVCTL_HANDLER(cmd_ota)
{
	if (a->argc > 0 && (!strcmp(a->argv[0], "install") || !strcmp(a->argv[0], "status") ||
			    !strcmp(a->argv[0], "history")))
		return cmd_ota_remote(h, a->argc, a->argv);
	return ota_cli_main(a->argc + 1, a->argv - 1); /* argv[-1] is "ota" */
}
#endif

HVCTL_HANDLER(cmd_help)
{
	(void)h;
	if (a->npos == 0) {
		doc_usage(stdout);
		return HVCTL_OK;
	}
	const struct hvctl_cmd *c = hvctl_find_cmd(a->pos[0]);
	if (!c) {
		fprintf(stderr, "hvctl: help: unknown command '%s' (see hvctl help)\n", a->pos[0]);
		return HVCTL_USAGE;
	}
	doc_command(stdout, c);
	return HVCTL_OK;
}

/* ---- errors and exit statuses ---- */

int hvctl_exit_for(int code)
{
	switch (code) {
	case HV_OK:
		return HVCTL_OK;
	case HV_NOT_FOUND:
		return HVCTL_NOT_FOUND;
	case HV_PERMISSION_DENIED:
	case HV_UNAUTHENTICATED:
		return HVCTL_DENIED;
	default:
		return HVCTL_FAIL;
	}
}

/* hv-agent's messages often begin with the operation they describe
 * ("resume 'web': hv-core refused RESUME ...", "define: config_dtb is
 * empty"); hvctl then does not put its own "VERB: " in front, so the verb is
 * said once. */
void hvctl_print_failure(const char *verb, const char *msg, int code)
{
	size_t n = strlen(verb);

	if (strncmp(msg, verb, n) == 0 && (msg[n] == ':' || msg[n] == ' '))
		fprintf(stderr, "hvctl: %s [%s]\n", msg, hv_code_name(code));
	else
		fprintf(stderr, "hvctl: %s: %s [%s]\n", verb, msg, hv_code_name(code));
}

int hvctl_fail(const char *verb, const struct hv_status *st)
{
	hvctl_print_failure(verb, st->msg, st->code);
	return hvctl_exit_for(st->code);
}

int hvctl_error(int rc, const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hvctl: %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return rc;
}

int hvctl_usage(const struct hvctl_cmd *cmd, const char *fmt, ...)
{
	char syn[512];
	va_list ap;

	fprintf(stderr, "hvctl: %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	hvctl_synopsis(cmd, syn, sizeof syn);
	fprintf(stderr, "\nusage: %s\n", syn);
	return HVCTL_USAGE;
}

void hvctl_synopsis(const struct hvctl_cmd *cmd, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "hvctl %s", cmd->name);

	for (const struct hvctl_optdef *o = cmd->opts; o && o->name && n < len; o++)
		n += (size_t)snprintf(buf + n, len - n, o->arg ? " [--%s %s]" : " [--%s]", o->name,
				      o->arg);
	if (cmd->args[0] && n < len)
		snprintf(buf + n, len - n, " %s", cmd->args);
}

/* ---- the connection ---- */

struct hvf *hvctl_fleet(struct hvctl *h)
{
	struct hv_status st;

	if (h->fleet)
		return h->fleet;
	h->fleet =
		hvf_connect(h->fleet_url, h->conn_opts.ca, h->conn_opts.cert, h->conn_opts.key, &st);
	if (!h->fleet) {
		hvctl_print_failure(h->verb, st.msg, st.code);
		h->conn_rc = st.code == HV_INVALID_ARGUMENT ? HVCTL_USAGE : HVCTL_UNREACHABLE;
	}
	return h->fleet;
}

struct hvc *hvctl_conn(struct hvctl *h)
{
	struct hv_status st;

	if (h->conn)
		return h->conn;
	if (h->fleet_url) {
		/* Unary calls go through hvctl_call, `event` and `console` have
		 * their own ways; what gets here streams. */
		hvctl_error(HVCTL_USAGE, h->verb,
			    "needs a direct connection: the fleet link carries unary calls, "
			    "events and the console (docs/fleet.md)");
		h->conn_rc = HVCTL_USAGE;
		return NULL;
	}
	h->conn = hvc_connect(&h->conn_opts, &st);
	if (!h->conn) {
		hvctl_print_failure(h->verb, st.msg, st.code);
		h->conn_rc = st.code == HV_INVALID_ARGUMENT ? HVCTL_USAGE : HVCTL_UNREACHABLE;
	}
	return h->conn;
}

int hvctl_call(struct hvctl *h, const char *method, const ProtobufCMessage *req,
	       const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp)
{
	char path[128];
	struct hv_status st;

	*resp = NULL;
	if (method[0] != '/') {
		snprintf(path, sizeof path, "/hvmgr.v1.Hvmgr/%s", method);
		method = path;
	}
	if (h->fleet_url) {
		if (!h->vehicle)
			return hvctl_error(HVCTL_USAGE, h->verb, "--fleet needs --vehicle ID");
		struct hvf *f = hvctl_fleet(h);
		if (!f)
			return h->conn_rc;
		if (hvf_call(f, h->vehicle, method, req, desc, resp, HVCTL_CALL_TIMEOUT_MS, &st) != 0)
			return hvctl_fail(h->verb, &st);
		return 0;
	}
	struct hvc *c = hvctl_conn(h);
	if (!c)
		return h->conn_rc;
	if (hvc_call(c, method, req, desc, resp, HVCTL_CALL_TIMEOUT_MS, &st) != 0)
		return hvctl_fail(h->verb, &st);
	return 0;
}

void hvctl_selector(Hvmgr__V1__VmSelector *sel, const char *arg)
{
	Hvmgr__V1__VmSelector init = HVMGR__V1__VM_SELECTOR__INIT;
	uint8_t u[16];
	size_t digits = strspn(arg, "0123456789");

	*sel = init;
	if (arg[0] && !arg[digits] && digits <= 9) {
		sel->by_case = HVMGR__V1__VM_SELECTOR__BY_ID;
		sel->id = (uint32_t)strtoul(arg, NULL, 10);
	} else if (hv_uuid_parse(arg, u) == 0) {
		sel->by_case = HVMGR__V1__VM_SELECTOR__BY_UUID;
		sel->uuid = (char *)arg;
	} else {
		sel->by_case = HVMGR__V1__VM_SELECTOR__BY_NAME;
		sel->name = (char *)arg;
	}
}

/* ---- arguments ---- */

static int opt_index(const struct hvctl_cmd *cmd, const char *name, size_t len)
{
	for (int k = 0; cmd->opts && cmd->opts[k].name; k++)
		if (strlen(cmd->opts[k].name) == len && strncmp(cmd->opts[k].name, name, len) == 0)
			return k;
	return -1;
}

int hvctl_parse(const struct hvctl_cmd *cmd, int argc, char **argv, struct hvctl_args *a)
{
	int only_pos = 0;

	memset(a, 0, sizeof *a);
	a->cmd = cmd;
	a->argc = argc;
	a->argv = argv;
	if (cmd->flags & HVCTL_F_RAW)
		return 0;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		if (only_pos || arg[0] != '-' || arg[1] == '\0') {
			if (a->npos == cmd->max_pos) {
				hvctl_usage(cmd, "unexpected argument '%s'", arg);
				return -1;
			}
			a->pos[a->npos++] = arg;
			continue;
		}
		if (arg[1] != '-') {
			hvctl_usage(cmd, "unknown option '%s'", arg);
			return -1;
		}
		if (arg[2] == '\0') {
			only_pos = 1;
			continue;
		}
		const char *name = arg + 2, *eq = strchr(name, '=');
		int k = opt_index(cmd, name, eq ? (size_t)(eq - name) : strlen(name));
		if (k < 0) {
			hvctl_usage(cmd, "unknown option '%s'", arg);
			return -1;
		}
		const struct hvctl_optdef *o = &cmd->opts[k];
		if (!o->arg) {
			if (eq) {
				hvctl_usage(cmd, "option --%s takes no value", o->name);
				return -1;
			}
			a->set[k] = true;
			continue;
		}
		if (eq) {
			a->val[k] = eq + 1;
		} else if (i + 1 < argc) {
			a->val[k] = argv[++i];
		} else {
			hvctl_usage(cmd, "option --%s needs a value (%s)", o->name, o->arg);
			return -1;
		}
		a->set[k] = true;
	}
	if (a->npos < cmd->min_pos) {
		hvctl_usage(cmd, "missing argument (%s)", cmd->args);
		return -1;
	}
	return 0;
}

static int opt_lookup(const struct hvctl_args *a, const char *name)
{
	int k = opt_index(a->cmd, name, strlen(name));

	if (k < 0) /* a handler asking for an option its table entry lacks */
		fprintf(stderr, "hvctl: %s: internal error: no option --%s in the command table\n",
			a->cmd->name, name);
	return k;
}

bool opt_flag(const struct hvctl_args *a, const char *name)
{
	int k = opt_lookup(a, name);
	return k >= 0 && a->set[k];
}

const char *opt_str(const struct hvctl_args *a, const char *name)
{
	int k = opt_lookup(a, name);
	return k >= 0 && a->set[k] ? a->val[k] : NULL;
}

int opt_u64(const struct hvctl_args *a, const char *name, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *s = opt_str(a, name);
	char *end;

	if (!s)
		return 0;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || s[0] == ' ' || v < min ||
	    v > max) {
		hvctl_usage(a->cmd, "--%s '%s' is not a whole number from %llu to %llu", name, s,
			    (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

/* ---- main ---- */

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	return v && *v ? v : dflt;
}

/* Global option with a value: "--name V", "--name=V" or the short form. */
static int global_value(int argc, char **argv, int *i, const char *name, const char *shortname,
			const char **out)
{
	size_t n = strlen(name);
	const char *arg = argv[*i];

	if (strncmp(arg, name, n) == 0 && arg[n] == '=') {
		*out = arg + n + 1;
		return 1;
	}
	if (strcmp(arg, name) != 0 && !(shortname && strcmp(arg, shortname) == 0))
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "hvctl: %s needs a value\n", name);
		return -1;
	}
	*out = argv[++*i];
	return 1;
}

int main(int argc, char **argv)
{
	struct hvctl h;
	int i = 1;

	memset(&h, 0, sizeof h);
	h.conn_opts.uri = env_or("HVCTL_CONNECT", DEFAULT_CONNECT);
	h.conn_opts.ca = env_or("HVCTL_CA", DEFAULT_PKI "/ca.crt");
	h.conn_opts.cert = env_or("HVCTL_CERT", DEFAULT_PKI "/admin.crt");
	h.conn_opts.key = env_or("HVCTL_KEY", DEFAULT_PKI "/admin.key");
	h.conn_opts.readonly = getenv("HVCTL_READONLY") && strcmp(getenv("HVCTL_READONLY"), "1") == 0;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *arg = argv[i], *shell = NULL;
		int r;
		if ((r = global_value(argc, argv, &i, "--connect", "-c", &h.conn_opts.uri)) ||
		    (r = global_value(argc, argv, &i, "--ca", NULL, &h.conn_opts.ca)) ||
		    (r = global_value(argc, argv, &i, "--cert", NULL, &h.conn_opts.cert)) ||
		    (r = global_value(argc, argv, &i, "--key", NULL, &h.conn_opts.key))) {
			if (r < 0)
				return HVCTL_USAGE;
			if (strcmp(arg, "--connect") != 0 && strcmp(arg, "-c") != 0 &&
			    strncmp(arg, "--connect=", 10) != 0)
				h.tls_given = true;
		} else if ((r = global_value(argc, argv, &i, "--fleet", NULL, &h.fleet_url)) ||
			   (r = global_value(argc, argv, &i, "--vehicle", NULL, &h.vehicle))) {
			if (r < 0)
				return HVCTL_USAGE;
		} else if ((r = global_value(argc, argv, &i, "--completion", NULL, &shell))) {
			if (r < 0)
				return HVCTL_USAGE;
			if (strcmp(shell, "bash") != 0) {
				fprintf(stderr,
					"hvctl: --completion: unsupported shell '%s' (bash is)\n",
					shell);
				return HVCTL_USAGE;
			}
			doc_completion_bash(stdout);
			return HVCTL_OK;
		} else if (strcmp(arg, "--readonly") == 0 || strcmp(arg, "-r") == 0) {
			h.conn_opts.readonly = true;
		} else if (strcmp(arg, "--grpc") == 0) {
			h.conn_opts.grpc = true;
		} else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			doc_usage(stdout);
			return HVCTL_OK;
		} else if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
			printf("hvctl %s\n", HV_VERSION);
			return HVCTL_OK;
		} else if (strcmp(arg, "--man") == 0) {
			doc_man(stdout);
			return HVCTL_OK;
		} else {
			fprintf(stderr, "hvctl: unknown option '%s' (see hvctl help)\n", arg);
			return HVCTL_USAGE;
		}
	}
	if (i >= argc) {
		doc_usage(stderr);
		return HVCTL_USAGE;
	}
	const struct hvctl_cmd *cmd = hvctl_find_cmd(argv[i]);
	if (!cmd) {
		fprintf(stderr, "hvctl: unknown command '%s' (see hvctl help)\n", argv[i]);
		return HVCTL_USAGE;
	}
	struct hvctl_args a;
	if (hvctl_parse(cmd, argc - i - 1, argv + i + 1, &a) != 0)
		return HVCTL_USAGE;
	h.verb = cmd->name;
	if (cmd->flags & HVCTL_F_LOCAL)
		return cmd->fn(&h, &a);
	if (h.fleet_url && !h.tls_given && !getenv("HVCTL_CERT")) {
		/* The caller's own fleet identity (hvctl pki fleet-init). */
		h.conn_opts.ca = DEFAULT_PKI "/fleet-ca.crt";
		h.conn_opts.cert = DEFAULT_PKI "/fleet-admin.crt";
		h.conn_opts.key = DEFAULT_PKI "/fleet-admin.key";
	}
	hvc_global_init();
	int rc = cmd->fn(&h, &a);
	hvf_close(h.fleet);
	hvc_close(h.conn);
	hvc_global_shutdown();
	return rc;
}
