/*
 * guest_fdt.h - build the device tree a guest boots with (docs/vm-config.md,
 * VMCFG-090..097) from its validated configuration and the platform's facts.
 *
 * Portable C like vmconfig.c: host (tests, agent previews) and hv-core. The
 * platform facts (GIC, UART, timer interrupts, where the cooperation page sits)
 * come from the caller, who takes them from the platform device tree
 * (REQ-STD-06); nothing board-specific is compiled in.
 */
#ifndef GUEST_FDT_H
#define GUEST_FDT_H

#include <stddef.h>
#include <stdint.h>

#include "vmconfig.h"

/* What the guest sees of the machine, all as guest-physical addresses.
 * QEMU virt values in parentheses (docs/vm-config.md, VMCFG-091). */
struct guest_fdt_platform {
	uint64_t gicd_ipa;      /* GICv3 distributor (0x08000000)               */
	uint64_t gicd_size;     /* (0x10000)                                    */
	uint64_t gicr_ipa;      /* first redistributor (0x080A0000)             */
	uint64_t gicr_stride;   /* bytes per vCPU's redistributor (0x20000)     */
	uint64_t uart_ipa;      /* virtual PL011 (0x09000000)                   */
	uint64_t uart_size;     /* (0x1000)                                     */
	uint32_t uart_spi;      /* SPI number of the PL011 (1, INTID 33)        */
	uint32_t uart_clock_hz; /* the fixed clock feeding it (24000000)        */
	/* arch timer PPIs (INTID - 16), in the order of the arm,armv8-timer
	 * binding: secure physical, non-secure physical, virtual, hypervisor
	 * (13, 14, 11, 10) */
	uint32_t timer_ppi[4];
	uint64_t coop_ipa;      /* the VM's cooperation page, 4 KiB (GABI-010)  */
	/* VMCFG-098: where the management VM sees the management region
	 * (VMCFG_MGMT_IPA, VMCFG_MGMT_SIZE); used only for that VM */
	uint64_t mgmt_ipa;
	uint64_t mgmt_size;
};

/* Write the guest's device tree (a complete DTB) into buf. The management VM
 * (cfg->management, VMCFG-027) also gets /reserved-memory/hv-mgmt@<ipa>
 * (docs/mgmt-abi.md MGMT-003); plat->mgmt_size 0 then refuses (HVM_E_BAD_ARG). Returns HVM_OK, or
 * HVM_E_BAD_ARG (no room, bad arguments), HVM_E_OVERLAP (a platform window
 * collides with the VM's memory or channels) or HVM_E_INTERNAL, with err set. */
int guest_fdt_build(const struct vmcfg *cfg, const struct guest_fdt_platform *plat, void *buf,
                    size_t bufsize, struct vmcfg_err *err);

#endif /* GUEST_FDT_H */
