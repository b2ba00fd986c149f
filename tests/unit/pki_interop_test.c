/* Interoperability of the mbedTLS-made PKI with the TLS stacks its peers
 * use: OpenSSL through Python's ssl module (loads the PEM files, completes a
 * mutual-TLS handshake, checks the server name), and gRPC through
 * python3-grpcio, whose auth context must yield an identity that
 * roles_parse_identity() accepts with the right role. Everything runs on a
 * socketpair or 127.0.0.1 with an ephemeral port. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pki.h"
#include "pki_testutil.h"
#include "roles.h"

static char *tmp;
static char pki[1024];

static void setup(void)
{
	tmp = pkit_mkdtemp();
	pkit_path(pki, sizeof pki, tmp, "pki");
	struct pki_err err = { "" };
	cr_assert_eq(pki_init(pki, NULL, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
	pkit_rmtree(tmp);
	tmp = NULL;
}

TestSuite(pki_interop, .init = setup, .fini = teardown);

/* argv: PKI_DIR CLIENT_BASENAME SERVER_HOSTNAME [CA_FILE]. Prints "ok" and
 * the server's view of the client subject, or "refused". The socket timeout
 * only keeps a broken peer from hanging the test. */
static const char tls_script[] =
	"import ssl, socket, sys, threading\n"
	"d, client, host = sys.argv[1], sys.argv[2], sys.argv[3]\n"
	"ca = sys.argv[4] if len(sys.argv) > 4 else d + '/ca.crt'\n"
	"ctx = ssl.create_default_context(cafile=ca)\n"
	"ctx.load_cert_chain(d + '/' + client + '.crt', d + '/' + client + '.key')\n"
	"srv = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
	"srv.load_cert_chain(d + '/server.crt', d + '/server.key')\n"
	"srv.load_verify_locations(d + '/ca.crt')\n"
	"srv.verify_mode = ssl.CERT_REQUIRED\n"
	"a, b = socket.socketpair()\n"
	"a.settimeout(60); b.settimeout(60)\n"
	"res = {}\n"
	"def serve():\n"
	"    try:\n"
	"        s = srv.wrap_socket(a, server_side=True)\n"
	"        res['subject'] = s.getpeercert()['subject']\n"
	"        s.close()\n"
	"    except Exception as e:\n"
	"        res['server'] = repr(e); a.close()\n"
	"t = threading.Thread(target=serve); t.start()\n"
	"try:\n"
	"    c = ctx.wrap_socket(b, server_hostname=host); c.close()\n"
	"except Exception as e:\n"
	"    res['client'] = repr(e); b.close()\n"
	"t.join()\n"
	"if 'subject' in res and 'client' not in res:\n"
	"    print('ok ' + ','.join(k + '=' + v for rdn in res['subject'] for k, v in rdn))\n"
	"else:\n"
	"    print('refused', res)\n";

/* argv: PKI_DIR CLIENT_BASENAME. A gRPC server with mutual TLS on
 * 127.0.0.1:0 and one call through a client channel; prints the peer
 * identity and x509_subject the server saw, one per line. */
static const char grpc_script[] =
	"import sys\n"
	"from concurrent import futures\n"
	"import grpc\n"
	"d, client = sys.argv[1], sys.argv[2]\n"
	"rd = lambda f: open(d + '/' + f, 'rb').read()\n"
	"seen = {}\n"
	"def handler(req, ctx):\n"
	"    seen['id'] = b','.join(ctx.peer_identities() or []).decode()\n"
	"    seen['subject'] = ctx.auth_context()['x509_subject'][0].decode()\n"
	"    return b'ok'\n"
	"class H(grpc.GenericRpcHandler):\n"
	"    def service(self, details):\n"
	"        return grpc.unary_unary_rpc_method_handler(handler)\n"
	"srv = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[H()])\n"
	"creds = grpc.ssl_server_credentials([(rd('server.key'), rd('server.crt'))],\n"
	"                                    root_certificates=rd('ca.crt'), require_client_auth=True)\n"
	"port = srv.add_secure_port('127.0.0.1:0', creds)\n"
	"srv.start()\n"
	"try:\n"
	"    cc = grpc.ssl_channel_credentials(rd('ca.crt'), rd(client + '.key'), rd(client + '.crt'))\n"
	"    with grpc.secure_channel('localhost:%d' % port, cc) as ch:\n"
	"        ch.unary_unary('/hvmgr.v1.Hvmgr/GetVersion')(b'', timeout=60)\n"
	"finally:\n"
	"    srv.stop(None)\n"
	"print(seen['id']); print(seen['subject'])\n";

