/*
 * main.c - hv-agent, the management daemon of the ServiceOS (REQ-PRD-03: it
 * turns authenticated gRPC calls into register-level management operations on
 * hv-core): options, state directory, sockets, signals. Everything else lives
 * in the modules it wires together: store (the sqlite database, REQ-PRD-04),
 * hvlink (the register interface), events (the event follower), reconcile
 * (store vs hv-core, docs/reconcile.md), rpc (gRPC) and service (the hvmgr.v1
 * handlers).
 *
 * hv-agent is quality-managed software (docs/architecture.md, "The parts"): it may stop
 * or restart at any moment without disturbing running VMs, and it starts even
 * when hv-core is not up yet, answering UNAVAILABLE with the reason until the
 * management region becomes valid.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "eventlog.h"
#include "fleet_link.h"
#include "hvlink.h"
#include "audit_anchor.h"
#include "log.h"
#include "reconcile.h"
#include "rpc_server.h"
#include "blksup.h"
#include "store.h"
#include "telemetry.h"

struct options {
	const char *state_dir;
	char ram_file[PATH_MAX];
	char socket[PATH_MAX];
	char ro_socket[PATH_MAX];
	char tls_dir[PATH_MAX];
	char pidfile[PATH_MAX];
	char logfile[PATH_MAX];
	char db[PATH_MAX];
	char audit_key[PATH_MAX];
	char audit_head[PATH_MAX];
	uint64_t audit_max_rows, audit_max_bytes; /* retention (docs/store.md); 0: none */
	const char *listen;
	const char *boot_config;
	/* the fleet link (docs/fleet.md) */
	char fleet_host[256];
	int fleet_port;
	const char *vehicle;
	char fleet_dir[PATH_MAX];
	unsigned fleet_buffer, fleet_backoff_ms;
	unsigned fleet_telemetry_ms; /* health snapshots on the telemetry topic; 0 = none */
	const char *metrics_listen;  /* NULL: metrics off */
	int metrics_explicit;        /* --metrics-listen given: failing to bind is fatal */
	int metrics_remote;          /* --metrics-allow-remote */
	unsigned metrics_interval_ms;
	int audit_anchor; /* MGMT-630/631: on unless --no-audit-anchor */
	uint64_t ram_base, mgmt_base;
	unsigned cmd_timeout_ms;
	unsigned threads;
	int foreground;
	int verbose;
	struct roles_unix unix_roles;                /* --unix-admin-uids, --unix-operator-gid */
	unsigned streams_listener, streams_identity; /* --max-streams-per-* */
	/* OTA updates (docs/ota.md "hv-agent") */
	char ota_dir[PATH_MAX], ota_floor[PATH_MAX], ota_ca[PATH_MAX];
	const char *ota_trust, *ota_system, *ota_fetch_ca;
	uint64_t ota_max_bytes, ota_min_rate, ota_window_ms, ota_part_age;
	/* the virtio-blk backends (blksup.h); "" after --blkback none */
	char blkback[PATH_MAX];
	int blkback_explicit;
};

