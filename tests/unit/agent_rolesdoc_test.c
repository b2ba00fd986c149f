/*
 * agent_rolesdoc_test.c - docs/security.md's table of who may call what
 * against the table hv-agent enforces (agent/auth/roles.c): same methods,
 * same lowest role, same "changes state". Operators read the document; a
 * row that says less than the code allows is a security finding.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roles.h"

#define DOC HV_SOURCE_DIR "/docs/security.md"
#define SVC "/hvmgr.v1.Hvmgr/"
#define MAX_ROWS 128

struct doc_row {
	char method[96];
	enum hv_role role;
	bool mutates;
};

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '`'))
		s[--n] = '\0';
	size_t k = strspn(s, " `");
	memmove(s, s + k, strlen(s + k) + 1);
}

/* The rows of the "## The table" section, one per method. */
static size_t read_doc(struct doc_row *rows)
{
	FILE *f = fopen(DOC, "r");
	char line[512];
	size_t n = 0;
	int in = 0;

	cr_assert_not_null(f, "cannot open %s", DOC);
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "## ", 3) == 0) {
			in = strncmp(line, "## The table", 12) == 0;
			continue;
		}
		if (!in || line[0] != '|' || strstr(line, "---") || strstr(line, "Lowest role"))
			continue;
		char *cells[3], *save = NULL;
		char *p = strtok_r(line + 1, "|", &save);
		int c = 0;
		for (; p && c < 3; p = strtok_r(NULL, "|", &save))
			cells[c++] = p;
		cr_assert_eq(c, 3, "a row of the table without three cells in %s", DOC);
		for (int i = 0; i < 3; i++)
			trim(cells[i]);
		char *reserved = strstr(cells[0], " (reserved)");
		if (reserved)
			*reserved = '\0';
		enum hv_role role = roles_from_name(cells[1]);
		cr_assert_neq(role, HV_ROLE_NONE, "role '%s' in %s", cells[1], DOC);
		cr_assert(strcmp(cells[2], "yes") == 0 || strcmp(cells[2], "no") == 0, "'%s' in %s",
			  cells[2], DOC);
		/* "A, B, C" and "`/pkg.Svc/A`, `/B`" list several methods. */
		char service[64] = SVC, *save2 = NULL;
		for (char *m = strtok_r(cells[0], ",", &save2); m; m = strtok_r(NULL, ",", &save2)) {
			trim(m);
			cr_assert_lt(n, MAX_ROWS);
			if (m[0] == '/' && strchr(m + 1, '/')) {
				snprintf(rows[n].method, sizeof rows[n].method, "%s", m);
				size_t sl = (size_t)(strrchr(m, '/') - m) + 1;
				snprintf(service, sizeof service, "%.*s", (int)sl, m);
			} else {
				snprintf(rows[n].method, sizeof rows[n].method, "%s%s", service,
					 m[0] == '/' ? m + 1 : m);
			}
			rows[n].role = role;
			rows[n].mutates = strcmp(cells[2], "yes") == 0;
			n++;
		}
	}
	fclose(f);
	return n;
}

Test(roles_doc, every_enforced_method_has_the_same_row_in_the_document)
{
	static struct doc_row rows[MAX_ROWS];
	size_t n = read_doc(rows), count;
	const struct roles_method *t = roles_table(&count);

	cr_assert_gt(n, 0, "no table rows found in %s", DOC);
	for (size_t i = 0; i < count; i++) {
		size_t k = 0;
		while (k < n && strcmp(rows[k].method, t[i].method) != 0)
			k++;
		cr_expect_lt(k, n, "%s is enforced (roles.c) but has no row in docs/security.md",
			     t[i].method);
		if (k == n)
			continue;
		cr_expect_eq(rows[k].role, t[i].min_role, "%s: docs/security.md says %s, roles.c %s",
			     t[i].method, roles_name(rows[k].role), roles_name(t[i].min_role));
		cr_expect_eq(rows[k].mutates, t[i].mutates,
			     "%s: 'changes state' differs between docs/security.md and roles.c",
			     t[i].method);
	}
}

Test(roles_doc, every_documented_method_is_enforced)
{
	static struct doc_row rows[MAX_ROWS];
	size_t n = read_doc(rows);

	for (size_t k = 0; k < n; k++)
		cr_expect_not_null(roles_lookup(rows[k].method),
				   "docs/security.md has a row for %s, which roles.c does not know",
				   rows[k].method);
}
