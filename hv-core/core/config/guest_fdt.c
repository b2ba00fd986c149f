/*
 * guest_fdt.c - write a guest's device tree with libfdt's sequential-write API
 * (docs/vm-config.md, VMCFG-090..097).
 *
 * The guest learns everything about its machine from this tree (REQ-AVP-02):
 * its memory as IPAs, only its own vCPUs, PSCI over HVC, the timer, its GICv3
 * windows, the virtual PL011, /chosen, the hypervisor node of the guest ABI
 * with the cooperation page, and its inter-VM channels. What Linux needs to
 * boot is here and nothing it would trip over: no physical addresses, no other
 * VM, no device the VM does not own.
 */
#include <libfdt.h>

#include "fmt.h"
#include "vmcfg_read.h"

#define PHANDLE_GIC 1u
#define PHANDLE_CLK 2u

#define GIC_SPI 0u
#define GIC_PPI 1u
#define IRQ_EDGE_RISING 1u
#define IRQ_LEVEL_HIGH 4u

/* Node name "base@hex" into buf. */
static void unit_name(char *buf, size_t cap, const char *base, uint64_t addr)
{
	hv_snprintf(buf, cap, "%s@%lx", base, (unsigned long)addr);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

/* <addr size> with two cells each */
static int prop_reg(void *fdt, uint64_t a, uint64_t s)
{
	uint8_t v[16];

	put_be64(v, a);
	put_be64(v + 8, s);
	return fdt_property(fdt, "reg", v, sizeof(v));
}

static int prop_irq(void *fdt, uint32_t type, uint32_t num, uint32_t flags)
{
	uint8_t v[12];

	put_be32(v, type);
	put_be32(v + 4, num);
	put_be32(v + 8, flags);
	return fdt_property(fdt, "interrupts", v, sizeof(v));
}

/* VMCFG-091: the platform windows must not land on the VM's memory or channels. */
static int check_windows(const struct vmcfg *cfg, const struct guest_fdt_platform *plat,
			 struct vmcfg_err *err)
{
	struct {
		const char *what;
		uint64_t base, size;
	} w[5] = {
		{ "GIC distributor", plat->gicd_ipa, plat->gicd_size },
		{ "GIC redistributors", plat->gicr_ipa, plat->gicr_stride * cfg->vcpus },
		{ "virtual UART", plat->uart_ipa, cfg->vuart ? plat->uart_size : 0 },
		{ "cooperation page", plat->coop_ipa, 0x1000 },
		{ "management window", cfg->management ? plat->mgmt_ipa : 0,
		  cfg->management ? plat->mgmt_size : 0 },
	};
	uint32_t i, k;

	if (cfg->management && (plat->mgmt_size == 0 || (plat->mgmt_ipa | plat->mgmt_size) & 0xFFF))
		return vmcfg_fail(err, HVM_E_BAD_ARG, "VMCFG-098",
				  "vm '%s': guest device tree: no page-aligned management window given",
				  cfg->name);
	for (k = 0; k < 5; k++) {
		if (w[k].base >= VMCFG_IPA_LIMIT || w[k].size > VMCFG_IPA_LIMIT - w[k].base)
			return vmcfg_fail(err, HVM_E_BAD_ARG, "VMCFG-091",
					  "vm '%s': guest device tree: %s at 0x%lx is outside the IPA space",
					  cfg->name, w[k].what, w[k].base);
		for (i = 0; i < cfg->nmem; i++)
			if (cfg_overlaps(w[k].base, w[k].size, cfg->mem[i].ipa, cfg->mem[i].size))
				return vmcfg_fail(err, HVM_E_OVERLAP, "VMCFG-091",
						  "vm '%s': guest device tree: %s at 0x%lx overlaps memory region %u",
						  cfg->name, w[k].what, w[k].base, i);
		for (i = 0; i < cfg->nchan; i++)
			if (cfg_overlaps(w[k].base, w[k].size, cfg->chan[i].shm.ipa,
					 cfg->chan[i].shm.size))
				return vmcfg_fail(err, HVM_E_OVERLAP, "VMCFG-091",
						  "vm '%s': guest device tree: %s at 0x%lx overlaps channel %u",
						  cfg->name, w[k].what, w[k].base, cfg->chan[i].id);
		for (i = 0; i < cfg->nvirtio && i < VMCFG_MAX_VIRTIO; i++)
			if (cfg_overlaps(w[k].base, w[k].size, cfg->virtio[i].ipa,
					 VMCFG_VIRTIO_WINDOW))
				return vmcfg_fail(err, HVM_E_OVERLAP, "VMCFG-091",
						  "vm '%s': guest device tree: %s at 0x%lx overlaps virtio device '%s'",
						  cfg->name, w[k].what, w[k].base,
						  cfg->virtio[i].name);
		for (i = 0; i < k; i++)
			if (cfg_overlaps(w[k].base, w[k].size, w[i].base, w[i].size))
				return vmcfg_fail(err, HVM_E_BAD_ARG, "VMCFG-091",
						  "vm '%s': guest device tree: %s overlaps %s",
						  cfg->name, w[k].what, w[i].what);
	}
	return HVM_OK;
}

/* The nodes, in the order a reader of the decompiled tree expects them. */
static int emit(void *fdt, const struct vmcfg *cfg, const struct guest_fdt_platform *plat)
{
	uint8_t cells[VMCFG_MAX_MEM * 16];
	char name[40], uart_path[40];
	uint32_t i;
	int rc = 0;

#define TRY(x)                                                                                     \
	do {                                                                                       \
		rc = (x);                                                                          \
		if (rc < 0)                                                                        \
			return rc;                                                                 \
	} while (0)
	TRY(fdt_finish_reservemap(fdt));
	TRY(fdt_begin_node(fdt, ""));
	TRY(fdt_property_string(fdt, "compatible", "avirt,guest-v1"));
	TRY(fdt_property_string(fdt, "model", "avirt virtual machine"));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property_u32(fdt, "interrupt-parent", PHANDLE_GIC));

	/* VMCFG-096: /chosen */
	unit_name(uart_path, sizeof(uart_path), "/pl011", plat->uart_ipa);
	TRY(fdt_begin_node(fdt, "chosen"));
	if (cfg->boot.bootargs[0])
		TRY(fdt_property_string(fdt, "bootargs", cfg->boot.bootargs));
	if (cfg->vuart)
		TRY(fdt_property_string(fdt, "stdout-path", uart_path));
	if (cfg->boot.has_initrd) {
		TRY(fdt_property_u64(fdt, "linux,initrd-start", cfg->boot.initrd_ipa));
		TRY(fdt_property_u64(fdt, "linux,initrd-end",
				     cfg->boot.initrd_ipa + cfg->boot.initrd_size));
	}
	TRY(fdt_end_node(fdt));

	/* VMCFG-092: one memory node with every region */
	unit_name(name, sizeof(name), "memory", cfg->mem[0].ipa);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "device_type", "memory"));
	for (i = 0; i < cfg->nmem; i++) {
		put_be64(cells + 16 * i, cfg->mem[i].ipa);
		put_be64(cells + 16 * i + 8, cfg->mem[i].size);
	}
	TRY(fdt_property(fdt, "reg", cells, (int)(16 * cfg->nmem)));
	TRY(fdt_end_node(fdt));

	/* VMCFG-098, MGMT-003: the management VM finds the management region */
	if (cfg->management) {
		TRY(fdt_begin_node(fdt, "reserved-memory"));
		TRY(fdt_property_u32(fdt, "#address-cells", 2));
		TRY(fdt_property_u32(fdt, "#size-cells", 2));
		TRY(fdt_property(fdt, "ranges", NULL, 0));
		unit_name(name, sizeof(name), "hv-mgmt", plat->mgmt_ipa);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_string(fdt, "compatible", "avirt,mgmt-v1"));
		TRY(prop_reg(fdt, plat->mgmt_ipa, plat->mgmt_size));
		TRY(fdt_property(fdt, "no-map", NULL, 0));
		TRY(fdt_end_node(fdt));
		TRY(fdt_end_node(fdt));
	}

	/* VMCFG-093: its vCPUs only; vCPU i has MPIDR affinity 0 = i */
	TRY(fdt_begin_node(fdt, "cpus"));
	TRY(fdt_property_u32(fdt, "#address-cells", 1));
	TRY(fdt_property_u32(fdt, "#size-cells", 0));
	for (i = 0; i < cfg->vcpus; i++) {
		unit_name(name, sizeof(name), "cpu", i);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_string(fdt, "device_type", "cpu"));
		TRY(fdt_property_string(fdt, "compatible", "arm,armv8"));
		TRY(fdt_property_u32(fdt, "reg", i));
		TRY(fdt_property_string(fdt, "enable-method", "psci"));
		TRY(fdt_end_node(fdt));
	}
	TRY(fdt_end_node(fdt));

	TRY(fdt_begin_node(fdt, "psci"));
	TRY(fdt_property(fdt, "compatible", "arm,psci-1.0\0arm,psci-0.2",
			 sizeof("arm,psci-1.0\0arm,psci-0.2")));
	TRY(fdt_property_string(fdt, "method", "hvc"));
	TRY(fdt_end_node(fdt));

	/* VMCFG-094: GICv3 and the timer */
	unit_name(name, sizeof(name), "intc", plat->gicd_ipa);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3"));
	TRY(fdt_property_u32(fdt, "#interrupt-cells", 3));
	TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
	TRY(fdt_property_u32(fdt, "#redistributor-regions", 1));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property(fdt, "ranges", NULL, 0));
	put_be64(cells, plat->gicd_ipa);
	put_be64(cells + 8, plat->gicd_size);
	put_be64(cells + 16, plat->gicr_ipa);
	put_be64(cells + 24, plat->gicr_stride * cfg->vcpus);
	TRY(fdt_property(fdt, "reg", cells, 32));
	TRY(fdt_property_u32(fdt, "phandle", PHANDLE_GIC));
	TRY(fdt_end_node(fdt));

	TRY(fdt_begin_node(fdt, "timer"));
	TRY(fdt_property_string(fdt, "compatible", "arm,armv8-timer"));
	for (i = 0; i < 4; i++) {
		put_be32(cells + 12 * i, GIC_PPI);
		put_be32(cells + 12 * i + 4, plat->timer_ppi[i]);
		put_be32(cells + 12 * i + 8, IRQ_LEVEL_HIGH);
	}
	TRY(fdt_property(fdt, "interrupts", cells, 48));
	TRY(fdt_property(fdt, "always-on", NULL, 0));
	TRY(fdt_end_node(fdt));

	/* VMCFG-095: the virtual PL011 and the fixed clock QEMU gives it */
	if (cfg->vuart) {
		TRY(fdt_begin_node(fdt, "apb-pclk"));
		TRY(fdt_property_string(fdt, "compatible", "fixed-clock"));
		TRY(fdt_property_u32(fdt, "#clock-cells", 0));
		TRY(fdt_property_u32(fdt, "clock-frequency", plat->uart_clock_hz));
		TRY(fdt_property_string(fdt, "clock-output-names", "clk24mhz"));
		TRY(fdt_property_u32(fdt, "phandle", PHANDLE_CLK));
		TRY(fdt_end_node(fdt));

		TRY(fdt_begin_node(fdt, uart_path + 1));
		TRY(fdt_property(fdt, "compatible", "arm,pl011\0arm,primecell",
				 sizeof("arm,pl011\0arm,primecell")));
		TRY(prop_reg(fdt, plat->uart_ipa, plat->uart_size));
		TRY(prop_irq(fdt, GIC_SPI, plat->uart_spi, IRQ_LEVEL_HIGH));
		TRY(fdt_property(fdt, "clock-names", "uartclk\0apb_pclk",
				 sizeof("uartclk\0apb_pclk")));
		put_be32(cells, PHANDLE_CLK);
		put_be32(cells + 4, PHANDLE_CLK);
		TRY(fdt_property(fdt, "clocks", cells, 8));
		TRY(fdt_end_node(fdt));
	}

	/* VMCFG-484: VIRTIO devices, as the virtio-mmio binding of Linux and QEMU
	 * virt write them */
	for (i = 0; i < cfg->nvirtio && i < VMCFG_MAX_VIRTIO; i++) {
		unit_name(name, sizeof(name), "virtio_mmio", cfg->virtio[i].ipa);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_string(fdt, "compatible", VMCFG_COMPAT_VIRTIO));
		TRY(prop_reg(fdt, cfg->virtio[i].ipa, VMCFG_VIRTIO_WINDOW));
		TRY(prop_irq(fdt, GIC_SPI, cfg->virtio[i].spi, IRQ_EDGE_RISING));
		TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
		TRY(fdt_end_node(fdt));
	}

	/* VMCFG-097: the hypervisor node of the guest ABI, channels inside it */
	unit_name(name, sizeof(name), "hypervisor", plat->coop_ipa);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "compatible", "avirt,hypervisor-v1"));
	TRY(prop_reg(fdt, plat->coop_ipa, 0x1000));
	TRY(fdt_property_string(fdt, "vm-name", cfg->name));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property(fdt, "ranges", NULL, 0));
	for (i = 0; i < cfg->nchan; i++) {
		const struct vmcfg_channel *ch = &cfg->chan[i];
		char rights[32];
		int rl = 0;

		if (ch->rights & VMCFG_R_READ) {
			memcpy(rights + rl, "read", 5);
			rl += 5;
		}
		if (ch->rights & VMCFG_R_WRITE) {
			memcpy(rights + rl, "write", 6);
			rl += 6;
		}
		if (ch->rights & VMCFG_R_DOORBELL_SEND) {
			memcpy(rights + rl, "doorbell-send", 14);
			rl += 14;
		}
		unit_name(name, sizeof(name), "channel", ch->shm.ipa);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_string(fdt, "compatible", "avirt,channel-v1"));
		TRY(prop_reg(fdt, ch->shm.ipa, ch->shm.size));
		TRY(fdt_property_u32(fdt, "channel-id", ch->id));
		TRY(fdt_property_string(fdt, "peer", ch->peer));
		if (rl)
			TRY(fdt_property(fdt, "rights", rights, rl));
		if (ch->doorbell_spi != VMCFG_NO_SPI)
			TRY(prop_irq(fdt, GIC_SPI, ch->doorbell_spi, IRQ_EDGE_RISING));
		TRY(fdt_end_node(fdt));
	}
	TRY(fdt_end_node(fdt));

	TRY(fdt_end_node(fdt));
	TRY(fdt_finish(fdt));
