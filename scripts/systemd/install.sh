#!/usr/bin/env bash
# Installs ContivDocker's programs and systemd units on this host:
#   /opt/contiv/                                the native programs (no .NET needed on the host)
#   /usr/local/bin/{netplugin,netmaster,netctl} symlinks into /opt/contiv
#   /etc/systemd/system/{netplugin,netmaster}.service
#   /etc/default/{netplugin,netmaster}          settings, only if absent (yours are never overwritten)
#   /opt/cni/bin/contivk8s                      the Kubernetes CNI plugin (a link into /opt/contiv)
#   /etc/cni/net.d/10-contiv.conflist           its CNI configuration, only if absent (with netplugin)
#
#   scripts/systemd/install.sh [--enable] [netplugin|netmaster ...]   (default: both units)
#
# The programs come from `scripts/image-build.sh publish` (artifacts/image, built if needed).
# --enable: systemctl daemon-reload, enable --now the units. DESTDIR=DIR installs under DIR instead
# of / (packaging, tests) and never calls systemctl.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
UNITS_SRC="$ROOT/scripts/systemd"
: "${DESTDIR:=}"
DESTDIR="${DESTDIR%/}"

say() { printf '[install] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

enable=0 units=()
for a in "$@"; do
  case "$a" in
    --enable) enable=1 ;;
    netplugin | netmaster) units+=("$a") ;;
    *) sed -n '2,13p' "$0" >&2; exit 2 ;;
  esac
done
[ ${#units[@]} -gt 0 ] || units=(netplugin netmaster)
[ -n "$DESTDIR" ] || [ "$(id -u)" = 0 ] || die "run as root (or set DESTDIR)"

published=$("$ROOT/scripts/image-build.sh" publish)
for p in netplugin netmaster netctl contivk8s; do [ -x "$published/$p" ] || die "$published/$p missing"; done
# replace the whole directory: files of an older version must not linger
mkdir -p "$DESTDIR/opt" "$DESTDIR/usr/local/bin"
rm -rf "$DESTDIR/opt/contiv.new"
cp -a "$published" "$DESTDIR/opt/contiv.new"
rm -rf "$DESTDIR/opt/contiv"
mv "$DESTDIR/opt/contiv.new" "$DESTDIR/opt/contiv"
for p in netplugin netmaster netctl; do
  # relative, so it also resolves inside DESTDIR
  ln -sfn "../../../opt/contiv/$p" "$DESTDIR/usr/local/bin/$p"
done
say "programs in $DESTDIR/opt/contiv, links in $DESTDIR/usr/local/bin"

# A Kubernetes node's runtime (containerd, CRI-O) runs CNI plugins from /opt/cni/bin and reads the
# lexically first configuration in /etc/cni/net.d; netplugin serves the socket the plugin calls.
if [[ " ${units[*]} " == *" netplugin "* ]]; then
  mkdir -p "$DESTDIR/opt/cni/bin"
  ln -sfn "../../contiv/contivk8s" "$DESTDIR/opt/cni/bin/contivk8s"
  if [ -e "$DESTDIR/etc/cni/net.d/10-contiv.conflist" ]; then
    say "keeping $DESTDIR/etc/cni/net.d/10-contiv.conflist"
  else
    install -D -m 0644 "$UNITS_SRC/10-contiv.conflist" "$DESTDIR/etc/cni/net.d/10-contiv.conflist"
  fi
  say "CNI plugin $DESTDIR/opt/cni/bin/contivk8s, configuration $DESTDIR/etc/cni/net.d/10-contiv.conflist"
fi

for u in "${units[@]}"; do
  install -D -m 0644 "$UNITS_SRC/$u.service" "$DESTDIR/etc/systemd/system/$u.service"
  if [ -e "$DESTDIR/etc/default/$u" ]; then
    say "keeping $DESTDIR/etc/default/$u"
  else
    install -D -m 0644 "$UNITS_SRC/$u.default" "$DESTDIR/etc/default/$u"
  fi
  say "unit $DESTDIR/etc/systemd/system/$u.service"
done

if [ "$enable" = 1 ]; then
  [ -z "$DESTDIR" ] || die "--enable needs an install to / (DESTDIR is set)"
  [ -d /run/systemd/system ] || die "systemd is not running on this host: start the programs yourself"
  systemctl daemon-reload
  systemctl enable --now "${units[@]/%/.service}"
  say "enabled and started: ${units[*]}"
fi
