/*
 * svc_diag_export.c - ExportDiagnostics: one gzip-compressed tar archive
 * (libarchive) of everything remote tooling needs to look at a system, as
 * plain text files readable without the product (`tar -xzf`): versions,
 * self-test, the VMs, their last fault records, the last console bytes of
 * every VM, configuration revisions (history and the latest blob, a device
 * tree `dtc -I dtb` reads), the audit tail and a metrics snapshot.
 */
#include "agent.h"
#include "audit_anchor.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lazylib.h"
#include "store.h"
#include "uuid.h"

/* libarchive, loaded on the first export (lazylib.h). */
#define AR_FNS(X)                                                                                  \
	X(entry_free)                                                                              \
	X(entry_new)                                                                               \
	X(entry_set_filetype)                                                                      \
	X(entry_set_mtime)                                                                         \
	X(entry_set_pathname)                                                                      \
	X(entry_set_perm)                                                                          \
	X(entry_set_size)                                                                          \
	X(error_string)                                                                            \
	X(set_error)                                                                               \
	X(write_add_filter_gzip)                                                                   \
	X(write_close)                                                                             \
	X(write_data)                                                                              \
	X(write_free)                                                                              \
	X(write_header)                                                                            \
	X(write_new)                                                                               \
	X(write_open)                                                                              \
	X(write_set_format_pax_restricted)
static struct {
#define AR_PTR(n) __typeof__(archive_##n) *n;
	AR_FNS(AR_PTR)
} ar;
#define AR_NAME(n) "archive_" #n,
static const char *const ar_names[] = { AR_FNS(AR_NAME) };
static struct lazylib ar_lib = LAZYLIB_INIT("libarchive.so.13", ar_names, &ar);

#define CONSOLE_DEFAULT 4096u
#define CONSOLE_MAX (HVM_CONSOLE_SIZE)
#define AUDIT_DEFAULT 200u
#define AUDIT_MAX 5000u

/* A text file being built. */
struct txt {
	char *buf;
	size_t len, cap;
};

