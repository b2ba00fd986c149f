/*
 * main.c - "rtos-demo", a bare-metal guest standing in for an RTOS partition:
 * greets on its UART, finds its cooperation page, reports its image version and
 * state, and runs from a fixed-period tick: the virtual timer interrupt
 * (INTID 27) through the GICv3 virtual CPU interface every 10 ms; every 5th
 * tick beats the heartbeat (GABI-020, REQ-SAF-13). Between ticks it waits in
 * WFI. Every 100 heartbeats it prints the heartbeat and the tick count.
 */
#include "guest.h"
#include "gic.h"

#define TICK_HZ 100u
#define TICKS_PER_BEAT 5u
#define BROKEN_MS 500u /* a broken image stops its heartbeat after this long */

/* The image's identity: scripts/guest-image.sh finds this block in the built
 * image by its marker and rewrites the version and flags, so that demo update
 * images need no compiler (docs/ota.md OTA-052). Read through volatile so the
 * compiler keeps the values in the image. */
#define IMAGE_BROKEN 1u /* never confirms: the heartbeat stops, health_code set */
struct image_id {
	char marker[16];
	char version[32];
	uint32_t flags;
};
static const volatile struct image_id image_id
	__attribute__((used, aligned(8))) = { "HVGUEST-IMAGEID", "rtos-demo 1.0.0", 0 };

void guest_main(uint64_t dtb);

static volatile uint64_t ticks;

static void on_irq(uint32_t intid)
{
	if (intid == INTID_VTIMER) {
		ticks++;
		vtimer_next();
	}
}

void guest_main(uint64_t dtb)
{
	g_puts("rtos-demo: hello from EL1\n");
	volatile struct hvg_coop_page *cp = g_coop_page();
	if (!cp) {
		g_puts("rtos-demo: no cooperation page, stopping\n");
		return;
	}
	cp->guest_state = HVG_GS_BOOTING;
	char version[sizeof image_id.version];
	for (unsigned i = 0; i < sizeof version; i++)
		version[i] = image_id.version[i];
	version[sizeof version - 1] = '\0';
	g_set_version(cp, version);
	cp->health_code = 0;
	int broken = (image_id.flags & IMAGE_BROKEN) != 0;
	g_puts("rtos-demo: image version ");
	g_puts(version);
	g_puts(broken ? " (broken: its heartbeat will stop)\n" : "\n");

	irq_install(on_irq);
	gic_dist_init();
	gic_cpu_init(0);
	gic_enable_private(0, INTID_VTIMER, 0xA0);
	vtimer_start_periodic(vtimer_freq() / TICK_HZ);
	irq_unmask();

	cp->guest_state = HVG_GS_RUNNING;
	g_puts("rtos-demo: running, vm id ");
	g_putu(cp->vm_id);
	g_puts(", timer tick ");
	g_putu(1000 / TICK_HZ);
	g_puts(" ms\n");
	uint64_t beat = 0, seen = 0, t0, now;
	/* virtual-counter time, not ticks: a host too busy to deliver every tick
	 * must not stretch a broken image's heartbeat over a trial window */
	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(t0));
	for (;;) {
		__asm__ volatile("wfi");
		uint64_t t = ticks;
		if (t == seen)
			continue;
		seen = t;
		if (t / TICKS_PER_BEAT <= beat)
			continue;
		beat = t / TICKS_PER_BEAT;
		__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(now));
		if (broken && now - t0 > vtimer_freq() / 1000u * BROKEN_MS) {
			if (cp->health_code == 0)
				g_puts("rtos-demo: broken image: heartbeat stopped\n");
			cp->health_code = 0xB0;
			continue;
		}
		cp->heartbeat = beat;
		if (beat % 100 == 0) {
			g_puts("rtos-demo: heartbeat ");
			g_putu(beat);
			g_puts(" timer ticks ");
			g_putu(t);
			g_puts("\n");
		}
	}
}
