#!/usr/bin/env bash
# Builds ContivDocker's managed (v2) Docker plugin locally (no registry) and installs it on an engine.
#
#   scripts/plugin-build.sh build                 build (or reuse) the plugin dir; prints its path
#   scripts/plugin-build.sh install [KEY=VALUE..] build if needed, then on $DOCKER_HOST: (re)create
#                                                 $PLUGIN_NAME, `docker plugin set` the settings, enable
#   scripts/plugin-build.sh lab-install hN        install on lab host hN (scripts/lib/contiv.sh, LAB_* env)
#                                                 with that host's name, VTEP, docker socket and the lab Redis
#
# The plugin dir ($PLUGIN_DIR, default artifacts/plugin) holds config.json (plugin-config/config.json)
# and rootfs/: the native (NativeAOT) netplugin from scripts/publish.sh (no .NET runtime
# needed in the rootfs), the shared libraries ldd reports for it, and a static busybox (/bin/sh for
# the entry point, and for debugging). It is rebuilt only when the sources, plugin-config/ or this
# script change (key in $PLUGIN_DIR/.key); PLUGIN_REBUILD=1 forces a rebuild.
#
# Settings (docker plugin set NAME KEY=VALUE): CONTIV_CLUSTER_STORE, CONTIV_NETPLUGIN_HOST,
# CONTIV_NETPLUGIN_VTEP_IP, CONTIV_NETPLUGIN_VLAN_UPLINKS, CONTIV_NETPLUGIN_VXLAN_PORT, CONTIV_NETPLUGIN_MTU,
# CONTIV_NETPLUGIN_DNS_LISTEN, CONTIV_NETPLUGIN_SCOPE (global), CONTIV_LOG_PLUGIN_BODIES,
# docker-sock.source (the engine's API socket, default /var/run/docker.sock), state.source (host dir for
# the per-network namespaces, default /run/contiv: must exist and be on a shared mount), args (extra flags).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${PLUGIN_NAME:=contiv/netplugin:latest}"
: "${PLUGIN_DIR:=$ROOT/artifacts/plugin}"
: "${PLUGIN_ENABLE_TIMEOUT:=60}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# shellcheck source=lib/rootfs.sh source-path=SCRIPTDIR
source "$ROOT/scripts/lib/rootfs.sh"

say() { printf '[plugin-build] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- build
source_key() {
  (
    cd "$ROOT"
    {
      find src -type d \( -name bin -o -name obj \) -prune -o -type f -print
      printf '%s\n' Directory.Build.props Directory.Packages.props global.json scripts/plugin-build.sh \
        scripts/publish.sh scripts/lib/rootfs.sh
      find plugin-config -type f
    } | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum | cut -c1-16
  )
}

build() {
  local key tmp rootfs
  command -v dotnet >/dev/null || die "dotnet not on PATH"
  key=$(source_key)
  if [ "${PLUGIN_REBUILD:-0}" != 1 ] && [ -f "$PLUGIN_DIR/.key" ] && [ "$(cat "$PLUGIN_DIR/.key")" = "$key" ] &&
    [ -x "$PLUGIN_DIR/rootfs/netplugin/Contiv.NetPlugin" ]; then
    say "up to date: $PLUGIN_DIR (key $key)"
    echo "$PLUGIN_DIR"
    return 0
  fi
  mkdir -p "$(dirname "$PLUGIN_DIR")"
  tmp=$(mktemp -d "$(dirname "$PLUGIN_DIR")/.plugin-build.XXXXXX")
  trap 'rm -rf "$tmp"' RETURN
  rootfs="$tmp/plugin/rootfs"
  # publish from a copy of the sources: the work tree's bin/obj (and anyone building there) stay untouched
  "$ROOT/scripts/publish.sh" --isolated "$tmp/publish" netplugin
  mkdir -p "$rootfs"/{bin,etc,tmp,proc,sys,dev,run,root,var/run/contiv,var/lib/contiv-propagated,netplugin}
  chmod 1777 "$rootfs/tmp"
  cp -a "$tmp/publish/netplugin/." "$rootfs/netplugin/"
  cp "$ROOT/plugin-config/entrypoint.sh" "$rootfs/netplugin/entrypoint.sh"
  chmod 755 "$rootfs/netplugin/entrypoint.sh" "$rootfs/netplugin/Contiv.NetPlugin"

  rootfs_install_busybox "$rootfs" || die "no static busybox"
  # the executable's libraries (ldd), plus OpenSSL (.NET loads it on first crypto use)
  rootfs_copy_openssl "$rootfs"
  rootfs_copy_libs "$rootfs" "$rootfs/netplugin/Contiv.NetPlugin"

  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\n' >"$rootfs/etc/group"
  printf '127.0.0.1 localhost\n' >"$rootfs/etc/hosts"
  cp "$ROOT/plugin-config/config.json" "$tmp/plugin/config.json"
  echo "$key" >"$tmp/plugin/.key"
  rm -rf "$PLUGIN_DIR"
  mv "$tmp/plugin" "$PLUGIN_DIR"
  say "built $PLUGIN_DIR ($(du -sh "$PLUGIN_DIR" | cut -f1), key $key)"
  echo "$PLUGIN_DIR"
}

# ---------------------------------------------------------------- install
install() {
  local dir
  command -v docker >/dev/null || die "docker CLI not on PATH"
  dir=$(build)
  say "installing $PLUGIN_NAME on ${DOCKER_HOST:-the default engine}"
  if docker plugin inspect "$PLUGIN_NAME" >/dev/null 2>&1; then
    docker plugin disable -f "$PLUGIN_NAME" >/dev/null 2>&1 || true
    docker plugin rm -f "$PLUGIN_NAME" >/dev/null
  fi
  docker plugin create "$PLUGIN_NAME" "$dir" >/dev/null
  if [ $# -gt 0 ]; then docker plugin set "$PLUGIN_NAME" "$@"; fi
  docker plugin enable --timeout "$PLUGIN_ENABLE_TIMEOUT" "$PLUGIN_NAME" >/dev/null
  say "$PLUGIN_NAME enabled on ${DOCKER_HOST:-the default engine}"
}

lab_install() {
  local h="${1:?usage: plugin-build.sh lab-install hN [KEY=VALUE ...]}"
  shift
  # shellcheck source=lib/contiv.sh disable=SC1091
  source "$ROOT/scripts/lib/contiv.sh"
  local state
  state="$(lab_host_dir "$h")/plugin-state"
  # the state mount must be shared in the engine's mount namespace (as /run is under systemd), so the
  # namespaces netplugin bind-mounts there reach the host and outlive the plugin's own mount namespace
  lab_exec "$h" sh -c "mkdir -p '$state' && { mountpoint -q '$state' || mount --bind '$state' '$state'; } && mount --make-shared '$state'"
  DOCKER_HOST=$(lab_docker_host "$h") install "state.source=$state" \
    "CONTIV_CLUSTER_STORE=$(contiv_store_url)" "CONTIV_NETPLUGIN_HOST=$h" \
    "CONTIV_NETPLUGIN_VTEP_IP=$(lab_host_ip "$h")" CONTIV_NETPLUGIN_VLAN_UPLINKS=eth2 \
    "CONTIV_NETPLUGIN_VXLAN_PORT=$CONTIV_VXLAN_PORT" "docker-sock.source=$(lab_sock "$h")" "$@"
}

cmd="${1:-install}"
[ $# -gt 0 ] && shift
case "$cmd" in
  build) build ;;
  install) install "$@" ;;
  lab-install) lab_install "$@" ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
