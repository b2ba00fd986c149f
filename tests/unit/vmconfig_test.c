/*
 * vmconfig_test.c - unit tests of the VM configuration parser/validator
 * against docs/vm-config.md. Each test names the clause (VMCFG-xxx) it checks;
 * every refusal is checked for its status code, its clause and a message that
 * names what was wrong (REQ-SAF-09).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "hvvmconfig.h"
#include "vmconfig_blob.h"

#define EX(name) VMCFG_EXAMPLES_DIR "/" name ".dtb"
#define MEM "0x49000000"

static struct vmcfg cfg;
static struct vmcfg_err err;
static struct vmcfg sys[VMCFG_MAX_VMS];
static size_t nsys;

/* A refusal with this code and clause whose message contains `needle`. */
static void expect_fail(int rc, int code, const char *rule, const char *needle)
{
	cr_assert_eq(rc, code, "status %d, expected %d; message: %s", rc, code, err.msg);
	cr_assert_eq(err.code, code);
	cr_assert_str_eq(err.rule, rule, "clause %s, expected %s; message: %s", err.rule, rule,
			 err.msg);
	cr_assert(strstr(err.msg, rule), "message names the clause: %s", err.msg);
	if (needle)
		cr_assert(strstr(err.msg, needle), "message '%s' lacks '%s'", err.msg, needle);
}

static void expect_ok(int rc)
{
	cr_assert_eq(rc, HVM_OK, "refused: %s", err.msg);
	cr_assert_eq(err.code, HVM_OK);
}

/* ---- examples (docs/examples) -------------------------------------------- */

Test(examples, rtos_demo_parses) /* VMCFG-010, VMCFG-020..053 */
{
	struct blob b;
	static const uint8_t uuid[16] = { 0x6f, 0x1d, 0x2c, 0x3a, 0x7b, 0x4e, 0x4c, 0x1f,
					  0x9a, 0x2d, 0x0e, 0x5b, 0x8c, 0x7a, 0x9f, 0x10 };

	cr_assert(blob_from_file(EX("rtos-demo"), &b));
	expect_ok(vmcfg_parse(b.data, b.len, 0, &cfg, &err));
	cr_assert_str_eq(cfg.name, "rtos-demo");
	cr_assert_arr_eq(cfg.uuid, uuid, 16);
	cr_assert_eq(cfg.vcpus, 1);
	cr_assert_eq(cfg.pcpu[0], 1);
	cr_assert_eq(cfg.pcpu_mask, 0x2);
	cr_assert_eq(cfg.nmem, 1);
	cr_assert_eq(cfg.mem[0].ipa, 0x40000000);
	cr_assert_eq(cfg.mem[0].pa, 0x49000000);
	cr_assert_eq(cfg.mem[0].size, 16u << 20);
	cr_assert_eq(cfg.criticality, VMCFG_ASIL_B);
	cr_assert_eq(cfg.fault_policy, VMCFG_FP_RESTART);
	cr_assert_eq(cfg.watchdog_ms, 1000);
	cr_assert_eq(cfg.restart_max, 3);
	cr_assert_eq(cfg.restart_window_ms, 60000);
	cr_assert_eq(cfg.boot_order, 1);
	cr_assert(cfg.autostart);
	cr_assert(cfg.vuart);
	cr_assert_eq(cfg.boot.entry, 0x40000000);
	cr_assert_eq(cfg.boot.load_ipa, 0x40000000);
	cr_assert_eq(cfg.boot.image_store, 0x42000000);
	cr_assert_eq(cfg.boot.image_size, 0x100000);
	cr_assert_not(cfg.boot.has_initrd);
	cr_assert_eq(cfg.boot.fdt_ipa, 0x41000000 - VMCFG_FDT_SIZE); /* VMCFG-053 default */
	cr_assert_eq(cfg.nchan, 0);
	cr_assert_eq(cfg.ndev, 0);
	blob_free(&b);
}

Test(examples, linux_parses) /* VMCFG-051, VMCFG-052 */
{
	struct blob b;

	cr_assert(blob_from_file(EX("linux"), &b));
	expect_ok(vmcfg_parse(b.data, b.len, 0, &cfg, &err));
	cr_assert_str_eq(cfg.name, "linux");
	cr_assert_eq(cfg.vcpus, 2);
	cr_assert_eq(cfg.pcpu[0], 2);
	cr_assert_eq(cfg.pcpu[1], 3);
	cr_assert_eq(cfg.mem[0].ipa, 0x40000000);
	cr_assert_eq(cfg.mem[0].pa, 0x50000000);
	cr_assert_eq(cfg.mem[0].size, 256u << 20);
	cr_assert_eq(cfg.criticality, VMCFG_QM);
	cr_assert_eq(cfg.fault_policy, VMCFG_FP_STOP);
	cr_assert_not(cfg.autostart);
	cr_assert(cfg.boot.has_initrd);
	cr_assert_eq(cfg.boot.initrd_ipa, 0x48000000);
	cr_assert_eq(cfg.boot.image_store, 0); /* LOAD_IMAGE */
	cr_assert_eq(cfg.boot.initrd_size, 0x1000000);
	cr_assert_str_eq(cfg.boot.bootargs, "console=ttyAMA0 earlycon");
	cr_assert_eq(cfg.boot.fdt_ipa, 0x4fff0000);
	blob_free(&b);
}

Test(examples, passthrough_parses) /* VMCFG-060 */
{
	struct blob b;

	cr_assert(blob_from_file(EX("passthrough"), &b));
	expect_ok(vmcfg_parse(b.data, b.len, 0, &cfg, &err));
	cr_assert_eq(cfg.ndev, 1);
	cr_assert_str_eq(cfg.dev[0].name, "gpio");
	cr_assert_eq(cfg.dev[0].nreg, 1);
	cr_assert_eq(cfg.dev[0].reg[0].pa, 0x09030000);
	cr_assert_eq(cfg.dev[0].nspi, 1);
	cr_assert_eq(cfg.dev[0].spi[0], 7);
	cr_assert_eq(cfg.criticality, VMCFG_ASIL_D);
	blob_free(&b);
}

Test(examples, system_parses) /* VMCFG-011, VMCFG-086 */
{
	struct blob b;

	cr_assert(blob_from_file(EX("system"), &b));
	expect_ok(vmcfg_parse_system(b.data, b.len, sys, VMCFG_MAX_VMS, &nsys, NULL, &err));
	cr_assert_eq(nsys, 2);
	cr_assert_str_eq(sys[0].name, "rtos-demo");
	cr_assert_str_eq(sys[1].name, "linux");
	cr_assert_eq(sys[0].nchan, 1);
	cr_assert_str_eq(sys[0].chan[0].peer, "linux");
	cr_assert_eq(sys[0].chan[0].rights, VMCFG_R_READ | VMCFG_R_WRITE | VMCFG_R_DOORBELL_SEND);
	cr_assert_eq(sys[0].chan[0].doorbell_spi, 10);
	cr_assert_eq(sys[0].chan[0].shm.pa, 0x4c000000);
	cr_assert_eq(sys[0].chan[0].shm.ipa, 0x0c000000);
	cr_assert_eq(sys[1].chan[0].shm.size, 0x10000);
	blob_free(&b);
}

Test(examples, one_vm_node_of_a_system) /* VMCFG-011: vmcfg_parse on a /vms child */
{
	struct blob b;

	cr_assert(blob_from_file(EX("system"), &b));
	expect_ok(vmcfg_parse(b.data, b.len, fdt_path_offset(b.data, "/vms/linux"), &cfg, &err));
	cr_assert_str_eq(cfg.name, "linux");
	cr_assert_eq(cfg.chan[0].doorbell_spi, 10);
	/* the system root is not a VM node */
	expect_fail(vmcfg_parse(b.data, b.len, 0, &cfg, &err), HVM_E_BAD_CONFIG, "VMCFG-010",
		    "vm node '/'");
	blob_free(&b);
}

Test(examples, single_vm_blob_is_a_system_of_one) /* VMCFG-011 */
{
	struct blob b;

	cr_assert(blob_from_file(EX("linux"), &b));
	expect_ok(vmcfg_parse_system(b.data, b.len, sys, VMCFG_MAX_VMS, &nsys, NULL, &err));
	cr_assert_eq(nsys, 1);
	cr_assert_str_eq(sys[0].name, "linux");
	blob_free(&b);
}

/* Each docs/examples/invalid-*.dts names its expected refusal in a line
 * " * expect: HVM_E_xxx VMCFG-nnn". */
