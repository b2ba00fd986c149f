/* VM records: create, get, list, delete, desired state and autostart, and every way a
 * caller can get them wrong (duplicate name or uuid, unknown VM, invalid arguments). */
#include <string.h>

#include <criterion/criterion.h>

#include "store_testlib.h"

TestSuite(store_vm, .init = t_setup, .fini = t_teardown);

#define UUID1 "00000000-0000-4000-8000-000000000001"
#define UUID2 "00000000-0000-4000-8000-000000000002"

Test(store_vm, create_get_list_delete)
{
	struct store *st = t_open();
	struct store_err e;
	cr_assert_eq(store_vm_create(st, "linux", UUID1, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(store_vm_create(st, "rtos-0", UUID2, &e), STORE_OK, "%s", e.msg);

	struct store_vm v;
	cr_assert_eq(store_vm_get(st, "linux", &v, &e), STORE_OK, "%s", e.msg);
	cr_assert_str_eq(v.name, "linux");
	cr_assert_str_eq(v.uuid, UUID1);
	cr_assert_eq(v.desired, STORE_VM_STOPPED);
	cr_assert_eq(v.autostart, false);
	cr_assert_eq(v.latest_rev, 0);
	cr_assert_gt(v.created_ms, 0);

	struct store_vm *list;
	size_t n;
	cr_assert_eq(store_vm_list(st, &list, &n, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(list[0].name, "linux");
	cr_assert_str_eq(list[1].name, "rtos-0");
	store_vm_list_free(list);

	cr_assert_eq(store_vm_delete(st, "linux", &e), STORE_OK, "%s", e.msg);
	t_expect(store_vm_get(st, "linux", &v, &e), &e, STORE_ENOTFOUND, "no VM named \"linux\"");
	/* The name and uuid are free again. */
	cr_assert_eq(store_vm_create(st, "linux", UUID1, &e), STORE_OK, "%s", e.msg);
	store_close(st);
}

Test(store_vm, empty_list)
{
	struct store *st = t_open();
	struct store_err e;
	struct store_vm *list = (struct store_vm *)1;
	size_t n = 7;
	cr_assert_eq(store_vm_list(st, &list, &n, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(n, 0);
	cr_assert_null(list);
	store_close(st);
}

Test(store_vm, duplicate_name_and_uuid)
{
	struct store *st = t_open();
	struct store_err e;
	cr_assert_eq(store_vm_create(st, "linux", UUID1, &e), STORE_OK, "%s", e.msg);
	t_expect(store_vm_create(st, "linux", UUID2, &e), &e, STORE_EEXIST,
		 "a VM named \"linux\" already exists");
	t_expect(store_vm_create(st, "other", UUID1, &e), &e, STORE_EEXIST,
		 "uuid " UUID1 " already belongs to VM \"linux\"");
	struct store_vm *list;
	size_t n;
	cr_assert_eq(store_vm_list(st, &list, &n, &e), STORE_OK);
	cr_assert_eq(n, 1, "a failed create changed the database");
	store_vm_list_free(list);
	store_close(st);
}

Test(store_vm, unknown_vm)
{
	struct store *st = t_open();
	struct store_err e;
	struct store_vm v;
	t_expect(store_vm_get(st, "ghost", &v, &e), &e, STORE_ENOTFOUND, "ghost");
	t_expect(store_vm_delete(st, "ghost", &e), &e, STORE_ENOTFOUND, "ghost");
	t_expect(store_vm_set_desired(st, "ghost", STORE_VM_RUNNING, &e), &e, STORE_ENOTFOUND,
		 "ghost");
	t_expect(store_vm_set_autostart(st, "ghost", true, &e), &e, STORE_ENOTFOUND, "ghost");
	store_close(st);
}

Test(store_vm, invalid_names)
{
	struct store *st = t_open();
	struct store_err e;
	char longname[STORE_NAME_MAX + 2];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	t_expect(store_vm_create(st, NULL, UUID1, &e), &e, STORE_EINVAL, "VM name is NULL");
	t_expect(store_vm_create(st, "", UUID1, &e), &e, STORE_EINVAL, "VM name is empty");
	t_expect(store_vm_create(st, longname, UUID1, &e), &e, STORE_EINVAL, "longer than 63");
	t_expect(store_vm_create(st, "a b", UUID1, &e), &e, STORE_EINVAL, "character ' '");
	t_expect(store_vm_create(st, "-lead", UUID1, &e), &e, STORE_EINVAL, "character '-'");
	t_expect(store_vm_create(st, "x/../y", UUID1, &e), &e, STORE_EINVAL, "character '/'");
	t_expect(store_vm_create(st, "caf\xc3\xa9", UUID1, &e), &e, STORE_EINVAL, "character");
	/* The longest allowed name works. */
	longname[STORE_NAME_MAX] = '\0';
	cr_assert_eq(store_vm_create(st, longname, UUID1, &e), STORE_OK, "%s", e.msg);
	store_close(st);
}

Test(store_vm, invalid_uuids)
{
	struct store *st = t_open();
	struct store_err e;
	t_expect(store_vm_create(st, "a", NULL, &e), &e, STORE_EINVAL, "VM uuid is NULL");
	t_expect(store_vm_create(st, "a", "", &e), &e, STORE_EINVAL, "VM uuid is empty");
	t_expect(store_vm_create(st, "a", "1234", &e), &e, STORE_EINVAL, "not 36 characters");
	t_expect(store_vm_create(st, "a", "00000000-0000-4000-8000-00000000000G", &e), &e,
		 STORE_EINVAL, "not canonical");
	t_expect(store_vm_create(st, "a", "00000000-0000-4000-8000-00000000000A", &e), &e,
		 STORE_EINVAL, "lower-case");
	t_expect(store_vm_create(st, "a", "00000000000004000-8000-000000000001", &e), &e,
		 STORE_EINVAL, "not 36");
	t_expect(store_vm_create(st, "a", "000000000-000-4000-8000-000000000001", &e), &e,
		 STORE_EINVAL, "position 8");
	t_expect(store_vm_create(st, "a", UUID1 "0", &e), &e, STORE_EINVAL, "longer than 36");
	store_close(st);
}

Test(store_vm, null_handles_and_outputs)
{
	struct store *st = t_open();
	struct store_err e;
	struct store_vm v, *list;
	size_t n;
	t_expect(store_vm_create(NULL, "a", UUID1, &e), &e, STORE_EINVAL, "NULL");
	t_expect(store_vm_delete(NULL, "a", &e), &e, STORE_EINVAL, "NULL");
	t_expect(store_vm_get(NULL, "a", &v, &e), &e, STORE_EINVAL, "store handle");
	t_expect(store_vm_get(st, "a", NULL, &e), &e, STORE_EINVAL, "output pointer");
	t_expect(store_vm_list(st, NULL, &n, &e), &e, STORE_EINVAL, "output pointer");
	t_expect(store_vm_list(st, &list, NULL, &e), &e, STORE_EINVAL, "output pointer");
	t_expect(store_vm_list(NULL, &list, &n, &e), &e, STORE_EINVAL, "store handle");
	t_expect(store_vm_set_desired(NULL, "a", STORE_VM_RUNNING, &e), &e, STORE_EINVAL, "NULL");
	t_expect(store_vm_set_autostart(NULL, "a", true, &e), &e, STORE_EINVAL, "NULL");
	t_expect(store_vm_delete(st, NULL, &e), &e, STORE_EINVAL, "VM name is NULL");
	t_expect(store_uuid_generate(NULL, &e), &e, STORE_EINVAL, "NULL");
	store_close(st);
}

Test(store_vm, desired_state_and_autostart_persist)
{
	struct store *st = t_open();
	struct store_err e;
	t_vm(st, "linux", NULL);
	cr_assert_eq(store_vm_set_desired(st, "linux", STORE_VM_PAUSED, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(store_vm_set_autostart(st, "linux", true, &e), STORE_OK, "%s", e.msg);
	t_expect(store_vm_set_desired(st, "linux", (enum store_vm_state)3, &e), &e, STORE_EINVAL,
		 "desired state 3");
	t_expect(store_vm_set_desired(st, "linux", (enum store_vm_state) - 1, &e), &e, STORE_EINVAL,
		 "desired state -1");
	store_close(st);

	st = t_open();
	struct store_vm v;
	cr_assert_eq(store_vm_get(st, "linux", &v, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(v.desired, STORE_VM_PAUSED);
	cr_assert(v.autostart);
	cr_assert_eq(store_vm_set_desired(st, "linux", STORE_VM_RUNNING, &e), STORE_OK);
	cr_assert_eq(store_vm_set_autostart(st, "linux", false, &e), STORE_OK);
	cr_assert_eq(store_vm_get(st, "linux", &v, &e), STORE_OK);
	cr_assert_eq(v.desired, STORE_VM_RUNNING);
	cr_assert(!v.autostart);
	cr_assert_str_eq(store_vm_state_name(STORE_VM_RUNNING), "running");
	cr_assert_str_eq(store_vm_state_name((enum store_vm_state)9), "invalid");
	store_close(st);
}

Test(store_vm, uuid_generate_is_canonical_v4)
{
	char a[STORE_UUID_LEN + 1], b[STORE_UUID_LEN + 1];
	struct store_err e;
	cr_assert_eq(store_uuid_generate(a, &e), STORE_OK);
	cr_assert_eq(store_uuid_generate(b, &e), STORE_OK);
	cr_assert_eq(strlen(a), STORE_UUID_LEN);
	cr_assert_eq(a[14], '4');
	cr_assert(strchr("89ab", a[19]));
	cr_assert_str_neq(a, b);
	/* Acceptable to store_vm_create. */
	struct store *st = t_open();
	cr_assert_eq(store_vm_create(st, "x", a, &e), STORE_OK, "%s", e.msg);
	store_close(st);
}
