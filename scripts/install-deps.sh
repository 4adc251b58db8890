#!/usr/bin/env bash
# Idempotent installer for what ContivDocker's scripts and tests need on Debian 12 (bookworm).
# Installs only missing packages (one `apt-get update`, only if something is missing), never starts a
# daemon (a temporary policy-rc.d denies service starts during the install), quiet unless a step fails.
# Also checks the .NET SDK required by global.json (it is not installed by this script).
#   usage: sudo scripts/install-deps.sh        env: EXTRA_PKGS="pkg ..." to add packages
set -euo pipefail

# clang + zlib1g-dev: the NativeAOT link of the published programs (scripts/publish.sh)
# ethtool: the VLAN test that turns tx-vlan-offload off to see the tag in the frame bytes
# zsh: the zsh completion test; systemd: systemd-analyze for the units' test
# (tests fail, not skip, without them under CONTIV_E2E_REQUIRED=1, which scripts/test.sh sets)
# nftables + conntrack: the policy tests observe the kernel's tables and connection tracking with `nft` and `conntrack`
# containernetworking-plugins: the CNI reference plugins (bridge, host-local, loopback in /usr/lib/cni) that
#   containerd's CRI runs in tests/Contiv.Cri.Tests (containerd itself, with ctr, comes with docker.io)
# etcd-server + etcd-client: the etcd store's tests start private etcd members (one, or a 3-member cluster on
#   127.0.0.1 free ports) from /usr/bin/etcd; etcdctl sets up users for the auth test (the packaged etcd.service
#   is not used: the tests never touch port 2379)
PKGS=(docker.io redis-server busybox-static iproute2 tcpdump iperf3 jq procps util-linux bind9-dnsutils curl clang zlib1g-dev
  ethtool zsh systemd nftables conntrack containernetworking-plugins etcd-server etcd-client)
# shellcheck disable=SC2206
[ -n "${EXTRA_PKGS:-}" ] && PKGS+=($EXTRA_PKGS)
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf '[install-deps] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# run a command quietly; on failure show its output and stop
quiet() {
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  if [ "$rc" != 0 ]; then say "command failed (rc=$rc): $*"; printf '%s\n' "$out" | tail -n 40 >&2; exit "$rc"; fi
}

missing=()
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "need root to install: ${missing[*]}"
  command -v apt-get >/dev/null || die "apt-get not found (this script targets Debian 12)"
  say "installing: ${missing[*]}"
  # deny service starts from maintainer scripts (invoke-rc.d / deb-systemd-invoke honour policy-rc.d)
  prc=/usr/sbin/policy-rc.d backup=""
  if [ -e "$prc" ]; then backup=$(mktemp); cp -p "$prc" "$backup"; fi
  restore() { if [ -n "$backup" ]; then mv -f "$backup" "$prc"; else rm -f "$prc"; fi; }
  trap restore EXIT
  printf '#!/bin/sh\nexit 101\n' >"$prc"; chmod 755 "$prc"
  export DEBIAN_FRONTEND=noninteractive
  quiet apt-get update -qq
  quiet apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
  restore; trap - EXIT
fi

# sanity: the binaries the lab and the tests call
for c in dockerd docker containerd ctr runc redis-server busybox ip bridge tcpdump iperf3 jq pgrep nsenter unshare setsid clang ethtool zsh systemd-analyze nft conntrack; do
  command -v "$c" >/dev/null || die "'$c' not on PATH after install"
done
/bin/busybox --list | grep -qx ping || die "/bin/busybox has no ping applet"

# .NET SDK (not installed here: it comes from Microsoft's packages or dotnet-install.sh)
want=$(sed -n 's/.*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$REPO/global.json" 2>/dev/null | head -n1)
if ! command -v dotnet >/dev/null; then
  die ".NET SDK not found: 'dotnet' is not on PATH. This repo needs SDK ${want:-(see global.json)}
  (global.json rollForward=latestFeature). Install it, e.g.:
    curl -sSL https://dot.net/v1/dotnet-install.sh | bash -s -- --version ${want:-<version>} --install-dir /usr/share/dotnet
    ln -s /usr/share/dotnet/dotnet /usr/local/bin/dotnet
  or the packages.microsoft.com 'dotnet-sdk-${want%%.*}.0' package, then re-run this script."
fi
if ! (cd "$REPO" && dotnet --version >/dev/null 2>&1); then
  die ".NET SDK present but none matches global.json (${want:-?}); installed: $(dotnet --list-sdks 2>/dev/null | awk '{print $1}' | tr '\n' ' ')"
fi
exit 0
