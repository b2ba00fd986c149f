/*
 * builtin_config.h - the VM configurations compiled into hv-core until the
 * device-tree configuration (core/config/, docs/vm-config.md) replaces them.
 */
#ifndef HV_BUILTIN_CONFIG_H
#define HV_BUILTIN_CONFIG_H
#include "vm.h"
/* Returns the table and its length. */
const struct vm_config *builtin_vm_configs(unsigned *count);
#endif