static int code_by_name(const char *n)
{
	static const struct {
		const char *n;
		int c;
	} t[] = {
		{ "HVM_E_BAD_CONFIG", HVM_E_BAD_CONFIG },
		{ "HVM_E_OVERLAP", HVM_E_OVERLAP },
		{ "HVM_E_CPU", HVM_E_CPU },
		{ "HVM_E_CHANNEL", HVM_E_CHANNEL },
		{ "HVM_E_FDT", HVM_E_FDT },
		{ "HVM_E_EXISTS", HVM_E_EXISTS },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].n, n) == 0)
			return t[i].c;
	return -1;
}

Test(examples, every_invalid_example_is_refused)
{
	DIR *d = opendir(HV_SOURCE_DIR "/docs/examples");
	struct dirent *e;
	int seen = 0;

	cr_assert(d);
	while ((e = readdir(d))) {
		char path[512], line[256], code[32] = "", rule[32] = "", stem[256];
		struct blob b;
		FILE *f;
		size_t n = strlen(e->d_name);

		if (strncmp(e->d_name, "invalid-", 8) != 0 || n < 5 ||
		    strcmp(e->d_name + n - 4, ".dts"))
			continue;
		snprintf(path, sizeof(path), HV_SOURCE_DIR "/docs/examples/%s", e->d_name);
		f = fopen(path, "r");
		cr_assert(f);
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, " * expect: %31s %31s", code, rule) == 2)
				break;
		fclose(f);
		cr_assert(code[0] && rule[0], "%s has no expect: line", e->d_name);
		snprintf(stem, sizeof(stem), "%.*s", (int)(n - 4), e->d_name);
		snprintf(path, sizeof(path), VMCFG_EXAMPLES_DIR "/%s.dtb", stem);
		cr_assert(blob_from_file(path, &b), "%s not compiled", path);
		expect_fail(vmcfg_parse_system(b.data, b.len, sys, VMCFG_MAX_VMS, &nsys, NULL, &err),
			    code_by_name(code), rule, NULL);
		cr_assert_eq(nsys, 0);
		blob_free(&b);
		seen++;
	}
	closedir(d);
	cr_assert_geq(seen, 5);
}

/* ---- the blob itself (VMCFG-001) ----------------------------------------- */

Test(blob, every_truncation_is_refused)
{
	struct blob b;
	void *copy;

	cr_assert(blob_from_file(EX("linux"), &b));
	for (size_t len = 0; len < b.len; len++) {
		/* a buffer of exactly len bytes, so ASan sees any read past it */
		copy = aligned_alloc(8, len ? (len + 7) & ~(size_t)7 : 8);
		memcpy(copy, b.data, len);
		expect_fail(vmcfg_parse(copy, len, 0, &cfg, &err), HVM_E_FDT, "VMCFG-001",
			    "configuration blob");
		free(copy);
	}
	blob_free(&b);
}

Test(blob, bad_magic)
{
	struct blob b;

	cr_assert(blob_from_file(EX("linux"), &b));
	((uint8_t *)b.data)[0] ^= 0xff;
	expect_fail(vmcfg_parse(b.data, b.len, 0, &cfg, &err), HVM_E_FDT, "VMCFG-001", "bad magic");
	blob_free(&b);
}

Test(blob, totalsize_beyond_length)
{
	struct blob b;

	cr_assert(blob_from_file(EX("linux"), &b));
	fdt_set_totalsize(b.data, (uint32_t)b.len + 4096);
	expect_fail(vmcfg_parse(b.data, b.len, 0, &cfg, &err), HVM_E_FDT, "VMCFG-001", "totalsize");
	blob_free(&b);
}

Test(blob, old_version)
{
	struct blob b;

	cr_assert(blob_from_file(EX("linux"), &b));
	fdt_set_version(b.data, 16);
	expect_fail(vmcfg_parse(b.data, b.len, 0, &cfg, &err), HVM_E_FDT, "VMCFG-001", "version");
	blob_free(&b);
}

Test(blob, structure_block_out_of_bounds)
{
	struct blob b;

	cr_assert(blob_from_file(EX("linux"), &b));
	fdt_set_size_dt_struct(b.data, 0x7ffffff0);
	expect_fail(vmcfg_parse(b.data, b.len, 0, &cfg, &err), HVM_E_FDT, "VMCFG-001", "malformed");
	blob_free(&b);
}

/* A property length of 0xfffffff4 makes libfdt 1.6.1's walkers stand still
 * (offset + 12 + len wraps to offset): found by the fuzzer. The timeout only
 * turns a hang into a failure. */
Test(blob, property_length_that_wraps, .timeout = 60)
{
	struct blob b;
	uint8_t *st;

	cr_assert(blob_from_file(EX("linux"), &b));
	st = (uint8_t *)b.data + fdt_off_dt_struct(b.data);
	/* root BEGIN_NODE "" (8 bytes), then the first FDT_PROP: tag, len, nameoff */
	cr_assert_eq(fdt32_ld((const fdt32_t *)(st + 8)), FDT_PROP);
	for (uint32_t bad = 0xfffffff0; bad != 0; bad++) {
		fdt32_st(st + 12, bad);
		expect_fail(vmcfg_parse(b.data, b.len, 0, &cfg, &err), HVM_E_FDT, "VMCFG-001",
			    "property length");
	}
	fdt32_st(st + 12, (uint32_t)fdt_size_dt_struct(b.data));
	expect_fail(vmcfg_parse(b.data, b.len, 0, &cfg, &err), HVM_E_FDT, "VMCFG-001",
		    "property length");
	blob_free(&b);
}

Test(blob, misaligned_buffer)
{
	struct blob b;
	uint8_t *copy;

	cr_assert(blob_from_file(EX("linux"), &b));
	copy = aligned_alloc(8, (b.len + 15) & ~(size_t)7);
	memcpy(copy + 4, b.data, b.len);
	expect_fail(vmcfg_parse(copy + 4, b.len, 0, &cfg, &err), HVM_E_FDT, "VMCFG-001", "aligned");
	free(copy);
	blob_free(&b);
}

Test(blob, null_arguments_and_bad_offsets)
{
	struct blob b;

	expect_fail(vmcfg_parse(NULL, 100, 0, &cfg, &err), HVM_E_BAD_ARG, "VMCFG-001", NULL);
	cr_assert(blob_from_file(EX("linux"), &b));
	expect_fail(vmcfg_parse(b.data, b.len, 0, NULL, &err), HVM_E_BAD_ARG, "VMCFG-001", NULL);
	expect_fail(vmcfg_parse(b.data, b.len, -1, &cfg, &err), HVM_E_BAD_ARG, "VMCFG-001", NULL);
	expect_fail(vmcfg_parse(b.data, b.len, 3, &cfg, &err), HVM_E_BAD_ARG, "VMCFG-001", NULL);
	expect_fail(vmcfg_parse(b.data, b.len, 1 << 30, &cfg, &err), HVM_E_BAD_ARG, "VMCFG-001",
		    NULL);
	/* a node that exists but is not a VM: the boot child */
	expect_fail(vmcfg_parse(b.data, b.len, fdt_path_offset(b.data, "/boot"), &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-010", NULL);
	blob_free(&b);
}

/* Corrupt bytes all over a valid blob: whatever the verdict, never a crash, an
 * out-of-bounds read (ASan) or an error without a message. */
Test(blob, corrupted_bytes_never_crash)
{
	struct blob b;
	uint32_t seed = 12345;
	uint8_t *copy;

	cr_assert(blob_from_file(EX("system"), &b));
	copy = aligned_alloc(8, (b.len + 7) & ~(size_t)7);
	for (int round = 0; round < 3000; round++) {
		memcpy(copy, b.data, b.len);
		for (int k = 0; k < 1 + round % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % b.len;
			seed = seed * 1103515245u + 12345u;
			copy[at] = (uint8_t)(seed >> 16);
		}
		int rc = vmcfg_parse_system(copy, b.len, sys, VMCFG_MAX_VMS, &nsys, NULL, &err);
		cr_assert_eq(rc, err.code);
		if (rc != HVM_OK)
			cr_assert(err.msg[0] && strstr(err.msg, "VMCFG-"), "round %d: %s", round,
				  err.msg);
	}
	free(copy);
	blob_free(&b);
}

/* ---- one VM: required properties and encodings (VMCFG-002, 012, 013) ---- */

Test(props, base_is_valid)
{
	expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, NULL)), &cfg, &err));
	cr_assert_str_eq(cfg.name, "nav");
	cr_assert_eq(cfg.fault_policy, VMCFG_FP_STOP); /* VMCFG-023 default */
	cr_assert_eq(cfg.watchdog_ms, 0);              /* VMCFG-024 default */
	cr_assert_eq(cfg.restart_max, 3);              /* VMCFG-025 default */
	cr_assert_eq(cfg.restart_window_ms, 60000);
	cr_assert_eq(cfg.boot_order, 0); /* VMCFG-026 default */
	cr_assert_not(cfg.autostart);
	cr_assert_not(cfg.vuart);
}

