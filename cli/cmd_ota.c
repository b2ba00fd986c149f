/*
 * cmd_ota.c - the OTA verbs that talk to hv-agent (docs/hvctl.md "OTA"):
 *
 *   hvctl ota install [--when-allowed] [--window-ms N] [--timeout-ms N]
 *                     [--no-follow] BUNDLE
 *       asks where the upload resumes (OtaUploadOffset), uploads the rest
 *       (OtaUpload; a cut stream is resumed from what hv-agent stored, up to
 *       --retries times), installs (OtaInstall) and follows each VM's trial
 *       to its end: confirmed, or rolled back by hv-core. Progress only when
 *       stdout is a terminal.
 *       With --url URL, hv-agent fetches the bundle from URL itself
 *       (OtaFetch: HTTPS, resumed after a dropped link) and checks it is
 *       BUNDLE (the file's and the manifest's SHA-256); nothing is uploaded,
 *       so this also works through the fleet link (--fleet).
 *   hvctl ota status [VM] [--json]    the A/B slots (OtaStatus)
 *   hvctl ota history [--json]        the OTA rows of the audit log
 *
 * Exit statuses: 0 done (every trial confirmed, or the switch queued), 1
 * refused or rolled back, 2 usage, 3 hv-agent unreachable, 4 no such file
 * or VM.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "fleet_client.h"
#include "ota.h"

#define CHUNK (256u * 1024u)
#define HEAD_MAX (24u + OTA_MANIFEST_MAX + OTA_SIGBLOCK_MAX)
#define FOLLOW_POLL_MS 500u

static void nap_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000u, (long)(ms % 1000u) * 1000000L };
	nanosleep(&ts, NULL);
}

/* ---- upload ---- */

struct feed {
	int fd;
	const char *path;
	uint64_t size, sent;
	uint64_t rate;  /* bytes/s; 0 = as fast as possible (--rate, for tests of the minimum) */
	uint64_t limit; /* stop after this many bytes (--stop-after, for tests of resuming) */
	uint8_t buf[CHUNK];
	Hvmgr__V1__OtaUploadRequest msg;
	int progress;
};

static int next_chunk(void *arg, const ProtobufCMessage **out, struct hv_status *st)
{
	struct feed *f = arg;
	Hvmgr__V1__OtaUploadRequest init = HVMGR__V1__OTA_UPLOAD_REQUEST__INIT;

	if (f->sent == f->size || (f->limit && f->sent >= f->limit))
		return 0;
	size_t want = f->size - f->sent < CHUNK ? (size_t)(f->size - f->sent) : CHUNK;
	if (f->rate) {
		want = want < f->rate / 4 + 1 ? want : (size_t)(f->rate / 4 + 1);
		nap_ms(250);
	}
	if (f->limit && want > f->limit - f->sent)
		want = (size_t)(f->limit - f->sent);
	ssize_t got = pread(f->fd, f->buf, want, (off_t)f->sent);
	if (got != (ssize_t)want)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "%s: read failed at byte %" PRIu64 " (file changed?)", f->path,
				     f->sent);
	f->msg = init;
	f->msg.part_case = HVMGR__V1__OTA_UPLOAD_REQUEST__PART_DATA;
	f->msg.data.data = f->buf;
	f->msg.data.len = want;
	f->sent += want;
	if (f->progress) {
		char bar[31];
		size_t fill = (size_t)(f->sent * 30 / f->size);
		memset(bar, '#', fill);
		memset(bar + fill, '.', 30 - fill);
		bar[30] = '\0';
		printf("\rupload [%s] %" PRIu64 "/%" PRIu64 " bytes", bar, f->sent, f->size);
		fflush(stdout);
	}
	*out = &f->msg.base;
	return 1;
}

/* Where hv-agent's copy of the bundle stands. 0, or an exit status. */
static int ask_offset(struct hvctl *h, const uint8_t key[32], uint64_t *offset, bool *complete)
{
	Hvmgr__V1__OtaUploadOffsetRequest req = HVMGR__V1__OTA_UPLOAD_OFFSET_REQUEST__INIT;
	Hvmgr__V1__OtaUploadOffsetResponse *r;
	int rc;

	req.manifest_sha256.data = (uint8_t *)key;
	req.manifest_sha256.len = 32;
	if ((rc = hvctl_call(h, "OtaUploadOffset", &req.base,
			     &hvmgr__v1__ota_upload_offset_response__descriptor,
			     (ProtobufCMessage **)&r)) != 0)
		return rc;
	*offset = r->offset;
	*complete = r->complete;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return 0;
}

