#!/usr/bin/python3
"""agent_mtls_client.py - backend tooling's view of hv-agent: gRPC over TCP
with mutual TLS, certificates from `hvctl pki init`, authorization by the
role in the client certificate (agent/auth/roles.c). Run by agent_python.c
against a live hv-agent (fake hv-core: VM 0 "linux" running, VM 1 "rtos" off).

Also: clients without a certificate, or with one from another CA
(FOREIGN_PKI_DIR, made by a second `hvctl pki init`), are refused in the TLS
handshake (UNAVAILABLE); agent_python.c checks in hv-agent's log that none of
their attempts became a call. The authenticated clients here make exactly 5
calls, 2 of them refused by role.

usage: agent_mtls_client.py PROTO_DIR WORK_DIR PKI_DIR PORT [FOREIGN_PKI_DIR]
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

    foreign = sys.argv[5] if len(sys.argv) > 5 else None

    def read(name, where=pki):
        with open(os.path.join(where, name), "rb") as f:
            return f.read()

    target = "127.0.0.1:" + port

    def channel(role, where=pki):
        # The server is always verified against the fleet CA; the client
        # pair may come from another PKI.
        if role is None:
            creds = grpc.ssl_channel_credentials(root_certificates=read("ca.crt"))
        else:
            creds = grpc.ssl_channel_credentials(root_certificates=read("ca.crt"),
                                                 private_key=read(role + ".key", where),
                                                 certificate_chain=read(role + ".crt", where))
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
    chans = [viewer, operator, admin, anonymous]

    if foreign:
        # An admin certificate, but issued by a CA hv-agent does not trust:
        # refused in the handshake, for reads and changes alike.
        stranger = channel("admin", foreign)
        for name, req, resp in (("ListVms", pb.ListVmsRequest(), pb.ListVmsResponse),
                                ("Destroy", pb.DestroyRequest(vm=pb.VmSelector(name="linux")),
                                 pb.LifecycleResponse)):
            code, msg = code_of(lambda: call(stranger, name, req, resp))
            check(code == grpc.StatusCode.UNAVAILABLE, "foreign CA %s: %s %s" % (name, code, msg))
        chans.append(stranger)

    for ch in chans:
        ch.close()
    print("ok")


if __name__ == "__main__":
    main()
