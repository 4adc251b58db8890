#!/usr/bin/env bash
# Faster inner loop than build.sh: publishes the three programs to artifacts/ (Debug-free Release,
# building only what they need).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${CONTIV_ARTIFACTS:-$ROOT/artifacts}"
"$ROOT/scripts/publish.sh" "$OUT" netmaster netplugin netctl contivk8s
