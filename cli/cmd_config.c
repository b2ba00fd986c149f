/*
 * cmd_config.c - hvctl's configuration commands: define, dumpconfig, edit,
 * config-history and config-rollback. A configuration is a device tree
 * (docs/vm-config.md); users write .dts, hv-agent stores and hv-core reads
 * .dtb, and dtc converts between them (dtc.c).
 *
 * define checks a configuration with the same validator hv-core runs
 * (hv-core/include/hvvmconfig.h, portable C) before sending it, so a mistake is
 * reported with the property and the rule it breaks (VMCFG-xxx) without a
 * round trip; hv-core still validates everything it receives (REQ-SAF-09),
 * and its refusals are printed as they come.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "dtc.h"
#include "hvvmconfig.h"

#define MAX_DTB (512u * 1024u) /* the command data area of ABI 1.0 */
#define MAX_SOURCE (4u * 1024u * 1024u)

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Reads FILE (.dts or .dtb) into a blob; 0, or the exit status after
 * printing why. */
static int load_config(const char *verb, const char *path, uint8_t **blob, size_t *len)
{
	struct hv_status st;
	char msg[2048];

	*blob = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return hvctl_error(errno == ENOENT ? HVCTL_NOT_FOUND : HVCTL_FAIL, verb,
				   "cannot read %s: %s", path, strerror(errno));
	uint8_t *buf = malloc(MAX_SOURCE + 1);
	size_t n = buf ? fread(buf, 1, MAX_SOURCE + 1, f) : 0;
	int rerr = ferror(f);
	fclose(f);
	if (!buf || rerr || n > MAX_SOURCE) {
		free(buf);
		return hvctl_error(HVCTL_FAIL, verb, "cannot read %s: %s", path,
				   rerr ? "read error (a directory?)" : "larger than 4 MiB");
	}
	if (n >= 4 && buf[0] == 0xd0 && buf[1] == 0x0d && buf[2] == 0xfe && buf[3] == 0xed) {
		*blob = buf;
		*len = n;
	} else if (has_suffix(path, ".dtb")) {
		free(buf);
		return hvctl_error(HVCTL_FAIL, verb,
				   "%s is not a device tree blob (compile the .dts with: dtc -O dtb -o VM.dtb VM.dts, "
				   "or pass the .dts)",
				   path);
	} else {
		free(buf);
		if (dtc_compile(path, blob, len, msg, sizeof msg, &st) != 0) {
			if (msg[0])
				return hvctl_error(HVCTL_FAIL, verb, "%s:\n%s", st.msg, msg);
			return hvctl_fail(verb, &st);
		}
	}
	if (*len > MAX_DTB) {
		free(*blob);
		*blob = NULL;
		return hvctl_error(HVCTL_FAIL, verb,
				   "%s is %zu bytes as a blob; at most %u fit the command data area",
				   path, *len, MAX_DTB);
	}
	return 0;
}

/* The rules of docs/vm-config.md that need no knowledge of the machine. */
static int validate(const char *verb, const char *path, const uint8_t *blob, size_t len)
{
	struct vmcfg_err err;
	size_t count = 0;
	struct vmcfg *cfgs = calloc(VMCFG_MAX_VMS, sizeof *cfgs);

	if (!cfgs)
		return hvctl_error(HVCTL_FAIL, verb, "out of memory");
	vmcfg_err_clear(&err);
	int code = vmcfg_parse_system(blob, len, cfgs, VMCFG_MAX_VMS, &count, NULL, &err);
	free(cfgs);
	if (code == HVM_OK)
		return 0;
	/* err.msg names the VM, the property and the rule; the clause id is
	 * added when the message does not carry it already. */
	bool has_rule = !err.rule || !err.rule[0] || strstr(err.msg, err.rule);
	return hvctl_error(HVCTL_FAIL, verb, "%s: %s%s%s%s [INVALID_ARGUMENT]", path, err.msg,
			   has_rule ? "" : " (", has_rule ? "" : err.rule, has_rule ? "" : ")");
}

/* Sends a blob to Define; 0 with the new VM (free with
 * protobuf_c_message_free_unpacked), or the exit status after printing. */
static int define_blob(struct hvctl *h, uint8_t *blob, size_t len, Hvmgr__V1__DefineResponse **resp)
{
	Hvmgr__V1__DefineRequest req = HVMGR__V1__DEFINE_REQUEST__INIT;

	req.config_dtb.data = blob;
	req.config_dtb.len = len;
	return hvctl_call(h, "Define", &req.base, &hvmgr__v1__define_response__descriptor,
			  (ProtobufCMessage **)resp);
}

