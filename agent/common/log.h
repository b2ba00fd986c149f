/*
 * log.h - hv-agent's log: one line per message on stderr, with a UTC timestamp
 * and a level, so that a service manager or a redirected file keeps a usable
 * record without a logging library.
 */
#ifndef HV_LOG_H
#define HV_LOG_H

enum hv_log_level {
	HV_LOG_DEBUG,
	HV_LOG_INFO,
	HV_LOG_WARN,
	HV_LOG_ERROR
};

/* Messages below this level are dropped (default INFO). */
void hv_log_set_level(enum hv_log_level level);

void hv_log(enum hv_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) hv_log(HV_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) hv_log(HV_LOG_INFO, __VA_ARGS__)
#define log_warn(...) hv_log(HV_LOG_WARN, __VA_ARGS__)
#define log_error(...) hv_log(HV_LOG_ERROR, __VA_ARGS__)

#endif /* HV_LOG_H */
