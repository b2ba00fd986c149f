"""hvmgr_local.py - what the independent Python clients of the tests share
(agent_python_*.py; Debian's python3-grpcio and python3-protobuf): the
messages generated from the product's .proto by protoc at test time, a
channel to hv-agent's unix socket, and a check that fails the script.
"""
import importlib.util
import os
import subprocess
import sys

import grpc


def check(cond, what):
    """Exits 1 with "FAILED: what" on stderr unless cond holds."""
    if not cond:
        print("FAILED: " + what, file=sys.stderr, flush=True)
        sys.exit(1)


def load_messages(proto_dir, work):
    """hvmgr/v1/hvmgr.proto of proto_dir compiled into work, imported."""
    subprocess.run(["protoc", "-I", proto_dir, "--python_out", work, "hvmgr/v1/hvmgr.proto"], check=True)
    spec = importlib.util.spec_from_file_location("hvmgr_pb2", os.path.join(work, "hvmgr/v1/hvmgr_pb2.py"))
    pb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pb)
    return pb


def unix_channel(path):
    """A channel to hv-agent's unix socket at path (local credentials)."""
    return grpc.secure_channel("unix:" + path, grpc.local_channel_credentials(grpc.LocalConnectionType.UDS))
