/*
 * shell_testlib.h - a shell line run for an integration test, in its
 * temporary directory, with the names its scripts use: HVCTL (the built
 * hvctl), BUILD (the build tree) and GI (scripts/guest-image.sh). Shared by
 * the suites that make PKIs, images and bundles with them (agent_ota,
 * hvctl_ota_stack, hvcore_linux_ota).
 */
#ifndef SHELL_TESTLIB_H
#define SHELL_TESTLIB_H

/* Runs the formatted line with bash in dir, its output appended to
 * dir/make.log; returns its exit status, -1 if it did not exit. */
__attribute__((format(printf, 2, 3))) int test_sh(const char *dir, const char *fmt, ...);

#endif /* SHELL_TESTLIB_H */
