/* stdlib.h - the freestanding subset of <stdlib.h> libfdt needs (lib/string.c). */
#ifndef HV_STDLIB_H
#define HV_STDLIB_H
#include <stddef.h>
unsigned long strtoul(const char *s, char **end, int base);
/* lib/arena.c: for mbedTLS only */
void *calloc(size_t n, size_t size);
void free(void *p);
#endif
