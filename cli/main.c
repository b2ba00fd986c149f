/*
 * main.c - hvctl, the command-line client of hv-agent: global options, the
 * command table, and the helpers every command uses. Like vmctl, the table is
 * the single list of commands; `hvctl help` is generated from it. Verbs and
 * output follow virsh where virsh has the verb (REQ-STD-02).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "hvctl.h"
#include "uuid.h"

#define DEFAULT_CONNECT "./var/hv-agent.sock"

static int cmd_help(struct hvctl *h, const struct hvctl_cmd *cmd, int argc, char **argv);

#ifdef HVCTL_WITH_PKI
#include "pki.h"

/* `hvctl pki ...` is served by the PKI module (agent/pki/); it works on files
 * only and needs no connection. */
static int cmd_pki(struct hvctl *h, const struct hvctl_cmd *cmd, int argc, char **argv)
{
	return pki_cli_main(argc + 1, argv - 1); /* argv[-1] is "pki" */
}
#endif

static const struct hvctl_cmd commands[] = {
	{ "list", "[--all] [--json]", "list active VMs, or all defined VMs with --all", cmd_list },
	{ "dominfo", "VM [--json]", "show a VM's state, resources and health", cmd_dominfo },
	{ "domstate", "VM [--reason] [--json]", "show a VM's state", cmd_domstate },
	{ "domstats", "[VM] [--json]", "show counters of one or all VMs", cmd_domstats },
	{ "start", "VM", "start a defined VM", cmd_start },
	{ "shutdown", "VM [--timeout-ms N]", "ask a VM's guest to power off", cmd_shutdown },
	{ "destroy", "VM", "stop a VM at once", cmd_destroy },
	{ "reboot", "VM", "restart a VM's guest", cmd_reboot },
	{ "reset", "VM", "reset a VM like a power cycle", cmd_reset },
	{ "suspend", "VM", "pause a VM's vCPUs", cmd_suspend },
	{ "resume", "VM", "continue a paused VM", cmd_resume },
	{ "define", "FILE.dtb", "define a VM from a configuration device tree", cmd_define },
	{ "undefine", "VM", "remove a stopped VM's definition", cmd_undefine },
	{ "event", "[VM] [--loop] [--timeout SECS] [--count N] [--from SEQ | --oldest] [--json]",
	  "wait for lifecycle and fault events", cmd_event },
	{ "console", "VM [--follow] [--from POS]", "print a VM's console output", cmd_console },
	{ "faults", "[VM] [--json]", "show the saved context of VMs' last faults", cmd_faults },
	{ "selftest", "[--json]", "show the hypervisor's boot self-test result", cmd_selftest },
	{ "diag", "[--json]", "show hv-agent's link to the hypervisor", cmd_diag },
	{ "health", "[--json]", "ask hv-agent whether it is serving (grpc.health.v1)", cmd_health },
	{ "version", "[--json]", "show versions and capabilities", cmd_version },
#ifdef HVCTL_WITH_PKI
	{ "pki", "init [--dir DIR] [--force] | issue --role ROLE [--dir DIR] [--out DIR] NAME",
	  "create the development PKI, issue client certificates (no agent needed)", cmd_pki },
#endif
	{ "help", "[COMMAND]", "show this list, or one command's usage", cmd_help },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
	fprintf(f, "usage: hvctl [--connect URI] COMMAND [ARGS]\n"
		   "  --connect URI   hv-agent socket, unix:///path (default %s, or $HVCTL_CONNECT)\n\n"
		   "commands:\n",
		DEFAULT_CONNECT);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nVM is a name, a numeric id or a uuid. `hvctl help COMMAND` shows its arguments.\n");
}

