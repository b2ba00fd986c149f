/* `hvctl ota bundle` and `hvctl ota info`: the offline verbs of docs/ota.md
 * (they work on files only). Options are parsed by hand, as `hvctl pki` does,
 * so that hvctl's own option state is untouched. */
#include "ota_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#define DEFAULT_CA "./var/pki/update-ca.crt"
#define DEFAULT_SYSTEM "avirt-dev"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: hvctl ota bundle --key KEY --cert CERT -o OUT [--system ID] [--group NAME]\n"
		"                        [--expires-days N] VM=IMAGE@VERSION [VM=IMAGE@VERSION...]\n"
		"       hvctl ota info [--ca CERT | --trust CONF] [--system ID] [--floor SECONDS]\n"
		"                      [--max-size BYTES] [--json] BUNDLE\n"
		"       hvctl ota install [--when-allowed] [--window-ms N] [--timeout-ms N]\n"
		"                         [--no-follow] [--upload-only] [--retries N] BUNDLE\n"
		"       hvctl ota status [VM] [--json]\n"
		"       hvctl ota history [--json]\n"
		"\n"
		"bundle   sign the images into a bundle OUT with the update-signing KEY and its\n"
		"         certificate CERT (chain); the target system defaults to %s\n"
		"info     verify BUNDLE against the update CA (default %s) or a trust\n"
		"         configuration, and show its manifest\n"
		"install  upload BUNDLE to hv-agent (resuming a cut upload), install it into the\n"
		"         VMs' inactive slots, switch, and follow each trial to hv-core's verdict\n"
		"status   the A/B slots of each VM, the active one, the floor, the last result\n"
		"history  the OTA steps of the audit log\n",
		DEFAULT_SYSTEM, DEFAULT_CA);
}

/* ARGV[*I] as one of the value options NAMES: returns its index and sets
 * *VAL (from "--opt VALUE" or "--opt=VALUE"); -1 when it is none of them, -2
 * when it lacks its value. */
static int match_opt(int argc, char **argv, int *i, const char *const *names, const char **val)
{
	const char *arg = argv[*i], *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
	for (int k = 0; names[k]; k++) {
		if (strlen(names[k]) != n || strncmp(arg, names[k], n) != 0)
			continue;
		if (eq == NULL && *i + 1 >= argc)
			return -2;
		*val = eq ? eq + 1 : argv[++*i];
		return k;
	}
	return -1;
}

static int bad_arg(const char *verb, const char *what, const char *arg)
{
	fprintf(stderr, "hvctl ota %s: %s '%s'\n", verb, what, arg);
	usage(stderr);
	return 2;
}

