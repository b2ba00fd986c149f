/* The VM rows store_vm_get / store_vm_list answer from memory (docs/store.md,
 * "Threading rule"): every write path, on the same handle or on another handle in
 * the process, is visible to the very next read, failed writes change nothing, and
 * a write that returned is seen by readers on other threads at once. GetVm and
 * ListVms rely on this for autostart, desired state and config_revision. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "store_testlib.h"

TestSuite(store_vmcache, .init = t_setup, .fini = t_teardown, .timeout = 120);

#define UUID1 "00000000-0000-4000-8000-0000000000c1"
#define UUID2 "00000000-0000-4000-8000-0000000000c2"

/* name's row as store_vm_get and store_vm_list on st report it; both must agree. */
static struct store_vm seen(struct store *st, const char *name)
{
	struct store_err e;
	struct store_vm v, *list;
	size_t n;
	cr_assert_eq(store_vm_get(st, name, &v, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(store_vm_list(st, &list, &n, &e), STORE_OK, "%s", e.msg);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i].name, name)) {
			found = true;
			cr_assert_eq(memcmp(&list[i], &v, sizeof v), 0,
				     "get and list disagree on %s", name);
		}
	store_vm_list_free(list);
	cr_assert(found, "%s missing from the list", name);
	return v;
}

static void absent(struct store *st, const char *name)
{
	struct store_err e;
	struct store_vm v, *list;
	size_t n;
	t_expect(store_vm_get(st, name, &v, &e), &e, STORE_ENOTFOUND, name);
	cr_assert_eq(store_vm_list(st, &list, &n, &e), STORE_OK, "%s", e.msg);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_neq(list[i].name, name);
	store_vm_list_free(list);
}

