/*
 * virt_bench.c - hv-virt-bench: the libvirt side of the RPC benchmark. Each
 * client thread opens its own connection to libvirtd (normally the built-in
 * test driver on a private socket, see bench/run.sh) and asks for one
 * domain's information the way `virsh dominfo` does: virDomainLookupByName
 * then virDomainGetInfo, two RPCs per call, because libvirt has no single
 * call that takes a name and returns the state. hv-agent's GetVm does both in
 * one, so "per call" compares what a client must do to learn a VM's state.
 * --op getinfo looks the domain up once and times virDomainGetInfo alone: the
 * cost of one libvirtd RPC.
 *
 *   hv-virt-bench --uri URI --domain NAME [--op dominfo|getinfo] [common options]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "bench_driver.h"

struct virt_args {
	const char *uri;
	const char *domain;
	int getinfo_only;
};

struct virt_client {
	const struct virt_args *a;
	virConnectPtr conn;
	virDomainPtr dom; /* --op getinfo only */
};

static void last_error(const char *what, char *err, size_t errlen)
{
	const virError *e = virGetLastError();

	snprintf(err, errlen, "%s: %s", what, e && e->message ? e->message : "unknown libvirt error");
}

/* libvirt prints every error to stderr by default; the benchmark reports them. */
static void quiet_errors(void *data, virErrorPtr e)
{
	(void)data;
	(void)e;
}

static void *virt_open(void *arg, unsigned index, char *err, size_t errlen)
{
	struct virt_client *c = calloc(1, sizeof *c);

	(void)index;
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->a = arg;
	c->conn = virConnectOpen(c->a->uri);
	if (!c->conn) {
		last_error(c->a->uri, err, errlen);
		free(c);
		return NULL;
	}
	c->dom = virDomainLookupByName(c->conn, c->a->domain);
	if (!c->dom) {
		last_error("virDomainLookupByName", err, errlen);
		virConnectClose(c->conn);
		free(c);
		return NULL;
	}
	if (!c->a->getinfo_only) {
		virDomainFree(c->dom);
		c->dom = NULL;
	}
	return c;
}

static int virt_call(void *client, char *err, size_t errlen)
{
	struct virt_client *c = client;
	virDomainInfo info;
	virDomainPtr dom = c->dom;

	if (!dom) {
		dom = virDomainLookupByName(c->conn, c->a->domain);
		if (!dom) {
			last_error("virDomainLookupByName", err, errlen);
			return -1;
		}
	}
	int rc = virDomainGetInfo(dom, &info);
	if (rc != 0)
		last_error("virDomainGetInfo", err, errlen);
	else if (info.state == VIR_DOMAIN_NOSTATE || info.nrVirtCpu == 0) {
		snprintf(err, errlen, "virDomainGetInfo: implausible answer (state %u, %u vCPUs)",
			 (unsigned)info.state, info.nrVirtCpu);
		rc = -1;
	}
	if (!c->dom)
		virDomainFree(dom);
	return rc == 0 ? 0 : -1;
}

static void virt_close(void *client)
{
	struct virt_client *c = client;

	if (c->dom)
		virDomainFree(c->dom);
	virConnectClose(c->conn);
	free(c);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hv-virt-bench --uri URI --domain NAME [--op dominfo|getinfo] [options]\n"
		"  --uri URI        libvirt connection, e.g. test+unix:///default?socket=PATH\n"
		"  --domain NAME    domain to ask about (the test driver has \"test\")\n"
		"  --op dominfo     per call: virDomainLookupByName + virDomainGetInfo (default)\n"
		"  --op getinfo     per call: virDomainGetInfo only (one RPC)\n"
		"%s",
		bench_common_usage);
}

int main(int argc, char **argv)
{
	struct virt_args a = { 0 };
	struct bench_opts o = { .clients = 1, .seconds = 3, .warmup_seconds = 0.5 };
	struct bench_result res;
	const struct bench_client_ops ops = { virt_open, virt_call, virt_close };

	for (int i = 1; i < argc; i++) {
		int r = bench_parse_common(argc, argv, &i, &o);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (i + 1 < argc && !strcmp(argv[i], "--uri"))
			a.uri = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--domain"))
			a.domain = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--op")) {
			const char *op = argv[++i];
			if (!strcmp(op, "getinfo"))
				a.getinfo_only = 1;
			else if (strcmp(op, "dominfo")) {
				fprintf(stderr,
					"hv-virt-bench: --op: '%s' is neither dominfo nor getinfo\n",
					op);
				return 2;
			}
		} else {
			fprintf(stderr, "hv-virt-bench: unknown option or missing value: '%s'\n",
				argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!a.uri || !a.domain) {
		fprintf(stderr, "hv-virt-bench: --uri and --domain are required\n");
		usage(stderr);
		return 2;
	}
	if (virInitialize() != 0) {
		fprintf(stderr, "hv-virt-bench: virInitialize failed\n");
		return 1;
	}
	virSetErrorFunc(NULL, quiet_errors);
	if (bench_run(&ops, &a, &o, &res) != 0) {
		fprintf(stderr, "hv-virt-bench: %s\n", res.first_error);
		return 1;
	}
	bench_print(a.getinfo_only ? "libvirt-getinfo" : "libvirt-dominfo", &res);
	return res.errors ? 1 : 0;
}
