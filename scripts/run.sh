#!/usr/bin/env bash
# `make run`: boots hv-core with its guests under QEMU, starts hv-agent against it with the
# state directory ./var, prints what to type next, and stays in the foreground until
# interrupted; then it stops everything it started.
#
# The VMs are those of a boot configuration (docs/vm-config.md section 9): scripts/hv-qemu.sh
# composes hv-core/guests/vms/rtos-demo.dtsi and linux-blk.dtsi (the Linux guest with its data
# disk, served by hv-blkback, which hv-agent starts and supervises) into $STATE/guests.dts, fills in
# the images' store addresses, sizes and SHA-256 digests, compiles it with dtc to
# $STATE/bootcfg.dtb and hands it to hv-core. hv-agent gets the same file (--boot-config) and
# adopts those VMs into its store as revision 1 (docs/reconcile.md "Adoption"), so dumpconfig,
# edit and config-history work for them. HV_QEMU_ARGS replaces the guest selection (e.g.
# "--config FILE.dts").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
STATE=${STATE:-var}
LISTEN=${LISTEN:-127.0.0.1:50051}
# The fleet link (docs/fleet.md): a local Mosquitto broker with mutual TLS, and the
# vehicle's id hv-agent connects as.
FLEET=${FLEET:-127.0.0.1:8883}
VEHICLE=${VEHICLE:-dev-vehicle}
mkdir -p "$STATE"
chmod 0750 "$STATE"

agent_pid=""
broker_pid=""
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "run: stopping"
  if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
    kill -TERM "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
  fi
  # hv-agent's virtio-blk backends outlive it by design (a restarted hv-agent
  # adopts them); this run ends them with the rest.
  for pidfile in "$STATE"/blkback/vm*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q hv-blkback; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then
    kill -TERM "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
  fi
  if [ -f "$STATE/qemu.pid" ]; then
    kill -TERM "$(cat "$STATE/qemu.pid")" 2>/dev/null || true
    rm -f "$STATE/qemu.pid"
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 0' INT TERM

if [ -f "$STATE/qemu.pid" ] && kill -0 "$(cat "$STATE/qemu.pid")" 2>/dev/null; then
  echo "run: a hypervisor from an earlier run is still up (pid $(cat "$STATE/qemu.pid")); stopping it"
  kill -TERM "$(cat "$STATE/qemu.pid")" || true
  sleep 1
fi

# Development PKI on first run (mutual TLS on $LISTEN).
if [ ! -f "$STATE/pki/ca.crt" ]; then
  "$BUILD/bin/hvctl" pki init --dir "$STATE/pki"
fi
# The update CA and signer of OTA bundles (docs/ota.md) for a PKI made before they existed.
if [ ! -f "$STATE/pki/update-ca.crt" ]; then
  "$BUILD/bin/hvctl" pki init-update --dir "$STATE/pki"
fi

# The fleet PKI on first run: fleet CA, the broker's pair, the vehicle's pair, fleet-ROLE pairs.
if [ ! -f "$STATE/pki/fleet-ca.crt" ]; then
  "$BUILD/bin/hvctl" pki fleet-init --dir "$STATE/pki" --vehicle "$VEHICLE"
fi

