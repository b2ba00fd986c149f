/*
 * heap.c - hv-core's page allocator: a bump pointer over the heap (after .bss,
 * up to the management region) plus a free list of single pages. Everything
 * hv-core allocates at run time is one page (stage-2 tables, cooperation
 * pages), so a singly linked list through the freed pages themselves is enough:
 * it cannot fragment, and UNDEFINE gives back what DEFINE took, so any number
 * of DEFINE/UNDEFINE cycles runs in bounded memory. GET_INFO answers the free
 * page count (MGMT-101) so a client can check that.
 */
#include <string.h>
#include "heap.h"
#include "spinlock.h"

extern char __heap_start[], __heap_end[];
static uintptr_t next;       /* bump pointer; 0 until the first allocation */
static void *free_list;      /* freed pages, linked through their first word */
static uint32_t free_listed; /* pages on free_list */
static spinlock_t lock;

static uintptr_t bump(void)
{
	return next ? next : (uintptr_t)__heap_start;
}

void *page_alloc(size_t n)
{
	void *p = NULL;
	spin_lock(&lock);
	if (n == 1 && free_list) {
		p = free_list;
		free_list = *(void **)p;
		free_listed--;
	} else if (n && n <= ((uintptr_t)__heap_end - bump()) / 4096) {
		p = (void *)bump();
		next = bump() + n * 4096;
	}
	spin_unlock(&lock);
	if (p)
		memset(p, 0, n * 4096);
	return p;
}

void page_free(void *p)
{
	uintptr_t a = (uintptr_t)p;
	if (!p || (a & 4095) || a < (uintptr_t)__heap_start || a >= bump())
		return; /* not a page of this heap: a caller bug, never a guest's doing */
	spin_lock(&lock);
	*(void **)p = free_list;
	free_list = p;
	free_listed++;
	spin_unlock(&lock);
}

uint32_t heap_free_pages(void)
{
	spin_lock(&lock);
	uint32_t n = (uint32_t)(((uintptr_t)__heap_end - bump()) / 4096) + free_listed;
	spin_unlock(&lock);
	return n;
}

uint32_t heap_total_pages(void)
{
	return (uint32_t)(((uintptr_t)__heap_end - (uintptr_t)__heap_start) / 4096);
}
