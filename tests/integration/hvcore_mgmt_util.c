/*
 * hvcore_mgmt_util.c - see hvcore_mgmt_util.h.
 */
#define _GNU_SOURCE
#include "hvcore_mgmt_util.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "sha256.h"

char *mu_vm_dts(const struct mu_vm *v)
{
	char *s = NULL;
	char sha[32 * 3 + 1] = "", cpus[64];
	for (int i = 0; i < 32; i++)
		sprintf(sha + 3 * i, "%02x ", v->sha256[i]);
	if (v->cpu2)
		snprintf(cpus, sizeof(cpus), "vcpus = <2>;\n  cpus = <%u %u>", v->cpu, v->cpu2);
	else
		snprintf(cpus, sizeof(cpus), "vcpus = <1>;\n  cpus = <%u>", v->cpu);
	if (asprintf(&s,
		     "/dts-v1/;\n/ {\n"
		     "  compatible = \"avirt,vm-config-v1\";\n"
		     "  vm-name = \"%s\";\n"
		     "  %s;\n"
		     "  memory = <0x0 0x40000000 0x0 0x%llx 0x0 0x01000000>;\n"
		     "  criticality = \"%s\";\n"
		     "  fault-policy = \"%s\";\n"
		     "  watchdog-timeout-ms = <%u>;\n"
		     "  restart-budget = <%u %u>;\n"
		     "%s"
		     "  boot {\n"
		     "    load-address = <0x0 0x40000000>;\n"
		     "    entry = <0x0 0x40000000>;\n"
		     "    image-size = <0x0 0x%llx>;\n"
		     "    image-sha256 = [%s];\n"
		     "  };\n"
		     "  vuart { compatible = \"avirt,vuart-v1\"; };\n"
		     "%s"
		     "};\n",
		     v->name, cpus, (unsigned long long)v->mem_pa,
		     v->criticality ? v->criticality : "QM", v->policy ? v->policy : "stop",
		     v->watchdog_ms, v->restarts ? v->restarts : 3,
		     v->window_ms ? v->window_ms : 60000, v->props ? v->props : "",
		     (unsigned long long)(v->image_size ? v->image_size : 0x1000), sha,
		     v->extra ? v->extra : "") < 0)
		return NULL;
	return s;
}

void *mu_dtc(const char *dts, size_t *len, char *err, size_t errlen)
{
	char dir[] = "/tmp/mu-dtc-XXXXXX";
	if (!mkdtemp(dir)) {
		snprintf(err, errlen, "mkdtemp failed");
		return NULL;
	}
	char src[64], out[64], cmd[256];
	snprintf(src, sizeof(src), "%s/in.dts", dir);
	snprintf(out, sizeof(out), "%s/out.dtb", dir);
	FILE *f = fopen(src, "w");
	void *blob = NULL;
	if (!f)
		goto done;
	fputs(dts, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "dtc -q -I dts -O dtb -o %s %s 2>%s/err", out, src, dir);
	if (system(cmd) != 0) {
		snprintf(err, errlen, "dtc failed on:\n%s", dts);
		goto done;
	}
	f = fopen(out, "rb");
	if (!f)
		goto done;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	blob = aligned_alloc(8, ((size_t)n + 7) & ~(size_t)7);
	if (blob && fread(blob, 1, (size_t)n, f) != (size_t)n) {
		free(blob);
		blob = NULL;
	}
	fclose(f);
	*len = (size_t)n;
done:
	unlink(src);
	unlink(out);
	snprintf(cmd, sizeof(cmd), "%s/err", dir);
	unlink(cmd);
	rmdir(dir);
	return blob;
}

