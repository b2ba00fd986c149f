/* Generation of the development / fleet PKI with mbedTLS 2.28: a private
 * ECDSA P-256 CA, the agent's server certificate and role-carrying client
 * certificates. Everything is built in memory first and then staged into
 * temporary files that are renamed into place, so a failure never leaves a
 * half-written PKI behind. The role travels in the subject's OU
 * (docs/security.md), which gRPC reports as x509_subject. */
#include "pki.h"
#include "pki_files.h"
#include "roles.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>

#define CA_SUBJECT "O=" ROLES_ORG ",CN=" ROLES_ORG " CA"
#define SERVER_SUBJECT "O=" ROLES_ORG ",CN=localhost"
#define FLEET_CA_SUBJECT "O=" ROLES_ORG ",CN=" ROLES_ORG " fleet CA"
/* The update CA signs update-signing certificates only; it is not the TLS CA
 * (docs/ota.md OTA-020), so no TLS identity can sign an update. */
#define UPDATE_CA_SUBJECT "O=" ROLES_ORG ",CN=" ROLES_ORG " update CA"
#define UPDATE_SIGNER_OU "update-signer"

const char *const pki_init_files[] = {
	"ca.crt",        "ca.key",        "server.crt",        "server.key",        "admin.crt",
	"admin.key",     "operator.crt",  "operator.key",      "viewer.crt",        "viewer.key",
	"update-ca.crt", "update-ca.key", "update-signer.crt", "update-signer.key", NULL,
};

const char *const pki_update_files[] = {
	"update-ca.crt", "update-ca.key", "update-signer.crt", "update-signer.key", NULL,
};

void pki_fail(struct pki_err *err, const char *fmt, ...)
{
	if (err == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

/* "X509 - ..." text for an mbedTLS error code. */
static const char *mbed_reason(int rc, char *buf, size_t len)
{
	mbedtls_strerror(rc, buf, len);
	return buf;
}

/* Randomness for keys, serial numbers and ECDSA signatures. */
struct rng {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

static int rng_init(struct rng *r, struct pki_err *err)
{
	static const char pers[] = "hv-pki";
	char why[128];
	mbedtls_entropy_init(&r->entropy);
	mbedtls_ctr_drbg_init(&r->drbg);
	int rc = mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy,
				       (const unsigned char *)pers, sizeof pers - 1);
	if (rc != 0) {
		pki_fail(err, "cannot seed the random generator: %s",
			 mbed_reason(rc, why, sizeof why));
		return -1;
	}
	return 0;
}

static void rng_free(struct rng *r)
{
	mbedtls_ctr_drbg_free(&r->drbg);
	mbedtls_entropy_free(&r->entropy);
}

static int gen_key(struct rng *r, mbedtls_pk_context *key, struct pki_err *err)
{
	char why[128];
	int rc = mbedtls_pk_setup(key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
	if (rc == 0)
		rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*key),
					 mbedtls_ctr_drbg_random, &r->drbg);
	if (rc != 0) {
		pki_fail(err, "cannot generate an ECDSA P-256 key: %s",
			 mbed_reason(rc, why, sizeof why));
		return -1;
	}
	return 0;
}

/* What kind of certificate to make. */
enum cert_kind {
	CERT_CA,
	CERT_SERVER,
	CERT_CLIENT,
	CERT_SIGNER /* update signing: digitalSignature, extendedKeyUsage codeSigning */
};

struct cert_spec {
	enum cert_kind kind;
	const char *subject;        /* mbedTLS string form, DER order */
	mbedtls_pk_context *key;    /* subject key */
	mbedtls_pk_context *ca_key; /* signer; == key for the self-signed CA */
	const mbedtls_x509_crt *ca; /* signer certificate; NULL for the CA itself */
	unsigned days;
};

/* mbedTLS validity string "YYYYMMDDhhmmss" (UTC). */
static void validity_string(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, 32, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void x509_time_string(const mbedtls_x509_time *t, char out[32])
{
	snprintf(out, 32, "%04d%02d%02d%02d%02d%02d", t->year, t->mon, t->day, t->hour, t->min,
		 t->sec);
}

/* Wraps the len bytes written backwards down to p (in buf) in a SEQUENCE
 * and sets that as the certificate's non-critical extension ext_oid. */
static int set_sequence_extension(mbedtls_x509write_cert *crt, const char *ext_oid,
				  size_t ext_oid_len, unsigned char *p, unsigned char *buf, int len)
{
	int rc;
	if ((rc = mbedtls_asn1_write_len(&p, buf, (size_t)len)) < 0)
		return rc;
	len += rc;
	if ((rc = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) <
	    0)
		return rc;
	len += rc;
	return mbedtls_x509write_crt_set_extension(crt, ext_oid, ext_oid_len, 0, p, (size_t)len);
}

/* extendedKeyUsage ::= SEQUENCE OF KeyPurposeId, with one purpose. */
static int set_eku(mbedtls_x509write_cert *crt, const char *oid, size_t oid_len)
{
	unsigned char buf[32];
	unsigned char *p = buf + sizeof buf;
	int rc;
	if ((rc = mbedtls_asn1_write_oid(&p, buf, oid, oid_len)) < 0)
		return rc;
	return set_sequence_extension(crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
				      MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), p, buf, rc);
}

/* One GeneralName: [tag] IMPLICIT primitive VALUE. */
static int write_general_name(unsigned char **p, unsigned char *start, int tag, const void *val,
			      size_t val_len)
{
	int len = 0, rc;
	if ((rc = mbedtls_asn1_write_raw_buffer(p, start, val, val_len)) < 0)
		return rc;
	len += rc;
	if ((rc = mbedtls_asn1_write_len(p, start, val_len)) < 0)
		return rc;
	len += rc;
	if ((rc = mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONTEXT_SPECIFIC | tag)) < 0)
		return rc;
	return len + rc;
}

