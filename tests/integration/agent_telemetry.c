/*
 * agent_telemetry.c - END-TO-END: hv-agent's Prometheus endpoint
 * (docs/telemetry.md, REQ-PRD-06) on the real hv-core under QEMU, scraped by
 * a real Prometheus (Debian's prometheus, started here on a free loopback port
 * with a scrape configuration pointing at the agent). The figures are read
 * back through Prometheus's HTTP query API: rtos-demo's heartbeat counter
 * increases, and a destroy shows up as a state change. A scrape passes
 * `promtool check metrics`. Every wait is bounded and asserts no duration.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_stack.h"

#ifndef HV_PROMETHEUS
#define HV_PROMETHEUS "/usr/bin/prometheus"
#endif
#ifndef HV_PROMTOOL
#define HV_PROMTOOL "/usr/bin/promtool"
#endif

static struct hvq q;
static struct agent_proc agent;
static char uri[320];
static pid_t prom_pid;
static int metrics_port, prom_port;
static char prom_dir[300];

/* GET path on 127.0.0.1:port over HTTP/1.0; the body (malloc'd) or NULL when
 * the connection fails or the status is not 200. */
static char *http_get(int port, const char *path)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char req[2048];
	size_t cap = 1 << 16, n = 0;
	char *buf;

	if (fd < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return NULL;
	}
	int rl = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n", path,
			  port);
	if (write(fd, req, (size_t)rl) != rl) {
		close(fd);
		return NULL;
	}
	buf = malloc(cap + 1);
	cr_assert_not_null(buf);
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			cr_assert_not_null(buf);
		}
	}
	close(fd);
	buf[n] = '\0';
	char *body = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.", 7) != 0 || strncmp(buf + 8, " 200", 4) != 0 || !body) {
		free(buf);
		return NULL;
	}
	memmove(buf, body + 4, strlen(body + 4) + 1);
	return buf;
}

static void url_encode(const char *s, char *out, size_t len)
{
	size_t j = 0;

	for (; *s && j + 4 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-' || c == '.')
			out[j++] = (char)c;
		else
			j += (size_t)snprintf(out + j, len - j, "%%%02X", c);
	}
	out[j] = '\0';
}

/* The value of a PromQL instant query with exactly one series; -1 when
 * Prometheus has no such series (yet). */
static double prom_query(const char *promql)
{
	char enc[1024], path[1200];
	json_error_t je;
	double v = -1;

	url_encode(promql, enc, sizeof enc);
	snprintf(path, sizeof path, "/api/v1/query?query=%s", enc);
	char *body = http_get(prom_port, path);
	if (!body)
		return -1;
	json_t *j = json_loads(body, 0, &je);
	free(body);
	cr_assert_not_null(j, "Prometheus answered something that is not JSON: %s", je.text);
	json_t *res = json_object_get(json_object_get(j, "data"), "result");
	if (json_is_array(res) && json_array_size(res) == 1) {
		json_t *val = json_array_get(json_object_get(json_array_get(res, 0), "value"), 1);
		if (json_is_string(val))
			v = strtod(json_string_value(val), NULL);
	}
	json_decref(j);
	return v;
}

/* Polls a query until pred(value) holds; bounded (up to ~120 s). */
static double wait_for(const char *promql, int (*pred)(double v, double ref), double ref)
{
	double v = -1;

	for (int i = 0; i < 600; i++) {
		v = prom_query(promql);
		if (pred(v, ref))
			return v;
		usleep(200 * 1000);
	}
	cr_assert_fail("Prometheus never answered %s as expected (last value %g, reference %g)",
		       promql, v, ref);
	return v;
}

static int present(double v, double ref)
{
	return v >= 0;
}

static int above(double v, double ref)
{
	return v > ref;
}

static int equals(double v, double ref)
{
	return v == ref;
}

