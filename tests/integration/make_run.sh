#!/usr/bin/env bash
# The `make run` path (scripts/run.sh) end to end: it boots hv-core with the RTOS and Linux
# guests of its boot configuration, starts hv-agent with a development PKI and that boot
# configuration, `hvctl list --all` shows both guests running, both are in the store as
# revision 1 of origin "boot configuration" (dumpconfig, config-history), `hvctl --fleet`
# lists both through the local Mosquitto broker as vehicle dev-vehicle, the safety policy's
# "Done when" flow (the vehicle starts parked from the management source; while driving the
# ASIL rtos-demo is refused a shutdown with the rule named and keeps running, the running QM
# linux shuts down, and a shutdown of rtos-demo queued with --when-allowed is pending and runs
# once parked), the OTA "Done when" flow (2.0.0 confirmed, a broken 3.0.0 rolled back, 1.0.0
# refused as a rollback), the Linux guest's data disk counting one more boot across shutdown and
# start and across destroy and start, and an interrupt (what Ctrl-C sends) stops QEMU and hv-agent. Uses a fresh state directory
# and a free loopback port so it can run beside other tests.
# Usage: make_run.sh SOURCE_DIR BUILD_DIR
set -u
src=$1 build=$2
state=$(mktemp -d /tmp/hvrun-XXXXXX)
port=$(( 40000 + RANDOM % 20000 ))
run_pid=""
fail() { echo "FAIL: $*"; [ -f "$state/run.log" ] && tail -20 "$state/run.log"; exit 1; }
cleanup() {
  [ -n "$run_pid" ] && kill -INT -- -"$run_pid" 2>/dev/null
  sleep 1
  [ -f "$state/qemu.pid" ] && kill -KILL "$(cat "$state/qemu.pid")" 2>/dev/null
  [ -f "$state/hv-agent.pid" ] && kill -KILL "$(cat "$state/hv-agent.pid")" 2>/dev/null
  rm -rf "$state"
}
trap cleanup EXIT

[ -f "$build/hv-core-out/hvcore.bin" ] || { echo "SKIP: no hv-core image in $build"; exit 77; }
[ -f "$build/linux-guest/Image" ] || { echo "SKIP: no Linux guest in $build"; exit 77; }

cd "$src" || fail "no source dir"
# Its own process group, so the interrupt reaches run.sh and its children as Ctrl-C would.
fleet_port=$(( port + 1 ))
setsid env BUILD="$build" STATE="$state" LISTEN="127.0.0.1:$port" FLEET="127.0.0.1:$fleet_port" \
  bash scripts/run.sh \
  >"$state/run.log" 2>&1 &
run_pid=$!

hvctl() { "$build/bin/hvctl" --connect "unix://$state/hv-agent.sock" "$@"; }
ok=0
for _ in $(seq 1 600); do
  if out=$(hvctl list --all 2>/dev/null) && echo "$out" | grep -q "rtos-demo *running" &&
     echo "$out" | grep -q "linux *running"; then ok=1; break; fi
  kill -0 "$run_pid" 2>/dev/null || fail "run.sh exited early"
  sleep 0.2
done
[ $ok = 1 ] || fail "hvctl list --all never showed rtos-demo and linux running: $(hvctl list --all 2>&1)"
grep -q "The stack is up" "$state/run.log" || fail "run.sh did not print what to type next"
for f in ca.crt server.crt server.key admin.crt admin.key operator.crt viewer.crt; do
  [ -f "$state/pki/$f" ] || fail "development PKI lacks $f"
done
[ -S "$state/hv-agent-ro.sock" ] || fail "no read-only socket"
# The VMs come from the boot configuration and are adopted by hv-agent (docs/reconcile.md).
grep -q 'vm-name = "rtos-demo"' "$state/bootcfg.dts" || fail "no rtos-demo in the boot configuration"
# (hv-agent may have started before hv-core was READY: its watcher's pass adopts them then)
for _ in $(seq 1 300); do
  grep -q "adopt 'linux'" "$state/hv-agent.log" && grep -q "adopt 'rtos-demo'" "$state/hv-agent.log" && break
  sleep 0.1
done
grep -q "adopt 'linux'.*stored as revision 1, origin boot configuration" "$state/hv-agent.log" ||
  fail "hv-agent did not adopt linux: $(grep reconcile "$state/hv-agent.log" | tail -5)"
