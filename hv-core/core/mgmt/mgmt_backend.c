/*
 * mgmt_backend.c - what the command decoder (mgmt_cmd.c) asks of hv-core: the
 * VM table, the lifecycle operations of vm_life.c, images, statistics, fault
 * records, console rings and the self-test result. The decoder has already
 * checked the VM id, its state (MGMT-045) and the argument ranges.
 */
#include <string.h>
#include "mgmt_cmd.h"
#include "heap.h"
#include "mgmt.h"
#include "vm.h"
#include "vm_life.h"
#include "vmdef.h"
#include "console.h"
#include "selftest.h"
#include "sha256.h"
#include "platform.h"
#include "timer.h"
#include "mmu.h"
#include "fmt.h"
#include "log.h"
#include "safety.h"
#include "ota.h"

int mgmt_be_state(uint32_t id)
{
	return id < HVM_MAX_VMS && vms[id].used ? (int)vms[id].state : -1;
}

uint64_t mgmt_be_defined_mask(void)
{
	uint64_t m = 0;
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
		if (vms[i].used)
			m |= 1ull << i;
	return m;
}

uint32_t mgmt_be_vm_count(void)
{
	return vm_count();
}
uint64_t mgmt_be_uptime_ns(void)
{
	return timer_uptime_ns();
}
void mgmt_be_heap_pages(uint64_t *free_pages, uint64_t *total_pages)
{
	*free_pages = heap_free_pages();
	*total_pages = heap_total_pages();
}
uint64_t mgmt_be_staging_size(void)
{
	return mgmt_staging_size();
}

void mgmt_be_selftest(uint64_t *failed, uint64_t *run)
{
	*failed = selftest_failed_mask();
	*run = selftest_checks_run();
}

enum hvm_status mgmt_be_define(const uint8_t *blob, size_t len, uint32_t *id, char *msg, unsigned mlen)
{
	return vmdef_define_blob(blob, len, id, msg, mlen);
}

enum hvm_status mgmt_be_lifecycle(uint32_t cmd, uint32_t id, const uint64_t *arg, char *msg,
				  unsigned mlen)
{
	struct vm *vm = &vms[id];
	enum hvm_status st;
	if ((cmd == HVM_CMD_SHUTDOWN || cmd == HVM_CMD_REBOOT || cmd == HVM_CMD_SUSPEND) &&
	    vm_starting(vm)) {
		hv_snprintf(msg, mlen, "'%s' is starting: %s waits until it runs (MGMT-713)",
			    vm->cfg.name, hvm_cmd_name(cmd));
		return HVM_E_STATE;
	}
	switch (cmd) {
	case HVM_CMD_UNDEFINE:
		st = vm_op_undefine(vm, msg, mlen);
		if (st == HVM_OK)
			vm_forget_vmcfg(id);
		return st;
	case HVM_CMD_START:
		if ((st = vmdef_check_peers(id, msg, mlen)) != HVM_OK)
			return st;
		return vm_op_start_cmd(vm, HVM_R_BOOTED, msg, mlen);
	case HVM_CMD_SHUTDOWN:
		return vm_op_shutdown(vm, arg[0], msg, mlen);
	case HVM_CMD_DESTROY:
		vm_op_destroy(vm, HVM_R_DESTROYED);
		return HVM_OK;
	case HVM_CMD_REBOOT:
		return vm_op_reboot(vm, arg[0], msg, mlen); /* MGMT-044 */
	case HVM_CMD_RESET:
		return vm_op_restart(vm, HVM_R_RESET, msg, mlen);
	case HVM_CMD_SUSPEND:
		vm_op_suspend(vm);
		return HVM_OK;
	case HVM_CMD_RESUME:
		vm_op_resume(vm);
		return HVM_OK;
	default:
		hv_snprintf(msg, mlen, "command %u is not a lifecycle command", cmd);
		return HVM_E_INTERNAL;
	}
}

/* REQ-SAF-12: the staged bytes must have the configured digest before they
 * replace the VM's image. The staging area is apart from every slot
 * (MGMT-302); vm_op_load() copies the bytes once into hv-core's hands and
 * hashes that copy (MGMT-303), so a client that changes the staging area
 * meanwhile gains nothing; it does so in units between supervision passes,
 * and the command is answered at the end (MGMT-711). */
