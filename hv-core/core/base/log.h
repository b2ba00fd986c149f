/*
 * log.h - hv-core's messages on the physical UART. Lines from different CPUs
 * never interleave. hv_panic() reports and halts the calling CPU: hv-core never
 * stops silently.
 */
#ifndef HV_LOG_H
#define HV_LOG_H
void hv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One guest console line, prefixed with the VM's name. */
void hv_log_guest_line(const char *vm_name, const char *line, unsigned len);
void hv_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#endif
