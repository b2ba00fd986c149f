/*
 * svc_health.c - the standard grpc.health.v1 service. hv-agent is SERVING when
 * it can reach a hypervisor whose command interface is live; NOT_SERVING
 * otherwise (the process answers, but management would fail). The service
 * names known are "" (the whole server) and "hvmgr.v1.Hvmgr".
 */
#include "agent.h"

#include <string.h>
#include <time.h>

#include "grpc/health/v1/health.pb-c.h"

static int known_service(const char *name)
{
	return name[0] == '\0' || strcmp(name, "hvmgr.v1.Hvmgr") == 0;
}

static Grpc__Health__V1__HealthCheckResponse__ServingStatus current(struct agent *ag)
{
	struct hv_status st;

	return hvlink_ensure(ag->link, &st) == 0
		       ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
		       : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
}

void svc_health_check(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
		      struct rpc_result *res)
{
	const Grpc__Health__V1__HealthCheckRequest *req =
		(const Grpc__Health__V1__HealthCheckRequest *)m;
	Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

	if (!known_service(req->service)) {
		rpc_result_error(res, HV_NOT_FOUND, "unknown service '%s'", req->service);
		return;
	}
	resp.status = current(ctx->app);
	rpc_result_message(res, &resp.base);
}

void svc_health_watch(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
		      struct rpc_stream *s, struct hv_status *st)
{
	const Grpc__Health__V1__HealthCheckRequest *req =
		(const Grpc__Health__V1__HealthCheckRequest *)m;
	Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
	int last = -1;

	/* Watch reports an unknown service as SERVICE_UNKNOWN, not an error. */
	while (rpc_stream_alive(s)) {
		int now =
			known_service(req->service)
				? (int)current(ctx->app)
				: GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
		if (now != last) {
			resp.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)now;
			if (rpc_stream_send(s, &resp.base, st) != 0) {
				if (st->code == HV_CANCELLED)
					hv_status_ok(st);
				return;
			}
			last = now;
		}
		struct timespec ts = { 0, 200 * 1000000L };
		nanosleep(&ts, NULL);
	}
}