/* A failure after which the upload may resume. */
static bool resumable(int code)
{
	return code == HV_ABORTED || code == HV_UNAVAILABLE || code == HV_CANCELLED ||
	       code == HV_DEADLINE_EXCEEDED || code == HV_UNKNOWN;
}

struct install_opts {
	bool when_allowed, follow, json, upload_only;
	const char *url; /* --url: hv-agent fetches the bundle itself (OtaFetch) */
	uint64_t window_ms, timeout_ms, retries, rate, stop_after, follow_s;
};

/* The SHA-256 of the whole file fd; 0, or -1 with errno. */
static int file_sha256(int fd, uint8_t out[32])
{
	uint8_t *buf = malloc(CHUNK);
	struct ota_sha256 *hs = ota_sha256_new();
	int rc = -1;
	if (buf && hs) {
		off_t at = 0;
		ssize_t n;
		while ((n = pread(fd, buf, CHUNK, at)) > 0) {
			ota_sha256_update(hs, buf, (size_t)n);
			at += n;
		}
		if (n == 0) {
			ota_sha256_final(hs, out);
			rc = 0;
		}
	} else {
		errno = ENOMEM;
	}
	ota_sha256_free(hs);
	free(buf);
	return rc;
}

/* --url: hv-agent downloads the bundle from URL itself (OtaFetch), resumed
 * after a dropped link, and checks it is this file (its SHA-256 and its
 * manifest's). Unary, so it also runs through the fleet link. 0, or an exit
 * status (printed). */
static int fetch(struct hvctl *h, int fd, const char *path, const uint8_t key[32],
		 const struct install_opts *o)
{
	uint8_t digest[32];
	if (file_sha256(fd, digest) != 0)
		return hvctl_error(HVCTL_FAIL, "ota install", "%s: %s", path, strerror(errno));
	Hvmgr__V1__OtaFetchRequest req = HVMGR__V1__OTA_FETCH_REQUEST__INIT;
	Hvmgr__V1__OtaUploadResponse *r;
	req.url = (char *)o->url;
	req.sha256.data = digest;
	req.sha256.len = 32;
	req.manifest_sha256.data = (uint8_t *)key;
	req.manifest_sha256.len = 32;
	int rc = hvctl_call(h, "OtaFetch", &req.base, &hvmgr__v1__ota_upload_response__descriptor,
			    (ProtobufCMessage **)&r);
	if (rc != 0)
		return rc;
	printf("%s: fetched by hv-agent from %s (%" PRIu64 " bytes this time), stored and "
	       "verified\n",
	       path, o->url, r->received);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return 0;
}

/* Uploads the bundle with resume. 0, or an exit status (printed). */
static int upload(struct hvctl *h, struct feed *f, const uint8_t key[32],
		  const struct install_opts *o)
{
	Hvmgr__V1__OtaUploadRequest first = HVMGR__V1__OTA_UPLOAD_REQUEST__INIT;
	Hvmgr__V1__OtaUploadHeader hdr = HVMGR__V1__OTA_UPLOAD_HEADER__INIT;
	struct hv_status st;
	uint64_t offset;
	bool complete;
	int rc;

	for (uint64_t attempt = 0;; attempt++) {
		if ((rc = ask_offset(h, key, &offset, &complete)) != 0)
			return rc;
		if (complete) {
			if (attempt == 0)
				fprintf(stderr, "hvctl: ota install: hv-agent already holds %s\n",
					f->path);
			return 0;
		}
		if (offset > f->size)
			offset = 0;
		if (offset)
			fprintf(stderr,
				"hvctl: ota install: resuming the upload at byte %" PRIu64
				" of %" PRIu64 "\n",
				offset, f->size);
		hdr.manifest_sha256.data = (uint8_t *)key;
		hdr.manifest_sha256.len = 32;
		hdr.total_size = f->size;
		hdr.offset = offset;
		first.part_case = HVMGR__V1__OTA_UPLOAD_REQUEST__PART_HEADER;
		first.header = &hdr;
		f->sent = offset;
		struct hvc *c = hvctl_conn(h);
		if (!c)
			return h->conn_rc;
		Hvmgr__V1__OtaUploadResponse *resp = NULL;
		int r = hvc_upload(c, "/hvmgr.v1.Hvmgr/OtaUpload", &first.base, next_chunk, f,
				   &hvmgr__v1__ota_upload_response__descriptor,
				   (ProtobufCMessage **)&resp, &st);
		if (f->progress)
			putchar('\n');
		if (r == 0) {
			protobuf_c_message_free_unpacked(&resp->base, NULL);
			return 0;
		}
		if (f->limit && f->sent >= f->limit) {
			/* --stop-after: the cut a test asked for */
			hvctl_print_failure(h->verb, st.msg, st.code);
			return HVCTL_FAIL;
		}
		if (!resumable(st.code) || attempt >= o->retries)
			return hvctl_fail(h->verb, &st);
		fprintf(stderr, "hvctl: ota install: upload interrupted (%s); resuming\n", st.msg);
		nap_ms(1000);
	}
}