Test(store_vmcache, every_write_path_is_seen_at_once_on_every_handle)
{
	struct store *a = t_open(), *b = t_open();
	struct store_err e;
	struct store *both[] = { a, b };
	uint32_t rev;
	uint8_t *v1 = t_fdt(128, 1), *v2 = t_fdt(256, 2);

	absent(a, "web");
	absent(b, "web"); /* both caches now filled */
	cr_assert_eq(store_vm_create(a, "web", UUID1, &e), STORE_OK, "%s", e.msg);
	for (int i = 0; i < 2; i++) {
		struct store_vm v = seen(both[i], "web");
		cr_assert_str_eq(v.uuid, UUID1);
		cr_assert_eq(v.latest_rev, 0);
		cr_assert_eq(v.desired, STORE_VM_STOPPED);
		cr_assert(!v.autostart);
	}
	cr_assert_eq(store_config_add(b, "web", v1, 128, "t", &rev, &e), STORE_OK, "%s", e.msg);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(seen(both[i], "web").latest_rev, 1);
	cr_assert_eq(store_config_add(a, "web", v2, 256, "t", &rev, &e), STORE_OK, "%s", e.msg);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(seen(both[i], "web").latest_rev, 2);
	cr_assert_eq(store_vm_set_desired(b, "web", STORE_VM_RUNNING, &e), STORE_OK, "%s", e.msg);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(seen(both[i], "web").desired, STORE_VM_RUNNING);
	cr_assert_eq(store_vm_set_autostart(a, "web", true, &e), STORE_OK, "%s", e.msg);
	for (int i = 0; i < 2; i++)
		cr_assert(seen(both[i], "web").autostart);
	cr_assert_eq(store_config_rollback(b, "web", 1, "t", &rev, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(rev, 3);
	for (int i = 0; i < 2; i++) {
		struct store_vm v = seen(both[i], "web");
		cr_assert_eq(v.latest_rev, 3);
		cr_assert(v.autostart);
		cr_assert_eq(v.desired, STORE_VM_RUNNING);
	}
	cr_assert_eq(store_vm_set_autostart(b, "web", false, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(store_vm_set_desired(a, "web", STORE_VM_PAUSED, &e), STORE_OK, "%s", e.msg);
	for (int i = 0; i < 2; i++) {
		struct store_vm v = seen(both[i], "web");
		cr_assert(!v.autostart);
		cr_assert_eq(v.desired, STORE_VM_PAUSED);
	}
	cr_assert_eq(store_vm_delete(b, "web", &e), STORE_OK, "%s", e.msg);
	absent(a, "web");
	absent(b, "web");
	/* Same name, new uuid: no row of the deleted VM survives in either cache. */
	cr_assert_eq(store_vm_create(b, "web", UUID2, &e), STORE_OK, "%s", e.msg);
	for (int i = 0; i < 2; i++) {
		struct store_vm v = seen(both[i], "web");
		cr_assert_str_eq(v.uuid, UUID2);
		cr_assert_eq(v.latest_rev, 0);
		cr_assert(!v.autostart);
	}
	free(v1);
	free(v2);
	store_close(a);
	store_close(b);
}

Test(store_vmcache, failed_writes_change_nothing_that_reads_see)
{
	struct store *st = t_open();
	struct store_err e;
	uint32_t rev;
	uint8_t *v1 = t_fdt(128, 1);
	cr_assert_eq(store_vm_create(st, "web", UUID1, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(store_config_add(st, "web", v1, 128, "t", &rev, &e), STORE_OK, "%s", e.msg);
	struct store_vm before = seen(st, "web");

	t_expect(store_vm_create(st, "web", UUID2, &e), &e, STORE_EEXIST, "already exists");
	t_expect(store_config_rollback(st, "web", 9, "t", &rev, &e), &e, STORE_ENOTFOUND, "9");
	t_expect(store_vm_set_desired(st, "nope", STORE_VM_RUNNING, &e), &e, STORE_ENOTFOUND, "nope");
	t_expect(store_config_add(st, "web", "garbage", 7, "t", &rev, &e), &e, STORE_EINVAL, "");
	struct store_vm after = seen(st, "web");
	cr_assert_eq(memcmp(&before, &after, sizeof before), 0);
	absent(st, "nope");
	free(v1);
	store_close(st);
}

/* Writers on one handle, each checking on a second handle (shared by all) that
 * its own write is visible the moment the call returned, while other threads
 * keep that handle's cache busy. */
#define WRITERS 3
#define ROUNDS 25

struct worker {
	struct store *w, *r;
	char name[16];
	bool failed;
	char why[400];
};

static void *writer_main(void *arg)
{
	struct worker *k = arg;
	struct store_err e;
	uint8_t *blob = t_fdt(128, 7);
	for (int i = 0; i < ROUNDS && !k->failed; i++) {
		uint32_t rev = 0;
		struct store_vm v;
		bool on = i % 2 == 0;
		if (store_config_add(k->w, k->name, blob, 128, "t", &rev, &e) ||
		    store_vm_set_autostart(k->w, k->name, on, &e) ||
		    store_vm_get(k->r, k->name, &v, &e)) {
			k->failed = true;
			snprintf(k->why, sizeof k->why, "%s round %d: %s", k->name, i, e.msg);
		} else if (v.latest_rev != rev || v.autostart != on) {
			k->failed = true;
			snprintf(k->why, sizeof k->why,
				 "%s round %d: read rev %u autostart %d, wrote rev %u "
				 "autostart %d",
				 k->name, i, v.latest_rev, v.autostart, rev, on);
		}
	}
	free(blob);
	return NULL;
}

Test(store_vmcache, a_returned_write_is_seen_by_other_threads_and_handles)
{
	struct store *w = t_open(), *r = t_open();
	struct worker k[WRITERS];
	pthread_t th[WRITERS];
	for (int i = 0; i < WRITERS; i++) {
		memset(&k[i], 0, sizeof k[i]);
		k[i].w = w;
		k[i].r = r;
		snprintf(k[i].name, sizeof k[i].name, "vm%d", i);
		t_vm(w, k[i].name, NULL);
	}
	for (int i = 0; i < WRITERS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, writer_main, &k[i]), 0);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < WRITERS; i++) {
		cr_expect(!k[i].failed, "%s", k[i].why);
		struct store_vm v = seen(r, k[i].name);
		cr_expect_eq(v.latest_rev, ROUNDS);
	}
	store_close(w);
	store_close(r);
}
