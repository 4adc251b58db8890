#!/usr/bin/env bash
# Builds the solution (warnings are errors) and publishes the three programs (native
# scripts/publish.sh) to artifacts/:
#   artifacts/netmaster/netmaster, artifacts/netplugin/netplugin, artifacts/netctl/netctl,
#   artifacts/contivk8s/contivk8s (the Kubernetes CNI plugin)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${CONTIV_ARTIFACTS:-$ROOT/artifacts}"
cd "$ROOT"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
echo "[build] dotnet build ContivDocker.sln"
dotnet build ContivDocker.sln -c Release --nologo -v quiet -clp:ErrorsOnly
rm -rf "${OUT:?}"/netmaster "${OUT:?}"/netplugin "${OUT:?}"/netctl "${OUT:?}"/contivk8s
"$ROOT/scripts/publish.sh" "$OUT" netmaster netplugin netctl contivk8s
