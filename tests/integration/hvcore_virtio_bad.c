/*
 * hvcore_virtio_bad.c - bad input from a guest to a VIRTIO device of the real
 * hv-core under QEMU (docs/guest-abi.md GABI-482..486, REQ-SAF-09): the
 * bare-metal guest hv-core/guests/virtio-bad drives a virtio-rng device the
 * way no driver should (a legacy driver, notifications for queues never set
 * up, rings outside its RAM or too large, chains that loop, buffers outside
 * its RAM or on the GIC, heads and indices outside the table, an indirect
 * descriptor, readable after writable, a reset while a request is
 * available). hv-core refuses each one with DEVICE_NEEDS_RESET and never
 * touches memory outside that VM's RAM; the guest takes no fault and, after a
 * reset, gets random bytes from a well-formed request with its interrupt.
 * rtos-demo runs beside it all along. Waits are bounded; nothing asserts a
 * duration.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "hvqemu.h"
#include "hvguest.h"
#include "hvcore_mgmt_util.h"

#define WAIT_S 60
#define STAGE_A 0x04000000ull
#define STAGE_B 0x04800000ull

static struct hvq q;
static int rtos;

static void boot(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = "rtos-demo";
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
	rtos = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(rtos, 0);
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, 0, WAIT_S), 0, "rtos-demo never beat: %s", q.err);
}

static void teardown(void)
{
	hvq_stop(&q);
}

static void console_shows(int id, const char *text)
{
	if (hvq_wait_console(&q, id, text, WAIT_S) != 0) {
		char buf[HVM_CONSOLE_SIZE + 1];
		hvq_read_console(&q, (uint32_t)id, buf, sizeof(buf));
		cr_assert_fail("console never showed '%s' (%s); it holds:\n%s", text, q.err, buf);
	}
}

/* MGMT-850: GET_VIRTIO's record for VM id, checked for its header. */
static struct hvm_virtio get_virtio(int id)
{
	struct hvq_reply rep;
	uint64_t args[6] = { 0 };
	struct hvm_virtio vr;

