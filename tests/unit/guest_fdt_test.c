/*
 * guest_fdt_test.c - unit tests of the guest device tree generator
 * (docs/vm-config.md, VMCFG-090..097): the output is checked node by node with
 * libfdt and decompiled with dtc, the way a guest's kernel would read it.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libfdt.h>

#include "hvvmconfig.h"
#include "vmconfig_blob.h"

#define EX(name) VMCFG_EXAMPLES_DIR "/" name ".dtb"

/* QEMU virt, gic-version=3 (../shared FACTS: GICD, GICR, PL011, timer PPIs). */
static const struct guest_fdt_platform qemu = {
	.gicd_ipa = 0x08000000,
	.gicd_size = 0x10000,
	.gicr_ipa = 0x080A0000,
	.gicr_stride = 0x20000,
	.uart_ipa = 0x09000000,
	.uart_size = 0x1000,
	.uart_spi = 1,
	.uart_clock_hz = 24000000,
	.timer_ppi = { 13, 14, 11, 10 },
	.coop_ipa = 0x0B000000, /* docs/guest-abi.md */
};

static struct vmcfg cfg;
static struct vmcfg_err err;
static uint64_t dtb_words[8192];
static void *const dtb = dtb_words;

static void load(const char *path)
{
	struct blob b;

	cr_assert(blob_from_file(path, &b), "%s", path);
	cr_assert_eq(vmcfg_parse(b.data, b.len, 0, &cfg, &err), HVM_OK, "%s", err.msg);
	blob_free(&b);
}

static void build(void)
{
	int rc = guest_fdt_build(&cfg, &qemu, dtb, sizeof(dtb_words), &err);

	cr_assert_eq(rc, HVM_OK, "%s", err.msg);
	cr_assert_eq(fdt_check_full(dtb, sizeof(dtb_words)), 0);
}

static int node(const char *path)
{
	int off = fdt_path_offset(dtb, path);

	cr_assert_geq(off, 0, "node %s missing", path);
	return off;
}

static const void *getprop(const char *path, const char *name, int *len)
{
	const void *p = fdt_getprop(dtb, node(path), name, len);

	cr_assert(p, "%s:%s missing", path, name);
	return p;
}

static const char *str(const char *path, const char *name)
{
	int len;
	const char *s = getprop(path, name, &len);

	cr_assert_eq(s[len - 1], '\0');
	return s;
}

static uint32_t cell(const void *p, int i)
{
	return fdt32_to_cpu(((const fdt32_t *)p)[i]);
}

static uint64_t cell64(const void *p, int i)
{
	return ((uint64_t)cell(p, i) << 32) | cell(p, i + 1);
}

/* Decompile with dtc: the tree must parse and draw no warning. */
static void dtc_decodes(void)
{
	char dir[] = "/tmp/guestfdt-XXXXXX", in[64], out[64], errf[64], cmd[320], msg[1024] = "";
	FILE *f;
	size_t n = 0;
	int rc = -1;

	cr_assert(mkdtemp(dir));
	snprintf(in, sizeof(in), "%s/g.dtb", dir);
	snprintf(out, sizeof(out), "%s/g.dts", dir);
	snprintf(errf, sizeof(errf), "%s/err", dir);
	f = fopen(in, "wb");
	if (f) {
		fwrite(dtb, 1, fdt_totalsize(dtb), f);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "%s -I dtb -O dts -o %s %s 2>%s", DTC_EXECUTABLE, out,
			 in, errf);
		rc = system(cmd);
		f = fopen(errf, "r");
		if (f) {
			n = fread(msg, 1, sizeof(msg) - 1, f);
			msg[n] = '\0';
			fclose(f);
		}
	}
	/* clean up first, so a failed assertion leaves nothing behind */
	unlink(in);
	unlink(out);
	unlink(errf);
	rmdir(dir);
	cr_assert_eq(rc, 0, "dtc failed: %s", msg);
	cr_assert_eq(n, 0, "dtc warned: %s", msg);
}

