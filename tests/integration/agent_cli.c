/*
 * agent_cli.c - integration tests of hv-agent and hvctl together: the real
 * daemon, real gRPC over its unix sockets, the real CLI. Runs against the
 * test double of hv-core (tests/double/hvcore_double.h), which plays the
 * management region, so every answer of the hypervisor side is under the
 * test's control. The same paths against the real hv-core under QEMU are in
 * agent_e2e.c.
 *
 * Every test runs in a fresh mkdtemp directory, stops hv-agent with SIGTERM
 * and checks it exited 0 (clean shutdown; under ASan also: no leak).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <libfdt.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "hvcore_double.h"

static char dir[64], ram[128], rw_uri[256], ro_uri[256];
static struct fakecore *fc;
static struct agent_proc agent;
static char *out, *err;

static const struct fakecore_vm vm_linux = {
	.name = "linux",
	.state = HVM_VM_RUNNING,
	.reason = HVM_R_BOOTED,
	.vcpus = 2,
	.pcpu_mask = 0x6,
	.mem_bytes = 256ull << 20,
	.criticality = 2,
	.fault_policy = 2,
	.heartbeat = 1234,
	.image_version = "1.2.3",
	.uuid = { 0x6a, 0x95, 0xeb, 0x01, 0xf6, 0xa4, 0x83, 0x04, 0x79, 0xaa, 0x97, 0xf2, 0x50,
		  0x2e, 0x19, 0x3f },
};

static const struct fakecore_vm vm_rtos = {
	.name = "rtos",
	.state = HVM_VM_SHUTOFF,
	.reason = HVM_R_DEFINED,
	.vcpus = 1,
	.pcpu_mask = 0x1,
	.mem_bytes = 16ull << 20,
	.criticality = 4,
};

static void make_dir(void)
{
	snprintf(dir, sizeof dir, "/tmp/agent-cli-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(ram, sizeof ram, "%s/guest-ram", dir);
	snprintf(rw_uri, sizeof rw_uri, "unix://%s/hv-agent.sock", dir);
	snprintf(ro_uri, sizeof ro_uri, "unix://%s/hv-agent-ro.sock", dir);
	out = err = NULL;
	fc = NULL;
	memset(&agent, 0, sizeof agent);
}

static void make_core(void)
{
	fc = fakecore_create(ram, FAKECORE_RAM_BASE, HVM_DEFAULT_BASE);
	cr_assert_not_null(fc);
	fakecore_set_vm(fc, 0, &vm_linux);
	fakecore_set_vm(fc, 1, &vm_rtos);
	cr_assert_eq(fakecore_start(fc), 0);
}

static void start_agent(void)
{
	static const char *const extra[] = { "--cmd-timeout-ms", "2000", NULL };
	cr_assert_eq(agent_start(&agent, dir, extra), 0, "%s", agent.err);
}

static void setup(void)
{
	make_dir();
	make_core();
	start_agent();
}

static void teardown(void)
{
	agent_stop(&agent);
	fakecore_destroy(fc);
	free(out);
	free(err);
	remove_tree(dir);
}

/* Runs hvctl against the read-write socket; returns its exit status. */
#define HVCTL(...) hvctl_run((const char *const[]){ "--connect", rw_uri, __VA_ARGS__, NULL })
#define HVCTL_RO(...) hvctl_run((const char *const[]){ "--connect", ro_uri, __VA_ARGS__, NULL })

static int hvctl_run(const char *const *args)
{
	free(out);
	free(err);
	return run_hvctl(args, &out, &err);
}

/* The agent stops cleanly on SIGTERM: exit status 0, sockets removed. */
static void expect_clean_stop(void)
{
	int rc = agent_stop(&agent);
	char *log = read_file_text(agent.log);
	cr_expect_eq(rc, 0, "hv-agent exit status %d; log:\n%s", rc, log ? log : "");
	free(log);
	cr_expect_neq(access(agent.sock, F_OK), 0, "socket left behind");
}

TestSuite(agent_cli, .init = setup, .fini = teardown, .timeout = 120);

/* ---- Part A: reads ---------------------------------------------------- */

Test(agent_cli, list_all_in_virsh_layout)
{
	cr_assert_eq(HVCTL("list", "--all"), 0, "%s", err);
	cr_assert_str_eq(out, " Id   Name    State\n"
			      "------------------------\n"
			      " 0    linux   running\n"
			      " 1    rtos    shut off\n"
			      "\n");
	cr_assert_str_eq(err, "");
	expect_clean_stop();
}

Test(agent_cli, list_without_all_shows_active_vms)
{
	cr_assert_eq(HVCTL("list"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "linux"));
	cr_assert_null(strstr(out, "rtos"), "%s", out);
	expect_clean_stop();
}

