/*
 * main.c - "blk-test", a bare-metal guest with a small virtio-blk driver of
 * its own (docs/guest-abi.md GABI-481..484, GABI-494). Its device is at IPA
 * 0x0a000000; its data buffers may lie anywhere in its RAM (hv-core copies
 * them through its bounce area, VMCFG-852). It polls the used ring (MMU off,
 * no interrupts):
 *
 *   - it prints the limits the device offers ("size_max S seg_max N");
 *   - sector 0 holds a boot counter ("HVBOOTS" and a u64): read, counted up,
 *     written, read back; it prints "blk-test: boots=N";
 *   - a request over 16 KiB of data and a sector past the disk's end are
 *     refused with VIRTIO_BLK_S_IOERR;
 *   - 200 writes of sectors 1..64 with a pattern from one buffer, each read
 *     back into another 1 MiB away and checked, with a line every 20
 *     ("blk-test: boot N io K") and at the end ("blk-test: boot N io done
 *     200 ok").
 */
#include "guest.h"

#define VIO 0x0a000000ul
#define RAM 0x40000000ul
#define Q_DESC (RAM + 0x600000ul)
#define Q_AVAIL (RAM + 0x601000ul)
#define Q_USED (RAM + 0x602000ul)
#define HDR (RAM + 0x610000ul)
#define STATUS (RAM + 0x610100ul)
#define BUF (RAM + 0x800000ul)
#define BUF2 (RAM + 0x700000ul)
#define NUM 8u
#define T_IN 0u
#define T_OUT 1u

void guest_main(uint64_t dtb);

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static uint32_t rd(uint32_t off)
{
	return *(volatile uint32_t *)(VIO + off);
}

static void wr(uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(VIO + off) = v;
}

static void barrier(void)
{
	__asm__ volatile("dsb sy" ::: "memory");
}

static uint16_t avail_idx;

/* One request of type t at sector s with len bytes at buf; its status. */
static uint32_t request(uint32_t t, uint64_t s, uint64_t buf, uint32_t len)
{
	volatile struct desc *d = (volatile struct desc *)Q_DESC;
	volatile uint16_t *avail = (volatile uint16_t *)Q_AVAIL;
	volatile uint16_t *used = (volatile uint16_t *)Q_USED;
	volatile uint32_t *h = (volatile uint32_t *)HDR;
	volatile uint8_t *st = (volatile uint8_t *)STATUS;

	h[0] = t;
	h[1] = 0;
	h[2] = (uint32_t)s;
	h[3] = (uint32_t)(s >> 32);
	*st = 0xEE;
	d[0] = (struct desc){ HDR, 16, 1, 1 };
	d[1] = (struct desc){ buf, len, (uint16_t)(1 | (t == T_IN ? 2 : 0)), 2 };
	d[2] = (struct desc){ STATUS, 1, 2, 0 };
	avail[2 + (avail_idx % NUM)] = 0;
	barrier();
	avail[1] = ++avail_idx;
	barrier();
	wr(0x050, 0);
	while (used[1] != avail_idx) {
		g_sleep_ms(1);
		barrier();
	}
	return *st;
}

static void halt(const char *why)
{
	g_puts(why);
	for (;;)
		g_sleep_ms(1000);
}