# The broker: mutual TLS with the fleet CA on $FLEET; a client is known by its certificate.
pki_abs=$(cd "$STATE/pki" && pwd)
fleet_host=${FLEET%:*}
fleet_port=${FLEET##*:}
# As root, Mosquitto would switch to a user that cannot read $STATE/pki: stay who we are.
cat >"$STATE/mosquitto.conf" <<CONF
per_listener_settings false
allow_anonymous false
listener $fleet_port $fleet_host
cafile $pki_abs/fleet-ca.crt
certfile $pki_abs/broker.crt
keyfile $pki_abs/broker.key
require_certificate true
use_identity_as_username true
persistence false
log_dest stderr
user $(id -un)
CONF
echo "run: starting the fleet broker on $FLEET (log: $STATE/mosquitto.log)"
mosquitto -c "$STATE/mosquitto.conf" >>"$STATE/mosquitto.log" 2>&1 &
broker_pid=$!
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/$fleet_host/$fleet_port") 2>/dev/null && break
  kill -0 "$broker_pid" 2>/dev/null || { echo "run: mosquitto exited (is $FLEET in use?); see $STATE/mosquitto.log" >&2; tail -5 "$STATE/mosquitto.log" >&2; exit 1; }
  sleep 0.1
done

echo "run: booting hv-core under QEMU (console log: $STATE/serial.log)"
bash scripts/hv-qemu.sh --dir "$STATE" --core "$BUILD/hv-core-out" ${HV_QEMU_ARGS:---guest rtos-demo --guest linux-blk --update-ca "$STATE/pki/update-ca.crt"}

# The Linux guest's data disk (docs/guest-abi.md GABI-494) is $STATE/disks/linux.disk,
# served by the hv-blkback hv-agent starts (MGMT-865); a disk of an older run moves there.
if [ -f "$STATE/linux-data.disk" ] && [ ! -e "$STATE/disks/linux.disk" ]; then
  mkdir -p "$STATE/disks"
  chmod 0700 "$STATE/disks"
  mv "$STATE/linux-data.disk" "$STATE/disks/linux.disk"
fi

boot_config=()
[ -f "$STATE/bootcfg.dtb" ] && boot_config=(--boot-config "$STATE/bootcfg.dtb")
echo "run: starting hv-agent (log: $STATE/hv-agent.log)"
"$BUILD/bin/hv-agent" --state-dir "$STATE" --listen "$LISTEN" --tls-dir "$STATE/pki" \
  --fleet "mqtts://$FLEET" --vehicle "$VEHICLE" --fleet-dir "$STATE/pki" \
  ${boot_config[@]+"${boot_config[@]}"} ${METRICS_LISTEN:+--metrics-listen "$METRICS_LISTEN"} \
  --foreground >>"$STATE/hv-agent.log" 2>&1 &
agent_pid=$!

for _ in $(seq 1 100); do
  [ -S "$STATE/hv-agent.sock" ] && break
  kill -0 "$agent_pid" 2>/dev/null || { echo "run: hv-agent exited; see $STATE/hv-agent.log" >&2; tail -5 "$STATE/hv-agent.log" >&2; exit 1; }
  sleep 0.1
done

cat <<MSG

  The stack is up. In another terminal, from $root:

    build/bin/hvctl list --all            # VMs and their state
    build/bin/hvctl dominfo rtos-demo     # one VM, with its heartbeat
    build/bin/hvctl dominfo linux         # the Debian Linux guest, with its VIRTIO devices
    build/bin/hvctl domstats linux        # its counters, the data disk's among them
                                          # (its backend: $STATE/blkback/, disk: $STATE/disks/)
    build/bin/hvctl console linux         # its console (Ctrl-] detaches)
    build/bin/hvctl dumpconfig linux      # its configuration (from $STATE/guests.dts)
    build/bin/hvctl config-history linux  # its stored revisions
    build/bin/hvctl list --all --json     # the same as JSON
    build/bin/hvctl help                  # every command

  Through the fleet broker, as backend tooling would (certificates fleet-*.crt in $STATE/pki/):

    build/bin/hvctl --fleet mqtts://$FLEET --vehicle $VEHICLE list --all
    build/bin/hvctl --fleet mqtts://$FLEET fleet list

  State directory: $STATE/   database: $STATE/hv-agent.db
  Sockets: $STATE/hv-agent.sock (read-write), $STATE/hv-agent-ro.sock (read-only)
  gRPC with mutual TLS: $LISTEN (certificates in $STATE/pki/)
  Fleet broker: mqtts://$FLEET, vehicle '$VEHICLE' (docs/fleet.md)
  OTA bundles: signer $STATE/pki/update-signer.crt/.key, update CA $STATE/pki/update-ca.crt
  Prometheus metrics: http://${METRICS_LISTEN:-127.0.0.1:9477}/metrics
    (curl -s ${METRICS_LISTEN:-127.0.0.1:9477}/metrics | promtool check metrics)
  Hypervisor console: $STATE/serial.log

  Press Ctrl-C to stop everything.
MSG

while kill -0 "$agent_pid" 2>/dev/null; do
  if [ -f "$STATE/qemu.pid" ] && ! kill -0 "$(cat "$STATE/qemu.pid")" 2>/dev/null; then
    echo "run: QEMU exited; see $STATE/serial.log" >&2
    break
  fi
  sleep 1
done
