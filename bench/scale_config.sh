# scale_config.sh - sourced by bench/tick_scale.sh and bench/list_scale.sh:
# scale_config N prints a boot configuration (docs/vm-config.md section 9) of
# N VMs vm0..vm(N-1), defined and not started. VM k has 1 vCPU on physical
# CPU k + 1 (MGMT-047 gives each physical CPU to one defined VM; CPU 0 is
# hv-core's), 16 MiB at its own physical address, and names the perf guest's
# image from its own image-store place. Run it with scripts/hv-qemu.sh
# --config FILE --smp N+1 (at least 4).
scale_config() {
  local n=$1 k
  echo '/dts-v1/;'
  echo '/ { compatible = "avirt,system-config-v1"; hv-core { selftest-inject = <0>; }; vms {'
  for k in $(seq 0 $((n - 1))); do
    printf '  vm%u { compatible = "avirt,vm-config-v1"; vm-name = "vm%u"; vcpus = <1>; cpus = <%u>;\n' "$k" "$k" $((k + 1))
    printf '    memory = <0x0 0x40000000  0x0 0x%x  0x0 0x01000000>; criticality = "QM";\n' $((0x49000000 + k * 0x01000000))
    printf '    fault-policy = "stop"; boot-order = <%u>;\n' $((k + 1))
    # a boot node each, with its own image store place (MGMT-047); only the
    # first holds the image, and none is started
    printf '    boot { load-address = <0x0 0x40000000>; entry = <0x0 0x40000000>; image-size = <0x0 @SIZE:perf@>;\n'
    printf '      image-store = <0x0 0x%x>; image-sha256 = [@SHA256:perf@]; };\n' $((0x42000000 + k * 0x200000))
    echo '    vuart { compatible = "avirt,vuart-v1"; }; };'
  done
  echo '}; };'
}

