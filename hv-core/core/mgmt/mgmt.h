/*
 * mgmt.h - the management service (docs/mgmt-abi.md, include/hvmgmt.h):
 * set-up of the management region, the service tick on the service CPU and
 * the command lock. The accessors of the region's parts are region.h.
 */
#ifndef HV_MGMT_H
#define HV_MGMT_H
#include <stdint.h>
#include "hvmgmt.h"
#include "region.h"

/* Zeroes the region and writes its identification; hv_state stays BOOTING. */
void mgmt_init(uint64_t base, uint32_t pcpu_count, uint64_t staging_base, uint64_t staging_size);
/* Publishes READY with release ordering: the last step of boot (MGMT-010). */
void mgmt_set_ready(void);
/* One service tick: uptime, ticks, every VM slot, and at most one command. */
void mgmt_tick(void);
/* MGMT-214: held while a command runs (either transport) and while the tick
 * supervises the VMs. Never taken by code a command calls. */
void mgmt_cmd_lock(void);
void mgmt_cmd_unlock(void);
/* MGMT-711: between service ticks, units of the boots and LOAD_IMAGEs in
 * progress until the counter reaches `until` (timer_count()) or nothing is
 * left to do; a pending command is answered when its work ended. */
void mgmt_work(uint64_t until);
/* MGMT-112: until the counter reaches next (the next tick), commands of the
 * polled page are run within about 1 ms of their request, except in the last
 * 2 ms before the tick; then sleeps until next. */
void mgmt_serve_until(uint64_t next);
/* Whether a command of either transport is pending (MGMT-711); and making
 * the command just run (req, on the trapped page when mmio) the pending one.
 * Command lock held. */
int mgmt_cmd_pending(void);
void mgmt_cmd_pend(int mmio, uint32_t req, uint32_t vm_id);

#endif
