/*
 * agent_image.c - END-TO-END: LoadImage (docs/api.md, MGMT-048, REQ-SAF-12)
 * with the real hv-core under QEMU, the real hv-agent and the real hvctl.
 *
 * A VM (shutdown-ack guest, beside hv-core's boot VM) is defined from a
 * configuration whose image-sha256 is the guest's; its image-store slot is
 * then cleared, so START is refused (E_HASH) until `hvctl load-image` puts
 * the image there. Then: a different image of the same size gets hv-core's
 * hash refusal and the VM still boots the image it had; bytes that do not
 * match the declared SHA-256, an empty header, a size beyond the staging
 * area (direct gRPC client, cli/client.c), a running VM and the read-only
 * (viewer) socket are refused, each with a message saying why.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_stack.h"
#include "agent_store_util.h"
#include "client.h"
#include "hvcore_mgmt_util.h"
#include "hvmgr/v1/hvmgr.pb-c.h"

#define WAIT_S 30

static struct hvq q;
static struct agent_proc agent;
static char uri[320], dtb[300], image[320], bad_image[320];
static char *out, *err;
static struct st_vm vm = { .name = "img0",
			   .uuid = "0c7a55e1-0000-4000-8000-0000000000b1",
			   .cpu = 2,
			   .mem_pa = 0x50000000,
			   .store_pa = 0x44000000 };

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void setup(void)
{
	char src[400];
	size_t len;

	out = err = NULL;
	memset(&agent, 0, sizeof agent);
	agent_stack_start_core(&q, NULL);
	cr_assert_eq(st_prepare(&q, &vm, q.dir, 0, dtb, sizeof dtb), 0, "%s", q.err);
	/* The guest file, and a copy with one bit flipped (same size). */
	snprintf(src, sizeof src, "%s/guests/shutdown-ack.bin", agent_stack_core_dir());
	uint8_t *bytes = st_read_file(src, &len);
	cr_assert_not_null(bytes, "no %s", src);
	cr_assert_eq(len, vm.image_size);
	snprintf(image, sizeof image, "%s/shutdown-ack.bin", q.dir);
	write_file(image, bytes, len);
	bytes[100] ^= 0x40;
	snprintf(bad_image, sizeof bad_image, "%s/shutdown-ack-bad.bin", q.dir);
	write_file(bad_image, bytes, len);
	free(bytes);
	/* The slot holds nothing until load-image fills it. */
	memset(hvq_pa(&q, vm.store_pa, vm.image_size), 0, vm.image_size);
	cr_assert_eq(agent_start(&agent, q.dir, NULL), 0, "%s", agent.err);
	snprintf(uri, sizeof uri, "unix://%s", agent.sock);
}

static void teardown(void)
{
	agent_stack_stop(&q, &agent);
	free(out);
	free(err);
}

#define HVCTL(...) hvctl_run((const char *const[]){ "--connect", uri, __VA_ARGS__, NULL })

static int hvctl_run(const char *const *args)
{
	free(out);
	free(err);
	return run_hvctl(args, &out, &err);
}

static int vm_id(void)
{
	int id = -1;
	cr_assert_eq(st_count(&q, vm.name, &id, NULL), 1);
	return id;
}

TestSuite(agent_image, .init = setup, .fini = teardown, .timeout = 300);

