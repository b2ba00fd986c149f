/*
 * heap.c - a bump allocator of pages. hv-core allocates its tables and pages
 * while creating VMs and never frees them yet (undefine is later work), so a
 * bump pointer is enough and cannot fragment.
 */
#include <string.h>
#include "heap.h"
#include "spinlock.h"

extern char __heap_start[], __heap_end[];
static uintptr_t next;
static spinlock_t lock;

void *page_alloc(size_t n)
{
	void *p = NULL;
	spin_lock(&lock);
	if (!next)
		next = (uintptr_t)__heap_start;
	if (n && n <= ((uintptr_t)__heap_end - next) / 4096) {
		p = (void *)next;
		next += n * 4096;
	}
	spin_unlock(&lock);
	if (p)
		memset(p, 0, n * 4096);
	return p;
}

uint64_t heap_free_bytes(void)
{
	return next ? (uintptr_t)__heap_end - next : (uintptr_t)__heap_end - (uintptr_t)__heap_start;
}
