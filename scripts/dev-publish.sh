#!/usr/bin/env bash
# Faster inner loop than build.sh: publishes the three programs to artifacts/ (Debug-free Release,
# building only what they need).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${CONTIV_ARTIFACTS:-$ROOT/artifacts}"
for app in NetMaster NetPlugin NetCtl; do
  name=$(echo "$app" | tr '[:upper:]' '[:lower:]')
  dotnet publish "$ROOT/src/Contiv.$app/Contiv.$app.csproj" -c Release --nologo -v quiet -clp:ErrorsOnly -o "$OUT/$name"
  ln -sf "Contiv.$app" "$OUT/$name/$name"
done
