#!/usr/bin/env bash
# Faster inner loop than build.sh: publishes the three programs to artifacts/ (native, Release),
# building only what they need.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${CONTIV_ARTIFACTS:-$ROOT/artifacts}"
# shellcheck source=lib/publish.sh
source "$ROOT/scripts/lib/publish.sh"
for app in NetMaster NetPlugin NetCtl; do
  contiv_publish "$app" "$OUT/$(echo "$app" | tr '[:upper:]' '[:lower:]')" "$ROOT"
done
