#!/usr/bin/env bash
# Swim's gradient and OBD diagonal against TensorFlow.js on a model Swim did not make: the ResNet-18 that CNTK 2.6
# exported for ML.NET's image featurizer (NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1; 22 Conv, 22
# BatchNormalization, 9 residual Add, MaxPool, AveragePool; its 512 features are taken as class scores) on
# seeded random images with random labels. Needs Node.js, npm and NuGet; TensorFlow.js's pure-JavaScript CPU
# backend takes about 40 minutes for 2 samples.
# Usage, from anywhere: bash tools/autograd-check/run-resnet18.sh [SAMPLES]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
samples="${1:-2}"
(cd "$here" && npm ci --no-audit --no-fund --silent)
dotnet restore "$here/resnet18/ResNet18Model.csproj" --packages "$here/resnet18/packages" \
  -p:ManagePackageVersionsCentrally=false -p:ImportDirectoryPackagesProps=false -p:ImportDirectoryBuildProps=false > /dev/null
model="$(find "$here/resnet18/packages" -name ResNet18.onnx | head -n 1)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
node "$here/random-data.mjs" "$work/data.npz" "$samples" 512 1 3 224 224
dotnet run --project "$root/Swim.Controller" -c Release -- sensitivity "$model" \
  --data "$work/data.npz" --samples "$samples" --out "$work/sensitivity.npz" > /dev/null
node "$here/check.mjs" "$model" "$work/data.npz" "$work/sensitivity.npz" "$samples"
