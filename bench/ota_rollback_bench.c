/*
 * ota_rollback_bench.c - hv-ota-rollback-bench: how long hv-core takes from a
 * failed trial to the old version running again (docs/performance.md "OTA
 * rollback time"; docs/mgmt-abi.md MGMT-623).
 *
 *   hv-ota-rollback-bench [RUNS]     (default 5; HV_CORE_OUT: the hv-core build)
 *
 * Boots hv-core under QEMU twice with rtos-demo and a flash bank of its own:
 * once with -icount shift=0,sleep=off (hv-core's clock then counts executed
 * instructions, 1 ns each, and jumps over time in which every CPU waits to
 * the next timer: the figures repeat to a few hundred ns) and
 * once without (its clock is the host's). Each round installs a broken
 * rtos-demo 3.0.0 (scripts/guest-image.sh --broken) into the inactive slot and
 * switches to it with a 1000 ms window and a 1500 ms trial timeout: the broken
 * image stops its heartbeat after 500 ms, so the trial fails at its deadline
 * (FAIL_TIMEOUT). Measured on hv-core's own clock, from the deadline (the
 * OTA_TRIAL event's time plus the timeout):
 *   - to OTA_ROLLED_BACK: the failure seen at a service tick, the rollback
 *     stored in flash, the old image copied from flash into the image store,
 *     the VM reset;
 *   - to the old image's first heartbeat: the rtos-demo image it ran before
 *     has booted, reported its version and beaten once (its first beat comes
 *     50 ms after it starts; the time of beat 1 is that of the first beat seen
 *     less 50 ms per beat after it).
 * Prints the median, smallest and largest of the rounds as a Markdown table.
 * Asserts no timing: it fails only when something does not work.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hvcore_mgmt_util.h"
#include "hvqemu.h"

#define MAX_RUNS 50
#define WINDOW_MS 1000u
#define TIMEOUT_MS 1500u
#define BEAT_NS 50000000ull /* rtos-demo beats every 50 ms */

static struct hvq q;
static char dir[] = "/tmp/hv-ota-rollback-XXXXXX";

static void cleanup(void)
{
	hvq_stop(&q);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "hv-ota-rollback-bench: %s not removed\n", dir);
}

static void die(const char *what)
{
	fprintf(stderr, "hv-ota-rollback-bench: %s\n", what);
	cleanup();
	exit(1);
}

static struct hvq_reply command(uint32_t c, int id, uint64_t a0, uint64_t a1)
{
	struct hvq_reply rep;
	uint64_t args[6] = { a0, a1 };
	if (hvq_command(&q, c, (uint32_t)id, args, &rep) != 0)
		die(q.err);
	return rep;
}

/* The newest event of type for vm from event number `from`; 0 when none. */
static int find_event(uint32_t type, int vm, uint64_t from, struct hvm_event *out)
{
	int found = 0;
	for (uint64_t s = from; s < q.regs->ev_head; s++) {
		struct hvm_event e;
		if (hvq_read_event(&q, s, &e) == 0 && e.type == type && e.vm_id == (uint32_t)vm) {
			*out = e;
			found = 1;
		}
	}
	return found;
}

struct old_runs {
	int id;
	uint64_t from;
	const char *version;
	uint64_t first_beat_ns; /* filled when found */
};

/* After the rollback event: the old version reports and has beaten. */
static int old_runs(struct hvq *h, void *arg)
{
	struct old_runs *w = arg;
	struct hvm_event e;
	struct hvm_vm_slot s;
	if (!find_event(HVM_EV_OTA_ROLLED_BACK, w->id, w->from, &e) ||
	    hvq_read_slot(h, (uint32_t)w->id, &s) != 0 ||
	    strcmp(s.image_version, w->version) != 0 || s.heartbeat == 0)
		return 0;
	uint64_t now = __atomic_load_n(&h->regs->uptime_ns, __ATOMIC_ACQUIRE);
	uint64_t changed = now > s.heartbeat_age_ns ? now - s.heartbeat_age_ns : now;
	w->first_beat_ns = changed - (s.heartbeat - 1) * BEAT_NS;
	return 1;
}

