/*
 * check_region.c - conformance checks of the region itself: identification,
 * placement and layout (MGMT-001..005, MGMT-100), the hypervisor state
 * (MGMT-010) and liveness (MGMT-011). None of them submits a command.
 */
#include <stdio.h>
#include <string.h>

#include "conf_internal.h"

static void check_magic(struct conf *c, struct conf_result *res)
{
	uint32_t m = LD32(c->r->magic);
	if (m != HVM_MAGIC)
		conf_fail(res, "magic 0x%08x, expected 0x%08x", m, HVM_MAGIC);
	else if (memcmp((const void *)c->base, "HVMG", 4) != 0)
		conf_fail(res, "magic bytes in memory order are not \"HVMG\"");
}

static void check_version(struct conf *c, struct conf_result *res)
{
	uint16_t maj = __atomic_load_n(&c->r->abi_major, __ATOMIC_ACQUIRE);
	uint16_t min = __atomic_load_n(&c->r->abi_minor, __ATOMIC_ACQUIRE);
	if (maj != HVM_ABI_MAJOR)
		conf_fail(res, "abi_major %u, this suite checks %u", maj, HVM_ABI_MAJOR);
	else
		conf_note(res, "abi %u.%u", maj, min);
}

static void check_placement(struct conf *c, struct conf_result *res)
{
	uint32_t size = LD32(c->r->region_size);
	if (size != HVM_REGION_SIZE)
		conf_fail(res, "region_size 0x%x, version 1.0 says 0x%x (1 MiB)", size,
			  HVM_REGION_SIZE);
	uint64_t sb = LD64(c->r->staging_base), ss = LD64(c->r->staging_size);
	uint64_t mb = c->opt->mgmt_base;
	if (ss && sb < mb + HVM_REGION_SIZE && mb < sb + ss)
		conf_fail(res, "staging area 0x%llx+0x%llx overlaps the management region",
			  (unsigned long long)sb, (unsigned long long)ss);
	if (ss && sb + ss < sb)
		conf_fail(res, "staging area 0x%llx+0x%llx wraps the address space",
			  (unsigned long long)sb, (unsigned long long)ss);
	if (!ss && conf_has_cap(c, HVM_CMD_LOAD_IMAGE))
		conf_fail(res, "LOAD_IMAGE is advertised but staging_size is 0 (MGMT-004)");
}

static void check_layout(struct conf *c, struct conf_result *res)
{
	static const struct {
		const char *name;
		size_t off;
		uint32_t want;
	} f[] = {
		{ "off_events", offsetof(struct hvm_regs, off_events), HVM_OFF_EVENTS },
		{ "event_count", offsetof(struct hvm_regs, event_count), HVM_EVENT_COUNT },
		{ "off_slots", offsetof(struct hvm_regs, off_slots), HVM_OFF_SLOTS },
		{ "slot_size", offsetof(struct hvm_regs, slot_size), sizeof(struct hvm_vm_slot) },
		{ "off_faults", offsetof(struct hvm_regs, off_faults), HVM_OFF_FAULTS },
		{ "fault_size", offsetof(struct hvm_regs, fault_size), sizeof(struct hvm_fault) },
		{ "off_consoles", offsetof(struct hvm_regs, off_consoles), HVM_OFF_CONSOLES },
		{ "console_size", offsetof(struct hvm_regs, console_size),
		  sizeof(struct hvm_console) },
		{ "off_data", offsetof(struct hvm_regs, off_data), HVM_OFF_DATA },
		{ "data_size", offsetof(struct hvm_regs, data_size), HVM_DATA_SIZE },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		uint32_t v =
			__atomic_load_n((volatile uint32_t *)(c->base + f[i].off), __ATOMIC_ACQUIRE);
		if (v != f[i].want)
			conf_fail(res, "%s = 0x%x, the 1.0 layout says 0x%x", f[i].name, v,
				  f[i].want);
	}
}

/* MGMT-005: reserved bytes read as zero. */
static void expect_zero(struct conf_result *res, const volatile uint8_t *p, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i]) {
			conf_fail(res, "%s: reserved byte at +0x%zx is 0x%02x", what, i, p[i]);
			return;
		}
	}
}

static void check_reserved(struct conf *c, struct conf_result *res)
{
	const volatile uint8_t *b = c->base;
	/* ABI 2.3 adds sup_gap_max_ns at 0x0F8 (MGMT-710) */
	expect_zero(res, b + 0x090, 0x0F8 - 0x090, "register page 0x090..0x0F7");
	expect_zero(res, b + 0x13C, 0x180 - 0x13C, "register page 0x13C..0x17F");
	expect_zero(res, b + 0x1F8, 0x200 - 0x1F8, "register page 0x1F8..0x1FF");
	expect_zero(res, b + 0x218, 0x1000 - 0x218, "register page 0x218..0xFFF");
	char what[64];
	/* ABI 2.2 adds the slot sizes at 0xC0 (MGMT-701) and restart_budget and
	 * restarts_left at 0xD0 (MGMT-800) */
	uint16_t major = __atomic_load_n(&c->r->abi_major, __ATOMIC_ACQUIRE);
	uint16_t minor = __atomic_load_n(&c->r->abi_minor, __ATOMIC_ACQUIRE);
	size_t slot_rsvd = major > 2 || (major == 2 && minor >= 2) ? 0xD8 : 0xC0;
	for (uint32_t i = 0; i < c->max_vms; i++) {
		snprintf(what, sizeof(what), "slot %u", i);
		expect_zero(res, (const volatile uint8_t *)conf_slot_ptr(c, i) + slot_rsvd,
			    0x200 - slot_rsvd, what);
		snprintf(what, sizeof(what), "fault record %u", i);
		expect_zero(res, (const volatile uint8_t *)conf_fault_ptr(c, i) + 0x150,
			    0x400 - 0x150, what);
		snprintf(what, sizeof(what), "console %u header", i);
		expect_zero(res, (const volatile uint8_t *)conf_console_ptr(c, i) + 0x10,
			    0x40 - 0x10, what);
	}
}