/* subjectAltName for the agent's loopback endpoint: DNS:localhost,
 * IP:127.0.0.1 (mbedTLS 2.28 has no writer for it). */
static int set_server_san(mbedtls_x509write_cert *crt)
{
	static const unsigned char loopback[4] = { 127, 0, 0, 1 };
	unsigned char buf[64];
	unsigned char *p = buf + sizeof buf;
	int len = 0, rc;
	/* ASN.1 is written backwards: last name first. */
	if ((rc = write_general_name(&p, buf, 7, loopback, sizeof loopback)) < 0)
		return rc;
	len += rc;
	if ((rc = write_general_name(&p, buf, 2, "localhost", 9)) < 0)
		return rc;
	len += rc;
	return set_sequence_extension(crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
				      MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), p, buf, len);
}

/* The issuer name copied attribute by attribute from the CA's subject, so
 * that it matches byte for byte (string types included). */
static int copy_issuer(mbedtls_x509write_cert *crt, const mbedtls_x509_crt *ca)
{
	for (const mbedtls_x509_name *n = &ca->subject; n != NULL; n = n->next) {
		if (n->oid.p == NULL)
			continue;
		mbedtls_asn1_named_data *cur =
			mbedtls_asn1_store_named_data(&crt->issuer, (const char *)n->oid.p,
						      n->oid.len, n->val.p, n->val.len);
		if (cur == NULL)
			return MBEDTLS_ERR_X509_ALLOC_FAILED;
		cur->val.tag = n->val.tag;
	}
	return 0;
}

/* A positive 16-byte random serial number (RFC 5280: at most 20 octets). */
static int set_serial(mbedtls_x509write_cert *crt, struct rng *r)
{
	unsigned char raw[16];
	mbedtls_mpi serial;
	int rc = mbedtls_ctr_drbg_random(&r->drbg, raw, sizeof raw);
	if (rc != 0)
		return rc;
	raw[0] = (unsigned char)((raw[0] & 0x7f) | 0x40); /* positive, full 16 bytes */
	mbedtls_mpi_init(&serial);
	rc = mbedtls_mpi_read_binary(&serial, raw, sizeof raw);
	if (rc == 0)
		rc = mbedtls_x509write_crt_set_serial(crt, &serial);
	mbedtls_mpi_free(&serial);
	return rc;
}

/* Builds and signs one certificate as PEM into OUT (NUL-terminated). */
static int make_cert(struct rng *r, const struct cert_spec *s, unsigned char *out, size_t outlen,
		     struct pki_err *err)
{
	mbedtls_x509write_cert crt;
	char why[128], nb[32], na[32];
	const char *step = "subject";
	int rc;

