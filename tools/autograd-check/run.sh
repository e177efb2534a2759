#!/usr/bin/env bash
# Swim's gradient and OBD diagonal against TensorFlow.js on the bundled LeNet-5. Needs Node.js and npm (the
# npm registry), which the .NET-only CI machine does not have, so it is a tool, not a test.
# Usage, from anywhere: bash tools/autograd-check/run.sh [SAMPLES]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
samples="${1:-256}"
(cd "$here" && npm ci --no-audit --no-fund --silent)
sensitivity="$(mktemp --suffix .npz)"
trap 'rm -f "$sensitivity"' EXIT
dotnet run --project "$root/Swim.Controller" -c Release -- sensitivity "$root/models/lenet5-mnist.onnx" \
  --data "$root/data/mnist-10k.npz" --samples "$samples" --out "$sensitivity" > /dev/null
node "$here/check.mjs" "$root/models/lenet5-mnist.onnx" "$root/data/mnist-10k.npz" "$sensitivity" "$samples"