Test(agent_cli, dominfo_shows_state_resources_and_health)
{
	cr_assert_eq(HVCTL("dominfo", "linux"), 0, "%s", err);
	static const char *const lines[] = {
		"Id:             0\n",
		"Name:           linux\n",
		"UUID:           6a95eb01-f6a4-8304-79aa-97f2502e193f\n",
		"State:          running\n",
		"Reason:         booted\n",
		"CPU(s):         2\n",
		"CPU affinity:   1-2\n",
		"Max memory:     262144 KiB\n",
		"Criticality:    ASIL-B\n",
		"Fault policy:   restart\n",
		"Heartbeat:      1234 (",
		"Image version:  1.2.3\n",
		"Faults:         0\n",
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		cr_expect_not_null(strstr(out, lines[i]), "missing '%s' in:\n%s", lines[i], out);
	/* by id and by uuid as well */
	cr_assert_eq(HVCTL("dominfo", "1"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "Name:           rtos\n"), "%s", out);
	cr_assert_eq(HVCTL("dominfo", "6a95eb01-f6a4-8304-79aa-97f2502e193f"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "Name:           linux\n"), "%s", out);
	expect_clean_stop();
}

Test(agent_cli, list_json_is_parseable_and_complete)
{
	json_error_t jerr;

	cr_assert_eq(HVCTL("list", "--all", "--json"), 0, "%s", err);
	json_t *j = json_loads(out, 0, &jerr);
	cr_assert_not_null(j, "not JSON: %s\n%s", jerr.text, out);
	cr_assert(json_is_array(j));
	cr_assert_eq(json_array_size(j), 2);
	json_t *v = json_array_get(j, 1);
	cr_expect_str_eq(json_string_value(json_object_get(v, "name")), "rtos");
	cr_expect_str_eq(json_string_value(json_object_get(v, "state")), "shut off");
	cr_expect_str_eq(json_string_value(json_object_get(v, "criticality")), "ASIL-D");
	cr_expect_eq(json_integer_value(json_object_get(v, "memory_bytes")), 16ll << 20);
	json_decref(j);
	expect_clean_stop();
}

Test(agent_cli, dominfo_json)
{
	json_error_t jerr;

	cr_assert_eq(HVCTL("dominfo", "linux", "--json"), 0, "%s", err);
	json_t *j = json_loads(out, 0, &jerr);
	cr_assert_not_null(j, "not JSON: %s\n%s", jerr.text, out);
	cr_expect_str_eq(json_string_value(json_object_get(j, "uuid")),
			 "6a95eb01-f6a4-8304-79aa-97f2502e193f");
	cr_expect_str_eq(json_string_value(json_object_get(j, "reason")), "booted");
	cr_expect_eq(json_integer_value(json_object_get(j, "heartbeat")), 1234);
	cr_expect_str_eq(json_string_value(json_object_get(j, "image_version")), "1.2.3");
	cr_expect_eq(json_integer_value(json_object_get(j, "fault_policy")), 2);
	cr_expect_str_eq(json_string_value(json_object_get(j, "fault_policy_name")), "restart");
	json_decref(j);
	expect_clean_stop();
}

Test(agent_cli, unknown_vm_fails_with_one_line_naming_it)
{
	cr_assert_eq(HVCTL("dominfo", "nope"), 4); /* hvctl: 4 = not found */
	cr_assert_str_eq(out, "");
	cr_assert_not_null(strstr(err, "no VM named 'nope'"), "%s", err);
	cr_assert_not_null(strstr(err, "[NOT_FOUND]"), "%s", err);
	cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "one line expected: %s", err);
	cr_assert_eq(HVCTL("dominfo", "9"), 4);
	cr_assert_not_null(strstr(err, "no VM with id 9"), "%s", err);
	cr_assert_eq(HVCTL("dominfo", "00000000-0000-0000-0000-0000000000ff"), 4);
	cr_assert_not_null(strstr(err, "[NOT_FOUND]"), "%s", err);
	expect_clean_stop();
}

Test(agent_cli, unreachable_agent_fails_with_a_reason)
{
	char uri[256];

	snprintf(uri, sizeof uri, "unix://%s/none.sock", dir);
	cr_assert_eq(hvctl_run((const char *const[]){ "--connect", uri, "list", "--all", NULL }),
		     3); /* unreachable */
	cr_assert_str_eq(out, "");
	cr_assert_not_null(strstr(err, "cannot reach hv-agent"), "%s", err);
	cr_assert_not_null(strstr(err, "none.sock"), "%s", err);

	/* A socket file nobody accepts on (a crashed agent's leftover). */
	char path[100];
	snprintf(path, sizeof path, "%.80s/dead.sock", dir);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	close(fd);
	snprintf(uri, sizeof uri, "unix://%s", path);
	cr_assert_eq(hvctl_run((const char *const[]){ "--connect", uri, "list", NULL }), 3);
	cr_assert_not_null(strstr(err, "[UNAVAILABLE]"), "%s", err);
	expect_clean_stop();
}

Test(agent_cli, command_line_errors_exit_2)
{
	cr_assert_eq(HVCTL("dominfo"), 2);
	cr_assert_not_null(strstr(err, "usage: hvctl dominfo"), "%s", err);
	cr_assert_eq(HVCTL("frobnicate"), 2);
	cr_assert_eq(HVCTL("list", "--bogus"), 2);
	cr_assert_not_null(strstr(err, "unknown option '--bogus'"), "%s", err);
	cr_assert_eq(hvctl_run((const char *const[]){ "-c", rw_uri, "list", NULL }), 0, "%s", err);
	cr_assert_eq(hvctl_run((const char *const[]){ "--connect", NULL }), 2);
	cr_assert_eq(hvctl_run((const char *const[]){ "--connect", "tcp://127.0.0.1:1", "list", NULL }),
		     2);
	cr_assert_not_null(strstr(err, "unsupported connection URI"), "%s", err);
	cr_assert_eq(HVCTL("help"), 0);
	cr_assert_not_null(strstr(out, "dominfo"), "%s", out);
	cr_assert_not_null(strstr(out, "list"), "%s", out);
	expect_clean_stop();
}

