/*
 * agent_lazylib_test.c - the loader of hv-agent's optional libraries
 * (agent/common/lazylib.h): a library or a symbol that is not there is an
 * UNAVAILABLE error naming it, the table stays empty and a later call tries
 * again; a complete table is filled once.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "lazylib.h"

#define OK_FNS(X) X(strlen) X(strcmp)
#define OK_PTR(n) __typeof__(n) *n;
#define OK_NAME(n) #n,

Test(agent_lazylib, a_missing_library_is_named)
{
	static struct {
		OK_FNS(OK_PTR)
	} t;
	static const char *const names[] = { OK_FNS(OK_NAME) };
	static struct lazylib lib = LAZYLIB_INIT("libhv-absent.so.0", names, &t);
	struct hv_status st;

	cr_assert_eq(lazylib_load(&lib, &st), -1);
	cr_assert_eq(st.code, HV_UNAVAILABLE);
	cr_assert(strncmp(st.msg, "libhv-absent.so.0: ", 19) == 0, "%s", st.msg);
	cr_assert(strstr(st.msg + 19, "libhv-absent.so.0") == NULL, "named twice: %s", st.msg);
	cr_assert_null(t.strlen);
	cr_assert_eq(lazylib_load(&lib, &st), -1, "a failure is not remembered as a success");
}

Test(agent_lazylib, a_missing_symbol_is_named_and_nothing_is_filled)
{
#define BAD_FNS(X) X(strlen) X(hv_no_such_function)
	static struct {
		size_t (*strlen)(const char *);
		void (*hv_no_such_function)(void);
	} t;
	static const char *const names[] = { BAD_FNS(OK_NAME) };
	static struct lazylib lib = LAZYLIB_INIT("libc.so.6", names, &t);
	struct hv_status st;

	cr_assert_eq(lazylib_load(&lib, &st), -1);
	cr_assert_eq(st.code, HV_UNAVAILABLE);
	cr_assert_str_eq(st.msg, "libc.so.6: no symbol hv_no_such_function");
	cr_assert_null(t.strlen);
	cr_assert_null(t.hv_no_such_function);
}

Test(agent_lazylib, a_complete_table_is_filled_once)
{
	static struct {
		OK_FNS(OK_PTR)
	} t;
	static const char *const names[] = { OK_FNS(OK_NAME) };
	static struct lazylib lib = LAZYLIB_INIT("libc.so.6", names, &t);
	struct hv_status st;

	cr_assert_eq(lazylib_load(&lib, &st), 0);
	cr_assert_eq(t.strlen("four"), 4);
	cr_assert_eq(t.strcmp("a", "a"), 0);
	size_t (*first)(const char *) = t.strlen;
	cr_assert_eq(lazylib_load(&lib, &st), 0);
	cr_assert_eq(t.strlen, first);
}
