/*
 * doc.c - everything hvctl says about itself, generated from the command
 * table (table.c): `hvctl help`, `hvctl help VERB`, the man page in roff
 * (`hvctl --man`, installed by the build as share/man/man1/hvctl.1) and the
 * bash completion script (`hvctl --completion bash`). A command added to the
 * table is documented and completed without touching this file.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

/* Global options, shown by help and the man page and completed by bash. */
static const struct hvctl_optdef global_opts[] = {
	{ "connect", "URI", HC_NONE,
	  "hv-agent to talk to: unix:///path/hv-agent.sock, unix:relative/path, a plain path, or tls://HOST:PORT "
	  "(default ./var/hv-agent.sock, or $HVCTL_CONNECT)" },
	{ "readonly", NULL, HC_NONE,
	  "use the read-only socket next to the read-write one (hv-agent-ro.sock), like virsh -r; changes are refused" },
	{ "grpc", NULL, HC_NONE,
	  "make every call over gRPC, also the unary calls that go over hv-agent's local frame protocol on a "
	  "unix socket otherwise" },
	{ "ca", "FILE", HC_FILE,
	  "tls://: the CA certificate (default ./var/pki/ca.crt, or $HVCTL_CA)" },
	{ "cert", "FILE", HC_FILE,
	  "tls://: the client certificate (default ./var/pki/admin.crt, or $HVCTL_CERT)" },
	{ "key", "FILE", HC_FILE,
	  "tls://: the client key (default ./var/pki/admin.key, or $HVCTL_KEY)" },
	{ "help", NULL, HC_NONE, "show the commands" },
	{ "version", NULL, HC_NONE, "print hvctl's version (no connection)" },
	{ "man", NULL, HC_NONE, "print this manual page in roff" },
	{ "completion", "SHELL", HC_NONE, "print the completion script for SHELL (bash)" },
	{ "fleet", "URL", HC_NONE,
	  "send the calls through the fleet's MQTT broker, mqtts://HOST:PORT, signed with --cert/--key "
	  "(default ./var/pki/fleet-admin.crt/.key, CA ./var/pki/fleet-ca.crt; docs/fleet.md)" },
	{ "vehicle", "ID", HC_NONE, "--fleet: the vehicle the command is for" },
	{ NULL, NULL, HC_NONE, NULL },
};

static const char *const env_doc[][2] = {
	{ "HVCTL_CONNECT", "the default for --connect" },
	{ "HVCTL_READONLY", "1: the default is --readonly" },
	{ "HVCTL_CA, HVCTL_CERT, HVCTL_KEY", "the defaults for --ca, --cert and --key" },
	{ "VISUAL, EDITOR", "the editor of `hvctl edit` (default vi)" },
	{ "TMPDIR", "where `hvctl edit` and `hvctl dumpconfig` keep temporary files (default /tmp)" },
	{ NULL, NULL },
};

static const char *const files_doc[][2] = {
	{ "./var/hv-agent.sock",
	  "hv-agent's read-write socket when hvctl runs from the source tree under make run" },
	{ "./var/hv-agent-ro.sock", "the read-only socket (--readonly)" },
	{ "./var/pki/ca.crt, ./var/pki/admin.crt, ./var/pki/admin.key",
	  "the development PKI for tls:// (hvctl pki init)" },
	{ NULL, NULL },
};

static const char *const event_words[] = { "lifecycle",     "fault",         "watchdog",
					   "restart",       "selftest",      "doorbell-denied",
					   "vehicle-state", "policy-denied", "pending-done",
					   "defined",       "undefined",     "started",
					   "suspended",     "resumed",       "stopped",
					   "shutdown",      "crashed",       NULL };

static const char *const groups[] = { "Domain information",
				      "Domain lifecycle",
				      "Domain configuration",
				      "Console and events",
				      "Hypervisor and agent",
				      "Local tools",
				      NULL };

/* ---- help ---- */

/* Prints text filled to 79 columns; the first line continues after `used`
 * columns already printed, later lines start with `indent` spaces. */
static void wrap(FILE *f, const char *text, int indent, int used)
{
	int col = used;

	while (*text) {
		size_t w = strcspn(text, " ");
		if (col > indent && col + 1 + (int)w > 79) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent || (col == indent && used > indent)) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", (int)w, text);
		col += (int)w;
		text += w;
		while (*text == ' ')
			text++;
		used = 0;
	}
	fputc('\n', f);
}