Test(agent_cli, agent_started_before_hypervisor_reports_then_recovers)
{
	/* Fresh agent with no RAM file at all. */
	agent_stop(&agent);
	fakecore_destroy(fc);
	fc = NULL;
	unlink(ram);
	start_agent();
	cr_assert_eq(HVCTL("list", "--all"), 1);
	cr_assert_not_null(strstr(err, "[UNAVAILABLE]"), "%s", err);
	cr_assert_not_null(strstr(err, "guest-ram"), "%s", err);
	cr_assert_eq(HVCTL("health"), 1);
	cr_assert_str_eq(out, "NOT_SERVING\n");
	/* hv-core comes up: the same agent serves without a restart. */
	make_core();
	cr_assert_eq(HVCTL("list", "--all"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "linux"), "%s", out);
	cr_assert_eq(HVCTL("health"), 0, "%s", err);
	cr_assert_str_eq(out, "SERVING\n");
	expect_clean_stop();
}

Test(agent_cli, second_agent_on_same_state_dir_is_refused)
{
	int rc = run_program(HV_BIN_DIR "/hv-agent",
			     (const char *const[]){ "--foreground", "--state-dir", dir, NULL },
			     &out, &err);
	cr_assert_eq(rc, 1, "second hv-agent: status %d, %s", rc, err);
	cr_assert_not_null(strstr(err, "another hv-agent"), "%s", err);
	free(out);
	free(err);
	out = err = NULL;
	/* the first one still serves */
	cr_assert_eq(HVCTL("list"), 0, "%s", err);
	expect_clean_stop();
}

Test(agent_cli, daemon_mode_detaches_and_stops_on_sigterm)
{
	char pidfile[200], logfile[200];

	agent_stop(&agent);
	int rc = run_program(HV_BIN_DIR "/hv-agent",
			     (const char *const[]){ "--state-dir", dir, NULL }, &out, &err);
	cr_assert_eq(rc, 0, "daemon start: %d %s", rc, err);
	snprintf(pidfile, sizeof pidfile, "%s/hv-agent.pid", dir);
	snprintf(logfile, sizeof logfile, "%s/hv-agent.log", dir);
	char *pid = read_file_text(pidfile);
	cr_assert_not_null(pid);
	long p = strtol(pid, NULL, 10);
	free(pid);
	cr_assert_gt(p, 1);
	cr_assert_eq(HVCTL("list", "--all"), 0, "%s", err);
	cr_assert_eq(kill((pid_t)p, SIGTERM), 0);
	for (int i = 0; i < 1500 && access(pidfile, F_OK) == 0; i++)
		usleep(20000);
	cr_assert_neq(access(pidfile, F_OK), 0, "daemon did not stop");
	char *log = read_file_text(logfile);
	bool stopped = log && strstr(log, "stopped");
	cr_expect(stopped, "log: %s", log ? log : "");
	free(log);
}

/* ---- Part B: lifecycle, events, diagnostics ---------------------------- */

Test(agent_cli, lifecycle_verbs_drive_the_state_machine)
{
	cr_assert_eq(HVCTL("start", "rtos"), 0, "%s", err);
	cr_assert_str_eq(out, "Domain 'rtos' started\n\n");
	cr_assert_eq(HVCTL("domstate", "rtos", "--reason"), 0, "%s", err);
	cr_assert_str_eq(out, "running (booted)\n\n");
	cr_assert_eq(HVCTL("suspend", "rtos"), 0, "%s", err);
	cr_assert_eq(HVCTL("domstate", "rtos"), 0, "%s", err);
	cr_assert_str_eq(out, "paused\n\n");
	cr_assert_eq(HVCTL("resume", "rtos"), 0, "%s", err);
	cr_assert_eq(HVCTL("reboot", "rtos"), 0, "%s", err);
	cr_assert_eq(HVCTL("reset", "1"), 0, "%s", err);
	cr_assert_str_eq(out, "Domain 'rtos' was reset\n\n");
	cr_assert_eq(HVCTL("shutdown", "rtos", "--timeout-ms", "500"), 0, "%s", err);
	cr_assert_eq(HVCTL("domstate", "rtos", "--reason"), 0, "%s", err);
	cr_assert_str_eq(out, "shut off (shutdown)\n\n");
	cr_assert_eq(HVCTL("destroy", "linux"), 0, "%s", err);
	cr_assert_str_eq(out, "Domain 'linux' destroyed\n\n");
	expect_clean_stop();
}

Test(agent_cli, refused_transition_maps_to_failed_precondition)
{
	cr_assert_eq(HVCTL("start", "linux"), 1);
	cr_assert_not_null(strstr(err, "[FAILED_PRECONDITION]"), "%s", err);
	cr_assert_not_null(strstr(err, "E_STATE"), "%s", err);
	cr_assert_not_null(strstr(err, "START is illegal in state RUNNING"), "%s", err);
	cr_assert_eq(HVCTL("shutdown", "linux", "--timeout-ms", "soon"), 2);
	expect_clean_stop();
}

Test(agent_cli, unimplemented_command_maps_to_unimplemented)
{
	fakecore_disable_cmd(fc, HVM_CMD_RESET);
	cr_assert_eq(HVCTL("reset", "linux"), 1);
	cr_assert_not_null(strstr(err, "[UNIMPLEMENTED]"), "%s", err);
	cr_assert_not_null(strstr(err, "E_UNKNOWN_CMD"), "%s", err);
	expect_clean_stop();
}

