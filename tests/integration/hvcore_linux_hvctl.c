/*
 * hvcore_linux_hvctl.c - the Linux guest's lifecycle through the product path:
 * the real hv-core under QEMU with rtos-demo and Debian's kernel, the real
 * hv-agent mapping the management region, and the real hvctl as an operator
 * types it (REQ-STD-05, REQ-SAF-21, REQ-SAF-20):
 *   hvctl dominfo linux     the heartbeat advances, the image version is the
 *                           kernel release (written by /init, GABI-020/022);
 *   hvctl shutdown linux    /init acknowledges the cooperation-page request
 *                           and powers off: shut off, reason shutdown
 *                           (GABI-024, MGMT-046);
 *   hvctl start linux       Linux boots again to /init and beats again.
 * rtos-demo's heartbeat is sampled at every step and never stalls. The test
 * reads the management region only (slots, console rings): every command goes
 * through hvctl and hv-agent, the one client of the command block. Waits are
 * bounded; nothing asserts a duration.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_harness.h"
#include "hvguest.h"
#include "hvqemu.h"

#define WAIT_S 400

static struct hvq q;
static struct agent_proc agent;
static char uri[320];
static char *out, *err;

static void setup(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	out = err = NULL;
	memset(&agent, 0, sizeof agent);
	o.guests[0] = "rtos-demo";
	o.guests[1] = "linux";
	o.ready_timeout_s = 300;
	cr_assert_eq(hvq_start(&q, &o), 0, "%s", q.err);
	/* START of the Linux VM is answered at once (MGMT-713): hv-core clears
	 * its 256 MiB and copies and hashes its 31 MiB kernel afterwards, the VM
	 * BLOCKED meanwhile, and `hvctl start` waits for it to run. So hv-agent's
	 * default command timeout serves. */
	cr_assert_eq(agent_start(&agent, q.dir, NULL), 0, "%s", agent.err);
	snprintf(uri, sizeof uri, "unix://%s", agent.sock);
}

static void teardown(void)
{
	agent_stop(&agent);
	hvq_stop(&q);
	free(out);
	free(err);
	out = err = NULL;
}

static int hvctl_run(const char *const *args)
{
	free(out);
	free(err);
	out = err = NULL;
	return run_hvctl(args, &out, &err);
}
#define HVCTL(...) hvctl_run((const char *const[]){ "--connect", uri, __VA_ARGS__, NULL })

static struct hvm_vm_slot slot(int id)
{
	struct hvm_vm_slot s;
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)id, &s), 0, "%s", q.err);
	return s;
}

static volatile struct hvm_console *console(int id)
{
	return (volatile struct hvm_console *)(q.mgmt + HVM_OFF_CONSOLES +
					       (size_t)id * sizeof(struct hvm_console));
}

static uint64_t console_head(int id)
{
	return __atomic_load_n(&console(id)->head, __ATOMIC_ACQUIRE);
}

struct console_wait {
	int id;
	uint64_t from; /* console position: only bytes written after it count */
	const char *text;
};

static int console_has_since(struct hvq *h, void *arg)
{
	(void)h;
	struct console_wait *w = arg;
	static char buf[HVM_CONSOLE_SIZE + 1];
	volatile struct hvm_console *c = console(w->id);
	uint64_t head = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);
	uint64_t from = w->from;
	if (head - from > HVM_CONSOLE_SIZE)
		from = head - HVM_CONSOLE_SIZE;
	size_t n = 0;
	for (uint64_t p = from; p < head; p++)
		buf[n++] = (char)c->buf[p % HVM_CONSOLE_SIZE];
	buf[n] = 0;
	return strstr(buf, w->text) != NULL;
}

static void wait_console(int id, uint64_t from, const char *text)
{
	struct console_wait w = { id, from, text };
	cr_assert_eq(hvq_wait(&q, console_has_since, &w, WAIT_S), 0,
		     "console of VM %d never showed '%s': %s", id, text, q.err);
}

struct hb_wait {
	int id;
	uint64_t above;
};

static int heartbeat_above(struct hvq *h, void *arg)
{
	struct hb_wait *w = arg;
	struct hvm_vm_slot s;
	return hvq_read_slot(h, (uint32_t)w->id, &s) == 0 && s.heartbeat > w->above;
}

static int heartbeat_below(struct hvq *h, void *arg)
{
	struct hb_wait *w = arg;
	struct hvm_vm_slot s;
	return hvq_read_slot(h, (uint32_t)w->id, &s) == 0 && s.heartbeat < w->above;
}

/* rtos-demo's heartbeat moves on from where it was last seen. */
static uint64_t rtos_beats_on(int rtos, uint64_t last, const char *when)
{
	struct hb_wait w = { rtos, last };
	cr_assert_eq(hvq_wait(&q, heartbeat_above, &w, WAIT_S), 0,
		     "rtos-demo's heartbeat stalled at %llu %s: %s", (unsigned long long)last, when,
		     q.err);
	return slot(rtos).heartbeat;
}

