/*
 * fuzz_mgmt.c - libFuzzer target for hv-core's management command decoder
 * (hv-core/core/mgmt/mgmt_cmd.c) and the DEFINE configuration path (vmconfig.c,
 * vmconfig_system.c), compiled for the host with ASan and UBSan.
 *
 * The back end is a stub standing in for the VM table: it keeps a state per
 * VM id and parses DEFINE blobs with the real parser and cross-VM checks
 * against a QEMU-virt-like platform. It is also the oracle: the decoder
 * promises (mgmt_cmd.h) to call a back-end function only for a defined VM in
 * a state where MGMT-045 allows the command, with data ranges inside the data
 * area; the stub aborts when that promise is broken, and on any reply that is
 * not NUL-terminated or has a status outside MGMT-030.
 *
 * Input: byte 0 = command code (mod 18: one unknown code included), byte 1 =
 * vm_id (mod 17: one out of range), byte 2 bit 0 = "DEFINE the rest" (arg[0] =
 * 0, arg[1] = length of the rest), bytes 3..50 = arg[0..5] otherwise; the
 * rest is the command data area. A few commands run per input so sequences
 * (define, start, suspend, ...) are reached.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt_cmd.h"
#include "hvvmconfig.h"

static volatile uint8_t data_area[HVM_DATA_SIZE];
static int state[HVM_MAX_VMS]; /* -1 = not defined */
static struct vmcfg cfgs[HVM_MAX_VMS];

#define ST(s) (1u << (s))
static const uint32_t legal[HVM_CMD__COUNT] = {
	[HVM_CMD_UNDEFINE] = ST(HVM_VM_SHUTOFF) | ST(HVM_VM_CRASHED),
	[HVM_CMD_START] = ST(HVM_VM_SHUTOFF) | ST(HVM_VM_CRASHED),
	[HVM_CMD_SHUTDOWN] = ST(HVM_VM_RUNNING) | ST(HVM_VM_BLOCKED) | ST(HVM_VM_PAUSED),
	[HVM_CMD_DESTROY] = ST(HVM_VM_RUNNING) | ST(HVM_VM_BLOCKED) | ST(HVM_VM_PAUSED) |
			    ST(HVM_VM_SHUTDOWN) | ST(HVM_VM_CRASHED),
	[HVM_CMD_REBOOT] = ST(HVM_VM_RUNNING) | ST(HVM_VM_BLOCKED),
	[HVM_CMD_RESET] =
		ST(HVM_VM_RUNNING) | ST(HVM_VM_BLOCKED) | ST(HVM_VM_PAUSED) | ST(HVM_VM_CRASHED),
	[HVM_CMD_SUSPEND] = ST(HVM_VM_RUNNING) | ST(HVM_VM_BLOCKED),
	[HVM_CMD_RESUME] = ST(HVM_VM_PAUSED),
	[HVM_CMD_LOAD_IMAGE] = ST(HVM_VM_SHUTOFF) | ST(HVM_VM_CRASHED),
};

static void must(int cond)
{
	if (!cond)
		abort();
}

static void must_be_defined(uint32_t id)
{
	must(id < HVM_MAX_VMS && state[id] >= 0);
}

int mgmt_be_state(uint32_t id)
{
	must(id < HVM_MAX_VMS);
	return state[id];
}

uint64_t mgmt_be_defined_mask(void)
{
	uint64_t m = 0;
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
		if (state[i] >= 0)
			m |= 1ull << i;
	return m;
}

uint32_t mgmt_be_vm_count(void)
{
	return (uint32_t)__builtin_popcountll(mgmt_be_defined_mask());
}
uint64_t mgmt_be_uptime_ns(void)
{
	return 1;
}
void mgmt_be_heap_pages(uint64_t *free_pages, uint64_t *total_pages)
{
	*free_pages = 100;
	*total_pages = 200;
}
uint64_t mgmt_be_staging_size(void)
{
	return 0x06000000;
}

void mgmt_be_selftest(uint64_t *failed, uint64_t *run)
{
	*failed = 0;
	*run = 7;
}