Test(agent_cli, silent_hypervisor_gives_deadline_exceeded)
{
	fakecore_pause(fc, true);
	cr_assert_eq(HVCTL("start", "rtos"), 1);
	cr_assert_not_null(strstr(err, "[DEADLINE_EXCEEDED]"), "%s", err);
	cr_assert_not_null(strstr(err, "did not complete START"), "%s", err);
	fakecore_pause(fc, false);
	expect_clean_stop();
}

Test(agent_cli, read_only_socket_refuses_changes)
{
	cr_assert_eq(HVCTL_RO("list", "--all"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "rtos"), "%s", out);
	cr_assert_eq(HVCTL_RO("start", "rtos"), 5); /* permission denied */
	cr_assert_not_null(strstr(err, "[PERMISSION_DENIED]"), "%s", err);
	cr_assert_not_null(strstr(err, "read-only"), "%s", err);
	cr_assert_eq(HVCTL("domstate", "rtos"), 0, "%s", err);
	cr_assert_str_eq(out, "shut off\n\n"); /* nothing changed */
	expect_clean_stop();
}

static void write_dtb(const char *path, const char *name)
{
	char buf[512];
	cr_assert_eq(fdt_create(buf, sizeof buf), 0);
	fdt_finish_reservemap(buf);
	fdt_begin_node(buf, "");
	fdt_property_string(buf, "compatible", "avirt,vm-config-v1");
	fdt_property_string(buf, "vm-name", name);
	fdt_property_u32(buf, "vcpus", 1);
	fdt_end_node(buf);
	cr_assert_eq(fdt_finish(buf), 0);
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	fwrite(buf, 1, fdt_totalsize(buf), f);
	fclose(f);
}

