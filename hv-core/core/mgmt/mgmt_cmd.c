/*
 * mgmt_cmd.c - the management command decoder: one table row per command
 * (MGMT-020) with the states it is legal in (MGMT-045) and its handler. The
 * decoder refuses, with a status and a message naming the rule, anything a
 * client got wrong before any handler runs: unknown command, VM id out of
 * range or undefined, illegal state, argument or data range out of bounds.
 * A refusal changes nothing (REQ-SAF-09, MGMT-030).
 *
 * Portable: also compiled for the host by the fuzz target (see mgmt_cmd.h).
 */
#include <string.h>
#include "mgmt_cmd.h"
#include "fmt.h"

static void run_command(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *data);

typedef void (*cmd_fn)(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *data);

static void fail(struct mgmt_reply *r, uint32_t status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct mgmt_reply *r, uint32_t status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hv_vsnprintf(r->full, sizeof(r->full), fmt, ap);
	va_end(ap);
	r->status = status;
}

static void cmd_nop(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	r->status = HVM_OK;
}

static void cmd_get_info(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	r->status = HVM_OK;
	r->ret[0] = mgmt_be_vm_count();
	r->ret[1] = mgmt_cmd_caps();
	r->ret[2] = mgmt_be_uptime_ns();
	mgmt_be_heap_pages(&r->ret[3], &r->ret[4]); /* MGMT-101 */
}

static void cmd_list(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	r->status = HVM_OK;
	r->ret[0] = mgmt_be_defined_mask();
}

/* [off, off + len) is non-empty and inside an area of size bytes; written so
 * that no sum can wrap in 64 bits (off and len are the client's). */
static int range_inside(uint64_t off, uint64_t len, uint64_t size)
{
	return len != 0 && off <= size && len <= size - off;
}

static uint8_t define_copy[MGMT_DEFINE_MAX] __attribute__((aligned(8)));

/* MGMT-047: arg[0] = offset of the blob in the data area (8-byte aligned),
 * arg[1] = its length (1..MGMT_DEFINE_MAX). */
static void cmd_define(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	uint64_t off = c->arg[0], len = c->arg[1];
	if (len > MGMT_DEFINE_MAX || !range_inside(off, len, HVM_DATA_SIZE)) {
		fail(r, HVM_E_BAD_ARG,
		     "DEFINE: blob 0x%llx+0x%llx outside the data area or over %u bytes",
		     (unsigned long long)off, (unsigned long long)len, MGMT_DEFINE_MAX);
		return;
	}
	if (off & 7) {
		fail(r, HVM_E_BAD_ARG, "DEFINE: blob offset 0x%llx not 8-byte aligned (VMCFG-001)",
		     (unsigned long long)off);
		return;
	}
	for (uint64_t i = 0; i < len; i++)
		define_copy[i] = d[off + i];
	uint32_t id = 0;
	r->status = mgmt_be_define(define_copy, (size_t)len, &id, r->full, sizeof(r->full));
	if (r->status == HVM_OK)
		r->ret[0] = id;
}

static void cmd_lifecycle(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	r->status = mgmt_be_lifecycle(c->cmd, c->vm_id, c->arg, r->full, sizeof(r->full));
}

/* MGMT-048: arg[0] = staging offset, arg[1] = length, arg[2] = image index
 * (0 = the boot image, 1 = the initrd; other indexes are reserved). */
static void cmd_load_image(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	uint64_t off = c->arg[0], len = c->arg[1], size = mgmt_be_staging_size();
	if (c->arg[2] > 1) {
		fail(r, HVM_E_BAD_ARG, "LOAD_IMAGE: image index %llu: only 0 (image), 1 (initrd)",
		     (unsigned long long)c->arg[2]);
		return;
	}
	if (!range_inside(off, len, size)) {
		fail(r, HVM_E_BAD_ARG, "LOAD_IMAGE: 0x%llx+0x%llx is outside the staging area",
		     (unsigned long long)off, (unsigned long long)len);
		return;
	}
	r->status = mgmt_be_load_image(c->vm_id, off, len, (uint32_t)c->arg[2], r->full,
				       sizeof(r->full));
}