void guest_main(uint64_t dtb)
{
	volatile struct hvg_coop_page *cp = g_start("blk-test", "blk-test 1.0.0");
	if (cp)
		cp->heartbeat = 1;
	if (rd(0x000) != 0x74726976u || rd(0x004) != 2 || rd(0x008) != 2)
		halt("blk-test: no virtio-blk device at 0x0a000000\n");
	wr(0x070, 0);
	wr(0x070, 1);
	wr(0x070, 3);
	wr(0x024, 1);
	wr(0x020, 1); /* VIRTIO_F_VERSION_1 */
	wr(0x024, 0);
	wr(0x020, 0);
	wr(0x070, 3 | 8);
	if (!(rd(0x070) & 8))
		halt("blk-test: features refused\n");
	uint64_t sectors = rd(0x100) | (uint64_t)rd(0x104) << 32;
	g_puts("blk-test: size_max ");
	g_putu(rd(0x108));
	g_puts(" seg_max ");
	g_putu(rd(0x10c));
	g_puts("\n");
	wr(0x030, 0);
	wr(0x038, NUM);
	wr(0x080, (uint32_t)Q_DESC);
	wr(0x084, 0);
	wr(0x090, (uint32_t)Q_AVAIL);
	wr(0x094, 0);
	wr(0x0a0, (uint32_t)Q_USED);
	wr(0x0a4, 0);
	((volatile uint16_t *)Q_AVAIL)[0] = 1; /* no interrupts: this driver polls */
	wr(0x044, 1);
	wr(0x070, 3 | 8 | 4);
	g_puts("blk-test: ");
	g_putu(sectors);
	g_puts(" sectors\n");

	/* the boot counter in sector 0 */
	volatile uint8_t *b = (volatile uint8_t *)BUF;
	static const char magic[8] = "HVBOOTS";
	uint64_t boots = 0;
	if (request(T_IN, 0, BUF, 512) != 0)
		halt("blk-test: reading sector 0 failed\n");
	int known = 1;
	for (int i = 0; i < 8; i++)
		known &= b[i] == (uint8_t)magic[i];
	if (known)
		boots = *(volatile uint64_t *)(BUF + 8);
	boots++;
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)magic[i];
	*(volatile uint64_t *)(BUF + 8) = boots;
	if (request(T_OUT, 0, BUF, 512) != 0)
		halt("blk-test: writing sector 0 failed\n");
	*(volatile uint64_t *)(BUF + 8) = 0;
	if (request(T_IN, 0, BUF, 512) != 0 || *(volatile uint64_t *)(BUF + 8) != boots)
		halt("blk-test: sector 0 did not read back\n");
	g_puts("blk-test: boots=");
	g_putu(boots);
	g_puts("\n");

	/* VMCFG-852, GABI-494: refused by hv-core, never seen by the backend */
	uint32_t st = request(T_IN, 0, BUF, 0x4200);
	g_puts(st == 1 ? "blk-test: over 16 KiB: refused (status 1)\n"
		       : "blk-test: over 16 KiB: NOT refused\n");
	st = request(T_IN, sectors, BUF, 512);
	g_puts(st == 1 ? "blk-test: beyond the disk: refused (status 1)\n"
		       : "blk-test: beyond the disk: NOT refused\n");

	uint32_t ok = 0;
	for (uint32_t k = 1; k <= 200; k++) {
		uint64_t s = 1 + k % 64;
		for (uint32_t i = 0; i < 512; i++)
			b[i] = (uint8_t)(k + i);
		uint32_t w = request(T_OUT, s, BUF, 512);
		volatile uint8_t *b2 = (volatile uint8_t *)BUF2;
		for (uint32_t i = 0; i < 512; i++)
			b2[i] = 0;
		uint32_t r = request(T_IN, s, BUF2, 512);
		uint32_t same = 1;
		for (uint32_t i = 0; i < 512; i++)
			same &= b2[i] == (uint8_t)(k + i);
		ok += w == 0 && r == 0 && same;
		if (k % 20 == 0) {
			g_puts("blk-test: boot ");
			g_putu(boots);
			g_puts(" io ");
			g_putu(k);
			g_puts("\n");
		}
		if (cp)
			cp->heartbeat = k + 1;
	}
	g_puts("blk-test: boot ");
	g_putu(boots);
	g_puts(" io done 200 ");
	g_puts(ok == 200 ? "ok\n" : "FAILED\n");
	for (uint64_t n = 300;; n++) {
		if (cp)
			cp->heartbeat = n;
		g_sleep_ms(10);
	}
}