/* Where /metrics is served unless told otherwise (docs/telemetry.md). */
#define METRICS_DEFAULT "127.0.0.1:9477"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hv-agent [options]\n"
		"  --state-dir DIR       state directory (default ./var)\n"
		"  --ram-file PATH       file backing the guest RAM (default STATE/guest-ram)\n"
		"  --ram-base ADDR       guest physical address of the file's first byte (default 0x40000000)\n"
		"  --mgmt-base ADDR      guest physical address of the management region (default 0x%llx)\n"
		"  --socket PATH         read-write unix socket, mode 0660 (default STATE/hv-agent.sock)\n"
		"  --ro-socket PATH      read-only unix socket, mode 0666 (default STATE/hv-agent-ro.sock)\n"
		"  --listen ADDR         also serve gRPC with mutual TLS on ADDR (e.g. 127.0.0.1:50051)\n"
		"  --tls-dir DIR         ca.crt, server.crt, server.key for --listen (default STATE/pki)\n"
		"  --db PATH             the sqlite store (default STATE/hv-agent.db)\n"
		"  --audit-key PATH      the audit chain's HMAC key, mode 0600, made on first start (default STATE/audit.key)\n"
		"  --audit-head PATH     the audit chain's head, kept outside the database (default STATE/audit.head)\n"
		"  --audit-max-rows N    audit rows kept before the oldest are folded into a signed checkpoint\n"
		"                        (default %u, at least %u; 0: no limit)\n"
		"  --audit-max-bytes N   database bytes in use before audit rows are folded (default %u,\n"
		"                        at least %u; 0: no limit)\n"
		"  --blkback PATH        the virtio-blk backend hv-agent runs per VM (default: hv-blkback\n"
		"                        beside hv-agent; none: hv-agent runs no backends)\n"
		"  --boot-config FILE    hv-core's boot configuration (.dtb): its VMs are adopted into the store\n"
		"  --fleet mqtts://HOST:PORT  connect out to the fleet's MQTT broker (docs/fleet.md)\n"
		"  --vehicle ID          this vehicle's id on the fleet link (its certificate's CN)\n"
		"  --fleet-dir DIR       fleet-ca.crt, vehicle.crt, vehicle.key (default STATE/pki)\n"
		"  --fleet-buffer N      events held while the link is down (default 1024)\n"
		"  --fleet-backoff-max-ms N  longest wait between connection attempts (default 30000)\n"
		"  --fleet-telemetry-ms N  publish a health snapshot every N ms (default 60000, 0: none)\n"
		"  --metrics-listen ADDR serve Prometheus metrics at http://ADDR/metrics (default %s;\n"
		"                        a loopback address unless --metrics-allow-remote)\n"
		"  --no-metrics          do not serve metrics\n"
		"  --no-audit-anchor     do not hand the audit head's sequence to hv-core's non-volatile\n"
		"                        storage (done by default, and checked at start; docs/security.md);\n"
		"                        for measuring its cost only: diagnostics then say 'not anchored'\n"
		"  --audit-anchor        the default; accepted for older command lines\n"
		"  --metrics-allow-remote  let --metrics-listen take a non-loopback address\n"
		"  --metrics-interval-ms N  how often hv-core is sampled for metrics (default 1000)\n"
		"  --cmd-timeout-ms N    how long a management command may take (default %u)\n"
		"  --threads N           RPC threads the listeners share (default 1; more are added while handlers wait)\n"
		"  --foreground          do not detach; log to stderr\n"
		"  --verbose             debug logging\n"
		"  --unix-admin-uids LIST  uids that are admin on the read-write socket (default 0 and\n"
		"                        hv-agent's own uid); other uids are refused there\n"
		"  --unix-operator-gid GID  callers whose gid is GID are operators on the read-write socket\n"
		"  --max-streams-per-listener N  streams open at once on one socket or address (default 32, at most 64)\n"
		"  --max-streams-per-identity N  ... by one uid or certificate on one of them (default 8)\n"
		"  --ota-trust CONF      the update trust configuration of OTA bundles (docs/ota.md)\n"
		"  --ota-ca CERT         ... or just the update CA (default TLS-DIR/update-ca.crt)\n"
		"  --ota-system ID       the target system a bundle must name (default: not checked)\n"
		"  --ota-fetch-ca PEM    the CA of HTTPS servers OtaFetch downloads from (default: the system's)\n"
		"  --ota-max-bytes N     the largest bundle accepted for upload (default %llu)\n"
		"  --ota-min-rate N      an upload slower than N bytes/s over the window is refused\n"
		"                        (default %u; 0: no minimum)\n"
		"  --ota-rate-window-ms N  the window of --ota-min-rate (default %u)\n"
		"  --ota-part-max-age S  an abandoned upload is removed S seconds after its last byte\n"
		"                        (default %u; 0: kept)\n"
		"  --version, --help\n",
		(unsigned long long)HVM_DEFAULT_BASE, STORE_RETAIN_ROWS_DEFAULT,
		STORE_RETAIN_ROWS_MIN, STORE_RETAIN_BYTES_DEFAULT, STORE_RETAIN_BYTES_MIN,
		METRICS_DEFAULT, HVLINK_DEFAULT_CMD_TIMEOUT_MS,
		(unsigned long long)AGENT_OTA_MAX_BYTES_DEFAULT, AGENT_OTA_MIN_RATE_DEFAULT,
		AGENT_OTA_RATE_WINDOW_MS_DEFAULT, AGENT_OTA_PART_MAX_AGE_DEFAULT);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static int path_in(char *dst, const char *dir, const char *name)
{
	int n = snprintf(dst, PATH_MAX, "%s/%s", dir, name);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

static int copy_path(char *dst, const char *src)
{
	if (strlen(src) >= PATH_MAX)
		return -1;
	strcpy(dst, src);
	return 0;
}

/* --fleet mqtts://HOST:PORT (only TLS: the broker sees every request). */
static int parse_fleet_url(const char *url, struct options *o)
{
	const char *p = strncmp(url, "mqtts://", 8) == 0 ? url + 8 : NULL;
	const char *colon = p ? strrchr(p, ':') : NULL;
	uint64_t port;

	if (!p || !colon || colon == p || (size_t)(colon - p) >= sizeof o->fleet_host ||
	    parse_u64(colon + 1, &port) != 0 || port == 0 || port > 65535) {
		fprintf(stderr, "hv-agent: --fleet: '%s' is not mqtts://HOST:PORT\n", url);
		return -1;
	}
	memcpy(o->fleet_host, p, (size_t)(colon - p));
	o->fleet_host[colon - p] = '\0';
	o->fleet_port = (int)port;
	return 0;
}

/* --blkback PATH, "none", or by default the hv-blkback beside this program. */
static int blkback_path(struct options *o, const char *arg)
{
	char self[PATH_MAX];

	if (arg && strcmp(arg, "none") == 0) {
		o->blkback[0] = '\0';
		return 0;
	}
	o->blkback_explicit = arg != NULL;
	if (arg)
		return copy_path(o->blkback, arg);
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return path_in(o->blkback, ".", "hv-blkback");
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	return path_in(o->blkback, self, "hv-blkback");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	enum {
		O_STATE = 256,
		O_RAM,
		O_RAMBASE,
		O_MGMTBASE,
		O_SOCK,
		O_ROSOCK,
		O_LISTEN,
		O_TLS,
		O_TIMEOUT,
		O_THREADS,
		O_FG,
		O_VERBOSE,
		O_UNIX_ADMINS,
		O_UNIX_OPGID,
		O_VERSION,
		O_HELP,
		O_DB,
		O_BOOTCFG,
		O_FLEET,
		O_VEHICLE,
		O_FLEETDIR,
		O_FLEETBUF,
		O_FLEETBACKOFF,
		O_FLEETTELEM,
		O_AUDITKEY,
		O_AUDITHEAD,
		O_METRICS,
		O_NOMETRICS,
		O_METRICS_REMOTE,
		O_METRICS_INTERVAL,
		O_STREAMS_LIS,
		O_STREAMS_ID,
		O_AUDIT_ANCHOR,
		O_NO_AUDIT_ANCHOR,
		O_AUDIT_ROWS,
		O_AUDIT_BYTES,
		O_OTA_TRUST,
		O_OTA_CA,
		O_OTA_SYSTEM,
		O_OTA_MAX,
		O_OTA_RATE,
		O_OTA_WINDOW,
		O_OTA_PART_AGE,
		O_OTA_FETCH_CA,
		O_BLKBACK
	};
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "ram-file", required_argument, NULL, O_RAM },
		{ "ram-base", required_argument, NULL, O_RAMBASE },
		{ "mgmt-base", required_argument, NULL, O_MGMTBASE },
		{ "socket", required_argument, NULL, O_SOCK },
		{ "ro-socket", required_argument, NULL, O_ROSOCK },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "tls-dir", required_argument, NULL, O_TLS },
		{ "db", required_argument, NULL, O_DB },
		{ "boot-config", required_argument, NULL, O_BOOTCFG },
		{ "fleet", required_argument, NULL, O_FLEET },
		{ "vehicle", required_argument, NULL, O_VEHICLE },
		{ "fleet-dir", required_argument, NULL, O_FLEETDIR },
		{ "fleet-buffer", required_argument, NULL, O_FLEETBUF },
		{ "fleet-backoff-max-ms", required_argument, NULL, O_FLEETBACKOFF },
		{ "fleet-telemetry-ms", required_argument, NULL, O_FLEETTELEM },
		{ "audit-key", required_argument, NULL, O_AUDITKEY },
		{ "audit-head", required_argument, NULL, O_AUDITHEAD },
		{ "audit-max-rows", required_argument, NULL, O_AUDIT_ROWS },
		{ "audit-max-bytes", required_argument, NULL, O_AUDIT_BYTES },
		{ "metrics-listen", required_argument, NULL, O_METRICS },
		{ "no-metrics", no_argument, NULL, O_NOMETRICS },
		{ "audit-anchor", no_argument, NULL, O_AUDIT_ANCHOR },
		{ "no-audit-anchor", no_argument, NULL, O_NO_AUDIT_ANCHOR },
		{ "metrics-allow-remote", no_argument, NULL, O_METRICS_REMOTE },
		{ "metrics-interval-ms", required_argument, NULL, O_METRICS_INTERVAL },
		{ "cmd-timeout-ms", required_argument, NULL, O_TIMEOUT },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "foreground", no_argument, NULL, O_FG },
		{ "verbose", no_argument, NULL, O_VERBOSE },
		{ "unix-admin-uids", required_argument, NULL, O_UNIX_ADMINS },
		{ "unix-operator-gid", required_argument, NULL, O_UNIX_OPGID },
		{ "max-streams-per-listener", required_argument, NULL, O_STREAMS_LIS },
		{ "max-streams-per-identity", required_argument, NULL, O_STREAMS_ID },
		{ "ota-trust", required_argument, NULL, O_OTA_TRUST },
		{ "ota-ca", required_argument, NULL, O_OTA_CA },
		{ "ota-system", required_argument, NULL, O_OTA_SYSTEM },
		{ "ota-fetch-ca", required_argument, NULL, O_OTA_FETCH_CA },
		{ "ota-max-bytes", required_argument, NULL, O_OTA_MAX },
		{ "ota-min-rate", required_argument, NULL, O_OTA_RATE },
		{ "ota-rate-window-ms", required_argument, NULL, O_OTA_WINDOW },
		{ "ota-part-max-age", required_argument, NULL, O_OTA_PART_AGE },
		{ "blkback", required_argument, NULL, O_BLKBACK },
		{ "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *ram = NULL, *sock = NULL, *ro = NULL, *tls = NULL, *db = NULL;
	const char *fleet_dir = NULL;
	const char *akey = NULL, *ahead = NULL, *ota_ca = NULL, *blkback = NULL;
	uint64_t v;
	int c;

	memset(o, 0, sizeof *o);
	o->state_dir = "./var";
	o->ram_base = HVLINK_DEFAULT_RAM_BASE;
	o->mgmt_base = HVM_DEFAULT_BASE;
	o->cmd_timeout_ms = HVLINK_DEFAULT_CMD_TIMEOUT_MS;
	o->threads = 1;
	o->audit_anchor = 1;
	o->metrics_listen = METRICS_DEFAULT;
	o->metrics_interval_ms = 1000;
	o->fleet_telemetry_ms = 60000;
	roles_unix_default(&o->unix_roles, geteuid());
	o->streams_listener = 32;
	o->streams_identity = 8;
	o->audit_max_rows = STORE_RETAIN_ROWS_DEFAULT;
	o->audit_max_bytes = STORE_RETAIN_BYTES_DEFAULT;
	o->ota_max_bytes = AGENT_OTA_MAX_BYTES_DEFAULT;
	o->ota_min_rate = AGENT_OTA_MIN_RATE_DEFAULT;
	o->ota_window_ms = AGENT_OTA_RATE_WINDOW_MS_DEFAULT;
	o->ota_part_age = AGENT_OTA_PART_MAX_AGE_DEFAULT;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_STATE:
			o->state_dir = optarg;
			break;
		case O_RAM:
			ram = optarg;
			break;
		case O_BLKBACK:
			blkback = optarg;
			break;
		case O_SOCK:
			sock = optarg;
			break;
		case O_ROSOCK:
			ro = optarg;
			break;
		case O_LISTEN:
			o->listen = optarg;
			break;
		case O_TLS:
			tls = optarg;
			break;
		case O_DB:
			db = optarg;
			break;
		case O_BOOTCFG:
			o->boot_config = optarg;
			break;
		case O_FLEET:
			if (parse_fleet_url(optarg, o) != 0)
				return -1;
			break;
		case O_VEHICLE:
			o->vehicle = optarg;
			break;
		case O_FLEETDIR:
			fleet_dir = optarg;
			break;
		case O_FLEETBUF:
		case O_FLEETBACKOFF:
			if (parse_u64(optarg, &v) != 0 || v == 0 || v > 10000000) {
				fprintf(stderr, "hv-agent: --%s: '%s' is not a number in range\n",
					c == O_FLEETBUF ? "fleet-buffer" : "fleet-backoff-max-ms",
					optarg);
				return -1;
			}
			*(c == O_FLEETBUF ? &o->fleet_buffer : &o->fleet_backoff_ms) = (unsigned)v;
			break;
		case O_FLEETTELEM:
			if (parse_u64(optarg, &v) != 0 || (v != 0 && (v < 100 || v > 86400000))) {
				fprintf(stderr,
					"hv-agent: --fleet-telemetry-ms: '%s' is not 0 or 100..86400000\n",
					optarg);
				return -1;
			}
			o->fleet_telemetry_ms = (unsigned)v;
			break;
		case O_AUDITKEY:
			akey = optarg;
			break;
		case O_AUDITHEAD:
			ahead = optarg;
			break;
		case O_OTA_TRUST:
			o->ota_trust = optarg;
			break;
		case O_OTA_CA:
			ota_ca = optarg;
			break;
		case O_OTA_FETCH_CA:
			o->ota_fetch_ca = optarg;
			break;
		case O_OTA_SYSTEM:
			o->ota_system = optarg;
			break;
		case O_OTA_MAX:
		case O_OTA_RATE:
		case O_OTA_WINDOW: {
			const char *name = c == O_OTA_MAX    ? "ota-max-bytes"
					   : c == O_OTA_RATE ? "ota-min-rate"
							     : "ota-rate-window-ms";
			uint64_t lo = c == O_OTA_RATE ? 0 : 1;
			uint64_t hi = c == O_OTA_WINDOW ? 3600000ull : (1ull << 40);
			if (parse_u64(optarg, &v) != 0 || v < lo || v > hi) {
				fprintf(stderr,
					"hv-agent: --%s: '%s' is not a number from %llu to %llu\n",
					name, optarg, (unsigned long long)lo, (unsigned long long)hi);
				return -1;
			}
			*(c == O_OTA_MAX    ? &o->ota_max_bytes
			  : c == O_OTA_RATE ? &o->ota_min_rate
					    : &o->ota_window_ms) = v;
			break;
		}
		case O_OTA_PART_AGE:
			if (parse_u64(optarg, &v) != 0 || v > 365ull * 24 * 3600) {
				fprintf(stderr,
					"hv-agent: --ota-part-max-age: '%s' is not a number of seconds "
					"from 0 to 31536000 (a year)\n",
					optarg);
				return -1;
			}
			o->ota_part_age = v;
			break;
		case O_AUDIT_ROWS:
		case O_AUDIT_BYTES: {
			unsigned min =
				c == O_AUDIT_ROWS ? STORE_RETAIN_ROWS_MIN : STORE_RETAIN_BYTES_MIN;
			if (parse_u64(optarg, &v) != 0 || (v != 0 && v < min)) {
				fprintf(stderr,
					"hv-agent: --%s: '%s' is not 0 or a number of at least %u\n",
					c == O_AUDIT_ROWS ? "audit-max-rows" : "audit-max-bytes",
					optarg, min);
				return -1;
			}
			*(c == O_AUDIT_ROWS ? &o->audit_max_rows : &o->audit_max_bytes) = v;
			break;
		}
		case O_METRICS:
			o->metrics_listen = optarg;
			o->metrics_explicit = 1;
			break;
		case O_NOMETRICS:
			o->metrics_listen = NULL;
			o->metrics_explicit = 0;
			break;
		case O_AUDIT_ANCHOR:
			o->audit_anchor = 1;
			break;
		case O_NO_AUDIT_ANCHOR:
			o->audit_anchor = 0;
			break;
		case O_METRICS_REMOTE:
			o->metrics_remote = 1;
			break;
		case O_METRICS_INTERVAL:
			if (parse_u64(optarg, &v) != 0 || v < 10 || v > 3600000) {
				fprintf(stderr,
					"hv-agent: --metrics-interval-ms: '%s' is not a number from 10 to 3600000\n",
					optarg);
				return -1;
			}
			o->metrics_interval_ms = (unsigned)v;
			break;
		case O_FG:
			o->foreground = 1;
			break;
		case O_VERBOSE:
			o->verbose = 1;
			break;
		case O_UNIX_ADMINS:
		case O_UNIX_OPGID: {
			char msg[160];
			int rc = c == O_UNIX_ADMINS
					 ? roles_unix_set_admins(&o->unix_roles, optarg, msg,
								 sizeof msg)
					 : roles_unix_set_operator_gid(&o->unix_roles, optarg, msg,
								       sizeof msg);
			if (rc != 0) {
				fprintf(stderr, "hv-agent: --%s: %s\n",
					c == O_UNIX_ADMINS ? "unix-admin-uids" : "unix-operator-gid",
					msg);
				return -1;
			}
			break;
		}
		case O_STREAMS_LIS:
		case O_STREAMS_ID:
			if (parse_u64(optarg, &v) != 0 || v == 0 || v > 64) {
				fprintf(stderr, "hv-agent: --%s: '%s' is not a number from 1 to 64\n",
					c == O_STREAMS_LIS ? "max-streams-per-listener"
							   : "max-streams-per-identity",
					optarg);
				return -1;
			}
			*(c == O_STREAMS_LIS ? &o->streams_listener : &o->streams_identity) =
				(unsigned)v;
			break;
		case O_RAMBASE:
		case O_MGMTBASE:
			if (parse_u64(optarg, &v) != 0) {
				fprintf(stderr, "hv-agent: --%s: '%s' is not a number\n",
					c == O_RAMBASE ? "ram-base" : "mgmt-base", optarg);
				return -1;
			}
			*(c == O_RAMBASE ? &o->ram_base : &o->mgmt_base) = v;
			break;
		case O_TIMEOUT:
		case O_THREADS:
			if (parse_u64(optarg, &v) != 0 || v == 0 ||
			    v > (c == O_THREADS ? 64 : 600000)) {
				fprintf(stderr, "hv-agent: --%s: '%s' is not a number in range\n",
					c == O_TIMEOUT ? "cmd-timeout-ms" : "threads", optarg);
				return -1;
			}
			*(c == O_TIMEOUT ? &o->cmd_timeout_ms : &o->threads) = (unsigned)v;
			break;
		case O_VERSION:
			printf("hv-agent %s (hvmgr.v1, management ABI %u.%u)\n", HV_VERSION,
			       HVM_ABI_MAJOR, HVM_ABI_MINOR);
			exit(0);
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "hv-agent: unknown option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return -1;
		}
	}
	if (o->metrics_listen && o->metrics_explicit && !o->metrics_remote) {
		struct hv_status mst;
		if (rpc_check_loopback(o->metrics_listen, &mst) != 0) {
			fprintf(stderr,
				"hv-agent: --metrics-listen: %s (add --metrics-allow-remote to serve metrics beyond this host)\n",
				mst.msg);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hv-agent: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->streams_identity > o->streams_listener) {
		fprintf(stderr,
			"hv-agent: --max-streams-per-identity %u is more than --max-streams-per-listener %u\n",
			o->streams_identity, o->streams_listener);
		return -1;
	}
	if (o->fleet_host[0] && !o->vehicle) {
		fprintf(stderr, "hv-agent: --fleet needs --vehicle ID\n");
		return -1;
	}
	if ((ram ? copy_path(o->ram_file, ram) : path_in(o->ram_file, o->state_dir, "guest-ram")) ||
	    (sock ? copy_path(o->socket, sock) : path_in(o->socket, o->state_dir, "hv-agent.sock")) ||
	    (ro ? copy_path(o->ro_socket, ro)
		: path_in(o->ro_socket, o->state_dir, "hv-agent-ro.sock")) ||
	    (tls ? copy_path(o->tls_dir, tls) : path_in(o->tls_dir, o->state_dir, "pki")) ||
	    (fleet_dir ? copy_path(o->fleet_dir, fleet_dir)
		       : path_in(o->fleet_dir, o->state_dir, "pki")) ||
	    (db ? copy_path(o->db, db) : path_in(o->db, o->state_dir, "hv-agent.db")) ||
	    (akey ? copy_path(o->audit_key, akey) : path_in(o->audit_key, o->state_dir, "audit.key")) ||
	    (ahead ? copy_path(o->audit_head, ahead)
		   : path_in(o->audit_head, o->state_dir, "audit.head")) ||
	    (ota_ca ? copy_path(o->ota_ca, ota_ca) : path_in(o->ota_ca, o->tls_dir, "update-ca.crt")) ||
	    path_in(o->ota_dir, o->state_dir, "ota") ||
	    path_in(o->ota_floor, o->ota_dir, "time-floor") ||
	    path_in(o->pidfile, o->state_dir, "hv-agent.pid") ||
	    path_in(o->logfile, o->state_dir, "hv-agent.log") || blkback_path(o, blkback)) {
		fprintf(stderr, "hv-agent: a path is longer than %d bytes\n", PATH_MAX);
		return -1;
	}
	if (o->blkback_explicit && access(o->blkback, X_OK) != 0) {
		fprintf(stderr,
			"hv-agent: --blkback %s: not an executable program (%s); 'none' turns the "
			"virtio-blk backends off\n",
			o->blkback, strerror(errno));
		return -1;
	}
	return 0;
}