enum hvm_status mgmt_be_define(const uint8_t *blob, size_t len, uint32_t *id, char *msg, unsigned mlen)
{
	static struct vmcfg v, existing[HVM_MAX_VMS];
	struct vmcfg_err err;
	must(len > 0 && len <= MGMT_DEFINE_MAX);
	int rc = vmcfg_parse(blob, len, 0, &v, &err);
	if (rc == HVM_OK) {
		struct vmcfg_platform plat = { .pcpu_count = 4,
					       .reserved_cpu_mask = 1,
					       .nram = 1,
					       .ram = { { 0x40000000, 0x40000000 } },
					       .nreserved = 1,
					       .reserved = { { 0x40000000, 0x09000000 } } };
		size_t n = 0;
		for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
			if (state[i] >= 0)
				existing[n++] = cfgs[i];
		rc = vmcfg_check_against(&v, existing, n, &plat, &err);
	}
	if (rc != HVM_OK) {
		must(err.msg[sizeof(err.msg) - 1] == 0 ||
		     strnlen(err.msg, sizeof(err.msg)) < sizeof(err.msg));
		strncpy(msg, err.msg, mlen - 1);
		msg[mlen - 1] = 0;
		return (enum hvm_status)rc;
	}
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
		if (state[i] < 0) {
			state[i] = HVM_VM_SHUTOFF;
			cfgs[i] = v;
			*id = i;
			return HVM_OK;
		}
	strncpy(msg, "VM table full", mlen - 1);
	return HVM_E_NO_SPACE;
}

enum hvm_status mgmt_be_lifecycle(uint32_t cmd, uint32_t id, const uint64_t *arg, char *msg,
				  unsigned mlen)
{
	must_be_defined(id);
	must(cmd < HVM_CMD__COUNT && (legal[cmd] & ST(state[id])));
	switch (cmd) {
	case HVM_CMD_UNDEFINE:
		state[id] = -1;
		break;
	case HVM_CMD_START:
	case HVM_CMD_REBOOT:
	case HVM_CMD_RESET:
	case HVM_CMD_RESUME:
		state[id] = HVM_VM_RUNNING;
		break;
	case HVM_CMD_SHUTDOWN:
		state[id] = arg[0] & 1 ? HVM_VM_SHUTDOWN : HVM_VM_SHUTOFF;
		break;
	case HVM_CMD_DESTROY:
		state[id] = HVM_VM_SHUTOFF;
		break;
	case HVM_CMD_SUSPEND:
		state[id] = HVM_VM_PAUSED;
		break;
	default:
		abort();
	}
	return HVM_OK;
}

enum hvm_status mgmt_be_load_image(uint32_t id, uint64_t off, uint64_t len, uint32_t index,
				   char *msg, unsigned mlen)
{
	must_be_defined(id);
	must(legal[HVM_CMD_LOAD_IMAGE] & ST(state[id]));
	must(len > 0 && off <= mgmt_be_staging_size() && len <= mgmt_be_staging_size() - off &&
	     index <= 1);
	return HVM_OK;
}

void mgmt_be_stats(uint32_t id, struct hvm_stats *out)
{
	must_be_defined(id);
	out->vm_id = id;
}

void mgmt_be_virtio(uint32_t id, struct hvm_virtio *out)
{
	must_be_defined(id);
	out->vm_id = id;
}

void mgmt_be_fault(uint32_t id, struct hvm_fault *out)
{
	must_be_defined(id);
}

void mgmt_be_fault_history(uint32_t id, uint64_t after, struct hvm_fault_history *out)
{
	must_be_defined(id);
	out->vm_id = id;
}

uint64_t mgmt_be_console_input(uint32_t id, const uint8_t *p, uint32_t n, uint64_t *free_after)
{
	must_be_defined(id);
	(void)p;
	*free_after = 0;
	return n;
}

enum hvm_status mgmt_be_console(uint32_t id, uint64_t from, volatile uint8_t *dst, uint64_t max,
				uint64_t *count, uint64_t *next, uint64_t *lost, char *msg,
				unsigned mlen)
{
	must_be_defined(id);
	must(dst == data_area && max == HVM_DATA_SIZE);
	*count = 0;
	*next = from;
	*lost = 0;
	return HVM_OK;
}

