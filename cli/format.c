/*
 * format.c - how hvctl shows things: virsh's words for states, reasons and
 * events, virsh's table layout, and the JSON form of a VM (--json).
 *
 * JSON is written with jansson (libjansson-dev): a small, mature C library
 * that escapes strings correctly and keeps key order, which a hand-written
 * printf emitter would get wrong for VM names with quotes or control bytes.
 */
#include "hvctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NAME_OR(table, i, unknown)                                                                 \
	((i) >= 0 && (size_t)(i) < sizeof(table) / sizeof(table[0]) && (table)[i] ? (table)[i]     \
										  : (unknown))

const char *fmt_state(int s)
{
	/* virsh's words, virDomainState order (MGMT-040). */
	static const char *const t[] = { "no state",    "running",  "idle",    "paused",
					 "in shutdown", "shut off", "crashed", "pmsuspended" };
	return NAME_OR(t, s, "unknown");
}

const char *fmt_reason(int r)
{
	static const char *const t[] = { "unknown",  "booted",    "user",
					 "shutdown", "destroyed", "crashed",
					 "watchdog", "restarted", "self-test failed",
					 "defined",  "reset",     "rebooted",
					 "failed" };
	return NAME_OR(t, r, "unknown");
}

const char *fmt_event(int e)
{
	static const char *const t[] = {
		[0] = "Defined",        [1] = "Undefined",       [2] = "Started",
		[3] = "Suspended",      [4] = "Resumed",         [5] = "Stopped",
		[6] = "Shutdown",       [7] = "PMSuspended",     [8] = "Crashed",
		[16] = "Fault",         [17] = "Watchdog",       [18] = "Restarted",
		[19] = "SelfTest",      [20] = "DoorbellDenied", [40] = "VehicleState",
		[41] = "PolicyDenied",  [42] = "PendingDone",    [60] = "AuditFinding",
		[44] = "OtaInstalled",  [45] = "OtaTrial",       [46] = "OtaConfirmed",
		[47] = "OtaRolledBack", [48] = "NvFailed",       [52] = "BootFailed",
	};
	return NAME_OR(t, e, "Unknown");
}

const char *fmt_criticality(int c)
{
	static const char *const t[] = { "QM", "ASIL-A", "ASIL-B", "ASIL-C", "ASIL-D" };
	return NAME_OR(t, c, "unknown");
}

const char *fmt_fault_policy(int p)
{
	/* docs/vm-config.md VMCFG-023: the strings of `fault-policy`, by number. */
	static const char *const t[] = { "ignore", "stop", "restart", "stop-vcpu" };
	return NAME_OR(t, p, "unknown");
}

const char *fmt_guest_state(int g)
{
	static const char *const t[] = { "unknown", "booting", "running", "shutting down",
					 "ready for off" };
	return NAME_OR(t, g, "unknown");
}

const char *fmt_fault_kind(int k)
{
	static const char *const t[] = { "none",     "stage2-abort", "undef-trap",
					 "watchdog", "guest-report", "hypercall" };
	return NAME_OR(t, k, "unknown");
}

void fmt_cpuset(uint64_t mask, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < 64; i++) {
		if (!(mask & (1ull << i)))
			continue;
		int j = i;
		while (j + 1 < 64 && (mask & (1ull << (j + 1))))
			j++;
		int n = j > i ? snprintf(buf + used, len - used, "%s%d-%d", used ? "," : "", i, j)
			      : snprintf(buf + used, len - used, "%s%d", used ? "," : "", i);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
		i = j;
	}
	if (!used)
		snprintf(buf, len, "-");
}

void fmt_time_ms(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "-");
}

void fmt_hex(const uint8_t *p, size_t n, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used + 3 <= len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%02x", p[i]);
}

/* ---- virsh's table ---- */

struct fmt_table {
	int ncols, nrows, cap;
	char **cells; /* nrows * ncols, row 0 is the header */
};

