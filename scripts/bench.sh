#!/usr/bin/env bash
# Benchmarks of ContivDocker on the namespace lab (scripts/lib/contiv.sh), against baselines measured
# in the same run. Not part of the test suite: nothing here fails on a slow figure.
#
#   scripts/bench.sh            # as root; ~6-9 min (+ a one-time build of HEAD, cached by source tree)
#
# Prints one line per figure, "name: value unit | ratio vs baseline | target: PASS/MISS", and writes
# bench/results/results.json and bench/results/summary.png (gnuplot). Figures:
#   data plane    iperf3 (1 TCP stream) and ping rtt: Contiv VXLAN across two hosts, raw underlay between
#                 the host namespaces, Docker's swarm overlay (Contiv then on VXLAN port 8472), docker0 bridge
#   control plane docker run -d on contiv vs bridge (median/p95), endpoints/s for K containers on one host,
#                 IPAM allocations/s from concurrent processes on one Redis (+ duplicate check),
#                 netctl net create -> Docker network on every host
#   footprint     netplugin/netmaster RSS idle and after K containers, netplugin cold start to /Plugin.Activate
#   start dir     netmaster and netplugin started in / (systemd's default) vs an empty directory: ms to the
#                 first /health answer and inotify watches (scripts/lib/bench-startdir.sh)
#   policy        rule add/remove to effect across hosts (p50/p95), TCP throughput and docker run into a
#                 group with 100 rules vs no group (scripts/lib/bench-policy.sh)
#
# Env (defaults): BENCH_RUNS=50 (docker run samples per network), BENCH_K=100 (containers on one host),
#   BENCH_K_PAR=4 (concurrent docker run for K), BENCH_IPERF_SECS=5, BENCH_IPERF_REPS=4 (rounds),
#   BENCH_PINGS=20, BENCH_IPAM_PROCS=3, BENCH_IPAM_COUNT=1000 (per process), BENCH_NETCREATE_RUNS=5,
#   BENCH_COLD_RUNS=5, BENCH_SOURCE=head|artifacts (build the committed HEAD into BENCH_WORK, cached by
#   source tree; or use the repo's artifacts/ as they are), BENCH_WORK=/tmp/contiv-bench-work,
#   BENCH_OUT=<repo>/bench/results, BENCH_KEEP=1 (leave the lab up), LAB_PREFIX=bn, LAB_DIR=/tmp/contiv-bench,
#   BENCH_POLICY_RUNS=10, BENCH_PHASES="netcreate dataplane docker_run dns policy cni k_containers ipam coldstart startdir"
#   (a subset for quick looks).
# shellcheck disable=SC2317 # everything runs from main (last line, followed by exit), phases by name
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${BENCH_RUNS:=50}" "${BENCH_K:=100}" "${BENCH_K_PAR:=4}" "${BENCH_IPERF_SECS:=5}" "${BENCH_IPERF_REPS:=4}"
: "${BENCH_PINGS:=20}" "${BENCH_IPAM_PROCS:=3}" "${BENCH_IPAM_COUNT:=1000}" "${BENCH_NETCREATE_RUNS:=5}"
: "${BENCH_COLD_RUNS:=5}" "${BENCH_SOURCE:=head}" "${BENCH_WORK:=/tmp/contiv-bench-work}"
: "${BENCH_OUT:=$ROOT/bench/results}" "${BENCH_KEEP:=0}"
: "${BENCH_PHASES:=netcreate dataplane docker_run dns policy cni k_containers ipam coldstart startdir}"
export LAB_PREFIX="${LAB_PREFIX:-bn}" LAB_DIR="${LAB_DIR:-/tmp/contiv-bench}"
export CONTIV_VXLAN_PORT=8472 # Docker's swarm overlay keeps 4789 (README: "Next to Docker's overlay")
export LAB_QUIET="${LAB_QUIET:-1}"
PY=/usr/bin/python3 # Debian's, whatever python3 is first on PATH
IMG=bench/iperf     # busybox rootfs + Debian's iperf3 and the libraries ldd lists (docker import)
RUN="$BENCH_WORK/run" # this run's scratch: figures.tsv, samples/, logs

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { printf '%s' "${EPOCHREALTIME/[.,]/.}"; }
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f\n", (b-a)*1000}'; }

[ "$(id -u)" = 0 ] || die "run as root (the lab creates network namespaces and dockerd instances)"
[ "$CONTIV_VXLAN_PORT" = 8472 ] || die "internal: CONTIV_VXLAN_PORT"
case "$BENCH_WORK" in /tmp/?* | /var/tmp/?*) ;; *) die "BENCH_WORK must be under /tmp or /var/tmp" ;; esac