Test(guest_fdt, linux_guest) /* VMCFG-092..097 */
{
	const void *p;
	int len, off, n = 0;

	load(EX("linux"));
	build();

	cr_assert_str_eq(str("/", "compatible"), "avirt,guest-v1");
	p = getprop("/", "#address-cells", &len);
	cr_assert_eq(cell(p, 0), 2);

	/* memory: the VM's IPAs, not its PAs */
	cr_assert_str_eq(str("/memory@40000000", "device_type"), "memory");
	p = getprop("/memory@40000000", "reg", &len);
	cr_assert_eq(len, 16);
	cr_assert_eq(cell64(p, 0), 0x40000000);
	cr_assert_eq(cell64(p, 2), 0x10000000);

	/* its two vCPUs, PSCI over HVC */
	fdt_for_each_subnode(off, dtb, node("/cpus"))
	{
		cr_assert_str_eq(fdt_getprop(dtb, off, "enable-method", NULL), "psci");
		cr_assert_str_eq(fdt_getprop(dtb, off, "device_type", NULL), "cpu");
		cr_assert_eq(cell(fdt_getprop(dtb, off, "reg", NULL), 0), (uint32_t)n);
		n++;
	}
	cr_assert_eq(n, 2);
	cr_assert_str_eq(str("/psci", "method"), "hvc");
	cr_assert_eq(fdt_node_check_compatible(dtb, node("/psci"), "arm,psci-1.0"), 0);
	cr_assert_eq(fdt_node_check_compatible(dtb, node("/psci"), "arm,psci-0.2"), 0);

	/* timer: four PPIs in binding order, level high */
	cr_assert_eq(fdt_node_check_compatible(dtb, node("/timer"), "arm,armv8-timer"), 0);
	p = getprop("/timer", "interrupts", &len);
	cr_assert_eq(len, 48);
	cr_assert_eq(cell(p, 0), 1);
	cr_assert_eq(cell(p, 1), 13);
	cr_assert_eq(cell(p, 2), 4);
	cr_assert_eq(cell(p, 7), 11);
	cr_assert_eq(cell(p, 10), 10);

	/* GICv3: distributor + one redistributor frame per vCPU */
	off = node("/intc@8000000");
	cr_assert_eq(fdt_node_check_compatible(dtb, off, "arm,gic-v3"), 0);
	cr_assert(fdt_getprop(dtb, off, "interrupt-controller", NULL));
	p = getprop("/intc@8000000", "reg", &len);
	cr_assert_eq(len, 32);
	cr_assert_eq(cell64(p, 0), 0x08000000);
	cr_assert_eq(cell64(p, 4), 0x080A0000);
	cr_assert_eq(cell64(p, 6), 2 * 0x20000);
	cr_assert_eq(fdt_get_phandle(dtb, off), cell(getprop("/", "interrupt-parent", &len), 0));

	/* PL011 with its clock */
	off = node("/pl011@9000000");
	cr_assert_eq(fdt_node_check_compatible(dtb, off, "arm,pl011"), 0);
	cr_assert_eq(fdt_node_check_compatible(dtb, off, "arm,primecell"), 0);
	p = getprop("/pl011@9000000", "interrupts", &len);
	cr_assert_eq(cell(p, 0), 0);
	cr_assert_eq(cell(p, 1), 1);
	p = getprop("/pl011@9000000", "clocks", &len);
	cr_assert_eq(fdt_node_offset_by_phandle(dtb, cell(p, 0)), node("/apb-pclk"));
	cr_assert_eq(cell(getprop("/apb-pclk", "clock-frequency", &len), 0), 24000000);

	/* chosen */
	cr_assert_str_eq(str("/chosen", "bootargs"), "console=ttyAMA0 earlycon");
	cr_assert_geq(fdt_path_offset(dtb, str("/chosen", "stdout-path")), 0);
	cr_assert_eq(cell64(getprop("/chosen", "linux,initrd-start", &len), 0), 0x48000000);
	cr_assert_eq(cell64(getprop("/chosen", "linux,initrd-end", &len), 0), 0x49000000);

	/* the guest ABI's hypervisor node (GABI-010), found by compatible and by name */
	off = fdt_node_offset_by_compatible(dtb, -1, "avirt,hypervisor-v1");
	cr_assert_geq(off, 0);
	cr_assert_eq(off, node("/hypervisor"));
	p = getprop("/hypervisor", "reg", &len);
	cr_assert_eq(cell64(p, 0), 0x0B000000);
	cr_assert_eq(cell64(p, 2), 0x1000);
	cr_assert_str_eq(str("/hypervisor", "vm-name"), "linux");

	/* nothing physical of other VMs or of the board leaks in */
	cr_assert_lt(fdt_path_offset(dtb, "/reserved-memory"), 0);
	dtc_decodes();
}

