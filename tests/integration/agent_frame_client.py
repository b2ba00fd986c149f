#!/usr/bin/python3
"""agent_frame_client.py - the gRPC side of agent_frame.c's comparisons: the
same calls over gRPC (Debian's python3-grpcio) on the same unix socket, with
the helpers of agent_robust_client.py.

usage: agent_frame_client.py PROTO_DIR WORK_DIR MODE ARGS...
  getvm SOCKET NAME     prints "name|id|uuid|state|reason|vcpus|pcpus|memory|image"
  listvms SOCKET        prints one such line per VM
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agent_robust_client as rc  # noqa: E402


def line(v):
    return "%s|%u|%s|%d|%d|%u|%u|%u|%s" % (v.name, v.id, v.uuid, v.state, v.reason, v.vcpus,
                                          v.pcpu_mask, v.memory_bytes, v.image_version)


def main():
    proto_dir, work, mode, sock = sys.argv[1:5]
    pb = rc.load_pb(proto_dir, work)
    api = rc.Api(pb, rc.channel(sock))
    if mode == "getvm":
        print(line(api.call("GetVm", vm=sys.argv[5]).vm), flush=True)
    else:
        for v in api.call("ListVms").vms:
            print(line(v), flush=True)


if __name__ == "__main__":
    main()