static int parse_u64(const char *verb, const char *opt, const char *s, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || v > max) {
		fprintf(stderr, "hvctl ota %s: %s '%s' is not a number from 0 to %" PRIu64 "\n",
			verb, opt, s, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* VM=IMAGE@VERSION: the last '@' separates the version. */
static int parse_image(char *arg, struct ota_write_image *im)
{
	char *eq = strchr(arg, '='), *at = strrchr(arg, '@');
	if (eq == NULL || at == NULL || at < eq || eq == arg || at == eq + 1 || at[1] == '\0')
		return -1;
	*eq = '\0';
	*at = '\0';
	im->vm = arg;
	im->path = eq + 1;
	im->version = at + 1;
	return 0;
}

static void iso_time(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int cmd_bundle(int argc, char **argv)
{
	struct ota_write_opts o = { .system = DEFAULT_SYSTEM };
	struct ota_write_image images[OTA_MAX_IMAGES];
	const char *out = NULL, *v;
	uint64_t days = 0;
	unsigned n = 0;
	static const char *const names[] = { "--key",   "--cert",         "-o", "--out", "--system",
					     "--group", "--expires-days", NULL };
	for (int i = 2; i < argc; i++) {
		int k = match_opt(argc, argv, &i, names, &v);
		switch (k) {
		case 0:
			o.key_path = v;
			break;
		case 1:
			o.cert_path = v;
			break;
		case 2:
		case 3:
			out = v;
			break;
		case 4:
			o.system = v;
			break;
		case 5:
			o.group = v;
			break;
		case 6:
			if (parse_u64("bundle", "--expires-days", v, 36600, &days) < 0)
				return 2;
			if (days == 0)
				return bad_arg("bundle", "--expires-days must be 1 or more, not", v);
			break;
		default:
			if (k == -2 || argv[i][0] == '-')
				return bad_arg("bundle",
					       k == -2 ? "missing value for" : "unknown option",
					       argv[i]);
			if (n == OTA_MAX_IMAGES)
				return bad_arg("bundle", "more than 16 images at", argv[i]);
			if (parse_image(argv[i], &images[n++]) < 0)
				return bad_arg("bundle", "expected VM=IMAGE@VERSION, got", argv[i]);
		}
	}
	if (o.key_path == NULL || o.cert_path == NULL || out == NULL || n == 0) {
		fprintf(stderr, "hvctl ota bundle: %s is required\n",
			o.key_path == NULL    ? "--key KEY"
			: o.cert_path == NULL ? "--cert CERT"
			: out == NULL         ? "-o OUT"
					      : "at least one VM=IMAGE@VERSION");
		usage(stderr);
		return 2;
	}
	o.nimages = n;
	o.images = images;
	if (days != 0) {
		o.created = (int64_t)time(NULL);
		o.expires = o.created + (int64_t)days * 86400;
	}
	struct ota_manifest m;
	struct ota_err err;
	if (ota_bundle_write(out, &o, &m, &err) < 0) {
		fprintf(stderr, "hvctl ota bundle: %s\n", err.msg);
		return err.code == OTA_E_USAGE ? 2 : 1;
	}
	char exp[32];
	iso_time(m.expires, exp);
	printf("wrote %s: %u image%s for system %s, group %s, expires %s\n", out, m.nimages,
	       m.nimages == 1 ? "" : "s", m.system, m.group, exp);
	return 0;
}

static void print_json(const char *path, const struct ota_manifest *m, const struct ota_signer *s)
{
	char id[33], hex[65], t[32];
	json_t *j = json_object(), *imgs = json_array();
	ota_hex(m->bundle_id, sizeof m->bundle_id, id);
	json_object_set_new(j, "bundle", json_string(path));
	json_object_set_new(j, "verified", json_true());
	json_object_set_new(j, "system", json_string(m->system));
	json_object_set_new(j, "bundle_id", json_string(id));
	json_object_set_new(j, "group", json_string(m->group));
	iso_time(m->created, t);
	json_object_set_new(j, "created", json_string(t));
	iso_time(m->expires, t);
	json_object_set_new(j, "expires", json_string(t));
	json_object_set_new(j, "signer", json_string(s->subject));
	json_object_set_new(j, "signer_serial", json_string(s->serial));
	for (unsigned i = 0; i < m->nimages; i++) {
		const struct ota_image *im = &m->images[i];
		json_t *o = json_object();
		ota_hex(im->sha256, sizeof im->sha256, hex);
		json_object_set_new(o, "vm", json_string(im->vm));
		json_object_set_new(o, "version", json_string(im->version));
		json_object_set_new(o, "size", json_integer((json_int_t)im->size));
		json_object_set_new(o, "sha256", json_string(hex));
		json_array_append_new(imgs, o);
	}
	json_object_set_new(j, "images", imgs);
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(j);
}

static void print_text(const char *path, const struct ota_manifest *m, const struct ota_signer *s)
{
	char id[33], hex[65], t[32];
	ota_hex(m->bundle_id, sizeof m->bundle_id, id);
	printf("Bundle:         %s\nVerified:       yes\nSigner:         %s (serial %s)\n", path,
	       s->subject, s->serial);
	printf("Target system:  %s\nBundle id:      %s\nUpdate group:   %s\n", m->system, id,
	       m->group);
	iso_time(m->created, t);
	printf("Signed at:      %s\n", t);
	iso_time(m->expires, t);
	printf("Expires:        %s\n\n", t);
	printf("%-20s %-12s %12s  %s\n", "VM", "VERSION", "SIZE", "SHA-256");
	for (unsigned i = 0; i < m->nimages; i++) {
		const struct ota_image *im = &m->images[i];
		ota_hex(im->sha256, sizeof im->sha256, hex);
		printf("%-20s %-12s %12" PRIu64 "  %s\n", im->vm, im->version, im->size, hex);
	}
}

static int cmd_info(int argc, char **argv)
{
	const char *ca = NULL, *conf = NULL, *path = NULL, *v;
	struct ota_verify_opts o = { 0 };
	uint64_t x;
	bool json = false;
	static const char *const names[] = { "--ca",    "--trust",    "--system",
					     "--floor", "--max-size", NULL };
	for (int i = 2; i < argc; i++) {
		int k = match_opt(argc, argv, &i, names, &v);
		if (k == 0)
			ca = v;
		else if (k == 1)
			conf = v;
		else if (k == 2)
			o.system = v;
		else if (k == 3) {
			if (parse_u64("info", "--floor", v, INT64_MAX, &x) < 0)
				return 2;
			o.floor = (int64_t)x;
		} else if (k == 4) {
			if (parse_u64("info", "--max-size", v, UINT64_MAX, &x) < 0)
				return 2;
			if (x == 0)
				return bad_arg("info", "--max-size must be above 0, not", v);
			o.max_bytes = x;
		} else if (k == -1 && strcmp(argv[i], "--json") == 0)
			json = true;
		else if (k == -2 || argv[i][0] == '-' || path != NULL)
			return bad_arg("info", k == -2 ? "missing value for" : "unexpected argument",
				       argv[i]);
		else
			path = argv[i];
	}
	if (path == NULL || (ca != NULL && conf != NULL)) {
		fprintf(stderr, "hvctl ota info: %s\n",
			path == NULL ? "BUNDLE is required" : "give --ca or --trust, not both");
		usage(stderr);
		return 2;
	}
	struct ota_err err;
	struct ota_trust *t =
		conf ? ota_trust_load(conf, &err) : ota_trust_from_ca(ca ? ca : DEFAULT_CA, &err);
	if (t == NULL) {
		fprintf(stderr, "hvctl ota info: %s\n", err.msg);
		return 2;
	}
	o.trust = t;
	struct ota_manifest m;
	struct ota_signer s;
	int rc = ota_bundle_verify(path, &o, &m, &s, &err);
	ota_trust_free(t);
	if (rc < 0) {
		fprintf(stderr, "hvctl ota info: %s: refused (%s): %s\n", path,
			ota_code_name(err.code), err.msg);
		return 1;
	}
	if (json)
		print_json(path, &m, &s);
	else
		print_text(path, &m, &s);
	return 0;
}

int ota_cli_main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "bundle") == 0)
		return cmd_bundle(argc, argv);
	if (strcmp(argv[1], "info") == 0)
		return cmd_info(argc, argv);
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "hvctl ota: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