Test(agent_cli, define_and_undefine)
{
	char path[200], bad[200];

	snprintf(path, sizeof path, "%s/newvm.dtb", dir);
	write_dtb(path, "newvm");
	cr_assert_eq(HVCTL("define", "--no-validate", path), 0, "%s",
		     err); /* a minimal blob for the test double */
	cr_assert_not_null(strstr(out, "Domain 'newvm' defined from"), "%s", out);
	cr_assert_eq(HVCTL("dominfo", "newvm"), 0, "%s", err);
	/* defining a shut-off VM again stores a new revision of its configuration */
	cr_assert_eq(HVCTL("define", "--no-validate", path), 0, "%s", err);
	cr_assert_not_null(strstr(out, "Domain 'newvm' defined from"), "%s", out);
	cr_assert_eq(HVCTL("undefine", "newvm"), 0, "%s", err);
	cr_assert_str_eq(out, "Domain 'newvm' has been undefined\n\n");
	cr_assert_eq(HVCTL("dominfo", "newvm"), 4, "%s%s", out, err);

	snprintf(bad, sizeof bad, "%s/bad.dtb", dir);
	FILE *f = fopen(bad, "w");
	fputs("/dts-v1/; / { name = \"x\"; };\n", f);
	fclose(f);
	cr_assert_eq(HVCTL("define", bad), 1);
	cr_assert_not_null(strstr(err, "not a device tree blob"), "%s", err);
	expect_clean_stop();
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* One line names the command once: hv-agent's message already begins with
 * the operation ("define: ...", "define 'x' ...") and hvctl does not put a
 * second "define: " in front of it. */
Test(agent_cli, define_errors_name_the_command_once)
{
	char path[200], noname[200];
	char buf[512];

	snprintf(noname, sizeof noname, "%s/noname.dtb", dir);
	cr_assert_eq(fdt_create(buf, sizeof buf), 0);
	fdt_finish_reservemap(buf);
	fdt_begin_node(buf, "");
	fdt_end_node(buf);
	cr_assert_eq(fdt_finish(buf), 0);
	FILE *f = fopen(noname, "wb");
	cr_assert_not_null(f);
	fwrite(buf, 1, fdt_totalsize(buf), f);
	fclose(f);
	cr_assert_eq(HVCTL("define", "--no-validate", noname), 1);
	cr_assert_str_eq(err,
			 "hvctl: define: configuration has no vm-name string in its root node (VMCFG-020) "
			 "[INVALID_ARGUMENT]\n");

	/* a name hv-core uses for a VM hv-agent does not manage */
	snprintf(path, sizeof path, "%s/linux.dtb", dir);
	write_dtb(path, "linux");
	cr_assert_eq(HVCTL("define", "--no-validate", path), 1);
	cr_assert(starts_with(err, "hvctl: define 'linux': hv-core already has a VM of this name"),
		  "%s", err);

	/* hv-core's refusal keeps its command, status and text */
	fakecore_disable_cmd(fc, HVM_CMD_DEFINE);
	snprintf(path, sizeof path, "%s/newvm.dtb", dir);
	write_dtb(path, "newvm");
	cr_assert_eq(HVCTL("define", "--no-validate", path), 1);
	cr_assert(starts_with(err,
			      "hvctl: define 'newvm' revision 1: hv-core refused DEFINE (E_UNKNOWN_CMD): "),
		  "%s", err);
	cr_assert_not_null(strstr(err, " [UNIMPLEMENTED]\n"), "%s", err);

	/* the same rule for lifecycle verbs */
	cr_assert_eq(HVCTL("start", "linux"), 1);
	cr_assert(starts_with(err, "hvctl: start 'linux': hv-core refused START (E_STATE): "), "%s",
		  err);
	expect_clean_stop();
}

/* A VM only hv-agent's store holds has no id: "-" like virsh's inactive
 * domains, null in JSON; never the wire's 4294967295. */
Test(agent_cli, store_only_vm_shows_no_id)
{
	char path[200];

	snprintf(path, sizeof path, "%s/newvm.dtb", dir);
	write_dtb(path, "newvm");
	cr_assert_eq(HVCTL("define", "--no-validate", path), 0, "%s", err);
	cr_assert_eq(HVCTL("domid", "newvm"), 0, "%s", err);
	unsigned id = (unsigned)strtoul(out, NULL, 10);
	cr_assert_str_neq(out, "-\n\n");
	/* hv-core loses it (as after a refused definition at reconciliation) */
	fakecore_clear_vm(fc, id);
	cr_assert_eq(HVCTL("list", "--all"), 0, "%s", err);
	cr_assert_str_eq(out, " Id   Name    State\n"
			      "------------------------\n"
			      " 0    linux   running\n"
			      " 1    rtos    shut off\n"
			      " -    newvm   shut off\n"
			      "\n");
	cr_assert_null(strstr(out, "4294967295"), "%s", out);
	cr_assert_eq(HVCTL("dominfo", "newvm"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "Id:             -\n"), "%s", out);
	cr_assert_eq(HVCTL("domid", "newvm"), 0, "%s", err);
	cr_assert_str_eq(out, "-\n\n");
	cr_assert_eq(HVCTL("dominfo", "newvm", "--json"), 0, "%s", err);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	cr_assert_not_null(j, "%s: %s", je.text, out);
	cr_expect(json_is_null(json_object_get(j, "id")), "%s", out);
	cr_expect(json_is_false(json_object_get(j, "in_hypervisor")), "%s", out);
	json_decref(j);
	cr_assert_eq(HVCTL("list", "--all", "--json"), 0, "%s", err);
	j = json_loads(out, 0, &je);
	cr_assert_not_null(j, "%s: %s", je.text, out);
	cr_assert_eq(json_array_size(j), 3, "%s", out);
	cr_expect(json_is_integer(json_object_get(json_array_get(j, 0), "id")), "%s", out);
	cr_expect(json_is_null(json_object_get(json_array_get(j, 2), "id")), "%s", out);
	json_decref(j);
	expect_clean_stop();
}

Test(agent_cli, events_stream_and_resume)
{
	json_error_t jerr;

	cr_assert_eq(HVCTL("start", "rtos"), 0, "%s", err);
	cr_assert_eq(HVCTL("suspend", "rtos"), 0, "%s", err);
	/* From the oldest event the agent holds: STARTED then SUSPENDED. */
	cr_assert_eq(HVCTL("event", "--oldest", "--count", "2"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "event 'lifecycle' for domain 'rtos': Started Booted"), "%s",
			   out);
	cr_assert_not_null(strstr(out, "event 'lifecycle' for domain 'rtos': Suspended User"), "%s",
			   out);
	/* JSON lines, and resuming after the first event. */
	cr_assert_eq(HVCTL("event", "--oldest", "--json"), 0, "%s", err);
	json_t *j = json_loads(out, 0, &jerr);
	cr_assert_not_null(j, "%s: %s", jerr.text, out);
	json_int_t seq = json_integer_value(json_object_get(j, "seq"));
	json_decref(j);
	char from[32];
	snprintf(from, sizeof from, "%lld", (long long)seq + 1);
	cr_assert_eq(HVCTL("event", "--from", from, "--json"), 0, "%s", err);
	j = json_loads(out, 0, &jerr);
	cr_assert_not_null(j, "%s: %s", jerr.text, out);
	cr_assert_str_eq(json_string_value(json_object_get(j, "type")), "Suspended");
	json_decref(j);
	/* Nothing new: the loop ends at its timeout. */
	cr_assert_eq(HVCTL("event", "--loop", "--timeout", "1"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "event loop timed out\nevents received: 0\n"), "%s", out);
	expect_clean_stop();
}

Test(agent_cli, fault_events_split_kind_and_suppressed_count)
{
	json_error_t jerr;

	/* MGMT-052: hv-core carries the kind in bits 0..7 and the number of events its rate
	 * limit held back in bits 8..31; the agent hands them out as two fields. */
	fakecore_event(fc, HVM_EV_FAULT, 0,
		       HVM_F_GUEST_REPORT | (41u << HVM_EV_FAULT_SUPPRESSED_SHIFT), HVM_R_BOOTED);
	cr_assert_eq(HVCTL("event", "--oldest", "--count", "1"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "41 more held back by the rate limit"), "%s", out);
	cr_assert_eq(HVCTL("event", "--oldest", "--count", "1", "--json"), 0, "%s", err);
	json_t *j = json_loads(out, 0, &jerr);
	cr_assert_not_null(j, "%s: %s", jerr.text, out);
	cr_assert_eq(json_integer_value(json_object_get(j, "detail")), HVM_F_GUEST_REPORT, "%s", out);
	cr_assert_eq(json_integer_value(json_object_get(j, "suppressed")), 41, "%s", out);
	json_decref(j);
	expect_clean_stop();
}

Test(agent_cli, console_prints_the_ring)
{
	fakecore_console(fc, 0, "boot ok\nlogin: ", 15);
	cr_assert_eq(HVCTL("console", "linux"), 0, "%s", err);
	cr_assert_str_eq(out, "boot ok\nlogin: ");
	expect_clean_stop();
}

Test(agent_cli, faults_selftest_diag_version_health)
{
	struct hvm_fault f;

	memset(&f, 0, sizeof f);
	f.kind = HVM_F_STAGE2_ABORT;
	f.esr = 0x92000046;
	f.far = 0xdead0000;
	fakecore_set_fault(fc, 0, &f);
	cr_assert_eq(HVCTL("faults", "linux"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "stage2-abort"), "%s", out);
	cr_assert_not_null(strstr(out, "FAR_EL2=0x00000000dead0000"), "%s", out);
	/* hv-core's own ring of recent faults (MGMT-330) follows. */
	cr_assert_not_null(strstr(out,
				  "Recent faults kept by hv-core:\n  linux #1 of 1: stage2-abort"),
			   "%s", out);
	cr_assert_eq(HVCTL("faults", "linux", "--json"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "\"recent\": ["), "%s", out);
	cr_assert_not_null(strstr(out, "\"fault_seq\": 1,"), "%s", out);
	cr_assert_eq(HVCTL("selftest"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "passed"), "%s", out);
	cr_assert_eq(HVCTL("diag"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "Link:           up"), "%s", out);
	cr_assert_eq(HVCTL("version", "--json"), 0, "%s", err);
	cr_assert_not_null(strstr(out, FAKECORE_VERSION), "%s", out);
	cr_assert_not_null(strstr(out, "\"start\""), "%s", out);
	cr_assert_eq(HVCTL("health"), 0, "%s", err);
	cr_assert_str_eq(out, "SERVING\n");
	cr_assert_eq(HVCTL("domstats", "linux"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "Domain: 'linux'"), "%s", out);
	expect_clean_stop();
}

/* A caller whose uid maps to no role reads through the read-only socket as
 * a viewer: it learns that a VM faulted, not the guest's registers, and gets
 * no console contents; the read-write socket refuses it. */
Test(agent_cli, read_only_viewer_gets_no_guest_registers_or_console)
{
	struct hvm_fault f;
	char other[16];

	agent_stop(&agent);
	snprintf(other, sizeof other, "%u", getuid() == 4242 ? 4243u : 4242u);
	const char *const extra[] = { "--cmd-timeout-ms", "2000", "--unix-admin-uids", other, NULL };
	cr_assert_eq(agent_start(&agent, dir, extra), 0, "%s", agent.err);
	memset(&f, 0, sizeof f);
	f.kind = HVM_F_STAGE2_ABORT;
	f.far = 0xdead0000;
	f.x[0] = 0x5ec2e7;
	fakecore_set_fault(fc, 0, &f);
	fakecore_console(fc, 0, "secret-boot-log\n", 16);

	cr_assert_eq(HVCTL_RO("faults", "linux"), 0, "%s", err);
	cr_expect_not_null(strstr(out, "stage2-abort"), "%s", out);
	cr_expect_not_null(strstr(out, "registers redacted"), "%s", out);
	cr_expect_not_null(strstr(out, "linux #1 of 1: stage2-abort"), "%s", out);
	cr_expect_null(strstr(out, "dead0000"), "%s", out);
	cr_assert_eq(HVCTL_RO("faults", "linux", "--json"), 0, "%s", err);
	cr_expect_not_null(strstr(out, "\"registers_redacted\": true"), "%s", out);
	cr_expect_null(strstr(out, "6138087"), "x0 leaked: %s", out); /* 0x5ec2e7 */
	cr_expect_neq(HVCTL_RO("console", "linux"), 0, "%s", out);
	cr_expect_not_null(strstr(err, "console contents require role operator"), "%s", err);
	cr_expect_not_null(strstr(err, "is a viewer"), "%s", err);
	cr_expect_null(strstr(out, "secret-boot-log"), "%s", out);
	cr_expect_neq(HVCTL("faults", "linux"), 0, "%s", out);
	cr_expect_not_null(strstr(err, "has no role"), "%s", err);
	expect_clean_stop();
}

/* `hvctl event --loop` on uri in the background: a stream held open. */
static pid_t spawn_watch(const char *uri)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(HV_BIN_DIR "/hvctl", "hvctl", "--connect", uri, "event", "--loop",
		      "--timeout", "300", (char *)NULL);
		_exit(127);
	}
	cr_assert_gt(pid, 0, "fork");
	return pid;
}

