/*
 * agent_adopt_test.c - reconciliation adopts the VMs hv-core defined from its
 * boot configuration (agent/reconcile/bootconf.h, docs/reconcile.md
 * "Adoption"): a VM of the boot configuration that hv-core has and the store
 * lacks is stored as revision 1, origin "boot configuration", audited; a
 * second start adds no revision; a VM whose uuid differs from the boot
 * configuration's is not adopted. hv-core is the fake management region
 * (tests/double/hvcore_double: runs against the test double of hv-core); the store is a real sqlite file.
 */
#include <criterion/criterion.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootconf.h"
#include "hvlink.h"
#include "hvcore_double.h"
#include "opqueue.h"
#include "reconcile.h"
#include "store.h"

#define DEMO_UUID "5d1e7a00-2b4c-4d6e-9f10-213243546501"
static const uint8_t demo_uuid[16] = { 0x5d, 0x1e, 0x7a, 0x00, 0x2b, 0x4c, 0x4d, 0x6e,
				       0x9f, 0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x01 };

static char dir[64], ram[128], db[128];
static struct fakecore *fc;
static struct hvlink *lnk;
static struct store *sto;
static struct hv_opqueue q;
static struct bootconf *boot;
static uint8_t sysblob[4096];

/* A system configuration: /vms/rtos-demo (with uuid, autostart) and
 * /vms/other (no uuid). */
static void build_system(void *buf, int size, const char *root_compat, const char *vm_compat)
{
	cr_assert_eq(fdt_create(buf, size), 0);
	cr_assert_eq(fdt_finish_reservemap(buf), 0);
	cr_assert_eq(fdt_begin_node(buf, ""), 0);
	cr_assert_eq(fdt_property_string(buf, "compatible", root_compat), 0);
	cr_assert_eq(fdt_begin_node(buf, "vms"), 0);
	cr_assert_eq(fdt_begin_node(buf, "rtos-demo"), 0);
	cr_assert_eq(fdt_property_string(buf, "compatible", vm_compat), 0);
	cr_assert_eq(fdt_property_string(buf, "vm-name", "rtos-demo"), 0);
	cr_assert_eq(fdt_property_string(buf, "uuid", DEMO_UUID), 0);
	cr_assert_eq(fdt_property_u32(buf, "vcpus", 1), 0);
	cr_assert_eq(fdt_property(buf, "autostart", NULL, 0), 0);
	cr_assert_eq(fdt_begin_node(buf, "boot"), 0);
	cr_assert_eq(fdt_property_u64(buf, "load-address", 0x40000000), 0);
	cr_assert_eq(fdt_end_node(buf), 0);
	cr_assert_eq(fdt_begin_node(buf, "vuart"), 0);
	cr_assert_eq(fdt_property_string(buf, "compatible", "avirt,vuart-v1"), 0);
	cr_assert_eq(fdt_end_node(buf), 0);
	cr_assert_eq(fdt_end_node(buf), 0);
	cr_assert_eq(fdt_begin_node(buf, "other"), 0);
	cr_assert_eq(fdt_property_string(buf, "compatible", "avirt,vm-config-v1"), 0);
	cr_assert_eq(fdt_property_string(buf, "vm-name", "other"), 0);
	cr_assert_eq(fdt_end_node(buf), 0);
	cr_assert_eq(fdt_end_node(buf), 0);
	cr_assert_eq(fdt_end_node(buf), 0);
	cr_assert_eq(fdt_finish(buf), 0);
}