/* Copies CORE/guests/NAME.bin to physical address pa (inside limit bytes). */
static int place(struct hvq *q, const char *guest, uint64_t pa, uint64_t limit, uint64_t *size,
		 uint8_t sha[32])
{
	char path[512];
	snprintf(path, sizeof(path), "%s/guests/%s.bin", HV_CORE_OUT, guest);
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(q->err, sizeof(q->err), "cannot open %.400s", path);
		return -1;
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *dst = hvq_pa(q, pa, (size_t)n);
	if (!dst || (uint64_t)n > limit || fread(dst, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		snprintf(q->err, sizeof(q->err), "cannot place %.400s at 0x%llx", path,
			 (unsigned long long)pa);
		return -1;
	}
	fclose(f);
	*size = (uint64_t)n;
	sha256(dst, (size_t)n, sha);
	return 0;
}

int mu_stage(struct hvq *q, const char *guest, uint64_t off, uint64_t *size, uint8_t sha[32])
{
	uint64_t limit = q->regs->staging_size;
	return place(q, guest, q->regs->staging_base + off, off < limit ? limit - off : 0, size, sha);
}

int mu_place(struct hvq *q, const char *guest, uint64_t pa, uint64_t *size, uint8_t sha[32])
{
	return place(q, guest, pa, ~0ull, size, sha);
}

int mu_define_blob(struct hvq *q, const void *blob, size_t len, struct hvq_reply *rep)
{
	memcpy((void *)(q->mgmt + HVM_OFF_DATA), blob, len);
	uint64_t args[6] = { 0, len };
	return hvq_command(q, HVM_CMD_DEFINE, 0, args, rep);
}

int mu_define_guest(struct hvq *q, struct mu_vm *v, const char *guest, uint64_t off)
{
	if (mu_stage(q, guest, off, &v->image_size, v->sha256) != 0)
		return -1;
	char *dts = mu_vm_dts(v);
	size_t len = 0;
	char err[256] = "";
	void *blob = dts ? mu_dtc(dts, &len, err, sizeof(err)) : NULL;
	free(dts);
	if (!blob) {
		snprintf(q->err, sizeof(q->err), "%s", err);
		return -1;
	}
	struct hvq_reply rep;
	int rc = mu_define_blob(q, blob, len, &rep);
	free(blob);
	if (rc != 0)
		return -1;
	if (rep.status != HVM_OK) {
		snprintf(q->err, sizeof(q->err), "DEFINE %s: status %u: %s", v->name, rep.status,
			 rep.msg);
		return -1;
	}
	int id = (int)rep.ret[0];
	uint64_t args[6] = { off, v->image_size, 0 };
	if (hvq_command(q, HVM_CMD_LOAD_IMAGE, (uint32_t)id, args, &rep) != 0)
		return -1;
	if (rep.status != HVM_OK) {
		snprintf(q->err, sizeof(q->err), "LOAD_IMAGE %s: status %u: %s", v->name,
			 rep.status, rep.msg);
		return -1;
	}
	return id;
}

struct hvm_vm_slot mu_slot(struct hvq *q, int id)
{
	struct hvm_vm_slot s;
	memset(&s, 0, sizeof(s));
	/* A slot that cannot be read consistently is a failure of the gen protocol
	 * (MGMT-150), never an all-zero slot that looks like a state. */
	cr_assert_eq(hvq_read_slot(q, (uint32_t)id, &s), 0, "slot %d: %s", id, q->err);
	return s;
}

struct state_arg {
	int id;
	uint32_t state, reason;
	uint64_t above;
};

static int state_is(struct hvq *q, void *p)
{
	struct state_arg *a = p;
	struct hvm_vm_slot s;
	return hvq_read_slot(q, (uint32_t)a->id, &s) == 0 && s.state == a->state &&
	       (!a->reason || s.reason == a->reason);
}

int mu_wait_state(struct hvq *q, int id, uint32_t state, uint32_t reason, unsigned timeout_s)
{
	struct state_arg a = { .id = id, .state = state, .reason = reason };
	return hvq_wait(q, state_is, &a, timeout_s);
}

static int hb_above(struct hvq *q, void *p)
{
	struct state_arg *a = p;
	struct hvm_vm_slot s;
	return hvq_read_slot(q, (uint32_t)a->id, &s) == 0 && s.heartbeat > a->above;
}

int mu_wait_heartbeat(struct hvq *q, int id, uint64_t above, unsigned timeout_s)
{
	struct state_arg a = { .id = id, .above = above };
	return hvq_wait(q, hb_above, &a, timeout_s);
}

static int ticks_reach(struct hvq *q, void *p)
{
	return __atomic_load_n(&q->regs->hv_ticks, __ATOMIC_ACQUIRE) >= *(uint64_t *)p;
}

int mu_wait_ticks(struct hvq *q, uint64_t n)
{
	uint64_t target = __atomic_load_n(&q->regs->hv_ticks, __ATOMIC_ACQUIRE) + n;
	return hvq_wait(q, ticks_reach, &target, 60);
}

int mu_count_events(struct hvq *q, uint32_t type, uint32_t vm, uint64_t from)
{
	uint64_t head = __atomic_load_n(&q->regs->ev_head, __ATOMIC_ACQUIRE);
	int n = 0;
	if (head > HVM_EVENT_COUNT && from < head - HVM_EVENT_COUNT)
		from = head - HVM_EVENT_COUNT;
	for (uint64_t s = from; s < head; s++) {
		struct hvm_event e;
		if (hvq_read_event(q, s, &e) == 0 && e.type == type && e.vm_id == vm)
			n++;
	}
	return n;
}
