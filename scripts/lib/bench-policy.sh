# shellcheck shell=bash
# scripts/bench.sh's "policy" phase (sourced; uses its log, now, ms_since, stats, median, report, ip_on,
# iperf_gbps, rm_labelled, IMG, RUN and BENCH_* settings): what endpoint groups and policy cost and how
# fast a change takes effect, against baselines measured in the same run.
#   propagation  a rule added (the path opens) or removed (it closes) with netctl on h1, timed until a
#                prober on h1 sees the change on a listener in group pb-db on h2: netctl + netmaster +
#                the store's change feed + both hosts' agents + the kernel, as a user sees it. The prober
#                (Python in the prober container's network namespace) starts before netctl and tries a
#                fresh TCP connection (100 ms timeout) every 10 ms.
#   throughput   iperf3 h1 -> h2 into group pb-fat (a policy of 100 rules, the last one allowing iperf)
#                vs the same hosts on contiv-net in no group, paired rounds.
#   docker run   docker run -d into group pb-fat vs contiv-net, interleaved.

POLICY_PROBE=$(
  cat <<'PYEOF'
import socket, sys, time
ip, port, want, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "open", time.time() + 10
while time.time() < limit:
    s = socket.socket(); s.settimeout(0.1)
    try:
        s.connect((ip, port)); ok = True
    except OSError:
        ok = False
    finally:
        s.close()
    if ok == want:
        print("%.6f" % time.time()); sys.exit(0)
    time.sleep(0.01)
sys.exit(1)
PYEOF
)

# policy_probe_ms PID IP PORT open|closed CMD...: runs CMD (the change) while the prober in PID's
# network namespace waits for the path to be open/closed; prints the ms from CMD's start to the change.
policy_probe_ms() {
  local pid="$1" ip="$2" port="$3" want="$4" out="$RUN/policy-probe.out" t0 probe
  shift 4
  # The prober must be looking before the change: it waits until the path is still in the old state.
  nsenter -t "$pid" -n "$PY" -c "$POLICY_PROBE" "$ip" "$port" "$([ "$want" = open ] && echo closed || echo open)" >/dev/null
  nsenter -t "$pid" -n "$PY" -c "$POLICY_PROBE" "$ip" "$port" "$want" >"$out" &
  probe=$!
  sleep 0.1
  t0=$(now)
  "$@" >/dev/null
  wait "$probe" || { log "policy: the path did not become $want within 10 s"; return 1; }
  awk -v a="$t0" -v b="$(cat "$out")" 'BEGIN{printf "%.1f\n", (b-a)*1000}'
}