	mbedtls_x509write_crt_init(&crt);
	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, s->key);
	mbedtls_x509write_crt_set_issuer_key(&crt, s->ca_key);

	time_t now = time(NULL);
	/* An hour of slack for clocks of other machines that lag a little. */
	validity_string(now - 3600, nb);
	validity_string(now + (time_t)s->days * 86400, na);
	if (s->ca != NULL) {
		char ca_end[32];
		x509_time_string(&s->ca->valid_to, ca_end);
		if (strcmp(na, ca_end) > 0) /* never outlive the CA */
			memcpy(na, ca_end, sizeof na);
	}

	if ((rc = mbedtls_x509write_crt_set_subject_name(&crt, s->subject)) != 0)
		goto fail;
	step = "issuer";
	if (s->ca == NULL)
		rc = mbedtls_x509write_crt_set_issuer_name(&crt, s->subject);
	else
		rc = copy_issuer(&crt, s->ca);
	if (rc != 0)
		goto fail;
	step = "serial number";
	if ((rc = set_serial(&crt, r)) != 0)
		goto fail;
	step = "validity";
	if ((rc = mbedtls_x509write_crt_set_validity(&crt, nb, na)) != 0)
		goto fail;
	step = "key identifiers";
	if ((rc = mbedtls_x509write_crt_set_subject_key_identifier(&crt)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_authority_key_identifier(&crt)) != 0)
		goto fail;
	step = "extensions";
	switch (s->kind) {
	case CERT_CA:
		/* pathlen 0: this CA signs end-entity certificates only. */
		if ((rc = mbedtls_x509write_crt_set_basic_constraints(&crt, 1, 0)) != 0 ||
		    (rc = mbedtls_x509write_crt_set_key_usage(&crt,
							      MBEDTLS_X509_KU_KEY_CERT_SIGN |
								      MBEDTLS_X509_KU_CRL_SIGN)) != 0)
			goto fail;
		break;
	case CERT_SERVER:
	case CERT_CLIENT:
	case CERT_SIGNER:
		if ((rc = mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1)) != 0 ||
		    (rc = mbedtls_x509write_crt_set_key_usage(&crt,
							      MBEDTLS_X509_KU_DIGITAL_SIGNATURE)) != 0)
			goto fail;
		if (s->kind == CERT_SERVER)
			rc = set_eku(&crt, MBEDTLS_OID_SERVER_AUTH,
				     MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH));
		else if (s->kind == CERT_SIGNER)
			rc = set_eku(&crt, MBEDTLS_OID_CODE_SIGNING,
				     MBEDTLS_OID_SIZE(MBEDTLS_OID_CODE_SIGNING));
		else
			rc = set_eku(&crt, MBEDTLS_OID_CLIENT_AUTH,
				     MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH));
		if (rc != 0)
			goto fail;
		if (s->kind == CERT_SERVER && (rc = set_server_san(&crt)) != 0)
			goto fail;
		break;
	}
	step = "signature";
	rc = mbedtls_x509write_crt_pem(&crt, out, outlen, mbedtls_ctr_drbg_random, &r->drbg);
	if (rc != 0)
		goto fail;
	mbedtls_x509write_crt_free(&crt);
	return 0;
fail:
	pki_fail(err, "cannot build certificate '%s' (%s): %s", s->subject, step,
		 mbed_reason(rc, why, sizeof why));
	mbedtls_x509write_crt_free(&crt);
	return -1;
}

static int key_pem(mbedtls_pk_context *key, unsigned char *out, size_t outlen, struct pki_err *err)
{
	char why[128];
	int rc = mbedtls_pk_write_key_pem(key, out, outlen);
	if (rc != 0) {
		pki_fail(err, "cannot encode a private key: %s", mbed_reason(rc, why, sizeof why));
		return -1;
	}
	return 0;
}