/* `hvctl dominfo NAME --json`, parsed (caller json_decref's). */
static json_t *dominfo(const char *name)
{
	cr_assert_eq(HVCTL("dominfo", name, "--json"), 0, "hvctl dominfo %s: %s", name, err);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	cr_assert_not_null(j, "dominfo --json is not JSON (%s): %s", je.text, out);
	return j;
}

static uint64_t dominfo_heartbeat(const char *name)
{
	json_t *j = dominfo(name);
	uint64_t hb = (uint64_t)json_integer_value(json_object_get(j, "heartbeat"));
	json_decref(j);
	return hb;
}

/* Polls `hvctl dominfo` until the heartbeat is above `above` (bounded). */
static uint64_t hvctl_heartbeat_above(const char *name, uint64_t above)
{
	for (int i = 0; i < WAIT_S * 5; i++) {
		uint64_t hb = dominfo_heartbeat(name);
		if (hb > above)
			return hb;
		nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
	}
	cr_assert_fail("hvctl dominfo %s: heartbeat never above %llu", name,
		       (unsigned long long)above);
	return 0;
}

/* Polls `hvctl domstate --reason` until it prints want (bounded). */
static void wait_domstate(const char *name, const char *want)
{
	for (int i = 0; i < WAIT_S * 5; i++) {
		cr_assert_eq(HVCTL("domstate", name, "--reason"), 0, "%s", err);
		if (strncmp(out, want, strlen(want)) == 0)
			return;
		nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
	}
	cr_assert_fail("hvctl domstate --reason %s: '%s', never '%s'", name, out, want);
}

static void kernel_release(char *buf, size_t len)
{
	FILE *f = fopen(LINUX_GUEST_DIR "/kernel-release", "r");
	cr_assert(f, "cannot read %s/kernel-release", LINUX_GUEST_DIR);
	cr_assert(fgets(buf, (int)len, f), "empty kernel-release");
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
}

TestSuite(hvcore_linux_hvctl, .init = setup, .fini = teardown, .timeout = 1500);

Test(hvcore_linux_hvctl, dominfo_shutdown_and_start_of_linux_beside_rtos)
{
	int rtos = hvq_find_vm(&q, "rtos-demo");
	int lx = hvq_find_vm(&q, "linux");
	cr_assert_geq(rtos, 0);
	cr_assert_geq(lx, 0);
	char rel[64];
	kernel_release(rel, sizeof rel);
	uint64_t hb = rtos_beats_on(rtos, 0, "before Linux booted");

	/* first boot to /init, seen on the VM's console ring */
	wait_console(lx, 0, "hv-linux-guest: init reached");
	hb = rtos_beats_on(rtos, hb, "while Linux booted");

	/* hvctl dominfo: the heartbeat advances, the image version is the kernel's */
	uint64_t lhb = hvctl_heartbeat_above("linux", 0);
	lhb = hvctl_heartbeat_above("linux", lhb);
	lhb = hvctl_heartbeat_above("linux", lhb + 3); /* a few beats: the restart below shows */
	json_t *j = dominfo("linux");
	cr_assert_str_eq(json_string_value(json_object_get(j, "image_version")), rel);
	cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "running");
	cr_assert_str_eq(json_string_value(json_object_get(j, "guest_state")), "running");
	json_decref(j);
	cr_assert_eq(HVCTL("dominfo", "linux"), 0, "%s", err);
	cr_assert_not_null(strstr(out, rel), "plain dominfo shows the image version: %s", out);
	hb = rtos_beats_on(rtos, hb, "while Linux ran");

	/* hvctl shutdown: /init acknowledges the request and powers off */
	uint64_t before_shutdown = console_head(lx);
	uint64_t last_beat = slot(lx).heartbeat;
	cr_assert_eq(HVCTL("shutdown", "linux"), 0, "hvctl shutdown linux: %s", err);
	wait_console(lx, before_shutdown, "hv-linux-guest: shutdown requested");
	wait_domstate("linux", "shut off (shutdown)");
	struct hvm_vm_slot s = slot(lx);
	cr_assert_eq(s.state, HVM_VM_SHUTOFF);
	cr_assert_eq(s.reason, HVM_R_SHUTDOWN);
	cr_assert_eq(s.guest_state, HVG_GS_READY_FOR_OFF, "the guest's last word was READY_FOR_OFF");
	cr_assert_eq(s.fault_count, 0);
	hb = rtos_beats_on(rtos, hb, "after Linux powered off");

	/* hvctl start: boots again to /init, the heartbeat starts over */
	uint64_t before_start = console_head(lx);
	cr_assert_eq(HVCTL("start", "linux"), 0, "hvctl start linux: %s", err);
	cr_assert_eq(slot(lx).state, HVM_VM_RUNNING, "hvctl start returned before Linux ran");
	struct hb_wait fresh = { lx, last_beat };
	cr_assert_eq(hvq_wait(&q, heartbeat_below, &fresh, WAIT_S), 0,
		     "heartbeat never started over (was %llu): %s", (unsigned long long)last_beat,
		     q.err);
	hb = rtos_beats_on(rtos, hb, "while Linux booted again");
	wait_console(lx, before_start, "Run /init as init process");
	wait_console(lx, before_start, "hv-linux-guest: init reached");
	wait_console(lx, before_start, "hv-linux-guest: cooperation page at 0xb000000");
	lhb = hvctl_heartbeat_above("linux", 1);
	wait_domstate("linux", "running (booted)");
	j = dominfo("linux");
	cr_assert_str_eq(json_string_value(json_object_get(j, "image_version")), rel);
	json_decref(j);
	hb = rtos_beats_on(rtos, hb, "after Linux booted again");
	cr_assert_eq(slot(rtos).state, HVM_VM_RUNNING);
	cr_assert_eq(slot(rtos).fault_count, 0);
}

