/*
 * hvcore_virtio_net.c - virtio-net between two VMs, switched by the real
 * hv-core under QEMU with no backend process (docs/guest-abi.md GABI-493,
 * REQ-AVP-01, REQ-SAF-07): linux-net (Debian's kernel, its own virtio_mmio
 * and virtio_net modules) and the bare-metal net-peer (a small virtio-net
 * driver of hv-core/guests/net-peer) each have a virtio-net device on their
 * ends of channel 0 (hv-core/guests/vms/linux-net.dtsi, net-peer.dtsi).
 * Linux resolves 10.0.0.2 by ARP and pings it three times; net-peer answers
 * every request; all three replies come back. Waits are bounded; nothing
 * asserts a duration.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "hvqemu.h"

#define WAIT_S 300

static struct hvq q;

static void boot(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = "rtos-demo";
	o.guests[1] = "net-peer";
	o.guests[2] = "linux-net";
	o.ready_timeout_s = 300;
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
}

static void teardown(void)
{
	hvq_stop(&q);
}

static void wait_console(int id, const char *text)
{
	if (hvq_wait_console(&q, id, text, WAIT_S) != 0)
		cr_assert_fail("%s", q.err);
}

TestSuite(hvcore_virtio_net, .init = boot, .fini = teardown, .timeout = 1200);

Test(hvcore_virtio_net, linux_pings_a_bare_metal_vm_over_inter_vm_virtio_net)
{
	int lx = hvq_find_vm(&q, "linux-net");
	int peer = hvq_find_vm(&q, "net-peer");
	cr_assert_geq(lx, 0, "no VM named linux-net");
	cr_assert_geq(peer, 0, "no VM named net-peer");

	wait_console(peer, "net-peer: virtio-net up");
	/* Debian's virtio_net bound device id 1 over virtio_mmio */
	wait_console(lx, "device 0x0001 driver virtio_net");
	/* ARP first, then three echo requests, each answered */
	wait_console(peer, "net-peer: ARP reply");
	wait_console(peer, "net-peer: echo reply");
	wait_console(lx, "hv-linux-guest: ping 10.0.0.2: 3 packets transmitted, 3 packets received");

	struct hvm_vm_slot s;
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)lx, &s), 0, "%s", q.err);
	cr_expect_eq(s.state, HVM_VM_RUNNING);
	cr_expect_eq(s.fault_count, 0);
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)peer, &s), 0, "%s", q.err);
	cr_expect_eq(s.state, HVM_VM_RUNNING);
	cr_expect_eq(s.fault_count, 0);
}