static void stop_watches(pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		kill(pids[i], SIGTERM);
		waitpid(pids[i], NULL, 0);
	}
}

/* Waits (bounded) until one more stream on uri is refused with a message
 * containing `what`; every try that got a stream holds it a second. */
static bool stream_refused(const char *uri, const char *what)
{
	for (int i = 0; i < 60; i++) {
		int rc = hvctl_run((const char *const[]){ "--connect", uri, "event", "--loop",
							  "--timeout", "1", NULL });
		if (rc != 0)
			return strstr(err, what) != NULL && strstr(err, "RESOURCE_EXHAUSTED");
	}
	return false;
}

/* A local client opening streams until none are left takes those of the
 * read-only socket only, and within it only its own share: the read-write
 * socket (where an admin connects) keeps its streams. */
Test(agent_cli, streams_are_capped_per_listener_and_per_caller)
{
	pid_t w[2];
	char want[64];

	agent_stop(&agent);
	const char *const full[] = { "--max-streams-per-listener", "2",
				     "--max-streams-per-identity", "2", NULL };
	cr_assert_eq(agent_start(&agent, dir, full), 0, "%s", agent.err);
	w[0] = spawn_watch(ro_uri);
	w[1] = spawn_watch(ro_uri);
	cr_expect(stream_refused(ro_uri, "the most one listener allows"), "%s", err);
	cr_expect_eq(HVCTL("event", "--loop", "--timeout", "1"), 0, "read-write stream: %s", err);
	cr_expect_not_null(strstr(out, "event loop timed out"), "%s", out);
	stop_watches(w, 2);
	expect_clean_stop();

	const char *const mine[] = { "--max-streams-per-listener", "4",
				     "--max-streams-per-identity", "1", NULL };
	cr_assert_eq(agent_start(&agent, dir, mine), 0, "%s", agent.err);
	w[0] = spawn_watch(ro_uri);
	snprintf(want, sizeof want, "too many open streams for uid %u", (unsigned)getuid());
	cr_expect(stream_refused(ro_uri, want), "%s", err);
	stop_watches(w, 1);
	expect_clean_stop();

	const char *const bad[] = { "--max-streams-per-listener", "2", "--max-streams-per-identity",
				    "3", NULL };
	cr_expect_neq(agent_start(&agent, dir, bad), 0, "more per caller than per listener");
}

