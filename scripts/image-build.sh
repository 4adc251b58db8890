#!/usr/bin/env bash
# Builds the ContivDocker node image (Dockerfile: netplugin, netmaster and netctl on dotnet/runtime-deps)
# with the engine at $DOCKER_HOST, using Docker's legacy builder (DOCKER_BUILDKIT=0: no buildx here).
#
#   scripts/image-build.sh prebuilt     publish (native) on this host into artifacts/image (all
#                                       three in one dir, scripts/publish.sh, cached by source state), then
#                                       docker build --target prebuilt: needs only $RUNTIME_IMAGE
#   scripts/image-build.sh sdk          docker build (target runtime): publishes inside the SDK stage;
#                                       needs $SDK_IMAGE and $RUNTIME_IMAGE (a registry, or both loaded)
#   scripts/image-build.sh stand-in     docker import a local stand-in for dotnet/runtime-deps as
#                                       $STAND_IN_IMAGE: a static busybox plus the shared libraries the
#                                       published programs need (ldd) and OpenSSL; for machines without
#                                       a registry (then: RUNTIME_IMAGE=$STAND_IN_IMAGE ... prebuilt)
#   scripts/image-build.sh publish      only the native publish; prints its directory
#
# Env: IMAGE (contiv/contiv:latest), RUNTIME_IMAGE (mcr.microsoft.com/dotnet/runtime-deps:10.0),
#      SDK_IMAGE (mcr.microsoft.com/dotnet/sdk:10.0), STAND_IN_IMAGE (contiv-local/runtime-deps:10.0),
#      IMAGE_REBUILD=1 (publish again even when the sources did not change), DOCKER_HOST.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${IMAGE:=contiv/contiv:latest}"
: "${RUNTIME_IMAGE:=mcr.microsoft.com/dotnet/runtime-deps:10.0}"
: "${SDK_IMAGE:=mcr.microsoft.com/dotnet/sdk:10.0}"
: "${STAND_IN_IMAGE:=contiv-local/runtime-deps:10.0}"
# in the build context, where the Dockerfile's prebuilt stage copies it from
IMAGE_PUBLISH_DIR="$ROOT/artifacts/image"
export DOCKER_BUILDKIT=0
# shellcheck source=lib/rootfs.sh source-path=SCRIPTDIR
source "$ROOT/scripts/lib/rootfs.sh"

