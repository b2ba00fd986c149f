/*
 * main.c - "virtio-bad", a guest that feeds hv-core's virtio-rng device
 * (docs/guest-abi.md GABI-481..486, GABI-491) every kind of bad input a
 * driver can give, one case at a time, then shows the device still serves a
 * well-formed request after a reset. Each case prints one line saying what
 * the device did; hv-core must refuse or contain each one without a fault of
 * this VM or any effect on another (REQ-SAF-09). Its device is a virtio-rng
 * at IPA 0x0a000000, SPI 16; its RAM is 16 MiB at 0x40000000 (MMU off).
 */
#include "guest.h"

#define VIO 0x0a000000ul
#define RAM 0x40000000ul
#define RAM_SIZE 0x01000000ul
#define DESC (RAM + 0x800000ul)
#define AVAIL (RAM + 0x801000ul)
#define USED (RAM + 0x802000ul)
#define BUF (RAM + 0x803000ul)
#define NUM 8u

#define S_ACK 1u
#define S_DRIVER 2u
#define S_DRIVER_OK 4u
#define S_FEATURES_OK 8u
#define S_NEEDS_RESET 0x40u

void guest_main(uint64_t dtb);

static uint32_t rd(uint32_t off)
{
	return *(volatile uint32_t *)(VIO + off);
}

static void wr(uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(VIO + off) = v;
}

static void put(const char *a, uint64_t v, const char *b)
{
	g_puts(a);
	g_putu(v);
	g_puts(b);
}

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static volatile struct desc *const desc = (volatile struct desc *)DESC;
static volatile uint16_t *const avail = (volatile uint16_t *)AVAIL; /* flags idx ring[] */
static volatile uint32_t *const used = (volatile uint32_t *)USED;   /* flags|idx, {id len}[] */

static uint16_t used_idx(void)
{
	return (uint16_t)(used[0] >> 16);
}

static void clear_rings(void)
{
	for (volatile uint8_t *p = (volatile uint8_t *)DESC; p < (volatile uint8_t *)(BUF + 0x100);
	     p++)
		*p = 0;
}

/* Reset, negotiate VERSION_1, set up queue 0 with num entries at the given
 * rings, make it ready and the driver live. Returns QueueReady. */
static uint32_t setup(uint64_t d, uint64_t a, uint64_t u, uint32_t num)
{
	wr(0x070, 0);
	wr(0x070, S_ACK);
	wr(0x070, S_ACK | S_DRIVER);
	wr(0x024, 1);
	wr(0x020, 1); /* bit 32: VIRTIO_F_VERSION_1 */
	wr(0x024, 0);
	wr(0x020, 0);
	wr(0x070, S_ACK | S_DRIVER | S_FEATURES_OK);
	wr(0x030, 0);
	wr(0x038, num);
	wr(0x080, (uint32_t)d);
	wr(0x084, (uint32_t)(d >> 32));
	wr(0x090, (uint32_t)a);
	wr(0x094, (uint32_t)(a >> 32));
	wr(0x0a0, (uint32_t)u);
	wr(0x0a4, (uint32_t)(u >> 32));
	wr(0x044, 1);
	wr(0x070, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return rd(0x044);
}

/* Offers the chain starting at head, notifies, and reports what came back. */
static void offer(const char *what, uint16_t head, uint16_t idx)
{
	avail[2] = head;
	__asm__ volatile("dsb sy" ::: "memory");
	avail[1] = idx;
	__asm__ volatile("dsb sy" ::: "memory");
	wr(0x050, 0);
	uint32_t st = rd(0x070);
	g_puts("virtio-bad: ");
	g_puts(what);
	g_puts((st & S_NEEDS_RESET) && used_idx() == 0 ? ": refused" : ": NOT refused");
	put(" (status ", st, ")\n");
}

static void one_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	desc[i].addr = addr;
	desc[i].len = len;
	desc[i].flags = flags;
	desc[i].next = next;
}

