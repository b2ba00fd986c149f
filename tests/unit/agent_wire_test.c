/*
 * agent_wire_test.c - rpc_wire_check_strings: the check of a request's
 * string fields before protobuf-c decodes it (agent/rpc/rpc_wire.c). A NUL
 * byte would cut a VM name short, invalid UTF-8 is not a proto3 string.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "hvmgr/v1/hvmgr.pb-c.h"
#include "rpc_priv.h"

/* A GetVmRequest{vm{name}} encoded by hand: field 1 (message) holding
 * field 1 (string) of `n` bytes. */
static size_t encode_name(uint8_t *buf, const char *name, size_t n)
{
	buf[0] = 0x0a;
	buf[1] = (uint8_t)(n + 2);
	buf[2] = 0x0a;
	buf[3] = (uint8_t)n;
	memcpy(buf + 4, name, n);
	return n + 4;
}

static int check(const uint8_t *buf, size_t len, char *bad, size_t bad_len)
{
	return rpc_wire_check_strings(&hvmgr__v1__get_vm_request__descriptor, buf, len, bad, bad_len);
}

Test(agent_wire, plain_name_passes_and_decodes)
{
	uint8_t buf[64];
	char bad[128] = "";
	size_t len = encode_name(buf, "web", 3);

	cr_assert_eq(check(buf, len, bad, sizeof bad), 0, "%s", bad);
	Hvmgr__V1__GetVmRequest *r = hvmgr__v1__get_vm_request__unpack(NULL, len, buf);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->vm->name, "web");
	hvmgr__v1__get_vm_request__free_unpacked(r, NULL);
}

Test(agent_wire, nul_in_a_nested_name_is_refused_naming_the_field)
{
	uint8_t buf[64];
	char bad[128] = "";
	size_t len = encode_name(buf, "web\0x", 5);

	cr_assert_eq(check(buf, len, bad, sizeof bad), -1);
	cr_assert_str_eq(bad, "field VmSelector.name holds a NUL byte");
	/* What the check prevents: the decoder alone yields "web". */
	Hvmgr__V1__GetVmRequest *r = hvmgr__v1__get_vm_request__unpack(NULL, len, buf);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->vm->name, "web");
	hvmgr__v1__get_vm_request__free_unpacked(r, NULL);
}

Test(agent_wire, invalid_utf8_is_refused)
{
	static const char *const bad_seqs[] = { "\xff", "\xc0\x80", "\xed\xa0\x80", "a\xe2\x82",
						"\xf4\x90\x80\x80" };
	uint8_t buf[64];
	char bad[128];

	for (size_t i = 0; i < sizeof bad_seqs / sizeof bad_seqs[0]; i++) {
		size_t len = encode_name(buf, bad_seqs[i], strlen(bad_seqs[i]));
		bad[0] = 0;
		cr_assert_eq(check(buf, len, bad, sizeof bad), -1, "sequence %zu passed", i);
		cr_assert_str_eq(bad, "field VmSelector.name is not valid UTF-8");
	}
	size_t len = encode_name(buf, "v\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10);
	cr_assert_eq(check(buf, len, bad, sizeof bad), 0, "%s", bad);
}

Test(agent_wire, malformed_encodings_are_left_to_the_decoder)
{
	/* Truncated length, a length past the end, an unterminated varint,
	 * group wire types: the check passes them, protobuf-c refuses them. */
	static const uint8_t cases[][6] = {
		{ 0x0a, 0x05, 0x0a }, { 0x0a, 0x7f }, { 0x08, 0xff, 0xff }, { 0x0b }
	};
	static const size_t lens[] = { 3, 2, 3, 1 };
	char bad[128];

	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(check(cases[i], lens[i], bad, sizeof bad), 0, "case %zu", i);
		cr_assert_null(hvmgr__v1__get_vm_request__unpack(NULL, lens[i], cases[i]),
			       "case %zu decoded", i);
	}
}
