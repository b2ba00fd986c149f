#!/usr/bin/python3
"""agent_python_alarms.py - the independent client (Debian's python3-grpcio)
follows WatchHealth in on-change mode for one VM that is restarted by its
watchdog until its restart budget is used up, then resumes the stream.

The VM (hb-restart: its heartbeat stops after five beats, restart policy,
budget of one restart) is started by the test after MARKER is written. The
first stream must show the HEARTBEAT_STOPPED alarm, the LAST_RESTART_ATTEMPT
alarm and finally the VM CRASHED. A second stream resumed after the first
event update's event_seq must replay the same event updates, in order. The
waits are bounded by the calls' deadlines; nothing here measures time. Prints
one line per update and "ok"; any failure: a message and exit 1.

usage: agent_python_alarms.py PROTO_DIR WORK_DIR SOCKET VM MARKER
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
    event_causes = (pb.HealthUpdate.CAUSE_STATE_CHANGE, pb.HealthUpdate.CAUSE_FAULT)

    def show(tag, up):
        alarms = ",".join("%s:%s" % (pb.HealthAlarmKind.Name(a.kind), a.vm_name) for a in up.alarms)
        print("%s %s seq=%d vm=%s vms=%s alarms=%s" % (
            tag, pb.HealthUpdate.Cause.Name(up.cause), up.event_seq, up.event_vm,
            ",".join("%s:%s:left=%d/%d" % (v.name, pb.VmState.Name(v.state), v.restarts_left,
                                           v.restart_budget) for v in up.vms),
            alarms), flush=True)

    req = pb.WatchHealthRequest(on_change=True, heartbeat_stall_ms=100, vm=pb.VmSelector(name=vm))
    stream = watch(req, timeout=240)
    first = True
    seqs = []
    seen = set()
    try:
        for up in stream:
            show("A", up)
            if first:
                check(up.cause == pb.HealthUpdate.CAUSE_SAMPLE, "the first update is a sample")
                check(len(up.vms) == 1 and up.vms[0].name == vm, "the update carries %s only" % vm)
                check(up.vms[0].restart_budget == 1, "%s's restart budget is 1" % vm)
                with open(marker, "w") as f:
                    f.write("open\n")
                first = False
                continue
            if up.cause in event_causes:
                seqs.append(up.event_seq)
            for a in up.alarms:
                if a.vm_name == vm:
                    seen.add(a.kind)
            if up.vms and up.vms[0].state == pb.VM_STATE_CRASHED:
                break
    except grpc.RpcError as e:
        check(False, "stream ended: %s %s" % (e.code(), e.details()))
    stream.cancel()
    check(pb.HEALTH_ALARM_HEARTBEAT_STOPPED in seen, "a HEARTBEAT_STOPPED alarm for " + vm)
    check(pb.HEALTH_ALARM_LAST_RESTART_ATTEMPT in seen, "a LAST_RESTART_ATTEMPT alarm for " + vm)
    check(len(seqs) >= 3, "event updates for start, restart and stop: %r" % seqs)

    # Resume after the first event update: the same event updates again, in order.
    want = seqs[1:]
    got = []
    req = pb.WatchHealthRequest(on_change=True, resume_after_seq=seqs[0], vm=pb.VmSelector(name=vm))
    stream = watch(req, timeout=120)
    try:
        for up in stream:
            show("B", up)
            if up.cause in event_causes:
                got.append(up.event_seq)
            if len(got) >= len(want):
                break
    except grpc.RpcError as e:
        check(False, "resumed stream ended: %s %s" % (e.code(), e.details()))
    stream.cancel()
    check(got == want, "the resumed stream replays %r, got %r" % (want, got))
    print("ok", flush=True)


if __name__ == "__main__":
    main()
