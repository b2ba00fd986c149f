/*
 * insn_out.h - what the hv-core instruction-counting benches share
 * (policy_bench.c, anchor_bench.c): symbol addresses from hv-core's ELF, and
 * the output file of the QEMU plugin policy_insn.so, one line
 * "cmd_insn=N gate_insn=M" per command it saw.
 */
#ifndef INSN_OUT_H
#define INSN_OUT_H

#include <stddef.h>
#include <stdint.h>

/* Address and size of symbol `name` of the ELF file `elf` (from nm); 0, or -1
 * when it is not there. */
int insn_symbol(const char *elf, const char *name, uint64_t *addr, uint64_t *size);
/* Lines the plugin has written to `path` so far (0 when it does not exist). */
size_t insn_lines(const char *path);
/* The two counts of line `idx` (0-based) of `path`; 0, or -1. */
int insn_line_at(const char *path, size_t idx, uint64_t *cmd, uint64_t *part);

#endif