#undef TRY
	return 0;
}

int guest_fdt_build(const struct vmcfg *cfg, const struct guest_fdt_platform *plat, void *buf,
		    size_t bufsize, struct vmcfg_err *err)
{
	int rc;

	vmcfg_err_clear(err);
	if (!cfg || !plat || !buf)
		return vmcfg_fail(err, HVM_E_BAD_ARG, "VMCFG-090",
				  "guest device tree: missing argument");
	/* cfg normally comes from vmcfg_parse(); still, never index past an array */
	if (cfg->vcpus == 0 || cfg->vcpus > VMCFG_MAX_VCPUS || cfg->nmem == 0 ||
	    cfg->nmem > VMCFG_MAX_MEM || cfg->nchan > VMCFG_MAX_CHANNELS ||
	    cfg->nvirtio > VMCFG_MAX_VIRTIO ||
	    strnlen(cfg->name, sizeof(cfg->name)) == sizeof(cfg->name) ||
	    strnlen(cfg->boot.bootargs, sizeof(cfg->boot.bootargs)) == sizeof(cfg->boot.bootargs))
		return vmcfg_fail(err, HVM_E_BAD_ARG, "VMCFG-090",
				  "guest device tree: configuration was not validated");
	for (uint32_t i = 0; i < cfg->nchan; i++)
		if (strnlen(cfg->chan[i].peer, sizeof(cfg->chan[i].peer)) == sizeof(cfg->chan[i].peer))
			return vmcfg_fail(err, HVM_E_BAD_ARG, "VMCFG-090",
					  "guest device tree: configuration was not validated");
	rc = check_windows(cfg, plat, err);
	if (rc)
		return rc;
	if (bufsize > 0x7fffffff)
		bufsize = 0x7fffffff;
	rc = fdt_create(buf, (int)bufsize);
	if (rc == 0)
		rc = emit(buf, cfg, plat);
	if (rc == -FDT_ERR_NOSPACE)
		return vmcfg_fail(err, HVM_E_BAD_ARG, "VMCFG-090",
				  "vm '%s': guest device tree does not fit in %lu bytes", cfg->name,
				  (uint64_t)bufsize);
	if (rc < 0)
		return vmcfg_fail(err, HVM_E_INTERNAL, "VMCFG-090",
				  "vm '%s': guest device tree: libfdt: %s", cfg->name,
				  fdt_strerror(rc));
	return HVM_OK;
}
