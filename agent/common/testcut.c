/*
 * testcut.c - the cut points of hv-agent itself (testcut.h): none. A weak
 * definition, so hv-agent-test's testcut_hook.c replaces it.
 */
#include "testcut.h"

__attribute__((weak)) void hv_test_cut(const char *point, const char *vm)
{
	(void)point;
	(void)vm;
}
