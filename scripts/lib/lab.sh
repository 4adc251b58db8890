# shellcheck shell=bash
# ContivDocker lab library: N Docker "hosts" on one machine, each = network namespace
# + own dockerd (own data/exec root, API socket, hostname, /run/docker/plugins, /etc/docker).
#
#   source scripts/lib/lab.sh
#   lab_up 2; lab_docker h1 run --rm contiv/busybox echo ok; lab_down
#
# Layout (host i, N = h$i):
#   netns  $LAB_PREFIX-ul  bridge br0 (underlay), ports h1..hN (+ ext)
#   netns  $LAB_PREFIX-hi  eth2 = $LAB_SUBNET_BASE.(49+i)/24, lo up
#   $LAB_DIR/hi/docker.sock            API socket (lab_docker / DOCKER_HOST=unix://...)
#   $LAB_DIR/hi/dockerd.{log,pid,start} dockerd output, pid, start time (pid-reuse guard); docker.pid = dockerd's own
#   $LAB_DIR/hi/NAME.{log,pid,start}   extra daemons (lab_start_daemon), names listed in $LAB_DIR/hi/daemons
#   $LAB_DIR/hi/plugins/               = /run/docker/plugins for that host (put the plugin socket here)
#   $LAB_DIR/hi/{etc-docker,data,exec}/ = /etc/docker, --data-root, --exec-root (sandboxes: exec/netns/<id>)
#   $LAB_DIR/hi/{run-contiv,var-lib-contiv,var-lib-redis}/ = /run/contiv, /var/lib/contiv, /var/lib/redis
#   $LAB_DIR/hi/resolv.conf, $LAB_DIR/hosts   bound over /etc/resolv.conf (nameserver = own eth2 IP) and /etc/hosts
#   $LAB_DIR/ext/NAME.{log,pid}        daemons started in the ext netns; $LAB_DIR/image/busybox-rootfs.tar (cache)
# Per-host "anchor" process (sleep infinity) owns the host's mount + UTS namespaces (entered via
# `ip netns exec` + `unshare -u`); dockerd, lab_exec and lab_start_daemon all nsenter into it, so they
# share hostname hi, /run/docker/plugins=$LAB_DIR/hi/plugins, /etc/docker, /etc/resolv.conf, cgroup mounts.
#
# Public functions: lab_up N | lab_down | lab_exec hN CMD.. | lab_docker hN ARGS.. | lab_status
#   lab_host_ip i | lab_host_ns i | lab_host_dir i | lab_sock i | lab_docker_host i | lab_plugins_dir i
#   lab_hosts | lab_wait_for 'CMD' TIMEOUT [INTERVAL] | lab_start_daemon hN|ext NAME CMD..
#   lab_stop_daemon hN|ext NAME | lab_daemon_pid hN|ext NAME | lab_add_outside_ns [--default-route]
#   lab_dockerd_start hN | lab_dockerd_stop hN
# Only PIDs recorded by the lab (pid files), or processes found inside the lab's own network
# namespaces / cgroups, are ever signalled. Nothing is killed by name.

_LAB_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"

: "${LAB_DIR:=/tmp/contiv-lab}"
: "${LAB_PREFIX:=cl}"
: "${LAB_SUBNET_BASE:=192.168.2}"
: "${LAB_HOSTS:=2}"
: "${LAB_MAX_HOSTS:=5}"
: "${LAB_BIP_BASE:=172.30}"              # docker0 of host i = $LAB_BIP_BASE.i.1/24
: "${LAB_EXT_IP:=${LAB_SUBNET_BASE}.200}"
: "${LAB_DNS:=}"                         # empty: each host's resolv.conf points at its own eth2 IP
: "${LAB_IMAGE:=contiv/busybox:latest}"
: "${LAB_IMAGE_ALIASES:=}"               # extra tags for the same image, space separated
: "${LAB_DOCKERD_ARGS:=}"                # extra dockerd flags (word-split)
: "${LAB_START_TIMEOUT:=30}"             # seconds per dockerd to answer `docker version`
: "${LAB_STOP_TIMEOUT:=15}"              # seconds for TERM before KILL
: "${LAB_QUIET:=0}"

_LAB_PATH_DEFAULT=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ---------------------------------------------------------------- helpers (no side effects)
_lab_log() { [ "$LAB_QUIET" = 1 ] || printf '[lab] %s\n' "$*" >&2; }
_lab_warn() { printf '[lab] WARNING: %s\n' "$*" >&2; }
_lab_err() { printf '[lab] ERROR: %s\n' "$*" >&2; }
_lab_die() { _lab_err "$*"; exit 1; }
_lab_now() { printf '%s' "${EPOCHREALTIME/[.,]/.}"; }
_lab_elapsed() { awk -v a="$1" -v b="$(_lab_now)" 'BEGIN{printf "%.2f", b-a}'; }
_lab_deadline() { awk -v a="$(_lab_now)" -v t="$1" 'BEGIN{printf "%.3f", a+t}'; }
_lab_before() { awk -v d="$1" -v n="$(_lab_now)" 'BEGIN{exit !(n<d)}'; }

