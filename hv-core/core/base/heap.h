/* heap.h - page allocator for hv-core's own memory (after .bss up to the 16 MiB mark). */
#ifndef HV_HEAP_H
#define HV_HEAP_H
#include <stddef.h>
#include <stdint.h>
/* Returns n zeroed, 4 KiB aligned pages, or NULL when the heap is exhausted.
 * Single pages come from the free list first. */
void *page_alloc(size_t n);
/* Gives back one page from page_alloc(1); ignores NULL and foreign pointers. */
void page_free(void *p);
/* Pages still allocatable (never used plus freed), and the heap's size. */
uint32_t heap_free_pages(void);
uint32_t heap_total_pages(void);
#endif