static void start_prometheus(void)
{
	char cfg[400], data[400], listen[64], cfgarg[420], dataarg[420];
	FILE *f;

	snprintf(prom_dir, sizeof prom_dir, "%s/prometheus", q.dir);
	cr_assert_eq(mkdir(prom_dir, 0755), 0, "%s", strerror(errno));
	snprintf(cfg, sizeof cfg, "%s/prometheus.yml", prom_dir);
	snprintf(data, sizeof data, "%s/data", prom_dir);
	f = fopen(cfg, "w");
	cr_assert_not_null(f);
	fprintf(f,
		"global:\n"
		"  scrape_interval: 1s\n"
		"  scrape_timeout: 1s\n"
		"scrape_configs:\n"
		"  - job_name: hv-agent\n"
		"    static_configs:\n"
		"      - targets: ['127.0.0.1:%d']\n",
		metrics_port);
	fclose(f);
	prom_port = loopback_port();
	snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", prom_port);
	snprintf(cfgarg, sizeof cfgarg, "--config.file=%s", cfg);
	snprintf(dataarg, sizeof dataarg, "--storage.tsdb.path=%s", data);
	pid_t parent = getpid();
	prom_pid = fork();
	cr_assert_geq(prom_pid, 0);
	if (prom_pid == 0) {
		char logp[420];
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		snprintf(logp, sizeof logp, "%s/prometheus.log", prom_dir);
		int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(HV_PROMETHEUS, "prometheus", cfgarg, dataarg, listen, "--log.level=warn",
		      (char *)NULL);
		_exit(127);
	}
}

static void stop_prometheus(void)
{
	if (prom_pid <= 0)
		return;
	kill(prom_pid, SIGTERM);
	for (int i = 0; i < 300; i++) {
		if (waitpid(prom_pid, NULL, WNOHANG) == prom_pid) {
			prom_pid = 0;
			return;
		}
		usleep(100 * 1000);
	}
	kill(prom_pid, SIGKILL);
	waitpid(prom_pid, NULL, 0);
	prom_pid = 0;
}

static void setup(void)
{
	char listen[64];

	metrics_port = loopback_port();
	snprintf(listen, sizeof listen, "127.0.0.1:%d", metrics_port);
	const char *extra[] = { "--metrics-listen", listen, "--metrics-interval-ms", "250", NULL };
	agent_stack_start(&q, &agent, extra, uri, sizeof uri);
}

static void teardown(void)
{
	stop_prometheus();
	agent_stack_stop(&q, &agent);
}

TestSuite(agent_telemetry, .init = setup, .fini = teardown, .timeout = 400);

/* A scrape of the real stack: rtos-demo's figures are there, and promtool,
 * Prometheus's own checker, accepts the exposition. */