_lab_check_env() {
  case "$LAB_DIR" in /?*) ;; *) _lab_err "LAB_DIR must be an absolute path (got '$LAB_DIR')"; return 1 ;; esac
  LAB_DIR="${LAB_DIR%/}"
  case "$LAB_DIR" in /|/tmp|/run|/var|/etc|/usr|/root|/home) _lab_err "refusing LAB_DIR=$LAB_DIR"; return 1 ;; esac
  [[ "$LAB_PREFIX" =~ ^[a-z][a-z0-9]{0,7}$ ]] || { _lab_err "LAB_PREFIX must match [a-z][a-z0-9]{0,7} (got '$LAB_PREFIX')"; return 1; }
  [[ "$LAB_SUBNET_BASE" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { _lab_err "LAB_SUBNET_BASE must look like 192.168.2"; return 1; }
}

# "h3" | "3" | "cl-h3" -> 3
_lab_idx() {
  local a="${1:-}" n
  n="${a#"$LAB_PREFIX"-}"; n="${n#h}"
  if [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le "$LAB_MAX_HOSTS" ]; then echo "$n"; return 0; fi
  _lab_err "bad host '$a' (expected h1..h$LAB_MAX_HOSTS)"; return 1
}

lab_host_ns() { local i; i=$(_lab_idx "$1") || return 1; echo "$LAB_PREFIX-h$i"; }
lab_host_ip() { local i; i=$(_lab_idx "$1") || return 1; echo "$LAB_SUBNET_BASE.$((49 + i))"; }
lab_host_dir() { local i; i=$(_lab_idx "$1") || return 1; echo "$LAB_DIR/h$i"; }
lab_sock() { local i; i=$(_lab_idx "$1") || return 1; echo "$LAB_DIR/h$i/docker.sock"; }
lab_docker_host() { local s; s=$(lab_sock "$1") || return 1; echo "unix://$s"; }
lab_plugins_dir() { local i; i=$(_lab_idx "$1") || return 1; echo "$LAB_DIR/h$i/plugins"; }
lab_ul_ns() { echo "$LAB_PREFIX-ul"; }
lab_ext_ns() { echo "$LAB_PREFIX-ext"; }

# hosts of the current lab: "h1 h2 ..." (from $LAB_DIR/lab.env, else the host dirs)
lab_hosts() {
  local n="" i d out=()
  [ -f "$LAB_DIR/lab.env" ] && n=$(sed -n 's/^LAB_N=//p' "$LAB_DIR/lab.env")
  if [ -n "$n" ]; then
    for ((i = 1; i <= n; i++)); do out+=("h$i"); done
  else
    for d in "$LAB_DIR"/h[0-9]*; do [ -d "$d" ] && out+=("${d##*/}"); done
  fi
  echo "${out[*]:-}"
}

# process state helpers; zombies count as dead (PID 1 on some VMs reaps late)
_lab_alive() {
  local st
  [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
_lab_starttime() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }

# pid recorded in FILE (+ FILE's .start twin) if it is still the same live process
_lab_recorded_pid() {
  local f="$1" pid st
  [ -s "$f" ] || return 1
  pid=$(head -n1 "$f" | tr -dc 0-9)
  _lab_alive "$pid" || return 1
  if [ -s "${f%.pid}.start" ]; then
    st=$(cat "${f%.pid}.start")
    [ "$st" = "$(_lab_starttime "$pid")" ] || return 1
  else
    # pid file written by someone else (e.g. containerd.pid): guard against pid reuse
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$LAB_DIR/" || return 1
  fi
  echo "$pid"
}

# ---------------------------------------------------------------- public thin wrappers
lab_docker() {
  local s
  s=$(lab_sock "${1:-}") || return 2
  shift
  docker -H "unix://$s" "$@"
}

# run CMD inside host hN (netns + mount/UTS ns of the host), or inside ext/ul netns
lab_exec() {
  local t="${1:-}" ns a
  shift || true
  [ $# -gt 0 ] || { _lab_err "usage: lab_exec hN|ext|ul CMD..."; return 2; }
  case "$t" in
    ext | ul | "$LAB_PREFIX-ext" | "$LAB_PREFIX-ul") ip netns exec "$LAB_PREFIX-${t#"$LAB_PREFIX"-}" "$@"; return ;;
  esac
  ns=$(lab_host_ns "$t") || return 2
  if a=$(_lab_recorded_pid "$(lab_host_dir "$t")/anchor.pid"); then
    nsenter -t "$a" -m -u -n --wdns="$PWD" -- "$@"
  else
    _lab_warn "no anchor for $t, falling back to 'ip netns exec $ns'"
    ip netns exec "$ns" "$@"
  fi
}

# lab_wait_for 'CMD' TIMEOUT [INTERVAL]: eval CMD (output discarded) until it succeeds; 1 on timeout.
# CMD runs in the caller's shell (functions ok) and must itself be quick/bounded.
lab_wait_for() {
  local cmd="$1" t="${2:-30}" iv="${3:-0.2}" dl
  dl=$(_lab_deadline "$t")
  while :; do
    if eval "$cmd" >/dev/null 2>&1; then return 0; fi
    _lab_before "$dl" || { _lab_err "timeout after ${t}s waiting for: $cmd"; return 1; }
    sleep "$iv"
  done
}

lab_daemon_pid() {
  local d
  d=$(_lab_target_dir "${1:-}") || return 2
  _lab_recorded_pid "$d/$2.pid"
}

_lab_target_dir() {
  case "$1" in
    ext | "$LAB_PREFIX-ext") echo "$LAB_DIR/ext" ;;
    ul | "$LAB_PREFIX-ul") echo "$LAB_DIR/ul" ;;
    *) lab_host_dir "$1" ;;
  esac
}