/* MGMT-400: the decoder asks only about a defined VM; the stub allows all */
enum hvm_status mgmt_be_policy_gate(uint32_t cmd, uint32_t id, int dry_run, uint64_t *cell,
				    uint64_t *vs, char *msg, unsigned mlen)
{
	must_be_defined(id);
	*cell = HVM_POLICY_ALLOW;
	*vs = HVM_VS_PARKED;
	return HVM_OK;
}

void mgmt_be_vehicle(uint64_t *ret)
{
	ret[0] = HVM_VS_PARKED;
}

enum hvm_status mgmt_be_set_vehicle(uint64_t vs, char *msg, unsigned mlen)
{
	return vs < HVM_VS__COUNT ? HVM_OK : HVM_E_BAD_ARG;
}

void mgmt_be_policy(struct hvm_policy *out)
{
	out->magic = HVM_POLICY_MAGIC;
}

/* MGMT-600..631: the decoder checked the staging range and the VM */
enum hvm_status mgmt_be_audit_seq(int set, uint64_t seq, uint64_t *ret, char *msg, unsigned mlen)
{
	return HVM_OK;
}

enum hvm_status mgmt_be_ota_install(uint32_t id, uint64_t off, uint64_t len, uint32_t kind,
				    const struct hvm_ota_image *img, const uint8_t *manifest,
				    size_t manifest_len, const uint8_t *sigblock,
				    size_t sigblock_len, char *msg, unsigned mlen)
{
	must_be_defined(id);
	must(kind <= 1);
	must(len > 0 && off <= mgmt_be_staging_size() && len <= mgmt_be_staging_size() - off);
	must(!manifest || (manifest_len >= 1 && manifest_len <= HVM_OTA_MANIFEST_MAX &&
			   sigblock_len >= 1 && sigblock_len <= HVM_OTA_SIGBLOCK_MAX));
	return HVM_E_NV;
}

enum hvm_status mgmt_be_ota_switch(uint32_t id, uint64_t window_ms, uint64_t timeout_ms, char *msg,
				   unsigned mlen)
{
	must_be_defined(id);
	return HVM_E_STATE;
}

void mgmt_be_ota_status(uint32_t id, struct hvm_ota_status *out)
{
	must_be_defined(id);
	out->magic = HVM_OTA_STATUS_MAGIC;
}

static int initialised;

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
	if (!initialised) {
		for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
			state[i] = -1;
		initialised = 1;
	}
	if (len < 51)
		return 0;
	size_t rest = len - 51;
	if (rest > HVM_DATA_SIZE)
		rest = HVM_DATA_SIZE;
	for (size_t i = 0; i < rest; i++)
		data_area[i] = in[51 + i];
	/* up to three commands: the encoded one, then START and SUSPEND of its VM */
	struct mgmt_cmd c = { .cmd = in[0] % 18u, .vm_id = in[1] % 17u };
	if (in[2] & 1) {
		c.arg[1] = rest;
	} else {
		memcpy(c.arg, in + 3, sizeof(c.arg));
	}
	for (int step = 0; step < 3; step++) {
		struct mgmt_reply r;
		mgmt_cmd_execute(&c, &r, data_area);
		must(r.status <= HVM_E_POLICY);
		must(memchr(r.msg, 0, sizeof(r.msg)) != NULL);
		must((r.status == HVM_OK) == (r.msg[0] == 0) || r.status != HVM_OK);
		if (c.cmd == HVM_CMD_DEFINE && r.status == HVM_OK)
			c.vm_id = (uint32_t)r.ret[0];
		c.cmd = step == 0 ? HVM_CMD_START : HVM_CMD_SUSPEND;
		memset(c.arg, 0, sizeof(c.arg));
	}
	/* a fresh table now and then, so DEFINE keeps finding room */
	if (mgmt_be_vm_count() >= HVM_MAX_VMS - 1)
		for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
			state[i] = -1;
	return 0;
}