/* Waits (bounded) until `hvctl faults` on the read-write socket prints
 * `want` in the persisted history. */
static bool history_shows(const char *want)
{
	for (int i = 0; i < 300; i++) {
		if (HVCTL("faults") == 0 && strstr(out, want))
			return true;
		usleep(100 * 1000);
	}
	return false;
}

/* REQ-SAF-16: every FAULT and WATCHDOG event is persisted, including those
 * hv-core raised while hv-agent was stopped; events the ring overwrote while
 * hv-agent was away and a restart of hv-core are explicit gap rows. */
Test(agent_cli, faults_are_persisted_across_restarts_with_gaps_named)
{
	fakecore_event(fc, HVM_EV_FAULT, 0,
		       HVM_F_STAGE2_ABORT | (2u << HVM_EV_FAULT_SUPPRESSED_SHIFT), HVM_R_BOOTED);
	cr_assert(history_shows("fault stage2-abort  count 1"), "%s%s", out, err);
	cr_expect_not_null(strstr(out, "vm=linux id=0 suppressed=2 criticality=2"), "%s", out);
	expect_clean_stop();

	/* While hv-agent is stopped: a watchdog expiry, read from the ring. */
	fakecore_event(fc, HVM_EV_WATCHDOG, 1, HVM_F_WATCHDOG, HVM_R_WATCHDOG);
	start_agent();
	cr_assert(history_shows("fault watchdog      count 1"), "%s%s", out, err);
	cr_expect_not_null(strstr(out, "fault stage2-abort  count 1"), "kept: %s", out);
	expect_clean_stop();

	/* While it is stopped again, the ring wraps: a gap, then the fault. */
	for (unsigned i = 0; i < HVM_EVENT_COUNT + 10; i++)
		fakecore_event(fc, HVM_EV_STARTED, 1, 0, HVM_R_BOOTED);
	fakecore_event(fc, HVM_EV_FAULT, 1, HVM_F_UNDEF_TRAP, HVM_R_BOOTED);
	start_agent();
	cr_assert(history_shows("fault undef-trap"), "%s%s", out, err);
	cr_expect_not_null(strstr(out, "gap   hv_seq="), "no gap row: %s", out);
	cr_expect_not_null(strstr(out, "were never read (ring overwritten"), "%s", out);
	expect_clean_stop();

	/* hv-core restarts while hv-agent is stopped: its numbers begin again. */
	fakecore_destroy(fc);
	make_core();
	fakecore_event(fc, HVM_EV_FAULT, 0, HVM_F_STAGE2_ABORT, HVM_R_BOOTED);
	start_agent();
	cr_assert(history_shows("fault stage2-abort  count 2"), "%s%s", out, err);
	cr_expect_not_null(strstr(out, "restart: hv-core restarted"), "no restart gap: %s", out);
	cr_assert_eq(HVCTL("faults", "--json"), 0, "%s", err);
	cr_expect_not_null(strstr(out, "\"history\""), "%s", out);
	cr_assert_eq(HVCTL("audit", "verify"), 0, "the chain holds: %s%s", out, err);
	expect_clean_stop();
}

/* docs/reconcile.md "Crash points": an Undefine killed after submitting
 * UNDEFINE leaves the VM in the store; hv-core may carry the command out only
 * after the next hv-agent started. Its reconciliation reads the slots once the
 * command is done (before, it saw the VM still there, left it, and the VM was
 * gone from hv-core for good). */
