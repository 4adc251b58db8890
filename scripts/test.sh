#!/usr/bin/env bash
# Runs every test of ContivDocker on this machine: installs what is missing (Debian packages),
# builds with warnings as errors, checks formatting, runs the unit and integration suites and the
# end-to-end suites on a real namespace lab (real dockerd, Redis and kernel).
#   usage: sudo scripts/test.sh [extra dotnet test args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# In this script a missing prerequisite of an end-to-end test is a failure, never a silent skip.
export CONTIV_E2E_REQUIRED=1

step() { printf '\n=== %s\n' "$*"; }

step "install dependencies"
scripts/install-deps.sh

step "build and publish"
scripts/build.sh

step "format check"
dotnet format ContivDocker.sln --verify-no-changes --no-restore -v quiet

step "lab smoke test (namespace hosts with their own dockerd)"
tests/lab-smoke.sh

results="$ROOT/artifacts/test-results"
rm -rf "$results"
fail=0
for project in tests/*/*.Tests.csproj; do
  name=$(basename "$project" .csproj)
  step "$name"
  mkdir -p "$results"
  if ! dotnet test "$project" -c Release --no-build --nologo \
      --logger "console;verbosity=normal" --results-directory "$results" "$@" 2>&1 | tee "$results/$name.log"; then
    fail=1
    echo "FAILED: $name"
  fi
done

# The log is long; repeat every failure (name, message, first stack lines) at its end, where a
# truncated CI log still shows it.
if [ "$fail" != 0 ]; then
  step "failures"
  for log in "$results"/*.log; do
    grep -E -A14 '^  Failed [A-Za-z]' "$log" | grep -v -E '^\s+at System\.' || true
  done
fi
exit $fail