Test(guest_fdt, rtos_guest_with_channel) /* VMCFG-097 */
{
	struct blob b;
	struct vmcfg sys[4];
	struct vmcfg_err e;
	size_t n;
	const void *p;
	int len, off;

	cr_assert(blob_from_file(EX("system"), &b));
	cr_assert_eq(vmcfg_parse_system(b.data, b.len, sys, 4, &n, NULL, &e), HVM_OK, "%s", e.msg);
	blob_free(&b);
	cfg = sys[0];
	build();
	cr_assert_str_eq(str("/chosen", "stdout-path"), "/pl011@9000000");
	cr_assert_lt(fdt_path_offset(dtb, "/chosen/bootargs"), 0);
	cr_assert_eq(fdt_getprop(dtb, node("/chosen"), "linux,initrd-start", &len), NULL);
	off = node("/hypervisor/channel@c000000");
	cr_assert_eq(fdt_node_check_compatible(dtb, off, "avirt,channel-v1"), 0);
	p = getprop("/hypervisor/channel@c000000", "reg", &len);
	cr_assert_eq(cell64(p, 0), 0x0c000000); /* the IPA, never the PA */
	cr_assert_eq(cell64(p, 2), 0x10000);
	cr_assert_str_eq(str("/hypervisor/channel@c000000", "peer"), "linux");
	cr_assert_eq(fdt_stringlist_count(dtb, off, "rights"), 3);
	cr_assert_eq(fdt_stringlist_search(dtb, off, "rights", "doorbell-send"), 2);
	p = getprop("/hypervisor/channel@c000000", "interrupts", &len);
	cr_assert_eq(cell(p, 0), 0);
	cr_assert_eq(cell(p, 1), 10);
	cr_assert_eq(cell(p, 2), 1);
	p = getprop("/cpus", "#address-cells", &len);
	cr_assert_eq(fdt_path_offset(dtb, "/cpus/cpu@1"), -FDT_ERR_NOTFOUND);
	dtc_decodes();
}

Test(guest_fdt, without_vuart)
{
	cr_assert_eq(parse_single(single_dts(vm_body("nav", "0x49000000", 1, NULL)), &cfg, &err),
		     HVM_OK, "%s", err.msg);
	build();
	cr_assert_lt(fdt_path_offset(dtb, "/pl011@9000000"), 0);
	cr_assert_lt(fdt_path_offset(dtb, "/apb-pclk"), 0);
	cr_assert_eq(fdt_getprop(dtb, node("/chosen"), "stdout-path", NULL), NULL);
	dtc_decodes();
}

Test(guest_fdt, several_memory_regions)
{
	const void *p;
	int len;

	cr_assert_eq(parse_single(single_dts(vm_body("nav", "0x49000000", 1, "memory",
						     "<0 0x49000000 0 0x70000000 0 0x01000000>,"
						     "<0 0x80000000 0 0x71000000 0 0x00100000>",
						     NULL)),
				  &cfg, &err),
		     HVM_OK, "%s", err.msg);
	build();
	p = getprop("/memory@49000000", "reg", &len);
	cr_assert_eq(len, 32);
	cr_assert_eq(cell64(p, 4), 0x80000000);
	cr_assert_eq(cell64(p, 6), 0x100000);
	dtc_decodes();
}