/* Adds a generated key pair (FILE.crt + FILE.key) to the staging set. */
static int add_pair(struct pki_stage *st, struct rng *r, struct cert_spec *spec, const char *base,
		    struct pki_err *err)
{
	unsigned char crt[4096], key[1024];
	char crt_name[PKI_NAME_BUF], key_name[PKI_NAME_BUF];
	int rc = -1;
	snprintf(crt_name, sizeof crt_name, "%s.crt", base);
	snprintf(key_name, sizeof key_name, "%s.key", base);
	if (make_cert(r, spec, crt, sizeof crt, err) == 0 &&
	    key_pem(spec->key, key, sizeof key, err) == 0 &&
	    pki_stage_add(st, crt_name, crt, strlen((char *)crt), 0644, err) == 0 &&
	    pki_stage_add(st, key_name, key, strlen((char *)key), 0600, err) == 0)
		rc = 0;
	mbedtls_platform_zeroize(key, sizeof key);
	return rc;
}

/* A leaf key pair signed by the CA, staged as BASE.crt/.key. */
static int add_leaf(struct pki_stage *st, struct rng *r, enum cert_kind kind, const char *subject,
		    mbedtls_pk_context *ca_key, const mbedtls_x509_crt *ca, unsigned days,
		    const char *base, struct pki_err *err)
{
	mbedtls_pk_context key;
	mbedtls_pk_init(&key);
	struct cert_spec spec = { kind, subject, &key, ca_key, ca, days };
	int rc = gen_key(r, &key, err) == 0 ? add_pair(st, r, &spec, base, err) : -1;
	mbedtls_pk_free(&key);
	return rc;
}

/* One leaf of a PKI tree: its kind, subject and file base name. */
struct leaf_def {
	enum cert_kind kind;
	char subject[160];
	char base[PKI_NAME_BUF];
};

/* A CA (CA_BASE.crt/.key, CA_SUBJECT) and the leaves it signs, written into
 * DIR together or not at all; FILES are the names checked for existence. */
static int init_tree(const char *dir, const struct pki_opts *opts, const char *const *files,
		     const char *ca_subject, const char *ca_base, const struct leaf_def *leaves,
		     size_t nleaves, struct pki_err *err)
{
	struct pki_opts o = opts ? *opts : (struct pki_opts){ 0 };
	unsigned ca_days = o.ca_days ? o.ca_days : 3653; /* 10 years, leap days included */
	unsigned leaf_days = o.leaf_days ? o.leaf_days : 825;
	struct pki_stage st;
	struct rng r;
	mbedtls_pk_context ca_key;
	mbedtls_x509_crt ca;
	int rc = -1;

	if (dir == NULL || dir[0] == '\0') {
		pki_fail(err, "PKI directory is empty");
		return -1;
	}
	if (pki_stage_begin(&st, dir, err) < 0)
		return -1;
	if (!o.force) {
		for (int i = 0; files[i]; i++) {
			int ex = pki_stage_exists(&st, files[i], err);
			if (ex < 0)
				return -1;
			if (ex > 0) {
				char path[PKI_PATH_BUF];
				pki_join(path, sizeof path, dir, files[i]);
				pki_fail(err,
					 "%s already exists: refusing to overwrite an existing PKI "
					 "(use --force to replace it)",
					 path);
				return -1;
			}
		}
	}

	mbedtls_pk_init(&ca_key);
	mbedtls_x509_crt_init(&ca);
	if (rng_init(&r, err) < 0)
		goto out;
	if (gen_key(&r, &ca_key, err) < 0)
		goto out;
	struct cert_spec ca_spec = { CERT_CA, ca_subject, &ca_key, &ca_key, NULL, ca_days };
	if (add_pair(&st, &r, &ca_spec, ca_base, err) < 0)
		goto out;
	/* The leaves are signed against the parsed CA so the issuer is exact. */
	const struct pki_staged *ca_crt = &st.files[0];
	int prc = mbedtls_x509_crt_parse(&ca, ca_crt->data, ca_crt->len + 1);
	if (prc != 0) {
		char why[128];
		pki_fail(err, "cannot parse the new CA certificate: %s",
			 mbed_reason(prc, why, sizeof why));
		goto out;
	}
	for (size_t i = 0; i < nleaves; i++)
		if (add_leaf(&st, &r, leaves[i].kind, leaves[i].subject, &ca_key, &ca, leaf_days,
			     leaves[i].base, err) < 0)
			goto out;
	rc = pki_stage_commit(&st, o.force, err);
out:
	pki_stage_free(&st);
	mbedtls_x509_crt_free(&ca);
	mbedtls_pk_free(&ca_key);
	rng_free(&r);
	return rc;
}