static void opt_line(FILE *f, const struct hvctl_optdef *o)
{
	char left[40];

	snprintf(left, sizeof left, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	fprintf(f, "  %-18s", left);
	if (strlen(left) > 18) {
		fprintf(f, "\n%*s", 21, "");
		wrap(f, o->help, 21, 21);
	} else {
		fputc(' ', f);
		wrap(f, o->help, 21, 21);
	}
}

void doc_usage(FILE *f)
{
	fprintf(f, "usage: hvctl [GLOBAL OPTIONS] COMMAND [ARGS]\n\nglobal options:\n");
	for (const struct hvctl_optdef *o = global_opts; o->name; o++)
		opt_line(f, o);
	for (int g = 0; groups[g]; g++) {
		fprintf(f, "\n%s:\n", groups[g]);
		for (unsigned i = 0; i < hvctl_ncommands; i++)
			if (strcmp(hvctl_commands[i].group, groups[g]) == 0)
				fprintf(f, "  %-16s %s\n", hvctl_commands[i].name,
					hvctl_commands[i].summary);
	}
	fprintf(f, "\nVM is a name, a numeric id or a UUID. `hvctl help COMMAND` shows a command's options.\n"
		   "\nexit status:\n");
	for (const struct hvctl_exit_doc *e = hvctl_exit_codes; e->name; e++) {
		fprintf(f, "  %d  %-12s ", e->code, e->name);
		wrap(f, e->meaning, 18, 18);
	}
}

void doc_command(FILE *f, const struct hvctl_cmd *c)
{
	char syn[512];

	hvctl_synopsis(c, syn, sizeof syn);
	fprintf(f, "usage: ");
	wrap(f, syn, 8, 7);
	fprintf(f, "  %s\n\n  ", c->summary);
	wrap(f, c->description, 2, 2);
	if (c->opts && c->opts[0].name) {
		fprintf(f, "\noptions:\n");
		for (const struct hvctl_optdef *o = c->opts; o->name; o++)
			opt_line(f, o);
	}
}

/* ---- man page ---- */

/* Text for roff: backslashes escaped, a leading '.' or '\'' protected,
 * hyphens in option names kept as minus signs. */
static void roff(FILE *f, const char *s)
{
	int bol = 1;

	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		bol = *s == '\n';
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

/* before, then s escaped for roff, then after: one formatted piece of a line. */
static void roff_put(FILE *f, const char *before, const char *s, const char *after)
{
	fputs(before, f);
	roff(f, s);
	fputs(after, f);
}

static void man_opt(FILE *f, const struct hvctl_optdef *o)
{
	roff_put(f, ".TP\n\\fB\\-\\-", o->name, "\\fR");
	if (o->arg)
		roff_put(f, " \\fI", o->arg, "\\fR");
	roff_put(f, "\n", o->help, "\n");
}

void doc_man(FILE *f)
{
	fprintf(f,
		".\\\" hvctl.1 - generated by `hvctl --man` from hvctl's command table; do not edit.\n"
		".TH HVCTL 1 \"\" \"hvctl %s\" \"User Commands\"\n",
		HV_VERSION);
	fputs(".SH NAME\nhvctl \\- manage the virtual machines of hv\\-agent and hv\\-core\n"
	      ".SH SYNOPSIS\n.B hvctl\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n"
	      ".SH DESCRIPTION\n"
	      "hvctl is the operator's command\\-line client of hv\\-agent, the management daemon of the hv\\-core "
	      "hypervisor. Its commands, options and output follow virsh where virsh has the command, so "
	      "that people who know libvirt need little new learning. Every read command takes \\fB\\-\\-json\\fR "
	      "and then prints one JSON document.\n.PP\n"
	      "A \\fIVM\\fR argument is read like virsh reads a domain: all digits is an id, a canonical UUID is a "
	      "UUID, anything else is a name.\n"
	      ".SH GLOBAL OPTIONS\nGlobal options come before the command.\n",
	      f);
	for (const struct hvctl_optdef *o = global_opts; o->name; o++)
		man_opt(f, o);
	fputs(".SH COMMANDS\n", f);
	for (int g = 0; groups[g]; g++) {
		roff_put(f, ".SS ", groups[g], "\n");
		for (unsigned i = 0; i < hvctl_ncommands; i++) {
			const struct hvctl_cmd *c = &hvctl_commands[i];
			if (strcmp(c->group, groups[g]) != 0)
				continue;
			roff_put(f, ".TP\n.B ", c->name, "\n");
			for (const struct hvctl_optdef *o = c->opts; o && o->name; o++) {
				fputs("[\\fB\\-\\-", f);
				roff(f, o->name);
				if (o->arg) {
					fputs("\\fR \\fI", f);
					roff(f, o->arg);
				}
				fputs("\\fR]\n", f);
			}
			if (c->args[0])
				roff_put(f, "\\fI", c->args, "\\fR\n");
			roff_put(f, ".br\n", c->description, "\n");
			if (c->opts && c->opts[0].name) {
				fputs(".RS\n", f);
				for (const struct hvctl_optdef *o = c->opts; o->name; o++)
					man_opt(f, o);
				fputs(".RE\n", f);
			}
		}
	}
	fputs(".SH EXIT STATUS\n", f);
	for (const struct hvctl_exit_doc *e = hvctl_exit_codes; e->name; e++) {
		fprintf(f, ".TP\n.B %d\n", e->code);
		roff(f, e->name);
		fputs(": ", f);
		roff(f, e->meaning);
		fputc('\n', f);
	}
	fputs(".PP\nA failure prints one line on standard error: "
	      "\\fBhvctl: \\fIcommand\\fB: \\fImessage\\fB [\\fICODE\\fB]\\fR, where \\fICODE\\fR is the gRPC "
	      "status name (NOT_FOUND, FAILED_PRECONDITION, ...).\n.SH ENVIRONMENT\n",
	      f);
	for (int i = 0; env_doc[i][0]; i++) {
		roff_put(f, ".TP\n.B ", env_doc[i][0], "\n");
		roff_put(f, "", env_doc[i][1], "\n");
	}
	fputs(".SH FILES\n", f);
	for (int i = 0; files_doc[i][0]; i++) {
		roff_put(f, ".TP\n.I ", files_doc[i][0], "\n");
		roff_put(f, "", files_doc[i][1], "\n");
	}
	fputs(".SH EXAMPLES\n.nf\n"
	      "hvctl list \\-\\-all\n"
	      "hvctl define docs/examples/rtos\\-demo.dts\n"
	      "hvctl start \\-\\-console rtos\\-demo\n"
	      "hvctl event \\-\\-loop \\-\\-domain rtos\\-demo \\-\\-event lifecycle\n"
	      "hvctl \\-\\-connect tls://127.0.0.1:50051 \\-\\-cert var/pki/viewer.crt \\-\\-key var/pki/viewer.key list\n"
	      ".fi\n.SH SEE ALSO\n.BR hv\\-agent (8),\n.BR virsh (1),\n.BR dtc (1)\n",
	      f);
}

/* ---- bash completion ---- */

static void words(FILE *f, enum hvctl_complete kind)
{
	if (kind == HC_EVENT_TYPE)
		for (int i = 0; event_words[i]; i++)
			fprintf(f, "%s%s", i ? " " : "", event_words[i]);
	else if (kind == HC_PKI)
		fputs("init issue", f);
	else if (kind == HC_COMMAND)
		for (unsigned i = 0; i < hvctl_ncommands; i++)
			fprintf(f, "%s%s", i ? " " : "", hvctl_commands[i].name);
}

static const char *kind_name(enum hvctl_complete k)
{
	switch (k) {
	case HC_VM:
		return "vm";
	case HC_FILE:
		return "file";
	case HC_NONE:
		return "none";
	default:
		return "words";
	}
}

void doc_completion_bash(FILE *f)
{
	fputs("# bash completion for hvctl, generated by `hvctl --completion bash` from hvctl's command\n"
	      "# table; do not edit. VM names come from `hvctl list --all --name` with the same\n"
	      "# connection options as the command line being completed.\n\n"
	      "_hvctl_vms()\n{\n"
	      "    \"${_hvctl_conn[@]}\" list --all --name 2>/dev/null\n}\n\n"
	      "_hvctl()\n{\n"
	      "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	      "    local i verb= w\n"
	      "    local -a _hvctl_conn=(\"${COMP_WORDS[0]}\")\n"
	      "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
	      "        w=${COMP_WORDS[i]}\n"
	      "        case $w in\n",
	      f);
	/* Global options with a value, passed on to the VM-name lookup. */
	fputs("            ", f);
	int first = 1;
	for (const struct hvctl_optdef *o = global_opts; o->name; o++)
		if (o->arg && strcmp(o->name, "completion") != 0) {
			fprintf(f, "%s--%s", first ? "" : "|", o->name);
			first = 0;
		}
	fputs("|-c)\n"
	      "                _hvctl_conn+=(\"$w\" \"${COMP_WORDS[i+1]}\"); ((i++)) ;;\n"
	      "            --readonly|-r|--grpc) _hvctl_conn+=(\"$w\") ;;\n"
	      "            -*) ;;\n"
	      "            *) verb=$w; break ;;\n"
	      "        esac\n"
	      "    done\n"
	      "    local opts= pos=none poswords= vopts= \n"
	      "    if [[ -z $verb ]]; then\n"
	      "        case $prev in\n"
	      "            --ca|--cert|--key) COMPREPLY=($(compgen -f -- \"$cur\")); compopt -o filenames 2>/dev/null; return ;;\n"
	      "            --completion) COMPREPLY=($(compgen -W bash -- \"$cur\")); return ;;\n"
	      "            --connect|-c) COMPREPLY=($(compgen -W 'unix:// tls://' -- \"$cur\")); return ;;\n"
	      "        esac\n"
	      "        if [[ $cur == -* ]]; then\n"
	      "            COMPREPLY=($(compgen -W '",
	      f);
	for (const struct hvctl_optdef *o = global_opts; o->name; o++)
		fprintf(f, "%s--%s", o == global_opts ? "" : " ", o->name);
	fputs(" -c -r' -- \"$cur\"))\n"
	      "        else\n"
	      "            COMPREPLY=($(compgen -W '",
	      f);
	words(f, HC_COMMAND);
	fputs("' -- \"$cur\"))\n"
	      "        fi\n"
	      "        return\n"
	      "    fi\n"
	      "    case $verb in\n",
	      f);
	for (unsigned i = 0; i < hvctl_ncommands; i++) {
		const struct hvctl_cmd *c = &hvctl_commands[i];
		fprintf(f, "        %s) opts='", c->name);
		for (const struct hvctl_optdef *o = c->opts; o && o->name; o++)
			fprintf(f, "%s--%s", o == c->opts ? "" : " ", o->name);
		fprintf(f, "'; pos=%s; poswords='", kind_name(c->complete));
		words(f, c->complete);
		fputs("'; vopts='", f);
		/* options with a value: name=kind */
		int n = 0;
		for (const struct hvctl_optdef *o = c->opts; o && o->name; o++)
			if (o->arg)
				fprintf(f, "%s--%s=%s", n++ ? " " : "", o->name,
					kind_name(o->complete));
		fputs("' ;;\n", f);
	}
	fputs("    esac\n"
	      "    local v\n"
	      "    for v in $vopts; do\n"
	      "        if [[ $prev == \"${v%%=*}\" ]]; then\n"
	      "            case ${v#*=} in\n"
	      "                vm) COMPREPLY=($(compgen -W \"$(_hvctl_vms)\" -- \"$cur\")) ;;\n"
	      "                file) COMPREPLY=($(compgen -f -- \"$cur\")); compopt -o filenames 2>/dev/null ;;\n"
	      "                words) COMPREPLY=($(compgen -W '",
	      f);
	words(f, HC_EVENT_TYPE);
	fputs("' -- \"$cur\")) ;;\n"
	      "                *) COMPREPLY=() ;;\n"
	      "            esac\n"
	      "            return\n"
	      "        fi\n"
	      "    done\n"
	      "    if [[ $cur == -* ]]; then\n"
	      "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	      "        return\n"
	      "    fi\n"
	      "    case $pos in\n"
	      "        vm) COMPREPLY=($(compgen -W \"$(_hvctl_vms)\" -- \"$cur\")) ;;\n"
	      "        file) COMPREPLY=($(compgen -f -- \"$cur\")); compopt -o filenames 2>/dev/null ;;\n"
	      "        words) COMPREPLY=($(compgen -W \"$poswords\" -- \"$cur\")) ;;\n"
	      "        *) COMPREPLY=() ;;\n"
	      "    esac\n"
	      "}\n"
	      "complete -F _hvctl hvctl\n",
	      f);
}
