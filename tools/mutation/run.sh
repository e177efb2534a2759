#!/bin/bash
# Mutation testing with Stryker.NET (the dotnet-stryker tool of the repository's tool manifest) on one core folder:
#   bash tools/mutation/run.sh protocol|client|mapping|selection|sessions|journal|sensitivity|devices
# Each folder's configuration (NAME.json here) names the project, the files mutated and the tests that judge them
# (the folder's own tests: the whole suite per mutant would take days on two cores). The reports (HTML-free:
# JSON and Markdown) go to out/mutation/NAME/; docs/testing.md summarises the latest run of each.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=${1:?usage: run.sh protocol|client|mapping|selection|sessions|journal|sensitivity|devices}
config=tools/mutation/$name.json
[ -f "$config" ] || { echo "no configuration $config; choose one of: $(ls tools/mutation/*.json | xargs -n1 basename | sed 's/.json//' | tr '\n' ' ')"; exit 2; }
dotnet tool restore >/dev/null
out=$PWD/out/mutation/$name
rm -rf "$out"
cd Swim.Tests
dotnet stryker -f "../$config" --output "$out"
find "$out" -name 'mutation-report.md' -exec cp {} "$out/report.md" \;
echo "report: $out/report.md"