static void tput(struct txt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tput(struct txt *t, const char *fmt, ...)
{
	va_list ap;
	char line[1024];

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t add = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	if (t->len + add + 1 > t->cap) {
		size_t cap = (t->cap + add + 1) * 2;
		char *nb = realloc(t->buf, cap);
		if (!nb)
			return;
		t->buf = nb;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, line, add);
	t->len += add;
	t->buf[t->len] = '\0';
}

struct exporter {
	struct archive *a;
	char dir[64];
	time_t now;
	int failed;
};

static void add_file(struct exporter *x, const char *name, const void *data, size_t len)
{
	struct archive_entry *e = ar.entry_new();
	char path[256];

	if (!e) {
		x->failed = 1;
		return;
	}
	snprintf(path, sizeof path, "%s/%s", x->dir, name);
	ar.entry_set_pathname(e, path);
	ar.entry_set_size(e, (la_int64_t)len);
	ar.entry_set_filetype(e, AE_IFREG);
	ar.entry_set_perm(e, 0644);
	ar.entry_set_mtime(e, x->now, 0);
	if (ar.write_header(x->a, e) != ARCHIVE_OK ||
	    (len && ar.write_data(x->a, data, len) != (la_ssize_t)len))
		x->failed = 1;
	ar.entry_free(e);
}

static void add_txt(struct exporter *x, const char *name, struct txt *t)
{
	add_file(x, name, t->buf ? t->buf : "", t->len);
	free(t->buf);
	memset(t, 0, sizeof *t);
}

static void export_core(struct exporter *x, struct agent *ag, const struct hvlink_info *info)
{
	struct txt t = { 0 };

	tput(&t, "hv-agent %s (hvmgr.v1, management ABI %u.%u)\n", HV_VERSION, HVM_ABI_MAJOR,
	     HVM_ABI_MINOR);
	if (info) {
		tput(&t, "hv-core %s, ABI %u.%u, capabilities 0x%016" PRIx64 "\n", info->hv_version,
		     info->abi_major, info->abi_minor, info->caps);
		tput(&t, "uptime_ns %" PRIu64 ", ticks %" PRIu64 ", physical CPUs %u, VMs %u/%u\n",
		     info->uptime_ns, info->hv_ticks, info->pcpu_count, info->vm_count,
		     info->max_vms);
	} else {
		char why[HV_STATUS_MSG_LEN];
		hvlink_last_error(ag->link, why, sizeof why);
		tput(&t, "hv-core not reachable: %s\n", why);
	}
	add_txt(x, "versions.txt", &t);
	if (info) {
		tput(&t, "hypervisor state %u (0 booting, 1 ready, 2 self-test failed)\n",
		     info->hv_state);
		tput(&t, "failed checks mask 0x%08x\npassed %s\n", info->selftest_failed,
		     info->selftest_failed ? "no" : "yes");
		add_txt(x, "selftest.txt", &t);
	}
}

static void export_fault(struct txt *t, const struct hvm_fault *f, bool guest)
{
	tput(t, "kind %u seq %" PRIu64 " time_ns %" PRIu64 " vcpu %u action %u\n", f->kind, f->seq,
	     f->time_ns, f->vcpu, f->action);
	if (!guest) {
		tput(t, "registers redacted: guest registers require role operator\n");
		return;
	}
	tput(t,
	     "esr 0x%016" PRIx64 " far 0x%016" PRIx64 " hpfar 0x%016" PRIx64 "\nelr 0x%016" PRIx64
	     " spsr 0x%016" PRIx64 " sp_el1 0x%016" PRIx64 "\n",
	     f->esr, f->far, f->hpfar, f->elr, f->spsr, f->sp_el1);
	for (int r = 0; r < 31; r++)
		tput(t, "x%-2d 0x%016" PRIx64 "%s", r, f->x[r], r % 4 == 3 || r == 30 ? "\n" : "  ");
}

/* guest: the caller may see guest contents (agent_require_guest_view);
 * otherwise fault registers and console output are left out, saying so. */
static void export_vms(struct exporter *x, struct agent *ag, uint32_t console_bytes, bool guest)
{
	struct hvm_vm_slot slots[HVM_MAX_VMS];
	struct hv_status st;
	struct txt vms = { 0 }, faults = { 0 };
	uint32_t mask;
	char *buf = malloc(CONSOLE_MAX);

	if (!buf || hvlink_read_slots(ag->link, slots, &mask, &st) != 0) {
		free(buf);
		return;
	}
	tput(&vms, "id name uuid state reason vcpus mem_bytes criticality heartbeat "
		   "heartbeat_age_ns faults restarts health_code image_version\n");
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		const struct hvm_vm_slot *s = &slots[i];
		char uuid[HV_UUID_STR_LEN], name[HVM_NAME_LEN + 1], ver[HVM_VERSION_LEN + 1];
		struct hvm_fault f;

		if (!(mask & (1u << i)))
			continue;
		memcpy(name, s->name, HVM_NAME_LEN);
		name[HVM_NAME_LEN] = '\0';
		memcpy(ver, s->image_version, HVM_VERSION_LEN);
		ver[HVM_VERSION_LEN] = '\0';
		hv_uuid_format(s->uuid, uuid);
		tput(&vms,
		     "%u %s %s %u %u %u %" PRIu64 " %u %" PRIu64 " %" PRIu64 " %u %u %u \"%s\"\n",
		     s->id, name, uuid, s->state, s->reason, s->vcpus, s->mem_bytes, s->criticality,
		     s->heartbeat, s->heartbeat_age_ns, s->fault_count, s->restart_count,
		     s->health_code, ver);
		if (hvlink_read_fault(ag->link, i, &f, &st) == 0 && f.seq) {
			tput(&faults, "== %s (VM %u), %u faults in all\n", name, i, s->fault_count);
			export_fault(&faults, &f, guest);
		}
		/* The console's last bytes: read from position 0 after the
		 * newest ones, hvlink skips what was overwritten. */
		size_t n = 0;
		uint64_t start = 0, next = 0, lost = 0;
		if (guest && hvlink_read_console(ag->link, i, 0, buf, CONSOLE_MAX, &n, &start,
						 &next, &lost, &st) == 0) {
			size_t keep = n > console_bytes ? console_bytes : n;
			char cname[HVM_NAME_LEN + 16];
			snprintf(cname, sizeof cname, "console/%s.log", name);
			add_file(x, cname, buf + (n - keep), keep);
		}
	}
	free(buf);
	if (!guest)
		tput(&vms, "console output left out: console contents require role operator\n");
	add_txt(x, "vms.txt", &vms);
	if (!faults.len)
		tput(&faults, "no VM has a saved fault record\n");
	add_txt(x, "faults.txt", &faults);
}

static void export_store(struct exporter *x, struct agent *ag, uint32_t audit_rows)
{
	struct store_vm *list = NULL;
	struct store_audit_entry *rows = NULL;
	struct store_err e;
	struct txt t = { 0 };
	size_t n = 0;

	if (!ag->store || store_vm_list(ag->store, &list, &n, &e) != STORE_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		struct store_config_rev *hist = NULL, latest;
		size_t nh = 0;
		char name[STORE_NAME_MAX + 32];

		tput(&t, "== %s (%s), desired %s, autostart %s\n", list[i].name, list[i].uuid,
		     store_vm_state_name(list[i].desired), list[i].autostart ? "yes" : "no");
		if (store_config_history(ag->store, list[i].name, &hist, &nh, &e) == STORE_OK) {
			for (size_t k = 0; k < nh; k++)
				tput(&t, "revision %u time_ms %" PRId64 " author %s rollback_of %u\n",
				     hist[k].rev, hist[k].time_ms, hist[k].author,
				     hist[k].rollback_of);
			store_config_history_free(hist);
		}
		if (list[i].latest_rev &&
		    store_config_get(ag->store, list[i].name, 0, &latest, &e) == STORE_OK) {
			snprintf(name, sizeof name, "config/%s-rev%u.dtb", list[i].name, latest.rev);
			add_file(x, name, latest.blob, latest.len);
			store_config_rev_free(&latest);
		}
	}
	store_vm_list_free(list);
	add_txt(x, "config/revisions.txt", &t);

	agent_audit_flush(ag);
	n = 0;
	if (store_audit_list(ag->store, 0, 0, &rows, &n, &e) == STORE_OK) {
		size_t from = n > audit_rows ? n - audit_rows : 0;
		for (size_t i = from; i < n; i++)
			tput(&t, "%" PRIu64 " %" PRId64 " %s %s %s %s -> %s\n", rows[i].seq,
			     rows[i].time_ms, rows[i].caller, rows[i].role, rows[i].rpc,
			     rows[i].args, rows[i].outcome);
		store_audit_list_free(rows);
	}
	add_txt(x, "audit-tail.txt", &t);
	/* A detected finding is evidence: it travels with every archive. */
	if (store_audit_tampered(ag->store, &e))
		tput(&t,
		     "FINDING: %s\nstate-changing calls are refused until an admin runs 'hvctl audit acknowledge'\n",
		     e.msg);
	else
		tput(&t, "no finding: the audit chain verified at start and since\n");
	char anchor[AUDIT_ANCHOR_STATE_LEN];
	audit_anchor_describe(ag->anchor, anchor, sizeof anchor);
	tput(&t, "audit sequence in hv-core: %s\n", anchor);
	add_txt(x, "audit-finding.txt", &t);
}

