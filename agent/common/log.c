/* log.c - timestamped log lines on stderr (log.h). One fprintf per line so
 * that lines from different threads do not interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static enum hv_log_level min_level = HV_LOG_INFO;

void hv_log_set_level(enum hv_log_level level)
{
	min_level = level;
}

void hv_log(enum hv_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	char msg[1024], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03ldZ hv-agent[%ld] %s: %s\n", stamp, ts.tv_nsec / 1000000L,
		(long)getpid(), names[level], msg);
}
