#!/usr/bin/env bash
# Builds the solution (warnings are errors) and publishes the three programs to artifacts/ as native
# executables (NativeAOT, scripts/lib/publish.sh):
#   artifacts/netmaster/netmaster, artifacts/netplugin/netplugin, artifacts/netctl/netctl
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${CONTIV_ARTIFACTS:-$ROOT/artifacts}"
cd "$ROOT"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
echo "[build] dotnet build ContivDocker.sln"
dotnet build ContivDocker.sln -c Release --nologo -v quiet -clp:ErrorsOnly
# shellcheck source=lib/publish.sh
source "$ROOT/scripts/lib/publish.sh"
for app in NetMaster NetPlugin NetCtl; do
  name=$(echo "$app" | tr '[:upper:]' '[:lower:]')
  echo "[build] publish $name -> $OUT/$name (native, $(contiv_rid))"
  rm -rf "${OUT:?}/$name"
  contiv_publish "$app" "$OUT/$name" "$ROOT"
done