/* Runs the system python3 with SCRIPT and ARGS (NULL-terminated), returns
 * its exit status and its stdout in OUT. */
static int run_python(const char *script, const char *const *args, char *out, size_t outlen)
{
	const char *argv[12] = { HV_PYTHON3, "-c", script };
	int n = 3;
	for (; args[n - 3] && n < 11; n++)
		argv[n] = args[n - 3];
	argv[n] = NULL;
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		/* The sanitizer runtime must not follow into the interpreter. */
		unsetenv("LD_PRELOAD");
		execv(HV_PYTHON3, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	size_t got = 0;
	ssize_t r;
	while ((r = read(fds[0], out + got, outlen - 1 - got)) > 0 && got + (size_t)r < outlen - 1)
		got += (size_t)r;
	if (r > 0)
		got += (size_t)r;
	out[got] = '\0';
	close(fds[0]);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Test(pki_interop, openssl_loads_every_pair_and_completes_mutual_tls)
{
	const char *clients[] = { "admin", "operator", "viewer" };
	const char *hosts[] = { "localhost", "127.0.0.1", "localhost" };
	for (int i = 0; i < 3; i++) {
		char out[4096], want[128];
		const char *args[] = { pki, clients[i], hosts[i], NULL };
		int rc = run_python(tls_script, args, out, sizeof out);
		cr_assert_eq(rc, 0, "python3 failed (%d): %s", rc, out);
		snprintf(want, sizeof want,
			 "ok organizationName=hv-fleet,organizationalUnitName=%s,"
			 "commonName=%s\n",
			 clients[i], clients[i]);
		cr_expect_str_eq(out, want);
	}
}

Test(pki_interop, openssl_refuses_a_wrong_name_or_a_foreign_ca)
{
	char out[4096];
	const char *wrong_host[] = { pki, "admin", "example.com", NULL };
	cr_assert_eq(run_python(tls_script, wrong_host, out, sizeof out), 0, "%s", out);
	cr_expect(strncmp(out, "refused", 7) == 0 && strstr(out, "Hostname mismatch"), "%s", out);

	char other[1024], other_ca[1100];
	pkit_path(other, sizeof other, tmp, "other");
	struct pki_err err = { "" };
	cr_assert_eq(pki_init(other, NULL, &err), 0, "%s", err.msg);
	snprintf(other_ca, sizeof other_ca, "%s/ca.crt", other);
	const char *foreign[] = { pki, "viewer", "localhost", other_ca, NULL };
	cr_assert_eq(run_python(tls_script, foreign, out, sizeof out), 0, "%s", out);
	cr_expect(strncmp(out, "refused", 7) == 0 && strstr(out, "CERTIFICATE_VERIFY_FAILED"), "%s",
		  out);
}

Test(pki_interop, grpc_reports_an_identity_the_role_table_accepts)
{
	struct pki_err err = { "" };
	cr_assert_eq(pki_issue(pki, "operator", "alice", NULL, &err), 0, "%s", err.msg);
	char out[4096];
	const char *args[] = { pki, "alice", NULL };
	int rc = run_python(grpc_script, args, out, sizeof out);
	cr_assert_eq(rc, 0, "python3 grpc check failed (%d): %s", rc, out);
	cr_assert_str_eq(out, "alice\nCN=alice,OU=operator,O=hv-fleet\n");

	char *nl = strchr(out, '\n');
	*nl = '\0';
	char *subject = nl + 1;
	subject[strcspn(subject, "\n")] = '\0';
	struct roles_identity id;
	char msg[256] = "";
	cr_assert_eq(roles_parse_identity(out, subject, &id, msg, sizeof msg), 0, "%s", msg);
	cr_expect_str_eq(id.name, "alice");
	cr_expect_eq(id.role, HV_ROLE_OPERATOR);
	cr_expect(roles_check(id.role, "/hvmgr.v1.Hvmgr/Start", 0, msg, sizeof msg), "%s", msg);
	cr_expect_not(roles_check(id.role, "/hvmgr.v1.Hvmgr/Define", 0, msg, sizeof msg));
}
