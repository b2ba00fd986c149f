/*
 * channel.c - inter-VM channels (REQ-SAF-07). The configuration (VMCFG-070)
 * is the only source of permission: a window is mapped into a VM only when its
 * configuration has that channel end (read-only without "write"), and every
 * doorbell is checked against the ringing VM's end ("doorbell-send") and the
 * peer's matching end at the moment of the ring, so an undefined, stopped or
 * re-defined peer is never reached by a stale grant.
 *
 * A granted ring increments the peer's cooperation-page counter for that
 * channel id (hvg_coop_page.doorbells[], GABI-032) and, when the peer's end
 * has a doorbell-spi, makes that virtual SPI pending (vgic_inject). A refused
 * ring is counted in the ringing VM's slot (doorbells_denied) and reported as
 * HVM_EV_DOORBELL_DENIED, at most once per VM and channel id per 100 ms
 * (MGMT-051) so a flooding guest cannot push other events out of the ring.
 * A granted end rings at most doorbell-rate times per second (VMCFG-701):
 * a guest flooding its peer is held to that, the excess refused as BUSY and
 * counted as denied.
 */
#include <string.h>
#include "channel.h"
#include "vm.h"
#include "hvvmconfig.h"
#include "region.h"
#include "timer.h"
#include "vgic.h"
#include "fmt.h"
#include "hvguest.h"

#define DENIED_EVENT_GAP_NS 100000000ull

static uint64_t last_denied_event[HVM_MAX_VMS][VMCFG_MAX_CHANNEL_ID + 1];

enum hvm_status channel_map(struct vm *vm, const struct vmcfg *cfg, char *msg, unsigned len)
{
	for (uint32_t i = 0; i < sizeof(vm->db_due_ns) / sizeof(vm->db_due_ns[0]); i++)
		__atomic_store_n(&vm->db_due_ns[i], 0, __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < cfg->nchan; i++) {
		const struct vmcfg_channel *ch = &cfg->chan[i];
		enum s2_attr a = (ch->rights & VMCFG_R_WRITE) ? S2_NORMAL_RW : S2_NORMAL_RO;
		if (!(ch->rights & (VMCFG_R_READ | VMCFG_R_WRITE)))
			continue; /* a doorbell-only end has no window */
		enum hvm_status st =
			stage2_map(&vm->s2, ch->shm.ipa, ch->shm.pa, ch->shm.size, a, msg, len);
		if (st != HVM_OK)
			return st;
	}
	return HVM_OK;
}

static const struct vmcfg_channel *end_with_id(const struct vmcfg *c, uint32_t id)
{
	for (uint32_t i = 0; c && i < c->nchan; i++)
		if (c->chan[i].id == id)
			return &c->chan[i];
	return NULL;
}

/* The peer's end of ch: names us, same window (VMCFG-086). */
static const struct vmcfg_channel *peer_end(const struct vmcfg *peer, const char *self,
					    const struct vmcfg_channel *ch)
{
	for (uint32_t i = 0; peer && i < peer->nchan; i++)
		if (strcmp(peer->chan[i].peer, self) == 0 && peer->chan[i].shm.pa == ch->shm.pa &&
		    peer->chan[i].shm.size == ch->shm.size)
			return &peer->chan[i];
	return NULL;
}

static int64_t deny(struct vm *vm, uint64_t id, int64_t code)
{
	__atomic_add_fetch(&vm->stats.doorbells_denied, 1, __ATOMIC_RELAXED);
	uint32_t slot = id <= VMCFG_MAX_CHANNEL_ID ? (uint32_t)id : VMCFG_MAX_CHANNEL_ID;
	uint64_t now = timer_uptime_ns();
	uint64_t *last = &last_denied_event[vm->id][slot];
	if (*last == 0 || now - *last >= DENIED_EVENT_GAP_NS) {
		/* the gap is kept between the events' own times, which are taken
		 * a little later than now (the ring's lock) */
		uint64_t stamp = 0;
		events_append_stamped(HVM_EV_DOORBELL_DENIED, vm->id,
				      (uint32_t)(id > 0xFFFFFFFFu ? 0xFFFFFFFFu : id), vm->reason,
				      &stamp);
		*last = stamp ? stamp : 1;
	}
	return code;
}

/* The running peer at the other end of ch, locked, with its end in *pe; or
 * NULL. The look for the name races nothing harmful (a name being rewritten
 * is still a terminated string). Before anything of the peer is used, its
 * lock: vm_create() reuses a slot, and vm_op_undefine() gives one up, under
 * it, so the slot is the same defined VM (gen) for as long as the caller
 * holds it. The state is checked before the peer's configuration is read:
 * that changes only while the VM is not running. */
