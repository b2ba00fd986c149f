/*
 * fake_hv.h - a TEST DOUBLE of the hypervisor side of the management region,
 * used only by the conformance suite's own unit test (selftest.c). A thread
 * plays hv-core on a 1 MiB region in a temporary file: a tick every
 * millisecond, one RUNNING VM, the full command set of docs/mgmt-abi.md; each
 * flaw breaks one clause on purpose, so the test can prove the suite notices.
 * It is not an implementation of anything real.
 */
#ifndef HV_FAKE_HV_H
#define HV_FAKE_HV_H

enum fake_flaw {
	FAKE_GOOD,           /* meant to pass every check that needs no docs/examples */
	FAKE_OK_UNKNOWN,     /* answers OK to unknown command codes (MGMT-030)        */
	FAKE_NEVER_COMPLETE, /* never writes done_seq (MGMT-111)                      */
	FAKE_NO_TICKS,       /* hv_ticks stands still (MGMT-011)                      */
	FAKE_LAX_STATE,      /* RESUME on a RUNNING VM answers OK (MGMT-045)          */
	FAKE_CAPS_LIE,       /* advertises SUSPEND/RESUME but answers E_UNKNOWN_CMD   */
	FAKE_WEDGE_ON_ABUSE, /* stops completing after a req_seq skip (MGMT-113)      */
	FAKE_BAD_MAGIC,      /* the region never carries the right magic              */
};

struct fake_hv;

/* Creates path (1 MiB; the region at offset 0) and starts the thread. */
struct fake_hv *fake_hv_start(const char *path, enum fake_flaw flaw);
void fake_hv_stop(struct fake_hv *f);

#endif /* HV_FAKE_HV_H */
