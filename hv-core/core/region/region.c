/*
 * region.c - where the management region lies, and the accessors of its parts
 * (docs/mgmt-abi.md, include/hvmgmt.h).
 */
#include "region.h"
#include "platform.h"

_Static_assert(HV_BLK_BOUNCE_BASE >= HV_MGMT_BASE + 0x100000 &&
		       HV_BLK_BOUNCE_BASE + HVM_MAX_VMS * (uint64_t)HVM_BLK_BOUNCE_SIZE <=
			       HV_STORE_BASE,
	       "bounce areas between the region and the image store");

static volatile uint8_t *region;
/* hv-core's own copy of the staging area: hvm_regs.staging_base/size only
 * publish it (see region.h) */
static uint64_t staging_pa, staging_len;

void mgmt_region_set(uint64_t base, uint64_t staging_base, uint64_t staging_size)
{
	region = (volatile uint8_t *)(uintptr_t)base;
	staging_pa = staging_base;
	staging_len = staging_size;
}

volatile struct hvm_regs *mgmt_regs(void)
{
	return (volatile struct hvm_regs *)region;
}

uint64_t mgmt_staging_base(void)
{
	return staging_pa;
}

uint64_t mgmt_staging_size(void)
{
	return staging_len;
}

volatile struct hvm_vm_slot *mgmt_slot(uint32_t id)
{
	return HVM_SLOT_AT(region, id);
}

volatile struct hvm_blk_ring *mgmt_blk_ring(uint32_t id)
{
	return (volatile struct hvm_blk_ring *)(region + HVM_OFF_BLK + id * 0x1000u);
}

uint8_t *mgmt_blk_bounce(uint32_t id)
{
	return (uint8_t *)(uintptr_t)(HV_BLK_BOUNCE_BASE + (uint64_t)id * HVM_BLK_BOUNCE_SIZE);
}

volatile struct hvm_fault *mgmt_fault(uint32_t id)
{
	return (volatile struct hvm_fault *)(region + HVM_OFF_FAULTS + id * sizeof(struct hvm_fault));
}

void mgmt_fault_header(volatile struct hvm_fault *f)
{
	f->magic = HVM_FAULT_MAGIC; /* MGMT-162 */
	f->version = HVM_FAULT_VERSION;
	f->size = sizeof(struct hvm_fault);
}

volatile struct hvm_console *mgmt_console(uint32_t id)
{
	return (volatile struct hvm_console *)(region + HVM_OFF_CONSOLES +
					       id * sizeof(struct hvm_console));
}

static uint32_t slot_gen[HVM_MAX_VMS], fault_gen[HVM_MAX_VMS];

static void gen_begin(volatile uint32_t *pub, uint32_t *priv)
{
	*priv |= 1;
	__atomic_store_n(pub, *priv, __ATOMIC_RELAXED); /* odd: being written */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void gen_end(volatile uint32_t *pub, uint32_t *priv)
{
	*priv += 1;
	__atomic_store_n(pub, *priv, __ATOMIC_RELEASE); /* even: consistent */
}

void mgmt_slot_begin(uint32_t id)
{
	gen_begin(&mgmt_slot(id)->gen, &slot_gen[id]);
}

void mgmt_slot_end(uint32_t id)
{
	gen_end(&mgmt_slot(id)->gen, &slot_gen[id]);
}

void mgmt_fault_begin(uint32_t id)
{
	gen_begin(&mgmt_fault(id)->gen, &fault_gen[id]);
}

void mgmt_fault_end(uint32_t id)
{
	gen_end(&mgmt_fault(id)->gen, &fault_gen[id]);
}

/* MGMT-150: a slot whose VM was undefined reads defined = 0, everything zero. */
void mgmt_clear_slot(uint32_t id)
{
	volatile struct hvm_vm_slot *s = mgmt_slot(id);
	mgmt_slot_begin(id);
	for (unsigned i = 4; i < sizeof(*s); i++)
		((volatile uint8_t *)s)[i] = 0;
	s->id = id;
	mgmt_slot_end(id);
}
