/*
 * console.h - a VM's console: bytes from its virtual UART (or the CONSOLE_PUTC
 * hypercall) go into its ring in the management region (MGMT-170), and whole
 * lines are echoed to the physical UART prefixed with the VM's name.
 */
#ifndef HV_CONSOLE_H
#define HV_CONSOLE_H
#include <stdint.h>
struct vm;
void console_init(struct vm *vm);
void console_putc(struct vm *vm, uint8_t c);
/* Bytes ever written to VM id's ring, as hv-core counts them (MGMT-301). */
uint64_t console_head(uint32_t id);
#endif
