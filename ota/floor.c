/* The time floor of docs/ota.md OTA-041: the newest signed time seen, kept in
 * a small file that only ever grows. */
#include "ota_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ota_floor_load(const char *path, int64_t *t, struct ota_err *err)
{
	char buf[32];
	*t = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return ota_fail(err, OTA_E_IO, "%s: %s", path, strerror(errno));
	long n = ota_read_full(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return ota_fail(err, OTA_E_IO, "%s: empty or unreadable time floor", path);
	buf[n] = '\0';
	char *end = NULL;
	errno = 0;
	long long v = strtoll(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') || v < 0)
		return ota_fail(err, OTA_E_IO, "%s: not a time floor (decimal seconds)", path);
	*t = v;
	return 0;
}

int ota_floor_raise(const char *path, int64_t t, struct ota_err *err)
{
	int64_t cur;
	if (ota_floor_load(path, &cur, err) < 0)
		return -1;
	if (t <= cur)
		return 0;
	char tmp[4096], buf[32];
	if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp)
		return ota_fail(err, OTA_E_USAGE, "time floor path is too long");
	int fd = mkstemp(tmp);
	if (fd < 0)
		return ota_fail(err, OTA_E_IO, "%s: %s", path, strerror(errno));
	int n = snprintf(buf, sizeof buf, "%" PRId64 "\n", t);
	int rc = ota_write_full(fd, buf, (size_t)n) < 0 || fsync(fd) < 0 ? -1 : 0;
	int e = errno;
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -1;
		e = errno;
	}
	if (rc < 0) {
		unlink(tmp);
		return ota_fail(err, OTA_E_IO, "%s: %s", path, strerror(e));
	}
	return 0;
}
