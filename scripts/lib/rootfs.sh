# shellcheck shell=bash
# Building minimal root filesystems from this machine's files, shared by scripts/plugin-build.sh (the
# managed plugin's rootfs) and scripts/image-build.sh (the local stand-in for dotnet/runtime-deps).
#
#   rootfs_busybox_bin              path of a static busybox (fails when there is none)
#   rootfs_install_busybox ROOTFS   ROOTFS/bin/busybox and one symlink per applet in ROOTFS/bin
#   rootfs_copy_libs ROOTFS FILE..  the shared libraries ldd reports for FILEs, at the same paths
#   rootfs_copy_openssl ROOTFS      libssl and libcrypto (.NET loads them with dlopen: ldd cannot see them)

rootfs_busybox_bin() {
  local b
  for b in /usr/bin/busybox-static /bin/busybox /usr/bin/busybox; do
    [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1 && { echo "$b"; return 0; }
  done
  echo "no static busybox (apt-get install busybox-static)" >&2
  return 1
}

rootfs_install_busybox() {
  local rootfs="$1" bb a
  bb=$(rootfs_busybox_bin) || return 1
  mkdir -p "$rootfs/bin"
  cp "$bb" "$rootfs/bin/busybox"
  for a in $("$bb" --list); do [ "$a" = busybox ] || ln -sf busybox "$rootfs/bin/$a"; done
}

rootfs_copy_libs() {
  local rootfs="$1" lib f dirs=" "
  shift
  # libraries next to the FILEs ship with them (found through $ORIGIN): they are not system
  # libraries to copy to their absolute path
  for f in "$@"; do dirs+="$(cd "$(dirname "$f")" && pwd -P) "; done
  while read -r lib; do
    if [ -z "$lib" ] || [ ! -e "$lib" ]; then continue; fi
    case "$dirs" in *" $(cd "$(dirname "$lib")" && pwd -P) "*) continue ;; esac
    [ -e "$rootfs$lib" ] && continue
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done < <(ldd "$@" 2>/dev/null | awk '/=> \// {print $3} /^\t\/[^ ]+ \(/ {print $1}' | sort -u)
}

rootfs_copy_openssl() {
  local rootfs="$1" lib
  for lib in /usr/lib/x86_64-linux-gnu/libssl.so.3 /usr/lib/x86_64-linux-gnu/libcrypto.so.3; do
    [ -e "$lib" ] || continue
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
    # the copy, not the original: what it links is found in the system's directories, not beside it
    rootfs_copy_libs "$rootfs" "$rootfs$lib"
  done
}
