#!/usr/bin/python3
"""agent_python_health.py - the independent client (Debian's python3-grpcio,
messages from `protoc --python_out`) follows WatchHealth in on-change mode
while a misbehaving guest is started and faults. Run by agent_telemetry.c
against real hv-core under QEMU.

After the first update (the initial sample) it writes MARKER: the stream is
open. Then it waits for an update with cause FAULT about VM, checks that the
update carries the VM's figures with its fault counter, prints one line per
update and "ok", and exits 0. The wait is bounded by the call's deadline;
nothing here measures time. Any failure: a message and exit 1.

usage: agent_python_health.py PROTO_DIR WORK_DIR SOCKET VM MARKER
"""
import sys

import grpc
from hvmgr_local import check, load_messages, unix_channel


def main():
    proto_dir, work, sock, vm, marker = sys.argv[1:6]
    pb = load_messages(proto_dir, work)

    ch = unix_channel(sock)
    watch = ch.unary_stream("/hvmgr.v1.Hvmgr/WatchHealth",
                            request_serializer=pb.WatchHealthRequest.SerializeToString,
                            response_deserializer=pb.HealthUpdate.FromString)
    stream = watch(pb.WatchHealthRequest(on_change=True), timeout=240)
    first = True
    try:
        for up in stream:
            cause = pb.HealthUpdate.Cause.Name(up.cause)
            print("%s seq=%d vm=%s hv_up=%s vms=%s" % (
                cause, up.event_seq, up.event_vm, up.hv_up,
                ",".join("%s:%s:faults=%d" % (v.name, pb.VmState.Name(v.state), v.faults) for v in up.vms)),
                flush=True)
            if first:
                check(up.cause == pb.HealthUpdate.CAUSE_SAMPLE, "the first update is a sample")
                check(up.hv_up, "hv-core is up")
                with open(marker, "w") as f:
                    f.write("open\n")
                first = False
                continue
            if up.cause == pb.HealthUpdate.CAUSE_FAULT and up.event_vm == vm:
                mine = [v for v in up.vms if v.name == vm]
                check(len(mine) == 1, "the update carries %s's figures" % vm)
                check(mine[0].have_stats and mine[0].faults >= 1,
                      "%s's fault counter counts the fault: %r" % (vm, mine[0]))
                stream.cancel()
                print("ok", flush=True)
                return
    except grpc.RpcError as e:
        check(False, "stream ended: %s %s" % (e.code(), e.details()))
    check(False, "stream ended without a FAULT update for " + vm)


if __name__ == "__main__":
    main()
