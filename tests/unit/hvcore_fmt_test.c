/*
 * hvcore_fmt_test.c - hv-core's hv_snprintf(): the conversions hv-core uses for
 * its log and for ret_msg, truncation and termination (ret_msg is 64 bytes and
 * a reader relies on the NUL).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include "fmt.h"

/* Without the format attribute, so malformed formats reach the formatter. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int unchecked(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = hv_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
#pragma GCC diagnostic pop

Test(hvcore_fmt, conversions)
{
	char b[128];
	hv_snprintf(b, sizeof(b), "%s|%d|%u|%x|%X|%c|%%", "abc", -42, 42u, 0xbeefu, 0xbeefu, 'z');
	cr_assert_str_eq(b, "abc|-42|42|beef|BEEF|z|%");
	hv_snprintf(b, sizeof(b), "%lx %lu %ld", 0x123456789abcdefUL, 18446744073709551615UL,
		    -9223372036854775807L - 1);
	cr_assert_str_eq(b, "123456789abcdef 18446744073709551615 -9223372036854775808");
	hv_snprintf(b, sizeof(b), "[%5d][%-5d][%05d][%-4s][%4s]", 42, 42, -42, "ab", "ab");
	cr_assert_str_eq(b, "[   42][42   ][-0042][ab  ][  ab]");
	unchecked(b, sizeof(b), "%s %zu", (const char *)NULL, (size_t)7);
	cr_assert_str_eq(b, "(null) 7");
	hv_snprintf(b, sizeof(b), "%p", (void *)0x1000);
	cr_assert_str_eq(b, "0x1000");
}

Test(hvcore_fmt, truncates_and_always_terminates)
{
	char b[8];
	memset(b, 'x', sizeof(b));
	int n = hv_snprintf(b, sizeof(b), "command %s (%u)", "SHUTDOWN", 6u);
	cr_assert_eq(n, (int)strlen("command SHUTDOWN (6)"), "returns the untruncated length");
	cr_assert_str_eq(b, "command");
	char one[1] = { 'x' };
	hv_snprintf(one, sizeof(one), "abc");
	cr_assert_eq(one[0], 0);
	cr_assert_eq(hv_snprintf(NULL, 0, "abc%d", 12), 5, "size 0 writes nothing");
}

Test(hvcore_fmt, odd_format_strings_do_not_overrun)
{
	char b[32];
	unchecked(b, sizeof(b), "trailing %");
	cr_assert_str_eq(b, "trailing ");
	unchecked(b, sizeof(b), "%q%d", 5);
	cr_assert_str_eq(b, "%q5");
}
