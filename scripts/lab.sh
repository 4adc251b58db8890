#!/usr/bin/env bash
# Lab of N Docker "hosts" (netns + own dockerd) on one machine. Functions: scripts/lib/lab.sh.
# Env: LAB_DIR=/tmp/contiv-lab LAB_PREFIX=cl LAB_SUBNET_BASE=192.168.2 LAB_HOSTS=2 (see the library header)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/lab.sh
source "$HERE/lib/lab.sh"

usage() {
  cat <<USAGE
usage: $(basename "$0") COMMAND [ARGS]
  up [N]                      create N hosts (default \$LAB_HOSTS=$LAB_HOSTS, max $LAB_MAX_HOSTS)
  down                        tear everything down (idempotent, works after a failed up)
  status                      show namespaces, engines, extra daemons
  exec hN|ext|ul CMD...       run CMD inside host hN (netns + its mount/UTS ns) or the ext/ul netns
  docker hN ARGS...           docker -H unix://\$LAB_DIR/hN/docker.sock ARGS
  ext [--default-route]       add netns $LAB_PREFIX-ext at \$LAB_EXT_IP on the underlay ("outside world")
  start-daemon hN|ext NAME CMD...   run CMD detached in that namespace; log/pid in \$LAB_DIR/hN/NAME.{log,pid}
  stop-daemon hN|ext NAME
  dockerd-restart hN          stop + start that host's dockerd (state kept)
  ip hN | ns hN | sock hN     print the host's underlay IP / netns name / docker socket path
  env hN                      print 'export DOCKER_HOST=...' for that host
USAGE
}

cmd="${1:-help}"
[ $# -gt 0 ] && shift
case "$cmd" in
  up) lab_up "${1:-$LAB_HOSTS}" ;;
  down) lab_down ;;
  status) lab_status ;;
  exec) lab_exec "$@" ;;
  docker) lab_docker "$@" ;;
  ext | add-ext) lab_add_outside_ns "$@" ;;
  start-daemon) lab_start_daemon "$@" ;;
  stop-daemon) lab_stop_daemon "$@" ;;
  dockerd-restart) lab_dockerd_stop "$1"; lab_dockerd_start "$1" ;;
  ip) lab_host_ip "${1:-}" ;;
  ns) lab_host_ns "${1:-}" ;;
  sock) lab_sock "${1:-}" ;;
  env) echo "export DOCKER_HOST=$(lab_docker_host "${1:-}")" ;;
  help | -h | --help) usage ;;
  *) usage >&2; exit 2 ;;
esac
