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

/* The memory node after offset prev (-1: the first), or a negative value. */
static int next_memory(const void *fdt, int prev)
{
	return fdt_node_offset_by_prop_value(fdt, prev, "device_type", "memory", sizeof("memory"));
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

	/* hv-core's RAM: the memory node holding hv-core's image (a platform may
	 * list other memory nodes first, such as a slot store's, MGMT-660) */
	int found = 0;
	for (int mem = next_memory(fdt, -1); mem >= 0 && !found; mem = next_memory(fdt, mem)) {
		uint64_t b, n;
		for (int i = 0; !found && node_reg(fdt, mem, i, &b, &n) == 0; i++)
			if (b <= HV_IMAGE_BASE && HV_IMAGE_BASE - b < n) {
				platform.ram_base = b;
				platform.ram_size = n;
				found = 1;
			}
	}
	if (!found) {
		hv_snprintf(msg, msglen, "device tree: no memory node holds 0x%lx (hv-core's image)",
			    (unsigned long)HV_IMAGE_BASE);
		return -1;
	}

	if (platform.ram_size < HV_STAGING_SIZE ||
	    platform.ram_base + platform.ram_size - HV_STAGING_SIZE < HV_GUEST_BASE) {
		hv_snprintf(msg, msglen, "device tree: RAM 0x%lx+0x%lx leaves no staging area",
			    (unsigned long)platform.ram_base, (unsigned long)platform.ram_size);
		return -1;
	}
	platform.staging = platform.ram_base + platform.ram_size - HV_STAGING_SIZE;

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

	platform.gic_node = gic;

	int uart = find_uart(fdt);
	if (uart < 0 || node_reg(fdt, uart, 0, &platform.uart, &platform.uart_size) != 0) {
		hv_snprintf(msg, msglen, "device tree: no PL011 UART");
		return -1;
	}
	platform.uart_node = uart;
	platform.uart_spi = ~0u;
	int ilen;
	const fdt32_t *irq = fdt_getprop(fdt, uart, "interrupts", &ilen);
	if (irq && ilen >= 12 && fdt32_to_cpu(irq[0]) == 0) /* GIC_SPI */
		platform.uart_spi = fdt32_to_cpu(irq[1]);

	/* MGMT-600: the second bank of the platform's CFI flash is hv-core's */
	int flash = fdt_node_offset_by_compatible(fdt, -1, "cfi-flash");
	if (flash < 0 || node_reg(fdt, flash, 1, &platform.nv_base, &platform.nv_size) != 0)
		platform.nv_base = platform.nv_size = 0;

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

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Whether a reg entry of node overlaps [pa, +size) (with `inside`: holds it),
 * the entry widened to whole 4 KiB pages when `pages`. */
static int node_hits(const void *fdt, int node, uint64_t pa, uint64_t size, int inside, int pages,
		     int *idx)
{
	uint64_t a, n;
	for (int i = 0; node_reg(fdt, node, i, &a, &n) == 0; i++) {
		if (pages) {
			n = ((a + n + 0xFFF) & ~0xFFFull) - (a & ~0xFFFull);
			a &= ~0xFFFull;
		}
		if (inside ? (pa >= a && size <= n && pa - a <= n - size) : overlaps(pa, size, a, n)) {
			if (idx)
				*idx = i;
			return 1;
		}
	}
	return 0;
}

int platform_set_slot_store(uint64_t base, uint64_t size, char *msg, unsigned msglen)
{
	const void *fdt = platform.fdt;
	if (size == 0 || ((base | size) & 0x1FFFFF) || base + size < base ||
	    base + size > (4ull << 30)) {
		hv_snprintf(msg, msglen,
			    "slot store 0x%lx+0x%lx: must be non-empty, 2 MiB aligned and below "
			    "4 GiB (MGMT-661)",
			    (unsigned long)base, (unsigned long)size);
		return -1;
	}
	if (overlaps(base, size, platform.ram_base, platform.ram_size)) {
		hv_snprintf(msg, msglen, "slot store 0x%lx+0x%lx: overlaps hv-core's RAM (MGMT-661)",
			    (unsigned long)base, (unsigned long)size);
		return -1;
	}
	for (int mem = next_memory(fdt, -1); mem >= 0; mem = next_memory(fdt, mem))
		if (node_hits(fdt, mem, base, size, 1, 0, NULL)) {
			platform.slot_base = base;
			platform.slot_size = size;
			return 0;
		}
	hv_snprintf(msg, msglen,
		    "slot store 0x%lx+0x%lx: not inside a memory node of the platform (MGMT-661)",
		    (unsigned long)base, (unsigned long)size);
	return -1;
}

const char *platform_hv_owned(uint64_t pa, uint64_t size)
{
	static const char *const gic_frames[] = { "GIC distributor", "GIC redistributors",
						  "GIC CPU interface", "GIC hypervisor interface",
						  "GIC virtual CPU interface" };
	const void *fdt = platform.fdt;
	int idx, sub;
	if (overlaps(pa, size, platform.ram_base, platform.ram_size))
		return "RAM";
	if (node_hits(fdt, platform.gic_node, pa, size, 0, 0, &idx))
		return idx < 5 ? gic_frames[idx] : "GIC";
	fdt_for_each_subnode(sub, fdt, platform.gic_node)
	{
		if (node_hits(fdt, sub, pa, size, 0, 0, NULL))
			return "GIC ITS";
	}
	if (overlaps(pa, size, platform.uart, platform.uart_size ? platform.uart_size : 0x1000))
		return "hv-core's UART";
	if (platform.nv_size && overlaps(pa, size, platform.nv_base, platform.nv_size))
		return "hv-core's non-volatile storage";
	if (platform.slot_size && overlaps(pa, size, platform.slot_base, platform.slot_size))
		return "hv-core's slot store";
	return NULL;
}

int platform_next_device(int prev, uint64_t pa, uint64_t size, int *holds)
{
	const void *fdt = platform.fdt;
	int node = prev < 0 ? fdt_first_subnode(fdt, 0) : fdt_next_subnode(fdt, prev);
	for (; node >= 0; node = fdt_next_subnode(fdt, node)) {
		const char *status = fdt_getprop(fdt, node, "status", NULL);
		if (status && strcmp(status, "okay") != 0 && strcmp(status, "ok") != 0)
			continue;
		if (node_hits(fdt, node, pa, size, 0, 1, NULL)) {
			*holds = node_hits(fdt, node, pa, size, 1, 1, NULL);
			return node;
		}
	}
	return -1;
}
