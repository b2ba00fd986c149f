/*
 * testcut.h - hv-agent's cut points for power-cut tests (docs/ota.md OTA-212).
 *
 * hv_test_cut(point, vm) marks a persistence point of hv-agent. In hv-agent
 * it does nothing. In hv-agent-test, the same daemon built with
 * HV_AGENT_TEST_CUTS for tests only (testcut_hook.c), it ends the process
 * with _exit(HV_TEST_CUT_EXIT) at once, as a power cut would, when the
 * environment variable HV_AGENT_TEST_CUT names the point: "POINT" cuts at
 * the point for any VM, "POINT:VM" only for that VM; several are separated
 * by commas. Nothing is flushed, closed or unlocked on the way out.
 */
#ifndef HV_TESTCUT_H
#define HV_TESTCUT_H

/* the exit status of a test cut (a clean exit is 0, a signal 128+N) */
#define HV_TEST_CUT_EXIT 86

/* point: "ota.after-install" and the like; vm: a VM's name or NULL. */
void hv_test_cut(const char *point, const char *vm);

#endif /* HV_TESTCUT_H */
