/*
 * builtin_config.c - built-in VM configurations. Which of them become VMs is
 * decided by the image store: hv-core defines and starts each configuration
 * whose image slot holds an arm64 Image (scripts/hv-qemu.sh --guest NAME places
 * it there), so one hv-core build serves every test set-up.
 */
#include "builtin_config.h"
#include "platform.h"

static const struct vm_config configs[] = {
	{
		.name = "rtos-demo",
		.uuid = { 0x5d, 0x1e, 0x7a, 0x00, 0x2b, 0x4c, 0x4d, 0x6e,
			  0x9f, 0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x01 },
		.vcpus = 1, .pcpu_mask = 1u << 1,
		.mem_ipa = HV_GUEST_RAM_IPA, .mem_pa = 0x49000000, .mem_size = 16u << 20,
		.image_pa = 0x42000000, .image_max = 2u << 20,
		.criticality = 2, .watchdog_ms = 0, .autostart = 1,
		.fault_policy = 1 /* stop */, .restart_max = 3, .restart_window_ms = 60000,
	},
	{
		.name = "bad-access",
		.uuid = { 0x5d, 0x1e, 0x7a, 0x00, 0x2b, 0x4c, 0x4d, 0x6e,
			  0x9f, 0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x02 },
		.vcpus = 1, .pcpu_mask = 1u << 2,
		.mem_ipa = HV_GUEST_RAM_IPA, .mem_pa = 0x4A000000, .mem_size = 16u << 20,
		.image_pa = 0x42200000, .image_max = 2u << 20,
		.criticality = 0, .watchdog_ms = 0, .autostart = 1,
		.fault_policy = 1 /* stop */, .restart_max = 3, .restart_window_ms = 60000,
	},
	{
		/* interrupt virtualization test guest: 2 vCPUs, SPI 60 passed through */
		.name = "irq-test",
		.uuid = { 0x5d, 0x1e, 0x7a, 0x00, 0x2b, 0x4c, 0x4d, 0x6e,
			  0x9f, 0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x03 },
		.vcpus = 2, .pcpu_mask = (1u << 2) | (1u << 3),
		.mem_ipa = HV_GUEST_RAM_IPA, .mem_pa = 0x4B000000, .mem_size = 16u << 20,
		.image_pa = 0x42400000, .image_max = 2u << 20,
		.criticality = 0, .watchdog_ms = 0, .autostart = 1,
		.fault_policy = 1 /* stop */, .restart_max = 3, .restart_window_ms = 60000,
		.n_pt_spis = 1, .pt_spis = { 60 },
	},
	{
		/* Debian's arm64 kernel with the busybox initramfs (docs/linux-guest.md) */
		.name = "linux",
		.uuid = { 0x5d, 0x1e, 0x7a, 0x00, 0x2b, 0x4c, 0x4d, 0x6e,
			  0x9f, 0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x04 },
		.vcpus = 2, .pcpu_mask = (1u << 2) | (1u << 3),
		.mem_ipa = HV_GUEST_RAM_IPA, .mem_pa = 0x60000000, .mem_size = 256u << 20,
		.image_pa = 0x42600000, .image_max = 34u << 20,
		.initrd_pa = 0x44800000, .initrd_max = 8u << 20,
		.bootargs = "console=ttyAMA0",
		.criticality = 0, .watchdog_ms = 0, .autostart = 1,
		.fault_policy = 1 /* stop */, .restart_max = 3, .restart_window_ms = 60000,
	},
};

const struct vm_config *builtin_vm_configs(unsigned *count)
{
	*count = sizeof(configs) / sizeof(configs[0]);
	return configs;
}
