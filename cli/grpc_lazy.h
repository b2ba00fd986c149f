/*
 * grpc_lazy.h - hvctl loads the gRPC C core on first use.
 *
 * Most hvctl commands make unary calls over hv-agent's local frame protocol
 * and never need gRPC; linking it would have the dynamic loader map and
 * relocate its ~60 libraries (gRPC, abseil, OpenSSL) at every start. So
 * hvctl is built with HVC_GRPC_LAZY: the gRPC functions that client.c and
 * grpc_setup.c call are a table of pointers, filled by hvc_grpc_load() from
 * the libgrpc the build found (HVC_GRPC_SONAME) the first time a command
 * needs gRPC (a stream, an upload, a tls:// target, --grpc, an hv-agent
 * without frames). Without HVC_GRPC_LAZY (the RPC benchmark, the tests that
 * build client.c) the calls are plain calls to a linked libgrpc.
 *
 * Include this after every other header: each gRPC function name becomes a
 * call through the table.
 */
#ifndef HVC_GRPC_LAZY_H
#define HVC_GRPC_LAZY_H

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "status.h"

#ifdef HVC_GRPC_LAZY

/* Every gRPC and gpr function hvctl calls (nm -u of a linked hvctl). */
#define HVC_GRPC_FNS(X)                                                                            \
	X(gpr_free)                                                                                \
	X(gpr_inf_future)                                                                          \
	X(gpr_now)                                                                                 \
	X(gpr_time_add)                                                                            \
	X(gpr_time_from_millis)                                                                    \
	X(grpc_byte_buffer_destroy)                                                                \
	X(grpc_byte_buffer_reader_destroy)                                                         \
	X(grpc_byte_buffer_reader_init)                                                            \
	X(grpc_byte_buffer_reader_readall)                                                         \
	X(grpc_call_cancel)                                                                        \
	X(grpc_call_start_batch)                                                                   \
	X(grpc_call_unref)                                                                         \
	X(grpc_channel_check_connectivity_state)                                                   \
	X(grpc_channel_create)                                                                     \
	X(grpc_channel_create_call)                                                                \
	X(grpc_channel_credentials_release)                                                        \
	X(grpc_channel_destroy)                                                                    \
	X(grpc_channel_watch_connectivity_state)                                                   \
	X(grpc_completion_queue_create_for_pluck)                                                  \
	X(grpc_completion_queue_destroy)                                                           \
	X(grpc_completion_queue_pluck)                                                             \
	X(grpc_completion_queue_shutdown)                                                          \
	X(grpc_empty_slice)                                                                        \
	X(grpc_init)                                                                               \
	X(grpc_local_credentials_create)                                                           \
	X(grpc_metadata_array_destroy)                                                             \
	X(grpc_metadata_array_init)                                                                \
	X(grpc_raw_byte_buffer_create)                                                             \
	X(grpc_shutdown_blocking)                                                                  \
	X(grpc_slice_from_copied_buffer)                                                           \
	X(grpc_slice_from_copied_string)                                                           \
	X(grpc_slice_to_c_string)                                                                  \
	X(grpc_slice_unref)                                                                        \
	X(grpc_ssl_credentials_create)

struct hvc_grpc_fns {
#define HVC_GRPC_PTR(n) __typeof__(n) *n;
	HVC_GRPC_FNS(HVC_GRPC_PTR)
#undef HVC_GRPC_PTR
};
extern struct hvc_grpc_fns hvc_grpc;

/* Loads libgrpc and fills hvc_grpc, once; -1 with st UNAVAILABLE naming the
 * library and what is missing. */
int hvc_grpc_load(struct hv_status *st);

#define gpr_free (*hvc_grpc.gpr_free)
#define gpr_inf_future (*hvc_grpc.gpr_inf_future)
#define gpr_now (*hvc_grpc.gpr_now)
#define gpr_time_add (*hvc_grpc.gpr_time_add)
#define gpr_time_from_millis (*hvc_grpc.gpr_time_from_millis)
#define grpc_byte_buffer_destroy (*hvc_grpc.grpc_byte_buffer_destroy)
#define grpc_byte_buffer_reader_destroy (*hvc_grpc.grpc_byte_buffer_reader_destroy)
#define grpc_byte_buffer_reader_init (*hvc_grpc.grpc_byte_buffer_reader_init)
#define grpc_byte_buffer_reader_readall (*hvc_grpc.grpc_byte_buffer_reader_readall)
#define grpc_call_cancel (*hvc_grpc.grpc_call_cancel)
#define grpc_call_start_batch (*hvc_grpc.grpc_call_start_batch)
#define grpc_call_unref (*hvc_grpc.grpc_call_unref)
#define grpc_channel_check_connectivity_state (*hvc_grpc.grpc_channel_check_connectivity_state)
#define grpc_channel_create (*hvc_grpc.grpc_channel_create)
#define grpc_channel_create_call (*hvc_grpc.grpc_channel_create_call)
#define grpc_channel_credentials_release (*hvc_grpc.grpc_channel_credentials_release)
#define grpc_channel_destroy (*hvc_grpc.grpc_channel_destroy)
#define grpc_channel_watch_connectivity_state (*hvc_grpc.grpc_channel_watch_connectivity_state)
#define grpc_completion_queue_create_for_pluck (*hvc_grpc.grpc_completion_queue_create_for_pluck)
#define grpc_completion_queue_destroy (*hvc_grpc.grpc_completion_queue_destroy)
#define grpc_completion_queue_pluck (*hvc_grpc.grpc_completion_queue_pluck)
#define grpc_completion_queue_shutdown (*hvc_grpc.grpc_completion_queue_shutdown)
#define grpc_empty_slice (*hvc_grpc.grpc_empty_slice)
#define grpc_init (*hvc_grpc.grpc_init)
#define grpc_local_credentials_create (*hvc_grpc.grpc_local_credentials_create)
#define grpc_metadata_array_destroy (*hvc_grpc.grpc_metadata_array_destroy)
#define grpc_metadata_array_init (*hvc_grpc.grpc_metadata_array_init)
#define grpc_raw_byte_buffer_create (*hvc_grpc.grpc_raw_byte_buffer_create)
#define grpc_shutdown_blocking (*hvc_grpc.grpc_shutdown_blocking)
#define grpc_slice_from_copied_buffer (*hvc_grpc.grpc_slice_from_copied_buffer)
#define grpc_slice_from_copied_string (*hvc_grpc.grpc_slice_from_copied_string)
#define grpc_slice_to_c_string (*hvc_grpc.grpc_slice_to_c_string)
#define grpc_slice_unref (*hvc_grpc.grpc_slice_unref)
#define grpc_ssl_credentials_create (*hvc_grpc.grpc_ssl_credentials_create)

#else

static inline int hvc_grpc_load(struct hv_status *st)
{
	(void)st;
	return 0;
}

#endif /* HVC_GRPC_LAZY */

#endif /* HVC_GRPC_LAZY_H */
