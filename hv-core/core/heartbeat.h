/*
 * heartbeat.h - the health monitor's view of a guest's heartbeat counter
 * (GABI-020 heartbeat, REQ-SAF-13). Watchdog enforcement is later work.
 */
#ifndef HV_HEARTBEAT_H
#define HV_HEARTBEAT_H
#include <stdint.h>
struct vm;
/* Notes when the cooperation page's heartbeat last changed. Caller holds vm->lock. */
void heartbeat_sample(struct vm *vm, uint64_t now_ns);
void heartbeat_reset(struct vm *vm, uint64_t now_ns);
#endif
