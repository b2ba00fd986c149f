/*
 * testcut_hook.c - the cut points of hv-agent-test (testcut.h). Built only
 * into hv-agent-test, with HV_AGENT_TEST_CUTS; hv-agent has testcut.c's empty
 * hv_test_cut().
 */
#include "testcut.h"

#ifdef HV_AGENT_TEST_CUTS

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether the list ("A,B:vm,...") names point, alone or with vm. */
static int named(const char *list, const char *point, const char *vm)
{
	size_t plen = strlen(point);

	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		if (n >= plen && !strncmp(p, point, plen)) {
			if (n == plen)
				return 1;
			if (p[plen] == ':' && vm && strlen(vm) == n - plen - 1 &&
			    !strncmp(p + plen + 1, vm, n - plen - 1))
				return 1;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

void hv_test_cut(const char *point, const char *vm)
{
	const char *list = getenv("HV_AGENT_TEST_CUT");
	char line[256];

	if (!list || !named(list, point, vm))
		return;
	int n = snprintf(line, sizeof line, "hv-agent: test cut at %s%s%s\n", point, vm ? ":" : "",
			 vm ? vm : "");
	if (n > 0 && write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0)
		n = 0;
	_exit(HV_TEST_CUT_EXIT);
}

#endif
