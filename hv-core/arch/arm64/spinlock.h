/*
 * spinlock.h - a ticket lock for hv-core's few shared structures (event ring,
 * physical UART, per-VM console and slot). Needs the EL2 MMU on (exclusives
 * need Normal memory); nothing takes a lock before mmu_init().
 */
#ifndef HV_SPINLOCK_H
#define HV_SPINLOCK_H
#include <stdint.h>

typedef struct {
	uint32_t next;
	uint32_t owner;
} spinlock_t;

static inline void spin_lock(spinlock_t *l)
{
	uint32_t me = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != me)
		__asm__ volatile("yield");
}

static inline void spin_unlock(spinlock_t *l)
{
	__atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}
#endif
