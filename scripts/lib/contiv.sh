# shellcheck shell=bash
# ContivDocker on the namespace lab: Redis + netmaster on h1 (the "master" node, as in the Contiv
# tutorial), netplugin on every host. Used by scripts/demo.sh, the end-to-end tests and benchmarks.
#
#   source scripts/lib/contiv.sh
#   contiv_up 2          # lab with 2 hosts + redis + netmaster + netplugins
#   netctl net create --subnet=10.1.2.0/24 contiv-net     # runs on h1 against its netmaster
#   lab_docker h2 run -d --net=contiv-net contiv/busybox sleep 600
#   contiv_down
#
# Env: CONTIV_ARTIFACTS (published programs, default <repo>/artifacts), CONTIV_VXLAN_PORT (4789),
#      CONTIV_REDIS_PORT (6379), plus the lab's LAB_* variables.

_CONTIV_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lab.sh
source "$_CONTIV_LIB_DIR/lab.sh"

: "${CONTIV_ROOT:=$(cd "$_CONTIV_LIB_DIR/../.." && pwd)}"
: "${CONTIV_ARTIFACTS:=$CONTIV_ROOT/artifacts}"
: "${CONTIV_VXLAN_PORT:=4789}"
: "${CONTIV_REDIS_PORT:=6379}"

contiv_store_url() { echo "redis://$(lab_host_ip h1):$CONTIV_REDIS_PORT"; }

# netctl as a user on the master node runs it.
netctl() { lab_exec h1 "$CONTIV_ARTIFACTS/netctl/netctl" "$@"; }

contiv_start_redis() {
  local d; d="$(lab_host_dir h1)/redis"
  mkdir -p "$d"
  lab_start_daemon h1 redis /usr/bin/redis-server --bind "$(lab_host_ip h1)" --port "$CONTIV_REDIS_PORT" \
    --save "" --appendonly yes --appendfsync everysec --dir "$d" --protected-mode no >/dev/null
  lab_wait_for "lab_exec h1 redis-cli -h $(lab_host_ip h1) -p $CONTIV_REDIS_PORT ping | grep -q PONG" 15 0.1
}

contiv_start_netmaster() {
  lab_start_daemon h1 netmaster "$CONTIV_ARTIFACTS/netmaster/netmaster" \
    --cluster-store "$(contiv_store_url)" --listen-url 127.0.0.1:9999 >/dev/null
  lab_wait_for "netctl global info >/dev/null 2>&1" 30 0.2
}

# contiv_start_netplugin hN: the plugin runs in the host's namespaces; dockerd finds its socket in
# that host's /run/docker/plugins, contivk8s (run by that host's containerd, scripts/lib/cri.sh) its
# CNI socket in the host's /run/contiv; pods' labels come from that containerd when it runs.
contiv_start_netplugin() {
  local h="$1"
  lab_start_daemon "$h" netplugin env CONTIV_LOG_PLUGIN_BODIES="${CONTIV_LOG_PLUGIN_BODIES:-0}" "$CONTIV_ARTIFACTS/netplugin/netplugin" \
    --host "$h" --vtep-ip "$(lab_host_ip "$h")" --vlan-if eth2 --vxlan-port "$CONTIV_VXLAN_PORT" \
    --cluster-store "$(contiv_store_url)" \
    --socket "$(lab_plugins_dir "$h")/netplugin.sock" --state-dir "$(lab_host_dir "$h")/run" \
    --docker-endpoint "$(lab_docker_host "$h")" \
    --cri-endpoint "$(lab_host_dir "$h")/containerd/containerd.sock" >/dev/null
  lab_wait_for "test -S $(lab_plugins_dir "$h")/netplugin.sock" 30 0.1
}

contiv_stop_netplugin() { lab_stop_daemon "$1" netplugin; }

contiv_up() {
  local n="${1:-2}" h
  [ -x "$CONTIV_ARTIFACTS/netplugin/netplugin" ] || { echo "[contiv] $CONTIV_ARTIFACTS has no netplugin: run scripts/build.sh" >&2; return 1; }
  lab_up "$n"
  contiv_start_redis
  contiv_start_netmaster
  for h in $(lab_hosts); do contiv_start_netplugin "$h"; done
}

contiv_down() { lab_down; }

# contiv_wait_docker_network hN NAME [TIMEOUT]: the host agent creates Docker networks asynchronously.
contiv_wait_docker_network() {
  lab_wait_for "lab_docker $1 network inspect '$2' >/dev/null 2>&1" "${3:-30}" 0.2
}