HVCTL_HANDLER(cmd_define)
{
	const char *path = a->pos[0];
	Hvmgr__V1__DefineResponse *resp;
	uint8_t *blob;
	size_t len;
	int rc;

	if ((rc = load_config("define", path, &blob, &len)) != 0)
		return rc;
	if (!opt_flag(a, "no-validate") && (rc = validate("define", path, blob, len)) != 0) {
		free(blob);
		return rc;
	}
	if (opt_flag(a, "validate-only")) {
		free(blob);
		printf("Configuration %s is valid\n\n", path);
		return HVCTL_OK;
	}
	rc = define_blob(h, blob, len, &resp);
	free(blob);
	if (rc)
		return rc;
	if (resp->vm && resp->vm->config_revision)
		printf("Domain '%s' defined from %s (revision %u)\n\n", resp->vm->name, path,
		       resp->vm->config_revision);
	else
		printf("Domain '%s' defined from %s\n\n", resp->vm ? resp->vm->name : "?", path);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}

/* GetConfig as DTS text; 0, or the exit status after printing. */
static int get_config_dts(struct hvctl *h, const char *vm, uint32_t revision, char **dts,
			  uint32_t *got_rev)
{
	Hvmgr__V1__GetConfigRequest req = HVMGR__V1__GET_CONFIG_REQUEST__INIT;
	Hvmgr__V1__GetConfigResponse *resp;
	Hvmgr__V1__VmSelector sel;
	struct hv_status st;
	int rc;

	hvctl_selector(&sel, vm);
	req.vm = &sel;
	req.revision = revision;
	if ((rc = hvctl_call(h, "GetConfig", &req.base, &hvmgr__v1__get_config_response__descriptor,
			     (ProtobufCMessage **)&resp)) != 0)
		return rc;
	if (got_rev)
		*got_rev = resp->revision ? resp->revision->revision : 0;
	rc = dtc_decompile(resp->config_dtb.data, resp->config_dtb.len, dts, &st);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return rc ? hvctl_fail(h->verb, &st) : 0;
}

HVCTL_HANDLER(cmd_dumpconfig)
{
	uint64_t rev = 0;
	char *dts;
	int rc;

	if (opt_u64(a, "revision", 1, UINT32_MAX, &rev) != 0)
		return HVCTL_USAGE;
	if ((rc = get_config_dts(h, a->pos[0], (uint32_t)rev, &dts, NULL)) != 0)
		return rc;
	fputs(dts, stdout);
	free(dts);
	return HVCTL_OK;
}

/* Runs $VISUAL / $EDITOR / vi on path with the terminal; the variable may
 * hold arguments ("emacs -nw"), as for git and virsh. */
static int run_editor(const char *path)
{
	const char *ed = getenv("VISUAL");
	char cmd[1024];
	int ws;

	if (!ed || !*ed)
		ed = getenv("EDITOR");
	if (!ed || !*ed)
		ed = "vi";
	snprintf(cmd, sizeof cmd, "%s \"$1\"", ed);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, "hvctl-edit", path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (cap - *len < 4096) {
			char *nb = realloc(buf, cap + 65536);
			if (!nb)
				break;
			buf = nb;
			cap += 65536;
		}
		size_t n = fread(buf + *len, 1, cap - *len - 1, f);
		*len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	if (buf)
		buf[*len] = '\0';
	return buf;
}

