/*
 * hvcore_msgfit.c - MGMT-121 on the host: mgmt_msg_fit() keeps a message that
 * fits as it is, and fits a longer one into ret_msg with its clause id first,
 * cut at a UTF-8 character boundary and marked with "..."; and the decoder
 * applies it to every reply (a back end that answers a long refusal).
 *
 * The mgmt_be_* functions below only complete the link of the decoder; the
 * one command sent (START) reaches mgmt_be_state() and mgmt_be_lifecycle().
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "mgmt_cmd.h"

static void fit(const char *in, char out[64])
{
	memset(out, 0x55, 64);
	mgmt_msg_fit(in, out, 64);
	cr_assert_not_null(memchr(out, 0, 64), "not terminated");
	cr_assert_leq(strlen(out), 63);
}

static int ends_with_dots(const char *s)
{
	size_t n = strlen(s);
	return n >= 3 && strcmp(s + n - 3, "...") == 0;
}

Test(hvcore_msgfit, a_message_that_fits_is_kept_as_it_is)
{
	char out[64];
	fit("", out);
	cr_assert_str_eq(out, "");
	const char *m63 = "VMCFG-041: 1234567890123456789012345678901234567890123456789012";
	cr_assert_eq(strlen(m63), 63);
	fit(m63, out);
	cr_assert_str_eq(out, m63);
}

Test(hvcore_msgfit, a_long_message_starts_with_its_clause_id_and_ends_with_dots)
{
	char out[64];
	fit("VMCFG-041: vm 'a-vm-name-of-thirty-one-chars-x': memory region 1 overlaps region 0",
	    out);
	cr_assert_eq(strncmp(out, "VMCFG-041: vm 'a-vm-name", 24), 0, "'%s'", out);
	cr_assert(ends_with_dots(out), "'%s'", out);
}

Test(hvcore_msgfit, an_id_at_the_end_moves_to_the_front_without_its_parentheses)
{
	char out[64];
	fit("'a-vm-name-of-thirty-one-chars-x': no room for the device tree at IPA 0x4fff0000 (VMCFG-053)",
	    out);
	cr_assert_eq(strncmp(out, "VMCFG-053: 'a-vm-name", 21), 0, "'%s'", out);
	cr_assert(ends_with_dots(out), "'%s'", out);
	cr_assert_eq(strstr(out + 1, "VMCFG-"), NULL, "the id appears once: '%s'", out);
	fit("SHUTDOWN: timeout 700000 ms for vm 'a-vm-name-of-thirty-one-chars-x' is too long (MGMT-046)",
	    out);
	cr_assert_eq(strncmp(out, "MGMT-046: SHUTDOWN", 18), 0, "'%s'", out);
}

Test(hvcore_msgfit, a_long_message_without_an_id_is_only_cut)
{
	char out[64];
	char in[200];
	memset(in, 'x', sizeof(in) - 1);
	in[sizeof(in) - 1] = 0;
	fit(in, out);
	cr_assert_eq(strlen(out), 63);
	cr_assert(ends_with_dots(out));
	cr_assert_eq(strspn(out, "x"), 60);
}

Test(hvcore_msgfit, the_cut_never_splits_a_utf8_character)
{
	/* "ä" is 2 bytes: placed so that byte 60 of the text would split it */
	char in[200] = "VMCFG-002: ";
	size_t n = strlen(in);
	while (n < 59)
		in[n++] = 'a';
	strcpy(in + n, "\xc3\xa4\xc3\xa4\xc3\xa4 and more text after it to make it long");
	char out[64];
	fit(in, out);
	cr_assert(ends_with_dots(out), "'%s'", out);
	size_t len = strlen(out) - 3;
	/* the last byte before "..." is ASCII or completes a 2-byte sequence */
	unsigned char last = (unsigned char)out[len - 1];
	cr_assert(last < 0x80 ||
			  ((last & 0xC0) == 0x80 && ((unsigned char)out[len - 2] & 0xE0) == 0xC0),
		  "cut inside a character: 0x%02x", last);
}

/* ---- the decoder applies the fit to every reply ---- */

static const char long_msg[] = "'a-vm-name-of-thirty-one-chars-x': image SHA-256 differs from the "
			       "configuration (MGMT-048)";

