#!/bin/bash
# Every GPU figure in one run, on a machine with an NVIDIA GPU, from what was
# built elsewhere and carried over in the build folder (this builds nothing):
#   1. the gpu test suite (meson test --no-rebuild --suite gpu, or its test
#      binaries directly when meson is absent);
#   2. compute-sanitizer --tool memcheck on those binaries, when present;
#   3. AlexNet 227x227 training and inference at batch 256 with
#      kiln-bench-net --device cuda, in fp32, TF32 and bf16 (bf16 is skipped,
#      saying so, when the backend does not run it);
#   4. PyTorch on the same GPU, net, batch and precision when
#      `import torch; torch.cuda.is_available()` works, and the ratios.
# It prints the GPU, driver, CUDA and cuDNN versions first. Every step has a
# time limit (the whole stays under 8 minutes); a missing prerequisite is a
# one-line message and exit status 1, never a hang.
#
# Usage: bash bench/gpu.sh [--check] [BUILD_DIR]   (default _build)
#   --check  only checks the prerequisites (build, CUDA module, GPU, driver)
# Environment: BATCH (256), TRAIN_STEPS (10), INFER_STEPS (20), SMI_TIMEOUT
# (15 s for each nvidia-smi call).
set -u

mode=run
build=
for arg in "$@"; do
  case "$arg" in
    --check) mode=check ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "gpu.sh: unknown option $arg (use --check or --help)" >&2; exit 2 ;;
    *) build=$arg ;;
  esac
done
here=$(cd "$(dirname "$0")" && pwd)
build=${build:-$here/../_build}
batch=${BATCH:-256}
train_steps=${TRAIN_STEPS:-10}
infer_steps=${INFER_STEPS:-20}
start=$SECONDS
budget=450      # seconds for everything, prerequisites included; later steps are cut to fit
smi_timeout=${SMI_TIMEOUT:-15}

cli=$build/src/cli/kiln-cli
bench=$build/bench/kiln-bench-net
module=$build/src/cuda/libkiln-backend-cuda.so
# A test may point at a stand-in module; otherwise the one built here.
export KILN_BACKEND_DIR=${KILN_BACKEND_DIR:-$build/src/cuda}

problems=0
say () { echo "gpu.sh: $*"; }
need () {   # need CONDITION-COMMAND MESSAGE
  if eval "$1"; then
    [ "$mode" = check ] && say "ok: $2"
  else
    say "missing: $2" >&2
    problems=$((problems + 1))
  fi
}

# ---- prerequisites: nothing here builds or installs anything ----
need '[ -x "$cli" ] && [ -x "$bench" ]' "kiln-cli and kiln-bench-net in $build (build them where the sources are: meson compile -C _build)"
need '[ -f "$module" ]' "the CUDA module $module (configure with meson setup -Dcuda=enabled where nvcc, cuBLAS and cuDNN are)"
if command -v nvidia-smi > /dev/null 2>&1; then
  gpus=$(timeout "$smi_timeout" nvidia-smi -L 2>&1)
  smi_rc=$?
  [ $smi_rc -eq 124 ] && gpus="nothing within $smi_timeout s: the driver hangs"
  need '[ $smi_rc -eq 0 ] && echo "$gpus" | grep -q "^GPU "' "an NVIDIA GPU that nvidia-smi lists (it said: $(echo "$gpus" | head -n 1))"
else
  need false "an NVIDIA GPU: nvidia-smi is not installed, so no NVIDIA driver is either"
fi
if [ "$problems" -eq 0 ]; then
  devices=$(timeout 30 "$cli" devices --json 2>&1)
  n=$(echo "$devices" | sed -n 's/.*"cuda_devices" : \([0-9]*\).*/\1/p')
  status_line=$(echo "$devices" | sed -n 's/.*"cuda_status" : "\(.*\)".*/\1/p' | sed 's/\\n.*//' | head -n 1)
  need '[ "${n:-0}" -gt 0 ]' "a CUDA device that Kiln's module answers with: $status_line"
fi
if [ "$problems" -gt 0 ]; then
  say "$problems prerequisite(s) missing; nothing was run" >&2
  exit 1
fi
if [ "$mode" = check ]; then
  say "all prerequisites are here"
  exit 0
fi