HVCTL_HANDLER(cmd_edit)
{
	const char *vm = a->pos[0], *tmp = getenv("TMPDIR");
	char path[512], *dts;
	uint32_t rev = 0;
	int rc, fd;

	if ((rc = get_config_dts(h, vm, 0, &dts, &rev)) != 0)
		return rc;
	snprintf(path, sizeof path, "%s/hvctl-edit-XXXXXX.dts", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemps(path, 4);
	size_t dlen = strlen(dts);
	if (fd < 0 || write(fd, dts, dlen) != (ssize_t)dlen) {
		int e = errno;
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		free(dts);
		return hvctl_error(HVCTL_FAIL, "edit", "cannot write a temporary file in %s: %s",
				   tmp && *tmp ? tmp : "/tmp", strerror(e));
	}
	close(fd);
	int ed = run_editor(path);
	if (ed != 0) {
		free(dts);
		hvctl_error(HVCTL_FAIL, "edit",
			    "the editor exited with status %d; nothing was defined", ed);
		fprintf(stderr, "hvctl: edit: the file is kept in %s\n", path);
		return HVCTL_FAIL;
	}
	size_t nlen;
	char *now = slurp(path, &nlen);
	bool same = now && nlen == dlen && memcmp(now, dts, dlen) == 0;
	free(now);
	free(dts);
	if (same) {
		unlink(path);
		printf("Domain '%s' configuration not changed.\n\n", vm);
		return HVCTL_OK;
	}
	uint8_t *blob;
	size_t len;
	Hvmgr__V1__DefineResponse *resp = NULL;
	if ((rc = load_config("edit", path, &blob, &len)) == 0) {
		if ((rc = validate("edit", path, blob, len)) == 0)
			rc = define_blob(h, blob, len, &resp);
		free(blob);
	}
	if (rc) {
		fprintf(stderr,
			"hvctl: edit: the edited configuration is kept in %s (hvctl define %s)\n",
			path, path);
		return rc;
	}
	unlink(path);
	if (resp->vm && resp->vm->config_revision)
		printf("Domain '%s' configuration edited (revision %u, was %u).\n\n",
		       resp->vm->name, resp->vm->config_revision, rev);
	else
		printf("Domain '%s' configuration edited.\n\n", resp->vm ? resp->vm->name : vm);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}

static json_t *json_revision(const Hvmgr__V1__ConfigRevision *r)
{
	char sha[65];

	fmt_hex(r->sha256.data, r->sha256.len, sha, sizeof sha);
	return json_pack("{s:I, s:s, s:I, s:s, s:I, s:I}", "revision", (json_int_t)r->revision,
			 "author", r->author, "time_ms", (json_int_t)r->time_ms, "sha256", sha,
			 "size", (json_int_t)r->size, "rolled_back_from",
			 (json_int_t)r->rolled_back_from);
}

HVCTL_HANDLER(cmd_config_history)
{
	Hvmgr__V1__ListConfigRevisionsRequest req = HVMGR__V1__LIST_CONFIG_REVISIONS_REQUEST__INIT;
	Hvmgr__V1__ListConfigRevisionsResponse *resp;
	Hvmgr__V1__VmSelector sel;
	int rc;

	hvctl_selector(&sel, a->pos[0]);
	req.vm = &sel;
	if ((rc = hvctl_call(h, "ListConfigRevisions", &req.base,
			     &hvmgr__v1__list_config_revisions_response__descriptor,
			     (ProtobufCMessage **)&resp)) != 0)
		return rc;
	if (opt_flag(a, "json")) {
		json_t *arr = json_array();
		for (size_t i = 0; i < resp->n_revisions; i++)
			json_array_append_new(arr, json_revision(resp->revisions[i]));
		json_print(arr);
	} else {
		static const char *const hdr[] = { "Revision", "Time",    "Author",
						   "Size",     "SHA-256", "Note" };
		struct fmt_table *t = fmt_table_new(6, hdr);
		for (size_t i = 0; i < resp->n_revisions; i++) {
			const Hvmgr__V1__ConfigRevision *r = resp->revisions[i];
			char num[16], when[40], size[16], sha[65], note[40] = "";
			snprintf(num, sizeof num, "%u", r->revision);
			fmt_time_ms(r->time_ms, when, sizeof when);
			snprintf(size, sizeof size, "%u", r->size);
			fmt_hex(r->sha256.data, r->sha256.len < 8 ? r->sha256.len : 8, sha,
				sizeof sha);
			if (r->rolled_back_from)
				snprintf(note, sizeof note, "rollback to %u", r->rolled_back_from);
			const char *row[] = { num, when, r->author, size, sha, note };
			fmt_table_row(t, row);
		}
		fmt_table_print(t);
		fmt_table_free(t);
		putchar('\n');
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}

HVCTL_HANDLER(cmd_config_rollback)
{
	Hvmgr__V1__RollbackConfigRequest req = HVMGR__V1__ROLLBACK_CONFIG_REQUEST__INIT;
	Hvmgr__V1__RollbackConfigResponse *resp;
	Hvmgr__V1__VmSelector sel;
	const char *revs = a->pos[1];
	char *end;
	int rc;

	errno = 0;
	unsigned long rev = strtoul(revs, &end, 10);
	if (errno || revs[0] < '0' || revs[0] > '9' || *end || rev == 0 || rev > UINT32_MAX)
		return hvctl_usage(a->cmd,
				   "revision '%s' is not a revision number (1, 2, ...: see config-history)",
				   revs);
	hvctl_selector(&sel, a->pos[0]);
	req.vm = &sel;
	req.revision = (uint32_t)rev;
	if ((rc = hvctl_call(h, "RollbackConfig", &req.base,
			     &hvmgr__v1__rollback_config_response__descriptor,
			     (ProtobufCMessage **)&resp)) != 0)
		return rc;
	const char *name = resp->vm && resp->vm->name[0] ? resp->vm->name : a->pos[0];
	if (resp->revision)
		printf("Domain '%s' rolled back to revision %lu (stored as revision %u)\n\n", name,
		       rev, resp->revision->revision);
	else
		printf("Domain '%s' rolled back to revision %lu\n\n", name, rev);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}