Test(props, missing_required)
{
	static const struct {
		const char *key, *rule;
	} req[] = {
		{ "vm-name", "VMCFG-020" },
		{ "criticality", "VMCFG-022" },
		{ "vcpus", "VMCFG-030" },
		{ "cpus", "VMCFG-031" },
		{ "memory", "VMCFG-040" },
		{ "boot.load-address", "VMCFG-050" },
		{ "boot.image-size", "VMCFG-050" },
		{ "boot.entry", "VMCFG-050" },
		{ "boot.image-sha256", "VMCFG-050" },
	};
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		const char *prop = strchr(req[i].key, '.') ? strchr(req[i].key, '.') + 1 : req[i].key;
		char needle[64];

		snprintf(needle, sizeof(needle), "missing required property '%s'", prop);
		expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, req[i].key, NULL, NULL)),
					 &cfg, &err),
			    HVM_E_BAD_CONFIG, req[i].rule, needle);
	}
}

Test(props, missing_compatible_or_boot)
{
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "compatible", NULL, NULL)), &cfg,
				 &err),
		    HVM_E_BAD_CONFIG, "VMCFG-010", "compatible");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "compatible",
						    "\"avirt,vm-config-v2\"", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-010", "compatible");
	/* a second boot node */
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+", "\tboot@1 { };", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-013", "boot@1");
}

Test(props, wrong_lengths) /* VMCFG-002 */
{
	static const struct {
		const char *key, *val, *needle;
	} t[] = {
		{ "vcpus", "<1 2>", "'vcpus' is 8 bytes" },
		{ "vcpus", "/bits/ 8 <1>", "'vcpus' is 1 bytes" },
		{ "memory", "<0 0x49000000 0 0x49000000 0x01000000>", "'memory' is 20 bytes" },
		{ "memory", "", "'memory' is 0 bytes" },
		{ "cpus", "", "'cpus' is 0 bytes" },
		{ "boot.load-address", "<0x49000000>", "'load-address' is 4 bytes" },
		{ "boot.image-sha256",
		  "[00112233445566778899aabbccddeeff00112233445566778899aabbccddee]",
		  "'image-sha256' is 31 bytes" },
		{ "uuid", "[00112233445566778899aabbccddee]", "'uuid' is 15 bytes" },
		{ "restart-budget", "<3>", "'restart-budget' is 4 bytes" },
		{ "watchdog-timeout-ms", "/bits/ 64 <100>", "'watchdog-timeout-ms' is 8 bytes" },
		{ "vm-name", "<0x6e617600>", NULL }, /* "nav\0" as a cell is fine... */
		{ "vm-name", "<0x6e617676>", "not one NUL-terminated string" },
		{ "vm-name", "\"nav\", \"x\"", "not one NUL-terminated string" },
		{ "criticality", "<0>", "not one NUL-terminated string" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = parse_single(single_dts(vm_body("nav", MEM, 1, t[i].key, t[i].val, NULL)),
				      &cfg, &err);
		if (!t[i].needle) {
			expect_ok(rc);
			continue;
		}
		expect_fail(rc, HVM_E_BAD_CONFIG, "VMCFG-002", t[i].needle);
	}
}

Test(props, unknown_property_and_node) /* VMCFG-012, VMCFG-013, VMCFG-062 */
{
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "watchdog-timout-ms", "<100>",
						    NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-012", "unknown property 'watchdog-timout-ms'");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.kernel", "\"x\"", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-012", "unknown property 'kernel' in boot");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+", "\tfoo { };", NULL)), &cfg,
				 &err),
		    HVM_E_BAD_CONFIG, "VMCFG-013", "node 'foo'");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    "\tvirtio { compatible = \"virtio,mmio\"; };",
						    NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-480", "device");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    "\tu0 { compatible = \"avirt,vuart-v1\"; };\n"
						    "\tu1 { compatible = \"avirt,vuart-v1\"; };",
						    NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-061", "more than one vuart");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    "\tu0 { compatible = \"avirt,vuart-v1\"; speed = <1>; };",
						    NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-012", "'speed' in vuart");
}

/* ---- identity (VMCFG-020, VMCFG-021) ------------------------------------- */

Test(identity, names)
{
	static const char *bad[] = { "\"\"",
				     "\"Nav\"",
				     "\"nav.1\"",
				     "\"nav system\"",
				     "\"abcdefghijklmnopqrstuvwxyz0123456\"" /* 33 */,
				     "\"abcdefghijklmnopqrstuvwxyz012345\"" /* 32 */ };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_fail(parse_single(single_dts(vm_body("x", MEM, 1, "vm-name", bad[i], NULL)),
					 &cfg, &err),
			    HVM_E_BAD_CONFIG, "VMCFG-020", "vm-name");
	/* 31 characters of every allowed kind */
	expect_ok(parse_single(single_dts(vm_body("abcdefghijklmnopqrstuvwxyz-_019", MEM, 1, NULL)),
			       &cfg, &err));
	cr_assert_eq(strlen(cfg.name), 31);
}

Test(identity, uuid_forms)
{
	static const uint8_t want[16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
					  0x0f, 0xed, 0xcb, 0xa9, 0x87, 0x65, 0x43, 0x21 };

	expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, "uuid",
						  "\"12345678-9abc-DEF0-0fed-cba987654321\"", NULL)),
			       &cfg, &err));
	cr_assert_arr_eq(cfg.uuid, want, 16);
	expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, "uuid",
						  "[123456789abcdef00fedcba987654321]", NULL)),
			       &cfg, &err));
	cr_assert_arr_eq(cfg.uuid, want, 16);
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "uuid",
						    "\"12345678-9abc-def0-0fed+cba987654321\"", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-021", "uuid");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "uuid",
						    "\"12345678-9abc-def0-0fed-cba98765432g\"", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-021", "uuid");
}

/* ---- policy (VMCFG-022..026) --------------------------------------------- */

Test(policy, criticality_values)
{
	static const char *names[] = { "QM", "ASIL-A", "ASIL-B", "ASIL-C", "ASIL-D" };
	char v[16];

	for (unsigned i = 0; i < 5; i++) {
		snprintf(v, sizeof(v), "\"%s\"", names[i]);
		expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, "criticality", v, NULL)),
				       &cfg, &err));
		cr_assert_eq(cfg.criticality, i);
		cr_assert_str_eq(vmcfg_criticality_name(i), names[i]);
	}
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "criticality", "\"asil-b\"", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-022", "unknown criticality 'asil-b'");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "criticality",
						    "\"ASIL-DDDDDDDDDDDDDDD\"", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-022", "criticality");
}

Test(policy, fault_policy_values)
{
	static const char *names[] = { "ignore", "stop", "restart", "stop-vcpu" /* VMCFG-330 */ };
	char v[16];

	for (unsigned i = 0; i < 4; i++) {
		snprintf(v, sizeof(v), "\"%s\"", names[i]);
		expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, "fault-policy", v, NULL)),
				       &cfg, &err));
		cr_assert_eq(cfg.fault_policy, i);
	}
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "fault-policy", "\"shutdown\"",
						    NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-023", "unknown fault-policy 'shutdown'");
}

/* VMCFG-331: stop-grace-ms, 0..10000, default 0 */
Test(policy, stop_grace_period)
{
	expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, NULL, NULL, NULL)), &cfg, &err));
	cr_assert_eq(cfg.stop_grace_ms, 0);
	expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, "stop-grace-ms", "<500>", NULL)),
			       &cfg, &err));
	cr_assert_eq(cfg.stop_grace_ms, 500);
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "stop-grace-ms", "<10001>", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-331", "stop-grace-ms 10001 is above 10000");
}

Test(policy, watchdog_restart_order_autostart)
{
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "watchdog-timeout-ms", "<5>", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-024", "watchdog-timeout-ms 5");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "watchdog-timeout-ms",
						    "<3600001>", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-024", NULL);
	expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, "watchdog-timeout-ms", "<10>", NULL)),
			       &cfg, &err));
	cr_assert_eq(cfg.watchdog_ms, 10);
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "restart-budget", "<101 1000>",
						    NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-025", "restart-budget");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "restart-budget", "<1 0>", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-025", "restart-budget");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "restart-budget", "<0 1000>",
						    "fault-policy", "\"restart\"", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-025", "restart-budget of 0");
	expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, "restart-budget", "<5 2000>", NULL)),
			       &cfg, &err));
	cr_assert_eq(cfg.restart_max, 5);
	cr_assert_eq(cfg.restart_window_ms, 2000);
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot-order", "<65536>", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-026", "boot-order");
	expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, "autostart", "<1>", NULL)), &cfg,
			       &err));
	cr_assert(cfg.autostart);
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "autostart", "<2>", NULL)), &cfg,
				 &err),
		    HVM_E_BAD_CONFIG, "VMCFG-026", "autostart");
}

