#!/usr/bin/python3
"""agent_python_watch.py - the independent client (Debian's python3-grpcio,
messages from `protoc --python_out`) follows WatchEvents for one VM while
something else stops and starts it. Run by agent_python_qemu.c against real
hv-core under QEMU.

Opens the stream from the oldest event hv-agent holds, so the VM's boot events
arrive at once; after the first one it writes MARKER (the stream is open and
live). Then it waits for a STOPPED event with reason DESTROYED followed by a
STARTED event, checks sequence numbers grow and names match, prints one line
per event seen and "ok", and exits 0. Any failure: a message and exit 1.

usage: agent_python_watch.py PROTO_DIR WORK_DIR SOCKET VM MARKER
"""
import importlib.util
import os
import subprocess
import sys

import grpc


def check(cond, what):
    if not cond:
        print("FAILED: " + what, file=sys.stderr, flush=True)
        sys.exit(1)


def main():
    proto_dir, work, sock, vm, marker = sys.argv[1:6]
    subprocess.run(["protoc", "-I", proto_dir, "--python_out", work, "hvmgr/v1/hvmgr.proto"], check=True)
    spec = importlib.util.spec_from_file_location("hvmgr_pb2", os.path.join(work, "hvmgr/v1/hvmgr_pb2.py"))
    pb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pb)

    ch = grpc.secure_channel("unix:" + sock, grpc.local_channel_credentials(grpc.LocalConnectionType.UDS))
    watch = ch.unary_stream("/hvmgr.v1.Hvmgr/WatchEvents",
                            request_serializer=pb.WatchEventsRequest.SerializeToString,
                            response_deserializer=pb.Event.FromString)
    stream = watch(pb.WatchEventsRequest(start=pb.WatchEventsRequest.START_OLDEST,
                                         vm=pb.VmSelector(name=vm)), timeout=240)
    last_seq = None
    destroyed = False
    try:
        for ev in stream:
            name = pb.EventType.Name(ev.type)
            print("%d %s %s reason=%s" % (ev.seq, name, ev.vm_name, pb.VmReason.Name(ev.reason)), flush=True)
            if last_seq is None:
                with open(marker, "w") as f:
                    f.write("open\n")
            else:
                check(ev.seq > last_seq, "sequence numbers grow: %d after %d" % (ev.seq, last_seq))
            last_seq = ev.seq
            check(ev.vm_name == vm, "event for another VM: %r" % ev)
            if ev.type == pb.EVENT_TYPE_STOPPED and ev.reason == pb.VM_REASON_DESTROYED:
                destroyed = True
            elif ev.type == pb.EVENT_TYPE_STARTED and destroyed:
                stream.cancel()
                print("ok", flush=True)
                return
    except grpc.RpcError as e:
        check(False, "stream ended: %s %s" % (e.code(), e.details()))
    check(False, "stream ended without STOPPED(destroyed) then STARTED")


if __name__ == "__main__":
    main()
