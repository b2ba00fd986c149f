/*
 * heartbeat.h - the health monitor's view of a guest's heartbeat counter
 * (GABI-020 heartbeat, REQ-SAF-13). The watchdog in vm_life.c acts on the
 * age kept here.
 */
#ifndef HV_HEARTBEAT_H
#define HV_HEARTBEAT_H
#include <stdint.h>
struct vm;
/* Notes when the cooperation page's heartbeat last changed. Caller holds vm->lock. */
void heartbeat_sample(struct vm *vm, uint64_t now_ns);
/* A fresh start: counter 0, age 0. Caller holds vm->lock. */
void heartbeat_reset(struct vm *vm, uint64_t now_ns);
/* Age 0 from now, counter kept (after a pause). Caller holds vm->lock. */
void heartbeat_reset_age(struct vm *vm, uint64_t now_ns);
#endif
