#!/usr/bin/env bash
# Draws bench/results/summary.png from bench/results/results.json (written by scripts/bench.sh):
# one panel per figure family, bars with their values, the issue's targets as dashed lines and the
# ratios against the same-run baselines annotated (PASS green, MISS red).
#   bench/chart.sh [results.json] [summary.png]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
J="${1:-$HERE/results/results.json}"
OUT="${2:-$HERE/results/summary.png}"
command -v gnuplot >/dev/null || { echo "chart: gnuplot missing (apt-get install gnuplot-nox)" >&2; exit 1; }

# v NAME -> value (NaN when absent); r NAME -> ratio; r2 NAME; st NAME -> PASS/MISS/n/a
v() { jq -r --arg n "$1" '[.figures[] | select(.name == $n) | .value][0] // "NaN"' "$J"; }
r() { jq -r --arg n "$1" '[.figures[] | select(.name == $n) | .ratio][0] // "n/a"' "$J"; }
r2() { jq -r --arg n "$1" '[.figures[] | select(.name == $n) | .ratio2][0] // "n/a"' "$J"; }
st() { jq -r --arg n "$1" '[.figures[] | select(.name == $n) | .status][0] // "n/a"' "$J"; }
fmt() { awk -v x="$1" 'BEGIN{ if (x == "n/a" || x == "NaN") print "n/a"; else printf "%.2f", x }'; }
fx() { local f; f=$(fmt "$1"); [ "$f" = n/a ] && echo n/a || echo "${f}x"; }
col() { case "$1" in PASS) echo '#1a7f37' ;; MISS) echo '#cf222e' ;; *) echo '#57606a' ;; esac; }

CONTIV='#1f6feb' DOCKER='#8c959f' UNDERLAY='#424a53' DIAG='#2da44e' LATER='#bf8700'
meta=$(jq -r '"\(.meta.date | .[0:16])  |  \(.meta.programs)  |  \(.meta.cpus) CPUs, load avg \(.meta.loadavg_start) -> \(.meta.loadavg_end)  |  \(.meta.settings.BENCH_RUNS) runs, K=\(.meta.settings.BENCH_K)"' "$J")

