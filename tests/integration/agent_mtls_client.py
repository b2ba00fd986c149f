#!/usr/bin/python3
"""agent_mtls_client.py - backend tooling's view of hv-agent: gRPC over TCP
with mutual TLS, certificates from `hvctl pki init`, authorization by the
role in the client certificate (agent/auth/roles.c). Run by agent_python.c
against a live hv-agent (fake hv-core: VM 0 "linux" running, VM 1 "rtos" off).

usage: agent_mtls_client.py PROTO_DIR WORK_DIR PKI_DIR PORT
"""
import importlib.util
import os
import subprocess
import sys

import grpc


def check(cond, what):
    if not cond:
        print("FAILED: " + what, file=sys.stderr)
        sys.exit(1)


def main():
    proto_dir, work, pki, port = sys.argv[1:5]
    subprocess.run(["protoc", "-I", proto_dir, "--python_out", work, "hvmgr/v1/hvmgr.proto"], check=True)
    spec = importlib.util.spec_from_file_location("hvmgr_pb2", os.path.join(work, "hvmgr/v1/hvmgr_pb2.py"))
    pb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pb)

    def read(name):
        with open(os.path.join(pki, name), "rb") as f:
            return f.read()

    target = "127.0.0.1:" + port

    def channel(role):
        if role is None:
            creds = grpc.ssl_channel_credentials(root_certificates=read("ca.crt"))
        else:
            creds = grpc.ssl_channel_credentials(root_certificates=read("ca.crt"),
                                                 private_key=read(role + ".key"),
                                                 certificate_chain=read(role + ".crt"))
        return grpc.secure_channel(target, creds)

    def call(ch, name, req, resp_cls):
        return ch.unary_unary("/hvmgr.v1.Hvmgr/" + name, request_serializer=type(req).SerializeToString,
                              response_deserializer=resp_cls.FromString)(req, timeout=20)

    def code_of(fn):
        try:
            fn()
            return grpc.StatusCode.OK, ""
        except grpc.RpcError as e:
            return e.code(), e.details()

    viewer = channel("viewer")
    r = call(viewer, "ListVms", pb.ListVmsRequest(), pb.ListVmsResponse)
    check([v.name for v in r.vms] == ["linux", "rtos"], "viewer ListVms: %r" % r)
    code, msg = code_of(lambda: call(viewer, "Start", pb.StartRequest(vm=pb.VmSelector(name="rtos")),
                                     pb.LifecycleResponse))
    check(code == grpc.StatusCode.PERMISSION_DENIED, "viewer Start: %s %s" % (code, msg))
    check("viewer" in msg, "refusal names the role: %s" % msg)

    operator = channel("operator")
    r = call(operator, "Start", pb.StartRequest(vm=pb.VmSelector(name="rtos")), pb.LifecycleResponse)
    check(r.vm.state == pb.VM_STATE_RUNNING, "operator Start: %r" % r)
    code, msg = code_of(lambda: call(operator, "Define", pb.DefineRequest(config_dtb=b"\xd0\x0d\xfe\xed"),
                                     pb.DefineResponse))
    check(code == grpc.StatusCode.PERMISSION_DENIED, "operator Define: %s %s" % (code, msg))

    admin = channel("admin")
    code, msg = code_of(lambda: call(admin, "Define", pb.DefineRequest(config_dtb=b"not a tree"),
                                     pb.DefineResponse))
    check(code == grpc.StatusCode.INVALID_ARGUMENT, "admin Define garbage: %s %s" % (code, msg))

    anonymous = channel(None)
    code, msg = code_of(lambda: call(anonymous, "ListVms", pb.ListVmsRequest(), pb.ListVmsResponse))
    check(code == grpc.StatusCode.UNAVAILABLE, "no client certificate: %s %s" % (code, msg))

    for ch in (viewer, operator, admin, anonymous):
        ch.close()
    print("ok")


if __name__ == "__main__":
    main()
