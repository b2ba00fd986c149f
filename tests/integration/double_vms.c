/*
 * double_vms.c - the test double with its two VMs in a fresh directory
 * (double_vms.h).
 */
#include "double_vms.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

const struct fakecore_vm double_vm_linux = {
	.name = "linux",
	.state = HVM_VM_RUNNING,
	.reason = HVM_R_BOOTED,
	.vcpus = 2,
	.pcpu_mask = 0x3,
	.mem_bytes = 256ull << 20,
	.image_version = "1.2.3",
	.uuid = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 },
};

const struct fakecore_vm double_vm_rtos = {
	.name = "rtos",
	.state = HVM_VM_SHUTOFF,
	.reason = HVM_R_DEFINED,
	.vcpus = 1,
	.pcpu_mask = 0x4,
	.mem_bytes = 16ull << 20,
	.criticality = 4,
};

struct fakecore *double_vms_start(const char *tmpl, char *dir, size_t dir_len, char *ram,
				  size_t ram_len, char *work, size_t work_len)
{
	snprintf(dir, dir_len, "%s", tmpl);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(ram, ram_len, "%s/guest-ram", dir);
	snprintf(work, work_len, "%s/py", dir);
	cr_assert_eq(mkdir(work, 0755), 0);
	struct fakecore *fc = fakecore_create(ram, FAKECORE_RAM_BASE, HVM_DEFAULT_BASE);
	cr_assert_not_null(fc);
	fakecore_set_vm(fc, 0, &double_vm_linux);
	fakecore_set_vm(fc, 1, &double_vm_rtos);
	cr_assert_eq(fakecore_start(fc), 0);
	return fc;
}

int double_outstanding(struct fakecore *fc)
{
	volatile struct hvm_regs *r = fakecore_regs(fc);
	return __atomic_load_n(&r->req_seq, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(&r->done_seq, __ATOMIC_ACQUIRE);
}