static const struct hvctl_cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int cmd_help(struct hvctl *h, const struct hvctl_cmd *cmd, int argc, char **argv)
{
	const char *pos[1];
	int npos;

	if (hvctl_parse(cmd, argc, argv, NULL, pos, 0, 1, &npos) != 0)
		return HVCTL_USAGE;
	if (npos == 0) {
		usage(stdout);
		return HVCTL_OK;
	}
	const struct hvctl_cmd *c = find_cmd(pos[0]);
	if (!c) {
		fprintf(stderr, "hvctl: help: unknown command '%s'\n", pos[0]);
		return HVCTL_USAGE;
	}
	printf("usage: hvctl %s %s\n  %s\n", c->name, c->usage, c->summary);
	return HVCTL_OK;
}

struct hvc *hvctl_conn(struct hvctl *h)
{
	struct hv_status st;

	if (h->conn)
		return h->conn;
	h->conn = hvc_connect(h->connect, &st);
	if (!h->conn)
		fprintf(stderr, "hvctl: %s\n", st.msg);
	return h->conn;
}

int hvctl_fail(const char *verb, const struct hv_status *st)
{
	fprintf(stderr, "hvctl: %s: %s [%s]\n", verb, st->msg, hv_code_name(st->code));
	return HVCTL_FAIL;
}

int hvctl_usage(const struct hvctl_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hvctl: %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: hvctl %s %s\n", cmd->name, cmd->usage);
	return HVCTL_USAGE;
}

int hvctl_parse(const struct hvctl_cmd *cmd, int argc, char **argv, const struct hvctl_opt *opts,
		const char **pos, int min_pos, int max_pos, int *npos)
{
	int n = 0, only_pos = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (only_pos || a[0] != '-' || a[1] != '-') {
			if (a[0] == '-' && a[1] && !only_pos) {
				hvctl_usage(cmd, "unknown option '%s'", a);
				return -1;
			}
			if (n == max_pos) {
				hvctl_usage(cmd, "unexpected argument '%s'", a);
				return -1;
			}
			pos[n++] = a;
			continue;
		}
		if (a[2] == '\0') {
			only_pos = 1;
			continue;
		}
		const char *name = a + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const struct hvctl_opt *o = NULL;
		for (int k = 0; opts && opts[k].name; k++)
			if (strlen(opts[k].name) == len && strncmp(opts[k].name, name, len) == 0)
				o = &opts[k];
		if (!o) {
			hvctl_usage(cmd, "unknown option '%s'", a);
			return -1;
		}
		if (!o->takes_value) {
			if (eq) {
				hvctl_usage(cmd, "option --%s takes no value", o->name);
				return -1;
			}
			*o->flag = true;
			continue;
		}
		if (eq) {
			*o->value = eq + 1;
		} else if (i + 1 < argc) {
			*o->value = argv[++i];
		} else {
			hvctl_usage(cmd, "option --%s needs a value", o->name);
			return -1;
		}
	}
	if (n < min_pos) {
		hvctl_usage(cmd, "missing argument");
		return -1;
	}
	*npos = n;
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

int main(int argc, char **argv)
{
	struct hvctl h = { 0 };
	int i = 1;

	h.connect = getenv("HVCTL_CONNECT");
	if (!h.connect || !*h.connect)
		h.connect = DEFAULT_CONNECT;
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--connect") == 0 || strcmp(argv[i], "-c") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "hvctl: --connect needs a URI\n");
				return HVCTL_USAGE;
			}
			h.connect = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--connect=", 10) == 0) {
			h.connect = argv[i] + 10;
			i++;
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return HVCTL_OK;
		} else {
			fprintf(stderr, "hvctl: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return HVCTL_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return HVCTL_USAGE;
	}
	const struct hvctl_cmd *cmd = find_cmd(argv[i]);
	if (!cmd) {
		fprintf(stderr, "hvctl: unknown command '%s' (see hvctl help)\n", argv[i]);
		return HVCTL_USAGE;
	}
	hvc_global_init();
	int rc = cmd->fn(&h, cmd, argc - i - 1, argv + i + 1);
	hvc_close(h.conn);
	hvc_global_shutdown();
	return rc;
}
