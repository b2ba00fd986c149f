/*
 * shell_testlib.c - shell lines for integration tests (shell_testlib.h).
 */
#include "shell_testlib.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

int test_sh(const char *dir, const char *fmt, ...)
{
	char line[1024], cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd,
		 "cd '%s' && BUILD='%s' HVCTL='%s/hvctl' GI='%s/scripts/guest-image.sh' "
		 "bash -c '%s' >>'%s/make.log' 2>&1",
		 dir, HV_BUILD_DIR, HV_BIN_DIR, HV_SOURCE_DIR, line, dir);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
