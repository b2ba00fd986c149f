/*
 * main.c - "net-peer", a bare-metal guest with a small virtio-net driver of
 * its own (docs/guest-abi.md GABI-481..484, GABI-493): it answers ARP
 * requests and ICMP echo requests for 10.0.0.2 arriving on the inter-VM
 * virtio-net device hv-core switches, so a Linux guest can ping it. Its device
 * is at IPA 0x0a000000; it polls the receive queue (MMU off, no interrupts)
 * and prints a line for every answer it sends.
 *
 * Built with PROBE it is "net-probe" instead: it asks who has 10.0.0.2 ten
 * times, 100 ms apart, and reports how many frames its device took for
 * sending and how many answers came back.
 */
#include "guest.h"

#define VIO 0x0a000000ul
#define RAM 0x40000000ul
#define RX_DESC (RAM + 0x800000ul)
#define RX_AVAIL (RAM + 0x801000ul)
#define RX_USED (RAM + 0x802000ul)
#define TX_DESC (RAM + 0x810000ul)
#define TX_AVAIL (RAM + 0x811000ul)
#define TX_USED (RAM + 0x812000ul)
#define RX_BUF (RAM + 0x820000ul)
#define TX_BUF (RAM + 0x830000ul)
#define NUM 8u
#define BUF_SIZE 2048u
#define HDR 12u
#ifdef PROBE
#define NAME "net-probe"
#else
#define NAME "net-peer"
#endif

void guest_main(uint64_t dtb);

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static const uint8_t my_ip[4] = { 10, 0, 0, 2 };
static uint8_t my_mac[6];

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

static void queue(uint32_t i, uint64_t d, uint64_t a, uint64_t u)
{
	wr(0x030, i);
	wr(0x038, NUM);
	wr(0x080, (uint32_t)d);
	wr(0x084, 0);
	wr(0x090, (uint32_t)a);
	wr(0x094, 0);
	wr(0x0a0, (uint32_t)u);
	wr(0x0a4, 0);
	wr(0x044, 1);
}

static void copy(volatile uint8_t *dst, const volatile uint8_t *src, uint32_t n)
{
	while (n--)
		*dst++ = *src++;
}

static int same(const volatile uint8_t *a, const uint8_t *b, uint32_t n)
{
	while (n--)
		if (*a++ != *b++)
			return 0;
	return 1;
}

static uint16_t tx_idx;

static void __attribute__((unused)) put_count(const char *what, uint64_t v)
{
	g_puts(what);
	g_putu(v);
}

/* Sends the frame at TX_BUF + HDR of len bytes and waits until it is used. */
static void send(uint32_t len)
{
	volatile struct desc *d = (volatile struct desc *)TX_DESC;
	volatile uint16_t *avail = (volatile uint16_t *)TX_AVAIL;
	for (uint32_t i = 0; i < HDR; i++)
		((volatile uint8_t *)TX_BUF)[i] = 0;
	d[0].addr = TX_BUF;
	d[0].len = HDR + len;
	d[0].flags = 0;
	d[0].next = 0;
	avail[2 + (tx_idx % NUM)] = 0;
	barrier();
	avail[1] = ++tx_idx;
	barrier();
	wr(0x050, 1);
}

#ifdef PROBE
/* An ARP request: who has 10.0.0.2, tell 10.0.0.9. */
static uint32_t arp_request(void)
{
	static const uint8_t head[22] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0,
					  0,    0x08, 0x06, 0,    1,    8,    0, 6, 4, 0, 1 };
	static const uint8_t ip[4] = { 10, 0, 0, 9 };
	volatile uint8_t *o = (volatile uint8_t *)(TX_BUF + HDR);
	copy(o, head, 22);
	copy(o + 6, my_mac, 6);
	copy(o + 22, my_mac, 6);
	copy(o + 28, ip, 4);
	for (uint32_t i = 32; i < 38; i++)
		o[i] = 0;
	copy(o + 38, my_ip, 4);
	return 42;
}
#endif