	cr_assert_eq(hvq_command(&q, HVM_CMD_GET_VIRTIO, (uint32_t)id, args, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_OK, "GET_VIRTIO: %s", rep.msg);
	cr_assert_eq(rep.ret[0], sizeof(vr));
	memcpy(&vr, (const void *)(q.mgmt + HVM_OFF_DATA), sizeof(vr));
	cr_assert_eq(vr.magic, HVM_VIRTIO_MAGIC);
	cr_assert_eq(vr.version, HVM_VIRTIO_VERSION);
	cr_assert_eq(vr.size, sizeof(vr));
	cr_assert_eq(vr.vm_id, (uint32_t)id);
	cr_assert_eq(rep.ret[1], vr.count);
	return vr;
}

TestSuite(hvcore_virtio_bad, .init = boot, .fini = teardown, .timeout = 900);

Test(hvcore_virtio_bad, every_bad_input_is_refused_and_contained)
{
	struct mu_vm v = { .name = "vbad",
			   .cpu = 2,
			   .mem_pa = 0x50000000,
			   .policy = "stop",
			   .extra = "  rng { compatible = \"virtio,mmio\"; device = \"rng\";"
				    " window = <0x0 0x0a000000>; spi = <16>; };\n" };
	int id = mu_define_guest(&q, &v, "virtio-bad", STAGE_A);
	cr_assert_geq(id, 0, "%s", q.err);
	struct hvq_reply rep;
	uint64_t args[6] = { 0 };
	cr_assert_eq(hvq_command(&q, HVM_CMD_START, (uint32_t)id, args, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_OK, "START: %s", rep.msg);

	/* GABI-481: the transport's identity; 1953655158 = 0x74726976 "virt" */
	console_shows(id, "virtio-bad: magic 1953655158 version 2 device 4");
	console_shows(id, "virtio-bad: legacy driver: refused");
	console_shows(id, "virtio-bad: notify unset queues: ignored (status 0)");
	console_shows(id, "virtio-bad: bad rings: refused");
	static const char *const cases[] = {
		"looping chain",          "buffer outside RAM",     "buffer across the end of RAM",
		"buffer on the GIC",      "head outside the table", "available index too far ahead",
		"next outside the table", "indirect descriptor",    "readable after writable",
	};
	char want[96];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* status 79 = NEEDS_RESET | FEATURES_OK | DRIVER_OK | DRIVER | ACKNOWLEDGE */
		snprintf(want, sizeof(want), "virtio-bad: %s: refused (status 79)", cases[i]);
		console_shows(id, want);
	}
	/* GABI-485: reset mid-transfer, then one well-formed request: used
	 * entry 1 with 32 bytes, random, the used-buffer interrupt bit set */
	console_shows(id, "virtio-bad: after reset: used 1 len 32 nonzero bytes");
	console_shows(id, "interrupt 1 status 15");
	console_shows(id, "virtio-bad: done");
	char buf[HVM_CONSOLE_SIZE + 1];
	hvq_read_console(&q, (uint32_t)id, buf, sizeof(buf));
	cr_expect_null(strstr(buf, "NOT refused"), "a bad input was served:\n%s", buf);

	/* MGMT-850: the device and its counters, as hv-core counted them */
	struct hvm_virtio vr = get_virtio(id);
	cr_assert_eq(vr.count, 1);
	cr_expect_eq(vr.dev[0].type, 4);
	cr_expect_eq(vr.dev[0].ipa, 0x0a000000);
	cr_expect_eq(vr.dev[0].spi, 16);
	cr_expect_eq(vr.dev[0].status, 15);
	/* nine refused chains, four refused rings, two unset notifications */
	cr_expect_geq(vr.dev[0].errors, 15, "errors %llu", (unsigned long long)vr.dev[0].errors);
	cr_expect_eq(vr.dev[0].requests, 1);
	cr_expect_eq(vr.dev[0].bytes, 32);
	cr_expect_geq(vr.dev[0].irqs, 1);
	cr_expect_eq(vr.dev[0].rate, 0, "only a net device has a frame-rate");
	/* MGMT-045: GET_VIRTIO of a slot with no VM */
	struct hvq_reply rep2;
	uint64_t none[6] = { 0 };
	cr_assert_eq(hvq_command(&q, HVM_CMD_GET_VIRTIO, HVM_MAX_VMS - 1, none, &rep2), 0, "%s",
		     q.err);
	cr_expect_eq(rep2.status, HVM_E_BAD_VM);

	/* no guest fault: the VM runs on, its heartbeat moves */
	struct hvm_vm_slot s = mu_slot(&q, id);
	cr_expect_eq(s.state, HVM_VM_RUNNING);
	cr_expect_eq(s.fault_count, 0);
	cr_assert_eq(mu_wait_heartbeat(&q, id, s.heartbeat, WAIT_S), 0, "%s", q.err);
	/* the other VM is untouched */
	s = mu_slot(&q, rtos);
	cr_expect_eq(s.state, HVM_VM_RUNNING);
	cr_expect_eq(s.fault_count, 0);
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, s.heartbeat, WAIT_S), 0,
		     "rtos-demo heartbeat stalled: %s", q.err);
}

/* GABI-493, VMCFG-485, REQ-SAF-07: npeer (the answering net-peer) and nprobe
 * (net-probe, which asks for 10.0.0.2 ten times) share channel 0; nprobe's
 * end has the rights given. Returns nothing; the consoles say the rest. */
