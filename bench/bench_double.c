/*
 * bench_double.c - see bench_double.h.
 */
#include "bench_double.h"

#include <errno.h>
#include <stdio.h>

struct fakecore *bench_double_running(const char *ram, unsigned nvms)
{
	if (nvms < 1 || nvms > 8) {
		errno = EINVAL;
		return NULL;
	}
	struct fakecore *fc = fakecore_create(ram, FAKECORE_RAM_BASE, HVM_DEFAULT_BASE);
	if (!fc)
		return NULL;
	for (uint32_t i = 0; i < nvms; i++) {
		char name[16];
		snprintf(name, sizeof name, "vm-%u", i);
		struct fakecore_vm vm = { .name = name,
					  .state = HVM_VM_RUNNING,
					  .vcpus = 1,
					  .pcpu_mask = 1ull << i,
					  .mem_bytes = 64u << 20,
					  .image_version = "1.0" };
		vm.uuid[0] = (uint8_t)(i + 1);
		fakecore_set_vm(fc, i, &vm);
	}
	return fc;
}