/* Builds the answer to the frame f of len bytes in TX_BUF; returns its length or 0. */
static uint32_t answer(const volatile uint8_t *f, uint32_t len, uint32_t *kind)
{
	volatile uint8_t *o = (volatile uint8_t *)(TX_BUF + HDR);
	if (len < 42)
		return 0;
	uint16_t type = (uint16_t)(f[12] << 8 | f[13]);
	if (type == 0x0806 && f[21] == 1 && same(f + 38, my_ip, 4)) { /* ARP request */
		copy(o, f, 42);
		copy(o, f + 6, 6); /* to the asker */
		copy(o + 6, my_mac, 6);
		o[21] = 2;                /* reply */
		copy(o + 32, f + 22, 10); /* target = asker's mac and ip */
		copy(o + 22, my_mac, 6);
		copy(o + 28, my_ip, 4);
		*kind = 1;
		return 42;
	}
	uint32_t ihl = (f[14] & 0xFu) * 4u;
	if (type == 0x0800 && f[23] == 1 && same(f + 30, my_ip, 4) && len >= 14 + ihl + 8 &&
	    f[14 + ihl] == 8) { /* ICMP echo request */
		copy(o, f, len);
		copy(o, f + 6, 6);
		copy(o + 6, my_mac, 6);
		copy(o + 26, f + 30, 4); /* ip src and dst swapped: same header sum */
		copy(o + 30, f + 26, 4);
		o[14 + ihl] = 0; /* echo reply: the checksum grows by 0x0800 */
		uint32_t ck = (uint32_t)(o[16 + ihl] << 8 | o[17 + ihl]) + 0x0800u;
		ck = (ck & 0xFFFFu) + (ck >> 16);
		o[16 + ihl] = (uint8_t)(ck >> 8);
		o[17 + ihl] = (uint8_t)ck;
		*kind = 2;
		return len;
	}
	return 0;
}

void guest_main(uint64_t dtb)
{
	volatile struct hvg_coop_page *cp = g_start(NAME, NAME " 1.0.0");
	if (cp)
		cp->heartbeat = 1;
	if (rd(0x000) != 0x74726976u || rd(0x004) != 2 || rd(0x008) != 1) {
		g_puts(NAME ": no virtio-net device at 0x0a000000\n");
		for (;;)
			g_sleep_ms(1000);
	}
	wr(0x070, 0);
	wr(0x070, 1);
	wr(0x070, 3);
	wr(0x024, 1);
	wr(0x020, 1); /* VIRTIO_F_VERSION_1 */
	wr(0x024, 0);
	wr(0x020, 1u << 5); /* VIRTIO_NET_F_MAC */
	wr(0x070, 3 | 8);
	if (!(rd(0x070) & 8)) {
		g_puts(NAME ": features refused\n");
		for (;;)
			g_sleep_ms(1000);
	}
	for (uint32_t i = 0; i < 6; i++)
		my_mac[i] = *(volatile uint8_t *)(VIO + 0x100 + i);
	volatile struct desc *rxd = (volatile struct desc *)RX_DESC;
	volatile uint16_t *rxa = (volatile uint16_t *)RX_AVAIL;
	volatile uint32_t *rxu = (volatile uint32_t *)RX_USED;
	for (uint32_t i = 0; i < NUM; i++) {
		rxd[i].addr = RX_BUF + BUF_SIZE * i;
		rxd[i].len = BUF_SIZE;
		rxd[i].flags = 2; /* device-writable */
		rxd[i].next = 0;
		rxa[2 + i] = (uint16_t)i;
	}
	rxa[0] = 1; /* no interrupts: this driver polls */
	barrier();
	rxa[1] = NUM;
	queue(0, RX_DESC, RX_AVAIL, RX_USED);
	queue(1, TX_DESC, TX_AVAIL, TX_USED);
	wr(0x070, 3 | 8 | 4);
	g_puts(NAME ": virtio-net up\n");

	uint16_t seen = 0, avail_idx = NUM;
	uint64_t n = 2, answered = 0;
	for (;;) {
		barrier();
		while ((uint16_t)(rxu[0] >> 16) != seen) {
			uint32_t id = rxu[1 + 2 * (seen % NUM)];
			uint32_t len = rxu[2 + 2 * (seen % NUM)];
			uint32_t kind = 0, out = 0;
			if (id < NUM && len > HDR && len <= BUF_SIZE)
				out = answer((const volatile uint8_t *)(RX_BUF + BUF_SIZE * id + HDR),
					     len - HDR, &kind);
#ifdef PROBE
			answered++; /* any frame that reaches the probe is an answer */
			out = 0;
#endif
			if (out) {
				send(out);
				answered++;
				g_puts(kind == 1 ? "net-peer: ARP reply " : "net-peer: echo reply ");
				g_putu(answered);
				g_puts("\n");
			}
			seen++;
			rxa[2 + (avail_idx % NUM)] = (uint16_t)(id < NUM ? id : 0);
			barrier();
			rxa[1] = ++avail_idx;
		}
#ifdef PROBE
		if (n % 10 == 0 && tx_idx < 10)
			send(arp_request());
		if (n == 200) {
			put_count("net-probe: sent ", tx_idx);
			put_count(" used ", (uint16_t)(*(volatile uint32_t *)TX_USED >> 16));
			put_count(" answers ", answered);
			g_puts("\n");
		}
#endif
		if (cp)
			cp->heartbeat = n++;
		g_sleep_ms(10);
	}
}