static void copy_out(volatile uint8_t *d, const void *src, size_t len)
{
	const uint8_t *s = src;
	for (size_t i = 0; i < len; i++)
		d[i] = s[i];
}

/* A record copied into the data area, its size in ret[0]. */
static void reply_record(struct mgmt_reply *r, volatile uint8_t *d, const void *rec, size_t len)
{
	copy_out(d, rec, len);
	r->status = HVM_OK;
	r->ret[0] = len;
}

static void cmd_get_stats(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	struct hvm_stats st;
	memset(&st, 0, sizeof(st));
	mgmt_be_stats(c->vm_id, &st);
	reply_record(r, d, &st, sizeof(st));
}

/* MGMT-850 */
static void cmd_get_virtio(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	struct hvm_virtio v;
	memset(&v, 0, sizeof(v));
	mgmt_be_virtio(c->vm_id, &v);
	reply_record(r, d, &v, sizeof(v));
	r->ret[1] = v.count;
}

static void cmd_read_fault(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	struct hvm_fault f;
	memset(&f, 0, sizeof(f));
	mgmt_be_fault(c->vm_id, &f);
	reply_record(r, d, &f, sizeof(f));
	r->ret[1] = f.kind;
}

/* MGMT-049: READ_CONSOLE copies at most HVM_DATA_SIZE bytes from arg[0]. */
static void cmd_read_console(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	uint64_t count = 0, next = 0, lost = 0;
	r->status = mgmt_be_console(c->vm_id, c->arg[0], d, HVM_DATA_SIZE, &count, &next, &lost,
				    r->full, sizeof(r->full));
	if (r->status != HVM_OK)
		return;
	r->ret[0] = count;
	r->ret[1] = next;
	r->ret[2] = lost;
}

/* MGMT-801: arg[0] bytes (1..HVM_CONSOLE_INPUT_MAX) at the start of the data
 * area, copied out first (MGMT-112), into the VM's vUART receive FIFO. */
