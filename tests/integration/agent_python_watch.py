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
import sys

import grpc
from hvmgr_local import check, load_messages, unix_channel


def main():
    proto_dir, work, sock, vm, marker = sys.argv[1:6]
    pb = load_messages(proto_dir, work)

    ch = unix_channel(sock)
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