/* Reads a whole small file (PEM) into a NUL-terminated string. */
static char *read_text(const char *path, struct hv_status *st)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f) {
		hv_status_set(st, HV_FAILED_PRECONDITION, "cannot read %s: %s", path,
			      strerror(errno));
		return NULL;
	}
	buf = malloc(256 * 1024 + 1);
	if (!buf) {
		fclose(f);
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, 256 * 1024, f);
	int big = !feof(f);
	fclose(f);
	if (big) {
		free(buf);
		hv_status_set(st, HV_INVALID_ARGUMENT, "%s is larger than 256 KiB: not a PEM file",
			      path);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static int start_fleet(struct agent *ag, const struct options *o, struct agent_fleet **out,
		       struct hv_status *st)
{
	char ca[PATH_MAX], crt[PATH_MAX], key[PATH_MAX], nonces[PATH_MAX];

	if (path_in(ca, o->fleet_dir, "fleet-ca.crt") ||
	    path_in(crt, o->fleet_dir, "vehicle.crt") || path_in(key, o->fleet_dir, "vehicle.key") ||
	    path_in(nonces, o->state_dir, "fleet-nonces"))
		return hv_status_set(st, HV_INVALID_ARGUMENT, "--fleet-dir path too long");
	struct fleet_link_opts fo = {
		.host = o->fleet_host,
		.port = o->fleet_port,
		.vehicle = o->vehicle,
		.tls_ca = ca,
		.tls_cert = crt,
		.tls_key = key,
		.fleet_ca = ca,
		.nonce_file = nonces,
		.buffer_max = o->fleet_buffer,
		.backoff_max_ms = o->fleet_backoff_ms,
		.telemetry_ms = o->fleet_telemetry_ms,
		.version = HV_VERSION,
	};
	*out = agent_fleet_start(ag, &fo, st);
	if (!*out)
		return -1;
	log_info("fleet: vehicle '%s' dials mqtts://%s:%d", o->vehicle, o->fleet_host, o->fleet_port);
	return 0;
}

static int add_tls_listener(struct rpc_server *srv, const struct options *o, struct hv_status *st)
{
	char ca[PATH_MAX], crt[PATH_MAX], key[PATH_MAX];
	char *ca_pem = NULL, *crt_pem = NULL, *key_pem = NULL;
	int rc = -1;

	struct hv_status lst;
	if (rpc_check_listen_addr(o->listen, st) != 0)
		return -1;
	if (rpc_check_loopback(o->listen, &lst) != 0)
		log_warn("gRPC with mutual TLS on %s: reachable beyond this machine, by "
			 "certificate only",
			 o->listen);
	if (path_in(ca, o->tls_dir, "ca.crt") || path_in(crt, o->tls_dir, "server.crt") ||
	    path_in(key, o->tls_dir, "server.key"))
		return hv_status_set(st, HV_INVALID_ARGUMENT, "--tls-dir path too long");
	if ((ca_pem = read_text(ca, st)) && (crt_pem = read_text(crt, st)) &&
	    (key_pem = read_text(key, st)))
		rc = rpc_server_add_tcp_mtls(srv, o->listen, ca_pem, crt_pem, key_pem, st);
	free(ca_pem);
	free(crt_pem);
	free(key_pem);
	return rc;
}

/* Opens the store, which checks its integrity first (REQ-SAF-14). A damaged
 * or foreign database is never repaired or replaced here: hv-agent refuses to
 * start and says which file and what is wrong; docs/reconcile.md "Recovery"
 * tells the operator what to do. A tampered audit record (docs/security.md
 * "The audit record") is kept as found: hv-agent serves reads and refuses
 * changes until an admin acknowledges the finding. */
#define FATAL_LEN (PATH_MAX + 512)

static int open_store(struct agent *ag, const struct options *o, char *fatal)
{
	struct store_err e;
	struct store_seal seal = { o->audit_key, o->audit_head };
	const char *path = o->db;
	enum store_status s = store_open_sealed(path, &seal, &ag->store, &e);

	if (s == STORE_OK &&
	    store_retention_set(ag->store, o->audit_max_rows, o->audit_max_bytes, &e) != STORE_OK) {
		snprintf(fatal, FATAL_LEN, "refusing to start: %s", e.msg);
		store_close(ag->store);
		ag->store = NULL;
		return -1;
	}
	if (s == STORE_OK) {
		if (store_audit_tampered(ag->store, &e))
			log_error("audit log of %s failed verification: %s; state-changing calls are refused until an admin runs 'hvctl audit acknowledge'",
				  path, e.msg);
		else
			log_info("store %s opened (integrity and audit chain checked)", path);
		return 0;
	}
	if (s == STORE_ECORRUPT || s == STORE_ETAMPER || s == STORE_ESCHEMA)
		snprintf(fatal, FATAL_LEN,
			 "refusing to start: database %s failed its integrity check (%s): %s; the file was left untouched (recovery: docs/reconcile.md)",
			 path, store_status_name(s), e.msg);
	else
		snprintf(fatal, FATAL_LEN, "refusing to start: cannot open database %s (%s): %s",
			 path, store_status_name(s), e.msg);
	return -1;
}

/* One hv-agent per state directory: an flock'ed pid file says who runs. */
static int take_pidfile(const char *path, struct hv_status *st)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	char buf[32];

	if (fd < 0)
		return hv_status_set(st, HV_FAILED_PRECONDITION, "cannot create %s: %s", path,
				     strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ssize_t n = read(fd, buf, sizeof buf - 1);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		close(fd);
		return hv_status_set(st, HV_FAILED_PRECONDITION,
				     "another hv-agent (pid %s) is running with this state directory",
				     buf[0] ? buf : "?");
	}
	if (ftruncate(fd, 0) == 0) {
		int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
		if (write(fd, buf, (size_t)n) != n)
			log_warn("cannot write %s", path);
	}
	return fd;
}

