/*
 * bootcfg.c - the VMs hv-core brings up by itself at boot, the boot-time
 * self-test, and the autostart (docs/vm-config.md section 9, MGMT-190).
 *
 * The boot configuration is a system configuration blob (VMCFG-011) that the
 * boot loader places at HV_BOOTCFG_BASE (QEMU: -device loader, see
 * scripts/hv-qemu.sh --config). It is copied into hv-core before it is read,
 * parsed and validated as a whole by vmconfig_system.c against the platform,
 * and every VM in it is defined through vmdef.c, exactly like DEFINE. A blob
 * that is present but invalid defines no VM at all (a partial system is not
 * what its author validated); the reason is logged.
 *
 * With no blob present hv-core defines no VM: it says so on its console, and
 * comes up READY with vm_count 0, its management interface live, so a client
 * can define VMs (VMCFG-103). There is no compiled-in VM table (REQ-STD-06).
 *
 * Then the self-test runs (selftest.c) with the fault-injection mask from the
 * blob's /hv-core/selftest-inject property or the loader-placed word at
 * HV_SELFTEST_FLAG, and the VMs marked autostart start in boot-order, except
 * those a failed check affects: they stay SHUTOFF with reason SELFTEST
 * (REQ-SAF-03).
 */
#include <string.h>
#include <libfdt.h>
#include "bootcfg.h"
#include "vm.h"
#include "vm_life.h"
#include "vmdef.h"
#include "hvvmconfig.h"
#include "selftest.h"
#include "platform.h"
#include "region.h"
#include "log.h"
#include "safety.h"
#include "ota.h"

static uint8_t blob_copy[HV_BOOTCFG_SIZE] __attribute__((aligned(8)));
static struct vmcfg sys[HVM_MAX_VMS];

static int autostart[HVM_MAX_VMS];
static uint32_t boot_order[HVM_MAX_VMS];

/* Copies the blob at HV_BOOTCFG_BASE into hv-core; returns its length, 0 when
 * there is none (no FDT magic), -1 when it is too large. */
static long take_blob(void)
{
	const uint8_t *src = (const uint8_t *)(uintptr_t)HV_BOOTCFG_BASE;
	if (fdt_magic(src) != FDT_MAGIC)
		return 0;
	uint32_t size = fdt_totalsize(src);
	if (size > HV_BOOTCFG_SIZE)
		return -1;
	memcpy(blob_copy, src, size);
	return (long)size;
}

static uint32_t loader_inject_flag(void)
{
	const volatile uint32_t *f = (const volatile uint32_t *)(uintptr_t)HV_SELFTEST_FLAG;
	return f[0] == HV_SELFTEST_FLAG_MAGIC ? f[1] : 0;
}

static void define_from_blob(long len, uint32_t *inject)
{
	struct vmcfg_platform plat;
	struct vmcfg_err err;
	size_t n = 0;
	vmdef_platform(&plat);
	if (vmcfg_parse_system(blob_copy, (size_t)len, sys, HVM_MAX_VMS, &n, &plat, &err) != HVM_OK) {
		hv_log("boot configuration refused, no VM defined: %s: %s", err.rule, err.msg);
		return;
	}
	/* VMCFG-400, VMCFG-410: an invalid vehicle-state source or policy
	 * refuses the whole configuration, as an invalid VM does */
	char serr[160];
	if (safety_configure(blob_copy, serr, sizeof(serr)) != 0) {
		hv_log("boot configuration refused, no VM defined: %s", serr);
		return;
	}
	/* MGMT-640: the update trust anchor */
	if (ota_configure(blob_copy, serr, sizeof(serr)) != 0) {
		hv_log("boot configuration refused, no VM defined: %s", serr);
		return;
	}
	int node = fdt_path_offset(blob_copy, "/hv-core");
	if (node >= 0) {
		int plen;
		const fdt32_t *p = fdt_getprop(blob_copy, node, "selftest-inject", &plen);
		if (p && plen == 4)
			*inject |= fdt32_to_cpu(*p);
		const char *dma = fdt_getprop(blob_copy, node, "dma-masters", &plen);
		if (dma && plen > 0 && dma[plen - 1] == '\0') /* VMCFG-300 */
			vmdef_set_dma_masters(dma, plen);
	}
	for (size_t i = 0; i < n; i++) {
		char msg[96];
		uint32_t id;
		if (vmdef_define(&sys[i], &id, msg, sizeof(msg)) != HVM_OK) {
			hv_log("boot configuration: vm '%s' not defined: %s", sys[i].name, msg);
			continue;
		}
		autostart[id] = sys[i].autostart;
		boot_order[id] = sys[i].boot_order;
	}
	hv_log("boot configuration: %u VM(s) from the blob at 0x%lx", vm_count(),
	       (unsigned long)HV_BOOTCFG_BASE);
}