/* ---- CPUs (VMCFG-030, VMCFG-031) ------------------------------------------ */

Test(cpus, rules)
{
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "vcpus", "<0>", NULL)), &cfg, &err),
		    HVM_E_CPU, "VMCFG-030", "vcpus is 0");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "vcpus", "<9>", "cpus",
						    "<0 1 2 3 4 5 6 7 8>", NULL)),
				 &cfg, &err),
		    HVM_E_CPU, "VMCFG-030", "vcpus is 9");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "vcpus", "<2>", NULL)), &cfg, &err),
		    HVM_E_CPU, "VMCFG-031", "1 physical CPUs for 2 vcpus");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "cpus", "<1 2>", NULL)), &cfg,
				 &err),
		    HVM_E_CPU, "VMCFG-031", "2 physical CPUs for 1 vcpus");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "vcpus", "<2>", "cpus", "<1 1>",
						    NULL)),
				 &cfg, &err),
		    HVM_E_CPU, "VMCFG-031", "physical CPU 1 twice");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "cpus", "<64>", NULL)), &cfg, &err),
		    HVM_E_CPU, "VMCFG-031", "= 64");
	expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, "vcpus", "<8>", "cpus",
						  "<63 1 2 3 4 5 6 0>", NULL)),
			       &cfg, &err));
	cr_assert_eq(cfg.pcpu[0], 63);
	cr_assert_eq(cfg.pcpu_mask, 0x800000000000007full);
}

/* ---- memory (VMCFG-040, VMCFG-041) ---------------------------------------- */

Test(memory, alignment_and_bounds)
{
	static const char *bad[] = {
		"<0 0x49000800 0 0x49000000 0 0x01000000>",      /* IPA unaligned  */
		"<0 0x49000000 0 0x49000010 0 0x01000000>",      /* PA unaligned   */
		"<0 0x49000000 0 0x49000000 0 0x01000001>",      /* size unaligned */
		"<0 0x49000000 0 0x49000000 0 0>",               /* empty          */
		"<0x100 0 0 0x49000000 0 0x1000>",               /* IPA >= 2^40    */
		"<0xff 0xfffff000 0 0x49000000 0 0x2000>",       /* IPA end > 2^40 */
		"<0 0x49000000 0x10000 0 0 0x1000>",             /* PA >= 2^48     */
		"<0 0x49000000 0xffffffff 0xfffff000 0 0x2000>", /* PA wraps  */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "memory", bad[i], NULL)),
					 &cfg, &err),
			    HVM_E_BAD_CONFIG, "VMCFG-040", "memory region 0");
}

Test(memory, overlaps_within_vm)
{
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "memory",
						    "<0 0x49000000 0 0x49000000 0 0x01000000>,"
						    "<0 0x60000000 0 0x60000000 0 0x1000>,"
						    "<0 0x49fff000 0 0x70000000 0 0x2000>",
						    NULL)),
				 &cfg, &err),
		    HVM_E_OVERLAP, "VMCFG-041", "vm 'nav': memory region 2 overlaps region 0 (IPA)");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "memory",
						    "<0 0x49000000 0 0x49000000 0 0x01000000>,"
						    "<0 0x60000000 0 0x49800000 0 0x1000>",
						    NULL)),
				 &cfg, &err),
		    HVM_E_OVERLAP, "VMCFG-041", "memory region 1 overlaps region 0 (PA)");
	/* IPA differs from PA: allowed, adjacent regions too */
	expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, "memory",
						  "<0 0x49000000 0 0x49000000 0 0x01000000>,"
						  "<0 0x4a000000 0 0x80000000 0 0x1000>",
						  NULL)),
			       &cfg, &err));
	cr_assert_eq(cfg.nmem, 2);
}

Test(memory, too_many_regions)
{
	char v[1024] = "";

	for (int i = 0; i < 9; i++) {
		char one[80];
		snprintf(one, sizeof(one), "%s<0 0x%x 0 0x%x 0 0x1000>", i ? "," : "",
			 0x49000000 + i * 0x01000000, 0x49000000 + i * 0x01000000);
		strcat(v, one);
	}
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "memory", v, NULL)), &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-003", "9 entries");
}

/* ---- boot (VMCFG-050..054) ------------------------------------------------ */

Test(boot, image_placement)
{
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.load-address", "<0 0x48000000>",
						    "boot.entry", "<0 0x48000000>", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-050", "not inside one memory region");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.image-size",
						    "<0 0x01000001>", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-050", "not inside one memory region");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.image-size", "<0 0>", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-050", "image-size is 0");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.entry", "<0 0x49100000>",
						    NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-050", "entry");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.load-address",
						    "<0xffffffff 0xfffff000>", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-050", NULL);
}

Test(boot, initrd)
{
	expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.initrd-address",
						  "<0 0x49400000>", "boot.initrd-size",
						  "<0 0x100000>", "boot.initrd-sha256",
						  "[00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff]",
						  NULL)),
			       &cfg, &err));
	cr_assert(cfg.boot.has_initrd);
	cr_assert_eq(cfg.boot.initrd_sha256[31], 0xff);
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.initrd-address",
						    "<0 0x49400000>", "boot.initrd-size",
						    "<0 0x100000>", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-051", "together");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.initrd-address",
						    "<0 0x49080000>", "boot.initrd-size",
						    "<0 0x100000>", "boot.initrd-sha256",
						    "[00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff]",
						    NULL)),
				 &cfg, &err),
		    HVM_E_OVERLAP, "VMCFG-051", "initrd overlaps the boot image");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.initrd-address",
						    "<0 0x49f80000>", "boot.initrd-size",
						    "<0 0x100000>", "boot.initrd-sha256",
						    "[00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff]",
						    NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-051", "not inside one memory region");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.initrd-store",
						    "<0 0x60000000>", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-051", "initrd-store");
}

Test(boot, bootargs_and_fdt)
{
	char longargs[300];

	memset(longargs, 'a', sizeof(longargs));
	longargs[0] = '"';
	longargs[257] = '"'; /* 256 characters */
	longargs[258] = '\0';
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.bootargs", longargs, NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-052", "256 characters");
	longargs[256] = '"';
	longargs[257] = '\0';
	expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.bootargs", longargs, NULL)),
			       &cfg, &err));
	cr_assert_eq(strlen(cfg.boot.bootargs), 255);

	expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.fdt-address",
						  "<0 0x49800000>", NULL)),
			       &cfg, &err));
	cr_assert_eq(cfg.boot.fdt_ipa, 0x49800000);
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.fdt-address",
						    "<0 0x49800004>", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-053", "fdt-address");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.fdt-address",
						    "<0 0x49ff8000>", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-053", "fdt-address");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.fdt-address",
						    "<0 0x49010000>", NULL)),
				 &cfg, &err),
		    HVM_E_OVERLAP, "VMCFG-053", "overlaps the image");
	/* an image that fills its region leaves no room for the default */
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.image-size",
						    "<0 0x01000000>", NULL)),
				 &cfg, &err),
		    HVM_E_OVERLAP, "VMCFG-053", "set fdt-address");
}

Test(boot, image_store)
{
	expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.image-store",
						  "<0 0x60000000>", NULL)),
			       &cfg, &err));
	cr_assert_eq(cfg.boot.image_store, 0x60000000);
	/* the load destination itself: the image is already in place */
	expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.image-store",
						  "<0 0x49000000>", NULL)),
			       &cfg, &err));
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.image-store",
						    "<0 0x49400000>", NULL)),
				 &cfg, &err),
		    HVM_E_OVERLAP, "VMCFG-054", "image-store");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "boot.image-store",
						    "<0xffff 0xffff0000>", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-054", "image-store");
}

/* ---- devices and channels (VMCFG-060..071) --------------------------------- */

#define DEV(mmio, spis)                                                                            \
	"\tgpio { compatible = \"avirt,passthrough-v1\"; mmio = <" mmio ">; " spis " };"
#define CHAN(extra)                                                                                \
	"\tch { compatible = \"avirt,channel-v1\"; channel-id = <1>; peer = \"linux\";"            \
	" shm = <0 0x48000000 0 0x48000000 0 0x10000>; rights = \"read\", \"write\"; " extra " };"