# panel TITLE YLABEL LOG(0/1) TARGET(or "") then rows "x value color label"
gp="$(mktemp)"
trap 'rm -f "$gp"' EXIT
{
  cat <<EOF
set terminal pngcairo size 1900,1000 font "DejaVu Sans,10" enhanced
set output "$OUT"
set multiplot layout 2,4 title "ContivDocker benchmarks on the namespace lab (scripts/bench.sh)\n{/*0.8 $meta}" font ",14"
set style fill solid 0.9 border -1
set boxwidth 0.7 absolute
set grid ytics lc rgb "#d0d7de"
set key off
set xtics nomirror scale 0 font ",9"
set ytics nomirror
set border 3
set bmargin 6
set style textbox opaque noborder
EOF
  panel() { # panel ID TITLE YLABEL LOG TARGET TARGETLABEL ANNOT ANNOTCOLOR; stdin: "B x value color tic" bars, "G x name" group names
    local id="$1" title="$2" ylab="$3" log="$4" tgt="$5" tlab="$6" ann="$7" acol="$8" rows bars xt=() kind x val c lab ymax
    rows=$(cat)
    bars=$(awk '$1 == "B"' <<<"$rows")
    echo "\$d$id << EOD"
    while read -r kind x val c lab; do
      echo "$x $val $c"
      xt+=("\"$(echo "$lab" | sed 's/_/ /g; s/|/\\n/g')\" $x")
    done <<<"$bars"
    echo "EOD"
    ymax=$(awk -v t="${tgt:-0}" '{ if ($3 != "NaN" && $3+0 > m) m = $3+0 } END { if (t+0 > m) m = t+0; print (m > 0 ? m : 1) }' <<<"$bars")
    echo "set title \"$title\" font \",12\" noenhanced"
    echo "set ylabel \"$ylab\" noenhanced"
    echo "set xtics ($(IFS=,; echo "${xt[*]}")) noenhanced"
    echo "set xrange [-0.6:$(awk '{m=$2} END{print m+0.6}' <<<"$bars")]"
    if [ "$log" = 1 ]; then
      echo "set logscale y; set yrange [1:$(awk -v m="$ymax" 'BEGIN{print m*10}')]; set format y '10^{%T}'"
    else
      echo "unset logscale y; set yrange [0:$(awk -v m="$ymax" 'BEGIN{print m*1.35}')]; set format y '%g'"
    fi
    echo "unset label; unset arrow"
    while read -r kind x lab; do
      if [ "$kind" = G ]; then echo "set label \"${lab//_/ }\" at first $x, graph -0.13 center font ',10' noenhanced"; fi
    done <<<"$rows"
    if [ -n "$tgt" ]; then
      echo "set arrow from graph 0, first $tgt to graph 1, first $tgt nohead dt 2 lw 2 lc rgb '#cf222e' front"
      echo "set label \"$tlab\" at graph 0.99, first $tgt right offset 0,0.7 tc rgb '#cf222e' font ',9' boxed front noenhanced"
    fi
    [ -n "$ann" ] && echo "set label \"$ann\" at graph 0.02, graph 0.97 left tc rgb '$acol' font ',9.5' boxed front noenhanced"
    echo "plot \$d$id using 1:2:(0.7):3 with boxes lc rgb variable, \\"
    echo "     \$d$id using 1:2:(\$2 >= 100 ? sprintf('%.0f', \$2) : \$2 >= 10 ? sprintf('%.1f', \$2) : sprintf('%.2f', \$2)) with labels offset 0,0.7 font ',9'"
  }
  rgb() { printf '%d' "0x${1#\#}"; }

  # 1. throughput
  s=$(st tcp_contiv_vs_overlay_paired)
  panel 1 "TCP throughput, 1 stream (iperf3, median of rounds)" "Gbit/s" 0 "" "" \
    "Contiv/overlay, per round: $(fx "$(v tcp_contiv_vs_overlay_paired)") (target >= 0.95x: $s)\nContiv/overlay medians $(fx "$(r tcp_contiv_vxlan)"), Contiv/underlay $(fx "$(r2 tcp_contiv_vxlan)")" "$(col "$s")" <<EOF
B 0 $(v tcp_underlay) $(rgb $UNDERLAY) underlay|(host netns)
B 1 $(v tcp_docker_overlay) $(rgb $DOCKER) Docker|overlay
B 2 $(v tcp_docker_bridge) $(rgb $DOCKER) Docker|bridge
B 3 $(v tcp_contiv_vxlan) $(rgb $CONTIV) Contiv|VXLAN
EOF
  # 2. rtt
  panel 2 "Ping round trip (avg)" "ms" 0 "" "" \
    "Contiv/overlay $(fx "$(r rtt_contiv_vxlan)")\nContiv/underlay $(fx "$(r2 rtt_contiv_vxlan)")" '#57606a' <<EOF
B 0 $(v rtt_underlay) $(rgb $UNDERLAY) underlay|(host netns)
B 1 $(v rtt_docker_overlay) $(rgb $DOCKER) Docker|overlay
B 2 $(v rtt_docker_bridge) $(rgb $DOCKER) Docker|bridge
B 3 $(v rtt_contiv_vxlan) $(rgb $CONTIV) Contiv|VXLAN
EOF
  # 3. docker run (grouped: median, p95)
  s=$(st docker_run_contiv_median)
  panel 3 "docker run -d latency (median | p95)" "ms" 0 "" "" \
    "Contiv/bridge median $(fx "$(r docker_run_contiv_median)") (target <= 1.10x: $s)\nContiv/user-defined bridge median $(fx "$(r2 docker_run_contiv_median)")\nContiv -g (no gwbridge)/bridge $(fx "$(r docker_run_contiv_gw_median)")\nplugin's own time: $(fmt "$(v plugin_ms_per_docker_run)") ms per run" "$(col "$s")" <<EOF
B 0 $(v docker_run_bridge_median) $(rgb $DOCKER) median
B 0.8 $(v docker_run_bridge_p95) $(rgb $LATER) p95
B 2.2 $(v docker_run_user_bridge_median) $(rgb $DOCKER) median
B 3 $(v docker_run_user_bridge_p95) $(rgb $LATER) p95
B 4.4 $(v docker_run_contiv_median) $(rgb $CONTIV) median
B 5.2 $(v docker_run_contiv_p95) $(rgb $LATER) p95
B 6.6 $(v docker_run_contiv_gw_median) $(rgb $DIAG) median
B 7.4 $(v docker_run_contiv_gw_p95) $(rgb $LATER) p95
G 0.4 bridge
G 2.6 user_bridge
G 4.8 contiv-net
G 7.0 contiv_-g
EOF
  # 4. endpoints/s
  s=$(st endpoints_per_s_contiv)
  panel 4 "Endpoints per second, K containers on one host" "endpoints/s (log)" 1 500 "issue target 500/s" \
    "Contiv/bridge $(fx "$(r endpoints_per_s_contiv)"); 500/s target: $s\nnetplugin alone / via docker $(fx "$(r endpoints_per_s_plugin_only)")" "$(col "$s")" <<EOF
B 0 $(v endpoints_per_s_bridge) $(rgb $DOCKER) docker run|bridge
B 1 $(v endpoints_per_s_contiv) $(rgb $CONTIV) docker run|contiv
B 2 $(v endpoints_per_s_plugin_only) $(rgb $DIAG) netplugin alone|(no dockerd)
EOF
  # 5. IPAM
  s=$(st ipam_allocs_per_s)
  panel 5 "IPAM allocations per second, one Redis" "allocations/s (log)" 1 10000 "target 10k/s" \
    "$(jq -r '.meta.settings.BENCH_IPAM_PROCS' "$J") processes: $(fmt "$(v ipam_allocs_per_s)")/s (target >= 10000: $s)\n$(jq -r '.meta.settings.BENCH_IPAM_PROCS' "$J") procs / 1 proc $(fx "$(r ipam_allocs_per_s)"); duplicates: $(v ipam_duplicates) ($(st ipam_duplicates))" "$(col "$s")" <<EOF
B 0 $(v ipam_allocs_per_s_1proc) $(rgb $DOCKER) 1 process
B 1 $(v ipam_allocs_per_s) $(rgb $CONTIV) $(jq -r '.meta.settings.BENCH_IPAM_PROCS' "$J")_processes
B 2 $(v redis_incr_per_s) $(rgb $UNDERLAY) Redis INCR|(ceiling)
EOF
  # 6. network create
  panel 6 "Network create latency (median)" "ms" 0 "" "" \
    "Contiv (all hosts) / Docker bridge (one host) $(fx "$(r net_create_contiv_all_hosts)")" '#57606a' <<EOF
B 0 $(v net_create_docker_bridge) $(rgb $DOCKER) docker network|create (1 host)
B 1 $(v net_create_netctl_returns) $(rgb $DIAG) netctl net create|returns
B 2 $(v net_create_contiv_all_hosts) $(rgb $CONTIV) netctl net create|-> on h1 + h2
EOF
  # 7. RSS (grouped: idle, after K)
  s1=$(st netplugin_rss_idle) s2=$(st netplugin_rss_after_k)
  panel 7 "Resident memory (VmRSS): idle | after K containers" "MB" 0 40 "netplugin target 40 MB" \
    "netplugin idle: $s1, after K: $s2\nnetplugin 2 s after start: $(fmt "$(v netplugin_rss_fresh)") MB\n  same sources on the JIT: $(fmt "$(v netplugin_rss_fresh_jit)") MB" "$(col "$s2")" <<EOF
B 0 $(v netplugin_rss_idle) $(rgb $CONTIV) idle
B 0.8 $(v netplugin_rss_after_k) $(rgb $LATER) after K
B 2.2 $(v netmaster_rss_idle) $(rgb $CONTIV) idle
B 3 $(v netmaster_rss_after_k) $(rgb $LATER) after K
B 4.4 $(v dockerd_rss_idle) $(rgb $DOCKER) idle
B 5.2 $(v dockerd_rss_after_k) $(rgb $LATER) after K
G 0.4 netplugin_(h1)
G 2.6 netmaster
G 4.8 dockerd_(h1,_baseline)
EOF
  # 8. cold start
  s=$(st netplugin_cold_start)
  panel 8 "Cold start to serving /Plugin.Activate (median)" "ms" 0 300 "target 300 ms" \
    "netplugin (native): $(fmt "$(v netplugin_cold_start)") ms ($s)\n= $(fx "$(r netplugin_cold_start)") a native CLI's start-to-exit" "$(col "$s")" <<EOF
B 0 $(v dotnet_console_floor) $(rgb $UNDERLAY) netctl --help|(.NET floor)
B 1 $(v netplugin_cold_listening) $(rgb $DIAG) netplugin|listening
B 2 $(v netplugin_cold_start) $(rgb $CONTIV) netplugin|answers
B 3 $(v netplugin_cold_start_jit) $(rgb $DOCKER) same sources|on the JIT
EOF
  echo "unset multiplot"
} >"$gp"
gnuplot "$gp"
echo "chart: wrote $OUT" >&2
