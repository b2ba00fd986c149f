#!/usr/bin/python3
"""agent_python_health_ota.py - the independent client (Debian's
python3-grpcio, messages from `protoc --python_out`) follows WatchHealth in
on-change mode while an OTA bundle is installed, tried and confirmed, and
checks that the update of the confirmation carries the VM's A/B slots with
the values /metrics shows for them (the same registry). Run by agent_ota.c
against the real hv-agent and the test double of hv-core, and by
hvctl_ota_stack.c against hv-core under QEMU.

After the first update (the initial sample) it writes MARKER: the stream is
open. Then it waits for a CAUSE_OTA update about VM whose active slot is good
at VERSION after a confirmation, scrapes /metrics on 127.0.0.1:PORT, compares every hv_vm_ota_*
series of VM with the update's fields, prints one line per update and "ok",
and exits 0. Waits are bounded by the call's deadline; nothing here measures
time. Any failure: a message and exit 1.

usage: agent_python_health_ota.py PROTO_DIR WORK_DIR SOCKET VM MARKER PORT VERSION
"""
import re
import sys
import urllib.request

import grpc
from hvmgr_local import check, load_messages, unix_channel


def metrics_of(port, vm):
    """The hv_vm_ota_* series of vm in one scrape: {name: [(labels, value)]}."""
    body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=30).read().decode()
    found = {}
    for line in body.splitlines():
        m = re.match(r'^(hv_vm_ota_[a-z_]+)\{(.*)\} (\S+)$', line)
        if not m:
            continue
        labels = dict(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', m.group(2)))
        if labels.get("name") == vm:
            found.setdefault(m.group(1), []).append((labels, m.group(3)))
    return found


def compare(v, series):
    """Every OTA field of the VmHealth v against the scraped series."""
    slots = {lab["slot"]: lab for lab, val in series.get("hv_vm_ota_slot_info", []) if val == "1"}
    check(set(slots) == {"A", "B"}, "/metrics shows slots A and B: %r" % series)
    check(slots["A"]["state"] == v.ota_a_state and slots["A"]["version"] == v.ota_a_version,
          "slot A: stream %s %s, /metrics %r" % (v.ota_a_state, v.ota_a_version, slots["A"]))
    check(slots["B"]["state"] == v.ota_b_state and slots["B"]["version"] == v.ota_b_version,
          "slot B: stream %s %s, /metrics %r" % (v.ota_b_state, v.ota_b_version, slots["B"]))
    active = [lab["slot"] for lab, val in series.get("hv_vm_ota_active_slot", []) if val == "1"]
    check(active == [v.ota_active_slot], "active slot: stream %s, /metrics %r" % (v.ota_active_slot, active))
    trial = [val for lab, val in series.get("hv_vm_ota_in_trial", [])]
    check(trial == ["1" if v.ota_in_trial else "0"], "trial: stream %s, /metrics %r" % (v.ota_in_trial, trial))
    info = [lab for lab, val in series.get("hv_vm_ota_info", []) if val == "1"]
    check(len(info) == 1 and info[0]["floor"] == v.ota_floor and info[0]["last_result"] == v.ota_last_result,
          "floor and last result: stream %s %s, /metrics %r" % (v.ota_floor, v.ota_last_result, info))


def main():
    proto_dir, work, sock, vm, marker, port, version = sys.argv[1:8]
    pb = load_messages(proto_dir, work)

    ch = unix_channel(sock)
    watch = ch.unary_stream("/hvmgr.v1.Hvmgr/WatchHealth",
                            request_serializer=pb.WatchHealthRequest.SerializeToString,
                            response_deserializer=pb.HealthUpdate.FromString)
    stream = watch(pb.WatchHealthRequest(on_change=True), timeout=200)
    first = True
    try:
        for up in stream:
            cause = pb.HealthUpdate.Cause.Name(up.cause)
            print("%s seq=%d vm=%s %s" % (cause, up.event_seq, up.event_vm, ",".join(
                "%s:have_ota=%s:active=%s:trial=%s:A=%s/%s:B=%s/%s:floor=%s:result=%s" % (
                    v.name, v.have_ota, v.ota_active_slot, v.ota_in_trial, v.ota_a_state,
                    v.ota_a_version, v.ota_b_state, v.ota_b_version, v.ota_floor,
                    v.ota_last_result) for v in up.vms)), flush=True)
            mine = [v for v in up.vms if v.name == vm]
            if first:
                check(up.cause == pb.HealthUpdate.CAUSE_SAMPLE, "the first update is a sample")
                check(len(mine) == 1 and mine[0].have_ota, "the first update carries %s's slots" % vm)
                with open(marker, "w") as f:
                    f.write("open\n")
                first = False
                continue
            if up.cause != pb.HealthUpdate.CAUSE_OTA or up.event_vm != vm:
                continue
            check(len(mine) == 1 and mine[0].have_ota, "the OTA update carries %s's slots" % vm)
            v = mine[0]
            act = (v.ota_a_state, v.ota_a_version) if v.ota_active_slot == "A" else (v.ota_b_state, v.ota_b_version)
            if act == ("good", version) and v.ota_last_result == "confirmed":
                compare(v, metrics_of(port, vm))
                stream.cancel()
                print("ok", flush=True)
                return
    except grpc.RpcError as e:
        check(False, "stream ended: %s %s" % (e.code(), e.details()))
    check(False, "stream ended without a confirmed OTA update for " + vm)


if __name__ == "__main__":
    main()
