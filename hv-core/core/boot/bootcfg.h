/*
 * bootcfg.h - boot-time VMs: the boot configuration blob (docs/vm-config.md
 * section 9), none when it is absent; then the boot self-test and the
 * autostart (bootcfg.c).
 *
 * Physical placement on QEMU virt (the boot loader, QEMU -device loader, puts
 * them there; hv-core only reads them):
 *   HV_BOOTCFG_BASE   0x41F00000  system configuration DTB, at most 256 KiB
 *   HV_SELFTEST_FLAG  0x41FFF000  two u32: HV_SELFTEST_FLAG_MAGIC, then the
 *                                 self-test fault-injection mask (MGMT-191)
 */
#ifndef HV_BOOTCFG_H
#define HV_BOOTCFG_H
#include <stdint.h>

#define HV_BOOTCFG_BASE 0x41F00000ull
#define HV_BOOTCFG_SIZE 0x00040000u
#define HV_SELFTEST_FLAG 0x41FFF000ull
#define HV_SELFTEST_FLAG_MAGIC 0x4A4E4953u /* "SINJ" */

/* Defines the boot-time VMs, runs the self-test, starts the autostart VMs.
 * Called once on the boot CPU after every CPU is online. */
void bootcfg_start(void);
#endif
