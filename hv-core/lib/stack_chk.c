/*
 * stack_chk.c - the stack protector symbols the prebuilt libfdt.a references
 * (Debian builds it with -fstack-protector-strong). hv-core's own code is built
 * without the protector. A smashed stack inside libfdt halts the CPU visibly.
 */
#include <stdint.h>
#include "log.h"

uintptr_t __stack_chk_guard = 0x5ca1ab1e0ddba11ull;

void __stack_chk_fail(void);
void __stack_chk_fail(void)
{
	hv_panic("stack protector: stack smashed inside libfdt");
}