static la_ssize_t to_mem(struct archive *a, void *cls, const void *buf, size_t len)
{
	struct txt *out = cls;

	if (out->len + len > RPC_MAX_SEND_BYTES - 4096) {
		ar.set_error(a, ENOMEM, "archive larger than a response may be");
		return -1;
	}
	if (out->len + len > out->cap) {
		size_t cap = (out->len + len) * 2;
		char *nb = realloc(out->buf, cap);
		if (!nb)
			return -1;
		out->buf = nb;
		out->cap = cap;
	}
	memcpy(out->buf + out->len, buf, len);
	out->len += len;
	return (la_ssize_t)len;
}

void svc_export_diagnostics(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
			    struct rpc_result *res)
{
	const Hvmgr__V1__ExportDiagnosticsRequest *req =
		(const Hvmgr__V1__ExportDiagnosticsRequest *)m;
	struct agent *ag = ctx->app;
	Hvmgr__V1__ExportDiagnosticsResponse resp = HVMGR__V1__EXPORT_DIAGNOSTICS_RESPONSE__INIT;
	struct exporter x = { .now = time(NULL) };
	struct txt out = { 0 };
	struct hvlink_info info;
	struct hv_status st;
	uint32_t console = req->console_bytes ? req->console_bytes : CONSOLE_DEFAULT;
	uint32_t audit = req->audit_rows ? req->audit_rows : AUDIT_DEFAULT;

	if (console > CONSOLE_MAX || audit > AUDIT_MAX) {
		rpc_result_error(res, HV_INVALID_ARGUMENT,
				 "console_bytes at most %u and audit_rows at most %u (got %u, %u)",
				 CONSOLE_MAX, AUDIT_MAX, req->console_bytes, req->audit_rows);
		return;
	}
	struct hv_status lst;
	if (lazylib_load(&ar_lib, &lst) != 0) {
		rpc_result_error(res, lst.code, "cannot start the archive: %s", lst.msg);
		return;
	}
	x.a = ar.write_new();
	if (!x.a || ar.write_set_format_pax_restricted(x.a) != ARCHIVE_OK ||
	    ar.write_add_filter_gzip(x.a) != ARCHIVE_OK ||
	    ar.write_open(x.a, &out, NULL, to_mem, NULL) != ARCHIVE_OK) {
		rpc_result_error(res, HV_INTERNAL, "cannot start the archive: %s",
				 x.a ? ar.error_string(x.a) : "out of memory");
		goto done;
	}
	snprintf(x.dir, sizeof x.dir, "hv-diag-%lld", (long long)x.now);
	int up = hvlink_info(ag->link, &info, &st) == 0;
	export_core(&x, ag, up ? &info : NULL);
	if (up) {
		struct hv_status why;
		export_vms(&x, ag, console,
			   agent_require_guest_view(ag, ctx->peer, "guest contents", &why) == 0);
	}
	export_store(&x, ag, audit);
	if (ag->telemetry) {
		size_t len;
		char *metrics = telemetry_render(ag->telemetry, &len);
		if (metrics)
			add_file(&x, "metrics.txt", metrics, len);
		free(metrics);
	}
	if (ar.write_close(x.a) != ARCHIVE_OK || x.failed) {
		rpc_result_error(res, HV_RESOURCE_EXHAUSTED, "cannot write the archive: %s",
				 ar.error_string(x.a) ? ar.error_string(x.a) : "out of memory");
		goto done;
	}
	resp.archive.data = (uint8_t *)out.buf;
	resp.archive.len = out.len;
	resp.format = "tar.gz";
	resp.name = x.dir;
	rpc_result_message(res, &resp.base);
done:
	if (x.a)
		ar.write_free(x.a);
	free(out.buf);
}
