/*
 * plugin_args.h - the arguments of the QEMU plugins in bench/ that count
 * instructions in hv-core's address range (insn_profile.c, el2_sections.c):
 * lo=ADDR and hi=ADDR, numbers in any base strtoull takes. A header of static
 * functions: each plugin is built alone from its one .c file.
 */
#ifndef BENCH_PLUGIN_ARGS_H
#define BENCH_PLUGIN_ARGS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* hv-core's range on QEMU virt. */
#define PLUGIN_CORE_LO 0x40200000u
#define PLUGIN_CORE_HI 0x41000000u

/* 1 when arg is KEY=number (stored in *out), 0 when it is not KEY=, -1 with a
 * message naming the plugin when the number is malformed. */
static inline int plugin_arg_u64(const char *plugin, const char *arg, const char *key, uint64_t *out)
{
	size_t k = strlen(key);
	char *end;

	if (strncmp(arg, key, k) != 0)
		return 0;
	*out = strtoull(arg + k, &end, 0);
	if (end == arg + k || *end) {
		fprintf(stderr, "%s: %s wants a number, got '%s'\n", plugin, key, arg + k);
		return -1;
	}
	return 1;
}

/* Parses lo=ADDR hi=ADDR (and nothing else) into *lo, *hi, which hold the
 * defaults on entry; 0, or -1 with a message for an unknown argument, a
 * malformed number, or an empty range or one of 1 GiB or more. */
static inline int plugin_range_args(const char *plugin, int argc, char **argv, uint64_t *lo,
				    uint64_t *hi)
{
	for (int i = 0; i < argc; i++) {
		int r = plugin_arg_u64(plugin, argv[i], "lo=", lo);
		if (r == 0)
			r = plugin_arg_u64(plugin, argv[i], "hi=", hi);
		if (r == 0)
			fprintf(stderr, "%s: unknown argument '%s' (lo=ADDR, hi=ADDR)\n", plugin,
				argv[i]);
		if (r <= 0)
			return -1;
	}
	if (*hi <= *lo || ((*hi - *lo) >> 30)) {
		fprintf(stderr, "%s: the range lo..hi must be non-empty and under 1 GiB\n", plugin);
		return -1;
	}
	return 0;
}

#endif /* BENCH_PLUGIN_ARGS_H */
