#!/usr/bin/python3
"""agent_python_console.py - the independent client (Debian's python3-grpcio)
drives the Console stream of hv-agent over the test double of hv-core, whose
guest echoes what it receives (WRITE_CONSOLE, MGMT-801) onto its console.

Checks: the first session writes and sees its echo; a second one is told who
writes, reads the same output, and is ended with FAILED_PRECONDITION when it
types; the read-only socket is refused; a half-close ends a session with OK
and frees the writer's seat; a missing or unknown VM and typing at a stopped
VM are refused with the rule named. Waits are bounded by the calls'
deadlines; nothing measures time. Prints "ok"; any failure: a message, exit 1.

usage: agent_python_console.py PROTO_DIR WORK_DIR SOCKET RO_SOCKET
"""
import queue
import sys

import grpc
from hvmgr_local import check, load_messages, unix_channel


def main():
    proto_dir, work, sock, ro_sock = sys.argv[1:5]
    pb = load_messages(proto_dir, work)

    def console_of(ch):
        return ch.stream_stream("/hvmgr.v1.Hvmgr/Console",
                                request_serializer=pb.ConsoleInput.SerializeToString,
                                response_deserializer=pb.ConsoleOutput.FromString)

    class Session:
        def __init__(self, ch, first):
            self.q = queue.Queue()
            self.q.put(first)

            def inputs():
                while True:
                    m = self.q.get()
                    if m is None:
                        return
                    yield m
            self.call = console_of(ch)(inputs(), timeout=60)
            self.seen = b""

        def send(self, data):
            self.q.put(pb.ConsoleInput(data=data))

        def close(self):
            self.q.put(None)

        def first(self):
            return next(self.call)

        def until(self, text):
            while text not in self.seen:
                self.seen += next(self.call).data
            return self.seen

    ch = unix_channel(sock)
    a = Session(ch, pb.ConsoleInput(vm=pb.VmSelector(name="linux")))
    fa = a.first()
    check(fa.writer and fa.vm_name == "linux", "the first session writes: %r" % fa)
    b = Session(ch, pb.ConsoleInput(vm=pb.VmSelector(name="linux")))
    fb = b.first()
    check(not fb.writer and "writes to the console of 'linux'" in fb.notice,
          "the second session reads only and is told why: %r" % fb)

    a.send(b"uname -a\r")
    a.until(b"uname -a\r")
    b.until(b"uname -a\r")

    b.send(b"x")
    try:
        while True:
            next(b.call)
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.FAILED_PRECONDITION and "read-only" in e.details(),
              "typing in a read-only session: %s %s" % (e.code(), e.details()))

    ro = Session(unix_channel(ro_sock), pb.ConsoleInput(vm=pb.VmSelector(name="linux")))
    try:
        ro.first()
        check(False, "the read-only socket opened a console")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.PERMISSION_DENIED, "read-only socket: %s %s" % (e.code(), e.details()))
    ro.close()

    a.close()
    try:
        for _ in a.call:
            pass
    except grpc.RpcError as e:
        check(False, "a half-close ends the session with OK, not %s %s" % (e.code(), e.details()))

    c = Session(ch, pb.ConsoleInput(vm=pb.VmSelector(name="linux"), history_bytes=64))
    fc = c.first()
    check(fc.writer, "the writer's seat is free again: %r" % fc)
    c.until(b"uname -a\r")  # history_bytes: what was written before
    c.close()
    for _ in c.call:
        pass

    for first, code, words in (
            (pb.ConsoleInput(), grpc.StatusCode.INVALID_ARGUMENT, "vm is missing"),
            (pb.ConsoleInput(vm=pb.VmSelector(name="nope")), grpc.StatusCode.NOT_FOUND, "nope"),
            (pb.ConsoleInput(vm=pb.VmSelector(name="rtos"), data=b"x"), grpc.StatusCode.FAILED_PRECONDITION,
             "SHUTOFF")):
        s = Session(ch, first)
        s.close()
        try:
            for _ in s.call:
                pass
            check(False, "%r was not refused" % first)
        except grpc.RpcError as e:
            check(e.code() == code and words in e.details(), "%r: %s %s" % (first, e.code(), e.details()))
    print("ok", flush=True)


if __name__ == "__main__":
    main()
