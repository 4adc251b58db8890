#!/usr/bin/env bash
# Smoke test for scripts/lab.sh: 2-host lab up, engines/images/hostnames/underlay checks, down, nothing left.
# Then (SMOKE_FAILED_UP=1, default) two deliberately failed `up`s, each followed by down + leak check.
# Uses its own prefix/dir by default so it does not disturb a developer's lab (LAB_PREFIX=cl, /tmp/contiv-lab).
#   usage: sudo tests/lab-smoke.sh         env: LAB_PREFIX (cls) LAB_DIR (/tmp/contiv-lab-smoke) SMOKE_FAILED_UP
set -euo pipefail
export LAB_PREFIX="${LAB_PREFIX:-cls}" LAB_DIR="${LAB_DIR:-/tmp/contiv-lab-smoke}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../scripts/lib/lab.sh
source "$ROOT/scripts/lib/lab.sh"

FAILS=0
say() { printf '[smoke] %s\n' "$*" >&2; }
ok() { say "PASS: $*"; }
bad() { say "FAIL: $*"; FAILS=$((FAILS + 1)); }
check() { local what="$1"; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
now() { printf '%s' "${EPOCHREALTIME/[.,]/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }

cleanup() { lab_down >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# every pid inside the lab's namespaces (to prove they are gone after down)
lab_pids() { local ns; for ns in $(ip netns list | awk '{print $1}' | grep -E "^$LAB_PREFIX-" || true); do ip netns pids "$ns"; done; }

# nothing of the lab may remain
assert_clean() {
  local tag="$1" p left=() st
  check "$tag: no $LAB_PREFIX-* netns" bash -c "! ip netns list | awk '{print \$1}' | grep -q '^$LAB_PREFIX-'"
  check "$tag: no $LAB_DIR" test ! -e "$LAB_DIR"
  for p in /proc/[0-9]*; do
    st=$(sed 's/.*) //' "$p/stat" 2>/dev/null | cut -d' ' -f1) || continue
    [ "$st" = Z ] && continue
    tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$LAB_DIR/" && left+=("${p#/proc/}:$(tr '\0' ' ' <"$p/cmdline" | cut -c1-80)")
  done
  check "$tag: no process referencing $LAB_DIR (dockerd/containerd/shims) ${left[*]:-}" test ${#left[@]} -eq 0
  for p in ${RECORDED_PIDS:-}; do _lab_alive "$p" && left+=("$p"); done
  check "$tag: all processes seen in lab netns are gone ${left[*]:-}" test ${#left[@]} -eq 0
  check "$tag: no $LAB_PREFIX-h* cgroup dirs" bash -c "! ls -d /sys/fs/cgroup/*/$LAB_PREFIX-h* /sys/fs/cgroup/$LAB_PREFIX-h* 2>/dev/null | grep -q ."
}

[ "$(id -u)" = 0 ] || { say "must run as root"; exit 1; }
say "prefix $LAB_PREFIX, dir $LAB_DIR"
cleanup   # a previous aborted run

# ---------------------------------------------------------------- happy path
t=$(now); lab_up 2; T_UP=$(since "$t"); say "up 2 took ${T_UP}s"
for h in h1 h2; do
  check "$h: docker info Name = $h" test "$(lab_docker $h info --format '{{.Name}}')" = "$h"
  check "$h: docker run contiv/busybox echo ok" test "$(lab_docker $h run --rm contiv/busybox echo ok)" = ok
  check "$h: hostname inside host = $h" test "$(lab_exec $h hostname)" = "$h"
  check "$h: eth2 has $(lab_host_ip $h)/24" bash -c "ip -n $(lab_host_ns $h) -4 -o addr show dev eth2 | grep -q ' $(lab_host_ip $h)/24 '"
done
id1=$(lab_docker h1 info --format '{{.ID}}'); id2=$(lab_docker h2 info --format '{{.ID}}')
check "engine IDs differ" test "$id1" != "$id2"
quiet() { "$@" >/dev/null 2>&1; }
check "h1 netns -> 192.168.2.51 (busybox ping)" quiet lab_exec h1 busybox ping -c1 -W2 192.168.2.51
check "h2 netns -> 192.168.2.50 (busybox ping)" quiet lab_exec h2 busybox ping -c1 -W2 192.168.2.50
check "container on h1 -> h2 underlay IP (NAT via eth2)" quiet lab_docker h1 run --rm contiv/busybox ping -c1 -W2 192.168.2.51
# TCP across the underlay: httpd on h2 (lab_start_daemon), fetched from h1's netns
mkdir -p "$LAB_DIR/www" && echo smoke-ok >"$LAB_DIR/www/index.html"
lab_start_daemon h2 httpd busybox httpd -f -p 8080 -h "$LAB_DIR/www"
lab_wait_for "lab_exec h1 busybox wget -qO- http://192.168.2.51:8080/ | grep -q smoke-ok" 10 &&
  ok "h1 -> h2:8080 TCP over underlay (daemon pid $(lab_daemon_pid h2 httpd))" || bad "h1 -> h2:8080 TCP over underlay"
# per-host plugin dir isolation
touch "$LAB_DIR/h1/plugins/smoke.sock"
check "h1 sees its own /run/docker/plugins" lab_exec h1 test -e /run/docker/plugins/smoke.sock
check "h2 does not see h1's plugin dir" lab_exec h2 sh -c '! test -e /run/docker/plugins/smoke.sock'
check "real /run/docker/plugins untouched" test ! -e /run/docker/plugins/smoke.sock
check "container resolv.conf points inside the lab" \
  test "$(lab_docker h1 run --rm contiv/busybox sed -n 's/^nameserver //p' /etc/resolv.conf)" = "$(lab_host_ip h1)"
# leave running things behind on purpose: down must clean them
lab_docker h1 run -d --name keep1 contiv/busybox sleep 600 >/dev/null
lab_docker h2 run -d --net host --name keep2 contiv/busybox sleep 600 >/dev/null
RECORDED_PIDS=$(lab_pids | tr '\n' ' ')
t=$(now); lab_down; T_DOWN=$(since "$t"); say "down took ${T_DOWN}s"
assert_clean "after down"
t=$(now); lab_down; say "second down (no-op) took $(since "$t")s"
check "second down leaves nothing" test ! -e "$LAB_DIR"

# ---------------------------------------------------------------- failed ups
if [ "${SMOKE_FAILED_UP:-1}" = 1 ]; then
  say "deliberately failing up #1: dockerd rejects a bogus flag"
  if LAB_DOCKERD_ARGS=--no-such-flag lab_up 2 2>"/tmp/$LAB_PREFIX-smoke-up.err"; then bad "bogus up succeeded"; else
    grep -q 'no-such-flag' "/tmp/$LAB_PREFIX-smoke-up.err" && ok "failed up shows the dockerd log tail" || bad "failed up: no log tail"
  fi
  RECORDED_PIDS=$(lab_pids | tr '\n' ' ')
  lab_down; assert_clean "after failed up #1"

  say "deliberately failing up #2: 3 hosts, engines running, image import fails (invalid image name)"
  if LAB_IMAGE='Not/A:Valid:Name' lab_up 3 2>"/tmp/$LAB_PREFIX-smoke-up.err"; then bad "bad-image up succeeded"; else
    grep -q 'image import failed' "/tmp/$LAB_PREFIX-smoke-up.err" && ok "up failed at the import step" || bad "up #2 failed elsewhere"
  fi
  check "dockerds were left running by the failed up" test -n "$(lab_daemon_pid h3 dockerd)"
  RECORDED_PIDS=$(lab_pids | tr '\n' ' ')
  lab_down; assert_clean "after failed up #2"
  rm -f "/tmp/$LAB_PREFIX-smoke-up.err"
fi

say "timings: up 2 = ${T_UP}s, down = ${T_DOWN}s"
if [ "$FAILS" -gt 0 ]; then say "$FAILS check(s) FAILED"; exit 1; fi
say "ALL PASSED"
