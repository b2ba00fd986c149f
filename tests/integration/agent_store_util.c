/*
 * agent_store_util.c - see agent_store_util.h.
 */
#define _GNU_SOURCE
#include "agent_store_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvcore_mgmt_util.h"

int st_restage(struct hvq *q, struct st_vm *v)
{
	return mu_place(q, "shutdown-ack", v->store_pa, &v->image_size, v->sha256);
}

int st_prepare(struct hvq *q, struct st_vm *v, const char *dir, unsigned variant, char *dtb,
	       size_t dtb_len)
{
	char sha[32 * 3 + 1] = "", *dts = NULL, err[256] = "";
	size_t len = 0;

	if (st_restage(q, v) != 0)
		return -1;
	for (int i = 0; i < 32; i++)
		sprintf(sha + 3 * i, "%02x ", v->sha256[i]);
	if (asprintf(&dts,
		     "/dts-v1/;\n/ {\n"
		     "  compatible = \"avirt,vm-config-v1\";\n"
		     "  vm-name = \"%s\";\n  uuid = \"%s\";\n"
		     "  vcpus = <1>;\n  cpus = <%u>;\n"
		     "  memory = <0x0 0x40000000 0x0 0x%llx 0x0 0x01000000>;\n"
		     "  criticality = \"QM\";\n  fault-policy = \"stop\";\n"
		     "  restart-budget = <%u 60000>;\n"
		     "  boot {\n"
		     "    load-address = <0x0 0x40000000>;\n    entry = <0x0 0x40000000>;\n"
		     "    image-size = <0x0 0x%llx>;\n    image-store = <0x0 0x%llx>;\n"
		     "    image-sha256 = [%s];\n  };\n"
		     "  vuart { compatible = \"avirt,vuart-v1\"; };\n};\n",
		     v->name, v->uuid, v->cpu, (unsigned long long)v->mem_pa, 3 + variant,
		     (unsigned long long)v->image_size, (unsigned long long)v->store_pa, sha) < 0)
		return -1;
	void *blob = mu_dtc(dts, &len, err, sizeof err);
	free(dts);
	if (!blob) {
		snprintf(q->err, sizeof q->err, "%s", err);
		return -1;
	}
	if (variant)
		snprintf(dtb, dtb_len, "%s/%s-v%u.dtb", dir, v->name, variant);
	else
		snprintf(dtb, dtb_len, "%s/%s.dtb", dir, v->name);
	FILE *f = fopen(dtb, "wb");
	int ok = f && fwrite(blob, 1, len, f) == len;
	if (f)
		fclose(f);
	free(blob);
	if (!ok) {
		snprintf(q->err, sizeof q->err, "cannot write %s", dtb);
		return -1;
	}
	return 0;
}

int st_count(struct hvq *q, const char *name, int *id, uint32_t *state)
{
	int n = 0;

	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		struct hvm_vm_slot s;
		if (hvq_read_slot(q, i, &s) == 0 && s.defined && strcmp(s.name, name) == 0) {
			n++;
			if (id)
				*id = (int)i;
			if (state)
				*state = s.state;
		}
	}
	return n;
}

void *st_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	void *buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}
