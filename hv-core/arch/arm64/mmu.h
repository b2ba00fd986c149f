/*
 * mmu.h - hv-core's own EL2 translation regime (stage 1, identity map) and
 * cache maintenance helpers.
 */
#ifndef HV_MMU_H
#define HV_MMU_H
#include <stdint.h>
#include <stddef.h>

/* Builds the boot map (device below RAM base, Normal write-back RAM in the first
 * GiB at 0x40000000) and turns the EL2 MMU and caches on for this CPU. */
void mmu_init_primary(void);
/* Maps [base, base+size) as Normal memory, whole GiBs (RAM found in the DT). */
void mmu_map_ram(uint64_t base, uint64_t size);
/* Maps [base, base+size) as Normal memory never executed, whole GiBs (the
 * slot store, MGMT-661). */
void mmu_map_data(uint64_t base, uint64_t size);
/* Turns on the already built map on a secondary CPU. */
void mmu_enable_secondary(void);
/* Cleans data cache lines to the point of coherency (guests run MMU-off at first). */
void dcache_clean_range(const void *p, size_t len);
/* Zeroes [p, p + len) and cleans it to the point of coherency: DC ZVA and
 * DC CVAC a block at a time where the CPU permits DC ZVA, memset and
 * dcache_clean_range() otherwise (and for unaligned ends). */
void mem_zero_to_poc(void *p, size_t len);
#endif