static void cmd_write_console(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	uint8_t buf[HVM_CONSOLE_INPUT_MAX];
	uint32_t n = (uint32_t)c->arg[0];
	if (c->arg[0] == 0 || c->arg[0] > HVM_CONSOLE_INPUT_MAX) {
		fail(r, HVM_E_BAD_ARG, "WRITE_CONSOLE: %llu bytes; 1..%u at once (MGMT-801)",
		     (unsigned long long)c->arg[0], HVM_CONSOLE_INPUT_MAX);
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		buf[i] = d[i];
	uint64_t free_after = 0;
	r->ret[0] = mgmt_be_console_input(c->vm_id, buf, n, &free_after);
	r->ret[1] = free_after;
	r->status = HVM_OK;
}

/* MGMT-330: arg[0] = the last fault_seq the client has (0: all held). */
static void cmd_fault_history(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	struct hvm_fault_history h;
	memset(&h, 0, sizeof(h));
	mgmt_be_fault_history(c->vm_id, c->arg[0], &h);
	reply_record(r, d, &h, sizeof(h));
	r->ret[1] = h.count;
	r->ret[2] = h.total;
}

static void cmd_selftest(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	uint64_t failed = 0, run = 0;
	mgmt_be_selftest(&failed, &run);
	r->status = HVM_OK;
	r->ret[0] = failed;
	r->ret[1] = run;
}

/* MGMT-401: ret[0] effective state, [1] source, [2] age ns, [3] source VM,
 * [4] state as last written by the source, [5] freshness limit ns. */
static void cmd_get_vehicle(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	r->status = HVM_OK;
	mgmt_be_vehicle(r->ret);
}

/* MGMT-402: arg[0] = the vehicle state. */
static void cmd_set_vehicle(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	r->status = mgmt_be_set_vehicle(c->arg[0], r->full, sizeof(r->full));
}

/* MGMT-403: the policy record into the data area. */
static void cmd_get_policy(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	struct hvm_policy p;
	mgmt_be_policy(&p);
	reply_record(r, d, &p, sizeof(p));
}

/* MGMT-404: arg[0] = a command code; answers as that command's policy check
 * would, doing nothing. ret[0] = vehicle state, ret[1] = matrix cell. */
static void cmd_check_policy(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	if (c->arg[0] >= HVM_CMD__COUNT || hvm_policy_op_of_cmd((uint32_t)c->arg[0]) < 0) {
		fail(r, HVM_E_BAD_ARG, "CHECK_POLICY: %llu is not a command the policy rules on",
		     (unsigned long long)c->arg[0]);
		return;
	}
	r->status = mgmt_be_policy_gate((uint32_t)c->arg[0], c->vm_id, 1, &r->ret[1], &r->ret[0],
					r->full, sizeof(r->full));
}

/* MGMT-630: AUDIT_SEQ_SET arg[0] = the sequence of the agent's newest audit
 * head; MGMT-631: AUDIT_SEQ_GET answers ret[0] = the stored sequence, ret[1] =
 * the record's sequence, ret[2] = 1 when non-volatile storage is present;
 * MGMT-500: ret[3] = the number of this hv-core boot (0 = not counted). */
static void cmd_audit_seq_set(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	r->status = mgmt_be_audit_seq(1, c->arg[0], r->ret, r->full, sizeof(r->full));
}

static void cmd_audit_seq_get(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	r->status = mgmt_be_audit_seq(0, 0, r->ret, r->full, sizeof(r->full));
}

/* MGMT-620: arg[0] = staging offset, arg[1] = length; struct hvm_ota_image
 * at data-area offset 0 (copied once); arg[2] = 1: a signed manifest instead
 * (MGMT-643); arg[3] = 1: into the initrd slot (MGMT-663). */
static void cmd_ota_install(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	uint64_t off = c->arg[0], len = c->arg[1];
	if (!range_inside(off, len, mgmt_be_staging_size())) {
		fail(r, HVM_E_BAD_ARG, "OTA_INSTALL: 0x%llx+0x%llx is outside the staging area",
		     (unsigned long long)off, (unsigned long long)len);
		return;
	}
	struct hvm_ota_image img;
	for (size_t i = 0; i < sizeof(img); i++)
		((uint8_t *)&img)[i] = d[i];
	if (c->arg[2] > 1) {
		fail(r, HVM_E_BAD_ARG,
		     "OTA_INSTALL: arg[2] %llu: 0 (digest given) or 1 (signed "
		     "manifest, MGMT-643)",
		     (unsigned long long)c->arg[2]);
		return;
	}
	if (c->arg[3] > 1) {
		fail(r, HVM_E_BAD_ARG, "OTA_INSTALL: arg[3] %llu: 0 (image) or 1 (initrd, MGMT-663)",
		     (unsigned long long)c->arg[3]);
		return;
	}
	uint32_t kind = (uint32_t)c->arg[3];
	if (c->arg[2] == 0) {
		r->status = mgmt_be_ota_install(c->vm_id, off, len, kind, &img, NULL, 0, NULL, 0,
						r->full, sizeof(r->full));
		return;
	}
	/* MGMT-643: header, manifest, signature block, copied once */
	struct hvm_ota_signed h;
	for (size_t i = 0; i < sizeof(h); i++)
		((uint8_t *)&h)[i] = d[i];
	if (h.magic != HVM_OTA_SIGNED_MAGIC || h.manifest_len == 0 ||
	    h.manifest_len > HVM_OTA_MANIFEST_MAX || h.sigblock_len == 0 ||
	    h.sigblock_len > HVM_OTA_SIGBLOCK_MAX) {
		fail(r, HVM_E_BAD_ARG,
		     "OTA_INSTALL: signed header magic 0x%x, manifest %u, "
		     "signature block %u bytes (MGMT-643)",
		     h.magic, h.manifest_len, h.sigblock_len);
		return;
	}
	static uint8_t blobs[HVM_OTA_MANIFEST_MAX + HVM_OTA_SIGBLOCK_MAX];
	size_t n = (size_t)h.manifest_len + h.sigblock_len;
	for (size_t i = 0; i < n; i++)
		blobs[i] = d[sizeof(h) + i];
	r->status = mgmt_be_ota_install(c->vm_id, off, len, kind, &img, blobs, h.manifest_len,
					blobs + h.manifest_len, h.sigblock_len, r->full,
					sizeof(r->full));
}

/* MGMT-621: arg[0] = confirmation window ms, arg[1] = trial timeout ms
 * (0: the defaults). */
static void cmd_ota_switch(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	r->status = mgmt_be_ota_switch(c->vm_id, c->arg[0], c->arg[1], r->full, sizeof(r->full));
}

/* MGMT-613: the VM's slots into the data area. */
static void cmd_ota_status(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *d)
{
	struct hvm_ota_status s;
	mgmt_be_ota_status(c->vm_id, &s);
	reply_record(r, d, &s, sizeof(s));
	r->ret[1] = s.active;
	r->ret[2] = s.in_trial;
}

/* The handler of each command; which VM and states it needs come from
 * HVM_COMMAND_TABLE in hvmgmt.h (MGMT-020, MGMT-045), the list hv-agent and the
 * test double read too. */
static const cmd_fn handlers[HVM_CMD__COUNT] = {
	[HVM_CMD_NOP] = cmd_nop,
	[HVM_CMD_GET_INFO] = cmd_get_info,
	[HVM_CMD_LIST] = cmd_list,
	[HVM_CMD_DEFINE] = cmd_define,
	[HVM_CMD_UNDEFINE] = cmd_lifecycle,
	[HVM_CMD_START] = cmd_lifecycle,
	[HVM_CMD_SHUTDOWN] = cmd_lifecycle,
	[HVM_CMD_DESTROY] = cmd_lifecycle,
	[HVM_CMD_REBOOT] = cmd_lifecycle,
	[HVM_CMD_RESET] = cmd_lifecycle,
	[HVM_CMD_SUSPEND] = cmd_lifecycle,
	[HVM_CMD_RESUME] = cmd_lifecycle,
	[HVM_CMD_GET_STATS] = cmd_get_stats,
	[HVM_CMD_LOAD_IMAGE] = cmd_load_image,
	[HVM_CMD_READ_CONSOLE] = cmd_read_console,
	[HVM_CMD_READ_FAULT] = cmd_read_fault,
	[HVM_CMD_SELFTEST_RESULT] = cmd_selftest,
	[HVM_CMD_READ_FAULT_HISTORY] = cmd_fault_history,
	[HVM_CMD_GET_VEHICLE_STATE] = cmd_get_vehicle,
	[HVM_CMD_SET_VEHICLE_STATE] = cmd_set_vehicle,
	[HVM_CMD_GET_POLICY] = cmd_get_policy,
	[HVM_CMD_CHECK_POLICY] = cmd_check_policy,
	[HVM_CMD_WRITE_CONSOLE] = cmd_write_console,
	[HVM_CMD_GET_VIRTIO] = cmd_get_virtio,
	[HVM_CMD_AUDIT_SEQ_SET] = cmd_audit_seq_set,
	[HVM_CMD_AUDIT_SEQ_GET] = cmd_audit_seq_get,
	[HVM_CMD_OTA_INSTALL] = cmd_ota_install,
	[HVM_CMD_OTA_SWITCH] = cmd_ota_switch,
	[HVM_CMD_OTA_STATUS] = cmd_ota_status,
};

uint64_t mgmt_cmd_caps(void)
{
	uint64_t caps = 0;
	for (uint32_t i = 0; i < HVM_CMD__COUNT; i++)
		if (handlers[i])
			caps |= HVM_CAP(i);
	return caps;
}

const char *mgmt_cmd_name(uint32_t cmd)
{
	const char *n = hvm_cmd_name(cmd);
	return n ? n : "?";
}

/* Length of a clause id ("VMCFG-041", "MGMT-047", "GABI-035") at s, or 0. */
static size_t clause_id_len(const char *s)
{
	static const char *const prefixes[] = { "VMCFG-", "MGMT-", "GABI-" };
	for (unsigned i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(s, prefixes[i], n) != 0)
			continue;
		size_t d = 0;
		while (s[n + d] >= '0' && s[n + d] <= '9')
			d++;
		return d == 3 ? n + d : 0;
	}
	return 0;
}