dump=$(hvctl dumpconfig linux --revision 1) || fail "hvctl dumpconfig linux --revision 1: $dump"
echo "$dump" | grep -q 'vm-name = "linux"' || fail "dumpconfig linux does not show its configuration: $dump"
echo "$dump" | grep -q 'image-sha256 = ' || fail "dumpconfig linux shows no image digest: $dump"
[ "$(hvctl dumpconfig linux)" = "$dump" ] || fail "the latest configuration of linux is not revision 1"
hvctl dominfo linux | grep -q "^Config rev: *1$" || fail "dominfo linux: $(hvctl dominfo linux)"
hist=$(hvctl config-history rtos-demo) || fail "hvctl config-history rtos-demo: $hist"
[ "$(echo "$hist" | grep -c '^ *[0-9]')" = 1 ] || fail "config-history rtos-demo is not one revision: $hist"
echo "$hist" | grep -q '^ *1 .*boot configuration' || fail "config-history rtos-demo lacks revision 1 by the boot configuration: $hist"
json=$(hvctl config-history rtos-demo --json) || fail "config-history --json: $json"
echo "$json" | grep -q '"revision": *1' || fail "config-history --json: $json"
echo "$json" | grep -q '"author": *"boot configuration"' || fail "config-history --json: $json"

hb1=$(hvctl dominfo rtos-demo | awk '/^Heartbeat:/{print $2}')
sleep 1
hb2=$(hvctl dominfo rtos-demo | awk '/^Heartbeat:/{print $2}')
# The fleet link: the same list through the broker, signed with the fleet-admin pair.
fleet() {
  "$build/bin/hvctl" --fleet "mqtts://127.0.0.1:$fleet_port" --vehicle dev-vehicle \
    --ca "$state/pki/fleet-ca.crt" --cert "$state/pki/fleet-admin.crt" \
    --key "$state/pki/fleet-admin.key" "$@"
}
ok=0
for _ in $(seq 1 60); do
  if out=$(fleet list --all 2>&1) && echo "$out" | grep -q "rtos-demo *running" &&
     echo "$out" | grep -q "linux *running"; then ok=1; break; fi
  sleep 0.5
done
[ $ok = 1 ] || fail "hvctl --fleet ... list --all never showed both guests: $out"
[ "${hb2:-0}" -gt "${hb1:-0}" ] || fail "rtos-demo heartbeat did not advance ($hb1 -> $hb2)"

# The safety policy (docs/mgmt-abi.md section 14, MGMT-450): the "Done when" flow.
# Bounded wait until `hvctl domstate VM` prints STATE.
wait_state() {
  for _ in $(seq 1 600); do
    [ "$(hvctl domstate "$1" 2>/dev/null)" = "$2" ] && return 0
    sleep 0.2
  done
  return 1
}
veh=$(hvctl vehicle) || fail "hvctl vehicle: $veh"
echo "$veh" | grep -q "^State: *parked$" || fail "make run does not start parked: $veh"
echo "$veh" | grep -q "^Source: *management$" || fail "make run's source is not management: $veh"
out=$(hvctl vehicle set driving 2>&1) || fail "hvctl vehicle set driving: $out"
out=$(hvctl shutdown rtos-demo 2>&1) && fail "shutdown rtos-demo while driving was not refused: $out"
echo "$out" | grep -q "(E_POLICY).*rule [0-9]*: no shutdown of ASIL-B when driving" ||
  fail "the refusal does not name the rule: $out"
[ "$(hvctl domstate rtos-demo)" = "running" ] || fail "rtos-demo is not running after the refusal"
out=$(hvctl shutdown linux 2>&1) || fail "shutdown linux (QM) while driving: $out"
wait_state linux "shut off" || fail "linux did not shut off: $(hvctl domstate linux 2>&1)"
out=$(hvctl shutdown rtos-demo --when-allowed 2>&1) || fail "shutdown rtos-demo --when-allowed: $out"
echo "$out" | grep -q "queued as pending command [0-9]*," || fail "not queued: $out"
out=$(hvctl pending) || fail "hvctl pending: $out"
echo "$out" | grep -q " shutdown  *rtos-demo  *pending " || fail "hvctl pending does not list it: $out"
[ "$(hvctl domstate rtos-demo)" = "running" ] || fail "the queued shutdown ran while driving"
out=$(hvctl vehicle set parked 2>&1) || fail "hvctl vehicle set parked: $out"
wait_state rtos-demo "shut off" || fail "the queued shutdown did not run when parked: $(hvctl pending --all 2>&1)"
out=$(hvctl pending --all) || fail "hvctl pending --all: $out"
echo "$out" | grep -q " shutdown  *rtos-demo  *done " || fail "the queued shutdown is not done: $out"