Test(devices, passthrough_rules)
{
	expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						  DEV("0 0x9030000 0 0x9030000 0 0x1000",
						      "spis = <7 8>;"),
						  NULL)),
			       &cfg, &err));
	cr_assert_eq(cfg.dev[0].nspi, 2);
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    DEV("0 0x49000000 0 0x9030000 0 0x1000", ""),
						    NULL)),
				 &cfg, &err),
		    HVM_E_OVERLAP, "VMCFG-063", "overlaps memory region 0");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    DEV("0 0x9030000 0 0x49000000 0 0x1000", ""),
						    NULL)),
				 &cfg, &err),
		    HVM_E_OVERLAP, "VMCFG-063", "at PA");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    DEV("0 0x9030000 0 0x9030000 0 0x800", ""), NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-060", "not 4 KiB aligned");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    DEV("0 0x9030000 0 0x9030000 0 0x1000",
							"spis = <988>;"),
						    NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-064", "SPI 988");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    DEV("0 0x9030000 0 0x9030000 0 0x1000",
							"spis = <7 7>;"),
						    NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-064", "SPI 7 twice");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    DEV("0 0x9030000 0 0x9030000 0 0x1000",
							"spis = <7>;") "\n\tgpio2 { compatible = \"avirt,passthrough-v1\";"
								       " mmio = <0 0x9040000 0 0x9040000 0 0x1000>; spis = <7>; };",
						    NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-064", "already used by device 'gpio'");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    DEV("0 0x9030000 0 0x9030000 0 0x1000",
							"") "\n"
							    "\tgpio2 { compatible = \"avirt,passthrough-v1\";"
							    " mmio = <0 0x9030000 0 0x9050000 0 0x1000>; };",
						    NULL)),
				 &cfg, &err),
		    HVM_E_OVERLAP, "VMCFG-063", "overlaps device 'gpio'");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    DEV("0 0x9030000 0 0x9030000 0 0x1000",
							"spis = <1 2 3 4 5 6 7 8 9>;"),
						    NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-003", "spis");
}

#define VIRTIO(name, dev, win, spi)                                                                \
	"\t" name " { compatible = \"virtio,mmio\"; device = \"" dev "\"; window = <" win          \
	">; spi = <" spi ">; };"

static int virtio_one(const char *body)
{
	return parse_single(single_dts(vm_body("nav", MEM, 1, "+", body, NULL)), &cfg, &err);
}

Test(devices, virtio_rules) /* VMCFG-480..482, VMCFG-064 */
{
	expect_ok(virtio_one(VIRTIO("rng", "rng", "0 0xa000000",
				    "16") "\n" VIRTIO("con", "console", "0 0xa000200", "17")));
	cr_assert_eq(cfg.nvirtio, 2);
	cr_expect_eq(cfg.virtio[0].type, 4);
	cr_expect_eq(cfg.virtio[0].ipa, 0xa000000);
	cr_expect_eq(cfg.virtio[0].spi, 16);
	cr_expect_eq(cfg.virtio[1].type, 3);
	cr_expect_str_eq(vmcfg_virtio_type_name(3), "console");
	cr_expect_null(vmcfg_virtio_type_name(9));
	expect_fail(virtio_one(VIRTIO("x", "gpu", "0 0xa000000", "16")), HVM_E_BAD_CONFIG,
		    "VMCFG-480", "unknown device 'gpu'");
	expect_fail(virtio_one(VIRTIO("x", "rng", "0 0xa000100", "16")), HVM_E_BAD_CONFIG,
		    "VMCFG-481", "not 512-byte aligned");
	expect_fail(virtio_one(VIRTIO("x", "rng", "0x100 0", "16")), HVM_E_BAD_CONFIG, "VMCFG-481",
		    "not 512-byte aligned");
	expect_fail(virtio_one(VIRTIO("x", "rng", "0 0x49000200", "16")), HVM_E_OVERLAP,
		    "VMCFG-481", "overlaps memory region 0");
	expect_fail(virtio_one(VIRTIO("a", "rng", "0 0xa000000",
				      "16") "\n" VIRTIO("b", "console", "0 0xa000000", "17")),
		    HVM_E_OVERLAP, "VMCFG-481", "window is that of 'a'");
	expect_fail(virtio_one(VIRTIO("a", "rng", "0 0xa000000",
				      "16") "\n" VIRTIO("b", "console", "0 0xa000200", "16")),
		    HVM_E_BAD_CONFIG, "VMCFG-064", "already used by virtio device 'a'");
	expect_fail(virtio_one(VIRTIO("a", "rng", "0 0x9030000",
				      "16") "\n" DEV("0 0x9030000 0 0x9030000 0 0x1000", "")),
		    HVM_E_OVERLAP, "VMCFG-481", "overlaps virtio device 'a'");
	expect_fail(virtio_one(VIRTIO("a", "rng", "0 0xa000000", "988")), HVM_E_BAD_CONFIG,
		    "VMCFG-064", "SPI 988");
	expect_fail(virtio_one("\tx { compatible = \"virtio,mmio\"; device = \"rng\"; spi = <1>; };"),
		    HVM_E_BAD_CONFIG, "VMCFG-481", "window");
	expect_fail(virtio_one("\tx { compatible = \"virtio,mmio\"; device = \"rng\"; window = <0 "
			       "0xa000000>; spi = <1>; queue = <4>; };"),
		    HVM_E_BAD_CONFIG, "VMCFG-012", "queue");
	expect_fail(virtio_one(
			    VIRTIO("a", "rng", "0 0xa000000",
				   "16") "\n" VIRTIO("b", "rng", "0 0xa000200",
						     "17") "\n" VIRTIO("c", "rng", "0 0xa000400",
								       "18") "\n" VIRTIO("d", "rng",
											 "0 0xa000600",
											 "19") "\n" VIRTIO("e",
													   "rng",
													   "0 0xa000800",
													   "20")),
		    HVM_E_BAD_CONFIG, "VMCFG-480", "more than 4 virtio devices");
}

#define NET(name, win, spi, chan)                                                                  \
	"\t" name " { compatible = \"virtio,mmio\"; device = \"net\"; window = <" win              \
	">; spi = <" spi ">; channel = <" chan ">; };"

Test(devices, virtio_net_channel) /* VMCFG-485 */
{
	/* the device may come before or after its channel */
	expect_ok(virtio_one(NET("eth", "0 0xa000000", "16", "1") "\n" CHAN("")));
	cr_assert_eq(cfg.nvirtio, 1);
	cr_expect_eq(cfg.virtio[0].type, 1);
	cr_expect_eq(cfg.virtio[0].channel, 1);
	expect_ok(virtio_one(CHAN("") "\n" NET("eth", "0 0xa000000", "16", "1")));
	expect_fail(virtio_one(NET("eth", "0 0xa000000", "16", "2") "\n" CHAN("")), HVM_E_CHANNEL,
		    "VMCFG-485", "names channel 2, which the VM does not have");
	expect_fail(virtio_one(CHAN("") "\n" NET("a", "0 0xa000000", "16",
						 "1") "\n" NET("b", "0 0xa000200", "17", "1")),
		    HVM_E_CHANNEL, "VMCFG-485", "share channel 1");
	expect_fail(virtio_one("\teth { compatible = \"virtio,mmio\"; device = \"net\"; window = <0 "
			       "0xa000000>; spi = <16>; };"),
		    HVM_E_BAD_CONFIG, "VMCFG-485", "needs a channel");
	expect_fail(virtio_one("\tr { compatible = \"virtio,mmio\"; device = \"rng\"; window = <0 "
			       "0xa000000>; spi = <16>; channel = <1>; };"),
		    HVM_E_BAD_CONFIG, "VMCFG-485", "only a \"net\" device has a channel");
}

#define NET_RATE(rate)                                                                             \
	"\teth { compatible = \"virtio,mmio\"; device = \"net\"; window = <0 0xa000000>;"          \
	" spi = <16>; channel = <1>; frame-rate = <" rate ">; };\n" CHAN("")