Test(agent_image, load_image_then_start_runs_the_guest_and_a_wrong_image_changes_nothing)
{
	cr_assert_eq(HVCTL("define", dtb), 0, "%s", err);
	/* Without its image the VM cannot boot (MGMT-048: digest checked at START). */
	cr_assert_eq(HVCTL("start", vm.name), 1, "%s", out);
	cr_assert_not_null(strstr(err, "E_HASH"), "%s", err);

	cr_assert_eq(HVCTL("load-image", vm.name, image), 0, "%s", err);
	char want[128];
	snprintf(want, sizeof want, "Image boot (%llu bytes) loaded into domain 'img0'\n",
		 (unsigned long long)vm.image_size);
	cr_assert_not_null(strstr(out, want), "%s", out);
	cr_assert_eq(strstr(err, "load-image:"), NULL, "progress printed without a terminal: %s",
		     err);
	cr_assert_eq(HVCTL("start", vm.name), 0, "%s", err);
	int id = vm_id();
	cr_assert_eq(mu_wait_heartbeat(&q, id, 2, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(hvq_wait_console(&q, id, "shutdown-ack: hello from EL1", WAIT_S), 0, "%s",
		     q.err);

	/* A running VM is refused (MGMT-045), before anything is sent to hv-core. */
	cr_assert_eq(HVCTL("load-image", vm.name, image), 1);
	cr_assert_not_null(strstr(err, "[FAILED_PRECONDITION]"), "%s", err);
	cr_assert_not_null(strstr(err, "shut-off"), "%s", err);

	/* A different image of the same size: hv-core's E_HASH, the slot keeps the good one. */
	cr_assert_eq(HVCTL("destroy", vm.name), 0, "%s", err);
	cr_assert_eq(HVCTL("load-image", vm.name, bad_image), 1, "%s", out);
	cr_assert_not_null(strstr(err, "hv-core refused LOAD_IMAGE (E_HASH)"), "%s", err);
	cr_assert_not_null(strstr(err, "[DATA_LOSS]"), "%s", err);
	cr_assert_eq(HVCTL("start", vm.name), 0, "the previous image is gone: %s", err);
	cr_assert_eq(mu_wait_heartbeat(&q, id, 2, WAIT_S), 0, "%s", q.err);

	/* Every outcome is audited. */
	cr_assert_eq(HVCTL("audit", "--json"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "LoadImage"), "%s", out);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* MGMT-713: Reset answers when the VM runs again, or with the failure of its
 * boot: a slot that no longer holds the image hv-core checked ends the boot
 * with E_HASH (DATA_LOSS), the VM shut off, and `hvctl reset` says so. */
Test(agent_image, reset_of_a_changed_slot_reports_the_failed_boot)
{
	cr_assert_eq(HVCTL("define", dtb), 0, "%s", err);
	cr_assert_eq(HVCTL("load-image", vm.name, image), 0, "%s", err);
	cr_assert_eq(HVCTL("start", vm.name), 0, "%s", err);
	int id = vm_id();
	cr_assert_eq(mu_wait_heartbeat(&q, id, 1, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(HVCTL("reset", vm.name), 0, "%s", err);
	cr_assert_eq(mu_slot(&q, id).state, HVM_VM_RUNNING, "reset answered before the VM ran");

	((uint8_t *)hvq_pa(&q, vm.store_pa, vm.image_size))[100] ^= 0x40;
	cr_assert_eq(HVCTL("reset", vm.name), 1, "%s", out);
	cr_assert_not_null(strstr(err, "E_HASH"), "%s", err);
	cr_assert_not_null(strstr(err, "[DATA_LOSS]"), "%s", err);
	struct hvm_vm_slot s = mu_slot(&q, id);
	cr_assert_eq(s.state, HVM_VM_SHUTOFF);
	cr_assert_eq(s.reason, HVM_R_FAILED);
}

Test(agent_image, the_read_only_socket_may_not_load_an_image)
{
	cr_assert_eq(HVCTL("define", dtb), 0, "%s", err);
	cr_assert_eq(hvctl_run((const char *const[]){ "--connect", uri, "--readonly", "load-image",
						      vm.name, image, NULL }),
		     5, "%s", out);
	cr_assert_not_null(strstr(err, "[PERMISSION_DENIED]"), "%s", err);
	cr_assert_not_null(strstr(err, "LoadImage"), "%s", err);
	cr_assert_eq(HVCTL("start", vm.name), 1, "the image was loaded anyway");
}

/* ---- a client that says one thing and sends another (cli/client.c directly) ---- */

struct chunks {
	const uint8_t *data;
	size_t len, pos;
	Hvmgr__V1__LoadImageRequest msg;
};

static int next(void *arg, const ProtobufCMessage **msg, struct hv_status *st)
{
	struct chunks *c = arg;
	Hvmgr__V1__LoadImageRequest init = HVMGR__V1__LOAD_IMAGE_REQUEST__INIT;
	(void)st;
	if (c->pos == c->len)
		return 0;
	size_t n = c->len - c->pos < 4096 ? c->len - c->pos : 4096;
	c->msg = init;
	c->msg.part_case = HVMGR__V1__LOAD_IMAGE_REQUEST__PART_DATA;
	c->msg.data.data = (uint8_t *)c->data + c->pos;
	c->msg.data.len = n;
	c->pos += n;
	*msg = &c->msg.base;
	return 1;
}

static int upload(uint64_t total, const uint8_t sha[32], size_t sha_len, const void *data,
		  size_t len, struct hv_status *st)
{
	struct hvc_opts o = { .uri = uri };
	struct hvc *c = hvc_connect(&o, st);
	cr_assert_not_null(c, "%s", st->msg);
	Hvmgr__V1__VmSelector sel = HVMGR__V1__VM_SELECTOR__INIT;
	Hvmgr__V1__LoadImageHeader hdr = HVMGR__V1__LOAD_IMAGE_HEADER__INIT;
	Hvmgr__V1__LoadImageRequest first = HVMGR__V1__LOAD_IMAGE_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	struct chunks ch = { .data = data, .len = len };
	sel.by_case = HVMGR__V1__VM_SELECTOR__BY_NAME;
	sel.name = (char *)vm.name;
	hdr.vm = &sel;
	hdr.total_size = total;
	hdr.sha256.data = (uint8_t *)sha;
	hdr.sha256.len = sha_len;
	first.part_case = HVMGR__V1__LOAD_IMAGE_REQUEST__PART_HEADER;
	first.header = &hdr;
	int rc = hvc_upload(c, "/hvmgr.v1.Hvmgr/LoadImage", &first.base, next, &ch,
			    &hvmgr__v1__load_image_response__descriptor, &resp, st);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	hvc_close(c);
	return rc;
}

Test(agent_image, bad_uploads_are_refused_by_hv_agent)
{
	size_t len;
	uint8_t *bytes = st_read_file(image, &len);
	struct hv_status st;

	cr_assert_not_null(bytes);
	cr_assert_eq(HVCTL("define", dtb), 0, "%s", err);
	hvc_global_init();

	/* The declared digest is not the one of the bytes: refused, hv-core never asked. */
	uint8_t wrong[32];
	memcpy(wrong, vm.sha256, 32);
	wrong[0] ^= 1;
	cr_assert_eq(upload(len, wrong, 32, bytes, len, &st), -1);
	cr_assert_eq(st.code, HV_INVALID_ARGUMENT, "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, "not the declared"), "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, "not passed to hv-core"), "%s", st.msg);

	/* Fewer bytes than declared, more than declared. */
	cr_assert_eq(upload(len, vm.sha256, 32, bytes, len - 10, &st), -1);
	cr_assert_eq(st.code, HV_INVALID_ARGUMENT, "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, "ended after"), "%s", st.msg);
	cr_assert_eq(upload(len - 10, vm.sha256, 32, bytes, len, &st), -1);
	cr_assert_not_null(strstr(st.msg, "more bytes than the declared"), "%s", st.msg);

	/* A size beyond the staging area, a malformed digest, a bad index. */
	cr_assert_eq(upload(1ull << 40, vm.sha256, 32, bytes, 0, &st), -1);
	cr_assert_eq(st.code, HV_RESOURCE_EXHAUSTED, "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, "-byte image staging area"), "%s", st.msg);
	cr_assert_eq(upload(len, vm.sha256, 20, bytes, len, &st), -1);
	cr_assert_not_null(strstr(st.msg, "sha256 is 20 bytes"), "%s", st.msg);

	/* MGMT-701: larger than the VM's image slot (as hv-core publishes it):
	 * refused at the header, before a byte reaches the staging area, even
	 * though the staging area would hold it. The bytes that would have been
	 * staged at the top of the area are marked first and read back after. */
	struct hvm_vm_slot slot;
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)vm_id(), &slot), 0, "%s", q.err);
	cr_assert_gt(slot.image_slot_bytes, len, "the slot holds the image");
	uint64_t big = slot.image_slot_bytes + 1, sbase = q.regs->staging_base,
		 ssize = q.regs->staging_size;
	cr_assert_lt(big, ssize, "the staging area would hold it");
	uint64_t soff = (ssize - big) & ~(0x200000ull - 1);
	uint8_t *staged = hvq_pa(&q, sbase + soff, big);
	cr_assert_not_null(staged);
	memset(staged, 0x5A, big);
	uint8_t *huge = malloc(big);
	cr_assert_not_null(huge);
	memset(huge, 0xA5, big);
	cr_assert_eq(upload(big, vm.sha256, 32, huge, big, &st), -1);
	free(huge);
	cr_assert_eq(st.code, HV_RESOURCE_EXHAUSTED, "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, "-byte image slot (MGMT-701)"), "%s", st.msg);
	for (uint64_t i = 0; i < big; i++)
		cr_assert_eq(staged[i], 0x5A, "staging byte 0x%llx was written",
			     (unsigned long long)(soff + i));

	/* None of it reached the VM's slot: START still finds no valid image. */
	cr_assert_eq(HVCTL("start", vm.name), 1, "%s", out);
	cr_assert_not_null(strstr(err, "E_HASH"), "%s", err);

	/* The agent is still well: a correct upload works. */
	cr_assert_eq(upload(len, vm.sha256, 32, bytes, len, &st), 0, "%s", st.msg);
	cr_assert_eq(HVCTL("start", vm.name), 0, "%s", err);
	hvc_global_shutdown();
	free(bytes);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}
