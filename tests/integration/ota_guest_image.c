/*
 * ota_guest_image.c - scripts/guest-image.sh (docs/ota.md OTA-052): an image
 * it writes boots on hv-core under QEMU and reports exactly the asked version
 * in its cooperation page (GABI-020/022), read from the VM's management status
 * slot; a --broken image reports it too but stops its heartbeat, so it would
 * never confirm a trial boot. Bad arguments are refused and write nothing.
 * Waits are bounded; nothing asserts a duration.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvqemu.h"

#define WAIT_S 30

static struct hvq q;
static char tmp[256], core[300];

static void mk_tmp(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/hv-ota-img-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	snprintf(core, sizeof core, "%s/core", tmp);
}

static void teardown(void)
{
	hvq_stop(&q);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	cr_expect_eq(system(cmd), 0);
}

/* Runs guest-image.sh with ARGS; returns its exit status. */
static int guest_image(const char *args)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "BUILD='%s' bash '%s/scripts/guest-image.sh' %s", HV_BUILD_DIR,
		 HV_SOURCE_DIR, args);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* A core directory with hv-core's image and rtos-demo made by the script. */
static void boot_image(const char *version, int broken)
{
	char path[600], args[800];
	snprintf(path, sizeof path, "%s/guests", core);
	cr_assert_eq(mkdir(core, 0755), 0);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/hvcore.bin", core);
	cr_assert_eq(symlink(HV_CORE_OUT "/hvcore.bin", path), 0);
	snprintf(args, sizeof args, "rtos-demo --version %s %s -o '%s/guests/rtos-demo.bin'",
		 version, broken ? "--broken" : "", core);
	cr_assert_eq(guest_image(args), 0);
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = "rtos-demo";
	o.core_dir = core;
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
}

struct want {
	int id;
	const char *version;
	uint64_t beat_above;
	uint32_t health;
	const char *console;
};

static int slot_is(struct hvq *h, void *arg)
{
	struct want *w = arg;
	struct hvm_vm_slot s;
	if (hvq_read_slot(h, (uint32_t)w->id, &s) != 0)
		return 0;
	if (w->version && strcmp(s.image_version, w->version) != 0)
		return 0;
	if (s.heartbeat <= w->beat_above || s.health_code != w->health)
		return 0;
	if (w->console) {
		char buf[HVM_CONSOLE_SIZE + 1];
		hvq_read_console(h, (uint32_t)w->id, buf, sizeof buf);
		if (!strstr(buf, w->console))
			return 0;
	}
	return 1;
}

static int ticks_above(struct hvq *h, void *arg)
{
	return __atomic_load_n(&h->regs->hv_ticks, __ATOMIC_ACQUIRE) > *(uint64_t *)arg;
}

TestSuite(ota_guest_image, .init = mk_tmp, .fini = teardown, .timeout = 150);

Test(ota_guest_image, an_image_reports_the_version_it_was_made_with)
{
	boot_image("2.0.0", 0);
	int id = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(id, 0);
	struct want w = { .id = id, .version = "2.0.0" };
	cr_assert_eq(hvq_wait(&q, slot_is, &w, WAIT_S), 0, "version 2.0.0 never reported: %s", q.err);
	struct hvm_vm_slot s;
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)id, &s), 0);
	w.beat_above = s.heartbeat; /* and it keeps beating */
	cr_assert_eq(hvq_wait(&q, slot_is, &w, WAIT_S), 0, "heartbeat stuck: %s", q.err);
}

Test(ota_guest_image, a_broken_image_reports_its_version_and_stops_its_heartbeat)
{
	boot_image("3.0.0", 1);
	int id = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(id, 0);
	struct want w = { .id = id,
			  .version = "3.0.0",
			  .health = 0xB0,
			  .console = "broken image: heartbeat stopped" };
	cr_assert_eq(hvq_wait(&q, slot_is, &w, WAIT_S), 0, "never stopped its heartbeat: %s", q.err);
	struct hvm_vm_slot a, b;
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)id, &a), 0);
	/* 100 service ticks cover many heartbeat periods of a healthy image */
	uint64_t t = __atomic_load_n(&q.regs->hv_ticks, __ATOMIC_ACQUIRE) + 100;
	cr_assert_eq(hvq_wait(&q, ticks_above, &t, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)id, &b), 0);
	cr_expect_eq(a.heartbeat, b.heartbeat, "the broken image still beats");
}

Test(ota_guest_image, bad_arguments_are_refused_and_write_nothing)
{
	char args[600], out[400];
	snprintf(out, sizeof out, "%s/x.bin", tmp);
	snprintf(args, sizeof args, "rtos-demo --version 2.x -o '%s' 2>/dev/null", out);
	cr_expect_eq(guest_image(args), 2);
	snprintf(args, sizeof args, "no-such-guest --version 2.0.0 -o '%s' 2>/dev/null", out);
	cr_expect_eq(guest_image(args), 2);
	snprintf(args, sizeof args, "rtos-demo -o '%s' 2>/dev/null", out);
	cr_expect_eq(guest_image(args), 2);
	cr_expect_eq(access(out, F_OK), -1, "a refused run left %s", out);
}