Test(devices, virtio_net_frame_rate) /* VMCFG-850 */
{
	expect_ok(virtio_one(NET("eth", "0 0xa000000", "16", "1") "\n" CHAN("")));
	cr_expect_eq(cfg.virtio[0].frame_rate, VMCFG_FRAME_RATE_DEFAULT);
	expect_ok(virtio_one(NET_RATE("25")));
	cr_expect_eq(cfg.virtio[0].frame_rate, 25);
	expect_ok(virtio_one(NET_RATE("1000000")));
	expect_fail(virtio_one(NET_RATE("0")), HVM_E_BAD_CONFIG, "VMCFG-850",
		    "frame-rate 0 is outside 1..1000000");
	expect_fail(virtio_one(NET_RATE("1000001")), HVM_E_BAD_CONFIG, "VMCFG-850",
		    "frame-rate 1000001 is outside");
	expect_fail(virtio_one("\tr { compatible = \"virtio,mmio\"; device = \"rng\"; window = <0 "
			       "0xa000000>; spi = <16>; frame-rate = <10>; };"),
		    HVM_E_BAD_CONFIG, "VMCFG-850", "only a \"net\" device has a frame-rate");
	/* an rng device has none */
	expect_ok(virtio_one(VIRTIO("rng", "rng", "0 0xa000000", "16")));
	cr_expect_eq(cfg.virtio[0].frame_rate, 0);
}

#define BLK(extra)                                                                                 \
	"\td { compatible = \"virtio,mmio\"; device = \"blk\"; window = <0 0xa000000>;"            \
	" spi = <16>; " extra " };"
#define BLK_OK "disk-size = <0 0x100000>;"

Test(devices, virtio_blk_disk_and_no_dma_window) /* VMCFG-851, VMCFG-852 */
{
	expect_ok(virtio_one(BLK(BLK_OK)));
	cr_assert_eq(cfg.nvirtio, 1);
	cr_expect_eq(cfg.virtio[0].type, 2);
	cr_expect_eq(cfg.virtio[0].disk_size, 0x100000);
	cr_expect_str_eq(vmcfg_virtio_type_name(2), "blk");
	expect_fail(virtio_one(BLK("")), HVM_E_BAD_CONFIG, "VMCFG-851", "needs disk-size");
	expect_fail(virtio_one(BLK("disk-size = <0 0x100001>;")), HVM_E_BAD_CONFIG, "VMCFG-851",
		    "not a multiple of 512");
	/* VMCFG-852: the data go through hv-core's bounce area; a window of
	 * the VM's RAM is refused, not ignored */
	expect_fail(virtio_one(BLK("disk-size = <0 0x100000>; dma-window = <0 0x49800000>; "
				   "dma-size = <0 0x100000>;")),
		    HVM_E_BAD_CONFIG, "VMCFG-852", "no dma-window/dma-size");
	expect_fail(virtio_one(BLK("disk-size = <0 0x100000>; dma-size = <0 0x100000>;")),
		    HVM_E_BAD_CONFIG, "VMCFG-852", "bounce area");
	expect_fail(virtio_one(VIRTIO("r", "rng", "0 0xa000200", "17") "\n" BLK(
			    BLK_OK) "\n"
				    "\te { compatible = \"virtio,mmio\"; device = \"blk\"; "
				    "window = <0 0xa000400>; spi = <18>; " BLK_OK " };"),
		    HVM_E_BAD_CONFIG, "VMCFG-851", "has a \"blk\" device already ('d')");
	expect_fail(virtio_one("\tr { compatible = \"virtio,mmio\"; device = \"rng\"; window = <0 "
			       "0xa000000>; spi = <16>; disk-size = <0 0x100000>; };"),
		    HVM_E_BAD_CONFIG, "VMCFG-851", "only a \"blk\" device has a disk-size");
}