Test(agent_telemetry, scrape_passes_promtool_and_shows_rtos_demo)
{
	char *body = NULL, path[400], cmd[600], *out = NULL, *err = NULL;

	/* The feeder samples hv-core shortly after start: wait (bounded). */
	for (int i = 0; i < 300; i++) {
		free(body);
		body = http_get(metrics_port, "/metrics");
		/* The first scrape makes the feeder fetch GET_STATS records:
		 * their series follow within a sampling interval. */
		if (body && strstr(body, "hv_vm_exits_total{name=\"rtos-demo\""))
			break;
		usleep(100 * 1000);
	}
	cr_assert_not_null(body, "no answer from http://127.0.0.1:%d/metrics", metrics_port);
	cr_assert_not_null(strstr(body, "hv_up 1\n"), "%s", body);
	cr_assert_not_null(strstr(body, "hv_vm_heartbeats_total{name=\"rtos-demo\",uuid=\""), "%s",
			   body);
	cr_assert_not_null(strstr(body, "state=\"running\"} 1\n"), "%s", body);
	cr_assert_not_null(strstr(body, "hv_vm_exits_total{name=\"rtos-demo\""), "%s", body);
	cr_assert_not_null(strstr(body, "hv_core_info{version=\""), "%s", body);

	snprintf(path, sizeof path, "%s/scrape.txt", q.dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(body, f);
	fclose(f);
	free(body);
	snprintf(cmd, sizeof cmd, "%s check metrics < '%s'", HV_PROMTOOL, path);
	int rc = run_program("/bin/sh", (const char *const[]){ "-c", cmd, NULL }, &out, &err);
	cr_assert_eq(rc, 0, "promtool check metrics: %s%s", out, err);
	free(out);
	free(err);

	/* Anything but /metrics is not served; the scrape changed nothing. */
	body = http_get(metrics_port, "/metrics/../etc");
	cr_assert_null(body);

	/* The vehicle state and a policy refusal (MGMT-401, MGMT-405): driving
	 * refuses the shutdown of the ASIL-B rtos-demo; the scrape shows both. */
	rc = run_hvctl((const char *const[]){ "--connect", uri, "vehicle", "set", "driving", NULL },
		       &out, &err);
	cr_assert_eq(rc, 0, "hvctl vehicle set driving: %s", err);
	free(out);
	free(err);
	rc = run_hvctl((const char *const[]){ "--connect", uri, "shutdown", "rtos-demo", NULL },
		       &out, &err);
	cr_assert_neq(rc, 0, "driving lets the ASIL-B VM be shut down: %s", out);
	cr_assert_not_null(strstr(err, "(E_POLICY)"), "%s", err);
	free(out);
	free(err);
	for (int i = 0; i < 300; i++) {
		body = http_get(metrics_port, "/metrics");
		if (body && strstr(body, "hv_policy_refusals_total{operation=\"shutdown\"} 1\n") &&
		    strstr(body, "hv_vehicle_state{state=\"driving\"} 1\n"))
			break;
		free(body);
		body = NULL;
		usleep(100 * 1000);
	}
	cr_assert_not_null(body, "no scrape showed the refusal and the vehicle state");
	cr_expect_not_null(strstr(body, "hv_vehicle_state{state=\"parked\"} 0\n"), "%s", body);
	cr_expect_not_null(strstr(body, "hv_vehicle_state_source_info{source=\"management\"} 1\n"),
			   "%s", body);
	cr_expect_not_null(strstr(body, "hv_policy_refusals_total{operation=\"start\"} 0\n"), "%s",
			   body);
	cr_expect_not_null(strstr(body, "hv_vm_restart_budget{name=\"rtos-demo\""), "%s", body);
	cr_expect_not_null(strstr(body, "kind=\"watchdog\"} 0\n"), "%s", body);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(body, f);
	fclose(f);
	free(body);
	rc = run_program("/bin/sh", (const char *const[]){ "-c", cmd, NULL }, &out, &err);
	cr_assert_eq(rc, 0, "promtool check metrics: %s%s", out, err);
	free(out);
	free(err);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* Prometheus scrapes the agent: the heartbeat counter of rtos-demo rises in
 * Prometheus's store, and a destroy shows as a change of its state series. */
Test(agent_telemetry, prometheus_sees_heartbeats_and_a_destroy)
{
	char *out = NULL, *err = NULL;
	const char *hb = "hv_vm_heartbeats_total{job=\"hv-agent\",name=\"rtos-demo\"}";

	start_prometheus();
	double first = wait_for(hb, present, 0);
	double later = wait_for(hb, above, first);
	cr_assert_gt(later, first);
	wait_for("hv_vm_state{name=\"rtos-demo\",state=\"running\"}", equals, 1);

	int rc = run_hvctl((const char *const[]){ "--connect", uri, "destroy", "rtos-demo", NULL },
			   &out, &err);
	cr_assert_eq(rc, 0, "hvctl destroy: %s", err);
	free(out);
	free(err);
	wait_for("hv_vm_state{name=\"rtos-demo\",state=\"shutoff\"}", equals, 1);
	wait_for("hv_vm_state{name=\"rtos-demo\",state=\"running\"}", equals, 0);
	/* The change is in Prometheus's history, not only in the last value. */
	double changes = wait_for("changes(hv_vm_state{name=\"rtos-demo\",state=\"running\"}[10m])",
				  above, 0);
	cr_assert_geq(changes, 1);
	stop_prometheus();
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* ---- WatchHealth: the Python client sees a fault as an on-change update ---- */

static pid_t watcher;
static char work[300], marker[300], wout[300];

static void setup_faulty(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;

	watcher = 0;
	memset(&agent, 0, sizeof agent);
	o.guests[0] = "rtos-demo";
	o.guests[1] = "bad-access";
	o.guests[2] = "hb-restart";
	agent_stack_start_core(&q, &o);
	cr_assert_eq(agent_start(&agent, q.dir, NULL), 0, "%s", agent.err);
	snprintf(uri, sizeof uri, "unix://%s", agent.sock);
	snprintf(work, sizeof work, "%s/py", q.dir);
	snprintf(marker, sizeof marker, "%s/health.open", q.dir);
	snprintf(wout, sizeof wout, "%s/health.out", q.dir);
	cr_assert_eq(mkdir(work, 0755), 0);
}

static char tmux_sock[320];

static void teardown_faulty(void)
{
	if (tmux_sock[0]) {
		char *out = NULL, *err = NULL;
		run_program("/usr/bin/tmux",
			    (const char *const[]){ "-S", tmux_sock, "kill-server", NULL }, &out,
			    &err);
		free(out);
		free(err);
		tmux_sock[0] = '\0';
	}
	if (watcher > 0) {
		kill(watcher, SIGKILL);
		waitpid(watcher, NULL, 0);
	}
	agent_stack_stop(&q, &agent);
}

/* Starts the Python client SCRIPT following WatchHealth for VM (its output
 * in wout) and waits until it has received its first update (marker). */
static void python_watch(const char *script, const char *vm)
{
	char path[512];

	snprintf(path, sizeof path, HV_SOURCE_DIR "/tests/integration/%s", script);
	watcher = fork();
	cr_assert_geq(watcher, 0);
	if (watcher == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(wout, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(HV_SYSTEM_PYTHON, HV_SYSTEM_PYTHON, path, HV_SOURCE_DIR "/proto", work,
		      agent.sock, vm, marker, (char *)NULL);
		_exit(127);
	}
	bool open_ = false;
	for (int i = 0; i < 3000 && !open_; i++) {
		open_ = access(marker, F_OK) == 0;
		if (!open_ && waitpid(watcher, NULL, WNOHANG) == watcher) {
			watcher = 0;
			break;
		}
		usleep(20000);
	}
	if (!open_) {
		char *text = read_file_text(wout);
		cr_log_error("Python client output:\n%s", text ? text : "");
		free(text);
		cr_assert_fail("the Python client never received an update");
	}
}

TestSuite(agent_health_stream, .init = setup_faulty, .fini = teardown_faulty, .timeout = 400);

Test(agent_health_stream, python_sees_a_fault_as_an_on_change_update)
{
	char *out = NULL, *err = NULL;

	python_watch("agent_python_health.py", "bad-access");

	/* bad-access faulted at boot and was stopped (policy stop); starting it
	 * again makes it fault again, now while the stream is open. */
	int rc = run_hvctl((const char *const[]){ "--connect", uri, "start", "bad-access", NULL },
			   &out, &err);
	cr_assert_eq(rc, 0, "hvctl start bad-access: %s", err);
	free(out);
	free(err);

	int status;
	cr_assert_eq(waitpid(watcher, &status, 0), watcher);
	watcher = 0;
	char *text = read_file_text(wout);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "Python client failed:\n%s",
		  text ? text : "");
	cr_expect(text && strstr(text, "CAUSE_FAULT seq="), "%s", text ? text : "");
	cr_expect(text && strstr(text, "\nok\n"), "%s", text ? text : "");
	cr_log_info("updates seen by the Python client:\n%s", text ? text : "");
	free(text);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* WatchHealth's alarms and resumption: hb-restart's heartbeat stops, its
 * watchdog restarts it once (its whole budget), it runs its last attempt and
 * is stopped. The Python client sees both alarms, then resumes after the
 * first event update and gets the same event updates again. */
Test(agent_health_stream, alarms_and_a_resumed_stream)
{
	char *out = NULL, *err = NULL;

	python_watch("agent_python_alarms.py", "hb-restart");
	int rc = run_hvctl((const char *const[]){ "--connect", uri, "start", "hb-restart", NULL },
			   &out, &err);
	cr_assert_eq(rc, 0, "hvctl start hb-restart: %s", err);
	free(out);
	free(err);

	int status;
	cr_assert_eq(waitpid(watcher, &status, 0), watcher);
	watcher = 0;
	char *text = read_file_text(wout);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "Python client failed:\n%s",
		  text ? text : "");
	cr_expect(text && strstr(text, "HEALTH_ALARM_LAST_RESTART_ATTEMPT:hb-restart"), "%s",
		  text ? text : "");
	cr_expect(text && strstr(text, "\nok\n"), "%s", text ? text : "");
	cr_log_info("updates seen by the Python client:\n%s", text ? text : "");
	free(text);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* ---- hvctl top in a real terminal (tmux) ---- */

static int tmux(const char *const *args, char **out)
{
	const char *argv[16] = { "-S", tmux_sock };
	char *err = NULL;
	size_t n = 2;

	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	char *dummy = NULL;
	int rc = run_program("/usr/bin/tmux", argv, out ? out : &dummy, &err);
	free(dummy);
	free(err);
	return rc;
}

Test(agent_health_stream, hvctl_top_in_a_terminal_shows_every_vm_and_quits_on_q)
{
	char cmd[700], *screen = NULL;

	snprintf(tmux_sock, sizeof tmux_sock, "%s/tmux.sock", q.dir);
	snprintf(cmd, sizeof cmd,
		 "%s/hvctl --connect %s top --delay 300; echo hvctl-exit=$?; sleep 60", HV_BIN_DIR,
		 uri);
	cr_assert_eq(tmux((const char *const[]){ "new-session", "-d", "-s", "top", "-x", "120",
						 "-y", "30", cmd, NULL },
			  NULL),
		     0, "tmux new-session failed");
	/* The screen refreshes: wait (bounded) until both VMs are on it. */
	for (int i = 0; i < 300; i++) {
		free(screen);
		screen = NULL;
		tmux((const char *const[]){ "capture-pane", "-p", "-t", "top", NULL }, &screen);
		/* After the first refresh rates exist: rtos-demo, running,
		 * is sorted before the crashed bad-access. */
		if (screen && strstr(screen, "rtos-demo") && strstr(screen, "bad-access") &&
		    strstr(screen, "rtos-demo") < strstr(screen, "bad-access"))
			break;
		usleep(100 * 1000);
	}
	cr_assert_not_null(screen);
	cr_assert_not_null(strstr(screen, "EXITS/S"), "%s", screen);
	cr_assert_not_null(strstr(screen, "rtos-demo"), "%s", screen);
	cr_assert_not_null(strstr(screen, "bad-access"), "%s", screen);
	cr_assert_not_null(strstr(screen, "q quits"), "%s", screen);
	cr_assert_lt(strstr(screen, "rtos-demo"), strstr(screen, "bad-access"), "%s", screen);
	free(screen);
	screen = NULL;

	tmux((const char *const[]){ "send-keys", "-t", "top", "q", NULL }, NULL);
	for (int i = 0; i < 300; i++) {
		free(screen);
		screen = NULL;
		tmux((const char *const[]){ "capture-pane", "-p", "-t", "top", NULL }, &screen);
		if (screen && strstr(screen, "hvctl-exit="))
			break;
		usleep(100 * 1000);
	}
	cr_expect(screen && strstr(screen, "hvctl-exit=0"), "hvctl top did not quit on q: %s",
		  screen ? screen : "");
	free(screen);
	tmux((const char *const[]){ "kill-server", NULL }, NULL);

	/* domstats carries the new figures too. */
	char *out = NULL, *err = NULL;
	cr_assert_eq(run_hvctl((const char *const[]){ "--connect", uri, "domstats", "rtos-demo",
						      "--json", NULL },
			       &out, &err),
		     0, "%s", err);
	cr_expect(strstr(out, "\"image_version\": \"rtos-demo") != NULL, "%s", out);
	cr_expect(strstr(out, "\"health_code\": 0") != NULL, "%s", out);
	cr_expect(strstr(out, "\"criticality\": ") != NULL, "%s", out);
	free(out);
	free(err);
}

/* ---- hvctl diag export: one archive standard tools read ---- */

Test(agent_health_stream, diag_export_writes_an_archive_tar_lists)
{
	char file[400], cmd[900], *out = NULL, *err = NULL;

	snprintf(file, sizeof file, "%s/diag.tar.gz", q.dir);
	/* Wait (bounded) until the metrics registry holds a sample of both VMs. */
	for (int i = 0; i < 300; i++) {
		free(out);
		free(err);
		cr_assert_eq(run_hvctl((const char *const[]){ "--connect", uri, "diag", "export",
							      file, NULL },
				       &out, &err),
			     0, "%s", err);
		snprintf(cmd, sizeof cmd, "tar -xzOf '%s' --wildcards '*/metrics.txt'", file);
		free(out);
		free(err);
		run_program("/bin/sh", (const char *const[]){ "-c", cmd, NULL }, &out, &err);
		if (strstr(out, "hv_vm_heartbeats_total{name=\"bad-access\""))
			break;
		unlink(file);
		usleep(100 * 1000);
	}
	free(out);
	free(err);
	snprintf(cmd, sizeof cmd, "tar -tzf '%s'", file);
	cr_assert_eq(run_program("/bin/sh", (const char *const[]){ "-c", cmd, NULL }, &out, &err),
		     0, "tar -t: %s", err);
	const char *want[] = {
		"/versions.txt",          "/selftest.txt",         "/vms.txt",        "/faults.txt",
		"/console/rtos-demo.log", "/config/revisions.txt", "/audit-tail.txt", "/metrics.txt"
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		cr_expect(strstr(out, want[i]) != NULL, "no %s in the archive:\n%s", want[i], out);
	free(out);
	free(err);
	/* bad-access faulted at boot: its saved fault context is in the archive. */
	snprintf(cmd, sizeof cmd, "tar -xzOf '%s' --wildcards '*/faults.txt'", file);
	cr_assert_eq(run_program("/bin/sh", (const char *const[]){ "-c", cmd, NULL }, &out, &err),
		     0, "%s", err);
	cr_expect(strstr(out, "== bad-access") && strstr(out, "esr 0x"), "%s", out);
	free(out);
	free(err);
	/* Bad input changes nothing: no FILE, nothing written, a usage error. */
	cr_assert_eq(run_hvctl((const char *const[]){ "--connect", uri, "diag", "export", NULL },
			       &out, &err),
		     2, "%s", err);
	free(out);
	free(err);
}
