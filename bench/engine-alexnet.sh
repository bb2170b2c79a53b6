#!/bin/sh
# Kiln's engine and PyTorch side by side on AlexNet 227x227 (Chainer alex.py),
# in one run on this machine: training and inference images/s and their
# ratios, Kiln's achieved GFLOP/s against a measured sgemm peak.
#
# Usage: bench/engine-alexnet.sh [BUILD_DIR] (default _build)
# Environment: BATCH (32), THREADS (2), TRAIN_STEPS (5), INFER_STEPS (10).
# Installs nothing: without Debian's python3-torch the peer is skipped and
# only Kiln's numbers are printed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../_build}
batch=${BATCH:-32}
threads=${THREADS:-2}
train_steps=${TRAIN_STEPS:-5}
infer_steps=${INFER_STEPS:-10}
bench=$build/bench/kiln-bench-alexnet

if [ ! -x "$bench" ]; then
  echo "engine-alexnet: $bench is missing; build first (ninja -C $build)" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "AlexNet 227x227, batch $batch, $threads threads, $train_steps training / $infer_steps inference steps"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

KILN_NUM_THREADS=$threads OMP_NUM_THREADS=$threads "$bench" "$batch" "$train_steps" "$infer_steps" > "$tmp/kiln"
peer=yes
if ! OMP_NUM_THREADS=$threads /usr/bin/python3 "$here/engine-alexnet-torch.py" \
       "$batch" "$train_steps" "$infer_steps" "$threads" > "$tmp/torch" 2> "$tmp/torch.err"; then
  peer=no
  echo "PyTorch peer skipped: $(cat "$tmp/torch.err" | tail -n 1)"
fi

get () { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

kt=$(get "$tmp/kiln" train_images_per_s)
ki=$(get "$tmp/kiln" infer_images_per_s)
echo "kiln  train $kt images/s, inference $ki images/s"
echo "kiln  train step: forward $(get "$tmp/kiln" train_forward_s) s, backward $(get "$tmp/kiln" train_backward_s) s, update $(get "$tmp/kiln" train_update_s) s"
echo "kiln  $(get "$tmp/kiln" train_gflops) GFLOP/s training, $(get "$tmp/kiln" infer_gflops) GFLOP/s inference; sgemm peak $(get "$tmp/kiln" sgemm_peak_gflops) GFLOP/s"
if [ "$peer" = yes ]; then
  tt=$(get "$tmp/torch" train_images_per_s)
  ti=$(get "$tmp/torch" infer_images_per_s)
  echo "torch $(get "$tmp/torch" torch_version): train $tt images/s, inference $ti images/s"
  awk -v kt="$kt" -v ki="$ki" -v tt="$tt" -v ti="$ti" 'BEGIN {
    printf "ratio kiln/torch: train %.2fx (target 1.25x), inference %.2fx (target 1.2x)\n", kt / tt, ki / ti
  }'
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
