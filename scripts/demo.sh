#!/usr/bin/env bash
# ContivDocker demo: replays the Contiv "Container Networking Tutorial (Legacy Swarm)" on a lab of
# namespace hosts on this machine. h1 plays legacy-swarm-master (Redis, netmaster, netplugin),
# h2 plays legacy-swarm-worker0 (netplugin). Every command is printed with the host it runs on,
# then its real output. Everything is torn down at the end (DEMO_KEEP=1 keeps the lab running).
#   usage: sudo scripts/demo.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export LAB_DIR="${LAB_DIR:-/tmp/contiv-demo}" LAB_PREFIX="${LAB_PREFIX:-demo}" LAB_QUIET=1

scripts/install-deps.sh
if [ ! -x artifacts/netplugin/netplugin ] || [ -n "${DEMO_REBUILD:-}" ]; then scripts/build.sh; fi

# shellcheck source=lib/contiv.sh
source scripts/lib/contiv.sh

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
chapter() { printf '\n\033[1;34m### %s\033[0m\n' "$*"; }
# on hN CMD...: print the command as the tutorial shows it, then run it on that host.
on() {
  local h="$1"; shift
  printf '\n\033[32m[%s]$\033[0m %s\n' "$h" "$*"
  case "$1" in
    netctl) shift; lab_exec "$h" "$CONTIV_ARTIFACTS/netctl/netctl" "$@" ;;
    docker) shift; lab_docker "$h" "$@" ;;
    *) lab_exec "$h" "$@" ;;
  esac
}

cleanup() { [ -n "${DEMO_KEEP:-}" ] && { echo "lab kept: source scripts/lib/contiv.sh; LAB_DIR=$LAB_DIR LAB_PREFIX=$LAB_PREFIX"; return; }; contiv_down >/dev/null 2>&1 || true; }
trap cleanup EXIT
contiv_down >/dev/null 2>&1 || true

chapter "Setup: two Docker hosts (h1 = master, h2 = worker), Redis + netmaster on h1, netplugin on both"
contiv_up 2
on h1 netctl version
on h1 docker info --format '{{.Name}}: {{.ServerVersion}}, plugins: {{.Plugins.Network}}'

chapter "Chapter 2: Multi-host networking"
on h1 netctl net create --subnet=10.1.2.0/24 contiv-net
on h1 netctl net ls
contiv_wait_docker_network h1 contiv-net && contiv_wait_docker_network h2 contiv-net
on h1 docker network ls
on h1 docker network inspect contiv-net
on h1 docker run -itd --name=contiv-c1 --net=contiv-net contiv/busybox /bin/sh
on h2 docker run -itd --name=contiv-c2 --net=contiv-net contiv/busybox /bin/sh
on h1 docker ps
on h2 docker ps
on h2 docker exec contiv-c2 ping -c 3 contiv-c1

chapter "Chapter 3: Using multiple tenants with arbitrary IPs in the networks"
on h1 netctl tenant create blue
on h1 netctl tenant ls
on h1 netctl net create -t blue --subnet=10.1.2.0/24 contiv-net
on h1 netctl net ls -t blue
contiv_wait_docker_network h1 contiv-net/blue && contiv_wait_docker_network h2 contiv-net/blue
on h2 docker run -itd --name=contiv-blue-c1 --net=contiv-net/blue contiv/busybox /bin/sh
on h1 docker run -itd --name=contiv-blue-c2 --net=contiv-net/blue contiv/busybox /bin/sh
on h2 docker run -itd --name=contiv-blue-c3 --net=contiv-net/blue contiv/busybox /bin/sh
on h1 docker network inspect contiv-net/blue
on h2 docker exec contiv-blue-c3 ping -c 3 contiv-blue-c1
on h2 docker exec contiv-blue-c3 ping -c 3 contiv-blue-c2

bold "See the containers connected to the network"
sleep 1
on h1 netctl net inspect contiv-net

bold "Demo finished: every command above ran for real on this machine."
