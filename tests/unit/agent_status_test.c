/*
 * agent_status_test.c - the mapping from hv-core's status codes (MGMT-030) to
 * RPC status codes (docs/api.md, "hv-core's refusals"), the messages built
 * from a refusal, and the uuid text form both hv-agent and hvctl use.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "agent.h"
#include "uuid.h"

Test(agent_status, every_hypervisor_status_has_the_documented_code)
{
	static const struct {
		uint32_t hvm;
		enum hv_code code;
	} table[] = {
		{ HVM_OK, HV_OK },
		{ HVM_E_UNKNOWN_CMD, HV_UNIMPLEMENTED },
		{ HVM_E_BAD_VM, HV_NOT_FOUND },
		{ HVM_E_STATE, HV_FAILED_PRECONDITION },
		{ HVM_E_BAD_CONFIG, HV_INVALID_ARGUMENT },
		{ HVM_E_OVERLAP, HV_FAILED_PRECONDITION },
		{ HVM_E_CPU, HV_RESOURCE_EXHAUSTED },
		{ HVM_E_CHANNEL, HV_INVALID_ARGUMENT },
		{ HVM_E_FDT, HV_INVALID_ARGUMENT },
		{ HVM_E_BAD_ARG, HV_INVALID_ARGUMENT },
		{ HVM_E_NO_SPACE, HV_RESOURCE_EXHAUSTED },
		{ HVM_E_HASH, HV_DATA_LOSS },
		{ HVM_E_EXISTS, HV_ALREADY_EXISTS },
		{ HVM_E_SELFTEST, HV_FAILED_PRECONDITION },
		{ HVM_E_INTERNAL, HV_INTERNAL },
		{ HVM_E_POLICY, HV_FAILED_PRECONDITION },
		{ HVM_E_ROLLBACK, HV_FAILED_PRECONDITION },
		{ HVM_E_NV, HV_FAILED_PRECONDITION },
		{ HVM_E_SIGNATURE, HV_INVALID_ARGUMENT },
		{ HVM_E_MIXED, HV_FAILED_PRECONDITION },
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		cr_expect_eq(status_from_hvm(table[i].hvm), table[i].code, "hvm status %u",
			     table[i].hvm);
	cr_expect_eq(status_from_hvm(200), HV_UNKNOWN);
	cr_expect_eq(status_from_hvm(0xffffffffu), HV_UNKNOWN);
}

Test(agent_status, refusal_message_names_command_status_and_reason)
{
	struct hvlink_reply rep = { .status = HVM_E_STATE };
	struct hv_status st;

	strcpy(rep.msg, "VM is already running");
	cr_assert_eq(status_from_reply(&st, "start 'linux'", HVM_CMD_START, &rep), -1);
	cr_assert_eq(st.code, HV_FAILED_PRECONDITION);
	cr_assert_str_eq(st.msg,
			 "start 'linux': hv-core refused START (E_STATE): VM is already running");

	/* No ret_msg: the documented meaning stands in. */
	rep.status = HVM_E_NO_SPACE;
	rep.msg[0] = '\0';
	status_from_reply(&st, "define", HVM_CMD_DEFINE, &rep);
	cr_assert_eq(st.code, HV_RESOURCE_EXHAUSTED);
	cr_assert_str_eq(st.msg, "define: hv-core refused DEFINE (E_NO_SPACE): the VM table is full");

	rep.status = 77;
	status_from_reply(&st, "x", 99, &rep);
	cr_assert_eq(st.code, HV_UNKNOWN);
	cr_assert_not_null(strstr(st.msg, "command 99"), "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, "status 77"), "%s", st.msg);
}

Test(agent_status, uuid_round_trip_and_rejects)
{
	uint8_t u[16], v[16];
	char s[HV_UUID_STR_LEN];

	for (int i = 0; i < 16; i++)
		u[i] = (uint8_t)(i * 17);
	hv_uuid_format(u, s);
	cr_assert_str_eq(s, "00112233-4455-6677-8899-aabbccddeeff");
	cr_assert_eq(hv_uuid_parse("00112233-4455-6677-8899-AABBCCDDEEFF", v), 0);
	cr_assert_arr_eq(u, v, 16);
	cr_assert_eq(hv_uuid_parse("00112233-4455-6677-8899-aabbccddeef", v), -1);
	cr_assert_eq(hv_uuid_parse("00112233x4455-6677-8899-aabbccddeeff", v), -1);
	cr_assert_eq(hv_uuid_parse("0011223g-4455-6677-8899-aabbccddeeff", v), -1);
	cr_assert_eq(hv_uuid_parse("", v), -1);
}

Test(agent_status, code_names)
{
	cr_assert_str_eq(hv_code_name(HV_NOT_FOUND), "NOT_FOUND");
	cr_assert_str_eq(hv_code_name(HV_UNAUTHENTICATED), "UNAUTHENTICATED");
	cr_assert_str_eq(hv_code_name(99), "CODE_99");
	cr_assert_str_eq(hv_code_name(-1), "CODE_-1");
}
