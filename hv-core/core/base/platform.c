/*
 * platform.c - reads the platform device tree with libfdt: memory, CPUs, GICv3,
 * UART, PSCI method. The DTB is first copied into hv-core's .bss because the
 * boot loader may have placed it in memory later given to guests.
 *
 * libfdt is Debian's arm64 build and may use FP/SIMD registers. It is called only
 * on the service CPU (CPU 0), which never runs a guest, so no guest FP/SIMD
 * state can be disturbed (CPTR_EL2.TFP is 0 so it does not trap).
 */
#include <string.h>
#include <libfdt.h>
#include "platform.h"
#include "fmt.h"

#define FDT_COPY_MAX (1024 * 1024)

struct platform platform;
static uint8_t fdt_copy[FDT_COPY_MAX] __attribute__((aligned(8)));

static uint64_t read_cells(const fdt32_t *p, int cells)
{
	uint64_t v = 0;
	for (int i = 0; i < cells; i++)
		v = (v << 32) | fdt32_to_cpu(p[i]);
	return v;
}

/* reg entry `idx` of node: address and size by the parent's #address/#size-cells */
static int node_reg(const void *fdt, int node, int idx, uint64_t *addr, uint64_t *size)
{
	int parent = fdt_parent_offset(fdt, node);
	int ac = fdt_address_cells(fdt, parent), sc = fdt_size_cells(fdt, parent);
	int len;
	const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);
	if (!reg || ac < 1 || ac > 2 || sc < 0 || sc > 2 || len < (idx + 1) * (ac + sc) * 4)
		return -1;
	reg += idx * (ac + sc);
	*addr = read_cells(reg, ac);
	if (size)
		*size = sc ? read_cells(reg + ac, sc) : 0;
	return 0;
}

static int find_uart(const void *fdt)
{
	int chosen = fdt_path_offset(fdt, "/chosen");
	if (chosen >= 0) {
		int len;
		const char *path = fdt_getprop(fdt, chosen, "stdout-path", &len);
		if (path && len > 0) {
			char buf[128];
			strlcpy(buf, path, sizeof(buf));
			char *colon = strchr(buf, ':');
			if (colon)
				*colon = 0;
			int n = fdt_path_offset(fdt, buf);
			if (n >= 0)
				return n;
		}
	}
	return fdt_node_offset_by_compatible(fdt, -1, "arm,pl011");
}

int platform_init(uint64_t dtb_pa, char *msg, unsigned msglen)
{
	const void *src = (const void *)(uintptr_t)dtb_pa;
	platform.dtb_pa = dtb_pa;
	if (!dtb_pa || fdt_check_header(src) != 0) {
		hv_snprintf(msg, msglen, "no valid device tree at 0x%lx (x0 at entry)",
			    (unsigned long)dtb_pa);
		return -1;
	}
	int err = fdt_open_into(src, fdt_copy, sizeof(fdt_copy));
	if (err) {
		hv_snprintf(msg, msglen, "device tree at 0x%lx: %s (size %u, room %u)",
			    (unsigned long)dtb_pa, fdt_strerror(err), fdt_totalsize(src),
			    (unsigned)sizeof(fdt_copy));
		return -1;
	}
	void *fdt = fdt_copy;
	platform.fdt = fdt;

	int mem = fdt_node_offset_by_prop_value(fdt, -1, "device_type", "memory", sizeof("memory"));
	if (mem < 0 || node_reg(fdt, mem, 0, &platform.ram_base, &platform.ram_size) != 0) {
		hv_snprintf(msg, msglen, "device tree: no memory node with a reg property");
		return -1;
	}

	int cpus = fdt_path_offset(fdt, "/cpus");
	if (cpus < 0) {
		hv_snprintf(msg, msglen, "device tree: no /cpus node");
		return -1;
	}
	int cpu;
	platform.ncpus = 0;
	fdt_for_each_subnode(cpu, fdt, cpus)
	{
		const char *type = fdt_getprop(fdt, cpu, "device_type", NULL);
		uint64_t mpidr;
		if (!type || strcmp(type, "cpu") != 0 || node_reg(fdt, cpu, 0, &mpidr, NULL) != 0)
			continue;
		if (platform.ncpus == HV_MAX_CPUS)
			break;
		platform.cpu_mpidr[platform.ncpus++] = mpidr;
	}
	if (platform.ncpus == 0) {
		hv_snprintf(msg, msglen, "device tree: no cpu nodes under /cpus");
		return -1;
	}

	int gic = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3");
	if (gic < 0 || node_reg(fdt, gic, 0, &platform.gicd, &platform.gicd_size) != 0 ||
	    node_reg(fdt, gic, 1, &platform.gicr, &platform.gicr_size) != 0) {
		hv_snprintf(msg, msglen,
			    "device tree: no arm,gic-v3 node with distributor and redistributor");
		return -1;
	}

	int uart = find_uart(fdt);
	if (uart < 0 || node_reg(fdt, uart, 0, &platform.uart, NULL) != 0) {
		hv_snprintf(msg, msglen, "device tree: no PL011 UART");
		return -1;
	}

	int psci = fdt_node_offset_by_compatible(fdt, -1, "arm,psci-0.2");
	if (psci < 0)
		psci = fdt_node_offset_by_compatible(fdt, -1, "arm,psci");
	const char *method = psci >= 0 ? fdt_getprop(fdt, psci, "method", NULL) : NULL;
	if (platform.ncpus > 1 && (!method || strcmp(method, "smc") != 0)) {
		hv_snprintf(msg, msglen,
			    "device tree: PSCI method is %s, hv-core at EL2 needs \"smc\"",
			    method ? method : "missing");
		return -1;
	}
	return 0;
}