enum hvm_status mgmt_be_load_image(uint32_t id, uint64_t off, uint64_t len, uint32_t index,
				   char *msg, unsigned mlen)
{
	struct vm *vm = &vms[id];
	const struct vm_config *c = &vm->cfg;
	const struct vmcfg *vc = vm_vmcfg(id);
	const volatile uint8_t *src =
		(const volatile uint8_t *)(uintptr_t)(mgmt_staging_base() + off);
	const uint8_t *want = c->image_sha256;
	uint64_t size = c->image_size;
	if (index == 1) {
		if (!vc || !vc->boot.has_initrd) {
			hv_snprintf(msg, mlen, "'%s' has no initrd in its configuration", c->name);
			return HVM_E_BAD_ARG;
		}
		want = vc->boot.initrd_sha256;
		size = vc->boot.initrd_size;
	}
	if (len != size) {
		hv_snprintf(msg, mlen, "'%s': %lu bytes, the configuration says %lu", c->name,
			    (unsigned long)len, (unsigned long)size);
		return HVM_E_BAD_ARG;
	}
	return vm_op_load(vm, index, src, len, want, msg, mlen); /* MGMT-711: in units */
}

void mgmt_be_stats(uint32_t id, struct hvm_stats *s)
{
	struct vm *vm = &vms[id];
	vm_publish_slot(vm); /* fresh heartbeat age */
	spin_lock(&vm->lock);
	s->magic = HVM_STATS_MAGIC;
	s->version = HVM_STATS_VERSION;
	s->size = sizeof(*s);
	s->vm_id = id;
	s->state = vm->state;
	s->time_ns = timer_uptime_ns();
	uint64_t cpu_ticks = 0;
	for (uint32_t i = 0; i < vm->cfg.vcpus; i++) {
		cpu_ticks += vm->vcpu[i].cpu_ticks;
		s->exits += vm->vcpu[i].exits;
	}
	s->cpu_time_ns = timer_count_to_ns(cpu_ticks);
	for (unsigned i = 0; i < HVM_EXIT__COUNT; i++)
		s->exits_by_class[i] = vm->stats.exits_by_class[i];
	s->irqs_injected = vm_irqs_injected(vm);
	s->faults = vm->fault_count;
	s->faults_ignored = vm->stats.faults_ignored;
	for (unsigned k = 0; k < 6; k++) /* MGMT-802 */
		s->faults_by_kind[k] = vm->stats.faults_by_kind[k];
	s->watchdog_expiries = vm->stats.watchdog_expiries;
	s->restarts = vm->restart_count;
	s->doorbells_sent = vm->stats.doorbells_sent;
	s->doorbells_received = vm->stats.doorbells_received;
	s->doorbells_denied = vm->stats.doorbells_denied;
	s->heartbeat = vm->hb_last;
	s->heartbeat_age_ns = s->time_ns - vm->hb_changed_ns;
	spin_unlock(&vm->lock);
}

void mgmt_be_virtio(uint32_t id, struct hvm_virtio *out)
{
	struct vm *vm = &vms[id];

	out->magic = HVM_VIRTIO_MAGIC;
	out->version = HVM_VIRTIO_VERSION;
	out->size = sizeof(*out);
	out->vm_id = id;
	for (uint32_t i = 0; i < vm->cfg.n_virtio && i < HVM_VIRTIO_MAX; i++) {
		struct virtio_dev *d = &vm->virtio.dev[i];
		struct hvm_virtio_dev *o = &out->dev[out->count++];

		o->type = vm->cfg.virtio[i].type;
		o->spi = vm->cfg.virtio[i].spi;
		o->ipa = vm->cfg.virtio[i].ipa;
		o->channel = vm->cfg.virtio[i].channel;
		o->rate = vm->cfg.virtio[i].rate;
		if (i >= vm->virtio.n)
			continue; /* never booted: no counters yet */
		spin_lock(&d->lock);
		o->status = d->status;
		o->notifies = d->stats.notifies;
		o->requests = d->stats.requests;
		o->bytes = d->stats.bytes;
		o->errors = d->stats.errors;
		o->irqs = d->stats.irqs;
		o->dropped = __atomic_load_n(&d->stats.dropped, __ATOMIC_RELAXED);
		o->limited = __atomic_load_n(&d->stats.limited, __ATOMIC_RELAXED);
		spin_unlock(&d->lock);
	}
}

void mgmt_be_fault(uint32_t id, struct hvm_fault *out)
{
	struct vm *vm = &vms[id];
	spin_lock(&vm->lock); /* fault records are written under vm->lock */
	volatile struct hvm_fault *f = mgmt_fault(id);
	for (unsigned i = 0; i < sizeof(*out); i++)
		((uint8_t *)out)[i] = ((volatile uint8_t *)f)[i];
	spin_unlock(&vm->lock);
}

void mgmt_be_fault_history(uint32_t id, uint64_t after, struct hvm_fault_history *out)
{
	vm_fault_history(&vms[id], after, out);
}