static void define_pair(const char *probe_rights, const char *probe_net, int *peer, int *probe)
{
	static char peer_extra[512], probe_extra[512];
#define PAIR_FMT                                                                                   \
	"  net { compatible = \"avirt,channel-v1\"; channel-id = <0>; peer = \"%s\";"              \
	" shm = <0x0 0x0c000000 0x0 0x5e000000 0x0 0x1000>; rights = %s; };\n"                     \
	"  eth { compatible = \"virtio,mmio\"; device = \"net\";"                                  \
	" window = <0x0 0x0a000000>; spi = <16>; channel = <0>; %s};\n"
	snprintf(peer_extra, sizeof(peer_extra), PAIR_FMT, "nprobe", "\"read\", \"write\"", "");
	snprintf(probe_extra, sizeof(probe_extra), PAIR_FMT, "npeer", probe_rights, probe_net);
	struct mu_vm a = { .name = "npeer", .cpu = 2, .mem_pa = 0x50000000, .extra = peer_extra };
	struct mu_vm b = { .name = "nprobe", .cpu = 3, .mem_pa = 0x52000000, .extra = probe_extra };
	*peer = mu_define_guest(&q, &a, "net-peer", STAGE_A);
	cr_assert_geq(*peer, 0, "%s", q.err);
	*probe = mu_define_guest(&q, &b, "net-probe", STAGE_B);
	cr_assert_geq(*probe, 0, "%s", q.err);
	struct hvq_reply rep;
	uint64_t args[6] = { 0 };
	cr_assert_eq(hvq_command(&q, HVM_CMD_START, (uint32_t)*peer, args, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_OK, "START npeer: %s", rep.msg);
	console_shows(*peer, "net-peer: virtio-net up");
	cr_assert_eq(hvq_command(&q, HVM_CMD_START, (uint32_t)*probe, args, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_OK, "START nprobe: %s", rep.msg);
}

Test(hvcore_virtio_bad, net_frames_flow_where_the_channel_grants_write)
{
	int peer, probe;
	define_pair("\"read\", \"write\"", "", &peer, &probe);
	console_shows(probe, "net-probe: sent 10 used 10 answers 10");
	console_shows(peer, "net-peer: ARP reply 10");
	/* MGMT-850: ten frames each way, none dropped, the default frame-rate */
	struct hvm_virtio pr = get_virtio(probe), pe = get_virtio(peer);
	cr_assert_eq(pr.count, 1);
	cr_expect_eq(pr.dev[0].type, 1);
	cr_expect_eq(pr.dev[0].channel, 0);
	cr_expect_eq(pr.dev[0].rate, 10000);
	cr_expect_geq(pr.dev[0].requests, 20, "ten sent and ten received");
	cr_expect_eq(pr.dev[0].limited, 0);
	cr_expect_eq(pe.dev[0].limited, 0);
	cr_expect_eq(pe.dev[0].dropped, 0);
}

/* VMCFG-850: nprobe may send one frame a second. It sends ten, a tenth of a
 * second apart as its own timer counts; hv-core delivers the first and drops
 * those that come before their turn, and counts them. Every frame is either
 * delivered, dropped for the rate or dropped otherwise; no count of delivered
 * frames is asserted, only that the limit took some. */
Test(hvcore_virtio_bad, net_frames_over_the_frame_rate_are_dropped_and_counted)
{
	int peer, probe;
	define_pair("\"read\", \"write\"", "frame-rate = <1>; ", &peer, &probe);
	console_shows(probe, "net-probe: sent 10 used 10");
	struct hvm_virtio pr = get_virtio(probe), pe = get_virtio(peer);
	cr_expect_eq(pr.dev[0].rate, 1);
	cr_expect_geq(pr.dev[0].limited, 1, "no frame was held to the rate");
	cr_expect_leq(pr.dev[0].limited, 9, "the first frame is within the burst");
	/* what npeer received is what the limit let through */
	uint64_t sent = 10 - pr.dev[0].limited - pr.dev[0].dropped;
	cr_expect_eq(pe.dev[0].requests, 2 * sent, "npeer received %llu and answered each",
		     (unsigned long long)sent);
	char want[64];
	snprintf(want, sizeof want, "net-peer: ARP reply %llu\n", (unsigned long long)sent);
	console_shows(peer, want);
	snprintf(want, sizeof want, "net-peer: ARP reply %llu\n", (unsigned long long)sent + 1);
	char buf[HVM_CONSOLE_SIZE + 1];
	hvq_read_console(&q, (uint32_t)peer, buf, sizeof(buf));
	cr_expect_null(strstr(buf, want), "npeer got more than the limit let through:\n%s", buf);
	/* the peer's own frames are not limited */
	cr_expect_eq(pe.dev[0].limited, 0);
	struct hvm_vm_slot s = mu_slot(&q, probe);
	cr_expect_eq(s.state, HVM_VM_RUNNING);
	cr_expect_eq(s.fault_count, 0);
}

Test(hvcore_virtio_bad, net_frames_stop_where_the_channel_does_not_grant_write)
{
	int peer, probe;
	define_pair("\"read\"", "", &peer, &probe);
	/* the probe's device took all ten frames; hv-core forwarded none */
	console_shows(probe, "net-probe: sent 10 used 10 answers 0");
	char buf[HVM_CONSOLE_SIZE + 1];
	hvq_read_console(&q, (uint32_t)peer, buf, sizeof(buf));
	cr_expect_null(strstr(buf, "ARP reply"), "a frame reached npeer:\n%s", buf);
	struct hvm_vm_slot s = mu_slot(&q, probe);
	cr_expect_eq(s.state, HVM_VM_RUNNING);
	cr_expect_eq(s.fault_count, 0);
}
