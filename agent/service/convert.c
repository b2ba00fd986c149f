/*
 * convert.c - hypervisor records to hvmgr.v1 messages. The enums of the API
 * carry the same numbers as docs/mgmt-abi.md, so values pass through; a value
 * hv-core adds later passes through too, and clients show it as unknown.
 */
#include "agent.h"
#include "uuid.h"
#include "virtio_record.h"

#include <stdio.h>
#include <string.h>

void vm_msg_from_slot(struct vm_msg *m, const struct hvm_vm_slot *s)
{
	Hvmgr__V1__Vm init = HVMGR__V1__VM__INIT;

	m->vm = init;
	memcpy(m->name, s->name, sizeof s->name);
	m->name[sizeof s->name - 1] = '\0';
	memcpy(m->image_version, s->image_version, sizeof m->image_version);
	m->image_version[sizeof m->image_version - 1] = '\0';
	hv_uuid_format(s->uuid, m->uuid);
	m->vm.id = s->id;
	m->vm.name = m->name;
	m->vm.uuid = m->uuid;
	m->vm.state = (Hvmgr__V1__VmState)s->state;
	m->vm.reason = (Hvmgr__V1__VmReason)s->reason;
	m->vm.vcpus = s->vcpus;
	m->vm.pcpu_mask = s->pcpu_mask;
	m->vm.memory_bytes = s->mem_bytes;
	m->vm.criticality = (Hvmgr__V1__Criticality)s->criticality;
	m->vm.fault_policy = s->fault_policy;
	m->vm.heartbeat = s->heartbeat;
	m->vm.heartbeat_age_ns = s->heartbeat_age_ns;
	m->vm.cpu_time_ns = s->cpu_time_ns;
	m->vm.fault_count = s->fault_count;
	m->vm.restart_count = s->restart_count;
	m->vm.guest_state = (Hvmgr__V1__GuestState)s->guest_state;
	m->vm.health_code = s->health_code;
	m->vm.image_version = m->image_version;
	m->vm.in_hypervisor = 1;
	m->vm.unmanaged = 1; /* until vm_msg_apply_store finds it stored */
	m->vm.desired_state = HVMGR__V1__VM_STATE__VM_STATE_NOSTATE;
}

void virtio_msg_fill(struct virtio_msg *m, const struct hvm_virtio *r)
{
	Hvmgr__V1__VirtioDevice init = HVMGR__V1__VIRTIO_DEVICE__INIT;

	m->n = 0;
	for (uint32_t i = 0; i < r->count && i < HVM_VIRTIO_MAX; i++) {
		const struct hvm_virtio_dev *d = &r->dev[i];
		Hvmgr__V1__VirtioDevice *o = &m->dev[m->n];

		*o = init;
		o->type = (char *)virtio_type_word(d->type);
		o->window = d->ipa;
		o->spi = d->spi;
		o->status = d->status;
		o->channel = d->channel;
		o->notifies = d->notifies;
		o->requests = d->requests;
		o->bytes = d->bytes;
		o->errors = d->errors;
		o->irqs = d->irqs;
		o->dropped = d->dropped;
		o->limited = d->limited;
		o->frame_rate = d->rate;
		m->ptrs[m->n++] = o;
	}
}
