/* pl011.h - polled driver for the physical PL011 UART hv-core logs to. */
#ifndef HV_PL011_H
#define HV_PL011_H
#include <stdint.h>
void pl011_init(uint64_t base);
void pl011_putc(char c);
#endif