static void put(char *out, size_t max, size_t *o, char ch)
{
	if (*o < max)
		out[(*o)++] = ch;
}

void mgmt_msg_fit(const char *full, char *out, size_t outlen)
{
	if (outlen == 0)
		return;
	size_t len = strnlen(full, MGMT_MSG_FULL);
	if (len < outlen || outlen < 8) {
		if (len >= outlen)
			len = outlen - 1;
		memcpy(out, full, len);
		out[len] = 0;
		return;
	}
	/* the first clause id the message names, and where */
	const char *id = NULL;
	size_t idlen = 0;
	for (size_t i = 0; i < len && !id; i++)
		if ((i == 0 || !(full[i - 1] >= 'A' && full[i - 1] <= 'Z')) &&
		    (idlen = clause_id_len(full + i)) != 0)
			id = full + i;
	/* room for the text: outlen - 1 bytes, of which "..." takes 3 */
	size_t max = outlen - 1 - 3, o = 0;
	size_t skip_from = 0, skip_to = 0;
	if (id && id != full) {
		for (size_t i = 0; i < idlen; i++)
			put(out, max, &o, id[i]);
		put(out, max, &o, ':');
		put(out, max, &o, ' ');
		/* drop the id from the text, with its "(...)" or "ID: " around it */
		skip_from = (size_t)(id - full);
		skip_to = skip_from + idlen;
		if (skip_from > 0 && full[skip_from - 1] == '(' && full[skip_to] == ')') {
			skip_from--;
			skip_to++;
			if (skip_from > 0 && full[skip_from - 1] == ' ')
				skip_from--;
		} else if (full[skip_to] == ':' && full[skip_to + 1] == ' ') {
			skip_to += 2;
		}
	}
	for (size_t i = 0; i < len && o < max; i++) {
		if (i >= skip_from && i < skip_to)
			continue;
		put(out, max, &o, full[i]);
	}
	/* never end inside a UTF-8 sequence: drop a lead byte whose
	 * continuation bytes did not all fit */
	size_t end = o, k = o;
	while (k > 0 && (out[k - 1] & 0xC0) == 0x80)
		k--;
	if (k > 0 && (out[k - 1] & 0xC0) == 0xC0) {
		unsigned char lead = (unsigned char)out[k - 1];
		size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
		if (end - (k - 1) < need)
			end = k - 1;
	}
	while (end > 0 && out[end - 1] == ' ')
		end--;
	memcpy(out + end, "...", 4);
}

