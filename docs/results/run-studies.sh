#!/usr/bin/env bash
# Reproduces every study in docs/results.md (about 30 minutes on 2 cores). Run from the repository root.
set -euo pipefail
swim() { dotnet run -c Release --project Swim.Controller -- "$@"; }
common=(models/lenet5-mnist.onnx --data data/mnist-10k.npz --samples 2000 --calib data/mnist-10k.npz --calib-samples 2000
        --ratios 0,0.01,0.02,0.05,0.1,0.2,0.3,0.5,1 --trials 30 --seed 1)
for sigma in 0.1 0.15 0.3; do
  swim simulate "${common[@]}" --noise-model paper --weight-bits 4 --sigma "$sigma" \
    --methods swim,magnitude,random,gradient,posterior,cell-level --out "docs/results/paper-sigma-$sigma"
done
# The device physics (docs/device-presets.md), read 1 s and 1 day after programming ends.
for device in rram hfox pcm fefet; do
  for after in 1s 1d; do
    swim simulate "${common[@]}" --noise-model device --device "$device" --weight-bits 8 --read-after "$after" \
      --methods swim,uswim,magnitude,random,posterior,cell-level --out "docs/results/device-$device-$after"
  done
done
# The same methods taking their cells by whole crossbar rows (--selection-cost parallel), read 1 s after programming,
# on the natural layout and with each layer's inputs and outputs placed by the SWIM score they hold.
for device in rram pcm; do
  swim simulate "${common[@]}" --noise-model device --device "$device" --weight-bits 8 --read-after 1s --selection-cost parallel \
    --methods swim,uswim,magnitude,random,posterior,cell-level --out "docs/results/device-$device-1s-rows"
  swim simulate "${common[@]}" --noise-model device --device "$device" --weight-bits 8 --read-after 1s --selection-cost parallel \
    --placement sensitivity --methods swim,uswim,magnitude,random,posterior,cell-level --out "docs/results/device-$device-1s-rows-placed"
  # By bench time: a row's pass and each cell's bytes on a 3 Mbaud link, greedily by score per second.
  swim simulate "${common[@]}" --noise-model device --device "$device" --weight-bits 8 --read-after 1s --selection-cost bench \
    --placement sensitivity --methods swim,uswim,magnitude,random,posterior,cell-level --out "docs/results/device-$device-1s-bench-placed"
done
