/*
 * mini_fdt.h - just enough of a device-tree reader for the management client
 * guest to find the management region where MGMT-003 says it is published:
 * the /reserved-memory child with compatible "avirt,mgmt-v1". Byte loads
 * only: the guest runs with its MMU off, where unaligned loads fault.
 */
#ifndef MINI_FDT_H
#define MINI_FDT_H
#include <stdint.h>

struct mgmt_node {
	uint64_t base, size;
	int no_map;
	char path[64]; /* "/reserved-memory/hv-mgmt@41000000" */
};

/* 0 and *out filled when the tree at dtb has the node; -1 otherwise. */
int mini_fdt_find_mgmt(uint64_t dtb, struct mgmt_node *out);
#endif
