/*
 * check_define.c - conformance checks of DEFINE and UNDEFINE (MGMT-020,
 * MGMT-030, REQ-SAF-09): malformed blobs and out-of-range data-area arguments
 * are refused with the status that names the problem and change nothing; the
 * examples in docs/examples/ (compiled with dtc at run time) are refused with
 * the status their "expect:" line names, and the valid ones define a SHUTOFF VM
 * that UNDEFINE removes again.
 */
#include <dirent.h>
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf_internal.h"

#define BLOB_MAX 65536

static bool put_blob(struct conf *c, uint64_t off, const void *p, size_t n)
{
	if (off + n > LD32(c->r->data_size))
		return false;
	conf_copy_out(conf_data_ptr(c) + off, p, n);
	return true;
}

/* DEFINE that must be refused with one of want[] and change nothing. */
static void refuse(struct conf *c, struct conf_result *res, const char *what, uint64_t off,
		   uint64_t len, const uint32_t *want, size_t nwant)
{
	struct conf_snap before;
	if (!conf_snap_take(c, &before)) {
		conf_fail(res, "slots never read consistently");
		return;
	}
	uint64_t head = LD64(c->r->ev_head);
	uint64_t args[6] = { off, len };
	struct conf_reply rep;
	char err[200];
	if (!conf_cmd(c, HVM_CMD_DEFINE, 0, args, &rep, err, sizeof(err))) {
		conf_fail(res, "%s: %s", what, err);
		return;
	}
	bool ok = false;
	for (size_t i = 0; i < nwant; i++)
		ok |= rep.status == want[i];
	if (!ok) {
		conf_fail(res, "%s: answered %s, expected %s%s%s", what,
			  conf_status_name(rep.status), conf_status_name(want[0]),
			  nwant > 1 ? " or " : "", nwant > 1 ? conf_status_name(want[1]) : "");
		if (rep.status == HVM_OK && rep.ret[0] < c->max_vms &&
		    conf_has_cap(c, HVM_CMD_UNDEFINE))
			conf_cmd(c, HVM_CMD_UNDEFINE, (uint32_t)rep.ret[0], NULL, &rep, err,
				 sizeof(err));
		return;
	}
	if (!rep.msg[0] || !rep.msg_terminated)
		conf_fail(res, "%s: refusal without a terminated ret_msg (MGMT-120)", what);
	conf_expect_unchanged(c, res, what, &before);
	for (uint64_t p = head; p < LD64(c->r->ev_head); p++) {
		struct hvm_event e;
		if (conf_read_event(c, p, &e) == 1 && e.type == HVM_EV_DEFINED)
			conf_fail(res, "%s: a DEFINED event (vm %u) after a refusal", what, e.vm_id);
	}
}

/* A small device tree: an empty root, or a vm-config root with only a name. */
static size_t make_dtb(void *buf, size_t size, bool vmconfig)
{
	if (fdt_create_empty_tree(buf, (int)size) != 0)
		return 0;
	if (vmconfig) {
		fdt_setprop_string(buf, 0, "compatible", "avirt,vm-config-v1");
		fdt_setprop_string(buf, 0, "vm-name", "conformance-probe");
	}
	fdt_pack(buf);
	return fdt_totalsize(buf);
}

static void check_malformed(struct conf *c, struct conf_result *res)
{
	if (!conf_has_cap(c, HVM_CMD_DEFINE)) {
		conf_fail(res, "DEFINE not in caps");
		return;
	}
	static const uint32_t fdt[] = { HVM_E_FDT }, cfg[] = { HVM_E_BAD_CONFIG },
			      arg[] = { HVM_E_BAD_ARG }, empty[] = { HVM_E_FDT, HVM_E_BAD_ARG };
	uint64_t dsize = LD32(c->r->data_size);
	uint8_t buf[4096];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131u + 7u);
	put_blob(c, 0, buf, sizeof(buf));
	refuse(c, res, "garbage blob", 0, 256, fdt, 1);
	const char *text = "/dts-v1/; / { vm-name = \"source, not a blob\"; };";
	put_blob(c, 0, text, strlen(text));
	refuse(c, res, "DTS source text", 0, strlen(text), fdt, 1);

	uint8_t dtb[1024];
	size_t n = make_dtb(dtb, sizeof(dtb), true);
	put_blob(c, 0, dtb, n);
	refuse(c, res, "truncated DTB", 0, n / 2, fdt, 1);
	refuse(c, res, "DTB cut by one byte", 0, n - 1, fdt, 1);
	uint8_t big[64];
	memcpy(big, dtb, sizeof(big));
	((fdt32_t *)big)[1] = cpu_to_fdt32(0xFFFFFFF0u); /* totalsize far beyond the blob */
	put_blob(c, 0, big, sizeof(big));
	refuse(c, res, "DTB header claiming 4 GiB", 0, sizeof(big), fdt, 1);

	put_blob(c, 0, buf, sizeof(buf)); /* garbage at 0, the config at 4096: arg[0] is honoured */
	put_blob(c, 4096, dtb, n);
	refuse(c, res, "vm-config with only a name (at offset 4096)", 4096, n, cfg, 1);
	n = make_dtb(dtb, sizeof(dtb), false);
	put_blob(c, 4096, dtb, n);
	refuse(c, res, "DTB with an empty root", 4096, n, cfg, 1);

	refuse(c, res, "length 0", 0, 0, empty, 2);
	refuse(c, res, "length beyond the data area", 0, dsize + 1, arg, 1);
	refuse(c, res, "offset beyond the data area", dsize, 64, arg, 1);
	refuse(c, res, "offset + length wrapping 2^64", ~0ull - 7, 64, arg, 1);
	refuse(c, res, "huge length", 0, ~0ull, arg, 1);
}

