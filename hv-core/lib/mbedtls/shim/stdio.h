/* stdio.h - what mbedTLS's headers name of <stdio.h> in hv-core: no files. */
#ifndef HV_STDIO_H
#define HV_STDIO_H
#include <stddef.h>
typedef struct hv_no_file FILE;
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#endif
