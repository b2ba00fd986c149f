/* dtc.h - running dtc (device-tree-compiler) and other programs for hvctl. */
#ifndef HVCTL_DTC_H
#define HVCTL_DTC_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Runs argv[0] (searched in PATH) with stdin from /dev/null; *out (length
 * *out_len) and *err get its stdout and stderr, NUL-terminated, malloc'd.
 * *status is the exit status, 127 when the program could not be run,
 * 128+signal when killed. Returns 0, or -1 with st set. */
int run_capture(const char *const argv[], char **out, size_t *out_len, char **err, int *status,
		struct hv_status *st);

/* Compiles the .dts at path into a blob (*dtb malloc'd). On a compile error
 * returns -1 with st naming the file and msg holding dtc's error lines
 * (indented, one per line). */
int dtc_compile(const char *path, uint8_t **dtb, size_t *len, char *msg, size_t msglen,
		struct hv_status *st);

/* Decompiles a blob to DTS text (*dts malloc'd, NUL-terminated). */
int dtc_decompile(const uint8_t *dtb, size_t len, char **dts, struct hv_status *st);

#endif /* HVCTL_DTC_H */
