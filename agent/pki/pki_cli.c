/* `hvctl pki ...`: the command-line face of the PKI. hvctl's command table
 * hands the `pki` verb and its arguments to pki_cli_main(). Options are
 * parsed by hand (no getopt) so that hvctl's own option state is untouched. */
#include "pki.h"
#include "pki_files.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: hvctl pki init [--dir DIR] [--force]\n"
		"       hvctl pki init-update [--dir DIR] [--force]\n"
		"       hvctl pki issue --role ROLE [--dir DIR] [--out DIR] NAME\n"
		"       hvctl pki fleet-init [--dir DIR] [--vehicle ID] [--force]\n"
		"       hvctl pki issue --update-signer [--dir DIR] [--out DIR] NAME\n"
		"\n"
		"init   create a CA, the agent's server pair and one client pair per role\n"
		"       (admin, operator, viewer) in DIR (default %s), and the separate\n"
		"       update CA with a first update signer (docs/ota.md)\n"
		"init-update  only the update CA and signer, for a PKI made without them\n"
		"issue  create NAME.crt/NAME.key for a client with ROLE (admin, operator,\n"
		"       viewer), signed by the CA in DIR, written to --out (default DIR);\n"
		"       with --update-signer an update-signing certificate signed by the\n"
		"       update CA in DIR (docs/ota.md)\n"
		"fleet-init  create the fleet CA, the broker's pair, the vehicle's pair\n"
		"       (--vehicle, default dev-vehicle) and fleet-ROLE client pairs in DIR\n",
		PKI_DEFAULT_DIR);
}

/* Value of an option given as "--opt VALUE" or "--opt=VALUE"; NULL if ARGV[*I]
 * is not OPT. Sets *MISSING when OPT has no value. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt, int *missing)
{
	size_t n = strlen(opt);
	if (strncmp(argv[*i], opt, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

static void print_written(const char *dir, const char *const *files)
{
	char path[PKI_PATH_BUF];
	for (int i = 0; files[i]; i++) {
		pki_join(path, sizeof path, dir, files[i]);
		printf("wrote %s\n", path);
	}
}

static int cmd_init(int argc, char **argv)
{
	const char *dir = PKI_DEFAULT_DIR, *vehicle = "dev-vehicle", *v;
	int fleet = strcmp(argv[1], "fleet-init") == 0;
	struct pki_opts opts = { 0 };
	for (int i = 2; i < argc; i++) {
		int missing = 0;
		if ((v = opt_value(argc, argv, &i, "--dir", &missing)) != NULL)
			dir = v;
		else if (fleet && (v = opt_value(argc, argv, &i, "--vehicle", &missing)) != NULL)
			vehicle = v;
		else if (strcmp(argv[i], "--force") == 0)
			opts.force = true;
		else {
			fprintf(stderr, "hvctl pki %s: %s '%s'\n", argv[1],
				missing ? "missing value for" : "unexpected argument", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	int update_only = strcmp(argv[1], "init-update") == 0;
	struct pki_err err;
	int prc = fleet         ? pki_fleet_init(dir, vehicle, &opts, &err)
		  : update_only ? pki_init_update(dir, &opts, &err)
				: pki_init(dir, &opts, &err);
	if (prc < 0) {
		fprintf(stderr, "hvctl pki %s: %s\n", argv[1], err.msg);
		return 1;
	}
	print_written(dir, fleet         ? pki_fleet_files
			   : update_only ? pki_update_files
					 : pki_init_files);
	return 0;
}

static int cmd_issue(int argc, char **argv)
{
	const char *dir = PKI_DEFAULT_DIR, *out = NULL, *role = NULL, *name = NULL, *v;
	int only_args = 0, signer = 0;
	for (int i = 2; i < argc; i++) {
		int missing = 0;
		if (!only_args && strcmp(argv[i], "--") == 0)
			only_args = 1;
		else if (!only_args && (v = opt_value(argc, argv, &i, "--dir", &missing)) != NULL)
			dir = v;
		else if (!only_args && (v = opt_value(argc, argv, &i, "--out", &missing)) != NULL)
			out = v;
		else if (!only_args && (v = opt_value(argc, argv, &i, "--role", &missing)) != NULL)
			role = v;
		else if (!only_args && strcmp(argv[i], "--update-signer") == 0)
			signer = 1;
		else if (missing || (!only_args && argv[i][0] == '-') || name != NULL) {
			fprintf(stderr, "hvctl pki issue: %s '%s'\n",
				missing ? "missing value for" : "unexpected argument", argv[i]);
			usage(stderr);
			return 2;
		} else
			name = argv[i];
	}
	if ((role == NULL) == !signer || name == NULL) {
		fprintf(stderr, "hvctl pki issue: %s\n",
			name == NULL ? "NAME is required"
				     : "exactly one of --role ROLE and --update-signer is required");
		usage(stderr);
		return 2;
	}
	struct pki_err err;
	if (signer ? pki_issue_update_signer(dir, name, out, &err) < 0
		   : pki_issue(dir, role, name, out, &err) < 0) {
		fprintf(stderr, "hvctl pki issue: %s\n", err.msg);
		return 1;
	}
	char crt[PKI_NAME_BUF], key[PKI_NAME_BUF];
	snprintf(crt, sizeof crt, "%s.crt", name);
	snprintf(key, sizeof key, "%s.key", name);
	const char *files[] = { crt, key, NULL };
	print_written(out ? out : dir, files);
	printf("identity: CN=%s,OU=%s,O=hv-fleet\n", name, signer ? "update-signer" : role);
	return 0;
}

int pki_cli_main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "init") == 0 || strcmp(argv[1], "fleet-init") == 0 ||
	    strcmp(argv[1], "init-update") == 0)
		return cmd_init(argc, argv);
	if (strcmp(argv[1], "issue") == 0)
		return cmd_issue(argc, argv);
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "hvctl pki: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