/* ---- follow the trials ---- */

/* OtaStatus of one VM; NULL after printing the failure (*rc set). */
static Hvmgr__V1__OtaStatusResponse *status_of(struct hvctl *h, const char *vm, int *rc)
{
	Hvmgr__V1__OtaStatusRequest req = HVMGR__V1__OTA_STATUS_REQUEST__INIT;
	Hvmgr__V1__OtaStatusResponse *r = NULL;
	Hvmgr__V1__VmSelector sel;

	if (vm) {
		hvctl_selector(&sel, vm);
		req.vm = &sel;
	}
	*rc = hvctl_call(h, "OtaStatus", &req.base, &hvmgr__v1__ota_status_response__descriptor,
			 (ProtobufCMessage **)&r);
	return *rc ? NULL : r;
}

static const Hvmgr__V1__OtaSlot *active_slot(const Hvmgr__V1__OtaVmStatus *s)
{
	return strcmp(s->active, "B") == 0 ? s->slot_b : s->slot_a;
}

/* Waits for the trial of vm (version) to end. 0 confirmed, 1 rolled back or
 * timed out, else an exit status. */
static int follow(struct hvctl *h, const char *vm, const char *version, uint64_t limit_s)
{
	uint64_t rounds = limit_s * 1000u / FOLLOW_POLL_MS;
	int rc;

	for (uint64_t i = 0; i <= rounds; i++) {
		Hvmgr__V1__OtaStatusResponse *r = status_of(h, vm, &rc);
		if (!r)
			return rc;
		const Hvmgr__V1__OtaVmStatus *s = r->n_vms ? r->vms[0] : NULL;
		if (s && !s->in_trial) {
			const Hvmgr__V1__OtaSlot *act = active_slot(s);
			if (!strcmp(s->last_result, "confirmed") && act &&
			    !strcmp(act->version, version)) {
				printf("%s: %s confirmed by hv-core (slot %s active, floor %s)\n",
				       vm, version, s->active, s->floor);
				rc = 0;
			} else {
				printf("%s: the trial of %s failed (%s); hv-core runs %s again (slot "
				       "%s)\n",
				       vm, version, s->last_result, act ? act->version : "?",
				       s->active);
				rc = HVCTL_FAIL;
			}
			protobuf_c_message_free_unpacked(&r->base, NULL);
			return rc;
		}
		protobuf_c_message_free_unpacked(&r->base, NULL);
		nap_ms(FOLLOW_POLL_MS);
	}
	printf("%s: the trial of %s did not end within %" PRIu64 " s (hvctl ota status %s)\n", vm,
	       version, limit_s, vm);
	return HVCTL_FAIL;
}

/* ---- install ---- */

