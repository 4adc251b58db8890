#!/usr/bin/env bash
# Builds the solution (warnings are errors) and publishes the three programs to artifacts/:
#   artifacts/netmaster/netmaster, artifacts/netplugin/netplugin, artifacts/netctl/netctl
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${CONTIV_ARTIFACTS:-$ROOT/artifacts}"
cd "$ROOT"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
echo "[build] dotnet build ContivDocker.sln"
dotnet build ContivDocker.sln -c Release --nologo -v quiet -clp:ErrorsOnly
for app in NetMaster NetPlugin NetCtl; do
  name=$(echo "$app" | tr '[:upper:]' '[:lower:]')
  echo "[build] publish $name -> $OUT/$name"
  dotnet publish "src/Contiv.$app/Contiv.$app.csproj" -c Release --no-build --nologo -v quiet -clp:ErrorsOnly -o "$OUT/$name"
  ln -sf "Contiv.$app" "$OUT/$name/$name"
done