/* A client leaf per role: subject O=hv-fleet,OU=ROLE,CN=PREFIX+ROLE. */
static size_t role_leaves(struct leaf_def *out, const char *prefix)
{
	size_t n = 0;
	for (enum hv_role role = HV_ROLE_ADMIN; role >= HV_ROLE_VIEWER; role--, n++) {
		const char *name = roles_name(role);
		out[n].kind = CERT_CLIENT;
		snprintf(out[n].subject, sizeof out[n].subject, "O=%s,OU=%s,CN=%s%s", ROLES_ORG,
			 name, prefix, name);
		snprintf(out[n].base, sizeof out[n].base, "%s%s", prefix, name);
	}
	return n;
}

/* The update CA (its own key, docs/ota.md OTA-020) and a first signer. */
int pki_init_update(const char *dir, const struct pki_opts *opts, struct pki_err *err)
{
	struct leaf_def signer = { CERT_SIGNER, "", "update-signer" };

	snprintf(signer.subject, sizeof signer.subject, "O=%s,OU=%s,CN=update-signer", ROLES_ORG,
		 UPDATE_SIGNER_OU);
	return init_tree(dir, opts, pki_update_files, UPDATE_CA_SUBJECT, "update-ca", &signer, 1,
			 err);
}

int pki_init(const char *dir, const struct pki_opts *opts, struct pki_err *err)
{
	struct leaf_def leaves[4] = { { CERT_SERVER, SERVER_SUBJECT, "server" } };
	size_t n = 1 + role_leaves(leaves + 1, "");

	/* The TLS tree first; its file list names the update tree's files too, so
	 * a second tree never lands beside a first one that was refused. */
	if (init_tree(dir, opts, pki_init_files, CA_SUBJECT, "ca", leaves, n, err) < 0)
		return -1;
	return pki_init_update(dir, opts, err);
}

const char *const pki_fleet_files[] = {
	"fleet-ca.crt",
	"fleet-ca.key",
	"broker.crt",
	"broker.key",
	"vehicle.crt",
	"vehicle.key",
	"fleet-admin.crt",
	"fleet-admin.key",
	"fleet-operator.crt",
	"fleet-operator.key",
	"fleet-viewer.crt",
	"fleet-viewer.key",
	NULL,
};

int pki_fleet_init(const char *dir, const char *vehicle, const struct pki_opts *opts,
		   struct pki_err *err)
{
	struct leaf_def leaves[5] = { { CERT_SERVER, SERVER_SUBJECT, "broker" },
				      { CERT_CLIENT, "", "vehicle" } };
	char why[160];

	if (vehicle == NULL || !roles_name_valid(vehicle, why, sizeof why)) {
		pki_fail(err, "vehicle id: %s", vehicle ? why : "missing");
		return -1;
	}
	/* OU=vehicle is no role: a vehicle's certificate cannot sign requests. */
	snprintf(leaves[1].subject, sizeof leaves[1].subject, "O=%s,OU=vehicle,CN=%s", ROLES_ORG,
		 vehicle);
	size_t n = 2 + role_leaves(leaves + 2, "fleet-");
	return init_tree(dir, opts, pki_fleet_files, FLEET_CA_SUBJECT, "fleet-ca", leaves, n, err);
}

/* Loads DIR/BASE.crt and DIR/BASE.key ("ca" or "update-ca") and checks that
 * they belong together. */
static int load_ca(const char *dir, const char *base, mbedtls_x509_crt *ca, mbedtls_pk_context *key,
		   struct pki_err *err)
{
	char crt_path[PKI_PATH_BUF], key_path[PKI_PATH_BUF], why[128], crt_name[32], key_name[32];
	unsigned char *buf = NULL;
	size_t len;
	int rc;