/* One round: install the broken image, switch, wait for the old one. */
static void round_trip(int id, const char *image, const char *factory, uint64_t *to_event,
		       uint64_t *to_beat)
{
	FILE *f = fopen(image, "rb");
	static uint8_t img[1 << 20];
	size_t n = f ? fread(img, 1, sizeof img, f) : 0;
	if (f)
		fclose(f);
	uint8_t *stage = hvq_pa(&q, q.regs->staging_base, n);
	if (n == 0 || !stage)
		die("image not staged");
	memcpy(stage, img, n);
	struct hvm_ota_image h;
	memset(&h, 0, sizeof h);
	h.magic = HVM_OTA_IMAGE_MAGIC;
	h.size = n;
	if (EVP_Digest(img, n, h.sha256, NULL, EVP_sha256(), NULL) != 1)
		die("no digest");
	snprintf(h.version, sizeof h.version, "3.0.0");
	memcpy((void *)(q.mgmt + HVM_OFF_DATA), &h, sizeof h);
	struct hvq_reply r = command(HVM_CMD_OTA_INSTALL, id, 0, n);
	if (r.status != HVM_OK)
		die(r.msg);
	uint64_t from = q.regs->ev_head;
	r = command(HVM_CMD_OTA_SWITCH, id, WINDOW_MS, TIMEOUT_MS);
	if (r.status != HVM_OK)
		die(r.msg);
	struct old_runs w = { id, from, factory, 0 };
	if (hvq_wait(&q, old_runs, &w, 600) != 0)
		die(q.err);
	struct hvm_event trial, back;
	if (!find_event(HVM_EV_OTA_TRIAL, id, from, &trial) ||
	    !find_event(HVM_EV_OTA_ROLLED_BACK, id, from, &back))
		die("OTA events missing");
	if (back.detail != HVM_OTA_FAIL_TIMEOUT)
		die("the trial did not fail at its deadline");
	uint64_t deadline = trial.time_ns + TIMEOUT_MS * 1000000ull;
	*to_event = back.time_ns - deadline;
	*to_beat = w.first_beat_ns - deadline;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void row(const char *what, const char *unit, double scale, uint64_t *v, int runs)
{
	qsort(v, (size_t)runs, sizeof *v, cmp_u64);
	printf("| %s | %.*f %s | %.*f | %.*f |\n", what, scale == 1 ? 0 : 1,
	       (double)v[runs / 2] / scale, unit, scale == 1 ? 0 : 1, (double)v[0] / scale,
	       scale == 1 ? 0 : 1, (double)v[runs - 1] / scale);
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	if (runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: hv-ota-rollback-bench [RUNS 1..%d]\n", MAX_RUNS);
		return 2;
	}
	if (!mkdtemp(dir))
		return 1;
	char image[300], cmd[1200], nvram[300];
	snprintf(image, sizeof image, "%s/broken.bin", dir);
	snprintf(cmd, sizeof cmd,
		 "BUILD='%s' bash '%s/scripts/guest-image.sh' rtos-demo --version 3.0.0 --broken "
		 "-o '%s' >/dev/null",
		 HV_BUILD_DIR, HV_SOURCE_DIR, image);
	if (system(cmd) != 0)
		die("guest-image.sh failed");

	uint64_t ev[2][MAX_RUNS], beat[2][MAX_RUNS];
	for (int mode = 0; mode < 2; mode++) {
		snprintf(nvram, sizeof nvram, "%s/nvram-%d.bin", dir, mode);
		struct hvq_opts o = HVQ_OPTS_DEFAULT;
		o.guests[0] = "rtos-demo";
		o.ready_timeout_s = 300;
		o.extra[0] = "--nvram";
		o.extra[1] = nvram;
		if (mode == 0) {
			o.extra[2] = "--qemu-arg";
			o.extra[3] = "-icount";
			o.extra[4] = "--qemu-arg";
			o.extra[5] = "shift=0,sleep=off";
		}
		if (hvq_start(&q, &o) != 0)
			die(q.err);
		int id = hvq_find_vm(&q, "rtos-demo");
		if (id < 0 || mu_wait_heartbeat(&q, id, 0, 300) != 0)
			die("rtos-demo does not run");
		char factory[HVM_VERSION_LEN];
		memcpy(factory, mu_slot(&q, id).image_version, sizeof factory);
		for (int i = 0; i < runs; i++)
			round_trip(id, image, factory, &ev[mode][i], &beat[mode][i]);
		hvq_stop(&q);
	}
	printf("| from the failed trial's deadline (%d rounds) | median | smallest | largest |\n",
	       runs);
	printf("|---|---:|---:|---:|\n");
	row("to the rollback stored and the VM reset, -icount shift=0", "virtual ns", 1, ev[0], runs);
	row("to the old image's first heartbeat, -icount shift=0", "virtual ns", 1, beat[0], runs);
	row("to the rollback stored and the VM reset, wall time", "ms", 1e6, ev[1], runs);
	row("to the old image's first heartbeat, wall time", "ms", 1e6, beat[1], runs);
	cleanup();
	return 0;
}