static void report_selftest(uint32_t failed)
{
	volatile struct hvm_regs *r = mgmt_regs();
	r->selftest_failed = failed;
	vm_selftest_failed = failed; /* GABI-701: every guest is told at its boot */
	if (!failed)
		return;
	int any = 0;
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		struct vm *vm = &vms[i];
		if (!vm->used || !vm->selftest_blocked)
			continue;
		vm->reason = HVM_R_SELFTEST;
		vm_publish_slot(vm);
		events_append(HVM_EV_SELFTEST, i, failed, HVM_R_SELFTEST);
		any = 1;
	}
	if (!any)
		events_append(HVM_EV_SELFTEST, HVM_EV_NO_VM, failed, HVM_R_SELFTEST);
}

/* MGMT-191: fault injection exists only in the build with the test hooks
 * (hvcore-test.bin, HV_TEST_HOOKS); the image `make run` and releases boot
 * ignores a request for it, from the loader's flag word or the blob, and
 * says so. */
static uint32_t injection_allowed(uint32_t inject)
{
#if defined(HV_TEST_HOOKS)
	return inject;
#else
	if (inject)
		hv_log("self-test fault injection 0x%x requested: ignored, this build has none "
		       "(MGMT-191)",
		       inject);
	return 0;
#endif
}

void bootcfg_start(void)
{
	uint32_t inject = loader_inject_flag();
	long len = take_blob();
	if (len < 0)
		hv_log("boot configuration at 0x%lx is larger than %u bytes: ignored, no VM defined",
		       (unsigned long)HV_BOOTCFG_BASE, HV_BOOTCFG_SIZE);
	else if (len > 0)
		define_from_blob(len, &inject);
	else
		hv_log("no boot configuration at 0x%lx: no VM defined; VMs can be defined through the management interface",
		       (unsigned long)HV_BOOTCFG_BASE);

	report_selftest(selftest_run(injection_allowed(inject)));
	/* MGMT-624: each VM's last confirmed slot, before any VM starts */
	ota_boot();

	/* VMCFG-026: lowest boot-order first, ties in definition order */
	for (;;) {
		int next = -1;
		for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
			if (vms[i].used && autostart[i] && !vms[i].selftest_blocked &&
			    (next < 0 || boot_order[i] < boot_order[next]))
				next = (int)i;
		if (next < 0)
			break;
		autostart[next] = 0;
		char msg[96];
		enum hvm_status st = vm_start(&vms[next], msg, sizeof(msg));
		if (st != HVM_OK) {
			hv_log("vm '%s' not started: %s (status %u)", vms[next].cfg.name, msg, st);
			vms[next].reason = HVM_R_FAILED;
			vm_publish_slot(&vms[next]);
			events_append(HVM_EV_STOPPED, (uint32_t)next, 0, HVM_R_FAILED); /* MGMT-050 */
		}
	}
	/* their boots (MGMT-711) before the service loop: nothing is
	 * supervised yet, and a client sees them booted at READY */
	vm_work_drain();
}