static int install(struct hvctl *h, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "when-allowed", no_argument, NULL, 'w' },
		{ "window-ms", required_argument, NULL, 'W' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "no-follow", no_argument, NULL, 'n' },
		{ "upload-only", no_argument, NULL, 'u' },
		{ "url", required_argument, NULL, 'U' },
		{ "retries", required_argument, NULL, 'r' },
		{ "follow-timeout", required_argument, NULL, 'F' },
		{ "rate", required_argument, NULL, 'R' },
		{ "stop-after", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct install_opts o = { .follow = true, .retries = 5, .follow_s = 900 };
	int c, li = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
		uint64_t *dst = NULL;
		switch (c) {
		case 'w':
			o.when_allowed = true;
			continue;
		case 'n':
			o.follow = false;
			continue;
		case 'u':
			o.upload_only = true;
			continue;
		case 'U':
			o.url = optarg;
			continue;
		case 'W':
			dst = &o.window_ms;
			break;
		case 'T':
			dst = &o.timeout_ms;
			break;
		case 'r':
			dst = &o.retries;
			break;
		case 'F':
			dst = &o.follow_s;
			break;
		case 'R':
			dst = &o.rate;
			break;
		case 'S':
			dst = &o.stop_after;
			break;
		default:
			fprintf(stderr, "hvctl: ota install: unknown option '%s'\n",
				argv[optind - 1]);
			return HVCTL_USAGE;
		}
		char *end;
		errno = 0;
		unsigned long long v = strtoull(optarg, &end, 10);
		if (errno || end == optarg || *end || optarg[0] == '-' || v > 0xFFFFFFFFull) {
			fprintf(stderr, "hvctl: ota install: --%s: '%s' is not a number up to %u\n",
				opts[li].name, optarg, 0xFFFFFFFFu);
			return HVCTL_USAGE;
		}
		*dst = v;
	}
	if (optind != argc - 1) {
		fprintf(stderr,
			"hvctl: ota install: one BUNDLE expected\n"
			"usage: hvctl ota install [--when-allowed] [--no-follow] [--upload-only] "
			"[--url URL] BUNDLE\n");
		return HVCTL_USAGE;
	}
	const char *path = argv[optind];
	struct feed *f = calloc(1, sizeof *f);
	uint8_t *head = malloc(HEAD_MAX);
	struct ota_head *hd = calloc(1, sizeof *hd);
	struct stat sb;
	int rc = HVCTL_FAIL;

	if (!f || !head || !hd) {
		rc = hvctl_error(HVCTL_FAIL, h->verb, "out of memory");
		goto out;
	}
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		rc = hvctl_error(errno == ENOENT ? HVCTL_NOT_FOUND : HVCTL_FAIL, "ota install",
				 "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(f->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = hvctl_error(HVCTL_FAIL, "ota install", "%s: not a regular file", path);
		goto out;
	}
	f->path = path;
	f->size = (uint64_t)sb.st_size;
	f->rate = o.rate;
	f->limit = o.stop_after;
	f->progress = isatty(STDOUT_FILENO);
	ssize_t got = pread(f->fd, head, HEAD_MAX, 0);
	struct ota_err e;
	uint64_t need;
	if (got < 0 || ota_bundle_head(head, (size_t)got, hd, &need, &e) != 0) {
		rc = hvctl_error(HVCTL_FAIL, "ota install", "%s: not an OTA bundle (%s): %s", path,
				 got < 0 ? "io" : ota_code_name(e.code),
				 got < 0            ? strerror(errno)
				 : e.code == OTA_OK ? "it ends inside its head"
						    : e.msg);
		goto out;
	}
	if ((rc = o.url ? fetch(h, f->fd, path, hd->manifest_sha256, &o)
			: upload(h, f, hd->manifest_sha256, &o)) != 0)
		goto out;
	if (o.upload_only) {
		printf("%s: stored and verified by hv-agent (%" PRIu64
		       " bytes); `hvctl ota install` it later\n",
		       path, f->size);
		goto out;
	}

	Hvmgr__V1__OtaInstallRequest req = HVMGR__V1__OTA_INSTALL_REQUEST__INIT;
	Hvmgr__V1__OtaInstallResponse *r;
	req.manifest_sha256.data = hd->manifest_sha256;
	req.manifest_sha256.len = 32;
	req.when_allowed = o.when_allowed;
	req.confirm_window_ms = (uint32_t)o.window_ms;
	req.trial_timeout_ms = (uint32_t)o.timeout_ms;
	if ((rc = hvctl_call(h, "OtaInstall", &req.base, &hvmgr__v1__ota_install_response__descriptor,
			     (ProtobufCMessage **)&r)) != 0)
		goto out;
	for (size_t i = 0; i < r->n_vms; i++) {
		const Hvmgr__V1__OtaVmResult *v = r->vms[i];
		if (v->pending)
			printf("%s: %s installed; the switch waits for the safety policy as pending "
			       "command %" PRIu64 " (%s)\n",
			       v->vm, v->version, v->pending->id, v->pending->outcome);
		else if (!strncmp(v->state, "switched with its image", 23) ||
			 !strcmp(v->state, "pending with its image"))
			printf("%s: %s installed into the initrd slot, %s\n", v->vm, v->version,
			       v->state);
		else if (!strcmp(v->state, "pending with its group"))
			printf("%s: %s installed; switched with its update group once the pending "
			       "switch runs\n",
			       v->vm, v->version);
		else
			printf("%s: %s installed, switched; hv-core runs its trial\n", v->vm,
			       v->version);
	}
	fflush(stdout);
	for (size_t i = 0; o.follow && i < r->n_vms; i++) {
		if (r->vms[i]->pending || !strcmp(r->vms[i]->state, "pending with its group") ||
		    strstr(r->vms[i]->state, "with its image")) /* followed as its image */
			continue;
		int fr = follow(h, r->vms[i]->vm, r->vms[i]->version, o.follow_s);
		if (fr != 0 && rc == 0)
			rc = fr;
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
out:
	if (f && f->fd > 0)
		close(f->fd);
	free(f);
	free(head);
	free(hd);
	return rc;
}

