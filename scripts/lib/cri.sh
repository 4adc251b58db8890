# shellcheck shell=bash
# containerd with its built-in CRI plugin inside the namespace lab's hosts, so Kubernetes networking
# is tested the way kubelet drives a node (RunPodSandbox -> CNI ADD ...) with no kubelet: tests
# talk CRI gRPC to $(cri_socket hN). Source after scripts/lib/lab.sh (or contiv.sh).
#
#   source scripts/lib/lab.sh; source scripts/lib/cri.sh
#   lab_up 1; cri_start_containerd h1; ...; cri_stop_containerd h1; lab_down
#
# Layout (host hN):
#   $LAB_DIR/hN/containerd/{config.toml,root,state,opt}   containerd's own dirs; the pods' network
#        namespaces are mounted under state/ (netns_mounts_under_state_dir), never /var/run/netns
#   $LAB_DIR/hN/containerd/containerd.sock              CRI + containerd gRPC (cri_socket hN)
#   $LAB_DIR/hN/cni/bin, $LAB_DIR/hN/cni/net.d          the host's CNI bin_dir and conf_dir
#   $LAB_DIR/hN/containerd.{log,pid,start}              the daemon (lab_start_daemon hN containerd)
# Images: $CRI_IMAGE (busybox from the lab's rootfs tarball, default command sleeps forever) is the
# sandbox ("pause") image and the pods' containers' image; imported from a local tarball only.
#
# Public functions: cri_start_containerd hN | cri_stop_containerd hN | cri_socket hN | cri_ctr hN ARGS..
#   cri_cni_bin_dir hN | cri_cni_conf_dir hN | cri_install_reference_plugins hN [PLUGIN..]
#   cri_netns_dir hN | cri_image_tar
# Stopping removes the pods' containers by the shims' PIDs (recorded by containerd under its state
# dir) and unmounts what containerd mounted under its dirs; nothing is killed by name.

_CRI_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lab.sh
declare -F lab_exec >/dev/null || source "$_CRI_LIB_DIR/lab.sh"

: "${CRI_IMAGE:=docker.io/contiv/cri-busybox:latest}"
: "${CRI_SNAPSHOTTER:=}"                 # empty: overlayfs if the kernel can mount it under LAB_DIR, else native
: "${CRI_START_TIMEOUT:=30}"
: "${CRI_REFERENCE_PLUGIN_DIR:=/usr/lib/cni}"   # Debian's containernetworking-plugins

cri_dir() { local d; d=$(lab_host_dir "$1") || return 1; echo "$d/containerd"; }
cri_socket() { local d; d=$(cri_dir "$1") || return 1; echo "$d/containerd.sock"; }
cri_cni_bin_dir() { local d; d=$(lab_host_dir "$1") || return 1; echo "$d/cni/bin"; }
cri_cni_conf_dir() { local d; d=$(lab_host_dir "$1") || return 1; echo "$d/cni/net.d"; }
cri_netns_dir() { local d; d=$(cri_dir "$1") || return 1; echo "$d/state/io.containerd.grpc.v1.cri/netns"; }

# ctr against the host's containerd, namespace k8s.io (the CRI plugin's)
cri_ctr() {
  local h="$1" s
  shift
  s=$(cri_socket "$h") || return 2
  lab_exec "$h" timeout 60 ctr -a "$s" -n k8s.io "$@"
}

# overlayfs needs a kernel that mounts it on LAB_DIR's file system; probe once (a tiny mount) and
# fall back to the native (copying) snapshotter
_cri_snapshotter() {
  [ -n "$CRI_SNAPSHOTTER" ] && { echo "$CRI_SNAPSHOTTER"; return 0; }
  local t rc=0
  t=$(mktemp -d "$LAB_DIR/.ovl-probe.XXXXXX")
  mkdir -p "$t"/{l,u,w,m}
  mount -t overlay overlay -o "lowerdir=$t/l,upperdir=$t/u,workdir=$t/w" "$t/m" 2>/dev/null || rc=1
  [ "$rc" = 0 ] && umount "$t/m"
  rm -rf "$t"
  if [ "$rc" = 0 ]; then echo overlayfs; else echo native; fi
}