# ---------------------------------------------------------------- strict-mode runners
# Every state-changing entry point runs in a fresh bash with `set -Eeuo pipefail`, so errexit is
# honoured even when the caller writes `lab_up 2 || ...` (which would disable -e in a function).
_lab_run() {
  local mode="$1" v vars=()
  shift
  # pass LAB_* explicitly (exporting here would leak `LAB_X=1 lab_up` temp assignments into the caller)
  for v in "${!LAB_@}"; do vars+=("$v=${!v}"); done
  env "${vars[@]}" "${BASH:-bash}" -c '
    mode=$1 lib=$2; shift 2
    if [ "$mode" = strict ]; then set -Eeuo pipefail; else set -uo pipefail; fi
    source "$lib"
    _lab_check_env || exit 1
    [ "$mode" = strict ] && trap '\''rc=$?; _lab_err "line $LINENO: \"$BASH_COMMAND\" failed (rc=$rc)"'\'' ERR
    "$@"' lab "$mode" "$_LAB_LIB" "$@"
}
lab_up() { _lab_run strict _lab_up "$@"; }
lab_down() { _lab_run besteffort _lab_down "$@"; }
lab_status() { _lab_run besteffort _lab_status "$@"; }
lab_start_daemon() { _lab_run strict _lab_start_daemon "$@"; }
lab_stop_daemon() { _lab_run besteffort _lab_stop_daemon "$@"; }
lab_add_outside_ns() { _lab_run strict _lab_add_ext "$@"; }
lab_dockerd_start() { _lab_run strict _lab_dockerd_start_wait "$@"; }
lab_dockerd_stop() { _lab_run besteffort _lab_dockerd_stop "$@"; }

# ---------------------------------------------------------------- spawning
# _lab_spawn DIR NAME CMD...: detached (own session), stdin /dev/null, output appended to DIR/NAME.log,
# pid in DIR/NAME.pid and its start time in DIR/NAME.start. Prints the pid.
_lab_spawn() {
  local dir="$1" name="$2" pidf dl pid
  shift 2
  pidf="$dir/$name.pid"
  rm -f "$pidf" "$pidf.tmp" "$dir/$name.start"
  printf '=== %s start %s: %s\n' "$name" "$(date '+%F %T')" "$*" >>"$dir/$name.log"
  setsid -f sh -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pidf" "$@" \
    </dev/null >>"$dir/$name.log" 2>&1
  dl=$(_lab_deadline 5)
  until [ -s "$pidf" ]; do
    _lab_before "$dl" || { _lab_err "$name did not start (see $dir/$name.log)"; return 1; }
    sleep 0.02
  done
  pid=$(cat "$pidf")
  _lab_starttime "$pid" >"$dir/$name.start" || true
  echo "$pid"
}

