#!/usr/bin/python3
"""agent_grpc_client.py - an independent client of hv-agent's API.

Proves hvmgr.v1 is usable from outside C: Debian's python3-grpcio with message
classes generated from proto/ by `protoc --python_out` (python3-grpc-tools is
too old to generate stubs, so methods are called by path, docs/dependencies.md). Run by
agent_python.c against a live hv-agent whose management region is the fake
hv-core of the tests, which defines VM 0 "linux" (running) and VM 1 "rtos"
(shut off).

usage: agent_grpc_client.py PROTO_DIR WORK_DIR RW_SOCKET RO_SOCKET
Exits 0 when every check passed; prints the first failure otherwise.
"""
import importlib.util
import os
import subprocess
import sys

import grpc


def generate(proto_dir, work):
    subprocess.run(["protoc", "-I", proto_dir, "--python_out", work,
                    "hvmgr/v1/hvmgr.proto", "grpc/health/v1/health.proto"],
                   check=True)


def load(work, rel, name):
    # Loaded by file: the generated grpc/health/... would clash with the
    # installed `grpc` package if imported by its package path.
    spec = importlib.util.spec_from_file_location(name, os.path.join(work, rel))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def check(cond, what):
    if not cond:
        print("FAILED: " + what, file=sys.stderr)
        sys.exit(1)


def main():
    proto_dir, work, rw, ro = sys.argv[1:5]
    generate(proto_dir, work)
    pb = load(work, "hvmgr/v1/hvmgr_pb2.py", "hvmgr_pb2")
    health = load(work, "grpc/health/v1/health_pb2.py", "health_pb2")

    creds = grpc.local_channel_credentials(grpc.LocalConnectionType.UDS)
    ch = grpc.secure_channel("unix:" + rw, creds)
    ro_ch = grpc.secure_channel("unix:" + ro, creds)

    def method(channel, name, req_cls, resp_cls, stream=False, service="hvmgr.v1.Hvmgr"):
        path = "/%s/%s" % (service, name)
        make = channel.unary_stream if stream else channel.unary_unary
        return make(path, request_serializer=req_cls.SerializeToString,
                    response_deserializer=resp_cls.FromString)

    list_vms = method(ch, "ListVms", pb.ListVmsRequest, pb.ListVmsResponse)
    r = list_vms(pb.ListVmsRequest(), timeout=10)
    check([v.name for v in r.vms] == ["linux", "rtos"], "ListVms names: %r" % r)
    check(r.vms[0].state == pb.VM_STATE_RUNNING, "linux is running")
    check(r.vms[1].state == pb.VM_STATE_SHUTOFF, "rtos is shut off")
    r = list_vms(pb.ListVmsRequest(active_only=True), timeout=10)
    check([v.name for v in r.vms] == ["linux"], "active_only: %r" % r)

    get_vm = method(ch, "GetVm", pb.GetVmRequest, pb.GetVmResponse)
    r = get_vm(pb.GetVmRequest(vm=pb.VmSelector(name="linux")), timeout=10)
    check(r.vm.id == 0 and r.vm.vcpus == 2 and r.vm.image_version == "1.2.3", "GetVm linux: %r" % r)
    try:
        get_vm(pb.GetVmRequest(vm=pb.VmSelector(name="nope")), timeout=10)
        check(False, "GetVm nope should fail")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.NOT_FOUND, "NOT_FOUND, got %s" % e.code())
        check("nope" in e.details(), "message names the VM: %s" % e.details())
    try:
        get_vm(pb.GetVmRequest(), timeout=10)
        check(False, "GetVm without selector should fail")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT, got %s" % e.code())

    raw_get_vm = ch.unary_unary("/hvmgr.v1.Hvmgr/GetVm", request_serializer=None,
                                response_deserializer=None)
    try:
        raw_get_vm(b"\xff\xff\xff\xff", timeout=10)
        check(False, "garbage request should fail")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, "garbage: INVALID_ARGUMENT, got %s" % e.code())
        check("malformed" in e.details(), "garbage message: %s" % e.details())

    # Read-only socket: reads pass, changes are refused, nothing changes.
    ro_start = method(ro_ch, "Start", pb.StartRequest, pb.LifecycleResponse)
    try:
        ro_start(pb.StartRequest(vm=pb.VmSelector(name="rtos")), timeout=10)
        check(False, "Start on the read-only socket should fail")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED, got %s" % e.code())
    r = method(ro_ch, "GetVm", pb.GetVmRequest, pb.GetVmResponse)(
        pb.GetVmRequest(vm=pb.VmSelector(id=1)), timeout=10)
    check(r.vm.state == pb.VM_STATE_SHUTOFF, "rtos unchanged")

    start = method(ch, "Start", pb.StartRequest, pb.LifecycleResponse)
    r = start(pb.StartRequest(vm=pb.VmSelector(name="rtos")), timeout=10)
    check(r.vm.state == pb.VM_STATE_RUNNING and r.vm.reason == pb.VM_REASON_BOOTED, "Start: %r" % r)
    try:
        start(pb.StartRequest(vm=pb.VmSelector(name="rtos")), timeout=10)
        check(False, "second Start should fail")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.FAILED_PRECONDITION, "FAILED_PRECONDITION, got %s" % e.code())

    watch = method(ch, "WatchEvents", pb.WatchEventsRequest, pb.Event, stream=True)
    stream = watch(pb.WatchEventsRequest(start=pb.WatchEventsRequest.START_OLDEST), timeout=30)
    ev = next(stream)
    check(ev.type == pb.EVENT_TYPE_STARTED and ev.vm_name == "rtos", "first event: %r" % ev)
    stream.cancel()

    ver = method(ch, "GetVersion", pb.GetVersionRequest, pb.GetVersionResponse)(
        pb.GetVersionRequest(), timeout=10)
    check(ver.api == "hvmgr.v1" and "start" in ver.capabilities, "GetVersion: %r" % ver)

    check_health = method(ch, "Check", health.HealthCheckRequest, health.HealthCheckResponse,
                          service="grpc.health.v1.Health")
    h = check_health(health.HealthCheckRequest(service=""), timeout=10)
    check(h.status == health.HealthCheckResponse.SERVING, "health: %r" % h)

    watch_health = method(ch, "Watch", health.HealthCheckRequest, health.HealthCheckResponse,
                          stream=True, service="grpc.health.v1.Health")
    hs = watch_health(health.HealthCheckRequest(service="hvmgr.v1.Hvmgr"), timeout=30)
    check(next(hs).status == health.HealthCheckResponse.SERVING, "health watch")
    hs.cancel()
    hs = watch_health(health.HealthCheckRequest(service="other"), timeout=30)
    check(next(hs).status == health.HealthCheckResponse.SERVICE_UNKNOWN, "health watch unknown")
    hs.cancel()
    try:
        check_health(health.HealthCheckRequest(service="other"), timeout=10)
        check(False, "health check of an unknown service should fail")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.NOT_FOUND, "health NOT_FOUND, got %s" % e.code())

    unknown = method(ch, "Frobnicate", pb.GetVersionRequest, pb.GetVersionResponse)
    try:
        unknown(pb.GetVersionRequest(), timeout=10)
        check(False, "unknown method should fail")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.UNIMPLEMENTED, "UNIMPLEMENTED, got %s" % e.code())

    ch.close()
    ro_ch.close()
    print("ok")


if __name__ == "__main__":
    main()
