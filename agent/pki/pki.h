/* The development / fleet PKI: a private CA, the agent's server certificate
 * and role-carrying client certificates for mutual-TLS gRPC, generated with
 * mbedTLS (ECDSA P-256, PEM). Layout and role encoding: docs/security.md. */
#ifndef HV_PKI_H
#define HV_PKI_H

#include <stdbool.h>

/* Default PKI directory when hvctl runs from the source tree. */
#define PKI_DEFAULT_DIR "./var/pki"

/* Errors are values: a message naming the file or input and the reason. */
struct pki_err {
	char msg[1024];
};

struct pki_opts {
	bool force;         /* replace an existing PKI in DIR */
	unsigned ca_days;   /* CA validity; 0 = 3653 (10 years) */
	unsigned leaf_days; /* server/client validity; 0 = 825 */
};

/* Files pki_init writes into DIR, NULL-terminated: ca.crt, ca.key,
 * server.crt, server.key, admin.crt, admin.key, operator.*, viewer.*, and the
 * separate update PKI of docs/ota.md: update-ca.crt/.key, update-signer.*. */
extern const char *const pki_init_files[];

/* Creates DIR (mode 0700; missing parents 0755) holding a self-signed CA,
 * a server pair for DNS:localhost + IP:127.0.0.1, and one client pair per
 * role. Keys are written 0600, certificates 0644. Refuses when any of the
 * files exists unless OPTS->force. OPTS may be NULL (defaults). Returns 0, or
 * -1 with ERR set; on failure no file of DIR has been created or replaced. */
int pki_init(const char *dir, const struct pki_opts *opts, struct pki_err *err);

/* The fleet PKI of the fleet link (docs/fleet.md), in DIR beside the
 * above: a second CA (fleet-ca.*) that the MQTT broker, the vehicle and every
 * request signer chain to; the broker's server pair (broker.*, DNS:localhost
 * + IP:127.0.0.1); the vehicle's client pair (vehicle.*, CN=VEHICLE,
 * OU=vehicle: not a role, so it cannot sign requests); and a backend client
 * pair per role (fleet-admin.*, fleet-operator.*, fleet-viewer.*). Same
 * rules as pki_init for existing files and failures. */
extern const char *const pki_fleet_files[];
int pki_fleet_init(const char *dir, const char *vehicle, const struct pki_opts *opts,
		   struct pki_err *err);
/* The update PKI of pki_init_files alone, NULL-terminated: update-ca.crt,
 * update-ca.key, update-signer.crt, update-signer.key. */
extern const char *const pki_update_files[];

/* Adds the update PKI (docs/ota.md OTA-020) to DIR: a separate update CA and
 * a first update-signing pair, for a PKI made before it existed. Refuses when
 * any of pki_update_files exists unless OPTS->force; the TLS files are never
 * touched. Returns 0, or -1 with ERR set and nothing written. */
int pki_init_update(const char *dir, const struct pki_opts *opts, struct pki_err *err);

/* Issues a client certificate for NAME carrying ROLE (admin, operator or
 * viewer), subject "CN=NAME,OU=ROLE,O=hv-fleet", signed by DIR/ca.crt +
 * DIR/ca.key, written to OUT_DIR/NAME.crt and OUT_DIR/NAME.key (OUT_DIR NULL
 * means DIR). Refuses an invalid role or name, and existing output files.
 * Returns 0, or -1 with ERR set and nothing written. */
int pki_issue(const char *dir, const char *role, const char *name, const char *out_dir,
	      struct pki_err *err);

/* Issues an update-signing certificate NAME (subject
 * "CN=NAME,OU=update-signer,O=hv-fleet", extendedKeyUsage codeSigning) signed
 * by DIR/update-ca.crt + DIR/update-ca.key, written to OUT_DIR/NAME.crt and
 * .key (OUT_DIR NULL means DIR): a rotated signer (docs/ota.md OTA-022).
 * Returns 0, or -1 with ERR set and nothing written. */
int pki_issue_update_signer(const char *dir, const char *name, const char *out_dir,
			    struct pki_err *err);

/* The `hvctl pki ...` command. ARGV[0] is the verb ("pki"):
 *   pki init [--dir DIR] [--force]
 *   pki issue --role ROLE [--dir DIR] [--out DIR] NAME
 * Prints the files written. Returns 0 on success, 1 on failure, 2 on a
 * usage error. */
int pki_cli_main(int argc, char **argv);

#endif
