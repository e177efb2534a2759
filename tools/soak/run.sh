#!/bin/bash
# The flakiness check of docs/testing.md: the whole suite, built once, run N times in a row (default 20) beside two
# busy loops that keep both cores of a 2-core machine loaded, as a CI host shared with other jobs would be:
#   bash tools/soak/run.sh [N]
# Each run's summary line and every failed test's name go to out/soak/summary.txt, each run's full log beside it.
# The machine must be otherwise idle (no mutation run or benchmark), or the load is not the one described.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-20}
out=$PWD/out/soak
rm -rf "$out" && mkdir -p "$out"
dotnet build Swim.sln -v q -nologo >/dev/null
busy=()
for _ in 1 2; do
  ( while :; do :; done ) &
  busy+=($!)
done
trap 'kill "${busy[@]}" 2>/dev/null || true' EXIT
failures=0
for i in $(seq 1 "$runs"); do
  log=$out/run-$i.log
  start=$(date +%s)
  set +e
  dotnet test Swim.Tests --no-build > "$log" 2>&1
  status=$?
  set -e
  line=$(grep -E '^ +(Passed|Failed|Skipped): +[0-9]+$' "$log" | tr -s ' ' | tr '\n' ',')
  echo "run $i: exit $status, $line$(( $(date +%s) - start )) s" | tee -a "$out/summary.txt"
  if [ "$status" -ne 0 ]; then
    failures=$((failures + 1))
    grep -E '^ +Failed [A-Za-z]' "$log" | sed 's/^/    /' | tee -a "$out/summary.txt" || true
  fi
done
echo "$runs runs beside two busy loops: $failures failed" | tee -a "$out/summary.txt"
[ "$failures" -eq 0 ]