/* ---- the interactive console in a real terminal ---- */

static char tmux_sock[400];

/* tmux on the test's own server with up to eleven arguments (NULL-ended); its
 * output (capture-pane) in *screen. */
static int tmux_do(char **screen, const char *const *args)
{
	const char *argv[14] = { "-S", tmux_sock };
	for (size_t i = 0; i < 11 && args[i]; i++)
		argv[2 + i] = args[i];
	char *o = NULL, *e = NULL;
	int rc = run_program("/usr/bin/tmux", argv, &o, &e);
	free(e);
	if (screen)
		*screen = o;
	else
		free(o);
	return rc;
}
#define TMUX(...) tmux_do(NULL, (const char *const[]){ __VA_ARGS__, NULL })

/* Waits (bounded) until window `win` shows text; returns the screen. */
static char *screen_with(const char *win, const char *text)
{
	char *scr = NULL;
	for (int i = 0; i < 1200; i++) {
		free(scr);
		scr = NULL;
		tmux_do(&scr,
			(const char *const[]){ "capture-pane", "-p", "-S", "-", "-t", win, NULL });
		if (scr && strstr(scr, text))
			return scr;
		usleep(100 * 1000);
	}
	cr_assert_fail("the terminal never showed '%s':\n%s", text, scr ? scr : "");
	return NULL;
}

static void teardown_console(void)
{
	if (tmux_sock[0])
		TMUX("kill-server");
	tmux_sock[0] = '\0';
	teardown();
}

/* `hvctl console linux` as an operator types at it: the shell /init runs on
 * the console answers `uname -a` (MGMT-801, GABI-800); a second session only
 * reads; Ctrl-] detaches; both sessions' start and end are in the audit log. */
Test(hvcore_linux_hvctl, console_in_a_terminal_answers_uname, .fini = teardown_console)
{
	char cmd[900];
	int lx = hvq_find_vm(&q, "linux");
	cr_assert_geq(lx, 0);
	wait_console(lx, 0, "hv-linux-guest: shell on the console");

	snprintf(tmux_sock, sizeof tmux_sock, "%s/tmux.sock", q.dir);
	snprintf(cmd, sizeof cmd, "%s/hvctl --connect %s console linux; echo hvctl-exit=$?; sleep 60",
		 HV_BIN_DIR, uri);
	cr_assert_eq(TMUX("new-session", "-d", "-s", "con", "-x", "160", "-y", "40", cmd), 0,
		     "tmux new-session failed");
	/* typed once the shell's prompt is on the screen */
	free(screen_with("con:0", "/ #"));
	TMUX("send-keys", "-t", "con:0", "uname -a", "Enter");
	char *scr = screen_with("con:0", "GNU/Linux");
	cr_expect(strstr(scr, "aarch64"), "%s", scr);
	free(scr);

	/* A second session while the first one writes: read only. */
	snprintf(cmd, sizeof cmd, "%s/hvctl --connect %s console linux; sleep 60", HV_BIN_DIR, uri);
	TMUX("new-window", "-d", "-t", "con:1", cmd);
	free(screen_with("con:1", "writes to the console of"));
	TMUX("send-keys", "-t", "con:1", "C-]");

	TMUX("send-keys", "-t", "con:0", "C-]");
	free(screen_with("con:0", "hvctl-exit=0"));

	/* The sessions are audited: start and end. */
	cr_assert_eq(hvctl_run((const char *const[]){ "--connect", uri, "audit", NULL }), 0, "%s",
		     err);
	cr_expect(strstr(out, "Console.start") && strstr(out, "Console.end"), "%s", out);
	cr_expect(strstr(out, "mode=read-only"), "%s", out);
}
