/*
 * pflash.h - a bank of CFI parallel NOR flash with the Intel command set
 * (QEMU virt's pflash_cfi01 banks: 32-bit bus of two x16 devices, 256 KiB
 * erase blocks). In read-array mode the bank reads as memory; erase and
 * program go through commands. hv-core keeps its non-volatile state there
 * (docs/mgmt-abi.md MGMT-600).
 */
#ifndef HV_PFLASH_H
#define HV_PFLASH_H
#include <stdint.h>

#define PFLASH_BLOCK 0x40000u /* erase block on QEMU virt */

/* Erases the block at byte offset off of the bank at base (off aligned to
 * PFLASH_BLOCK). 0, or -1 when the device reports an error. */
int pflash_erase(uint64_t base, uint64_t off);
/* Programs len bytes (a multiple of 4) from src at offset off (4-aligned) of
 * an erased range. 0, or -1 when the device reports an error. */
int pflash_program(uint64_t base, uint64_t off, const void *src, uint64_t len);
/* Copies len bytes (a multiple of 4) at offset off (4-aligned) into dst with
 * aligned 32-bit reads (the bank is device memory). */
void pflash_read(uint64_t base, uint64_t off, void *dst, uint64_t len);
#endif