Test(guest_fdt, buffer_too_small_is_refused_cleanly)
{
	size_t need;

	load(EX("linux"));
	build();
	need = fdt_totalsize(dtb);
	for (size_t size = 0; size < need; size += 7) {
		/* exactly size bytes, so ASan catches a write past the end */
		void *buf = malloc(size ? size : 1);
		int rc = guest_fdt_build(&cfg, &qemu, buf, size, &err);
		cr_assert_eq(rc, HVM_E_BAD_ARG, "size %zu: %d %s", size, rc, err.msg);
		cr_assert(strstr(err.msg, "does not fit"), "%s", err.msg);
		cr_assert_str_eq(err.rule, "VMCFG-090");
		free(buf);
	}
	void *buf = malloc(need);
	cr_assert_eq(guest_fdt_build(&cfg, &qemu, buf, need, &err), HVM_OK, "%s", err.msg);
	free(buf);
}

Test(guest_fdt, platform_windows_must_not_hit_the_vm) /* VMCFG-091 */
{
	struct guest_fdt_platform p = qemu;

	load(EX("linux"));
	p.coop_ipa = 0x40001000;
	cr_assert_eq(guest_fdt_build(&cfg, &p, dtb, sizeof(dtb_words), &err), HVM_E_OVERLAP);
	cr_assert(strstr(err.msg, "cooperation page at 0x40001000 overlaps memory region 0"), "%s",
		  err.msg);
	p = qemu;
	p.uart_ipa = 0x08000000;
	cr_assert_eq(guest_fdt_build(&cfg, &p, dtb, sizeof(dtb_words), &err), HVM_E_BAD_ARG);
	cr_assert(strstr(err.msg, "virtual UART overlaps GIC distributor"), "%s", err.msg);
	p = qemu;
	p.gicr_ipa = 0xffffffffff000ull;
	cr_assert_eq(guest_fdt_build(&cfg, &p, dtb, sizeof(dtb_words), &err), HVM_E_BAD_ARG);
	cr_assert_str_eq(err.rule, "VMCFG-091");
}

Test(guest_fdt, unvalidated_configuration_is_refused) /* VMCFG-090 */
{
	load(EX("linux"));
	cfg.vcpus = 0;
	cr_assert_eq(guest_fdt_build(&cfg, &qemu, dtb, sizeof(dtb_words), &err), HVM_E_BAD_ARG);
	load(EX("linux"));
	cfg.nmem = VMCFG_MAX_MEM + 1;
	cr_assert_eq(guest_fdt_build(&cfg, &qemu, dtb, sizeof(dtb_words), &err), HVM_E_BAD_ARG);
	load(EX("linux"));
	memset(cfg.boot.bootargs, 'a', sizeof(cfg.boot.bootargs));
	cr_assert_eq(guest_fdt_build(&cfg, &qemu, dtb, sizeof(dtb_words), &err), HVM_E_BAD_ARG);
	cr_assert_eq(guest_fdt_build(NULL, &qemu, dtb, sizeof(dtb_words), &err), HVM_E_BAD_ARG);
	cr_assert_eq(guest_fdt_build(&cfg, NULL, dtb, sizeof(dtb_words), &err), HVM_E_BAD_ARG);
}

/* VMCFG-098, docs/mgmt-abi.md MGMT-003: the management VM finds the region. */
Test(guest_fdt, management_vm_gets_the_mgmt_node)
{
	struct guest_fdt_platform p = qemu;
	const void *v;
	int len;

	p.mgmt_ipa = 0x41000000;
	p.mgmt_size = 0x100000;
	cr_assert_eq(parse_single(single_dts(vm_body("svc", "0x49000000", 1, "management", "", NULL)),
				  &cfg, &err),
		     HVM_OK, "%s", err.msg);
	cr_assert_eq(guest_fdt_build(&cfg, &p, dtb, sizeof(dtb_words), &err), HVM_OK, "%s", err.msg);
	cr_assert_eq(fdt_check_full(dtb, sizeof(dtb_words)), 0);
	cr_assert_str_eq(str("/reserved-memory/hv-mgmt@41000000", "compatible"), "avirt,mgmt-v1");
	v = getprop("/reserved-memory/hv-mgmt@41000000", "reg", &len);
	cr_assert_eq(len, 16);
	cr_assert_eq(cell64(v, 0), 0x41000000);
	cr_assert_eq(cell64(v, 2), 0x100000);
	getprop("/reserved-memory/hv-mgmt@41000000", "no-map", &len);
	cr_assert_eq(len, 0);
	cr_assert_eq(cell(getprop("/reserved-memory", "#address-cells", &len), 0), 2);
	cr_assert_eq(cell(getprop("/reserved-memory", "#size-cells", &len), 0), 2);
	getprop("/reserved-memory", "ranges", &len);
	dtc_decodes();

	/* any other VM: no such node, even with the window given */
	cr_assert_eq(parse_single(single_dts(vm_body("app", "0x49000000", 1, NULL)), &cfg, &err),
		     HVM_OK, "%s", err.msg);
	cr_assert_eq(guest_fdt_build(&cfg, &p, dtb, sizeof(dtb_words), &err), HVM_OK, "%s", err.msg);
	cr_assert_lt(fdt_path_offset(dtb, "/reserved-memory"), 0);
}

