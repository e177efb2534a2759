#!/usr/bin/env bash
# Swim's gradient and OBD diagonal against PyTorch (LibTorch 2.10 through TorchSharp): see README.md.
# Usage, from anywhere:
#   bash tools/torch-check/run.sh lenet [SAMPLES] [--float64]      the bundled LeNet-5 (default 256 samples)
#   bash tools/torch-check/run.sh resnet18 [SAMPLES] [--float64]   ResNet-18 exported by CNTK 2.6 (default 8)
#   bash tools/torch-check/run.sh ops [SAMPLES]                      one small net per operator family (16), float64
#   bash tools/torch-check/run.sh MODEL.onnx DATA.npz [SAMPLES] [--float64]
# Restores TorchSharp-cpu (about 600 MB of LibTorch) on first use. Exits 1 when any tensor differs by more
# than 1e-3 relative.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
flags=()
positional=()
for arg in "$@"; do
  if [[ "$arg" == --* ]]; then flags+=("$arg"); else positional+=("$arg"); fi
done
what="${positional[0]:-lenet}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dotnet build "$here/TorchCheck.csproj" -c Release -v quiet -nologo > "$work/build.log" || { cat "$work/build.log"; exit 1; }
dotnet build "$root/Swim.Controller" -c Release -v quiet -nologo > "$work/build.log" || { cat "$work/build.log"; exit 1; }
bin="$here/bin/Release/net10.0"

# LibTorchSharp is built against libstdc++ from GCC 13 (GLIBCXX_3.4.32). On an older system (Debian 12 has
# GCC 12) the next Debian release's libc6, libstdc++6, libgcc-s1 and libgomp1 are unpacked into .runtime/,
# from the mirror this machine's apt already uses, and a copy of the tool's launcher is pointed at that
# loader. Nothing outside .runtime/ and bin/ changes.
launcher=("$bin/torch-check")
if ldd "$bin/runtimes/linux-x64/native/libLibTorchSharp.so" 2>&1 | grep -q "GLIBCXX_3.4.32' not found"; then
  runtime="$here/.runtime"
  lib="$runtime/root/usr/lib/x86_64-linux-gnu"
  if [[ ! -e "$lib/ld-linux-x86-64.so.2" ]]; then
    mirror="$(grep -rhoE '^(URIs:|deb) +(\[[^]]*\] +)?[a-z]+://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d 2>/dev/null \
      | grep -oE '[a-z]+://[^ ]+' | head -n 1 || true)"
    [[ -n "$mirror" ]] || { echo "torch-check: no Debian mirror in this machine's apt sources; install libstdc++ from GCC 13 or later." >&2; exit 1; }
    mkdir -p "$runtime/lists/partial" "$runtime/cache/archives/partial" "$runtime/debs"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" > "$runtime/sources.list"
    apt=(-o Dir::Etc::SourceList="$runtime/sources.list" -o Dir::Etc::SourceParts=/dev/null
         -o Dir::State::Lists="$runtime/lists" -o Dir::Cache="$runtime/cache" -o APT::Sandbox::User=root)
    apt-get "${apt[@]}" update -qq
    (cd "$runtime/debs" && apt-get "${apt[@]}" download -qq libc6 libstdc++6 libgcc-s1 libgomp1)
    for deb in "$runtime"/debs/*.deb; do dpkg-deb -x "$deb" "$runtime/root"; done
  fi
  command -v patchelf > /dev/null || apt-get install -y -qq patchelf > /dev/null
  cp "$bin/torch-check" "$bin/torch-check-newer-libc"
  patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" "$bin/torch-check-newer-libc"
  # Only the tool's own process gets the newer libraries: every other program here keeps the system's.
  launcher=(env "LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    "DOTNET_ROOT=${DOTNET_ROOT:-$(dirname "$(readlink -f "$(command -v dotnet)")")}" "$bin/torch-check-newer-libc")
fi

case "$what" in
  ops)
    samples="${positional[1]:-16}"
    "${launcher[@]}" op-nets "$work/nets" "$samples"
    failed=0
    for model in "$work"/nets/*.onnx; do
      net="$(basename "$model" .onnx)"
      dotnet "$root/Swim.Controller/bin/Release/net10.0/swim.dll" sensitivity "$model" --data "${model%.onnx}.npz" \
        --samples "$samples" --out "$work/$net.sensitivity.npz" > /dev/null 2> "$work/$net.log" \
        || { echo "$net: swim sensitivity failed: $(tail -n 1 "$work/$net.log")"; failed=1; continue; }
      if "${launcher[@]}" "$model" "${model%.onnx}.npz" "$work/$net.sensitivity.npz" "$samples" --float64 > "$work/$net.check"; then
        echo "$net: $(tail -n 1 "$work/$net.check")"
      else
        cat "$work/$net.check"; failed=1
      fi
    done
    exit "$failed"
    ;;
  lenet)
    model="$root/models/lenet5-mnist.onnx"
    data="$root/data/mnist-10k.npz"
    samples="${positional[1]:-256}"
    ;;
  resnet18)
    dotnet restore "$root/tools/autograd-check/resnet18/ResNet18Model.csproj" --packages "$root/tools/autograd-check/resnet18/packages" \
      -p:ManagePackageVersionsCentrally=false -p:ImportDirectoryPackagesProps=false -p:ImportDirectoryBuildProps=false > /dev/null
    model="$(find "$root/tools/autograd-check/resnet18/packages" -name ResNet18.onnx | head -n 1)"
    samples="${positional[1]:-8}"
    data="$work/data.npz"
    "${launcher[@]}" random-data "$data" "$samples" 512 1 3 224 224
    ;;
  *)
    model="$what"
    data="${positional[1]:?usage: run.sh MODEL.onnx DATA.npz [SAMPLES]}"
    samples="${positional[2]:-256}"
    ;;
esac

dotnet run --project "$root/Swim.Controller" -c Release -- sensitivity "$model" \
  --data "$data" --samples "$samples" --out "$work/sensitivity.npz" > /dev/null
"${launcher[@]}" "$model" "$data" "$work/sensitivity.npz" "$samples" "${flags[@]}"
