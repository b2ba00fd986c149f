/* heap.h - page allocator for hv-core's own memory (after .bss up to the 16 MiB mark). */
#ifndef HV_HEAP_H
#define HV_HEAP_H
#include <stddef.h>
#include <stdint.h>
/* Returns n zeroed, 4 KiB aligned pages, or NULL when the heap is exhausted. */
void *page_alloc(size_t n);
uint64_t heap_free_bytes(void);
#endif
