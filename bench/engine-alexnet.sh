#!/bin/sh
# Kiln's engine and PyTorch side by side on AlexNet 227x227 (Chainer alex.py),
# in one run on this machine: training and inference images/s and their
# ratios, Kiln's achieved GFLOP/s against a measured sgemm peak.
#
# Usage: bench/engine-alexnet.sh [BUILD_DIR] (default _build)
# Environment: BATCH (32), THREADS (2), TRAIN_STEPS (5), INFER_STEPS (10),
# ROUNDS (3): Kiln and PyTorch alternate ROUNDS times; each round's ratio
# compares runs made back to back, and the median round ratio is the result,
# so a burst of load on a shared machine favours neither side.
# Installs nothing: without Debian's python3-torch the peer is skipped and
# only Kiln's numbers are printed.
# Inference is also compared with onnxruntime on the ONNX model Kiln's
# network exports (bench/engine-ort.py, each round), when ORT_PYTHON (default
# /tmp/ort/bin/python3, from `python3 -m venv /tmp/ort && /tmp/ort/bin/pip
# install onnxruntime numpy`) can import onnxruntime and numpy; else skipped.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../_build}
batch=${BATCH:-32}
threads=${THREADS:-2}
train_steps=${TRAIN_STEPS:-5}
infer_steps=${INFER_STEPS:-10}
rounds=${ROUNDS:-3}
bench=$build/bench/kiln-bench-net

if [ ! -x "$bench" ]; then
  echo "engine-alexnet: $bench is missing; build first (ninja -C $build)" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "AlexNet 227x227, batch $batch, $threads threads, $train_steps training / $infer_steps inference steps"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

ort_python=${ORT_PYTHON:-/tmp/ort/bin/python3}
ort=no
if [ -x "$ort_python" ] && "$ort_python" -c 'import onnxruntime, numpy' 2> /dev/null; then
  ort=yes
else
  echo "onnxruntime peer skipped: $ort_python cannot import onnxruntime and numpy (see the header); nothing is installed"
fi

run_kiln () {
  # Round 1 also exports the net it trained, for onnxruntime.
  onnx=
  if [ "$1" = 1 ] && [ "$ort" = yes ]; then onnx=$tmp/alexnet.onnx; fi
  KILN_BENCH_ONNX=$onnx KILN_NUM_THREADS=$threads OMP_NUM_THREADS=$threads \
    "$bench" "$batch" "$train_steps" "$infer_steps" > "$tmp/kiln.$1"
}
run_ort () {
  if [ "$ort" = yes ] && ! OMP_NUM_THREADS=$threads "$ort_python" "$here/engine-ort.py" "$tmp/alexnet.onnx" \
         "$batch" "$infer_steps" "$threads" > "$tmp/ort.$1" 2> "$tmp/ort.err"; then
    ort=no
    echo "onnxruntime peer skipped: $(tail -n 1 "$tmp/ort.err")"
  fi
}
run_torch () {
  if [ "$peer" = yes ] && ! OMP_NUM_THREADS=$threads /usr/bin/python3 "$here/engine-alexnet-torch.py" \
         "$batch" "$train_steps" "$infer_steps" "$threads" > "$tmp/torch.$1" 2> "$tmp/torch.err"; then
    peer=no
    echo "PyTorch peer skipped: $(tail -n 1 "$tmp/torch.err")"
  fi
}

# Alternate who goes first, so neither side always inherits the other's heat.
peer=yes
r=1
while [ "$r" -le "$rounds" ]; do
  if [ $((r % 2)) -eq 1 ]; then run_kiln "$r"; run_torch "$r"; run_ort "$r"
  else run_torch "$r"; run_ort "$r"; run_kiln "$r"; fi
  r=$((r + 1))
done

get () { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
median () { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

r=1
while [ "$r" -le "$rounds" ]; do
  k=$tmp/kiln.$r
  line="round $r: kiln train $(get "$k" train_images_per_s) infer $(get "$k" infer_images_per_s) images/s"
  line="$line (forward $(get "$k" train_forward_s) s, backward $(get "$k" train_backward_s) s, update $(get "$k" train_update_s) s per step;"
  line="$line $(get "$k" train_gflops) / $(get "$k" infer_gflops) GFLOP/s, sgemm peak $(get "$k" sgemm_peak_gflops);"
  line="$line reorders per step: train $(get "$k" train_reorders_per_step), inference $(get "$k" infer_reorders_per_step))"
  echo "$line"
  if [ "$peer" = yes ]; then
    t=$tmp/torch.$r
    echo "round $r: torch train $(get "$t" train_images_per_s) infer $(get "$t" infer_images_per_s) images/s"
    awk -v a="$(get "$k" train_images_per_s)" -v b="$(get "$t" train_images_per_s)" 'BEGIN { print a / b }' >> "$tmp/train_ratio"
    awk -v a="$(get "$k" infer_images_per_s)" -v b="$(get "$t" infer_images_per_s)" 'BEGIN { print a / b }' >> "$tmp/infer_ratio"
  fi
  if [ "$ort" = yes ]; then
    o=$tmp/ort.$r
    echo "round $r: onnxruntime infer $(get "$o" infer_images_per_s) images/s (the same exported model)"
    awk -v a="$(get "$k" infer_images_per_s)" -v b="$(get "$o" infer_images_per_s)" 'BEGIN { print a / b }' >> "$tmp/ort_ratio"
  fi
  r=$((r + 1))
done

# Figures differ by instruction set: say which one oneDNN's kernels used
# (ONEDNN_MAX_CPU_ISA=AVX2 measures AVX2 on a newer machine).
echo "kiln  isa $(get "$tmp/kiln.1" isa), oneDNN $(get "$tmp/kiln.1" onednn), cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for m in train_images_per_s infer_images_per_s train_gflops infer_gflops sgemm_peak_gflops; do
  echo "kiln  median $m $(for f in "$tmp"/kiln.*; do get "$f" $m; done | median)"
done
if [ "$peer" = yes ]; then
  echo "torch $(get "$tmp/torch.1" torch_version) median train_images_per_s $(for f in "$tmp"/torch.*; do get "$f" train_images_per_s; done | median)"
  echo "torch $(get "$tmp/torch.1" torch_version) median infer_images_per_s $(for f in "$tmp"/torch.*; do get "$f" infer_images_per_s; done | median)"
  echo "ratio kiln/torch (median of the rounds): train $(median < "$tmp/train_ratio")x (target 3x), inference $(median < "$tmp/infer_ratio")x (target 4x)"
fi
if [ "$ort" = yes ]; then
  echo "onnxruntime $(get "$tmp/ort.1" ort_version) median infer_images_per_s $(for f in "$tmp"/ort.*; do get "$f" infer_images_per_s; done | median)"
  echo "ratio kiln/onnxruntime inference (median of the rounds): $(median < "$tmp/ort_ratio")x (target 1.3x)"
fi
kiln=$tmp/kiln.1
echo "kiln  per layer in round 1 (forward s, backward s; summed over every forward and step):"
awk '$1 == "layer" { printf "        %-8s %7s %7s\n", $2, $3, $4 }' "$kiln"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
