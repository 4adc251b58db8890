# shellcheck shell=bash
# scripts/bench.sh's "cni" phase (sourced; uses its log, now, ms_since, stats, report, RUN and BENCH_*
# settings): what a pod's network setup costs with contivk8s, against the reference CNI plugins
# (containernetworking-plugins: bridge + host-local IPAM) measured in the same run, the same way:
# each plugin executed as a runtime executes it (environment, configuration on stdin) on lab host
# h2 for the same network namespace, ADD timed to the plugin's exit, then DEL, interleaved.
# contivk8s's ADD goes through netplugin's CNI socket: store allocation (Redis on h1), veth into the
# pod, endpoint record; bridge's is local (a file lock and a lease file, a veth into the pod).

# cni_call hN COMMAND CONTAINER PLUGIN: one CNI call on host hN for the bench's namespace (stdin: the configuration).
cni_call() {
  lab_exec "$1" env CNI_COMMAND="$2" CNI_CONTAINERID="$3" CNI_NETNS="/var/run/netns/$LAB_PREFIX-bcni" CNI_IFNAME=eth0 \
    CNI_PATH=/usr/lib/cni CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$3" "$4"
}

phase_cni() {
  local i n="${BENCH_CNI_RUNS:-$BENCH_RUNS}" t0 cid contiv bridge
  [ -x /usr/lib/cni/bridge ] || die "cni: no reference plugins in /usr/lib/cni (Debian package containernetworking-plugins)"
  contiv=$(printf '{"cniVersion":"1.0.0","name":"contiv","type":"contivk8s","runtimeConfig":{"io.kubernetes.cri.pod-annotations":{"io.contiv.network":"bn-k8s"}}}')
  bridge=$(printf '{"cniVersion":"1.0.0","name":"bn-bridge","type":"bridge","bridge":"bncni0","isGateway":true,"ipMasq":false,"ipam":{"type":"host-local","dataDir":"%s/host-local","ranges":[[{"subnet":"10.78.0.0/24","gateway":"10.78.0.1"}]]}}' "$RUN")
  log "cni: CNI ADD of contivk8s (network bn-k8s, VXLAN, gateway) vs bridge + host-local on h2, $n interleaved rounds"
  netctl net create --subnet=10.77.0.0/24 --gateway=10.77.0.1 bn-k8s >/dev/null
  lab_exec h2 ip netns del "$LAB_PREFIX-bcni" 2>/dev/null || true # left by an interrupted run
  lab_exec h2 ip netns add "$LAB_PREFIX-bcni"
  : >"$RUN/samples/cni-contiv-add.txt"; : >"$RUN/samples/cni-bridge-add.txt"; : >"$RUN/samples/cni-contiv-del.txt"; : >"$RUN/samples/cni-bridge-del.txt"
  for ((i = 1; i <= n; i++)); do
    cid="bench-cni-$i"
    t0=$(now); printf '%s' "$bridge" | cni_call h2 ADD "$cid" /usr/lib/cni/bridge >/dev/null; ms_since "$t0" >>"$RUN/samples/cni-bridge-add.txt"
    t0=$(now); printf '%s' "$bridge" | cni_call h2 DEL "$cid" /usr/lib/cni/bridge >/dev/null; ms_since "$t0" >>"$RUN/samples/cni-bridge-del.txt"
    t0=$(now); printf '%s' "$contiv" | cni_call h2 ADD "$cid" "$CONTIV_ARTIFACTS/contivk8s/contivk8s" >/dev/null; ms_since "$t0" >>"$RUN/samples/cni-contiv-add.txt"
    t0=$(now); printf '%s' "$contiv" | cni_call h2 DEL "$cid" "$CONTIV_ARTIFACTS/contivk8s/contivk8s" >/dev/null; ms_since "$t0" >>"$RUN/samples/cni-contiv-del.txt"
  done
  lab_exec h2 ip netns del "$LAB_PREFIX-bcni"
  lab_exec h2 ip link del bncni0 2>/dev/null || true
  netctl net delete bn-k8s >/dev/null
  local B50 B95 C50 C95 BD CD
  read -r B50 B95 _ <<<"$(stats "$RUN/samples/cni-bridge-add.txt")"
  read -r C50 C95 _ <<<"$(stats "$RUN/samples/cni-contiv-add.txt")"
  BD=$(median "$RUN/samples/cni-bridge-del.txt"); CD=$(median "$RUN/samples/cni-contiv-del.txt")
  report name=cni_add_bridge_median group=cni value="$B50" unit=ms note="baseline: reference bridge + host-local ADD on h2 (exec to exit), N=$n"
  report name=cni_add_bridge_p95 group=cni value="$B95" unit=ms
  report name=cni_add_contivk8s_median group=cni value="$C50" unit=ms base=cni_add_bridge_median tgt='ratio<=1.2' note="contivk8s ADD on h2: netplugin, Redis on h1, veth into the pod, endpoint record"
  report name=cni_add_contivk8s_p95 group=cni value="$C95" unit=ms base=cni_add_bridge_p95 tgt='ratio<=1.2'
  report name=cni_del_bridge_median group=cni value="$BD" unit=ms note="baseline: bridge + host-local DEL"
  report name=cni_del_contivk8s_median group=cni value="$CD" unit=ms base=cni_del_bridge_median note="contivk8s DEL (address released in the store)"
}