# docker-archive tarball of $CRI_IMAGE, built once per lab from the lab's busybox rootfs through
# h1's dockerd (import + save: local files only, no registry)
cri_image_tar() {
  local tar="$LAB_DIR/image/cri-busybox.tar" rootfs s ref="${CRI_IMAGE#docker.io/}"
  [ -s "$tar" ] && { echo "$tar"; return 0; }
  rootfs="$LAB_DIR/image/busybox-rootfs.tar"
  [ -s "$rootfs" ] || { _lab_err "no $rootfs (is the lab up?)"; return 1; }
  s=$(lab_sock h1)
  # the sandbox runs the image's default command: sleep "forever" (busybox sleep takes seconds)
  timeout 60 docker -H "unix://$s" import --change 'CMD ["/bin/sleep","2000000000"]' \
    --change "ENV PATH=$_LAB_PATH_DEFAULT" "$rootfs" "$ref" >/dev/null || return 1
  timeout 60 docker -H "unix://$s" save -o "$tar.tmp" "$ref" || return 1
  mv "$tar.tmp" "$tar"
  echo "$tar"
}

_cri_write_config() {
  local h="$1" d snap bin conf
  d=$(cri_dir "$h"); snap="$2"; bin=$(cri_cni_bin_dir "$h"); conf=$(cri_cni_conf_dir "$h")
  cat >"$d/config.toml" <<EOF
# containerd for lab host $h (scripts/lib/cri.sh): own root/state/socket, CRI on, CNI per host
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"
[debug]
  level = "info"

[plugins."io.containerd.internal.v1.opt"]
  path = "$d/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$CRI_IMAGE"
  # the pods' netns are bind mounts under the state dir, not /var/run/netns shared with the machine
  netns_mounts_under_state_dir = true
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$bin"
    conf_dir = "$conf"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "$snap"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # runc's state per host (its default, /run/containerd/runc, is the machine's)
        Root = "$d/runc"
EOF
}

_cri_start() {
  local h="$1" d s snap dl tar pid
  d=$(cri_dir "$h"); s=$(cri_socket "$h")
  if _lab_recorded_pid "$(lab_host_dir "$h")/containerd.pid" >/dev/null; then _lab_log "containerd on $h already running"; return 0; fi
  command -v containerd >/dev/null && command -v ctr >/dev/null || _lab_die "containerd/ctr missing (Debian package containerd)"
  mkdir -p "$d"/{root,state,opt} "$(cri_cni_bin_dir "$h")" "$(cri_cni_conf_dir "$h")"
  snap=$(_cri_snapshotter)
  _cri_write_config "$h" "$snap"
  rm -f "$s"
  lab_start_daemon "$h" containerd containerd --config "$d/config.toml"
  dl=$(_lab_deadline "$CRI_START_TIMEOUT")
  until lab_exec "$h" timeout 5 ctr -a "$s" version >/dev/null 2>&1; do
    pid=$(_lab_recorded_pid "$(lab_host_dir "$h")/containerd.pid") ||
      { _lab_err "containerd on $h exited:"; tail -n 25 "$(lab_host_dir "$h")/containerd.log" >&2; return 1; }
    _lab_before "$dl" || { _lab_err "containerd on $h (pid $pid) not answering"; tail -n 25 "$(lab_host_dir "$h")/containerd.log" >&2; return 1; }
    sleep 0.1
  done
  tar=$(cri_image_tar)
  cri_ctr "$h" images import --snapshotter "$snap" "$tar" >/dev/null
  _lab_log "containerd on $h is up (snapshotter $snap, socket $s, image $CRI_IMAGE)"
}