# ------------------------------------------------------------------ dependencies and programs
install_deps() {
  local need=()
  command -v iperf3 >/dev/null || need+=(iperf3)
  command -v gnuplot >/dev/null || need+=(gnuplot-nox)
  command -v jq >/dev/null || need+=(jq)
  command -v curl >/dev/null || need+=(curl)
  command -v redis-benchmark >/dev/null || need+=(redis-tools)
  [ -x "$PY" ] || need+=(python3)
  if [ ${#need[@]} -gt 0 ]; then
    log "apt-get install ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >"$BENCH_WORK/apt.log" 2>&1 ||
      { apt-get update -q >>"$BENCH_WORK/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >>"$BENCH_WORK/apt.log" 2>&1; } ||
      die "apt-get install ${need[*]} failed (see $BENCH_WORK/apt.log)"
  fi
}

# Programs: by default the committed HEAD, exported and published into BENCH_WORK (other engineers
# may rebuild artifacts/ from work in progress while this runs). Cached by the source tree's hash.
prepare_programs() {
  local key src out
  if [ "$BENCH_SOURCE" = artifacts ]; then
    [ -x "$ROOT/artifacts/netplugin/netplugin" ] || die "artifacts/ has no netplugin: run scripts/build.sh"
    out="$BENCH_WORK/art-snapshot"
    rm -rf "$out"; mkdir -p "$out"
    cp -a "$ROOT/artifacts/netplugin" "$ROOT/artifacts/netmaster" "$ROOT/artifacts/netctl" "$out/"
    if [ -d "$ROOT/artifacts/contivk8s" ]; then cp -a "$ROOT/artifacts/contivk8s" "$out/"; fi
    SOURCE_DESC="artifacts/ snapshot (built $(date -r "$ROOT/artifacts/netplugin/netplugin" '+%F %T'))"
    STRESS_SRC="$ROOT"
    STRESS_OUT="$BENCH_WORK/stresstool-worktree"
  else
    key=$(cd "$ROOT" && git ls-tree HEAD src tests/Contiv.ControlPlane.StressTool Directory.Build.props \
      Directory.Packages.props global.json | sha1sum | cut -c1-12)
    out="$BENCH_WORK/art-$key"
    src="$BENCH_WORK/src-$key"
    if [ ! -e "$out/.done" ]; then
      log "building HEAD (source tree $key) into $out (one time, ~2-3 min)"
      rm -rf "$src" "$out"; mkdir -p "$src"
      (cd "$ROOT" && git archive HEAD) | tar -x -C "$src"
      CONTIV_ARTIFACTS="$out" "$src/scripts/dev-publish.sh" >"$BENCH_WORK/build.log" 2>&1 ||
        die "publish failed (see $BENCH_WORK/build.log)"
      # The same netplugin on the JIT (framework-dependent): the cold start/footprint comparison
      # that shows what the native (AOT) publish buys.
      dotnet publish "$src/src/Contiv.NetPlugin/Contiv.NetPlugin.csproj" -c Release -p:PublishAot=false \
        --nologo -v quiet -clp:ErrorsOnly -o "$out/netplugin-jit" >>"$BENCH_WORK/build.log" 2>&1 ||
        die "JIT publish failed (see $BENCH_WORK/build.log)"
    fi
    SOURCE_DESC="HEAD $(cd "$ROOT" && git rev-parse --short HEAD) (source tree $key)"
    STRESS_SRC="$src"
    STRESS_OUT="$out/stresstool"
  fi
  if [ "$BENCH_SOURCE" = artifacts ] || [ ! -e "$STRESS_OUT/Contiv.ControlPlane.StressTool.dll" ]; then
    log "building tests/Contiv.ControlPlane.StressTool"
    dotnet build "$STRESS_SRC/tests/Contiv.ControlPlane.StressTool/Contiv.ControlPlane.StressTool.csproj" -c Release \
      --nologo -v quiet -clp:ErrorsOnly -o "$STRESS_OUT" >>"$BENCH_WORK/build.log" 2>&1 ||
      die "StressTool build failed (see $BENCH_WORK/build.log)"
  fi
  [ "$BENCH_SOURCE" = artifacts ] || touch "$out/.done"
  export CONTIV_ARTIFACTS="$out"
  STRESS_DLL="$STRESS_OUT/Contiv.ControlPlane.StressTool.dll"
}

# ------------------------------------------------------------------ figures
# figures.tsv: name group value unit baseline ratio baseline2 ratio2 target status note
FIG="$RUN/figures.tsv"
val() { awk -F'\t' -v n="$1" '$1==n {v=$3} END{print v}' "$FIG" 2>/dev/null; }

# report name=N group=G value=V unit=U [base=NAME] [base2=NAME] [tgt='ratio>=0.95'|'value<=40'] [note=...]
report() {
  local a k v name="" group="" value="" unit="" base="" base2="" tgt="" note="" ratio="" ratio2="" status="" line
  for a in "$@"; do
    k=${a%%=*}; v=${a#*=}
    case "$k" in name | group | value | unit | base | base2 | tgt | note) printf -v "$k" '%s' "$v" ;; *) die "report: bad arg $a" ;; esac
  done
  _ratio() { local b; b=$(val "$1"); [ -n "$value" ] && [ -n "$b" ] && awk -v x="$value" -v y="$b" 'BEGIN{ if (y+0 != 0) printf "%.3f", x/y }'; }
  [ -n "$base" ] && ratio=$(_ratio "$base")
  [ -n "$base2" ] && ratio2=$(_ratio "$base2")
  if [ -n "$tgt" ]; then
    local subj="${tgt%%[<>=]*}" rest op num x
    rest="${tgt#"$subj"}"; op="${rest%%[0-9.]*}"; num="${rest#"$op"}"
    case "$subj" in ratio) x="$ratio" ;; value) x="$value" ;; *) die "report: bad target $tgt" ;; esac
    if [ -z "$x" ]; then status="n/a"
    elif awk -v x="$x" -v n="$num" -v op="$op" 'BEGIN{ ok = (op==">=") ? x>=n : (op=="<=") ? x<=n : (op=="==") ? x==n : 0; exit !ok }'; then status=PASS
    else status=MISS; fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$group" "$value" "$unit" "$base" "$ratio" "$base2" "$ratio2" "$tgt" "$status" "$note" >>"$FIG"
  line="$name: ${value:-n/a} $unit"
  [ -n "$base" ] && line+=" | ${ratio:-n/a}x $base"
  [ -n "$base2" ] && line+=", ${ratio2:-n/a}x $base2"
  if [ -n "$tgt" ]; then
    case "$tgt" in ratio*) line+=" | target ${tgt#ratio}x of $base: $status" ;; *) line+=" | target ${tgt#value} $unit: $status" ;; esac
  fi
  [ -n "$note" ] && line+=" | $note"
  printf '%s\n' "$line"
}

# stats FILE -> "median p95 mean min max n" (p95 nearest-rank)
stats() {
  sort -g "$1" | awk '{v[NR]=$1; s+=$1} END{ if (NR==0) {print ""; exit}
    m = (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; i = int(0.95*NR); if (i < 0.95*NR) i++; if (i<1) i=1
    printf "%.2f %.2f %.2f %.2f %.2f %d\n", m, v[i], s/NR, v[1], v[NR], NR }'
}
median() { local s; s=$(stats "$1"); echo "${s%% *}"; }
spread() { paste -sd' ' "$1"; }
rss_mb() { awk '/^VmRSS:/ {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null; }
rss_split() { awk '/^RssAnon:/ {a=$2} /^RssFile:/ {f=$2} /^RssShmem:/ {m=$2} END{printf "anon %.1f + file-backed %.1f + shmem %.1f MB", a/1024, f/1024, m/1024}' "/proc/$1/status" 2>/dev/null; }
pid_of() { lab_daemon_pid "$1" "$2"; }
dockerd_pid() { tr -dc 0-9 <"$LAB_DIR/$1/docker.pid"; }

# ------------------------------------------------------------------ lab
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "${PROBE_PID:-}" ]; then kill "$PROBE_PID" 2>/dev/null || true; fi
  if [ "$BENCH_KEEP" = 1 ]; then log "BENCH_KEEP=1: lab left up (LAB_PREFIX=$LAB_PREFIX LAB_DIR=$LAB_DIR; scripts/lab.sh down)"
  else log "tearing down the lab"; contiv_down >/dev/null 2>&1 || log "lab_down reported problems"; fi
  exit "$rc"
}

build_iperf_image() {
  local tar="$RUN/iperf-rootfs.tar" files h
  cp "$LAB_DIR/image/busybox-rootfs.tar" "$tar"
  files=$(ldd /usr/bin/iperf3 | awk '$2=="=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sed 's,^/,,')
  # shellcheck disable=SC2086
  tar --numeric-owner --owner=0 --group=0 -h -rf "$tar" -C / usr/bin/iperf3 $files
  for h in $(lab_hosts); do
    lab_docker "$h" import --change 'CMD ["/bin/sh"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$tar" "$IMG" >/dev/null
  done
  lab_docker h1 run --rm "$IMG" iperf3 --version >/dev/null
}

# ------------------------------------------------------------------ 1. data plane
ip_on() { lab_docker "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").IPAddress}}" "$2"; }