/* Detaches from the terminal. The parent waits until the child reports that
 * it serves (or why it could not) through a pipe, so `hv-agent` exits non-zero
 * when the daemon failed to start. Done before gRPC starts any thread. */
static int daemonize(const struct options *o, int *notify_fd)
{
	int p[2];

	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		char msg[FATAL_LEN];
		close(p[1]);
		ssize_t n = read(p[0], msg, sizeof msg - 1);
		close(p[0]);
		if (n > 2 && memcmp(msg, "ok", 2) == 0)
			_exit(0);
		msg[n > 0 ? n : 0] = '\0';
		fprintf(stderr, "hv-agent: %s\n", n > 0 ? msg : "the daemon exited during startup");
		_exit(1);
	}
	close(p[0]);
	setsid();
	int fd = open("/dev/null", O_RDWR);
	int lf = open(o->logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		close(fd);
	}
	if (lf >= 0) {
		dup2(lf, 2);
		close(lf);
	}
	*notify_fd = p[1];
	return 0;
}

static void notify_parent(int *fd, const char *msg)
{
	if (*fd < 0)
		return;
	if (write(*fd, msg, strlen(msg)) < 0)
		log_warn("cannot report startup to the parent");
	close(*fd);
	*fd = -1;
}

/* The telemetry registry, its feeder and GET /metrics (docs/telemetry.md).
 * A busy default address is logged and metrics stay off; an address given
 * with --metrics-listen that cannot be served stops the start. */