say() { printf '[image-build] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

revision() { git -C "$ROOT" rev-parse --short=7 HEAD 2>/dev/null || echo unknown; }

source_key() {
  (
    cd "$ROOT"
    {
      find src -type d \( -name bin -o -name obj \) -prune -o -type f -print
      printf '%s\n' Directory.Build.props Directory.Packages.props global.json scripts/publish.sh
    } | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum | cut -c1-16
  )
}

# native publish of the programs (and contivk8s, the CNI plugin) into $IMAGE_PUBLISH_DIR (reused while the sources match)
publish() {
  local key keyfile="$IMAGE_PUBLISH_DIR.key" tmp
  command -v dotnet >/dev/null || die "dotnet not on PATH"
  key=$(source_key)
  if [ "${IMAGE_REBUILD:-0}" != 1 ] && [ -f "$keyfile" ] && [ "$(cat "$keyfile")" = "$key" ] &&
    [ -x "$IMAGE_PUBLISH_DIR/netplugin" ] && [ -x "$IMAGE_PUBLISH_DIR/netmaster" ] && [ -x "$IMAGE_PUBLISH_DIR/netctl" ] && [ -x "$IMAGE_PUBLISH_DIR/contivk8s" ]; then
    say "up to date: $IMAGE_PUBLISH_DIR (key $key)"
    echo "$IMAGE_PUBLISH_DIR"
    return 0
  fi
  mkdir -p "$(dirname "$IMAGE_PUBLISH_DIR")"
  tmp=$(mktemp -d "$(dirname "$IMAGE_PUBLISH_DIR")/.image-publish.XXXXXX")
  trap 'rm -rf "$tmp"' RETURN
  CONTIV_SOURCE_REVISION=$(revision) "$ROOT/scripts/publish.sh" --isolated --single-dir "$tmp/out" netmaster netplugin netctl contivk8s
  rm -rf "$IMAGE_PUBLISH_DIR" "$keyfile"
  mv "$tmp/out" "$IMAGE_PUBLISH_DIR"
  echo "$key" >"$keyfile"
  say "published $IMAGE_PUBLISH_DIR ($(du -sh "$IMAGE_PUBLISH_DIR" | cut -f1), key $key)"
  echo "$IMAGE_PUBLISH_DIR"
}

prebuilt() {
  command -v docker >/dev/null || die "docker CLI not on PATH"
  publish >/dev/null
  docker image inspect "$RUNTIME_IMAGE" >/dev/null 2>&1 ||
    die "$RUNTIME_IMAGE is not on ${DOCKER_HOST:-the default engine} (no registry? run 'scripts/image-build.sh stand-in' and pass RUNTIME_IMAGE=$STAND_IN_IMAGE)"
  say "docker build --target prebuilt -t $IMAGE (RUNTIME_IMAGE=$RUNTIME_IMAGE) on ${DOCKER_HOST:-the default engine}"
  docker build -q --target prebuilt --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" --build-arg "SDK_IMAGE=$SDK_IMAGE" \
    --label "org.opencontainers.image.revision=$(revision)" -t "$IMAGE" "$ROOT" >/dev/null
  say "built $IMAGE"
}

sdk() {
  command -v docker >/dev/null || die "docker CLI not on PATH"
  say "docker build (target runtime) -t $IMAGE: SDK_IMAGE=$SDK_IMAGE RUNTIME_IMAGE=$RUNTIME_IMAGE"
  docker build --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" --build-arg "SDK_IMAGE=$SDK_IMAGE" \
    --build-arg "SOURCE_REVISION=$(revision)" --label "org.opencontainers.image.revision=$(revision)" \
    -t "$IMAGE" "$ROOT"
}

# what runtime-deps provides, from this machine: busybox for /bin/sh, glibc, libstdc++, libgcc_s,
# zlib (whatever ldd reports for the published programs and their native libraries) and OpenSSL
stand_in() {
  local dir tmp rootfs
  command -v docker >/dev/null || die "docker CLI not on PATH"
  dir=$(publish)
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  rootfs="$tmp/rootfs"
  mkdir -p "$rootfs"/{etc,tmp,root,proc,sys,dev,run,var/run}
  chmod 1777 "$rootfs/tmp"
  rootfs_install_busybox "$rootfs" || die "no static busybox"
  rootfs_copy_openssl "$rootfs"
  rootfs_copy_libs "$rootfs" "$dir"/Contiv.Net* "$dir"/*.so
  # runtime-deps links libz; the programs' ldd may not name it (the runtime loads it by itself)
  if [ -e /lib/x86_64-linux-gnu/libz.so.1 ] && [ ! -e "$rootfs/lib/x86_64-linux-gnu/libz.so.1" ]; then
    mkdir -p "$rootfs/lib/x86_64-linux-gnu" && cp -L /lib/x86_64-linux-gnu/libz.so.1 "$rootfs/lib/x86_64-linux-gnu/"
  fi
  printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1654:1654:app:/home/app:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\napp:x:1654:\n' >"$rootfs/etc/group"
  printf '127.0.0.1 localhost\n' >"$rootfs/etc/hosts"
  tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -cf "$tmp/rootfs.tar" .
  say "docker import $STAND_IN_IMAGE ($(du -sh "$rootfs" | cut -f1)) on ${DOCKER_HOST:-the default engine}"
  docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/sh"]' "$tmp/rootfs.tar" "$STAND_IN_IMAGE" >/dev/null
  echo "$STAND_IN_IMAGE"
}

cmd="${1:-prebuilt}"
case "$cmd" in
  prebuilt) prebuilt ;;
  sdk) sdk ;;
  stand-in) stand_in ;;
  publish) publish ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
