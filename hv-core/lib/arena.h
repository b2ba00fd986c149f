/* arena.h - the allocation arena behind mbedTLS's calloc/free (arena.c). */
#ifndef HV_ARENA_H
#define HV_ARENA_H
#include <stddef.h>
/* Everything handed out since the last reset is free again. */
void arena_reset(void);
/* The most bytes ever in use at once. */
size_t arena_high_water(void);
#endif