enum hvm_status mgmt_be_console(uint32_t id, uint64_t from, volatile uint8_t *dst, uint64_t max,
				uint64_t *count, uint64_t *next, uint64_t *lost, char *msg,
				unsigned mlen)
{
	volatile struct hvm_console *c = mgmt_console(id);
	/* the guest's vCPUs write the ring meanwhile (console_putc): without
	 * the console lock a writer lapping the copy would overwrite bytes
	 * between their being counted and their being copied (MGMT-170) */
	spin_lock(&vms[id].console_lock);
	uint64_t head = console_head(id);
	if (from > head) {
		spin_unlock(&vms[id].console_lock);
		hv_snprintf(msg, mlen, "position %lu is beyond the %lu bytes written",
			    (unsigned long)from, (unsigned long)head);
		return HVM_E_BAD_ARG;
	}
	uint64_t oldest = head > HVM_CONSOLE_SIZE ? head - HVM_CONSOLE_SIZE : 0;
	*lost = from < oldest ? oldest - from : 0;
	uint64_t pos = from + *lost;
	uint64_t n = head - pos;
	if (n > max)
		n = max;
	for (uint64_t i = 0; i < n; i++)
		dst[i] = c->buf[(pos + i) % HVM_CONSOLE_SIZE];
	spin_unlock(&vms[id].console_lock);
	*count = n;
	*next = pos + n;
	return HVM_OK;
}

uint64_t mgmt_be_console_input(uint32_t id, const uint8_t *p, uint32_t n, uint64_t *free_after)
{
	struct vm *vm = &vms[id];
	uint32_t done = vpl011_receive(vm, p, n);
	spin_lock(&vm->uart.rx_lock);
	*free_after = VPL011_RX_FIFO - vm->uart.rx_count;
	spin_unlock(&vm->uart.rx_lock);
	return done;
}

enum hvm_status mgmt_be_policy_gate(uint32_t cmd, uint32_t id, int dry_run, uint64_t *cell,
				    uint64_t *vs, char *msg, unsigned mlen)
{
	uint8_t c = 0;
	uint64_t now = timer_uptime_ns();
	struct safety_view v;
	safety_view(now, &v);
	*vs = v.state;
	enum hvm_status st =
		safety_check(cmd, id, vms[id].cfg.criticality, dry_run, now, &c, msg, mlen);
	*cell = c;
	return st;
}

void mgmt_be_vehicle(uint64_t *ret)
{
	struct safety_view v;
	safety_view(timer_uptime_ns(), &v);
	ret[0] = v.state;
	ret[1] = v.source;
	ret[2] = v.age_ns;
	ret[3] = v.src_vm;
	ret[4] = v.reported;
	ret[5] = v.fresh_ns;
}

enum hvm_status mgmt_be_set_vehicle(uint64_t vs, char *msg, unsigned mlen)
{
	return safety_set_state(vs, timer_uptime_ns(), msg, mlen);
}

void mgmt_be_policy(struct hvm_policy *out)
{
	policy_record(safety_policy(), out);
}

enum hvm_status mgmt_be_audit_seq(int set, uint64_t seq, uint64_t *ret, char *msg, unsigned mlen)
{
	if (set)
		return ota_audit_seq_set(seq, msg, mlen);
	ota_audit_seq_get(ret);
	return HVM_OK;
}

enum hvm_status mgmt_be_ota_install(uint32_t id, uint64_t off, uint64_t len, uint32_t kind,
				    const struct hvm_ota_image *img, const uint8_t *manifest,
				    size_t manifest_len, const uint8_t *sigblock,
				    size_t sigblock_len, char *msg, unsigned mlen)
{
	struct ota_signed sg = { manifest, manifest_len, sigblock, sigblock_len };
	return ota_install(&vms[id], off, len, kind, img, manifest ? &sg : NULL, msg, mlen);
}

enum hvm_status mgmt_be_ota_switch(uint32_t id, uint64_t window_ms, uint64_t timeout_ms, char *msg,
				   unsigned mlen)
{
	/* MGMT-621: a switch starts or resets the VM; the policy rules on it so,
	 * for every VM of its update group (MGMT-651) */
	uint32_t group = ota_group_vms(&vms[id]);
	for (uint32_t m = 0; m < HVM_MAX_VMS; m++) {
		if (!(group & (1u << m)))
			continue;
		uint32_t as = vms[m].state == HVM_VM_SHUTOFF ? HVM_CMD_START : HVM_CMD_RESET;
		uint64_t cell, vs;
		enum hvm_status st = mgmt_be_policy_gate(as, m, 0, &cell, &vs, msg, mlen);
		if (st != HVM_OK)
			return st;
	}
	return ota_switch(&vms[id], window_ms, timeout_ms, msg, mlen);
}

void mgmt_be_ota_status(uint32_t id, struct hvm_ota_status *out)
{
	ota_status(&vms[id], out);
}
