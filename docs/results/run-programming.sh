#!/usr/bin/env bash
# Reproduces the single-chip table in docs/programming-results.md (about 2 minutes on 2 cores). Run from the
# repository root. Every row is one `swim program` on a fresh in-process rram board (emulator seed 1), with and
# without the preset's stuck cells, ranked by one saved OBD sensitivity pass over 2,000 training digits.
set -euo pipefail
dotnet build -c Release Swim.Controller -v quiet -nologo > /dev/null
swim() { dotnet Swim.Controller/bin/Release/net10.0/swim.dll "$@"; }
out=docs/results/programming
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
swim sensitivity models/lenet5-mnist.onnx --data data/mnist-10k.npz --samples 2000 --out "$work/sens.npz" > /dev/null 2>&1

field() { grep -o "\"$2\": *[-0-9.eE+]*" "$1" | head -n 1 | sed 's/.*: *//'; }
rows=("none magnitude 0" "full magnitude 1")
for method in swim uswim magnitude random gradient posterior cell-level; do
  rows+=("$method $method 0.1" "$method $method 0.2")
done

mkdir -p "$out/rram" "$out/rram-no-stuck"
{
  echo "| selection | verified | rram: device time, serial (s) | row-parallel (s) | link at 3 Mbaud (s) | accuracy | without stuck cells: serial (s) | row-parallel (s) | link (s) | accuracy |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for row in "${rows[@]}"; do
    read -r label method ratio <<< "$row"
    case "$label" in
      none) name="none (open loop)" ;;
      full) name="full write-verify" ;;
      *) name="$label" ;;
    esac
    line="| $name | $(awk -v r="$ratio" 'BEGIN { printf "%g %%", r * 100 }') |"
    for board in rram rram-no-stuck; do
      extra=()
      [ "$board" = rram-no-stuck ] && extra=(--stuck-rate 0)
      report="$out/$board/$label-$ratio.json"
      swim program models/lenet5-mnist.onnx --board emulator:rram --emulator-seed 1 "${extra[@]}" --sensitivity "$work/sens.npz" \
        --data data/mnist-10k.npz --method "$method" --ratio "$ratio" --out "$work/programmed.onnx" --report "$work/report" > /dev/null 2>&1
      cp "$work/report/report.json" "$report"
      line+=" $(awk -v t="$(field "$report" device_time_s)" 'BEGIN { printf "%.3f", t }') |"
      line+=" $(awk -v t="$(field "$report" modelled_row_parallel_s)" 'BEGIN { printf "%.3f", t }') |"
      line+=" $(awk -v t="$(field "$report" link_time_s)" 'BEGIN { printf "%.3f", t }') |"
      line+=" $(awk -v a="$(field "$report" accuracy)" 'BEGIN { printf "%.2f %%", a * 100 }') |"
    done
    echo "$line"
  done
} > "$out/table.md"
cat "$out/table.md"