iperf_gbps() { # iperf_gbps OUTFILE CMD... -> Gbit/s received (also saves the JSON)
  local out="$1"; shift
  "$@" -t "$BENCH_IPERF_SECS" -J >"$out"
  jq -r '.end.sum_received.bits_per_second / 1e9' "$out" | awk '{printf "%.3f\n", $1}'
}
ping_avg() { # ping_avg HOST CMD... (a busybox ping) -> avg ms over BENCH_PINGS
  local host="$1"; shift
  "$@" -c 2 -W 2 "$host" >/dev/null 2>&1 || true # ARP/FDB warm-up
  "$@" -c "$BENCH_PINGS" -i 0.2 -W 2 -q "$host" | sed -n 's#.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*#\1#p'
}

phase_dataplane() {
  local bb ip_c ip_o ip_b tok rep p
  log "data plane: containers on contiv-net (h1->h2), iperf3 server in h2's namespace, docker0 on h1"
  lab_docker h2 run -d --name bn-srv-contiv --net contiv-net "$IMG" iperf3 -s >/dev/null
  lab_docker h1 run -d --name bn-cli-contiv --net contiv-net "$IMG" sleep 3600 >/dev/null
  lab_docker h1 run -d --name bn-srv-bridge --net bridge "$IMG" iperf3 -s >/dev/null
  lab_docker h1 run -d --name bn-cli-bridge --net bridge "$IMG" sleep 3600 >/dev/null
  lab_start_daemon h2 iperf3-server iperf3 -s -B "$(lab_host_ip h2)" >/dev/null
  log "data plane: swarm (init h1, join h2), attachable overlay network"
  lab_docker h1 swarm init --advertise-addr "$(lab_host_ip h1)" >/dev/null
  tok=$(lab_docker h1 swarm join-token -q worker)
  lab_docker h2 swarm join --token "$tok" "$(lab_host_ip h1):2377" >/dev/null
  lab_docker h1 network create -d overlay --attachable --subnet 10.20.0.0/24 bn-overlay >/dev/null
  lab_docker h2 run -d --name bn-srv-overlay --net bn-overlay "$IMG" iperf3 -s >/dev/null
  lab_docker h1 run -d --name bn-cli-overlay --net bn-overlay "$IMG" sleep 3600 >/dev/null
  ip_c=$(ip_on h2 bn-srv-contiv contiv-net); ip_o=$(ip_on h2 bn-srv-overlay bn-overlay); ip_b=$(ip_on h1 bn-srv-bridge bridge)
  bb=$(command -v busybox)
  printf 'contiv %s\noverlay %s\nbridge %s\nunderlay %s\n' "$ip_c" "$ip_o" "$ip_b" "$(lab_host_ip h2)" >"$RUN/samples/dataplane-ips.txt"
  lab_wait_for "lab_docker h1 exec bn-cli-contiv ping -c 1 -W 1 $ip_c" 20 0.5
  lab_wait_for "lab_docker h1 exec bn-cli-overlay ping -c 1 -W 1 $ip_o" 20 0.5

  for p in contiv overlay underlay bridge; do : >"$RUN/samples/tcp-$p.txt"; done
  for ((rep = 1; rep <= BENCH_IPERF_REPS; rep++)); do # interleaved, so drift in machine load hits all alike
    log "iperf3 round $rep/$BENCH_IPERF_REPS (${BENCH_IPERF_SECS}s each)"
    iperf_gbps "$RUN/samples/iperf-contiv-$rep.json" lab_docker h1 exec bn-cli-contiv iperf3 -c "$ip_c" >>"$RUN/samples/tcp-contiv.txt"
    iperf_gbps "$RUN/samples/iperf-overlay-$rep.json" lab_docker h1 exec bn-cli-overlay iperf3 -c "$ip_o" >>"$RUN/samples/tcp-overlay.txt"
    iperf_gbps "$RUN/samples/iperf-underlay-$rep.json" lab_exec h1 iperf3 -c "$(lab_host_ip h2)" >>"$RUN/samples/tcp-underlay.txt"
    iperf_gbps "$RUN/samples/iperf-bridge-$rep.json" lab_docker h1 exec bn-cli-bridge iperf3 -c "$ip_b" >>"$RUN/samples/tcp-bridge.txt"
  done
  log "ping rtt ($BENCH_PINGS pings each)"
  ping_avg "$ip_c" lab_docker h1 exec bn-cli-contiv ping >"$RUN/samples/rtt-contiv.txt"
  ping_avg "$ip_o" lab_docker h1 exec bn-cli-overlay ping >"$RUN/samples/rtt-overlay.txt"
  ping_avg "$(lab_host_ip h2)" lab_exec h1 "$bb" ping >"$RUN/samples/rtt-underlay.txt"
  ping_avg "$ip_b" lab_docker h1 exec bn-cli-bridge ping >"$RUN/samples/rtt-bridge.txt"

  report name=tcp_underlay group=dataplane value="$(median "$RUN/samples/tcp-underlay.txt")" unit=Gbit/s note="host netns h1->h2 over the lab bridge, MTU 1500: the physical limit here; runs $(spread "$RUN/samples/tcp-underlay.txt")"
  report name=tcp_docker_overlay group=dataplane value="$(median "$RUN/samples/tcp-overlay.txt")" unit=Gbit/s base=tcp_underlay note="swarm attachable overlay, VXLAN 4789, MTU 1450; runs $(spread "$RUN/samples/tcp-overlay.txt")"
  report name=tcp_docker_bridge group=dataplane value="$(median "$RUN/samples/tcp-bridge.txt")" unit=Gbit/s base=tcp_underlay note="two containers on h1's docker0; runs $(spread "$RUN/samples/tcp-bridge.txt")"
  report name=tcp_contiv_vxlan group=dataplane value="$(median "$RUN/samples/tcp-contiv.txt")" unit=Gbit/s base=tcp_docker_overlay base2=tcp_underlay note="container h1 -> container h2, VXLAN 8472, MTU 1450; median of $BENCH_IPERF_REPS x ${BENCH_IPERF_SECS}s; runs $(spread "$RUN/samples/tcp-contiv.txt")"
  # The machine's load drifts between rounds; a round's Contiv and overlay runs are back to back, so the
  # median of the per-round ratios is the steadier comparison: the target is judged on it.
  paste "$RUN/samples/tcp-contiv.txt" "$RUN/samples/tcp-overlay.txt" | awk '$2 > 0 {printf "%.3f\n", $1/$2}' >"$RUN/samples/tcp-ratio-contiv-overlay.txt"
  report name=tcp_contiv_vs_overlay_paired group=dataplane value="$(median "$RUN/samples/tcp-ratio-contiv-overlay.txt")" unit=x tgt='value>=0.95' note="median of the per-round Contiv/overlay throughput ratios ($(spread "$RUN/samples/tcp-ratio-contiv-overlay.txt"))"
  report name=rtt_underlay group=dataplane value="$(cat "$RUN/samples/rtt-underlay.txt")" unit=ms
  report name=rtt_docker_overlay group=dataplane value="$(cat "$RUN/samples/rtt-overlay.txt")" unit=ms base=rtt_underlay
  report name=rtt_docker_bridge group=dataplane value="$(cat "$RUN/samples/rtt-bridge.txt")" unit=ms base=rtt_underlay
  report name=rtt_contiv_vxlan group=dataplane value="$(cat "$RUN/samples/rtt-contiv.txt")" unit=ms base=rtt_docker_overlay base2=rtt_underlay note="avg of $BENCH_PINGS pings (busybox ping -i 0.2)"
}
after_dataplane() { # best effort, also after a failure: the control-plane figures want no swarm
  log "leaving swarm, removing data-plane containers"
  lab_docker h1 rm -f bn-cli-overlay bn-cli-contiv bn-srv-bridge bn-cli-bridge >/dev/null 2>&1
  lab_docker h2 rm -f bn-srv-overlay bn-srv-contiv >/dev/null 2>&1
  lab_docker h2 swarm leave --force >/dev/null 2>&1; lab_docker h1 swarm leave --force >/dev/null 2>&1
  lab_stop_daemon h2 iperf3-server
  return 0
}