Test(channels, single_vm_rules)
{
	expect_ok(parse_single(single_dts(vm_body("nav", MEM, 1, "+", CHAN("doorbell-spi = <10>;"),
						  NULL)),
			       &cfg, &err));
	cr_assert_eq(cfg.nchan, 1);
	cr_assert_eq(cfg.chan[0].id, 1);
	cr_assert_eq(cfg.chan[0].doorbell_spi, 10);
	cr_assert_eq(cfg.chan[0].rights, VMCFG_R_READ | VMCFG_R_WRITE);

	expect_fail(parse_single(single_dts(vm_body("linux", MEM, 1, "+", CHAN(""), NULL)), &cfg,
				 &err),
		    HVM_E_CHANNEL, "VMCFG-070", "not another VM's name");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    "\tch { compatible = \"avirt,channel-v1\"; channel-id = <1>;"
						    " peer = \"linux\"; shm = <0 0x48000000 0 0x48000000 0 0x10000>;"
						    " rights = \"read\", \"execute\"; };",
						    NULL)),
				 &cfg, &err),
		    HVM_E_CHANNEL, "VMCFG-070", "unknown right 'execute'");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    "\tch { compatible = \"avirt,channel-v1\"; channel-id = <1>;"
						    " peer = \"linux\"; shm = <0 0x48000000 0 0x48000000 0 0x10000>;"
						    " rights = \"read\", \"read\"; };",
						    NULL)),
				 &cfg, &err),
		    HVM_E_CHANNEL, "VMCFG-070", "twice");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    "\tch { compatible = \"avirt,channel-v1\"; channel-id = <16>;"
						    " peer = \"linux\"; shm = <0 0x48000000 0 0x48000000 0 0x10000>;"
						    " rights = \"read\"; };",
						    NULL)),
				 &cfg, &err),
		    HVM_E_CHANNEL, "VMCFG-070", "channel-id 16");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    CHAN("") "\n\tch2 { compatible = \"avirt,channel-v1\";"
							     " channel-id = <1>; peer = \"x\";"
							     " shm = <0 0x47000000 0 0x47000000 0 0x1000>; rights = \"read\"; };",
						    NULL)),
				 &cfg, &err),
		    HVM_E_CHANNEL, "VMCFG-070", "channel-id 1 is used twice");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    "\tch { compatible = \"avirt,channel-v1\"; channel-id = <1>;"
						    " peer = \"linux\"; shm = <0 0x49000000 0 0x48000000 0 0x10000>;"
						    " rights = \"read\"; };",
						    NULL)),
				 &cfg, &err),
		    HVM_E_OVERLAP, "VMCFG-063", "channel shm");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    DEV("0 0x9030000 0 0x9030000 0 0x1000",
							"spis = <10>;") "\n" CHAN("doorbell-spi = <10>;"),
						    NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-064", "doorbell SPI 10");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    "\tch { compatible = \"avirt,channel-v1\"; channel-id = <1>;"
						    " peer = \"linux\"; rights = \"read\"; };",
						    NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-070", "missing required property 'shm'");
	expect_fail(parse_single(single_dts(vm_body("nav", MEM, 1, "+",
						    "\tch { compatible = \"avirt,channel-v1\"; channel-id = <1>;"
						    " peer = \"linux\"; shm = <0 0x48000000 0 0x48000000 0 0x10000>;"
						    " rights = [72 65 61 64]; };",
						    NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-002", "rights");
}

/* ---- whole systems (VMCFG-011, VMCFG-080..087) ------------------------------ */

#define RTOS_CH(extra)                                                                             \
	"\tch { compatible = \"avirt,channel-v1\"; channel-id = <0>; peer = \"linux\";"            \
	" shm = <0 0x48000000 0 0x48000000 0 0x10000>; rights = \"read\", \"write\"" extra "; };"
#define LINUX_CH(extra)                                                                            \
	"\tch { compatible = \"avirt,channel-v1\"; channel-id = <3>; peer = \"rtos\";"             \
	" shm = <0 0x47000000 0 0x48000000 0 0x10000>; rights = \"read\"" extra "; };"

Test(system, channel_ends)
{
	expect_ok(parse_sys(system_dts(vm_body("rtos", MEM, 1, "+", RTOS_CH(""), NULL),
				       vm_body("linux", "0x50000000", 2, "+", LINUX_CH(""), NULL),
				       NULL),
			    sys, VMCFG_MAX_VMS, &nsys, &err));
	cr_assert_eq(nsys, 2);
	cr_assert_eq(sys[1].chan[0].shm.ipa, 0x47000000);
	/* unknown peer */
	expect_fail(parse_sys(system_dts(vm_body("rtos", MEM, 1, "+", RTOS_CH(""), NULL),
					 vm_body("nav", "0x50000000", 2, NULL), NULL),
			      sys, VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_CHANNEL, "VMCFG-087", "vm 'rtos': channel 0 names unknown vm 'linux'");
	/* peer exists but has no channel back */
	expect_fail(parse_sys(system_dts(vm_body("rtos", MEM, 1, "+", RTOS_CH(""), NULL),
					 vm_body("linux", "0x50000000", 2, NULL), NULL),
			      sys, VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_CHANNEL, "VMCFG-086", "has no channel back");
	/* same window, different sizes */
	expect_fail(parse_sys(system_dts(vm_body("rtos", MEM, 1, "+", RTOS_CH(""), NULL),
					 vm_body("linux", "0x50000000", 2, "+",
						 "\tch { compatible = \"avirt,channel-v1\"; channel-id = <3>;"
						 " peer = \"rtos\"; shm = <0 0x47000000 0 0x48000000 0 0x20000>;"
						 " rights = \"read\"; };",
						 NULL),
					 NULL),
			      sys, VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_CHANNEL, "VMCFG-086", "shm size");
	/* one end may ring, the other gives no doorbell interrupt */
	expect_fail(parse_sys(system_dts(vm_body("rtos", MEM, 1, "+",
						 RTOS_CH(", \"doorbell-send\""), NULL),
					 vm_body("linux", "0x50000000", 2, "+", LINUX_CH(""), NULL),
					 NULL),
			      sys, VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_CHANNEL, "VMCFG-086", "no doorbell-spi");
	expect_ok(parse_sys(system_dts(vm_body("rtos", MEM, 1, "+", RTOS_CH(", \"doorbell-send\""),
					       NULL),
				       vm_body("linux", "0x50000000", 2, "+",
					       LINUX_CH("; doorbell-spi = <5>"), NULL),
				       NULL),
			    sys, VMCFG_MAX_VMS, &nsys, &err));
	/* a third VM may not map the channel's memory */
	expect_fail(parse_sys(system_dts(vm_body("rtos", MEM, 1, "+", RTOS_CH(""), NULL),
					 vm_body("linux", "0x50000000", 2, "+", LINUX_CH(""), NULL),
					 vm_body("spy", "0x60000000", 3, "memory",
						 "<0 0x60000000 0 0x60000000 0 0x1000000>,"
						 "<0 0x48000000 0 0x48000000 0 0x1000>",
						 NULL),
					 NULL),
			      sys, VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_OVERLAP, "VMCFG-082",
		    "vm 'spy': memory region 1 at PA 0x48000000 overlaps channel 0 of vm 'rtos'");
}

Test(system, memory_devices_spis_between_vms)
{
	expect_fail(parse_sys(system_dts(vm_body("a", MEM, 1, NULL),
					 vm_body("b", "0x49800000", 2, "boot.fdt-address",
						 "<0 0x49900000>", NULL),
					 NULL),
			      sys, VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_OVERLAP, "VMCFG-082",
		    "vm 'b': memory region 0 at PA 0x49800000 overlaps memory region 0 of vm 'a'");
	/* different IPAs, same PA */
	expect_fail(parse_sys(system_dts(vm_body("a", MEM, 1, NULL),
					 vm_body("b", "0x60000000", 2, "memory",
						 "<0 0x60000000 0 0x49000000 0 0x01000000>", NULL),
					 NULL),
			      sys, VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_OVERLAP, "VMCFG-082", "overlaps memory region 0 of vm 'a'");
	/* same IPAs, different PAs: fine */
	expect_ok(parse_sys(system_dts(vm_body("a", MEM, 1, NULL),
				       vm_body("b", MEM, 2, "memory",
					       "<0 0x49000000 0 0x60000000 0 0x01000000>", NULL),
				       NULL),
			    sys, VMCFG_MAX_VMS, &nsys, &err));
	expect_fail(parse_sys(system_dts(vm_body("a", MEM, 1, "+",
						 DEV("0 0x9030000 0 0x9030000 0 0x1000", ""), NULL),
					 vm_body("b", "0x60000000", 2, "+",
						 DEV("0 0x9030000 0 0x9030000 0 0x1000", ""), NULL),
					 NULL),
			      sys, VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_OVERLAP, "VMCFG-082",
		    "device 0 at PA 0x9030000 overlaps device 0 of vm 'a'");
	expect_fail(parse_sys(system_dts(vm_body("a", MEM, 1, "+",
						 DEV("0 0x9030000 0 0x9030000 0 0x1000", "spis = <7>;"),
						 NULL),
					 vm_body("b", "0x60000000", 2, "+",
						 DEV("0 0x9040000 0 0x9040000 0 0x1000", "spis = <7>;"),
						 NULL),
					 NULL),
			      sys, VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-085", "SPI 7 is already given to vm 'a'");
}

Test(system, cpus_between_vms)
{
	/* two QM VMs may share a physical CPU (REQ-SAF-05: shared dynamically) */
	expect_ok(parse_sys(system_dts(vm_body("a", MEM, 1, NULL),
				       vm_body("b", "0x60000000", 1, NULL), NULL),
			    sys, VMCFG_MAX_VMS, &nsys, &err));
	/* an ASIL VM's CPU is its own, whichever is defined first (REQ-SAF-06) */
	expect_fail(parse_sys(system_dts(vm_body("a", MEM, 1, NULL),
					 vm_body("b", "0x60000000", 1, "criticality", "\"ASIL-A\"",
						 NULL),
					 NULL),
			      sys, VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_CPU, "VMCFG-084", "physical CPU 1 is shared with vm 'a'");
	expect_fail(parse_sys(system_dts(vm_body("a", MEM, 3, "criticality", "\"ASIL-D\"", NULL),
					 vm_body("b", "0x60000000", 2, "vcpus", "<2>", "cpus",
						 "<2 3>", NULL),
					 NULL),
			      sys, VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_CPU, "VMCFG-084", "ASIL-D");
}

Test(system, names_uuids_and_shape)
{
	expect_fail(parse_sys(system_dts(vm_body("a", MEM, 1, NULL),
					 vm_body("a", "0x60000000", 2, NULL), NULL),
			      sys, VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_EXISTS, "VMCFG-080", "vm 'a': the name is already defined");
	expect_fail(parse_sys(system_dts(vm_body("a", MEM, 1, "uuid",
						 "[00000000000000000000000000000001]", NULL),
					 vm_body("b", "0x60000000", 2, "uuid",
						 "[00000000000000000000000000000001]", NULL),
					 NULL),
			      sys, VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_EXISTS, "VMCFG-080", "uuid is already used by vm 'a'");
	/* room for one VM only */
	expect_fail(parse_sys(system_dts(vm_body("a", MEM, 1, NULL),
					 vm_body("b", "0x60000000", 2, NULL), NULL),
			      sys, 1, &nsys, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-011", "more than 1 VMs");
	expect_fail(parse_sys(strdup("/dts-v1/; / { compatible = \"avirt,system-config-v1\"; vms { }; };"),
			      sys, VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-011", "holds no VM");
	expect_fail(parse_sys(strdup("/dts-v1/; / { compatible = \"avirt,system-config-v1\"; };"),
			      sys, VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-011", "/vms");
	expect_fail(parse_sys(strdup("/dts-v1/; / { compatible = \"acme,board\"; };"), sys,
			      VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-010", "root node");
	expect_fail(parse_sys(strdup("/dts-v1/; / { compatible = \"avirt,system-config-v1\"; vms { x { }; }; };"),
			      sys, VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-010", "vm node 'x'");
	cr_assert_eq(nsys, 0);
}

Test(system, seventeen_vms_are_too_many)
{
	char *b[17];
	char mem[16];
	static struct vmcfg many[20];

	for (int i = 0; i < 17; i++) {
		char name[8];
		snprintf(name, sizeof(name), "vm%d", i);
		snprintf(mem, sizeof(mem), "0x%x", 0x49000000 + i * 0x01000000);
		b[i] = vm_body(name, mem, (unsigned)i, NULL);
	}
	expect_fail(parse_sys(system_dts(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
					 b[10], b[11], b[12], b[13], b[14], b[15], b[16], NULL),
			      many, 20, &nsys, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-011", "more than 16 VMs");
}

/* ---- DEFINE: one VM against defined VMs and the platform (VMCFG-081..087) -- */

static const struct vmcfg_platform qemu = {
	.pcpu_count = 4,
	.reserved_cpu_mask = 0x1, /* CPU 0 runs the hypervisor's service loop */
	.spi_count = 256,
	.nram = 1,
	.ram = { { 0x40000000, 0x40000000 } },
	.nreserved = 1,
	.reserved = { { 0x40000000, 0x02000000 } },
};

static void one(struct vmcfg *out, char *body)
{
	expect_ok(parse_single(single_dts(body), out, &err));
}

Test(define, platform_rules)
{
	struct vmcfg v;

	one(&v, vm_body("a", MEM, 1, NULL));
	expect_ok(vmcfg_check_against(&v, NULL, 0, &qemu, &err));
	one(&v, vm_body("a", MEM, 4, NULL));
	expect_fail(vmcfg_check_against(&v, NULL, 0, &qemu, &err), HVM_E_CPU, "VMCFG-083",
		    "the platform has 4 physical CPUs");
	one(&v, vm_body("a", MEM, 0, NULL));
	expect_fail(vmcfg_check_against(&v, NULL, 0, &qemu, &err), HVM_E_CPU, "VMCFG-083",
		    "physical CPU 0 is reserved");
	one(&v, vm_body("a", "0x41000000", 1, NULL));
	expect_fail(vmcfg_check_against(&v, NULL, 0, &qemu, &err), HVM_E_OVERLAP, "VMCFG-081",
		    "overlaps the hypervisor's reserved range 0x40000000");
	one(&v, vm_body("a", "0x30000000", 1, NULL));
	expect_fail(vmcfg_check_against(&v, NULL, 0, &qemu, &err), HVM_E_BAD_CONFIG, "VMCFG-081",
		    "not inside platform RAM");
	one(&v, vm_body("a", "0x7f800000", 1, NULL));
	expect_fail(vmcfg_check_against(&v, NULL, 0, &qemu, &err), HVM_E_BAD_CONFIG, "VMCFG-081",
		    "not inside platform RAM");
	one(&v, vm_body("a", MEM, 1, "+", DEV("0 0x9030000 0 0x9030000 0 0x1000", "spis = <256>;"),
			NULL));
	expect_fail(vmcfg_check_against(&v, NULL, 0, &qemu, &err), HVM_E_BAD_CONFIG, "VMCFG-085",
		    "the platform has 256 SPIs");
	/* a device outside RAM is fine: it is MMIO */
	one(&v,
	    vm_body("a", MEM, 1, "+", DEV("0 0x9030000 0 0x9030000 0 0x1000", "spis = <7>;"), NULL));
	expect_ok(vmcfg_check_against(&v, NULL, 0, &qemu, &err));
	/* no platform: only the VM-to-VM rules */
	one(&v, vm_body("a", "0x41000000", 7, NULL));
	expect_ok(vmcfg_check_against(&v, NULL, 0, NULL, &err));
}

Test(define, channels_one_at_a_time)
{
	struct vmcfg defined[2], v;

	/* the first end is accepted while its peer is not defined (VMCFG-087) ... */
	one(&defined[0], vm_body("rtos", MEM, 1, "+", RTOS_CH(""), NULL));
	expect_ok(vmcfg_check_against(&defined[0], NULL, 0, &qemu, &err));
	/* ... but its channel is not ready until the peer is */
	expect_fail(vmcfg_check_channels(&defined[0], defined, 1, &err), HVM_E_CHANNEL, "VMCFG-087",
		    "names unknown vm 'linux'");
	/* the peer with a mismatching end is refused at DEFINE */
	one(&v, vm_body("linux", "0x50000000", 2, "+",
			"\tch { compatible = \"avirt,channel-v1\"; channel-id = <3>; peer = \"rtos\";"
			" shm = <0 0x47000000 0 0x47000000 0 0x10000>; rights = \"read\"; };",
			NULL));
	expect_fail(vmcfg_check_against(&v, defined, 1, &qemu, &err), HVM_E_CHANNEL, "VMCFG-086",
		    "vm 'linux': channel 3: vm 'rtos' has no channel back with shm PA 0x47000000");
	/* the matching peer is accepted, and then both channels are ready */
	one(&defined[1], vm_body("linux", "0x50000000", 2, "+", LINUX_CH(""), NULL));
	expect_ok(vmcfg_check_against(&defined[1], defined, 1, &qemu, &err));
	expect_ok(vmcfg_check_channels(&defined[0], defined, 2, &err));
	expect_ok(vmcfg_check_channels(&defined[1], defined, 2, &err));
}

Test(define, null_arguments)
{
	expect_fail(vmcfg_check_against(NULL, NULL, 0, NULL, &err), HVM_E_BAD_ARG, "VMCFG-080", NULL);
	expect_fail(vmcfg_check_channels(NULL, NULL, 0, &err), HVM_E_BAD_ARG, "VMCFG-087", NULL);
	cr_assert_eq(vmcfg_parse_system(NULL, 0, sys, 1, &nsys, NULL, NULL), HVM_E_BAD_ARG);
}

Test(errors, message_is_bounded)
{
	char longname[600];

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	vmcfg_fail(&err, HVM_E_BAD_CONFIG, "VMCFG-999", "%s %s %lu 0x%lx %d %u", longname, longname,
		   18446744073709551615ul, 0xdeadbeeful, -5, 7u);
	cr_assert_eq(strlen(err.msg), sizeof(err.msg) - 1);
	vmcfg_fail(&err, HVM_E_BAD_CONFIG, "VMCFG-999", "%lu 0x%lx %d %u", 0ul, 0xfful,
		   -2147483647 - 1, 4294967295u);
	cr_assert_str_eq(err.msg, "0 0xff -2147483648 4294967295 (VMCFG-999)");
	cr_assert_eq(vmcfg_fail(NULL, 4, "x", "y"), 4);
	cr_assert_str_eq(vmcfg_fault_policy_name(9), "?");
}

/* ---- the management VM (VMCFG-027, VMCFG-088) ------------------------------ */

Test(management, property_marks_the_management_vm) /* VMCFG-027 */
{
	expect_ok(parse_single(single_dts(vm_body("svc", MEM, 1, NULL)), &cfg, &err));
	cr_assert_not(cfg.management, "absent = not the management VM");
	expect_ok(parse_single(single_dts(vm_body("svc", MEM, 1, "management", "", NULL)), &cfg,
			       &err));
	cr_assert(cfg.management);
	expect_ok(parse_single(single_dts(vm_body("svc", MEM, 1, "management", "<1>", NULL)), &cfg,
			       &err));
	cr_assert(cfg.management);
	expect_ok(parse_single(single_dts(vm_body("svc", MEM, 1, "management", "<0>", NULL)), &cfg,
			       &err));
	cr_assert_not(cfg.management);
	expect_fail(parse_single(single_dts(vm_body("svc", MEM, 1, "management", "<2>", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-027", "management must be empty, <0> or <1>");
	expect_fail(parse_single(single_dts(vm_body("svc", MEM, 1, "management", "\"yes\"", NULL)),
				 &cfg, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-027", "management");
}

Test(management, window_must_stay_free) /* VMCFG-027 */
{
	/* memory at IPA 0x40800000..0x417fffff covers the window at 0x41000000 */
	expect_fail(parse_single(single_dts(vm_body("svc", "0x40800000", 1, "management", "", NULL)),
				 &cfg, &err),
		    HVM_E_OVERLAP, "VMCFG-027",
		    "memory region 0 overlaps the management window at IPA 0x41000000");
	/* the same memory is fine for a VM that is not the management VM */
	expect_ok(parse_single(single_dts(vm_body("svc", "0x40800000", 1, NULL)), &cfg, &err));
	/* a channel window on top of it */
	expect_fail(parse_single(single_dts(vm_body("svc", MEM, 1, "management", "<1>", "+",
						    "ch { compatible = \"avirt,channel-v1\"; channel-id = <1>; peer = \"rtos\";"
						    " shm = <0 0x410ff000 0 0x4c000000 0 0x2000>; rights = \"read\"; };",
						    NULL)),
				 &cfg, &err),
		    HVM_E_OVERLAP, "VMCFG-027", "channel 1 overlaps the management window");
}

Test(management, only_one_management_vm) /* VMCFG-088 */
{
	expect_fail(parse_sys(system_dts(vm_body("svc", MEM, 1, "management", "", NULL),
					 vm_body("svc2", "0x4a000000", 2, "management", "", NULL),
					 NULL),
			      sys, VMCFG_MAX_VMS, &nsys, &err),
		    HVM_E_BAD_CONFIG, "VMCFG-088",
		    "vm 'svc2': vm 'svc' is already the management VM");
	expect_ok(parse_sys(system_dts(vm_body("svc", MEM, 1, "management", "", NULL),
				       vm_body("app", "0x4a000000", 2, NULL), NULL),
			    sys, VMCFG_MAX_VMS, &nsys, &err));
	cr_assert_eq(nsys, 2);
	cr_assert(sys[0].management);
	cr_assert_not(sys[1].management);
	/* DEFINE's check of a new VM against the defined ones */
	expect_ok(parse_single(single_dts(vm_body("svc3", "0x4b000000", 3, "management", "<1>", NULL)),
			       &cfg, &err));
	expect_fail(vmcfg_check_against(&cfg, sys, nsys, NULL, &err), HVM_E_BAD_CONFIG, "VMCFG-088",
		    "'svc' is already the management VM");
	cr_assert_eq(vmcfg_check_against(&cfg, &sys[1], 1, NULL, &err), HVM_OK, "%s", err.msg);
}
