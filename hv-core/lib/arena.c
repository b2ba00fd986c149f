/*
 * arena.c - calloc/free for mbedTLS in hv-core: one static arena of blocks
 * in power-of-two size classes; a freed block goes back to its class's list
 * and is reused by the next request of that size. A user resets the arena
 * when it is done (arena_reset), so each manifest check starts with all of
 * it. One user at a time (the management command lock); not for hv-core's
 * own data.
 */
#include <stdint.h>
#include <string.h>
#include "arena.h"

#define ARENA_SIZE (2u << 20)
#define MIN_SHIFT 4u /* 16-byte blocks      */
#define CLASSES 17u  /* up to 1 MiB          */
static uint8_t arena[ARENA_SIZE] __attribute__((aligned(16)));
static size_t used, high, live, live_high;
static void *free_list[CLASSES];

/* Every block has a 16-byte header in front: its size class. */
struct block {
	uint32_t cls;
	uint32_t _pad[3];
};

void *calloc(size_t n, size_t size);
void free(void *p);

void *calloc(size_t n, size_t size)
{
	if (size && n > ARENA_SIZE / size)
		return NULL;
	size_t want = n * size;
	uint32_t cls = 0;
	while (cls < CLASSES && ((size_t)1 << (cls + MIN_SHIFT)) < want)
		cls++;
	if (cls == CLASSES)
		return NULL;
	size_t bytes = (size_t)1 << (cls + MIN_SHIFT);
	void *p = free_list[cls];
	if (p) {
		free_list[cls] = *(void **)p;
	} else {
		if (bytes + sizeof(struct block) > ARENA_SIZE - used)
			return NULL;
		struct block *b = (struct block *)(arena + used);
		b->cls = cls;
		p = b + 1;
		used += bytes + sizeof(struct block);
		if (used > high)
			high = used;
	}
	live += bytes;
	if (live > live_high)
		live_high = live;
	memset(p, 0, bytes);
	return p;
}

/* Back to its size class's list: a block of the same size is reused. */
void free(void *p)
{
	if (!p)
		return;
	struct block *b = (struct block *)p - 1;
	*(void **)p = free_list[b->cls];
	free_list[b->cls] = p;
	live -= (size_t)1 << (b->cls + MIN_SHIFT);
}

void arena_reset(void)
{
	used = live = 0;
	memset(free_list, 0, sizeof(free_list));
}

size_t arena_high_water(void)
{
	return high;
}