static int start_metrics(struct agent *ag, const struct options *o, struct telemetry_http **http,
			 struct telemetry_feed **feed, struct hv_status *st)
{
	if (!o->metrics_listen)
		return 0;
	ag->telemetry = telemetry_new(HV_VERSION);
	if (!ag->telemetry)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
	rpc_server_set_observer(ag->srv, telemetry_rpc_observe, ag->telemetry);
	if (telemetry_http_start(ag->telemetry, o->metrics_listen, http, st) != 0) {
		if (o->metrics_explicit)
			return -1;
		log_warn("metrics not served: %s (choose another with --metrics-listen)", st->msg);
	} else {
		log_info("metrics at http://%s/metrics", o->metrics_listen);
	}
	*feed = telemetry_feed_start(ag, o->metrics_interval_ms, st);
	return *feed ? 0 : -1;
}

/* Stops the threads that use the link and the store, then closes both: the
 * end of a run and of a failed start alike. */
static void close_core(struct agent *ag, struct faultlog *faults, struct audit_anchor *anchor)
{
	blksup_stop(ag->blksup); /* the backends keep running */
	ag->blksup = NULL;
	pending_stop(ag->pending);
	reconcile_free(ag->reconcile);
	faultlog_stop(faults);
	eventlog_stop_and_free(ag->events);
	audit_anchor_stop(anchor);
	hvlink_close(ag->link);
	agent_audit_flush(ag); /* summary rows of suppressed refusals */
	store_close(ag->store);
	audit_anchor_free(anchor);
}