Test(guest_fdt, management_vm_needs_a_window) /* VMCFG-098 */
{
	struct guest_fdt_platform p = qemu;

	cr_assert_eq(parse_single(single_dts(vm_body("svc", "0x49000000", 1, "management", "", NULL)),
				  &cfg, &err),
		     HVM_OK, "%s", err.msg);
	cr_assert_eq(guest_fdt_build(&cfg, &p, dtb, sizeof(dtb_words), &err), HVM_E_BAD_ARG);
	cr_assert_str_eq(err.rule, "VMCFG-098");
	cr_assert(strstr(err.msg, "no page-aligned management window"), "%s", err.msg);
	p.mgmt_ipa = 0x41000800;
	p.mgmt_size = 0x100000;
	cr_assert_eq(guest_fdt_build(&cfg, &p, dtb, sizeof(dtb_words), &err), HVM_E_BAD_ARG);
	/* a window on the VM's memory is an overlap */
	p.mgmt_ipa = 0x49000000;
	cr_assert_eq(guest_fdt_build(&cfg, &p, dtb, sizeof(dtb_words), &err), HVM_E_OVERLAP);
	cr_assert(strstr(err.msg, "management window at 0x49000000 overlaps memory region 0"), "%s",
		  err.msg);
}

Test(guest_fdt, virtio_devices) /* VMCFG-484, VMCFG-091 */
{
	load(EX("linux"));
	cfg.nvirtio = 2;
	cfg.virtio[0] =
		(struct vmcfg_virtio){ .name = "rng", .type = 4, .ipa = 0x0a000000, .spi = 16 };
	cfg.virtio[1] =
		(struct vmcfg_virtio){ .name = "con", .type = 3, .ipa = 0x0a000200, .spi = 17 };
	build();
	dtc_decodes();
	int len;
	cr_expect_str_eq(str("/virtio_mmio@a000000", "compatible"), "virtio,mmio");
	const void *reg = getprop("/virtio_mmio@a000200", "reg", &len);
	cr_assert_eq(len, 16);
	cr_expect_eq(cell64(reg, 0), 0x0a000200);
	cr_expect_eq(cell64(reg, 2), 0x200);
	const void *irq = getprop("/virtio_mmio@a000200", "interrupts", &len);
	cr_assert_eq(len, 12);
	cr_expect_eq(cell(irq, 0), 0); /* SPI */
	cr_expect_eq(cell(irq, 1), 17);
	cr_expect_eq(cell(irq, 2), 1); /* edge */
	getprop("/virtio_mmio@a000000", "dma-coherent", &len);
	cr_expect_eq(len, 0);

	/* a virtio window on a platform window */
	cfg.virtio[1].ipa = qemu.uart_ipa + 0x200;
	cr_assert_eq(guest_fdt_build(&cfg, &qemu, dtb, sizeof(dtb_words), &err), HVM_E_OVERLAP);
	cr_expect_str_eq(err.rule, "VMCFG-091");
	cr_expect(strstr(err.msg, "virtual UART") && strstr(err.msg, "virtio device 'con'"), "%s",
		  err.msg);
}