struct fmt_table *fmt_table_new(int ncols, const char *const *header)
{
	struct fmt_table *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	t->ncols = ncols;
	fmt_table_row(t, header);
	return t;
}

void fmt_table_row(struct fmt_table *t, const char *const *cells)
{
	if (!t)
		return;
	if (t->nrows == t->cap) {
		int cap = t->cap ? t->cap * 2 : 8;
		char **c = realloc(t->cells, sizeof(char *) * (size_t)cap * (size_t)t->ncols);
		if (!c)
			return;
		t->cells = c;
		t->cap = cap;
	}
	for (int i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = strdup(cells[i] ? cells[i] : "");
	t->nrows++;
}

/* Each column is as wide as its widest cell plus one space before and two
 * after; the last column is not padded; the dashed line spans all widths. */
void fmt_table_print(struct fmt_table *t)
{
	size_t w[16] = { 0 };

	if (!t || t->ncols > 16)
		return;
	for (int r = 0; r < t->nrows; r++)
		for (int c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t n = s ? strlen(s) + 3 : 3;
			if (n > w[c])
				w[c] = n;
		}
	for (int r = 0; r < t->nrows; r++) {
		for (int c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			s = s ? s : "";
			if (c < t->ncols - 1)
				printf(" %-*s  ", (int)(w[c] - 3), s);
			else
				printf(" %s", s);
		}
		putchar('\n');
		if (r == 0) {
			for (int c = 0; c < t->ncols; c++)
				for (size_t i = 0; i < w[c]; i++)
					putchar('-');
			putchar('\n');
		}
	}
}

void fmt_table_free(struct fmt_table *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

const char *fmt_vm_id(const Hvmgr__V1__Vm *vm, char *buf, size_t len)
{
	if (!vm->in_hypervisor)
		return "-";
	snprintf(buf, len, "%u", vm->id);
	return buf;
}

/* ---- JSON ---- */

json_t *json_vm(const Hvmgr__V1__Vm *vm)
{
	char cpus[256];

	fmt_cpuset(vm->pcpu_mask, cpus, sizeof cpus);
	json_t *j =
		json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:s}",
			  "id", (json_int_t)vm->id, "name", vm->name ? vm->name : "", "uuid",
			  vm->uuid ? vm->uuid : "", "state", fmt_state(vm->state), "reason",
			  fmt_reason(vm->reason), "state_code", (json_int_t)vm->state, "vcpus",
			  (json_int_t)vm->vcpus, "cpu_affinity", cpus, "memory_bytes",
			  (json_int_t)vm->memory_bytes, "cpu_time_ns", (json_int_t)vm->cpu_time_ns,
			  "criticality", fmt_criticality(vm->criticality), "fault_policy",
			  (json_int_t)vm->fault_policy, "heartbeat", (json_int_t)vm->heartbeat,
			  "heartbeat_age_ns", (json_int_t)vm->heartbeat_age_ns, "fault_count",
			  (json_int_t)vm->fault_count, "restart_count", (json_int_t)vm->restart_count,
			  "guest_state", fmt_guest_state(vm->guest_state), "health_code",
			  (json_int_t)vm->health_code, "image_version",
			  vm->image_version ? vm->image_version : "");
	/* A VM only the store holds has no slot: null, not the wire's
	 * 4294967295 (docs/hvctl.md). */
	if (!vm->in_hypervisor)
		json_object_set_new(j, "id", json_null());
	/* From hv-agent's store. */
	json_object_set_new(j, "fault_policy_name",
			    json_string(fmt_fault_policy((int)vm->fault_policy)));
	json_object_set_new(j, "in_hypervisor", json_boolean(vm->in_hypervisor));
	json_object_set_new(j, "autostart", json_boolean(vm->autostart));
	json_object_set_new(j, "config_revision", json_integer((json_int_t)vm->config_revision));
	json_object_set_new(j, "desired_state",
			    json_string(vm->desired_state ? fmt_state(vm->desired_state) : ""));
	return j;
}

void json_print(json_t *j)
{
	if (!j)
		return;
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(j);
}