# ---- what this machine is ----
echo "== GPU"
timeout "$smi_timeout" nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "CUDA (driver's): $(timeout "$smi_timeout" nvidia-smi | sed -n 's/.*CUDA Version: \([0-9.]*\).*/\1/p' | head -n 1)"
echo "Kiln's CUDA module (device, cuDNN): $(echo "$devices" | sed -n 's/.*"cuda_status" : "\(.*\)".*/\1/p' | sed 's/\\n/; /g')"
echo "$devices" | sed -n 's/.*"reason" : "\(.*\)".*/auto: \1/p'

left () { echo $((budget - (SECONDS - start))); }
# A step's time limit: its own, or what is left of the budget if less.
cap () { local l; l=$(left); [ "$l" -lt "$1" ] && echo $((l > 1 ? l : 1)) || echo "$1"; }
status=0

# ---- 1. the gpu suite ----
echo "== gpu test suite"
# Without meson, the same programs directly: the CUDA module's own test,
# and the CUDA cases of the backend-parameterised engine and trainer tests.
direct=("test-gpu-cuda" "test-engine-backends -p /engine/backends/cuda" "test-trainer -p /trainer/resume-on/cuda")
export KILN_FAKE_BACKEND_DIR=$build/tests GSETTINGS_BACKEND=memory GSETTINGS_SCHEMA_DIR=$build/data
if command -v meson > /dev/null 2>&1; then
  timeout "$(cap 240)" meson test -C "$build" --no-rebuild --suite gpu --print-errorlogs || { status=1; say "the gpu suite failed"; }
else
  for t in "${direct[@]}"; do
    timeout "$(cap 180)" "$build/tests/"$t || { status=1; say "$t failed"; }
  done
fi

# ---- 2. memcheck ----
echo "== compute-sanitizer memcheck"
checked=("test-gpu-cuda" "test-engine-backends -p /engine/backends/cuda/ops")
if ! command -v compute-sanitizer > /dev/null 2>&1; then
  say "compute-sanitizer is not installed; memcheck skipped"
elif [ "$(left)" -lt 200 ]; then
  say "memcheck skipped: $(left) s left of the budget"
else
  for t in "${checked[@]}"; do
    log=$build/memcheck-${t%% *}.log
    timeout "$(cap 180)" compute-sanitizer --tool memcheck --error-exitcode 9 "$build/tests/"$t > "$log" 2>&1
    rc=$?
    tail -n 2 "$log"
    [ $rc -eq 0 ] || { status=1; say "memcheck on $t: exit $rc (log: $log)"; }
  done
fi

# ---- 3 and 4. AlexNet, Kiln and PyTorch ----
get () { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
torch=no
if timeout "$(cap 60)" python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' > /dev/null 2>&1; then
  torch=yes
else
  say "PyTorch with CUDA is not importable here; the peer is skipped"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for precision in fp32 tf32 bf16; do
  echo "== AlexNet batch $batch, $precision"
  if [ "$(left)" -lt 30 ]; then
    say "skipped: the time budget is spent"
    continue
  fi
  timeout "$(cap 120)" "$bench" --device cuda --precision "$precision" "$batch" "$train_steps" "$infer_steps" > "$tmp/kiln" 2> "$tmp/kiln.err"
  rc=$?
  if [ $rc -eq 3 ]; then
    head -n 1 "$tmp/kiln"
    continue
  elif [ $rc -ne 0 ]; then
    status=1
    say "kiln-bench-net $precision failed (exit $rc): $(tail -n 1 "$tmp/kiln.err")"
    continue
  fi
  kt=$(get "$tmp/kiln" train_images_per_s)
  ki=$(get "$tmp/kiln" infer_images_per_s)
  echo "kiln  train $kt images/s, inference $ki images/s ($(sed -n "s/^backend //p" "$tmp/kiln"))"
  if [ "$torch" = yes ]; then
    if timeout "$(cap 120)" python3 "$here/gpu-alexnet-torch.py" "$batch" "$train_steps" "$infer_steps" "$precision" > "$tmp/torch" 2> "$tmp/torch.err"; then
      tt=$(get "$tmp/torch" train_images_per_s)
      ti=$(get "$tmp/torch" infer_images_per_s)
      echo "torch train $tt images/s, inference $ti images/s (PyTorch $(get "$tmp/torch" torch_version))"
      echo "ratio kiln/torch: train $(awk -v a="$kt" -v b="$tt" 'BEGIN { printf "%.2f", a / b }')x, inference $(awk -v a="$ki" -v b="$ti" 'BEGIN { printf "%.2f", a / b }')x"
    else
      say "PyTorch $precision failed: $(tail -n 1 "$tmp/torch.err")"
    fi
  fi
done
echo "== done in $((SECONDS - start)) s"
exit $status
