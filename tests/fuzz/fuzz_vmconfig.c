/*
 * fuzz_vmconfig.c - libFuzzer target for the VM configuration parser and the
 * guest device tree generator (REQ-SAF-09: any blob, never a crash).
 *
 * Each input is copied into an 8-byte aligned buffer of exactly its length and
 * run through the whole path hv-core runs at DEFINE: the single-VM parse, the
 * system parse with the cross-VM and platform checks, and, for every VM that
 * passes, the guest device tree build with a check that the result is a valid
 * tree. Every refusal must carry a status, a clause and a message.
 */
#include <libfdt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hvvmconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct vmcfg_platform plat = {
	.pcpu_count = 4,
	.reserved_cpu_mask = 1,
	.spi_count = 256,
	.nram = 1,
	.ram = { { 0x40000000, 0x40000000 } },
	.nreserved = 1,
	.reserved = { { 0x40000000, 0x02000000 } },
};

static const struct guest_fdt_platform gplat = {
	.gicd_ipa = 0x08000000,
	.gicd_size = 0x10000,
	.gicr_ipa = 0x080A0000,
	.gicr_stride = 0x20000,
	.uart_ipa = 0x09000000,
	.uart_size = 0x1000,
	.uart_spi = 1,
	.uart_clock_hz = 24000000,
	.timer_ppi = { 13, 14, 11, 10 },
	.coop_ipa = 0x0BFFF000,
};

static void check_err(int rc, const struct vmcfg_err *err)
{
	if (rc != err->code)
		abort();
	if (rc != HVM_OK && (!err->rule || strncmp(err->rule, "VMCFG-", 6) != 0 || !err->msg[0] ||
			     strnlen(err->msg, sizeof(err->msg)) == sizeof(err->msg)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vmcfg vms[VMCFG_MAX_VMS];
	static struct vmcfg one;
	static uint64_t out[8192];
	struct vmcfg_err err;
	size_t n = 0, i;
	void *buf;
	int rc;

	buf = aligned_alloc(8, size ? (size + 7) & ~(size_t)7 : 8);
	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);

	rc = vmcfg_parse(buf, size, 0, &one, &err);
	check_err(rc, &err);
	rc = vmcfg_parse_system(buf, size, vms, VMCFG_MAX_VMS, &n, &plat, &err);
	check_err(rc, &err);
	if (rc == HVM_OK) {
		for (i = 0; i < n; i++) {
			rc = guest_fdt_build(&vms[i], &gplat, out, sizeof(out), &err);
			check_err(rc, &err);
			if (rc == HVM_OK && fdt_check_full(out, sizeof(out)) != 0)
				abort();
		}
	}
	free(buf);
	return 0;
}