# _lab_stop_pid PID TIMEOUT: TERM, wait, KILL, wait (bounded). 0 if gone.
_lab_stop_pids() {
  local t="$1" p dl live
  shift
  [ $# -gt 0 ] || return 0
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  dl=$(_lab_deadline "$t")
  while :; do
    live=()
    for p in "$@"; do _lab_alive "$p" && live+=("$p"); done
    [ ${#live[@]} -eq 0 ] && return 0
    _lab_before "$dl" || break
    sleep 0.1
  done
  _lab_log "  KILL ${live[*]} (still alive after ${t}s)"
  for p in "${live[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  dl=$(_lab_deadline 5)
  while :; do
    live=()
    for p in "$@"; do _lab_alive "$p" && live+=("$p"); done
    [ ${#live[@]} -eq 0 ] && return 0
    _lab_before "$dl" || { _lab_warn "pids survived KILL: ${live[*]}"; return 1; }
    sleep 0.1
  done
}

# ---------------------------------------------------------------- image
_lab_busybox_bin() {
  local b
  for b in /usr/bin/busybox-static /bin/busybox /usr/bin/busybox; do
    if [ -x "$b" ] && file -L "$b" 2>/dev/null | grep -q 'statically linked'; then echo "$b"; return 0; fi
  done
  # `file` may be missing: accept any busybox that ldd does not resolve
  for b in /usr/bin/busybox-static /bin/busybox /usr/bin/busybox; do
    if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then echo "$b"; return 0; fi
  done
  _lab_err "no static busybox found (apt-get install busybox-static)"; return 1
}

_lab_build_image_tar() {
  local tar="$LAB_DIR/image/busybox-rootfs.tar" root="$LAB_DIR/image/rootfs" bb a
  [ -s "$tar" ] && { echo "$tar"; return 0; }
  bb=$(_lab_busybox_bin)
  _lab_log "building busybox rootfs tarball from $bb"
  rm -rf "$root"; mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,var/www,proc,sys,dev,run}
  chmod 1777 "$root/tmp"
  cp "$bb" "$root/bin/busybox"
  # one symlink per applet (perl: ~400 links without ~800 forks; plain loop as fallback)
  if command -v perl >/dev/null; then
    "$root/bin/busybox" --list-full | (cd "$root" && perl -ne 'chomp; next if $_ eq "" || $_ eq "bin/busybox";
      (my $d = $_) =~ s{/[^/]*$}{}; mkdir $d if $d ne $_ && ! -d $d; symlink("/bin/busybox", $_) or die "$_: $!\n"')
  else
    while read -r a; do
      [ -n "$a" ] && [ "$a" != bin/busybox ] || continue
      mkdir -p "$root/${a%/*}"; ln -sf /bin/busybox "$root/$a"
    done < <("$root/bin/busybox" --list-full)
  fi
  for a in sh ping nc ifconfig ip nslookup sleep wget httpd; do
    [ -e "$root/bin/$a" ] || [ -e "$root/sbin/$a" ] || [ -e "$root/usr/bin/$a" ] || [ -e "$root/usr/sbin/$a" ] ||
      { _lab_err "busybox lacks applet $a"; return 1; }
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  echo 'contiv-lab busybox' >"$root/var/www/index.html"
  tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$tar.tmp" .
  mv "$tar.tmp" "$tar"; rm -rf "$root"
  echo "$tar"
}

_lab_import_image() {
  local i="$1" tar="$2" s t
  s=$(lab_sock "h$i")
  timeout 60 docker -H "unix://$s" import --change 'CMD ["/bin/sh"]' --change "ENV PATH=$_LAB_PATH_DEFAULT" \
    "$tar" "$LAB_IMAGE" >/dev/null
  for t in $LAB_IMAGE_ALIASES; do timeout 20 docker -H "unix://$s" tag "$LAB_IMAGE" "$t"; done
}

# ---------------------------------------------------------------- up
_lab_cgroup_mounts() { awk '$3=="cgroup" || $3=="cgroup2" {print $3, $2, $4}' /proc/self/mounts; }

_lab_write_anchor_setup() {
  local i="$1" d f t p o cgtype
  d="$LAB_DIR/h$i"
  f="$d/anchor-setup.sh"
  cgtype=$(stat -f -c %T /sys/fs/cgroup 2>/dev/null || echo unknown)
  {
    echo '#!/bin/sh'
    echo 'set -eu'
    echo "echo h$i >/proc/sys/kernel/hostname"
    echo '# ip netns exec remounted /sys: bring the cgroup hierarchies back (shared with the real host)'
    [ "$cgtype" = tmpfs ] && echo 'mount -t tmpfs -o mode=755 lab_cgroup_root /sys/fs/cgroup'
    while read -r t p o; do
      [ -n "$t" ] || continue
      printf 'mkdir -p %q && mount -t %s -o %q %s %q\n' "$p" "$t" "$o" "$t" "$p"
    done < <(_lab_cgroup_mounts)
    echo "mount --bind $d/plugins /run/docker/plugins"
    echo "mount --bind $d/etc-docker /etc/docker"
    echo "# the daemons' default state dirs, so programs started with their defaults (README) keep hosts apart"
    echo "mount --bind $d/run-contiv /run/contiv"
    echo "mount --bind $d/var-lib-contiv /var/lib/contiv"
    echo "mount --bind $d/var-lib-redis /var/lib/redis"
    echo "mount --bind $d/resolv.conf /etc/resolv.conf"
    echo "mount --bind $LAB_DIR/hosts /etc/hosts"
    echo "touch $d/anchor.ready"
    echo 'exec sleep infinity'
  } >"$f"
  echo "$f"
}

_lab_start_anchor() {
  local i="$1" d ns f pid dl
  d="$LAB_DIR/h$i"
  ns=$(lab_host_ns "h$i")
  f=$(_lab_write_anchor_setup "$i")
  rm -f "$d/anchor.ready"
  pid=$(_lab_spawn "$d" anchor ip netns exec "$ns" unshare -u sh "$f")
  dl=$(_lab_deadline 10)
  until [ -e "$d/anchor.ready" ]; do
    if ! _lab_alive "$pid" || ! _lab_before "$dl"; then
      _lab_err "namespace anchor for h$i failed; log:"; tail -n 20 "$d/anchor.log" >&2; return 1
    fi
    sleep 0.02
  done
}

_lab_dockerd_start() {
  local i="$1" d ns a
  d="$LAB_DIR/h$i"
  ns=$(lab_host_ns "h$i")
  a=$(_lab_recorded_pid "$d/anchor.pid") || _lab_die "h$i has no live anchor process"
  if _lab_recorded_pid "$d/dockerd.pid" >/dev/null; then _lab_log "dockerd on h$i already running"; return 0; fi
  _lab_log "starting dockerd on h$i ($(lab_host_ip "h$i"), docker0 $LAB_BIP_BASE.$i.1/24, sock $d/docker.sock)"
  rm -f "$d/docker.sock" "$d/docker.pid"
  # shellcheck disable=SC2086
  _lab_spawn "$d" dockerd nsenter -t "$a" -m -u -n --wdns=/ -- \
    dockerd --data-root "$d/data" --exec-root "$d/exec" -H "unix://$d/docker.sock" \
    --pidfile "$d/docker.pid" --cgroup-parent "/$ns" --bip "$LAB_BIP_BASE.$i.1/24" \
    --shutdown-timeout 2 $LAB_DOCKERD_ARGS >/dev/null
}

_lab_dockerd_wait() {
  local i="$1" d dl pid
  d="$LAB_DIR/h$i"
  dl=$(_lab_deadline "$LAB_START_TIMEOUT")
  while :; do
    if timeout 5 docker -H "unix://$d/docker.sock" version --format '{{.Server.Version}}' >/dev/null 2>&1; then return 0; fi
    pid=$(_lab_recorded_pid "$d/dockerd.pid") || {
      _lab_err "dockerd on h$i exited; last lines of $d/dockerd.log:"; tail -n 25 "$d/dockerd.log" >&2; return 1; }
    _lab_before "$dl" || {
      _lab_err "dockerd on h$i (pid $pid) not answering after ${LAB_START_TIMEOUT}s; last lines of $d/dockerd.log:"
      tail -n 25 "$d/dockerd.log" >&2; return 1; }
    sleep 0.1
  done
}

_lab_dockerd_start_wait() {
  local i; i=$(_lab_idx "$1")
  _lab_dockerd_start "$i"; _lab_dockerd_wait "$i"
  _lab_log "dockerd on h$i is up"
}

_lab_exists() {
  [ -e "$LAB_DIR" ] && [ -n "$(ls -A "$LAB_DIR" 2>/dev/null)" ] && return 0
  ip netns list 2>/dev/null | awk '{print $1}' | grep -Eq "^$LAB_PREFIX-(ul|ext|h[0-9]+)$"
}

_lab_up() {
  local n="${1:-$LAB_HOSTS}" i t0 ns ip tar pids=() p rc=0 cmd
  t0=$(_lab_now)
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le "$LAB_MAX_HOSTS" ] ||
    _lab_die "host count must be 1..$LAB_MAX_HOSTS (got '$n')"
  [ "$(id -u)" = 0 ] || _lab_die "must run as root"
  for cmd in ip dockerd docker nsenter unshare setsid timeout tar awk; do
    command -v "$cmd" >/dev/null || _lab_die "missing command '$cmd' (run scripts/install-deps.sh)"
  done
  if _lab_exists; then _lab_die "a lab already exists (LAB_DIR=$LAB_DIR or netns $LAB_PREFIX-*); run 'scripts/lab.sh down' first"; fi

  _lab_log "creating lab: $n host(s), prefix $LAB_PREFIX, dir $LAB_DIR, underlay $LAB_SUBNET_BASE.0/24"
  mkdir -p "$LAB_DIR"; chmod 755 "$LAB_DIR"
  echo "contiv lab, created $(date '+%F %T') by $0" >"$LAB_DIR/.contiv-lab"
  printf 'LAB_N=%s\nLAB_PREFIX=%s\nLAB_SUBNET_BASE=%s\n' "$n" "$LAB_PREFIX" "$LAB_SUBNET_BASE" >"$LAB_DIR/lab.env"
  { echo "127.0.0.1 localhost"
    for ((i = 1; i <= LAB_MAX_HOSTS; i++)); do echo "$(lab_host_ip "h$i") h$i"; done
    echo "$LAB_EXT_IP ext"; } >"$LAB_DIR/hosts"
  # mount points for the per-host bind mounts (created empty on the real host if missing)
  for p in /run/docker/plugins /etc/docker /run/contiv /var/lib/contiv /var/lib/redis; do
    [ -d "$p" ] || { _lab_log "creating empty mount point $p"; mkdir -p "$p"; }
  done

  tar=$(_lab_build_image_tar)

  ns="$LAB_PREFIX-ul"
  _lab_log "creating underlay netns $ns (bridge br0)"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" link add br0 type bridge
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$ns" link set br0 up

  for ((i = 1; i <= n; i++)); do
    ns=$(lab_host_ns "h$i"); ip=$(lab_host_ip "h$i")
    _lab_log "creating host h$i: netns $ns, eth2 $ip/24"
    mkdir -p "$LAB_DIR/h$i"/{plugins,etc-docker,data,exec,run-contiv,var-lib-contiv,var-lib-redis}
    echo "nameserver ${LAB_DNS:-$ip}" >"$LAB_DIR/h$i/resolv.conf"
    echo "options timeout:1 attempts:1" >>"$LAB_DIR/h$i/resolv.conf"
    ip netns add "$ns"
    ip -n "$LAB_PREFIX-ul" link add "h$i" type veth peer name eth2 netns "$ns"
    ip -n "$LAB_PREFIX-ul" link set "h$i" master br0 up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth2.disable_ipv6=1
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$ip/24" dev eth2
    ip -n "$ns" link set eth2 up
    _lab_start_anchor "$i"
  done

  for ((i = 1; i <= n; i++)); do _lab_dockerd_start "$i"; done
  for ((i = 1; i <= n; i++)); do _lab_dockerd_wait "$i"; _lab_log "dockerd on h$i answers ($(_lab_elapsed "$t0")s)"; done

  _lab_log "importing $LAB_IMAGE into $n engine(s)"
  for ((i = 1; i <= n; i++)); do _lab_import_image "$i" "$tar" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  [ "$rc" = 0 ] || _lab_die "image import failed"
  _lab_log "lab up: $n host(s) in $(_lab_elapsed "$t0")s  (use: scripts/lab.sh docker h1 ps | scripts/lab.sh exec h1 ip a)"
}

# ---------------------------------------------------------------- outside world
_lab_add_ext() {
  local ns="$LAB_PREFIX-ext" h route=0
  [ "${1:-}" = --default-route ] && route=1
  ip netns list | awk '{print $1}' | grep -qx "$LAB_PREFIX-ul" || _lab_die "no underlay ($LAB_PREFIX-ul); run lab up first"
  if ! ip netns list | awk '{print $1}' | grep -qx "$ns"; then
    _lab_log "creating outside-world netns $ns ($LAB_EXT_IP/24 on eth0)"
    mkdir -p "$LAB_DIR/ext"
    ip netns add "$ns"
    ip -n "$LAB_PREFIX-ul" link add ext type veth peer name eth0 netns "$ns"
    ip -n "$LAB_PREFIX-ul" link set ext master br0 up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$LAB_EXT_IP/24" dev eth0
    ip -n "$ns" link set eth0 up
  fi
  if [ "$route" = 1 ]; then
    for h in $(lab_hosts); do
      _lab_log "h${h#h}: default route via $LAB_EXT_IP"
      ip -n "$(lab_host_ns "$h")" route replace default via "$LAB_EXT_IP" dev eth2
    done
  fi
}

# ---------------------------------------------------------------- extra daemons
_lab_start_daemon() {
  local t="${1:-}" name="${2:-}" d a ns pid
  [ $# -ge 3 ] || _lab_die "usage: lab_start_daemon hN|ext|ul NAME CMD..."
  shift 2
  [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || _lab_die "bad daemon name '$name'"
  case "$name" in anchor | dockerd | docker) _lab_die "daemon name '$name' is reserved" ;; esac
  d=$(_lab_target_dir "$t")
  mkdir -p "$d"
  if pid=$(_lab_recorded_pid "$d/$name.pid"); then _lab_die "$name already running on $t (pid $pid)"; fi
  case "$t" in
    ext | ul | "$LAB_PREFIX-ext" | "$LAB_PREFIX-ul")
      ns="$LAB_PREFIX-${t#"$LAB_PREFIX"-}"
      pid=$(_lab_spawn "$d" "$name" ip netns exec "$ns" "$@") ;;
    *)
      a=$(_lab_recorded_pid "$d/anchor.pid") || _lab_die "$t has no live anchor (is the lab up?)"
      pid=$(_lab_spawn "$d" "$name" nsenter -t "$a" -m -u -n --wdns="$PWD" -- "$@") ;;
  esac
  grep -qx "$name" "$d/daemons" 2>/dev/null || echo "$name" >>"$d/daemons"
  _lab_log "started $name on $t (pid $pid, log $d/$name.log)"
}

_lab_stop_daemon() {
  local d pid
  d=$(_lab_target_dir "${1:-}") || return 1
  if pid=$(_lab_recorded_pid "$d/$2.pid"); then
    _lab_log "stopping $2 on $1 (pid $pid)"
    _lab_stop_pids 10 "$pid"
  fi
  rm -f "$d/$2.pid" "$d/$2.start"
}

_lab_dockerd_stop() {
  local i d pid
  i=$(_lab_idx "$1") || return 1
  d="$LAB_DIR/h$i"
  if pid=$(_lab_recorded_pid "$d/dockerd.pid"); then
    _lab_log "stopping dockerd on h$i (pid $pid)"
    _lab_stop_pids "$LAB_STOP_TIMEOUT" "$pid"
  fi
}

# ---------------------------------------------------------------- down
_lab_ancestors() {
  local p=$$
  while [ -n "$p" ] && [ "$p" != 0 ]; do
    echo "$p"
    p=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f2) || break
  done
}

_lab_netns_names() {
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$LAB_PREFIX-(ul|ext|h[0-9]+)$" || true
}

# top-level lab cgroup dirs in every mounted hierarchy (host mount ns)
_lab_cgroup_dirs() {
  local t p o d
  while read -r t p o; do
    for d in "$p/$LAB_PREFIX"-h[0-9]*; do [ -d "$d" ] && echo "$d"; done
  done < <(_lab_cgroup_mounts)
}

_lab_down() {
  local t0 hosts=() h i d p pid ns pids=() anc dl left cg
  t0=$(_lab_now)
  [ "$(id -u)" = 0 ] || { _lab_err "must run as root"; return 1; }
  _lab_log "tearing down lab (prefix $LAB_PREFIX, dir $LAB_DIR)"
  # hosts = union of host dirs and host netns
  for d in "$LAB_DIR"/h[0-9]*; do [ -d "$d" ] && hosts+=("${d##*/}"); done
  for ns in $(_lab_netns_names); do case "$ns" in "$LAB_PREFIX"-h*) hosts+=("${ns#"$LAB_PREFIX"-}") ;; esac; done
  mapfile -t hosts < <(printf '%s\n' "${hosts[@]}" | grep . | sort -uV)

  # 1. containers first, while plugins are still alive (bounded, parallel)
  for h in "${hosts[@]}"; do
    d="$LAB_DIR/$h"
    if _lab_recorded_pid "$d/dockerd.pid" >/dev/null && [ -S "$d/docker.sock" ]; then
      ( ids=$(timeout 5 docker -H "unix://$d/docker.sock" ps -aq 2>/dev/null) || exit 0
        [ -z "$ids" ] && exit 0
        _lab_log "removing $(echo "$ids" | wc -l) container(s) on $h"
        # shellcheck disable=SC2086
        timeout 20 docker -H "unix://$d/docker.sock" rm -f $ids >/dev/null 2>&1 || _lab_warn "container removal on $h incomplete"
      ) &
      pids+=($!)
    fi
  done
  for p in "${pids[@]}"; do wait "$p" || true; done

  # 2. extra daemons (reverse start order), hosts + ext + ul
  for d in "${hosts[@]/#/$LAB_DIR/}" "$LAB_DIR/ext" "$LAB_DIR/ul"; do
    [ -f "$d/daemons" ] || continue
    while read -r p; do
      [ -n "$p" ] || continue
      if pid=$(_lab_recorded_pid "$d/$p.pid"); then
        _lab_log "stopping daemon $p on ${d##*/} (pid $pid)"
        _lab_stop_pids 10 "$pid" || true
      fi
    done < <(tac "$d/daemons")
  done

  # 3. dockerd (TERM all in parallel; dockerd stops its containerd)
  pids=()
  for h in "${hosts[@]}"; do
    if pid=$(_lab_recorded_pid "$LAB_DIR/$h/dockerd.pid"); then
      _lab_log "stopping dockerd on $h (pid $pid)"; pids+=("$pid")
    elif [ -s "$LAB_DIR/$h/docker.pid" ] && pid=$(tr -dc 0-9 <"$LAB_DIR/$h/docker.pid") && _lab_alive "$pid" &&
      tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--pidfile $LAB_DIR/$h/docker.pid"; then
      _lab_log "stopping dockerd on $h (pid $pid, from docker.pid)"; pids+=("$pid")
    fi
  done
  _lab_stop_pids "$LAB_STOP_TIMEOUT" "${pids[@]}" || true

  # 4. leftovers: anything inside the lab netns (containerd, shims, anchors, --net=host containers,
  #    stray lab_exec jobs) or inside the lab cgroups (container processes). Never ourselves.
  anc=" $(_lab_ancestors | tr '\n' ' ') "
  # container processes (lab cgroups) are disposable: thaw + KILL right away
  pids=()
  while read -r cg; do
    [ -n "$cg" ] || continue
    find "$cg" -name freezer.state -exec sh -c 'for f; do echo THAWED >"$f"; done' sh {} + 2>/dev/null || true
    find "$cg" -name cgroup.freeze -exec sh -c 'for f; do echo 0 >"$f"; done' sh {} + 2>/dev/null || true
    while read -r pid; do [ -n "$pid" ] && pids+=("$pid"); done < <(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null)
  done < <(_lab_cgroup_dirs)
  left=()
  for pid in $(printf '%s\n' "${pids[@]}" | grep . | sort -un); do
    case "$anc" in *" $pid "*) continue ;; esac
    _lab_alive "$pid" && left+=("$pid")
  done
  if [ ${#left[@]} -gt 0 ]; then
    _lab_log "killing ${#left[@]} leftover container process(es): ${left[*]}"
    for pid in "${left[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  pids=()
  for h in "${hosts[@]}"; do
    for f in "$LAB_DIR/$h/exec/containerd/containerd.pid" "$LAB_DIR/$h/anchor.pid"; do
      pid=$(_lab_recorded_pid "$f") && pids+=("$pid")
    done
  done
  for ns in $(_lab_netns_names); do
    while read -r pid; do [ -n "$pid" ] && pids+=("$pid"); done < <(ip netns pids "$ns" 2>/dev/null)
  done
  left=()
  for pid in $(printf '%s\n' "${pids[@]}" | grep . | sort -un); do
    case "$anc" in *" $pid "*) _lab_warn "not killing pid $pid (own ancestor)"; continue ;; esac
    _lab_alive "$pid" && left+=("$pid")
  done
  if [ ${#left[@]} -gt 0 ]; then
    _lab_log "stopping ${#left[@]} leftover lab process(es): ${left[*]}"
    _lab_stop_pids 3 "${left[@]}" || true
  fi

  # 5. cgroup dirs, depth-first (retry: the kernel needs a moment after the last task exits)
  dl=$(_lab_deadline 10)
  while :; do
    mapfile -t pids < <(_lab_cgroup_dirs)
    [ ${#pids[@]} -eq 0 ] && break
    for cg in "${pids[@]}"; do find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true; done
    mapfile -t pids < <(_lab_cgroup_dirs)
    [ ${#pids[@]} -eq 0 ] && { _lab_log "removed lab cgroup dirs"; break; }
    _lab_before "$dl" || { _lab_warn "cgroup dirs left: ${pids[*]}"; break; }
    sleep 0.2
  done

  # 6. mounts under LAB_DIR in this mount namespace (bpffs etc.), deepest first
  if [ -d "$LAB_DIR" ]; then
    while read -r p; do
      _lab_log "unmounting $p"
      umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null || _lab_warn "cannot unmount $p"
    done < <(awk -v d="$LAB_DIR" '{ m=$5; gsub(/\\040/," ",m); if (m==d || index(m, d "/")==1) print length(m), m }' \
      /proc/self/mountinfo | sort -rn | cut -d' ' -f2-)
  fi

  # 7. namespaces (hosts, ext, underlay last)
  for ns in $(_lab_netns_names | grep -v -- "-ul$"; _lab_netns_names | grep -- "-ul$"); do
    _lab_log "deleting netns $ns"
    ip netns del "$ns" 2>/dev/null || _lab_warn "cannot delete netns $ns"
  done

  # 8. state dir
  if [ -d "$LAB_DIR" ]; then
    if [ -e "$LAB_DIR/.contiv-lab" ] || [ -z "$(ls -A "$LAB_DIR")" ]; then
      rm -rf --one-file-system "$LAB_DIR" || _lab_warn "could not remove all of $LAB_DIR"
    else
      _lab_warn "$LAB_DIR has no .contiv-lab marker; not removing it"
    fi
  fi
  _lab_log "lab down in $(_lab_elapsed "$t0")s"
}

# ---------------------------------------------------------------- status
_lab_status() {
  local h d pid ver name nsl n
  nsl=$(_lab_netns_names | tr '\n' ' ')
  echo "LAB_DIR=$LAB_DIR LAB_PREFIX=$LAB_PREFIX LAB_SUBNET_BASE=$LAB_SUBNET_BASE"
  echo "netns: ${nsl:-none}"
  [ -d "$LAB_DIR" ] || { echo "lab: down"; return 0; }
  for h in $(lab_hosts); do
    d="$LAB_DIR/$h"
    if pid=$(_lab_recorded_pid "$d/dockerd.pid"); then
      ver=$(timeout 5 docker -H "unix://$d/docker.sock" info --format '{{.Name}} containers={{.Containers}} running={{.ContainersRunning}} images={{.Images}} server={{.ServerVersion}}' 2>/dev/null) || ver="not answering"
      echo "$h: ip $(lab_host_ip "$h") dockerd pid $pid: $ver"
    else
      echo "$h: ip $(lab_host_ip "$h") dockerd: not running"
    fi
    echo "    sock $d/docker.sock  log $d/dockerd.log  plugins $d/plugins"
  done
  for d in "$LAB_DIR"/h[0-9]* "$LAB_DIR/ext" "$LAB_DIR/ul"; do
    [ -f "$d/daemons" ] || continue
    while read -r name; do
      [ -n "$name" ] || continue
      if pid=$(_lab_recorded_pid "$d/$name.pid"); then n="running pid $pid"; else n="stopped"; fi
      echo "${d##*/}: daemon $name: $n (log $d/$name.log)"
    done <"$d/daemons"
  done
}
