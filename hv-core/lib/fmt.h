/*
 * fmt.h - printf-like formatting into a bounded buffer (no floating point).
 * Supports %% %c %s %d %i %u %x %X %p with flags '-' '0', a width, and the
 * length modifiers l, ll, z. Always NUL-terminates; returns the length the
 * full output would have had, like vsnprintf.
 */
#ifndef HV_FMT_H
#define HV_FMT_H
#include <stdarg.h>
#include <stddef.h>
int hv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
int hv_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#endif