int mgmt_be_state(uint32_t id)
{
	return id == 3 ? HVM_VM_SHUTOFF : -1;
}
uint64_t mgmt_be_defined_mask(void)
{
	return 1u << 3;
}
uint32_t mgmt_be_vm_count(void)
{
	return 1;
}
uint64_t mgmt_be_uptime_ns(void)
{
	return 1;
}
void mgmt_be_heap_pages(uint64_t *f, uint64_t *t)
{
	*f = *t = 0;
}
uint64_t mgmt_be_staging_size(void)
{
	return 0;
}
void mgmt_be_selftest(uint64_t *f, uint64_t *r)
{
	*f = *r = 0;
}
enum hvm_status mgmt_be_define(const uint8_t *b, size_t l, uint32_t *id, char *msg, unsigned ml)
{
	return HVM_E_INTERNAL;
}
enum hvm_status mgmt_be_lifecycle(uint32_t cmd, uint32_t id, const uint64_t *arg, char *msg,
				  unsigned ml)
{
	snprintf(msg, ml, "%s", long_msg);
	return HVM_E_HASH;
}
enum hvm_status mgmt_be_load_image(uint32_t id, uint64_t o, uint64_t l, uint32_t i, char *msg,
				   unsigned ml)
{
	return HVM_E_INTERNAL;
}
void mgmt_be_stats(uint32_t id, struct hvm_stats *s)
{
}
void mgmt_be_fault(uint32_t id, struct hvm_fault *f)
{
}
void mgmt_be_virtio(uint32_t id, struct hvm_virtio *v)
{
}
void mgmt_be_fault_history(uint32_t id, uint64_t after, struct hvm_fault_history *h)
{
}
enum hvm_status mgmt_be_console(uint32_t id, uint64_t from, volatile uint8_t *dst, uint64_t max,
				uint64_t *count, uint64_t *next, uint64_t *lost, char *msg,
				unsigned ml)
{
	return HVM_E_INTERNAL;
}

uint64_t mgmt_be_console_input(uint32_t id, const uint8_t *p, uint32_t n, uint64_t *free_after)
{
	*free_after = 0;
	return 0;
}

enum hvm_status mgmt_be_policy_gate(uint32_t cmd, uint32_t id, int dry_run, uint64_t *cell,
				    uint64_t *vs, char *msg, unsigned ml)
{
	*cell = *vs = 0;
	return HVM_OK;
}
void mgmt_be_vehicle(uint64_t *ret)
{
}
enum hvm_status mgmt_be_set_vehicle(uint64_t vs, char *msg, unsigned ml)
{
	return HVM_E_INTERNAL;
}
void mgmt_be_policy(struct hvm_policy *out)
{
}
enum hvm_status mgmt_be_audit_seq(int set, uint64_t seq, uint64_t *ret, char *msg, unsigned ml)
{
	return HVM_E_INTERNAL;
}
enum hvm_status mgmt_be_ota_install(uint32_t id, uint64_t off, uint64_t len, uint32_t kind,
				    const struct hvm_ota_image *img, const uint8_t *m, size_t ml_,
				    const uint8_t *s, size_t sl, char *msg, unsigned ml)
{
	return HVM_E_INTERNAL;
}
enum hvm_status mgmt_be_ota_switch(uint32_t id, uint64_t w, uint64_t t, char *msg, unsigned ml)
{
	return HVM_E_INTERNAL;
}
void mgmt_be_ota_status(uint32_t id, struct hvm_ota_status *out)
{
}

Test(hvcore_msgfit, the_decoder_fits_the_back_ends_long_refusal)
{
	struct mgmt_cmd c = { .cmd = HVM_CMD_START, .vm_id = 3 };
	struct mgmt_reply r;
	static volatile uint8_t data[16];
	mgmt_cmd_execute(&c, &r, data);
	cr_assert_eq(r.status, HVM_E_HASH);
	cr_assert_eq(strncmp(r.msg, "MGMT-048: 'a-vm-name", 20), 0, "'%s'", r.msg);
	cr_assert(ends_with_dots(r.msg), "'%s'", r.msg);
	cr_assert_leq(strlen(r.msg), 63);
}