# OTA (docs/ota.md "hv-agent"): the "Done when" flow as a new user tries it. A 2.0.0
# rtos-demo image, bundled with the development signer, installs and is confirmed; a
# --broken 3.0.0 fails its trial and rtos-demo runs 2.0.0 again on its own; a 1.0.0
# bundle is refused as a rollback.
out=$(hvctl start rtos-demo 2>&1) || fail "hvctl start rtos-demo: $out"
try="$state/ota-try"
mkdir -p "$try"
bundle() { # VERSION [--broken]
  BUILD="$build" bash scripts/guest-image.sh rtos-demo --version "$1" ${2:-} -o "$try/rtos-$1.bin" \
    >/dev/null 2>&1 || fail "guest-image.sh rtos-demo --version $1 ${2:-}"
  "$build/bin/hvctl" ota bundle --key "$state/pki/update-signer.key" \
    --cert "$state/pki/update-signer.crt" -o "$try/rtos-$1.hvota" "rtos-demo=$try/rtos-$1.bin@$1" \
    >/dev/null || fail "hvctl ota bundle $1"
}
bundle 2.0.0
out=$(hvctl ota install "$try/rtos-2.0.0.hvota" 2>&1) || fail "hvctl ota install 2.0.0: $out"
echo "$out" | grep -q "rtos-demo: 2.0.0 confirmed by hv-core" || fail "2.0.0 not confirmed: $out"
out=$(hvctl ota status rtos-demo) || fail "hvctl ota status rtos-demo: $out"
echo "$out" | grep -Eq "rtos-demo .*2\.0\.0 \(good\)" || fail "ota status does not show 2.0.0 good: $out"
bundle 3.0.0 --broken
out=$(hvctl ota install "$try/rtos-3.0.0.hvota" 2>&1) && fail "the broken 3.0.0 was confirmed: $out"
echo "$out" | grep -q "the trial of 3.0.0 failed .*runs 2.0.0 again" || fail "no rollback to 2.0.0: $out"
for _ in $(seq 1 300); do
  hvctl dominfo rtos-demo | grep -q "^Image version: *2\.0\.0$" && break
  sleep 0.2
done
hvctl dominfo rtos-demo | grep -q "^Image version: *2\.0\.0$" ||
  fail "rtos-demo does not run 2.0.0 again: $(hvctl dominfo rtos-demo 2>&1)"
sleep 1 # the 1.0.0 bundle is signed after the others (docs/ota.md OTA-041)
bundle 1.0.0
out=$(hvctl ota install "$try/rtos-1.0.0.hvota" 2>&1) && fail "1.0.0 was installed: $out"
echo "$out" | grep -q "(E_ROLLBACK)" || fail "1.0.0 not refused as a rollback: $out"
out=$(hvctl ota history) || fail "hvctl ota history: $out"
echo "$out" | grep -q "event=rolled-back" || fail "ota history lacks the rollback: $out"
# virtio-blk (issue text "Done when"): the Linux guest keeps a boot counter on its data disk,
# served by the hv-blkback that hv-agent runs; it was shut down while driving above, and a
# start counts one more boot on the same disk.
boots() { grep -ao 'hv-linux-guest: data boots=[0-9]*' "$state/serial.log" | tail -1 | sed 's/.*=//'; }
first=$(boots)
[ -n "$first" ] || fail "the Linux guest printed no data boots line: $(grep -a 'hv-linux-guest' "$state/serial.log" | tail -5)"
out=$(hvctl start linux 2>&1) || fail "hvctl start linux: $out"
for _ in $(seq 1 900); do [ "$(boots)" = "$((first + 1))" ] && break; sleep 0.2; done
[ "$(boots)" = "$((first + 1))" ] ||
  fail "data boots did not grow from $first across shutdown and start: $(grep -a 'hv-linux-guest' "$state/serial.log" | tail -5)"
out=$(hvctl destroy linux 2>&1) || fail "hvctl destroy linux: $out"
wait_state linux "shut off" || fail "linux did not stop on destroy: $(hvctl domstate linux 2>&1)"
out=$(hvctl start linux 2>&1) || fail "hvctl start linux after destroy: $out"
for _ in $(seq 1 900); do [ "$(boots)" = "$((first + 2))" ] && break; sleep 0.2; done
[ "$(boots)" = "$((first + 2))" ] ||
  fail "data boots did not grow by one across destroy and start: $(grep -a 'hv-linux-guest' "$state/serial.log" | tail -5)"
qemu=$(cat "$state/qemu.pid")

kill -INT -- -"$run_pid"
for _ in $(seq 1 100); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$run_pid" 2>/dev/null && fail "run.sh did not stop on an interrupt"
wait "$run_pid"; rc=$?
run_pid=""
[ $rc = 0 ] || fail "run.sh exited $rc after an interrupt"
for _ in $(seq 1 50); do kill -0 "$qemu" 2>/dev/null || break; sleep 0.1; done
kill -0 "$qemu" 2>/dev/null && fail "QEMU still running after the interrupt"
[ -S "$state/hv-agent.sock" ] && fail "hv-agent socket left behind"
echo "$hist"
echo "make run path: ok"
