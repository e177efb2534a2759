#!/usr/bin/env bash
# Reproduces every study in docs/results.md (about 7 minutes on 2 cores). Run from the repository root.
set -euo pipefail
swim() { dotnet run -c Release --project Swim.Controller -- "$@"; }
common=(models/lenet5-mnist.onnx --data data/mnist-10k.npz --samples 2000 --calib data/mnist-10k.npz --calib-samples 2000
        --ratios 0,0.01,0.02,0.05,0.1,0.2,0.3,0.5,1 --trials 30 --seed 1)
for sigma in 0.1 0.15 0.3; do
  swim simulate "${common[@]}" --noise-model paper --weight-bits 4 --sigma "$sigma" \
    --methods swim,magnitude,random,gradient,posterior,cell-level --out "docs/results/paper-sigma-$sigma"
done
for device in rram fefet pcm; do
  swim simulate "${common[@]}" --noise-model device --device "$device" --weight-bits 8 \
    --methods swim,uswim,uswim-paper,magnitude,random,posterior,cell-level --out "docs/results/device-$device"
  # The same without stuck cells: variation alone, where a state-aware score (uswim, cell-level) can show.
  swim simulate "${common[@]}" --noise-model device --device "$device" --weight-bits 8 --stuck-rate 0 \
    --methods swim,uswim,uswim-paper,magnitude,random,posterior,cell-level --out "docs/results/device-$device-no-stuck"
done
