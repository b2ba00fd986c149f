/*
 * console.c - per-VM console rings. head counts every byte ever written and is
 * stored with release ordering after the byte, so a reader that loads head with
 * acquire sees the bytes before it (MGMT-170).
 */
#include "console.h"
#include "vm.h"
#include "region.h"
#include "log.h"

/* MGMT-301: bytes written per VM, kept by hv-core; hvm_console.head only
 * publishes it */
static uint64_t heads[HVM_MAX_VMS];

uint64_t console_head(uint32_t id)
{
	return id < HVM_MAX_VMS ? __atomic_load_n(&heads[id], __ATOMIC_ACQUIRE) : 0;
}

/* A new VM in the slot (vm_create()): it starts with an empty ring, so no
 * reader is shown what the slot's previous VM wrote (MGMT-335). A reader at a
 * position beyond the new head knows the ring was reset (MGMT-170). */
void console_init(struct vm *vm)
{
	volatile struct hvm_console *c = mgmt_console(vm->id);
	spin_lock(&vm->console_lock);
	for (uint32_t i = 0; i < HVM_CONSOLE_SIZE; i++)
		c->buf[i] = 0;
	c->size = HVM_CONSOLE_SIZE;
	c->vm_id = vm->id;
	__atomic_store_n(&heads[vm->id], 0, __ATOMIC_RELEASE);
	__atomic_store_n(&c->head, 0, __ATOMIC_RELEASE);
	vm->line.len = 0;
	spin_unlock(&vm->console_lock);
}

static void flush_line(struct vm *vm)
{
	hv_log_guest_line(vm->cfg.name, vm->line.buf, vm->line.len);
	vm->line.len = 0;
}

void console_putc(struct vm *vm, uint8_t ch)
{
	volatile struct hvm_console *c = mgmt_console(vm->id);
	spin_lock(&vm->console_lock);
	uint64_t head = heads[vm->id];
	c->buf[head % HVM_CONSOLE_SIZE] = ch;
	__atomic_store_n(&heads[vm->id], head + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&c->head, head + 1, __ATOMIC_RELEASE);
	if (ch == '\n') {
		flush_line(vm);
	} else if (ch != '\r') {
		/* non-printable bytes are shown as '.' on the physical UART only */
		vm->line.buf[vm->line.len++] = (ch >= 0x20 && ch < 0x7F) ? (char)ch : '.';
		if (vm->line.len == sizeof(vm->line.buf) - 1)
			flush_line(vm);
	}
	spin_unlock(&vm->console_lock);
}