static void check_ident(struct conf *c, struct conf_result *res)
{
	char ver[32];
	conf_copy_in(ver, c->r->hv_version, sizeof(ver));
	if (!memchr(ver, 0, sizeof(ver)))
		conf_fail(res, "hv_version is not NUL-terminated within 32 bytes");
	else if (!ver[0])
		conf_fail(res, "hv_version is empty");
	uint32_t mv = LD32(c->r->max_vms);
	if (mv != HVM_MAX_VMS)
		conf_fail(res, "max_vms %u, version 1.0 has %u slots", mv, HVM_MAX_VMS);
	uint32_t pc = LD32(c->r->pcpu_count);
	if (pc == 0 || pc > 64)
		conf_fail(res, "pcpu_count %u is not a plausible CPU count (1..64)", pc);
	uint32_t n = 0;
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if (conf_read_slot(c, i, &s) && s.defined == 1)
			n++;
	}
	uint32_t vc = LD32(c->r->vm_count);
	if (vc != n) {
		/* MGMT-100: the fields are valid once READY; say whether it settles later */
		conf_ticks_advance(c, 1000);
		conf_ticks_advance(c, 1000);
		uint32_t later = LD32(c->r->vm_count);
		conf_fail(res, "vm_count %u but %u slots say defined, read just after READY%s", vc,
			  n, later == n ? " (correct two ticks later: published after READY)" : "");
	}
	/* "written once": the identification must not move while we look. */
	uint64_t caps = LD64(c->r->caps);
	conf_ticks_advance(c, 300);
	if (LD64(c->r->caps) != caps || LD32(c->r->max_vms) != mv || LD32(c->r->pcpu_count) != pc)
		conf_fail(res, "identification fields changed while READY");
	if (!conf_failed(res))
		conf_note(res, "\"%s\", %u pCPUs, %u VMs", ver, pc, vc);
}

static void check_hv_state(struct conf *c, struct conf_result *res)
{
	uint32_t st = LD32(c->r->hv_state), failed = LD32(c->r->selftest_failed);
	if (st != HVM_HV_READY && st != HVM_HV_SELFTEST_FAILED)
		conf_fail(res, "hv_state %u is neither READY (1) nor SELFTEST_FAILED (2)", st);
	else if (st == HVM_HV_SELFTEST_FAILED && !failed)
		conf_fail(res, "hv_state SELFTEST_FAILED but selftest_failed is 0");
	else if (st == HVM_HV_READY && failed)
		conf_fail(res, "hv_state READY but selftest_failed is 0x%x", failed);
	else
		conf_note(res, "%s", st == HVM_HV_READY ? "READY" : "SELFTEST_FAILED");
}

/* MGMT-011 asks for a tick at least every 100 ms. An emulator on a loaded host
 * cannot be held to that from outside, so the suite reports the largest gap it
 * saw and fails only when the counter stands still for two seconds. */
static void check_liveness(struct conf *c, struct conf_result *res)
{
	uint64_t t0 = LD64(c->r->hv_ticks), up0 = LD64(c->r->uptime_ns);
	uint64_t start = conf_now_ms(), last_change = start, max_gap = 0, changes = 0;
	uint64_t prev = t0, prev_up = up0;
	while (conf_now_ms() - start < 1000) {
		conf_sleep_ms(2);
		uint64_t t = LD64(c->r->hv_ticks), up = LD64(c->r->uptime_ns), now = conf_now_ms();
		if (t < prev) {
			conf_fail(res, "hv_ticks went backwards %llu -> %llu",
				  (unsigned long long)prev, (unsigned long long)t);
			return;
		}
		if (up < prev_up) {
			conf_fail(res, "uptime_ns went backwards");
			return;
		}
		if (t != prev) {
			if (now - last_change > max_gap)
				max_gap = now - last_change;
			last_change = now;
			changes++;
		}
		prev = t;
		prev_up = up;
	}
	if (!changes && !conf_ticks_advance(c, 1000)) {
		conf_fail(res, "hv_ticks stood still at %llu for 2 s", (unsigned long long)t0);
		return;
	}
	if (LD64(c->r->uptime_ns) == up0)
		conf_fail(res, "uptime_ns is not refreshed (stayed %llu)", (unsigned long long)up0);
	else
		conf_note(res, "%llu ticks in 1 s, largest gap seen %llu ms",
			  (unsigned long long)changes, (unsigned long long)max_gap);
}

const struct conf_check conf_checks_region[] = {
	{ "MGMT-001", "magic is 0x474D5648 (\"HVMG\")", check_magic },
	{ "MGMT-002", "abi_major is 2", check_version },
	{ "MGMT-003", "region_size is 1 MiB; staging area outside it", check_placement },
	{ "MGMT-004", "published offsets and sizes match the 1.0 layout", check_layout },
	{ "MGMT-005", "reserved bytes read as zero", check_reserved },
	{ "MGMT-100", "identification: hv_version, max_vms, vm_count, pcpu_count", check_ident },
	{ "MGMT-010", "hv_state is READY (or SELFTEST_FAILED with a mask)", check_hv_state },
	{ "MGMT-011", "hv_ticks and uptime_ns advance", check_liveness },
	{ 0 },
};