/* ---- status ---- */

static json_t *slot_json(const Hvmgr__V1__OtaSlot *s)
{
	char sha[65] = "";
	if (!s)
		return json_null();
	fmt_hex(s->sha256.data, s->sha256.len, sha, sizeof sha);
	return json_pack("{s:s, s:s, s:I, s:s, s:b}", "state", s->state, "version", s->version,
			 "size", (json_int_t)s->size, "sha256", sha, "durable", s->durable);
}

static void slot_cell(const Hvmgr__V1__OtaSlot *s, char *buf, size_t len)
{
	if (!s || !strcmp(s->state, "empty"))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s (%s)", s->version[0] ? s->version : "?", s->state);
}

static int status(struct hvctl *h, int argc, char **argv)
{
	bool json = false;
	const char *vm = NULL;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (argv[i][0] == '-' || vm) {
			fprintf(stderr,
				"hvctl: ota status: unexpected argument '%s'\n"
				"usage: hvctl ota status [VM] [--json]\n",
				argv[i]);
			return HVCTL_USAGE;
		} else
			vm = argv[i];
	}
	Hvmgr__V1__OtaStatusResponse *r = status_of(h, vm, &rc);
	if (!r)
		return rc;
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < r->n_vms; i++) {
			const Hvmgr__V1__OtaVmStatus *s = r->vms[i];
			json_t *o = json_pack("{s:s, s:I, s:s, s:b, s:s, s:s, s:I, s:o, s:o, s:b}",
					      "vm", s->vm, "id", (json_int_t)s->vm_id, "active",
					      s->active, "in_trial", s->in_trial, "last_result",
					      s->last_result, "floor", s->floor, "trial_left_ms",
					      (json_int_t)s->trial_left_ms, "slot_a",
					      slot_json(s->slot_a), "slot_b", slot_json(s->slot_b),
					      "nv_present", s->nv_present);
			if (o && s->initrd_a && s->initrd_b) { /* MGMT-665 */
				json_object_set_new(o, "initrd_a", slot_json(s->initrd_a));
				json_object_set_new(o, "initrd_b", slot_json(s->initrd_b));
			}
			json_array_append_new(arr, o);
		}
		json_print(vm && r->n_vms == 1 ? json_incref(json_array_get(arr, 0))
					       : json_incref(arr));
		json_decref(arr);
	} else {
		static const char *const hdr[] = { "Domain", "Active", "Slot A",     "Slot B",
						   "Floor",  "Trial",  "Last result" };
		struct fmt_table *t = fmt_table_new(7, hdr);
		for (size_t i = 0; i < r->n_vms; i++) {
			const Hvmgr__V1__OtaVmStatus *s = r->vms[i];
			char a[64], b[64], trial[32];
			slot_cell(s->slot_a, a, sizeof a);
			slot_cell(s->slot_b, b, sizeof b);
			if (s->in_trial)
				snprintf(trial, sizeof trial, "%" PRIu64 " ms left",
					 s->trial_left_ms);
			else
				snprintf(trial, sizeof trial, "-");
			const char *row[] = {
				s->vm, s->active,     a, b, s->floor[0] ? s->floor : "-",
				trial, s->last_result
			};
			fmt_table_row(t, row);
		}
		fmt_table_print(t);
		fmt_table_free(t);
		putchar('\n');
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return HVCTL_OK;
}