# PIDs of the shims of this host's containerd: containerd-shim processes started with its socket
# (-address is the host's own socket path under LAB_DIR, so no other containerd's shim matches)
_cri_shim_pids() {
  local s f pid
  s=$(cri_socket "$1")
  # one grep over every cmdline (NUL-separated arguments): those with an argument equal to the socket
  while read -r f; do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    head -zn1 "$f" 2>/dev/null | grep -qz containerd-shim && _lab_alive "$pid" && echo "$pid"
  done < <(grep -lsxzF -- "$s" /proc/[0-9]*/cmdline)
}

# the init PIDs of the tasks (pod sandboxes and containers) containerd recorded under its state dir
_cri_task_pids() {
  local d f pid
  d=$(cri_dir "$1")
  for f in "$d"/state/io.containerd.runtime.v2.task/*/*/init.pid; do
    [ -s "$f" ] || continue
    pid=$(tr -dc 0-9 <"$f")
    _lab_alive "$pid" && echo "$pid"
  done
}

_cri_stop() {
  local h="$1" d shims kids m a
  d=$(cri_dir "$h")
  # pods first (KILL of a task's init ends its PID namespace), then the shims, then containerd
  mapfile -t kids < <(_cri_task_pids "$h")
  [ ${#kids[@]} -gt 0 ] && { _lab_log "killing ${#kids[@]} task(s) on $h"; kill -KILL "${kids[@]}" 2>/dev/null || true; }
  mapfile -t shims < <(_cri_shim_pids "$h")
  if [ ${#shims[@]} -gt 0 ]; then
    _lab_log "stopping ${#shims[@]} shim(s) on $h"
    _lab_stop_pids 5 "${shims[@]}" || true
  fi
  _lab_stop_daemon "$h" containerd
  # containerd's mounts (rootfs, netns, shm) are in the host's mount namespace: unmount them there
  if a=$(_lab_recorded_pid "$(lab_host_dir "$h")/anchor.pid"); then
    while read -r m; do
      nsenter -t "$a" -m -- umount "$m" 2>/dev/null || nsenter -t "$a" -m -- umount -l "$m" 2>/dev/null || _lab_warn "cannot unmount $m"
    done < <(awk -v d="$d" '{ m=$5; if (index(m, d "/")==1) print length(m), m }' "/proc/$a/mountinfo" | sort -rn | cut -d' ' -f2-)
  fi
}

# the reference plugins (bridge, host-local, loopback, ...) linked into the host's CNI bin dir
_cri_install_reference_plugins() {
  local h="$1" b p
  shift
  b=$(cri_cni_bin_dir "$h"); mkdir -p "$b"
  [ -x "$CRI_REFERENCE_PLUGIN_DIR/bridge" ] || _lab_die "no CNI reference plugins in $CRI_REFERENCE_PLUGIN_DIR (Debian package containernetworking-plugins)"
  [ $# -gt 0 ] || set -- bridge host-local loopback
  for p in "$@"; do ln -sfn "$CRI_REFERENCE_PLUGIN_DIR/$p" "$b/$p"; done
}

cri_start_containerd() { _cri_run strict _cri_start "$@"; }
cri_stop_containerd() { _cri_run besteffort _cri_stop "$@"; }
cri_install_reference_plugins() { _cri_run strict _cri_install_reference_plugins "$@"; }

# like lab.sh's _lab_run: a subshell with LAB_*/CRI_* passed, strict or best effort
_cri_run() {
  local mode="$1" v vars=()
  shift
  for v in "${!LAB_@}" "${!CRI_@}"; do vars+=("$v=${!v}"); done
  env "${vars[@]}" "${BASH:-bash}" -c '
    mode=$1 lib=$2; shift 2
    if [ "$mode" = strict ]; then set -Eeuo pipefail; else set -uo pipefail; fi
    source "$lib"
    _lab_check_env || exit 1
    [ "$mode" = strict ] && trap '\''rc=$?; _lab_err "line $LINENO: \"$BASH_COMMAND\" failed (rc=$rc)"'\'' ERR
    "$@"' cri "$mode" "$_CRI_LIB_DIR/cri.sh" "$@"
}
