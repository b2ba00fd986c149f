/*
 * log.c - formatted, line-atomic output to the physical UART.
 */
#include <stdarg.h>
#include "log.h"
#include "fmt.h"
#include "pl011.h"
#include "spinlock.h"
#include "cpu.h"

static spinlock_t uart_lock;
static int mmu_ready; /* locks need the MMU; before it only CPU 0 runs */

void log_mmu_ready(void);
void log_mmu_ready(void)
{
	mmu_ready = 1;
}

static void put_str(const char *s, unsigned n)
{
	for (unsigned i = 0; i < n && s[i]; i++)
		pl011_putc(s[i]);
}

static void emit(const char *prefix, const char *msg, unsigned len)
{
	if (mmu_ready)
		spin_lock(&uart_lock);
	put_str(prefix, 64);
	put_str(msg, len);
	pl011_putc('\n');
	if (mmu_ready)
		spin_unlock(&uart_lock);
}

void hv_log(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	hv_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	emit("hv-core: ", buf, sizeof(buf));
}

void hv_log_guest_line(const char *vm_name, const char *line, unsigned len)
{
	char prefix[48];
	hv_snprintf(prefix, sizeof(prefix), "[%s] ", vm_name);
	emit(prefix, line, len);
}

void hv_panic(const char *fmt, ...)
{
	char buf[256];
	char prefix[48];
	va_list ap;
	va_start(ap, fmt);
	hv_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	hv_snprintf(prefix, sizeof(prefix), "hv-core PANIC on cpu %u: ", cpu_index());
	emit(prefix, buf, sizeof(buf));
	emit("hv-core: ", "this CPU is halted", 64);
	hv_halt_cpu();
}
