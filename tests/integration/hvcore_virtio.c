/*
 * hvcore_virtio.c - the VIRTIO devices of the Linux guest's configuration
 * (hv-core/guests/vms/linux.dtsi: virtio-rng and virtio-console) as the real
 * hv-core serves them under QEMU (docs/guest-abi.md GABI-480..492, REQ-AVP-01,
 * REQ-STD-08). Debian's own modules bind them: virtio_mmio finds both
 * virtio,mmio nodes in the guest device tree, negotiates VERSION_1 over the
 * version 2 transport and sets up the split virtqueues; virtio-rng becomes
 * the kernel's hardware RNG and reads random bytes through its queue; a line
 * written to /dev/hvc0 reaches the VM's console ring only through
 * virtio-console's transmit queue. rtos-demo runs beside it all along. Waits
 * are bounded; nothing asserts a duration.
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
	o.guests[1] = "linux";
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

TestSuite(hvcore_virtio, .init = boot, .fini = teardown, .timeout = 1200);

Test(hvcore_virtio, debian_drivers_bind_rng_and_console)
{
	int lx = hvq_find_vm(&q, "linux");
	int rtos = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(lx, 0, "no VM named linux");
	cr_assert_geq(rtos, 0, "no VM named rtos-demo");

	wait_console(lx, "hv-linux-guest: init reached");
	/* virtio_mmio probed both windows (device ids 4 and 3 from the
	 * DeviceID register) and the device drivers bound: FEATURES_OK and
	 * DRIVER_OK were accepted, the queues were made ready */
	wait_console(lx, "device 0x0004 driver virtio_rng");
	wait_console(lx, "device 0x0003 driver virtio_console");
	wait_console(lx, "hv-linux-guest: virtio devices 2");
	/* 32 bytes came back through the rng's queue, its interrupt completed
	 * the read */
	wait_console(lx, "hv-linux-guest: hwrng virtio_rng.0 gave 64 hex digits");
	/* this line was written to /dev/hvc0 only */
	wait_console(lx, "hv-linux-guest: hello through virtio-console hvc0");
	/* the Linux guest went on to its cooperation loop */
	wait_console(lx, "hv-linux-guest: cooperation page at");

	struct hvm_vm_slot s;
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)lx, &s), 0, "%s", q.err);
	cr_expect_eq(s.state, HVM_VM_RUNNING);
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)rtos, &s), 0, "%s", q.err);
	cr_expect_eq(s.state, HVM_VM_RUNNING);
}