int main(int argc, char **argv)
{
	struct options o;
	struct hv_status st;
	struct agent ag;
	struct bootconf *boot = NULL;
	static char fatal[FATAL_LEN];
	struct rpc_server *srv = NULL;
	struct agent_fleet *fleet = NULL;
	struct faultlog *faults = NULL;
	struct telemetry_http *metrics = NULL;
	struct telemetry_feed *feed = NULL;
	struct audit_anchor *anchor = NULL;
	int notify_fd = -1, pid_fd = -1, rc = 1;
	sigset_t sigs;

	/* Everything hv-agent creates (database, journal, keys, sockets before
	 * their chmod) is its owner's only. Set once, before any thread: the
	 * umask is process-wide. */
	umask(077);
	/* One malloc arena for all threads, before any thread starts. glibc
	 * gives each thread that allocates an arena of its own (up to 8 per
	 * CPU), and what a thread frees stays resident in its arena: with
	 * gRPC's and the RPC threads that was about 1 MB more peak RSS serving
	 * 64 unix-socket clients and 50-90 KB more per mutual-TLS connection,
	 * for no measurable CPU per call (docs/performance.md). hv-agent's
	 * threads mostly wait; they rarely contend for the arena. */
	mallopt(M_ARENA_MAX, 1);
	if (parse_args(argc, argv, &o) != 0)
		return 2;
	/* Bad input changes nothing: the file is read before anything starts. */
	if (o.boot_config && bootconf_load(o.boot_config, &boot, &st) != 0) {
		fprintf(stderr, "hv-agent: --boot-config: %s\n", st.msg);
		return 2;
	}
	if (o.verbose)
		hv_log_set_level(HV_LOG_DEBUG);
	/* 0711: other users reach the read-only socket inside by its path but
	 * cannot list or read the directory; what needs protecting (database,
	 * keys, the read-write socket) carries its own mode as well. */
	if ((mkdir(o.state_dir, 0711) != 0 && errno != EEXIST) || chmod(o.state_dir, 0711) != 0) {
		fprintf(stderr, "hv-agent: cannot create state directory %s: %s\n", o.state_dir,
			strerror(errno));
		bootconf_free(boot);
		return 1;
	}
	if (!o.foreground && daemonize(&o, &notify_fd) != 0) {
		fprintf(stderr, "hv-agent: cannot detach: %s\n", strerror(errno));
		bootconf_free(boot);
		return 1;
	}

	/* Signals go to the main thread only: block them before any thread. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&ag, 0, sizeof ag);
	pthread_mutex_init(&ag.live_lock, NULL);
	agent_audit_init(&ag);
	hv_opqueue_init(&ag.ops, AGENT_OPS_MAX);
	ag.db_path = o.db;
	ag.started_ns = hv_mono_ns();
	ag.ram_file = o.ram_file;
	ag.mgmt_base = o.mgmt_base;
	ag.unix_roles = o.unix_roles;
	ag.ota.dir = o.ota_dir;
	ag.ota.floor_path = o.ota_floor;
	ag.ota.trust_conf = o.ota_trust;
	ag.ota.ca = o.ota_ca;
	ag.ota.system = o.ota_system;
	ag.ota.fetch_ca = o.ota_fetch_ca;
	ag.ota.max_bytes = o.ota_max_bytes;
	ag.ota.min_rate = o.ota_min_rate;
	ag.ota.rate_window_ms = (unsigned)o.ota_window_ms;
	ag.ota.part_max_age_s = o.ota_part_age;

	if ((pid_fd = take_pidfile(o.pidfile, &st)) < 0)
		goto fail;
	if (open_store(&ag, &o, fatal) != 0) {
		/* One line, the whole of it (longer than a status message). */
		log_error("%s", fatal);
		notify_parent(&notify_fd, fatal);
		goto fail_quiet;
	}
	struct hvlink_config cfg = { .ram_file = o.ram_file,
				     .ram_base = o.ram_base,
				     .mgmt_base = o.mgmt_base,
				     .cmd_timeout_ms = o.cmd_timeout_ms };
	if (hvlink_open(&ag.link, &cfg, &st) != 0)
		goto fail;
	if (hvlink_ensure(ag.link, &st) == 0)
		log_info("management region at 0x%" PRIx64 " in %s is live", o.mgmt_base, o.ram_file);
	else
		log_warn("hv-core not reachable yet (%s); calls answer UNAVAILABLE until it is",
			 st.msg);
	/* MGMT-630/631: the restore check, then every head handed to hv-core */
	if (o.audit_anchor && !(anchor = audit_anchor_new())) {
		hv_status_set(&st, HV_RESOURCE_EXHAUSTED, "out of memory");
		goto fail;
	}
	if (anchor) {
		store_audit_on_head(ag.store, audit_anchor_head, anchor);
		if (audit_anchor_start(anchor, ag.link, ag.store, &st) != 0)
			goto fail;
		ag.anchor = anchor;
	} else {
		log_warn("audit sequence: not anchored: turned off (--no-audit-anchor); a database "
			 "and head file put back together from an older copy go undetected");
	}
	ag.events = eventlog_new(ag.link, 1024, 20);
	if (!ag.events) {
		hv_status_set(&st, HV_RESOURCE_EXHAUSTED, "out of memory");
		goto fail;
	}
	eventlog_hold(ag.events, agent_ota_held_events()); /* OTA-210 */
	if (eventlog_start(ag.events, &st) != 0)
		goto fail;
	faults = faultlog_start(&ag, &st);
	if (!faults)
		goto fail;

	/* Reconcile before serving, so that no client sees hv-core half-way
	 * (docs/reconcile.md); if hv-core is not up yet, the watcher does it
	 * when it comes. */
	struct reconcile_config rcfg = {
		.link = ag.link, .store = ag.store, .ops = &ag.ops, .boot = boot
	};
	if (boot)
		log_info("boot configuration %s: %zu VM(s), adopted into the store when hv-core has them",
			 boot->source, boot->n);
	ag.reconcile = reconcile_new(&rcfg);
	if (!ag.reconcile) {
		hv_status_set(&st, HV_RESOURCE_EXHAUSTED, "out of memory");
		goto fail;
	}
	struct hv_status rst;
	if (hvlink_ensure(ag.link, &rst) == 0)
		reconcile_run(ag.reconcile, "hv-agent started", &rst);
	if (reconcile_start(ag.reconcile, &st) != 0)
		goto fail;
	/* Commands queued with when_allowed run when the policy allows them. */
	if (!(ag.pending = pending_start(&ag, &st)))
		goto fail;
	/* The virtio-blk backends (MGMT-865): adopted or started as the VMs need them. */
	if (o.blkback[0] && !o.blkback_explicit && access(o.blkback, X_OK) != 0) {
		log_warn("no %s: hv-agent runs no virtio-blk backends (--blkback PATH names one)",
			 o.blkback);
		o.blkback[0] = '\0';
	}
	if (o.blkback[0]) {
		struct blksup_config bc = { .ag = &ag,
					    .state_dir = o.state_dir,
					    .program = o.blkback,
					    .ram_file = o.ram_file,
					    .ram_base = o.ram_base,
					    .mgmt_base = o.mgmt_base };
		if (!(ag.blksup = blksup_start(&bc, &st)))
			goto fail;
	}

	rpc_global_init();
	size_t nmethods;
	const struct rpc_method *methods = agent_methods(&nmethods);
	srv = rpc_server_new(methods, nmethods, &ag, agent_authorize, &st);
	ag.srv = srv;
	if (srv)
		rpc_server_set_unrun(srv, agent_unrun);
	if (!srv ||
	    rpc_server_set_stream_limits(srv, o.streams_listener, o.streams_identity, &st) != 0 ||
	    rpc_server_add_unix(srv, o.socket, 0660, false, &st) != 0 ||
	    rpc_server_add_unix(srv, o.ro_socket, 0666, true, &st) != 0 ||
	    (o.listen && add_tls_listener(srv, &o, &st) != 0) ||
	    start_metrics(&ag, &o, &metrics, &feed, &st) != 0 ||
	    rpc_server_start(srv, o.threads, &st) != 0)
		goto fail_rpc;

	if (o.fleet_host[0] && start_fleet(&ag, &o, &fleet, &st) != 0)
		goto fail_rpc;

	log_info("hv-agent %s serving (state directory %s)", HV_VERSION, o.state_dir);
	notify_parent(&notify_fd, "ok\n");
	for (;;) {
		int sig;
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP: nothing to reload");
			continue;
		}
		log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		__atomic_store_n(&ag.ota.stopping, 1, __ATOMIC_RELEASE); /* ends an OtaFetch */
		break;
	}
	rc = 0;

fail_rpc:
	if (rc != 0) {
		log_error("%s", st.msg);
		notify_parent(&notify_fd, st.msg);
	}
	agent_fleet_stop(fleet);
	telemetry_http_stop(metrics);
	telemetry_feed_stop(feed);
	/* In-flight calls get the command timeout plus a second to finish. */
	rpc_server_stop_and_free(srv, o.cmd_timeout_ms + 1000);
	ag.srv = NULL;
	console_sessions_stop(&ag);
	telemetry_free(ag.telemetry);
	ag.telemetry = NULL;
	close_core(&ag, faults, anchor);
	rpc_global_shutdown();
	goto out;

fail:
	log_error("%s", st.msg);
	notify_parent(&notify_fd, st.msg);
fail_quiet:
	close_core(&ag, faults, anchor);
out:
	pthread_mutex_destroy(&ag.live_lock);
	agent_audit_fini(&ag);
	bootconf_free(boot);
	hv_opqueue_destroy(&ag.ops);
	if (rc == 0)
		log_info("stopped");
	/* Last: a supervisor that waits for the pid file to go sees the whole log. */
	if (pid_fd >= 0) {
		unlink(o.pidfile);
		close(pid_fd);
	}
	return rc;
}