static struct vm *lock_peer(struct vm *vm, const struct vmcfg_channel *ch,
			    const struct vmcfg_channel **pe)
{
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		struct vm *p = &vms[i];
		if (!p->used || p == vm || strcmp(p->cfg.name, ch->peer) != 0)
			continue;
		uint32_t gen = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE);
		spin_lock(&p->lock);
		if (p->used && p->gen == gen && strcmp(p->cfg.name, ch->peer) == 0 &&
		    (p->state == HVM_VM_RUNNING || p->state == HVM_VM_PAUSED ||
		     p->state == HVM_VM_SHUTDOWN)) {
			*pe = peer_end(vm_vmcfg(i), vm->cfg.name, ch);
			if (*pe) /* else: peer not (or no longer) a party */
				return p;
		}
		spin_unlock(&p->lock);
		return NULL;
	}
	return NULL;
}

/* VMCFG-701: at most doorbell_rate rings per second through end ch, with a
 * burst of a tenth of a second's worth (at least one). Each accepted ring
 * moves the end's schedule on by one interval; a ring that would run more
 * than the burst ahead of the clock is refused. Lock-free: the VM's vCPUs
 * may ring the same channel at once. */
static int doorbell_rate_ok(struct vm *vm, const struct vmcfg_channel *ch, uint64_t now)
{
	uint32_t rate = ch->doorbell_rate ? ch->doorbell_rate : VMCFG_DOORBELL_RATE_DEFAULT;
	uint64_t interval = 1000000000ull / rate;
	uint64_t burst = (rate / 10 ? rate / 10 : 1) * interval;
	uint64_t *due = &vm->db_due_ns[ch->id & VMCFG_MAX_CHANNEL_ID];
	uint64_t old = __atomic_load_n(due, __ATOMIC_RELAXED), next;
	do {
		uint64_t t = old > now ? old : now;
		if (t - now >= burst)
			return 0;
		next = t + interval;
	} while (!__atomic_compare_exchange_n(due, &old, next, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return 1;
}

int64_t channel_doorbell(struct vm *vm, uint64_t id)
{
	if (id > VMCFG_MAX_CHANNEL_ID)
		return deny(vm, id, HVG_HC_E_INVALID);
	const struct vmcfg *self = vm_vmcfg(vm->id);
	const struct vmcfg_channel *ch = end_with_id(self, (uint32_t)id);
	if (!ch || !(ch->rights & VMCFG_R_DOORBELL_SEND))
		return deny(vm, id, HVG_HC_E_DENIED);
	if (!doorbell_rate_ok(vm, ch, timer_uptime_ns()))
		return deny(vm, id, HVG_HC_E_BUSY); /* VMCFG-701 */
	const struct vmcfg_channel *pe;
	struct vm *p = lock_peer(vm, ch, &pe);
	if (!p)
		return deny(vm, id, HVG_HC_E_DENIED);
	__atomic_add_fetch(&p->coop->doorbells[pe->id], 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&p->stats.doorbells_received, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&vm->stats.doorbells_sent, 1, __ATOMIC_RELAXED);
	/* counted in irqs_injected when it reaches a list register (vgic_flush) */
	if (pe->doorbell_spi != VMCFG_NO_SPI)
		vgic_inject(p, NULL, 32 + pe->doorbell_spi);
	spin_unlock(&p->lock);
	return 0;
}

int channel_net_switch(struct virtio_dev *from, const uint8_t *frame, uint32_t len)
{
	struct vm *vm = from->vm;
	const struct vmcfg_channel *ch = end_with_id(vm_vmcfg(vm->id), from->cfg.channel);
	/* GABI-493, REQ-SAF-07: this end may write, the peer's end may read */
	if (!ch || !(ch->rights & VMCFG_R_WRITE))
		return -1;
	const struct vmcfg_channel *pe;
	struct vm *p = lock_peer(vm, ch, &pe);
	if (!p)
		return -1;
	int rc = -1;
	if (pe->rights & VMCFG_R_READ)
		for (uint32_t i = 0; i < p->virtio.n && i < VIRTIO_MAX_DEVS; i++)
			if (p->virtio.dev[i].cfg.type == VIRTIO_ID_NET &&
			    p->virtio.dev[i].cfg.channel == pe->id) {
				rc = virtio_net_receive(&p->virtio.dev[i], frame, len);
				break;
			}
	spin_unlock(&p->lock);
	return rc;
}