Test(agent_cli, a_command_left_by_a_killed_agent_is_done_before_reconciling)
{
	char path[200];
	snprintf(path, sizeof path, "%s/leftvm.dtb", dir);
	write_dtb(path, "leftvm");
	cr_assert_eq(HVCTL("define", "--no-validate", path), 0, "%s", err);
	cr_assert_eq(HVCTL("domid", "leftvm"), 0, "%s", err);
	uint32_t id = (uint32_t)strtoul(out, NULL, 10);
	cr_assert_eq(agent_stop(&agent), 0);

	/* What a hv-agent killed right after submitting UNDEFINE leaves behind,
	 * with hv-core not yet at its next service tick. */
	fakecore_pause(fc, true);
	volatile struct hvm_regs *r = fakecore_regs(fc);
	r->cmd = HVM_CMD_UNDEFINE;
	r->vm_id = id;
	__atomic_store_n(&r->req_seq, __atomic_load_n(&r->done_seq, __ATOMIC_ACQUIRE) + 1,
			 __ATOMIC_RELEASE);
	start_agent();
	fakecore_pause(fc, false);

	int back = 0;
	for (int i = 0; i < 300 && !back; i++) { /* bounded: each try runs hvctl */
		/* an id, not "-" (stored, not defined in hv-core) */
		back = HVCTL_RO("domid", "leftvm") == 0 && out[0] >= '0' && out[0] <= '9';
		if (!back)
			usleep(20000);
	}
	char *log = read_file_text(agent.log);
	cr_assert(back, "leftvm is not defined in hv-core again; log:\n%s", log ? log : "");
	/* hv-agent logs the define once hv-core has answered it, which may be
	 * just after hvctl saw the id: bounded wait for the line. */
	for (int i = 0; i < 250 && !(log && strstr(log, "reconcile: define 'leftvm'")); i++) {
		free(log);
		usleep(20000);
		log = read_file_text(agent.log);
	}
	cr_expect_not_null(strstr(log, "reconcile: define 'leftvm'"), "%s", log);
	free(log);
	expect_clean_stop();
}

/* The audit head's sequence goes to hv-core by default; the test double has
 * no AUDIT_SEQ_GET/SET (nor non-volatile storage), which is no silent pass:
 * hv-agent says so once in its log and diagnostics keep saying it. */
Test(agent_cli, an_unanchored_audit_log_is_said_in_log_and_diagnostics)
{
	const char *want = "not anchored: hv-core";
	int ok = 0;
	for (int i = 0; i < 300 && !ok; i++) { /* until hv-agent has asked hv-core */
		cr_assert_eq(HVCTL_RO("diag"), 0, "%s", err);
		ok = strstr(out, want) != NULL;
		if (!ok)
			usleep(20000);
	}
	cr_assert(ok, "diag does not say it: %s", out);
	cr_expect_not_null(strstr(out, "lacks AUDIT_SEQ_GET/SET"), "%s", out);
	cr_assert_eq(HVCTL_RO("diag", "--json"), 0, "%s", err);
	cr_expect_not_null(strstr(out, "\"audit_anchor\": \"not anchored"), "%s", out);
	expect_clean_stop();
	char *log = read_file_text(agent.log);
	cr_assert_not_null(log);
	const char *first = strstr(log, "audit sequence: not anchored");
	cr_expect_not_null(first, "%s", log);
	cr_expect(first && !strstr(first + 1, "audit sequence: not anchored"), "said twice:\n%s",
		  log);
	free(log);
}

/* REQ-SAF-16 with retention: fault history rows folded into the checkpoint
 * are summed there, and `hvctl faults` says so (how many rows, the counts per
 * VM and kind as of the checkpoint), never dropping them silently. */
Test(agent_cli, folded_fault_history_is_summarized)
{
	static const char *const extra[] = { "--cmd-timeout-ms", "2000", "--audit-max-rows", "16",
					     NULL };
	expect_clean_stop();
	cr_assert_eq(agent_start(&agent, dir, extra), 0, "%s", agent.err);
	for (int i = 0; i < 40; i++)
		fakecore_event(fc, HVM_EV_FAULT, 0, HVM_F_STAGE2_ABORT, HVM_R_BOOTED);
	fakecore_event(fc, HVM_EV_WATCHDOG, 1, HVM_F_WATCHDOG, HVM_R_WATCHDOG);
	cr_assert(history_shows("fault watchdog      count 1"), "%s%s", out, err);
	cr_assert_not_null(strstr(out, "Folded by retention into the signed checkpoint: "), "%s",
			   out);
	cr_expect_not_null(strstr(out, " of them fault history ("), "%s", out);
	cr_expect_not_null(strstr(out, "    linux            "), "counts per VM: %s", out);
	cr_expect_not_null(strstr(out, " stage2-abort "), "counts per kind: %s", out);

	cr_assert_eq(HVCTL("faults", "linux", "--json"), 0, "%s", err);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	cr_assert_not_null(j, "%s: %s", je.text, out);
	json_t *fold = json_object_get(j, "folded");
	cr_assert(json_is_object(fold), "%s", out);
	cr_expect_gt(json_integer_value(json_object_get(fold, "fault_rows")), 0, "%s", out);
	json_t *counts = json_object_get(fold, "counts");
	cr_assert_eq(json_array_size(counts), 1, "linux's counts only: %s", out);
	json_t *c0 = json_array_get(counts, 0);
	cr_expect_str_eq(json_string_value(json_object_get(c0, "kind")), "stage2-abort");
	cr_expect_str_eq(json_string_value(json_object_get(c0, "vm_name")), "linux");
	cr_expect_gt(json_integer_value(json_object_get(c0, "count")), 0);
	json_decref(j);
	cr_assert_eq(HVCTL("audit", "verify"), 0, "%s%s", out, err);
	expect_clean_stop();
}

/* The same client paths against the real hv-core under QEMU: agent_e2e.c. */