	snprintf(crt_name, sizeof crt_name, "%s.crt", base);
	snprintf(key_name, sizeof key_name, "%s.key", base);
	if (pki_join(crt_path, sizeof crt_path, dir, crt_name) < 0 ||
	    pki_join(key_path, sizeof key_path, dir, key_name) < 0) {
		pki_fail(err, "PKI directory path '%s' is too long", dir);
		return -1;
	}
	if (pki_read_file(crt_path, &buf, &len, err) < 0) {
		if (errno == ENOENT)
			pki_fail(err, "%s: no CA certificate (run 'hvctl pki init --dir %s' first)",
				 crt_path, dir);
		return -1;
	}
	rc = mbedtls_x509_crt_parse(ca, buf, len + 1);
	free(buf);
	if (rc != 0) {
		pki_fail(err, "%s: not a PEM certificate: %s", crt_path,
			 mbed_reason(rc, why, sizeof why));
		return -1;
	}
	if (!ca->ca_istrue) {
		pki_fail(err, "%s: not a CA certificate (basicConstraints CA:false)", crt_path);
		return -1;
	}
	if (pki_read_file(key_path, &buf, &len, err) < 0)
		return -1;
	rc = mbedtls_pk_parse_key(key, buf, len + 1, NULL, 0);
	mbedtls_platform_zeroize(buf, len);
	free(buf);
	if (rc != 0) {
		pki_fail(err, "%s: not a PEM private key: %s", key_path,
			 mbed_reason(rc, why, sizeof why));
		return -1;
	}
	/* REQ-SAF-14: a swapped or damaged key is detected, not used. */
	if (mbedtls_pk_check_pair(&ca->pk, key) != 0) {
		pki_fail(err, "%s does not match %s", key_path, crt_path);
		return -1;
	}
	return 0;
}

/* Issues one leaf NAME.crt/.key of KIND with the subject
 * "O=hv-fleet,OU=OU,CN=NAME", signed by DIR/CA_BASE, into OUT_DIR (NULL: DIR);
 * refuses an invalid name and existing output files. */
static int issue_leaf(const char *dir, const char *ca_base, enum cert_kind kind, const char *ou,
		      const char *name, const char *out_dir, struct pki_err *err)
{
	char why[256], subject[160];
	struct pki_stage st;
	struct rng r;
	mbedtls_x509_crt ca;
	mbedtls_pk_context ca_key;
	int rc = -1;

	if (dir == NULL || dir[0] == '\0') {
		pki_fail(err, "PKI directory is empty");
		return -1;
	}
	if (out_dir == NULL || out_dir[0] == '\0')
		out_dir = dir;
	if (!roles_name_valid(name, why, sizeof why)) {
		pki_fail(err, "%s", why);
		return -1;
	}
	snprintf(subject, sizeof subject, "O=%s,OU=%s,CN=%s", ROLES_ORG, ou, name);
	if (pki_stage_begin(&st, out_dir, err) < 0)
		return -1;
	const char *exts[] = { ".crt", ".key" };
	for (int i = 0; i < 2; i++) {
		char file[PKI_NAME_BUF], path[PKI_PATH_BUF];
		snprintf(file, sizeof file, "%s%s", name, exts[i]);
		int ex = pki_stage_exists(&st, file, err);
		if (ex < 0)
			return -1;
		if (ex > 0) {
			pki_join(path, sizeof path, out_dir, file);
			pki_fail(err, "%s already exists: refusing to overwrite it", path);
			return -1;
		}
	}

	mbedtls_x509_crt_init(&ca);
	mbedtls_pk_init(&ca_key);
	if (rng_init(&r, err) < 0)
		goto out;
	if (load_ca(dir, ca_base, &ca, &ca_key, err) < 0)
		goto out;
	if (add_leaf(&st, &r, kind, subject, &ca_key, &ca, 825, name, err) < 0)
		goto out;
	rc = pki_stage_commit(&st, false, err);
out:
	pki_stage_free(&st);
	mbedtls_pk_free(&ca_key);
	mbedtls_x509_crt_free(&ca);
	rng_free(&r);
	return rc;
}

int pki_issue(const char *dir, const char *role, const char *name, const char *out_dir,
	      struct pki_err *err)
{
	enum hv_role r_id = roles_from_name(role);
	if (r_id == HV_ROLE_NONE) {
		pki_fail(err, "unknown role '%s' (expected admin, operator or viewer)",
			 role ? role : "");
		return -1;
	}
	return issue_leaf(dir, "ca", CERT_CLIENT, roles_name(r_id), name, out_dir, err);
}

int pki_issue_update_signer(const char *dir, const char *name, const char *out_dir,
			    struct pki_err *err)
{
	return issue_leaf(dir, "update-ca", CERT_SIGNER, UPDATE_SIGNER_OU, name, out_dir, err);
}