void mgmt_cmd_execute(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *data)
{
	memset(r, 0, sizeof(*r));
	run_command(c, r, data);
	r->full[sizeof(r->full) - 1] = 0;
	mgmt_msg_fit(r->full, r->msg, sizeof(r->msg)); /* MGMT-121 */
}

static void run_command(const struct mgmt_cmd *c, struct mgmt_reply *r, volatile uint8_t *data)
{
	if (c->cmd >= HVM_CMD__COUNT || !handlers[c->cmd]) {
		fail(r, HVM_E_UNKNOWN_CMD, "unknown command %u", c->cmd);
		return;
	}
	const char *name = hvm_cmd_name(c->cmd);
	if (hvm_cmd_needs_vm(c->cmd)) {
		int st = c->vm_id < HVM_MAX_VMS ? mgmt_be_state(c->vm_id) : -1;
		if (st < 0) {
			fail(r, HVM_E_BAD_VM, "%s: no VM with id %u", name, c->vm_id);
			return;
		}
		/* MGMT-400: the safety policy, whoever sent the command */
		uint64_t cell, vs;
		r->status = mgmt_be_policy_gate(c->cmd, c->vm_id, 0, &cell, &vs, r->full,
						sizeof(r->full));
		if (r->status != HVM_OK)
			return;
		const char *st_name = hvm_vm_state_name((uint32_t)st);
		if (!st_name || !(hvm_cmd_legal_states(c->cmd) & HVM_ST(st))) {
			fail(r, HVM_E_STATE, "%s is illegal in state %s (MGMT-045)", name,
			     st_name ? st_name : "?");
			return;
		}
	}
	handlers[c->cmd](c, r, data);
}
