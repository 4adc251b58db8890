#!/usr/bin/env bash
# The one definition of how ContivDocker's programs are published: scripts/build.sh,
# scripts/dev-publish.sh (and so scripts/bench.sh), scripts/image-build.sh and the Dockerfile's SDK
# stage, scripts/plugin-build.sh (the managed plugin's rootfs) and scripts/systemd/install.sh all
# call it.
#
#   scripts/publish.sh [--isolated] [--single-dir] OUT [netmaster|netplugin|netctl ...]
#
# The projects set PublishAot (see their .csproj): each program is published for this machine's
# runtime identifier ($CONTIV_RID, default from uname -m) as one native executable (NativeAOT,
# trimmed) that needs only glibc (and OpenSSL for TLS, loaded when used): no .NET runtime where it
# runs (mcr.microsoft.com/dotnet/runtime-deps is enough). Each goes to OUT/NAME/, with
# OUT/NAME/NAME -> Contiv.<App> (the name scripts, tests, the image and the systemd units run).
# --single-dir puts all of them in OUT itself (OUT/NAME -> Contiv.<App>); files they have in common
# must be identical, or it fails. --isolated publishes from a temporary copy of the sources, so the
# work tree's bin/obj (and anyone building there: a RID-specific restore rewrites
# obj/project.assets.json) stay untouched. CONTIV_SOURCE_REVISION stamps the commit (default: git).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

die() { printf '[publish] ERROR: %s\n' "$*" >&2; exit 2; }

isolated=0 single_dir=0 src="$ROOT"
while [ $# -gt 0 ]; do
  case "$1" in
    --isolated) isolated=1 ;;
    --single-dir) single_dir=1 ;;
    -*) die "unknown option $1" ;;
    *) break ;;
  esac
  shift
done
out="${1:?usage: publish.sh [--isolated] [--single-dir] OUT [netmaster|netplugin|netctl|contivk8s ...]}"
shift
apps=("$@")
[ ${#apps[@]} -gt 0 ] || apps=(netmaster netplugin netctl)
mkdir -p "$out"
out="$(cd "$out" && pwd)"

if [ "$isolated" = 1 ]; then
  # the copy lives in a directory of its own, removed on exit
  : "${CONTIV_SOURCE_REVISION:=$(git -C "$ROOT" rev-parse --short=7 HEAD 2>/dev/null || echo unknown)}"
  src=$(mktemp -d "${TMPDIR:-/tmp}/contiv-publish.XXXXXX")
  trap 'rm -rf "$src"' EXIT
  inputs=(src Directory.Build.props Directory.Packages.props global.json)
  for f in .editorconfig NuGet.config nuget.config; do if [ -e "$ROOT/$f" ]; then inputs+=("$f"); fi; done
  tar -C "$ROOT" --exclude=bin --exclude=obj -cf - "${inputs[@]}" | tar -C "$src" -xf -
fi

# project name of each program
project() {
  case "$1" in
    netmaster) echo Contiv.NetMaster ;;
    netplugin) echo Contiv.NetPlugin ;;
    netctl) echo Contiv.NetCtl ;;
    contivk8s) echo Contiv.CniPlugin ;;
    *) die "unknown program '$1' (netmaster, netplugin, netctl or contivk8s)" ;;
  esac
}

# The runtime identifier of this machine (or $CONTIV_RID), decided once: an unknown machine stops here.
case "${CONTIV_RID:-$(uname -m)}" in
  x86_64) rid=linux-x64 ;;
  aarch64 | arm64) rid=linux-arm64 ;;
  linux-*) rid="$CONTIV_RID" ;;
  *) die "unsupported machine or runtime identifier '${CONTIV_RID:-$(uname -m)}': set CONTIV_RID=linux-..." ;;
esac

# MSBuild properties of a publish (the projects themselves say PublishAot, GC mode, trimming roots).
app_properties() {
  local props=(-c Release -r "$rid")
  if [ -n "${CONTIV_SOURCE_REVISION:-}" ]; then props+=("-p:SourceRevisionId=$CONTIV_SOURCE_REVISION"); fi
  printf '%s\n' "${props[@]}"
}

# merge_into DIR FROM: copy FROM's files into DIR; a file both have must be identical
merge_into() {
  local dir="$1" from="$2" f
  cp -a --no-clobber "$from/." "$dir/"
  while IFS= read -r -d '' f; do
    cmp -s "$from/$f" "$dir/$f" || die "--single-dir: $f differs between programs (${from##*/} and an earlier one)"
  done < <(cd "$from" && find . -type f -print0)
}

for app in "${apps[@]}"; do
  proj=$(project "$app")
  mapfile -t props < <(app_properties "$app")
  dest="$out/$app"
  [ "$single_dir" = 1 ] && dest="$out/.publish-$app" && rm -rf "$dest"
  echo "[publish] $app -> $out/$app${props[*]:+ (${props[*]})}" >&2
  dotnet publish "$src/src/$proj/$proj.csproj" "${props[@]}" --nologo -v quiet -clp:ErrorsOnly -o "$dest" >&2
  [ -x "$dest/$proj" ] || die "dotnet publish produced no $dest/$proj"
  # The native linker's separate debug symbols (tens of MB) and build by-products are not deployed.
  rm -f "$dest"/*.dbg "$dest"/*.pdb "$dest"/*.xml "$dest"/*.staticwebassets.endpoints.json
  if [ "$single_dir" = 1 ]; then
    merge_into "$out" "$dest"
    rm -rf "$dest"
    ln -sfn "$proj" "$out/$app"
  else
    ln -sfn "$proj" "$dest/$app"
  fi
done
