/*
 * hvcore_icount.c - hv-core's trap path against recorded instruction ceilings
 * (bench/icount-ceilings.txt, docs/performance.md "Hypervisor").
 *
 * The "perf" guest runs alone under QEMU -icount shift=0,sleep=off, where every
 * executed instruction advances virtual time by 1 ns: its virtual counter
 * counts instructions, the same on any host at any load. It times batches of
 * an empty loop, null hypercalls, trapped MMIO reads, SGIs to itself and the
 * virtual timer firing at once, and prints the smallest batch of each, then
 * the smallest and largest delay from the virtual timer's deadline to the
 * guest. Each
 * count must stay at or under its ceiling. No wall time is measured or
 * asserted.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvqemu.h"

#define CEILINGS HV_SOURCE_DIR "/bench/icount-ceilings.txt"
#define WAIT_S 300

static struct hvq q;

static void teardown(void)
{
	hvq_stop(&q);
}

enum {
	OP_HVC,
	OP_MMIO,
	OP_VIRQ,
	OP_VTIMER,
	OP_VTIMER_LAT,
	OP_COUNT
};
static const char *const op_name[OP_COUNT] = { "hvc_null", "mmio_read", "virq_inject",
					       "vtimer_inject", "vtimer_latency" };

/* Reads the ceilings file: "NAME INSTRUCTIONS [# comment]" lines, every
 * operation exactly once, nothing else. */
static void read_ceilings(unsigned long long ceiling[OP_COUNT])
{
	FILE *f = fopen(CEILINGS, "r");
	cr_assert_not_null(f, "cannot open %s", CEILINGS);
	char line[256];
	unsigned lineno = 0;
	int seen[OP_COUNT] = { 0 };
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char name[32], extra[8];
		unsigned long long v;
		int n = sscanf(line, "%31s %llu %7s", name, &v, extra);
		if (n <= 0)
			continue;
		cr_assert_eq(n, 2, "%s:%u: expected 'OPERATION INSTRUCTIONS'", CEILINGS, lineno);
		int op = -1;
		for (int i = 0; i < OP_COUNT; i++)
			if (!strcmp(name, op_name[i]))
				op = i;
		cr_assert_geq(op, 0, "%s:%u: unknown operation '%s'", CEILINGS, lineno, name);
		cr_assert_not(seen[op], "%s:%u: second ceiling for %s", CEILINGS, lineno, name);
		cr_assert_gt(v, 0, "%s:%u: a ceiling of 0 for %s", CEILINGS, lineno, name);
		seen[op] = 1;
		ceiling[op] = v;
	}
	fclose(f);
	for (int i = 0; i < OP_COUNT; i++)
		cr_assert(seen[i], "%s: no ceiling for %s", CEILINGS, op_name[i]);
}

/* Instructions per operation from a batch of n, less the empty loop's batch:
 * ticks of the virtual counter at freq Hz, one instruction per ns. */
static unsigned long long per_op(unsigned long long batch, unsigned long long loop,
				 unsigned long long n, unsigned long long freq)
{
	return (batch - loop) * (1000000000ull / freq) / n;
}

Test(hvcore_icount, trap_path_stays_under_its_recorded_ceilings, .fini = teardown)
{
	unsigned long long ceiling[OP_COUNT];
	read_ceilings(ceiling);

	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	const char *extra[] = { "--config",   HV_SOURCE_DIR "/hv-core/guests/perf.dts",
				"--qemu-arg", "-icount",
				"--qemu-arg", "shift=0,sleep=off",
				NULL };
	memcpy(o.extra, extra, sizeof(extra));
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
	int id = hvq_find_vm(&q, "perf");
	cr_assert_geq(id, 0);
	cr_assert_eq(hvq_wait_console(&q, id, " ticks, done\n", WAIT_S), 0, "%s", q.err);
	char buf[HVM_CONSOLE_SIZE + 1];
	hvq_read_console(&q, (uint32_t)id, buf, sizeof(buf));
	const char *line = strstr(buf, "perf: freq");
	cr_assert_not_null(line, "console: %s", buf);
	unsigned long long freq, n, loop, hvc, mmio, sgi;
	cr_assert_eq(sscanf(line,
			    "perf: freq %llu n %llu loop %llu hvc_null %llu mmio_read %llu sgi_self %llu",
			    &freq, &n, &loop, &hvc, &mmio, &sgi),
		     6, "%s", line);
	cr_assert(freq > 0 && freq <= 1000000000ull && n > 0, "%s", line);
	cr_assert(hvc > loop && mmio > loop && sgi > hvc, "%s", line);
	const char *line2 = strstr(line, "perf: vtimer");
	cr_assert_not_null(line2, "console: %s", buf);
	unsigned long long vtimer, lat_min, lat_max;
	cr_assert_eq(sscanf(line2, "perf: vtimer %llu lat_min %llu lat_max %llu", &vtimer, &lat_min,
			    &lat_max),
		     3, "%s", line2);
	cr_assert(vtimer > hvc && lat_max >= lat_min, "%s", line2);

	unsigned long long got[OP_COUNT];
	got[OP_HVC] = per_op(hvc, loop, n, freq);
	got[OP_MMIO] = per_op(mmio, loop, n, freq);
	got[OP_VIRQ] = per_op(sgi, hvc, n, freq);
	got[OP_VTIMER] = per_op(vtimer, hvc, n, freq);
	/* the smallest delay: the path on the VM's own CPU; the largest has the
	 * service tick's pass on CPU 0 in it, which -icount runs in between
	 * (docs/performance.md "Virtual interrupt latency") */
	got[OP_VTIMER_LAT] = lat_min * (1000000000ull / freq);
	cr_log_info("vtimer latency: smallest %llu, largest %llu instructions", got[OP_VTIMER_LAT],
		    lat_max * (1000000000ull / freq));
	for (int i = 0; i < OP_COUNT; i++)
		cr_log_info("%s: %llu instructions (ceiling %llu)", op_name[i], got[i], ceiling[i]);
	for (int i = 0; i < OP_COUNT; i++)
		cr_expect_leq(got[i], ceiling[i],
			      "%s costs %llu instructions, above its ceiling of %llu in %s",
			      op_name[i], got[i], ceiling[i], CEILINGS);
}