/* ---- history: the audit log's OTA rows ---- */

/* The step an audit row records ("OtaInstall.switch", "hv-core.ota"), or
 * NULL for a row that is not about OTA. */
static const char *ota_step(const Hvmgr__V1__AuditEntry *e)
{
	static const char svc[] = "hvmgr.v1.Hvmgr/";
	const char *rpc = strncmp(e->rpc, svc, sizeof svc - 1) ? e->rpc : e->rpc + sizeof svc - 1;

	if (!strncmp(rpc, "Ota", 3) || !strcmp(rpc, "hv-core.ota") ||
	    (!strcmp(rpc, "hv-agent.pending") && strstr(e->arguments, "op=otaswitch")))
		return rpc;
	return NULL;
}

static int history(struct hvctl *h, int argc, char **argv)
{
	bool json = argc == 2 && !strcmp(argv[1], "--json");
	uint64_t from = 0;
	int rc;

	if (argc > 2 || (argc == 2 && !json)) {
		fprintf(stderr,
			"hvctl: ota history: unexpected argument '%s'\n"
			"usage: hvctl ota history [--json]\n",
			argv[argc - 1]);
		return HVCTL_USAGE;
	}
	json_t *arr = json_array();
	static const char *const hdr[] = { "Seq", "Time", "Identity", "Step", "Arguments", "Outcome" };
	struct fmt_table *t = fmt_table_new(6, hdr);
	for (;;) {
		Hvmgr__V1__GetAuditRequest req = HVMGR__V1__GET_AUDIT_REQUEST__INIT;
		Hvmgr__V1__GetAuditResponse *r;
		req.from_seq = from;
		req.max = 1000;
		if ((rc = hvctl_call(h, "GetAudit", &req.base,
				     &hvmgr__v1__get_audit_response__descriptor,
				     (ProtobufCMessage **)&r)) != 0)
			goto out;
		size_t n = r->n_entries;
		for (size_t i = 0; i < n; i++) {
			const Hvmgr__V1__AuditEntry *e = r->entries[i];
			const char *step = ota_step(e);
			from = e->seq + 1;
			if (!step)
				continue;
			if (json) {
				json_array_append_new(arr,
						      json_pack("{s:I, s:I, s:s, s:s, s:s, s:s}",
								"seq", (json_int_t)e->seq,
								"time_ms", (json_int_t)e->time_ms,
								"identity", e->identity, "step",
								step, "arguments", e->arguments,
								"outcome", e->outcome));
			} else {
				char seq[24], when[40];
				snprintf(seq, sizeof seq, "%" PRIu64, e->seq);
				fmt_time_ms(e->time_ms, when, sizeof when);
				const char *row[] = { seq,  when,         e->identity,
						      step, e->arguments, e->outcome };
				fmt_table_row(t, row);
			}
		}
		protobuf_c_message_free_unpacked(&r->base, NULL);
		if (n == 0)
			break;
	}
	if (json) {
		json_print(json_incref(arr));
	} else {
		fmt_table_print(t);
		putchar('\n');
	}
	rc = HVCTL_OK;
out:
	json_decref(arr);
	fmt_table_free(t);
	return rc;
}

int cmd_ota_remote(struct hvctl *h, int argc, char **argv)
{
	int rc;

	/* `ota` is a local command for bundle and info: the connection's
	 * set-up and tear-down are done here, as main() does for the others */
	hvc_global_init();
	if (!strcmp(argv[0], "install"))
		rc = install(h, argc, argv);
	else if (!strcmp(argv[0], "status"))
		rc = status(h, argc, argv);
	else
		rc = history(h, argc, argv);
	hvf_close(h->fleet);
	h->fleet = NULL;
	hvc_close(h->conn);
	h->conn = NULL;
	hvc_global_shutdown();
	return rc;
}