phase_policy() {
  local i n="${BENCH_POLICY_RUNS:-10}" prober ip_db t0 r
  log "policy: groups pb-db (deny tcp, rules changed live) and pb-fat (100 rules) on contiv-net"
  netctl group create contiv-net pb-db >/dev/null
  netctl policy create pb-pol >/dev/null
  netctl policy rule-add -d in -l tcp -j deny pb-pol 1 >/dev/null
  netctl group update -p pb-pol pb-db >/dev/null
  netctl policy create pb-100 >/dev/null
  for ((r = 1; r <= 99; r++)); do # 99 rules that never match iperf: other ports and other sources
    netctl policy rule-add -d in -l tcp -P $((20000 + r)) -i "10.250.$r.0/24" -j deny -p 50 pb-100 "$r" >/dev/null
  done
  netctl policy rule-add -d in -l tcp -j allow -p 1 pb-100 100 >/dev/null
  netctl group create -p pb-100 contiv-net pb-fat >/dev/null
  contiv_wait_docker_network h1 pb-fat; contiv_wait_docker_network h2 pb-fat; contiv_wait_docker_network h2 pb-db

  lab_docker h2 run -d --name bn-pdb --label bn-pol=1 --net pb-db "$IMG" nc -ll -p 7000 -e true >/dev/null
  lab_docker h1 run -d --name bn-pprobe --label bn-pol=1 --net contiv-net "$IMG" sleep 3600 >/dev/null
  prober=$(lab_docker h1 inspect -f '{{.State.Pid}}' bn-pprobe)
  ip_db=$(ip_on h2 bn-pdb pb-db)
  : >"$RUN/samples/policy-open.txt"; : >"$RUN/samples/policy-close.txt"
  for ((i = 1; i <= n; i++)); do
    policy_probe_ms "$prober" "$ip_db" 7000 open netctl policy rule-add -d in -l tcp -P 7000 -j allow -p 10 pb-pol 2 >>"$RUN/samples/policy-open.txt"
    policy_probe_ms "$prober" "$ip_db" 7000 closed netctl policy rule-rm pb-pol 2 >>"$RUN/samples/policy-close.txt"
  done
  read -r O50 O95 _ <<<"$(stats "$RUN/samples/policy-open.txt")"
  read -r C50 C95 _ <<<"$(stats "$RUN/samples/policy-close.txt")"
  report name=policy_rule_add_to_effect_median group=policy value="$O50" unit=ms tgt='value<=1000' note="netctl rule-add (allow) on h1 until a new connection h1 -> h2 passes, N=$n"
  report name=policy_rule_add_to_effect_p95 group=policy value="$O95" unit=ms tgt='value<=1000'
  report name=policy_rule_rm_to_effect_median group=policy value="$C50" unit=ms tgt='value<=1000' note="netctl rule-rm (the allow) until new connections are dropped again, N=$n"
  report name=policy_rule_rm_to_effect_p95 group=policy value="$C95" unit=ms tgt='value<=1000'

  log "policy: iperf3 h1 -> h2 into pb-fat (100 rules) vs contiv-net (no group), $BENCH_IPERF_REPS paired rounds"
  lab_docker h2 run -d --name bn-pfat --label bn-pol=1 --net pb-fat "$IMG" iperf3 -s >/dev/null
  lab_docker h2 run -d --name bn-pplain --label bn-pol=1 --net contiv-net "$IMG" iperf3 -s >/dev/null
  lab_docker h1 run -d --name bn-pcli --label bn-pol=1 --net contiv-net "$IMG" sleep 3600 >/dev/null
  local ip_fat ip_plain
  ip_fat=$(ip_on h2 bn-pfat pb-fat); ip_plain=$(ip_on h2 bn-pplain contiv-net)
  : >"$RUN/samples/policy-iperf-fat.txt"; : >"$RUN/samples/policy-iperf-plain.txt"
  for ((i = 1; i <= BENCH_IPERF_REPS; i++)); do
    iperf_gbps "$RUN/policy-iperf-plain-$i.json" lab_docker h1 exec bn-pcli iperf3 -c "$ip_plain" >>"$RUN/samples/policy-iperf-plain.txt"
    iperf_gbps "$RUN/policy-iperf-fat-$i.json" lab_docker h1 exec bn-pcli iperf3 -c "$ip_fat" >>"$RUN/samples/policy-iperf-fat.txt"
  done
  report name=policy_tcp_no_group_gbps group=policy value="$(median "$RUN/samples/policy-iperf-plain.txt")" unit=Gbit/s note="baseline: iperf3 h1 -> h2 on contiv-net, no group (the network does have policy elsewhere); $(spread "$RUN/samples/policy-iperf-plain.txt")"
  report name=policy_tcp_100_rules_gbps group=policy value="$(median "$RUN/samples/policy-iperf-fat.txt")" unit=Gbit/s base=policy_tcp_no_group_gbps tgt='ratio>=0.95' note="into group pb-fat, 100 in rules; $(spread "$RUN/samples/policy-iperf-fat.txt")"

  log "policy: docker run -d latency into pb-fat vs contiv-net on h1, $BENCH_RUNS runs each (interleaved)"
  : >"$RUN/samples/policy-run-fat.txt"; : >"$RUN/samples/policy-run-plain.txt"
  for ((i = 1; i <= BENCH_RUNS; i++)); do
    t0=$(now); lab_docker h1 run -d --label bn-polrun=1 --net contiv-net "$IMG" sleep 3600 >/dev/null; ms_since "$t0" >>"$RUN/samples/policy-run-plain.txt"
    t0=$(now); lab_docker h1 run -d --label bn-polrun=1 --net pb-fat "$IMG" sleep 3600 >/dev/null; ms_since "$t0" >>"$RUN/samples/policy-run-fat.txt"
  done
  report name=policy_docker_run_no_group_median group=policy value="$(median "$RUN/samples/policy-run-plain.txt")" unit=ms note="baseline: docker run -d --net=contiv-net, N=$BENCH_RUNS"
  report name=policy_docker_run_100_rules_median group=policy value="$(median "$RUN/samples/policy-run-fat.txt")" unit=ms base=policy_docker_run_no_group_median tgt='ratio<=1.05' note="docker run -d --net=pb-fat (group with a 100-rule policy: rules programmed before the container starts)"
  rm_labelled bn-polrun=1
  rm_labelled bn-pol=1
  lab_docker h2 rm -f bn-pdb bn-pfat bn-pplain >/dev/null
}
