/*
 * hvctl_grpc_lazy_test.c - hvctl loads gRPC on first use (cli/grpc_lazy.h):
 * built here with a soname that does not exist, a call that needs gRPC
 * fails with UNAVAILABLE naming the library, and nothing before it does
 * (docs/api.md "hvctl and the frame protocol", FRAME-027).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "hvmgr/v1/hvmgr.pb-c.h"

Test(hvctl_grpc_lazy, missing_library_is_named_double)
{
	char dir[] = "/tmp/hvctl-lazy-XXXXXX", path[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hv_status st;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/hv-agent.sock", dir);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	cr_assert_eq(listen(lfd, 4), 0); /* accepted by the kernel, never served */

	hvc_global_init();
	const struct hvc_opts o = { .uri = path, .grpc = true };
	struct hvc *c = hvc_connect(&o, &st);
	cr_assert_not_null(c, "%s", st.msg); /* gRPC is not needed to connect */

	Hvmgr__V1__ListVmsRequest req = HVMGR__V1__LIST_VMS_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int rc = hvc_call(c, "/hvmgr.v1.Hvmgr/ListVms", &req.base,
			  &hvmgr__v1__list_vms_response__descriptor, &resp, 1000, &st);
	cr_expect_eq(rc, -1);
	cr_expect_null(resp);
	cr_expect_eq(st.code, HV_UNAVAILABLE);
	cr_expect(strstr(st.msg, "this needs gRPC: libgrpc-missing.so.0"), "%s", st.msg);
	hvc_close(c);
	hvc_global_shutdown();
	close(lfd);
	unlink(path);
	rmdir(dir);
}
