/*
 * mgmt_window.c - the management VM's window onto the management region
 * (docs/mgmt-abi.md MGMT-211): where its stage 2 maps the region at
 * VMCFG_MGMT_IPA, and the state of the trapped-MMIO transport behind it
 * (the command block shadow and the transport's own data area, MGMT-213).
 * The transport that serves the trapped register page is mgmt/mgmt_mmio.c.
 */
#include <string.h>
#include "mgmt_window.h"
#include "region.h"
#include "vm.h"
#include "hvvmconfig.h"

/* The transport's command/completion blocks (only 0x100..0x1FF are used) and
 * data area; one management VM at most (VMCFG-088). Guarded by the command
 * lock. */
struct hvm_regs mgmt_window_shadow;
uint8_t mgmt_window_data[HVM_DATA_SIZE] __attribute__((aligned(4096)));

static int is_mgmt_vm(const struct vm *vm)
{
	const struct vmcfg *vc = vm_vmcfg(vm->id);
	return vc && vc->management;
}

enum hvm_status mgmt_window_map(struct vm *vm, char *msg, unsigned len)
{
	uint64_t pa = (uint64_t)(uintptr_t)mgmt_regs();
	enum hvm_status st;
	/* MGMT-211: a fresh transport for each management VM defined: nothing of
	 * an earlier one's commands or data is left to read. Defining runs at
	 * boot or inside a command, so the command lock is already held (or not
	 * needed yet). */
	memset(&mgmt_window_shadow, 0, sizeof(mgmt_window_shadow));
	memset(mgmt_window_data, 0, sizeof(mgmt_window_data));
	st = stage2_map(&vm->s2, VMCFG_MGMT_IPA + MGMT_WINDOW_REG_PAGE, pa + MGMT_WINDOW_REG_PAGE,
			HVM_OFF_DATA - MGMT_WINDOW_REG_PAGE, S2_NORMAL_RO, msg, len);
	if (st == HVM_OK)
		st = stage2_map(&vm->s2, VMCFG_MGMT_IPA + HVM_OFF_DATA,
				(uint64_t)(uintptr_t)mgmt_window_data, HVM_DATA_SIZE, S2_NORMAL_RW,
				msg, len);
	return st;
}

int mgmt_window_allowed(const struct vm *vm, uint64_t ipa, uint64_t pa, uint64_t size)
{
	uint64_t base = (uint64_t)(uintptr_t)mgmt_regs();
	if (!is_mgmt_vm(vm))
		return 0;
	if (ipa >= VMCFG_MGMT_IPA + MGMT_WINDOW_REG_PAGE &&
	    ipa + size <= VMCFG_MGMT_IPA + HVM_OFF_DATA)
		return pa == base + (ipa - VMCFG_MGMT_IPA);
	if (ipa >= VMCFG_MGMT_IPA + HVM_OFF_DATA && ipa + size <= VMCFG_MGMT_IPA + VMCFG_MGMT_SIZE)
		return pa == (uint64_t)(uintptr_t)mgmt_window_data +
				     (ipa - VMCFG_MGMT_IPA - HVM_OFF_DATA);
	return 0;
}

int mgmt_window_claims(const struct vm *vm, uint64_t ipa)
{
	return ipa >= VMCFG_MGMT_IPA && ipa < VMCFG_MGMT_IPA + MGMT_WINDOW_REG_PAGE && is_mgmt_vm(vm);
}
