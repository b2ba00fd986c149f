/*
 * vmdef.h - defining VMs from vm-config descriptions (vmdef.c): DEFINE
 * and the boot configuration both come through here.
 */
#ifndef HV_VMDEF_H
#define HV_VMDEF_H
#include <stddef.h>
#include <stdint.h>
#include "hvvmconfig.h"

/* The platform facts for the cross-VM rules (VMCFG-081..085). */
void vmdef_platform(struct vmcfg_platform *p);
/* A parsed, self-consistent description: checked against the platform and the
 * defined VMs, then created (state SHUTOFF, reason DEFINED). msg starts with
 * the clause broken on refusal; nothing changes then. */
enum hvm_status vmdef_define(const struct vmcfg *v, uint32_t *id, char *msg, unsigned len);
/* The same from an untrusted single-VM blob (VMCFG-010). */
enum hvm_status vmdef_define_blob(const void *blob, size_t blen, uint32_t *id, char *msg,
				  unsigned len);
/* VMCFG-087 at START: every channel of id finds its peer among defined VMs. */
enum hvm_status vmdef_check_peers(uint32_t id, char *msg, unsigned len);
/* VMCFG-300: the platform devices that master DMA, from the boot
 * configuration's /hv-core/dma-masters (a string list of platform
 * device-tree node paths or compatibles; list = NULL: none listed). The list
 * must stay where it is (hv-core's copy of the blob). */
void vmdef_set_dma_masters(const char *list, int len);
/* The description a VM was defined from: vm_vmcfg() (vm.h). */
#endif