/* ---- docs/examples --------------------------------------------------------- */

static char *slurp(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(max + 1);
	size_t n = buf ? fread(buf, 1, max, f) : 0;
	fclose(f);
	if (!buf)
		return NULL;
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

/* dtc -I dts -O dtb, into a buffer. */
static bool compile_dts(const struct conf_opts *o, const char *dts, void *out, size_t *len,
			char *err, size_t errlen)
{
	char dir[] = "/tmp/hv-conformance-XXXXXX";
	if (!mkdtemp(dir)) {
		snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
		return false;
	}
	char dtb[sizeof(dir) + 16];
	snprintf(dtb, sizeof(dtb), "%s/x.dtb", dir);
	pid_t pid = fork();
	if (pid == 0) {
		execlp(o->dtc, o->dtc, "-q", "-I", "dts", "-O", "dtb", "-o", dtb, dts, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	bool ok = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	if (!ok)
		snprintf(err, errlen, "%.60s failed on %.160s (status %d)", o->dtc, dts,
			 WEXITSTATUS(st));
	char *blob = ok ? slurp(dtb, BLOB_MAX, len) : NULL;
	if (blob)
		memcpy(out, blob, *len);
	else if (ok)
		snprintf(err, errlen, "cannot read %s", dtb);
	free(blob);
	unlink(dtb);
	rmdir(dir);
	return blob != NULL;
}

static int status_by_name(const char *s)
{
	for (uint32_t st = 0; st <= HVM_E_INTERNAL; st++) {
		const char *n = conf_status_name(st);
		size_t l = strlen(n);
		if (strncmp(s, n, l) == 0 && (s[l] == 0 || s[l] == ' ' || s[l] == '\n'))
			return (int)st;
	}
	return -1;
}

struct example {
	char name[64];
	int expect; /* -1: a valid configuration */
	char vm_name[HVM_NAME_LEN];
};

/* Reads what the example says of itself: "expect: HVM_E_X" and its vm-name. */
static bool describe(const char *dir, const char *file, struct example *ex, char **text)
{
	char path[512];
	snprintf(path, sizeof(path), "%.255s/%.255s", dir, file);
	*text = slurp(path, BLOB_MAX, NULL);
	if (!*text)
		return false;
	snprintf(ex->name, sizeof(ex->name), "%.*s", (int)sizeof(ex->name) - 1, file);
	ex->expect = -1;
	const char *e = strstr(*text, "expect: HVM_");
	if (e)
		ex->expect = status_by_name(e + strlen("expect: HVM_"));
	if (e && ex->expect < 0)
		ex->expect = -2; /* an expectation the suite cannot read */
	ex->vm_name[0] = 0;
	const char *v = strstr(*text, "vm-name = \"");
	if (v) {
		v += strlen("vm-name = \"");
		size_t l = strcspn(v, "\"");
		snprintf(ex->vm_name, sizeof(ex->vm_name), "%.*s", (int)(l < 31 ? l : 31), v);
	}
	return true;
}

static void define_valid(struct conf *c, struct conf_result *res, const struct example *ex, size_t len)
{
	struct conf_snap before;
	conf_snap_take(c, &before);
	uint64_t head = LD64(c->r->ev_head);
	uint64_t args[6] = { 0, len };
	struct conf_reply rep;
	char err[200];
	if (!conf_cmd(c, HVM_CMD_DEFINE, 0, args, &rep, err, sizeof(err))) {
		conf_fail(res, "%s: %s", ex->name, err);
		return;
	}
	if (rep.status == HVM_E_EXISTS || rep.status == HVM_E_OVERLAP || rep.status == HVM_E_CPU) {
		/* A valid configuration may still collide with a VM already defined. */
		if (!before.defined)
			conf_fail(res, "%s: %s with no VM defined (\"%s\")", ex->name,
				  conf_status_name(rep.status), rep.msg);
		else
			conf_note(res, "%s: %s (collides with a defined VM)", ex->name,
				  conf_status_name(rep.status));
		conf_expect_unchanged(c, res, ex->name, &before);
		return;
	}
	if (rep.status != HVM_OK) {
		conf_fail(res, "%s: valid example refused with %s (\"%s\")", ex->name,
			  conf_status_name(rep.status), rep.msg);
		return;
	}
	uint32_t id = (uint32_t)rep.ret[0];
	if (id >= c->max_vms || (before.defined >> id & 1)) {
		conf_fail(res, "%s: DEFINE returned vm_id %u, not a free slot", ex->name, id);
		return;
	}
	struct hvm_vm_slot s;
	if (!conf_wait_state(c, id, HVM_VM_SHUTOFF, 5000, &s))
		conf_fail(res, "%s: slot %u is %s, not SHUTOFF after DEFINE", ex->name, id,
			  conf_state_name(s.state));
	else if (s.reason != HVM_R_DEFINED)
		conf_fail(res, "%s: reason %u after DEFINE, expected DEFINED (9)", ex->name,
			  s.reason);
	if (ex->vm_name[0] && strncmp(s.name, ex->vm_name, HVM_NAME_LEN) != 0)
		conf_fail(res, "%s: slot name '%.32s', the configuration says '%s'", ex->name,
			  s.name, ex->vm_name);
	if (!conf_find_event(c, head, HVM_EV_DEFINED, id, 5000, NULL))
		conf_fail(res, "%s: no DEFINED event for vm %u", ex->name, id);
	head = LD64(c->r->ev_head);
	if (!conf_expect(c, res, "UNDEFINE of the example", HVM_CMD_UNDEFINE, id, NULL, HVM_OK, NULL))
		return;
	uint64_t deadline = conf_now_ms() + 5000;
	while (conf_read_slot(c, id, &s) && s.defined && conf_now_ms() < deadline)
		conf_sleep_ms(10);
	if (s.defined)
		conf_fail(res, "%s: slot %u still defined after UNDEFINE", ex->name, id);
	if (!conf_find_event(c, head, HVM_EV_UNDEFINED, id, 5000, NULL))
		conf_fail(res, "%s: no UNDEFINED event for vm %u", ex->name, id);
	conf_ticks_advance(c, 500);
	if (LD32(c->r->vm_count) != before.vm_count)
		conf_fail(res, "%s: vm_count %u after DEFINE+UNDEFINE, was %u", ex->name,
			  LD32(c->r->vm_count), before.vm_count);
	if (!conf_failed(res))
		conf_note(res, "%s defined as vm %u and undefined", ex->name, id);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void run_examples(struct conf *c, struct conf_result *res, bool valid)
{
	const char *dir = c->opt->examples_dir;
	if (!dir) {
		conf_skip(res, "no examples directory given (--examples)");
		return;
	}
	if (!conf_has_cap(c, HVM_CMD_DEFINE)) {
		conf_fail(res, "DEFINE not in caps");
		return;
	}
	DIR *d = opendir(dir);
	if (!d) {
		conf_skip(res, "cannot open %s: %s", dir, strerror(errno));
		return;
	}
	static uint8_t blob[BLOB_MAX];
	unsigned done = 0;
	struct dirent *de;
	char names[64][64];
	unsigned nn = 0;
	while ((de = readdir(d)) && nn < 64) {
		size_t l = strlen(de->d_name);
		if (l > 4 && l < 64 && strcmp(de->d_name + l - 4, ".dts") == 0)
			snprintf(names[nn++], sizeof(names[0]), "%s", de->d_name);
	}
	closedir(d);
	qsort(names, nn, sizeof(names[0]), cmp_name);
	for (unsigned i = 0; i < nn && !c->wedged; i++) {
		struct example ex;
		char *text;
		if (!describe(dir, names[i], &ex, &text))
			continue;
		/* DEFINE takes one VM's configuration; whole-system blobs are for boot. */
		bool single = !strstr(text, "avirt,system-config-v1");
		free(text);
		if (!single || valid != (ex.expect == -1))
			continue;
		if (ex.expect == -2) {
			conf_fail(res, "%s: unreadable expect: line", ex.name);
			continue;
		}
		char path[512], err[256];
		size_t len = 0;
		snprintf(path, sizeof(path), "%.255s/%.255s", dir, names[i]);
		if (!compile_dts(c->opt, path, blob, &len, err, sizeof(err))) {
			conf_skip(res, "%s", err);
			return;
		}
		put_blob(c, 0, blob, len);
		done++;
		if (valid) {
			define_valid(c, res, &ex, len);
		} else {
			uint32_t want = (uint32_t)ex.expect;
			refuse(c, res, ex.name, 0, len, &want, 1);
		}
	}
	if (!done)
		conf_skip(res, "no %s single-VM example in %s", valid ? "valid" : "invalid", dir);
	else if (!conf_failed(res))
		conf_note(res, "%u example(s)", done);
}

static void check_examples_invalid(struct conf *c, struct conf_result *res)
{
	run_examples(c, res, false);
}
static void check_examples_valid(struct conf *c, struct conf_result *res)
{
	run_examples(c, res, true);
}

const struct conf_check conf_checks_define[] = {
	{ "MGMT-030", "DEFINE: malformed blobs and ranges refused, nothing changes", check_malformed },
	{ "MGMT-030", "DEFINE: invalid docs/examples answer their expected status",
	  check_examples_invalid },
	{ "MGMT-020", "DEFINE/UNDEFINE: valid docs/examples, slot and events", check_examples_valid },
	{ 0 },
};