# ------------------------------------------------------------------ 2. control plane
plugin_log_offset() { stat -c %s "$LAB_DIR/$1/netplugin.log"; }
# plugin_ms_since hN OFFSET CALL... -> total ms the plugin reported since OFFSET, from its request
# lines ("plugin[1] CALL ok in X ms request=..."; older builds wrote "plugin[0] /CALL ok in X ms")
plugin_ms_since() {
  local h="$1" off="$2"; shift 2
  tail -c +"$((off + 1))" "$LAB_DIR/$h/netplugin.log" | awk -v calls=" $* " '
    /plugin\[[0-9]+\] \/?[A-Za-z.]+ ok in [0-9.]+ ms/ { for (i = 1; i <= NF; i++) if ($i == "ok" && $(i+1) == "in") {
      c = $(i-1); sub(/^\//, "", c); if (index(calls, " " c " ")) t += $(i+2) } }
    END { printf "%.1f", t }'
}

phase_docker_run() {
  local i n t0 off sock="$LAB_DIR/h1/docker.sock" s
  log "docker run -d latency on h1: $BENCH_RUNS runs each on bridge, bn-userbr, contiv-net, contiv-gw (interleaved)"
  # bn-userbr: a user-defined network of Docker's own bridge driver. Every user-defined network (ours
  # included) gets Docker's embedded DNS, which the default bridge does not: this baseline separates
  # what Docker does for any user-defined network from what a remote driver costs.
  docker -H "unix://$sock" network create -d bridge --subnet 10.3.0.0/22 bn-userbr >/dev/null
  for n in bridge bn-userbr contiv-net contiv-gw; do : >"$RUN/samples/run-$n.txt"; done
  off=$(plugin_log_offset h1)
  for ((i = 1; i <= BENCH_RUNS; i++)); do
    for n in bridge bn-userbr contiv-net contiv-gw; do
      t0=$(now)
      docker -H "unix://$sock" run -d --label bn-run=1 --net="$n" "$IMG" sleep 3600 >/dev/null
      ms_since "$t0" >>"$RUN/samples/run-$n.txt"
    done
  done
  s=$(plugin_ms_since h1 "$off" IpamDriver.RequestAddress NetworkDriver.CreateEndpoint NetworkDriver.Join)
  PLUGIN_MS_PER_RUN=$(awk -v t="$s" -v n="$((2 * BENCH_RUNS))" 'BEGIN{printf "%.1f", t/n}')
  read -r B50 B95 _ <<<"$(stats "$RUN/samples/run-bridge.txt")"
  read -r C50 C95 _ <<<"$(stats "$RUN/samples/run-contiv-net.txt")"
  read -r G50 G95 _ <<<"$(stats "$RUN/samples/run-contiv-gw.txt")"
  read -r U50 U95 _ <<<"$(stats "$RUN/samples/run-bn-userbr.txt")"
  report name=docker_run_bridge_median group=docker_run value="$B50" unit=ms note="docker run -d --net=bridge, N=$BENCH_RUNS"
  report name=docker_run_bridge_p95 group=docker_run value="$B95" unit=ms
  report name=docker_run_user_bridge_median group=docker_run value="$U50" unit=ms base=docker_run_bridge_median note="diagnostic: docker run -d on a user-defined bridge network (Docker's embedded DNS, as every user-defined network has)"
  report name=docker_run_user_bridge_p95 group=docker_run value="$U95" unit=ms base=docker_run_bridge_p95
  report name=docker_run_contiv_median group=docker_run value="$C50" unit=ms base=docker_run_bridge_median base2=docker_run_user_bridge_median tgt='ratio<=1.10' note="docker run -d --net=contiv-net (no gateway: Docker adds eth1 on docker_gwbridge)"
  report name=docker_run_contiv_p95 group=docker_run value="$C95" unit=ms base=docker_run_bridge_p95 base2=docker_run_user_bridge_p95
  report name=docker_run_contiv_gw_median group=docker_run value="$G50" unit=ms base=docker_run_bridge_median note="diagnostic: contiv network with -g (no docker_gwbridge endpoint)"
  report name=docker_run_contiv_gw_p95 group=docker_run value="$G95" unit=ms base=docker_run_bridge_p95
  report name=plugin_ms_per_docker_run group=docker_run value="$PLUGIN_MS_PER_RUN" unit=ms base=docker_run_contiv_median note="diagnostic: netplugin's own time in RequestAddress+CreateEndpoint+Join per contiv run (its log)"
  log "removing the $((4 * BENCH_RUNS)) containers"
  rm_labelled bn-run=1
  docker -H "unix://$sock" network rm bn-userbr >/dev/null
}

# Name lookups from a container on a network with a gateway (contiv-gw: no docker_gwbridge, so every
# question Docker cannot answer goes to the responder inside the network): one UDP question at a
# time to Docker's embedded DNS (127.0.0.11) from the container's network namespace, timed to the
# answer by a small Python client (docker exec's own cost stays out; dig only counts whole ms). A name on the same engine (Docker answers itself; the
# baseline), a name on the other host (netplugin answers), and an unknown name (REFUSED at once).
phase_dns() {
  local n="$BENCH_PINGS" name pid
  lab_docker h1 run -d --name bn-dns1 --label bn-dns=1 --net contiv-gw "$IMG" sleep 3600 >/dev/null
  lab_docker h1 run -d --name bn-dns-local --label bn-dns=1 --net contiv-gw "$IMG" sleep 3600 >/dev/null
  lab_docker h2 run -d --name bn-dns2 --label bn-dns=1 --net contiv-gw "$IMG" sleep 3600 >/dev/null
  pid=$(lab_docker h1 inspect -f '{{.State.Pid}}' bn-dns1)
  lab_wait_for "lab_docker h1 exec bn-dns1 nslookup bn-dns2 >/dev/null 2>&1" 30 0.5
  for name in bn-dns-local bn-dns2 bn-no-such-name; do
    nsenter -t "$pid" -n "$PY" - "$name" "$n" >"$RUN/samples/dns-$name.txt" <<'PYEOF'
import socket, struct, sys, time
name, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
for i in range(n):
    q = struct.pack(">HHHHHH", i + 1, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    t = time.perf_counter(); s.sendto(q, ("127.0.0.11", 53)); s.recvfrom(4096)
    print("%.3f" % ((time.perf_counter() - t) * 1000))
PYEOF
  done
  report name=dns_local_name_median group=dns value="$(median "$RUN/samples/dns-bn-dns-local.txt")" unit=ms note="baseline: a container on the same engine (Docker's embedded DNS answers), N=$n"
  report name=dns_remote_name_median group=dns value="$(median "$RUN/samples/dns-bn-dns2.txt")" unit=ms base=dns_local_name_median note="a container on the other host, network with a gateway (netplugin's responder inside the network)"
  report name=dns_negative_median group=dns value="$(median "$RUN/samples/dns-bn-no-such-name.txt")" unit=ms base=dns_local_name_median tgt='value<=10' note="an unknown name: an immediate REFUSED, no timeout"
  lab_docker h1 rm -f bn-dns1 bn-dns-local >/dev/null
  lab_docker h2 rm -f bn-dns2 >/dev/null
}

rm_labelled() { # rm_labelled LABEL: remove h1's containers with that label, 4 docker rm at a time
  local sock="$LAB_DIR/h1/docker.sock"
  docker -H "unix://$sock" ps -aq --filter "label=$1" | xargs -r -n 10 -P 4 docker -H "unix://$sock" rm -f >/dev/null
}

k_containers() { # k_containers NET LABEL -> "ok seconds"
  local sock="$LAB_DIR/h1/docker.sock" t0 ok
  t0=$(now)
  seq "$BENCH_K" | xargs -P "$BENCH_K_PAR" -I{} docker -H "unix://$sock" run -d --label "$2=1" --net="$1" "$IMG" sleep 3600 \
    >"$RUN/samples/k-$1.ids" 2>"$RUN/samples/k-$1.err" || true
  ok=$(grep -c . "$RUN/samples/k-$1.ids" || true)
  echo "$ok $(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}')"
}

phase_k_containers() {
  local ok secs np nm dd
  log "endpoints/s: $BENCH_K containers on h1, $BENCH_K_PAR concurrent docker run, contiv-net then bridge"
  read -r ok secs <<<"$(k_containers contiv-net bn-k)"
  [ "$ok" = "$BENCH_K" ] || log "WARNING: only $ok of $BENCH_K contiv containers started (see $RUN/samples/k-contiv-net.err)"
  K_CONTIV_RATE=$(awk -v k="$ok" -v s="$secs" 'BEGIN{printf "%.1f", k/s}')
  sleep 3 # let the agents settle before reading memory
  np=$(pid_of h1 netplugin); nm=$(pid_of h1 netmaster); dd=$(dockerd_pid h1)
  report name=dockerd_rss_after_k group=footprint value="$(rss_mb "$dd")" unit=MB base=dockerd_rss_idle
  report name=netplugin_rss_after_k group=footprint value="$(rss_mb "$np")" unit=MB base=netplugin_rss_idle tgt='value<=40' note="h1 with $BENCH_K containers on contiv-net; $(rss_split "$np")"
  report name=netmaster_rss_after_k group=footprint value="$(rss_mb "$nm")" unit=MB base=netmaster_rss_idle
  rm_labelled bn-k=1
  read -r ok secs <<<"$(k_containers bridge bn-kb)"
  K_BRIDGE_RATE=$(awk -v k="$ok" -v s="$secs" 'BEGIN{printf "%.1f", k/s}')
  rm_labelled bn-kb=1
  report name=endpoints_per_s_bridge group=endpoints value="$K_BRIDGE_RATE" unit=endpoints/s note="K=$BENCH_K docker run -d --net=bridge on h1, $BENCH_K_PAR at a time"
  report name=endpoints_per_s_contiv group=endpoints value="$K_CONTIV_RATE" unit=endpoints/s base=endpoints_per_s_bridge tgt='value>=500' note="K=$BENCH_K docker run -d --net=contiv-net on h1, $BENCH_K_PAR at a time; 500/s is the issue's target figure"

  log "diagnostic: netplugin alone (libnetwork calls on its socket, no dockerd)"
  local netid rate undo
  netid=$(lab_docker h1 network inspect -f '{{.Id}}' contiv-net)
  mkdir -p "$RUN/fake-sandboxes"
  read -r rate _ undo <<<"$("$PY" "$ROOT/bench/lib/plugin_endpoints.py" "$LAB_DIR/h1/plugins/netplugin.sock" "$netid" \
    "contiv-net.default|$CONTIV_NET_CIDR" "$RUN/fake-sandboxes" "$BENCH_K" "$BENCH_K_PAR")"
  report name=endpoints_per_s_plugin_only group=endpoints value="$rate" unit=endpoints/s base=endpoints_per_s_contiv note="diagnostic: RequestAddress+CreateEndpoint+Join straight to netplugin, $BENCH_K_PAR threads (undo took ${undo}s)"
}

ipam_wait_done() { # ipam_wait_done DIR PID...: until every child printed "done"; fails if one exits without
  local w="$1" i n l line
  shift
  local pids=("$@")
  while :; do
    n=0
    for ((i = 0; i < ${#pids[@]}; i++)); do
      l=""
      while IFS= read -r line; do l="$line"; done <"$w/log$i"
      if [ "$l" = "done" ]; then n=$((n + 1))
      elif ! kill -0 "${pids[$i]}" 2>/dev/null; then log "StressTool $i exited early: $(tail -n 3 "$w/log$i")"; return 1; fi
    done
    [ "$n" = "${#pids[@]}" ] && return 0
    sleep 0.01
  done
}

ipam_run() { # ipam_run PROCS COUNT NET-ID TAG -> "rate total dups"
  local np="$1" c="$2" net="$3" w="$RUN/ipam-$4" i fd t0 t1 pids=() fds=()
  mkdir -p "$w"
  for ((i = 0; i < np; i++)); do
    mkfifo "$w/in$i"
    (lab_exec h1 dotnet exec "$STRESS_DLL" addresses "$(contiv_store_url)" "$net" "$c" "$w/out$i.txt" <"$w/in$i" >"$w/log$i" 2>&1) &
    pids+=($!)
    exec {fd}>"$w/in$i"; fds+=("$fd")
  done
  lab_wait_for "[ \$(cat $w/log* | grep -cx ready) = $np ]" 60 0.05
  t0=$(now)
  for fd in "${fds[@]}"; do echo go >&"$fd"; done
  ipam_wait_done "$w" "${pids[@]}"
  t1=$(now)
  for fd in "${fds[@]}"; do exec {fd}>&-; done
  for i in "${pids[@]}"; do wait "$i" || log "WARNING: a StressTool process failed (see $w/log*)"; done
  cat "$w"/out*.txt >"$w/all.txt" 2>/dev/null || true
  awk -v n="$(grep -c . "$w/all.txt")" -v a="$t0" -v b="$t1" -v d="$(sort "$w/all.txt" | uniq -d | grep -c . || true)" \
    'BEGIN{printf "%.1f %d %d\n", n/(b-a), n, d}'
}

phase_ipam() {
  local r1 n1 d1 r3 n3 d3 incr cpu0 cpu1 np1 np2
  log "IPAM: StressTool on h1's Redis, 1 process then $BENCH_IPAM_PROCS concurrent, $BENCH_IPAM_COUNT allocations each"
  netctl net create --subnet=10.128.0.0/16 ipam-bench >/dev/null
  # The netplugins now create the Docker network on their engines; let that finish so the CPU they
  # spend during the timed run below is what the allocations cost them, not this set-up.
  sleep 5
  read -r r1 n1 d1 <<<"$(ipam_run 1 "$BENCH_IPAM_COUNT" ipam-bench.default one)"
  np1=$(pid_of h1 netplugin); np2=$(pid_of h2 netplugin)
  cpu0=$(awk '{s+=$14+$15} END{print s}' "/proc/$np1/stat" "/proc/$np2/stat")
  read -r r3 n3 d3 <<<"$(ipam_run "$BENCH_IPAM_PROCS" "$BENCH_IPAM_COUNT" ipam-bench.default many)"
  cpu1=$(awk '{s+=$14+$15} END{print s}' "/proc/$np1/stat" "/proc/$np2/stat")
  incr=$(lab_exec h1 redis-benchmark -h "$(lab_host_ip h1)" -p "$CONTIV_REDIS_PORT" -t incr -n 20000 -c "$BENCH_IPAM_PROCS" -q 2>/dev/null |
    tr '\r' '\n' | sed -n 's/^INCR: \([0-9.]*\) requests per second.*/\1/p' | tail -n1)
  report name=redis_incr_per_s group=ipam value="$incr" unit=ops/s note="diagnostic: redis-benchmark INCR, $BENCH_IPAM_PROCS clients, same Redis (one-command atomic ceiling)"
  report name=ipam_allocs_per_s_1proc group=ipam value="$r1" unit=allocations/s note="$n1 allocations, 1 process, /16 network"
  report name=ipam_allocs_per_s group=ipam value="$r3" unit=allocations/s base=ipam_allocs_per_s_1proc base2=redis_incr_per_s tgt='value>=10000' note="$n3 allocations from $BENCH_IPAM_PROCS processes on one Redis (StressTool: AllocateAddressAsync, each one Lua script call taking from the network's address pool)"
  report name=ipam_duplicates group=ipam value="$((d1 + d3))" unit=addresses tgt='value==0' note="addresses handed out twice across both runs"
  report name=ipam_netplugin_cpu_ms_per_alloc group=ipam value="$(awk -v c="$((cpu1 - cpu0))" -v n="$n3" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.3f", c*1000/hz/n}')" unit=ms \
    note="diagnostic: CPU the two (idle) netplugins spent during the timed run, per allocation (pool takes are not announced to them)"
}

phase_netcreate() {
  local i t0 h ok sock1="$LAB_DIR/h1/docker.sock" sock2="$LAB_DIR/h2/docker.sock"
  log "netctl net create -> Docker network on h1 and h2 ($BENCH_NETCREATE_RUNS runs), vs docker network create on h1"
  : >"$RUN/samples/netcreate-contiv.txt"; : >"$RUN/samples/netcreate-docker.txt"; : >"$RUN/samples/netcreate-netctl.txt"
  for ((i = 1; i <= BENCH_NETCREATE_RUNS; i++)); do
    t0=$(now)
    netctl net create --subnet="10.60.$i.0/24" "bn-nc$i" >/dev/null
    ms_since "$t0" >>"$RUN/samples/netcreate-netctl.txt"
    until curl -sf --unix-socket "$sock1" "http://d/v1.41/networks/bn-nc$i" >/dev/null &&
      curl -sf --unix-socket "$sock2" "http://d/v1.41/networks/bn-nc$i" >/dev/null; do
      [ "$(ms_since "$t0" | cut -d. -f1)" -lt 30000 ] || die "bn-nc$i did not appear on both hosts in 30 s"
      sleep 0.01
    done
    ms_since "$t0" >>"$RUN/samples/netcreate-contiv.txt"
    t0=$(now)
    lab_docker h1 network create -d bridge --subnet="10.61.$i.0/24" "bn-dnc$i" >/dev/null
    ms_since "$t0" >>"$RUN/samples/netcreate-docker.txt"
  done
  for ((i = 1; i <= BENCH_NETCREATE_RUNS; i++)); do
    netctl net rm "bn-nc$i" >/dev/null || true
    lab_docker h1 network rm "bn-dnc$i" >/dev/null || true
  done
  report name=net_create_docker_bridge group=netcreate value="$(median "$RUN/samples/netcreate-docker.txt")" unit=ms note="docker network create -d bridge on one host (CLI wall time)"
  report name=net_create_contiv_all_hosts group=netcreate value="$(median "$RUN/samples/netcreate-contiv.txt")" unit=ms base=net_create_docker_bridge note="netctl net create until docker network inspect answers on h1 and h2 (median of $BENCH_NETCREATE_RUNS)"
  report name=net_create_netctl_returns group=netcreate value="$(median "$RUN/samples/netcreate-netctl.txt")" unit=ms base=net_create_contiv_all_hosts note="diagnostic: when netctl itself returned (.NET CLI start + REST + store commit)"
}

# ------------------------------------------------------------------ 3. footprint
# start_netplugin_timed hN TAG [ENV=V...]: starts netplugin outside the lab's daemon bookkeeping with
# its launch time in $RUN/cold/TAG.t0 (written just before exec) and its pid in $RUN/cold/TAG.pid;
# prints the ms until /Plugin.Activate answered.
start_netplugin_timed() {
  local h="$1" tag="$2" bin="$3" sock
  shift 3
  sock="$(lab_plugins_dir "$h")/netplugin.sock"
  rm -f "$sock" "$RUN/cold/$tag.t0" "$RUN/cold/$tag.pid"
  "$PY" "$ROOT/bench/lib/probe_activate.py" "$sock" "$RUN/cold/$tag.t0" 60 >"$RUN/cold/$tag.ms" 2>"$RUN/cold/$tag.probe.err" &
  PROBE_PID=$!
  sleep 0.2 # the probe is polling before netplugin starts
  # shellcheck disable=SC2016 # expanded by that sh
  lab_exec "$h" sh -c 'date +%s.%N >"$0"; echo $$ >"$1"; shift; exec "$@"' "$RUN/cold/$tag.t0" "$RUN/cold/$tag.pid" \
    env CONTIV_LOG_PLUGIN_BODIES=0 "$@" "$bin" \
    --host "$h" --vtep-ip "$(lab_host_ip "$h")" --vlan-if eth2 --vxlan-port "$CONTIV_VXLAN_PORT" \
    --cluster-store "$(contiv_store_url)" --socket "$sock" --state-dir "$(lab_host_dir "$h")/run" \
    --docker-endpoint "$(lab_docker_host "$h")" </dev/null >>"$RUN/cold/$tag.log" 2>&1 &
  wait "$PROBE_PID" || die "netplugin ($tag) did not answer /Plugin.Activate (see $RUN/cold/$tag.log)"
  PROBE_PID=
  cat "$RUN/cold/$tag.ms"
}
stop_timed() {
  local pid i
  pid=$(cat "$RUN/cold/$1.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do [ -d "/proc/$pid" ] || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

phase_coldstart() {
  local r t0 rounds=$((BENCH_COLD_RUNS > 3 ? BENCH_COLD_RUNS : 3)) bin="$CONTIV_ARTIFACTS/netplugin/netplugin"
  local jit="$CONTIV_ARTIFACTS/netplugin-jit/Contiv.NetPlugin"
  mkdir -p "$RUN/cold"
  [ -x "$jit" ] || { log "no JIT netplugin in $CONTIV_ARTIFACTS (BENCH_SOURCE=artifacts): the JIT comparison is skipped"; jit=""; }
  log "cold start: netplugin on h2 restarted $BENCH_COLD_RUNS times${jit:+ (+3 with the same sources on the JIT)}, ms to /Plugin.Activate"
  contiv_stop_netplugin h2
  : >"$RUN/samples/cold-netplugin.txt"; : >"$RUN/samples/cold-floor.txt"; : >"$RUN/samples/cold-netplugin-jit.txt"; : >"$RUN/samples/rss-netplugin-jit.txt"
  for ((r = 1; r <= rounds; r++)); do
    if [ "$r" -le "$BENCH_COLD_RUNS" ]; then
      start_netplugin_timed h2 "default-$r" "$bin" >>"$RUN/samples/cold-netplugin.txt"
      if [ "$r" = 1 ]; then
        sleep 2
        report name=netplugin_rss_fresh group=footprint value="$(rss_mb "$(cat "$RUN/cold/default-1.pid")")" unit=MB base=netplugin_rss_idle tgt='value<=40' note="h2 netplugin 2 s after a cold start (no containers); $(rss_split "$(cat "$RUN/cold/default-1.pid")")"
      fi
      stop_timed "default-$r"
    fi
    if [ "$r" -le 3 ] && [ -n "$jit" ]; then
      start_netplugin_timed h2 "jit-$r" "$jit" >>"$RUN/samples/cold-netplugin-jit.txt"
      sleep 2
      rss_mb "$(cat "$RUN/cold/jit-$r.pid")" >>"$RUN/samples/rss-netplugin-jit.txt"; echo >>"$RUN/samples/rss-netplugin-jit.txt"
      rss_split "$(cat "$RUN/cold/jit-$r.pid")" >"$RUN/cold/jit.split"
      stop_timed "jit-$r"
    fi
  done
  log "baseline: netctl --help wall time (a native .NET program's start-to-exit here), $BENCH_COLD_RUNS runs"
  for ((r = 1; r <= BENCH_COLD_RUNS; r++)); do
    t0=$(now); "$CONTIV_ARTIFACTS/netctl/netctl" --help >/dev/null; ms_since "$t0" >>"$RUN/samples/cold-floor.txt"
  done
  contiv_start_netplugin h2 # back under the lab's bookkeeping
  : >"$RUN/samples/cold-listen.txt"
  for ((r = 1; r <= BENCH_COLD_RUNS; r++)); do # exec -> Kestrel "Now listening" (the rest is the first request)
    local ts
    ts=$(grep -m1 'Now listening on' "$RUN/cold/default-$r.log" | cut -d' ' -f1) || continue
    awk -v a="$(cat "$RUN/cold/default-$r.t0")" -v b="$(date -d "$ts" +%s.%N)" 'BEGIN{printf "%.1f\n", (b-a)*1000}' >>"$RUN/samples/cold-listen.txt"
  done
  report name=dotnet_console_floor group=coldstart value="$(median "$RUN/samples/cold-floor.txt")" unit=ms note="baseline: netctl --help, start to exit"
  report name=netplugin_cold_start group=coldstart value="$(median "$RUN/samples/cold-netplugin.txt")" unit=ms base=dotnet_console_floor tgt='value<=300' note="exec to first /Plugin.Activate answer, median of $BENCH_COLD_RUNS (page cache warm; native AOT build)"
  report name=netplugin_cold_listening group=coldstart value="$(median "$RUN/samples/cold-listen.txt")" unit=ms base=netplugin_cold_start note="diagnostic: exec to Kestrel's 'Now listening' log line"
  if [ -n "$jit" ]; then
    report name=netplugin_cold_start_jit group=coldstart value="$(median "$RUN/samples/cold-netplugin-jit.txt")" unit=ms base=netplugin_cold_start note="diagnostic: the same sources published for the JIT (framework-dependent), median of 3"
    report name=netplugin_rss_fresh_jit group=footprint value="$(median "$RUN/samples/rss-netplugin-jit.txt")" unit=MB base=netplugin_rss_fresh note="diagnostic: JIT netplugin 2 s after start; last: $(cat "$RUN/cold/jit.split")"
  fi
}

# shellcheck source=scripts/lib/bench-startdir.sh
source "$ROOT/scripts/lib/bench-startdir.sh" # phase_startdir
# shellcheck source=scripts/lib/bench-policy.sh
source "$ROOT/scripts/lib/bench-policy.sh" # phase_policy
# shellcheck source=scripts/lib/bench-cni.sh
source "$ROOT/scripts/lib/bench-cni.sh" # phase_cni

# ------------------------------------------------------------------ results
write_json() {
  local meta
  meta=$(jq -n --arg date "$(date -Is)" --arg source "$SOURCE_DESC" --arg kernel "$(uname -r)" --arg cpus "$(nproc)" \
    --arg docker "$(lab_docker h1 version --format '{{.Server.Version}}' 2>/dev/null || echo '?')" \
    --arg load0 "$LOAD0" --arg load1 "$(cut -d' ' -f1-3 /proc/loadavg)" --arg secs "$(awk -v a="$T_START" -v b="$(now)" 'BEGIN{printf "%.0f", b-a}')" \
    --argjson phases "$(phases_json)" \
    --arg errors "${PHASE_ERRORS:-}" \
    --argjson env "$(jq -n --arg runs "$BENCH_RUNS" --arg k "$BENCH_K" --arg kpar "$BENCH_K_PAR" --arg isecs "$BENCH_IPERF_SECS" \
      --arg ireps "$BENCH_IPERF_REPS" --arg pings "$BENCH_PINGS" --arg iprocs "$BENCH_IPAM_PROCS" --arg icount "$BENCH_IPAM_COUNT" \
      --arg ncr "$BENCH_NETCREATE_RUNS" --arg cold "$BENCH_COLD_RUNS" \
      '{BENCH_RUNS:$runs, BENCH_K:$k, BENCH_K_PAR:$kpar, BENCH_IPERF_SECS:$isecs, BENCH_IPERF_REPS:$ireps, BENCH_PINGS:$pings,
        BENCH_IPAM_PROCS:$iprocs, BENCH_IPAM_COUNT:$icount, BENCH_NETCREATE_RUNS:$ncr, BENCH_COLD_RUNS:$cold} | map_values(tonumber)')" \
    '{date:$date, programs:$source, kernel:$kernel, cpus:($cpus|tonumber), docker_engine:$docker,
      loadavg_start:$load0, loadavg_end:$load1, wall_seconds:($secs|tonumber), phase_seconds:$phases, settings:$env,
      failed_phases:($errors | split(" ") | map(select(. != ""))),
      note:"Lab: network namespaces on one machine (scripts/lib/contiv.sh); ratios compare figures measured in this same run. Other workloads shared the CPUs (see loadavg)."}')
  jq -Rn --argjson meta "$meta" --slurpfile samples <(samples_json) '
    def num: if . == "" then null else tonumber end;
    {meta:$meta,
     figures:[inputs | split("\t") | {name:.[0], group:.[1], value:(.[2]|num), unit:.[3],
       baseline:(if .[4]=="" then null else .[4] end), ratio:(.[5]|num),
       baseline2:(if .[6]=="" then null else .[6] end), ratio2:(.[7]|num),
       target:(if .[8]=="" then null else .[8] end), status:(if .[9]=="" then null else .[9] end), note:.[10]}],
     samples:$samples[0]}' <"$FIG" >"$BENCH_OUT/results.json"
}
phases_json() {
  if [ -s "$RUN/phase-seconds" ]; then awk 'BEGIN{printf "{"} {printf "%s\"%s\":%s", (NR>1?",":""), $1, $2} END{printf "}"}' "$RUN/phase-seconds"
  else echo '{}'; fi
}
samples_json() { # every one-number-per-line sample file as an array
  local f first=1
  printf '{'
  for f in "$RUN"/samples/*.txt; do
    [ -e "$f" ] || continue
    grep -Eq '^[0-9.]+$' <(head -n1 "$f") || continue
    [ $first = 1 ] || printf ','
    first=0
    printf '"%s":[%s]' "$(basename "$f" .txt)" "$(grep -E '^[0-9.]+$' "$f" | paste -sd,)"
  done
  printf '}'
}

# ------------------------------------------------------------------ main
main() {
  T_START=$(now); LOAD0=$(cut -d' ' -f1-3 /proc/loadavg); PHASE_ERRORS=""
  mkdir -p "$BENCH_WORK" "$BENCH_OUT"
  install_deps
  prepare_programs
  # shellcheck source=scripts/lib/contiv.sh
  source "$ROOT/scripts/lib/contiv.sh"
  rm -rf "$RUN"; mkdir -p "$RUN/samples"; : >"$FIG"
  if _lab_exists; then log "removing a leftover bench lab ($LAB_PREFIX, $LAB_DIR)"; contiv_down >/dev/null 2>&1 || true; fi
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  log "programs: $SOURCE_DESC; lab $LAB_PREFIX in $LAB_DIR; loadavg $LOAD0"
  contiv_up 2 >"$RUN/contiv-up.log" 2>&1 || { cat "$RUN/contiv-up.log" >&2; die "contiv_up failed"; }
  build_iperf_image
  CONTIV_NET_CIDR=10.1.0.0/22
  netctl net create --subnet="$CONTIV_NET_CIDR" contiv-net >/dev/null
  netctl net create --subnet=10.2.0.0/22 -g 10.2.3.254 contiv-gw >/dev/null
  contiv_wait_docker_network h1 contiv-net; contiv_wait_docker_network h2 contiv-net; contiv_wait_docker_network h1 contiv-gw
  contiv_wait_docker_network h2 contiv-gw
  sleep 3
  RSS_NP_IDLE=$(rss_mb "$(pid_of h1 netplugin)"); RSS_NM_IDLE=$(rss_mb "$(pid_of h1 netmaster)"); RSS_DD_IDLE=$(rss_mb "$(dockerd_pid h1)")
  report name=dockerd_rss_idle group=footprint value="$RSS_DD_IDLE" unit=MB note="baseline: h1's dockerd (the engine netplugin plugs into)"
  report name=netplugin_rss_idle group=footprint value="$RSS_NP_IDLE" unit=MB base=dockerd_rss_idle tgt='value<=40' note="h1, 2 networks, no containers; $(rss_split "$(pid_of h1 netplugin)")"
  report name=netmaster_rss_idle group=footprint value="$RSS_NM_IDLE" unit=MB base=dockerd_rss_idle note="$(rss_split "$(pid_of h1 netmaster)")"

  local ph rc t_ph
  for ph in $BENCH_PHASES; do
    declare -F "phase_$ph" >/dev/null || die "unknown phase '$ph' in BENCH_PHASES"
    t_ph=$(now)
    set +e
    (set -Eeuo pipefail; "phase_$ph")
    rc=$?
    set -e
    [ "$rc" = 0 ] || { log "phase $ph FAILED (rc $rc); continuing"; PHASE_ERRORS+=" $ph"; }
    if declare -F "after_$ph" >/dev/null; then "after_$ph" || true; fi
    printf '%s %s\n' "$ph" "$(awk -v a="$t_ph" -v b="$(now)" 'BEGIN{printf "%.0f", b-a}')" >>"$RUN/phase-seconds"
    log "phase $ph: $(tail -n1 "$RUN/phase-seconds" | cut -d' ' -f2) s"
  done

  write_json
  "$ROOT/bench/chart.sh" "$BENCH_OUT/results.json" "$BENCH_OUT/summary.png" || log "chart failed"
  log "wrote $BENCH_OUT/results.json and $BENCH_OUT/summary.png after $(awk -v a="$T_START" -v b="$(now)" 'BEGIN{printf "%.0f", b-a}') s; loadavg now $(cut -d' ' -f1-3 /proc/loadavg)"
  log "misses: $(awk -F'\t' '$10=="MISS" {printf "%s ", $1}' "$FIG")"
}

main "$@"; exit # one line: edits to this file while it runs cannot run more of it
