/* Helpers shared by the PKI tests: temporary directories, file checks. */
#ifndef HV_PKI_TESTUTIL_H
#define HV_PKI_TESTUTIL_H

#include <stddef.h>
#include <mbedtls/x509_crt.h>

/* A fresh directory under $TMPDIR (or /tmp); aborts the test on failure. */
char *pkit_mkdtemp(void);
/* rm -rf DIR and free it. */
void pkit_rmtree(char *dir);
/* Number of entries in DIR (without . and ..), -1 if it does not exist. */
int pkit_count(const char *dir);
/* DIR/NAME into a static-free caller buffer. */
void pkit_path(char *buf, size_t len, const char *dir, const char *name);
/* Parses DIR/NAME as a certificate; aborts the test on failure. */
void pkit_load_crt(mbedtls_x509_crt *crt, const char *dir, const char *name);
/* Whole file as a malloc'd string, NULL if it cannot be read. */
char *pkit_slurp(const char *path);

#endif
