/* insn_out.c - see insn_out.h. */
#include "insn_out.h"

#include <stdio.h>
#include <string.h>

int insn_symbol(const char *elf, const char *name, uint64_t *addr, uint64_t *size)
{
	char cmd[512], line[256];
	int found = 0;

	snprintf(cmd, sizeof cmd, "nm -S --defined-only '%s'", elf);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof line, p)) {
		unsigned long long a, s;
		char t, n[128];
		if (sscanf(line, "%llx %llx %c %127s", &a, &s, &t, n) == 4 && !strcmp(n, name)) {
			*addr = a;
			*size = s;
			found = 1;
		}
	}
	pclose(p);
	return found ? 0 : -1;
}

size_t insn_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int c;

	if (!f)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

int insn_line_at(const char *path, size_t idx, uint64_t *cmd, uint64_t *part)
{
	FILE *f = fopen(path, "r");
	char l[128];
	size_t i = 0;
	int rc = -1;

	if (!f)
		return -1;
	while (fgets(l, sizeof l, f))
		if (i++ == idx) {
			unsigned long long a, b;
			if (sscanf(l, "cmd_insn=%llu gate_insn=%llu", &a, &b) == 2) {
				*cmd = a;
				*part = b;
				rc = 0;
			}
			break;
		}
	fclose(f);
	return rc;
}
