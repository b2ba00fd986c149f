/* agent_stack.c - real hv-core under QEMU plus the real hv-agent for
 * END-TO-END tests (agent_stack.h). */
#define _GNU_SOURCE
#include "agent_stack.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *agent_stack_core_dir(void)
{
	const char *env = getenv("HV_CORE_OUT");
	return env && *env ? env : HV_CORE_OUT;
}

void agent_stack_start_core(struct hvq *q, const struct hvq_opts *opts)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	char bin[512];

	memset(q, 0, sizeof *q);
	if (opts)
		o = *opts;
	if (!o.core_dir)
		o.core_dir = agent_stack_core_dir();
	snprintf(bin, sizeof bin, "%s/hvcore.bin", o.core_dir);
	if (access(bin, R_OK) != 0)
		cr_skip_test("no hv-core image at %s (build hv-core, or set HV_CORE_OUT)", bin);
	cr_assert_eq(hvq_start(q, &o), 0, "%s", q->err);
}

void agent_stack_start(struct hvq *q, struct agent_proc *agent, const char *const *agent_extra,
		       char *uri, size_t uri_len)
{
	memset(agent, 0, sizeof *agent);
	agent_stack_start_core(q, NULL);
	cr_assert_eq(agent_start(agent, q->dir, agent_extra), 0, "%s", agent->err);
	snprintf(uri, uri_len, "unix://%s", agent->sock);
}

void agent_stack_stop(struct hvq *q, struct agent_proc *agent)
{
	agent_stop(agent);
	hvq_stop(q);
}
