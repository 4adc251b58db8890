#!/usr/bin/env bash
# The one definition of how ContivDocker's programs are published. scripts/build.sh (framework-
# dependent, for this machine's tests), scripts/image-build.sh and the Dockerfile's SDK stage
# (self-contained, for the image) and scripts/plugin-build.sh (self-contained netplugin for the
# managed plugin's rootfs) all call it, so a change of publish mode (e.g. NativeAOT for netplugin:
# add -p:PublishAot=true in app_properties below) is made here once.
#
#   scripts/publish.sh [--self-contained] [--no-build] [--isolated] [--single-dir] OUT [netmaster|netplugin|netctl ...]
#
# Publishes each program (default: all three) to OUT/NAME/, with OUT/NAME/NAME -> Contiv.<App> (the
# name scripts, tests, the image and the systemd units run). --single-dir puts all of them in OUT
# itself (OUT/NAME -> Contiv.<App>), sharing one copy of the runtime and libraries (a third of the
# size when self-contained); files they have in common must be identical, or it fails. --self-contained publishes for
# $CONTIV_RID (default linux-x64) with the .NET runtime included: it needs only glibc, libstdc++,
# libgcc_s and OpenSSL (mcr.microsoft.com/dotnet/runtime-deps). --no-build reuses a Release build
# of the solution (framework-dependent only). --isolated publishes from a temporary copy of the
# sources, so the work tree's bin/obj (and anyone building there: a RID-specific restore rewrites
# obj/project.assets.json) stay untouched. CONTIV_SOURCE_REVISION stamps the commit (default: git).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

die() { printf '[publish] ERROR: %s\n' "$*" >&2; exit 2; }

self_contained=0 no_build=0 isolated=0 single_dir=0 src="$ROOT"
while [ $# -gt 0 ]; do
  case "$1" in
    --self-contained) self_contained=1 ;;
    --no-build) no_build=1 ;;
    --isolated) isolated=1 ;;
    --single-dir) single_dir=1 ;;
    -*) die "unknown option $1" ;;
    *) break ;;
  esac
  shift
done
out="${1:?usage: publish.sh [--self-contained] [--no-build] [--isolated] [--single-dir] OUT [netmaster|netplugin|netctl ...]}"
shift
apps=("$@")
[ ${#apps[@]} -gt 0 ] || apps=(netmaster netplugin netctl)
[ "$self_contained$no_build" = 11 ] && die "--no-build reuses the framework-dependent build; it cannot be --self-contained"
[ "$isolated$no_build" = 11 ] && die "--no-build reuses this tree's build; it cannot be --isolated"
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
    *) die "unknown program '$1' (netmaster, netplugin or netctl)" ;;
  esac
}

# MSBuild properties per program and mode: the place to switch a program to NativeAOT or trimming.
app_properties() {
  local props=(-c Release)
  if [ "$self_contained" = 1 ]; then
    props+=(-r "${CONTIV_RID:-linux-x64}" --self-contained)
  fi
  # Per program, e.g. NativeAOT for netplugin (self-contained only):
  #   [ "$self_contained$app" = 1netplugin ] && props+=(-p:PublishAot=true)
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
  [ "$no_build" = 1 ] && props+=(--no-build)
  dest="$out/$app"
  [ "$single_dir" = 1 ] && dest="$out/.publish-$app" && rm -rf "$dest"
  echo "[publish] $app -> $out/$app${props[*]:+ (${props[*]})}" >&2
  dotnet publish "$src/src/$proj/$proj.csproj" "${props[@]}" --nologo -v quiet -clp:ErrorsOnly -o "$dest" >&2
  [ -x "$dest/$proj" ] || die "dotnet publish produced no $dest/$proj"
  if [ "$single_dir" = 1 ]; then
    merge_into "$out" "$dest"
    rm -rf "$dest"
    ln -sfn "$proj" "$out/$app"
  else
    ln -sfn "$proj" "$dest/$app"
  fi
done