static void setup(void)
{
	struct hvlink_config cfg = { .ram_base = FAKECORE_RAM_BASE, .mgmt_base = HVM_DEFAULT_BASE };
	struct hv_status st;
	struct store_err e;

	snprintf(dir, sizeof dir, "/tmp/agent-adopt-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(ram, sizeof ram, "%s/guest-ram", dir);
	snprintf(db, sizeof db, "%s/hv-agent.db", dir);
	fc = fakecore_create(ram, FAKECORE_RAM_BASE, HVM_DEFAULT_BASE);
	cr_assert_not_null(fc);
	cr_assert_eq(fakecore_start(fc), 0);
	cfg.ram_file = ram;
	cr_assert_eq(hvlink_open(&lnk, &cfg, &st), 0, "%s", st.msg);
	cr_assert_eq(store_open(db, &sto, &e), STORE_OK, "%s", e.msg);
	hv_opqueue_init(&q, 2);
	build_system(sysblob, sizeof sysblob, "avirt,system-config-v1", "avirt,vm-config-v1");
	cr_assert_eq(bootconf_parse(sysblob, fdt_totalsize(sysblob), "bootcfg.dtb", &boot, &st), 0,
		     "%s", st.msg);
}

static void teardown(void)
{
	bootconf_free(boot);
	hv_opqueue_destroy(&q);
	store_close(sto);
	hvlink_close(lnk);
	fakecore_destroy(fc);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* One hv-agent start: a reconciler, one pass, gone. */
static void start_agent(struct reconcile_stats *stats)
{
	struct reconcile_config rc = { .link = lnk, .store = sto, .ops = &q, .boot = boot };
	struct reconcile *rec = reconcile_new(&rc);
	struct hv_status st;

	cr_assert_not_null(rec);
	cr_assert_eq(reconcile_run(rec, "hv-agent started", &st), 0, "%s", st.msg);
	if (stats)
		reconcile_stats(rec, stats);
	reconcile_free(rec);
}

static void hv_core_has(const char *name, const uint8_t uuid[16], uint32_t state)
{
	struct fakecore_vm v = { .name = name,
				 .state = state,
				 .reason = HVM_R_BOOTED,
				 .vcpus = 1,
				 .pcpu_mask = 2,
				 .mem_bytes = 16u << 20,
				 .criticality = 2,
				 .fault_policy = 1 };
	if (uuid)
		memcpy(v.uuid, uuid, 16);
	fakecore_set_vm(fc, 0, &v);
}

static size_t revisions(const char *name)
{
	struct store_config_rev *h;
	struct store_err e;
	size_t n;

	cr_assert_eq(store_config_history(sto, name, &h, &n, &e), STORE_OK, "%s", e.msg);
	store_config_history_free(h);
	return n;
}

TestSuite(adopt, .init = setup, .fini = teardown, .timeout = 120);

Test(adopt, boot_configuration_is_split_into_single_vm_blobs)
{
	cr_assert_eq(boot->n, 2);
	const struct bootconf_vm *v = bootconf_find(boot, "rtos-demo");
	cr_assert_not_null(v);
	cr_assert_str_eq(v->id.uuid, DEMO_UUID);
	cr_assert(v->autostart);
	cr_assert_eq(fdt_check_header(v->blob), 0);
	cr_assert_eq(fdt_node_check_compatible(v->blob, 0, "avirt,vm-config-v1"), 0,
		     "root is the VM node");
	cr_assert_geq(fdt_path_offset(v->blob, "/boot"), 0);
	cr_assert_geq(fdt_path_offset(v->blob, "/vuart"), 0);
	/* children keep their order: boot before vuart */
	cr_assert_str_eq(fdt_get_name(v->blob, fdt_first_subnode(v->blob, 0), NULL), "boot");
	const struct bootconf_vm *o = bootconf_find(boot, "other");
	cr_assert_not_null(o);
	cr_assert_str_eq(o->id.uuid, "");
	cr_assert_not(o->autostart);
	cr_assert_null(bootconf_find(boot, "linux"));
}

Test(adopt, bad_boot_configurations_are_refused_naming_what_is_wrong)
{
	static uint8_t buf[4096];
	struct bootconf *b = NULL;
	struct hv_status st;

	cr_assert_eq(bootconf_parse("not a device tree at all, no magic", 34, "x.dtb", &b, &st), -1);
	cr_assert_null(b);
	cr_assert_not_null(strstr(st.msg, "x.dtb is not a valid flattened device tree"), "%s",
			   st.msg);

	build_system(buf, sizeof buf, "avirt,vm-config-v1", "avirt,vm-config-v1");
	cr_assert_eq(bootconf_parse(buf, fdt_totalsize(buf), "single.dtb", &b, &st), -1);
	cr_assert_not_null(strstr(st.msg, "not a system configuration"), "%s", st.msg);

	build_system(buf, sizeof buf, "avirt,system-config-v1", "avirt,vuart-v1");
	cr_assert_eq(bootconf_parse(buf, fdt_totalsize(buf), "odd.dtb", &b, &st), -1);
	cr_assert_not_null(strstr(st.msg, "/vms/rtos-demo is not a VM"), "%s", st.msg);
	cr_assert_eq(st.code, HV_INVALID_ARGUMENT);

	char path[128];
	snprintf(path, sizeof path, "%s/missing.dtb", dir);
	cr_assert_eq(bootconf_load(path, &b, &st), -1);
	cr_assert_not_null(strstr(st.msg, "cannot read boot configuration"), "%s", st.msg);
}

Test(adopt, a_vm_of_the_boot_configuration_is_stored_as_revision_1)
{
	struct reconcile_stats stats;
	struct store_config_rev cr;
	struct store_vm v;
	struct store_err e;

	hv_core_has("rtos-demo", demo_uuid, HVM_VM_RUNNING);
	start_agent(&stats);
	cr_assert_eq(stats.n_unmanaged, 0, "adopted, not unmanaged");
	cr_assert_not_null(strstr(stats.last, "1 adopted"), "%s", stats.last);

	cr_assert_eq(store_vm_get(sto, "rtos-demo", &v, &e), STORE_OK, "%s", e.msg);
	cr_assert_str_eq(v.uuid, DEMO_UUID);
	cr_assert_eq(v.latest_rev, 1);
	cr_assert_eq(v.desired, STORE_VM_RUNNING, "what hv-core runs is what is wanted");
	cr_assert(v.autostart);
	cr_assert_eq(store_config_get(sto, "rtos-demo", 1, &cr, &e), STORE_OK, "%s", e.msg);
	cr_assert_str_eq(cr.author, "boot configuration");
	const struct bootconf_vm *bv = bootconf_find(boot, "rtos-demo");
	cr_assert_eq(cr.len, bv->len);
	cr_assert_eq(memcmp(cr.blob, bv->blob, cr.len), 0);
	store_config_rev_free(&cr);

	struct store_audit_entry *rows;
	size_t n, found = 0;
	cr_assert_eq(store_audit_list(sto, 0, 0, &rows, &n, &e), STORE_OK, "%s", e.msg);
	for (size_t i = 0; i < n; i++)
		if (strcmp(rows[i].rpc, "agent.adopt") == 0 &&
		    strstr(rows[i].args, "name=rtos-demo") && strstr(rows[i].outcome, "revision 1"))
			found++;
	store_audit_list_free(rows);
	cr_assert_eq(found, 1, "one audit row for the adoption");
}

Test(adopt, a_second_start_adds_no_revision)
{
	hv_core_has("rtos-demo", demo_uuid, HVM_VM_RUNNING);
	start_agent(NULL);
	cr_assert_eq(revisions("rtos-demo"), 1);
	start_agent(NULL);
	start_agent(NULL);
	cr_assert_eq(revisions("rtos-demo"), 1, "still one revision after more starts");
}

Test(adopt, a_vm_whose_uuid_differs_is_not_adopted)
{
	static const uint8_t other[16] = { 0xaa, 0xbb, 0xcc, 0xdd, 0x2b, 0x4c, 0x4d, 0x6e,
					   0x9f, 0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x01 };
	struct reconcile_stats stats;
	struct store_vm v;
	struct store_err e;

	hv_core_has("rtos-demo", other, HVM_VM_RUNNING);
	start_agent(&stats);
	cr_assert_eq(store_vm_get(sto, "rtos-demo", &v, &e), STORE_ENOTFOUND,
		     "adopted despite another uuid");
	cr_assert_eq(stats.n_unmanaged, 1);
	cr_assert_str_eq(stats.unmanaged[0], "rtos-demo");
	cr_assert_not_null(strstr(stats.last, "0 adopted"), "%s", stats.last);
}

Test(adopt, a_vm_of_the_boot_configuration_without_uuid_is_not_adopted)
{
	struct reconcile_stats stats;
	struct store_vm v;
	struct store_err e;

	hv_core_has("other", NULL, HVM_VM_SHUTOFF);
	start_agent(&stats);
	cr_assert_eq(store_vm_get(sto, "other", &v, &e), STORE_ENOTFOUND,
		     "adopted without a uuid to match");
	cr_assert_eq(stats.n_unmanaged, 1);
}

Test(adopt, without_a_boot_configuration_nothing_is_adopted)
{
	struct reconcile_config rc = { .link = lnk, .store = sto, .ops = &q };
	struct reconcile *rec;
	struct store_vm v;
	struct store_err e;
	struct hv_status st;

	hv_core_has("rtos-demo", demo_uuid, HVM_VM_RUNNING);
	rec = reconcile_new(&rc);
	cr_assert_not_null(rec);
	cr_assert_eq(reconcile_run(rec, "hv-agent started", &st), 0, "%s", st.msg);
	reconcile_free(rec);
	cr_assert_eq(store_vm_get(sto, "rtos-demo", &v, &e), STORE_ENOTFOUND);
}