void guest_main(uint64_t dtb)
{
	volatile struct hvg_coop_page *cp = g_start("virtio-bad", "virtio-bad 1.0.0");
	if (cp)
		cp->heartbeat = 1;

	put("virtio-bad: magic ", rd(0x000), "");
	put(" version ", rd(0x004), "");
	put(" device ", rd(0x008), "\n");

	/* GABI-482: no VERSION_1 accepted, FEATURES_OK does not stick */
	wr(0x070, 0);
	wr(0x070, S_ACK | S_DRIVER);
	wr(0x070, S_ACK | S_DRIVER | S_FEATURES_OK);
	g_puts(rd(0x070) & S_FEATURES_OK ? "virtio-bad: legacy driver NOT refused\n"
					 : "virtio-bad: legacy driver: refused\n");

	/* GABI-486: notifications for queues never set up */
	wr(0x070, 0);
	wr(0x050, 0);
	wr(0x050, 7);
	put("virtio-bad: notify unset queues: ignored (status ", rd(0x070), ")\n");

	/* rings outside its RAM, a queue too large */
	uint32_t r1 = setup(0x7F000000ul, AVAIL, USED, NUM);
	uint32_t r2 = setup(DESC, AVAIL, 0x08000000ul, NUM);
	uint32_t r3 = setup(DESC, AVAIL, USED, 512);
	uint32_t r4 = setup(RAM + RAM_SIZE - 0x40, AVAIL, USED, NUM);
	g_puts(r1 || r2 || r3 || r4 ? "virtio-bad: bad rings NOT refused\n"
				    : "virtio-bad: bad rings: refused\n");

	/* a chain that loops */
	clear_rings();
	setup(DESC, AVAIL, USED, NUM);
	one_desc(0, BUF, 16, 2 | 1, 1);
	one_desc(1, BUF + 16, 16, 2 | 1, 0);
	offer("looping chain", 0, 1);

	/* a buffer outside its RAM, one crossing its end, one on the GIC */
	clear_rings();
	setup(DESC, AVAIL, USED, NUM);
	one_desc(0, 0x7F000000ul, 64, 2, 0);
	offer("buffer outside RAM", 0, 1);
	clear_rings();
	setup(DESC, AVAIL, USED, NUM);
	one_desc(0, RAM + RAM_SIZE - 16, 64, 2, 0);
	offer("buffer across the end of RAM", 0, 1);
	clear_rings();
	setup(DESC, AVAIL, USED, NUM);
	one_desc(0, 0x08000000ul, 64, 2, 0);
	offer("buffer on the GIC", 0, 1);

	/* a head outside the table, an index too far ahead, a next outside */
	clear_rings();
	setup(DESC, AVAIL, USED, NUM);
	one_desc(0, BUF, 16, 2, 0);
	offer("head outside the table", 9, 1);
	clear_rings();
	setup(DESC, AVAIL, USED, NUM);
	one_desc(0, BUF, 16, 2, 0);
	offer("available index too far ahead", 0, 200);
	clear_rings();
	setup(DESC, AVAIL, USED, NUM);
	one_desc(0, BUF, 16, 2 | 1, 40);
	offer("next outside the table", 0, 1);

	/* an indirect descriptor (not offered), readable after writable */
	clear_rings();
	setup(DESC, AVAIL, USED, NUM);
	one_desc(0, BUF, 16, 4, 0);
	offer("indirect descriptor", 0, 1);
	clear_rings();
	setup(DESC, AVAIL, USED, NUM);
	one_desc(0, BUF, 16, 2 | 1, 1);
	one_desc(1, BUF + 16, 16, 0, 0);
	offer("readable after writable", 0, 1);

	/* reset while a request is available, then a good request */
	clear_rings();
	setup(DESC, AVAIL, USED, NUM);
	one_desc(0, BUF, 32, 2, 0);
	avail[2] = 0;
	avail[1] = 1;
	wr(0x070, 0); /* reset mid-transfer, never notified */
	clear_rings();
	setup(DESC, AVAIL, USED, NUM);
	one_desc(0, BUF, 32, 2, 0);
	avail[2] = 0;
	__asm__ volatile("dsb sy" ::: "memory");
	avail[1] = 1;
	__asm__ volatile("dsb sy" ::: "memory");
	wr(0x050, 0);
	uint32_t nonzero = 0;
	for (uint32_t i = 0; i < 32; i++)
		nonzero += ((volatile uint8_t *)BUF)[i] != 0;
	put("virtio-bad: after reset: used ", used_idx(), "");
	put(" len ", used[2], "");
	put(" nonzero bytes ", nonzero, "");
	put(" interrupt ", rd(0x060), "");
	put(" status ", rd(0x070), "\n");
	wr(0x064, rd(0x060));
	g_puts("virtio-bad: done\n");
	for (uint64_t n = 2;; n++) {
		if (cp)
			cp->heartbeat = n;
		g_sleep_ms(100);
	}
}
