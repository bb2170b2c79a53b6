#!/bin/bash
# bench/gpu.sh where no GPU is: each missing prerequisite is named, the exit
# status is 1, nothing runs, and a driver that hangs is cut off. A fake
# nvidia-smi on PATH plays the machine. TAP output.
# Usage: check-gpu-sh.sh SOURCE_DIR BUILD_DIR
set -u
src=$1
build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0
check () {   # check NAME EXPECTED_STATUS EXPECTED_TEXT -- COMMAND...
  local name=$1 want=$2 text=$3
  shift 4
  n=$((n + 1))
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -eq "$want" ] && echo "$out" | grep -qF -- "$text"; then
    echo "ok $n $name"
  else
    echo "not ok $n $name (exit $rc, want $want and “$text”)"
    echo "$out" | sed 's/^/# /'
    fails=$((fails + 1))
  fi
}
fake_smi () {   # fake_smi DIR BODY
  mkdir -p "$1"
  printf '#!/bin/sh\n%s\n' "$2" > "$1/nvidia-smi"
  chmod +x "$1/nvidia-smi"
}

fake_smi "$tmp/none" 'echo "No devices were found"; exit 6'
fake_smi "$tmp/one" 'case "$1" in -L) echo "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)";; *) echo "CUDA Version: 13.0";; esac'
fake_smi "$tmp/hang" 'sleep 30'
nosmi=$(mktemp -d)
for tool in bash sh sed grep awk timeout cat head tail mktemp rm dirname ls env printf; do
  ln -s "$(command -v $tool)" "$nosmi/$tool"
done

check "help" 0 "--check" -- bash "$src/bench/gpu.sh" --help
check "unknown option" 2 "unknown option --gpu" -- bash "$src/bench/gpu.sh" --gpu
check "no build" 1 "missing: kiln-cli and kiln-bench-net in $tmp/nowhere" -- bash "$src/bench/gpu.sh" --check "$tmp/nowhere"
check "no driver at all" 1 "nvidia-smi is not installed" -- env PATH="$nosmi" bash "$src/bench/gpu.sh" --check "$build"
check "no GPU listed" 1 "it said: No devices were found" -- env PATH="$tmp/none:$PATH" bash "$src/bench/gpu.sh" --check "$build"
check "run mode refuses too" 1 "nothing was run" -- env PATH="$tmp/none:$PATH" bash "$src/bench/gpu.sh" "$build"
check "a hanging driver is cut off" 1 "the driver hangs" -- env SMI_TIMEOUT=1 PATH="$tmp/hang:$PATH" bash "$src/bench/gpu.sh" --check "$build"
# nvidia-smi lists a GPU, but Kiln's module finds no driver it can use: its reason is shown.
if [ -f "$build/src/cuda/libkiln-backend-cuda.so" ]; then
  check "module's reason" 1 "a CUDA device that Kiln's module answers with: CUDA:" -- env PATH="$tmp/one:$PATH" bash "$src/bench/gpu.sh" --check "$build"
else
  n=$((n + 1)); echo "ok $n module's reason # SKIP built without the CUDA module"
fi
# Everything there (the fake CUDA module of tests/engine/fake-cuda answers).
if [ -d "$build/tests/engine/fake-cuda" ] && [ -f "$build/src/cuda/libkiln-backend-cuda.so" ]; then
  check "all there" 0 "all prerequisites are here" -- env PATH="$tmp/one:$PATH" \
    KILN_BACKEND_DIR="$build/tests/engine/fake-cuda" bash "$src/bench/gpu.sh" --check "$build"
else
  n=$((n + 1)); echo "ok $n all there # SKIP built without the CUDA module"
fi
rm -rf "$nosmi"
echo "1..$n"
[ "$fails" -eq 0 ]
