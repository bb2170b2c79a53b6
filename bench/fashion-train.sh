#!/bin/sh
# Kiln and PyTorch 1.13 side by side training the Fashion-MNIST README's
# "2 conv + pooling" net (bench/fashion-cnn.json; the same net in
# bench/fashion-train-torch.py), in one run on this machine:
#   1. speed: one epoch each, Kiln and PyTorch alternating ROUNDS times,
#      training images/s (loop only) and the median round ratio;
#   2. accuracy per epoch: ACC_EPOCHS epochs each, test accuracy after every
#      epoch (Kiln: kiln-cli eval of each epoch's checkpoint on the test
#      images), so epochs-to-accuracy can be compared;
#   3. fine-tuning: conv layers frozen, FT_EPOCHS epochs; Kiln caches the
#      frozen outputs once (--freeze-up-to pool2), PyTorch runs its plain
#      loop (full forward every epoch, requires_grad False on the convs).
# Same batch, optimizer (SGD momentum 0.9, fixed LR, weight decay 5e-4),
# He-normal init, (pixel - mean) / 255 input, no augmentation on both sides.
# Kiln trains on the first N training images (kiln-cli import-idx into a
# project, --val-fraction 0) and is tested on the first TEST_N test images,
# the very images PyTorch uses.
#
# Usage: bench/fashion-train.sh [BUILD_DIR] (default _build)
# Environment: N (4000), TEST_N (1000), BATCH (64), LR (0.01), THREADS (2),
# ROUNDS (2), ACC_EPOCHS (4), TARGET (0.92: the accuracy whose first epoch
# is reported), FT_EPOCHS (3), DATASET (/usr/share/datasets/fashion-mnist),
# SKIP (space-separated: speed acc ft torch). N=60000 TEST_N=10000
# SKIP="speed ft torch" is Kiln's full time-to-accuracy run.
# OMP_WAIT_POLICY, when set, applies to both sides (both use libgomp; on a
# machine busier than its cores, passive is several times faster).
# TORCH_BLAS_DIR, when set, is put first on PyTorch's LD_LIBRARY_PATH (with
# OPENBLAS_NUM_THREADS=THREADS): Debian's python3-torch calls libblas.so.3
# for its fully connected layers, the reference BLAS unless an optimized one
# is installed; a folder holding OpenBLAS's libblas.so.3 gives the peer a
# fast BLAS without changing the system (see RESULTS.md).
# Installs nothing: without Debian's python3-torch the peer is skipped and
# only Kiln's numbers are printed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../_build}
n=${N:-4000}
test_n=${TEST_N:-1000}
batch=${BATCH:-64}
lr=${LR:-0.01}
threads=${THREADS:-2}
rounds=${ROUNDS:-2}
acc_epochs=${ACC_EPOCHS:-4}
target=${TARGET:-0.92}
ft_epochs=${FT_EPOCHS:-3}
dataset=${DATASET:-/usr/share/datasets/fashion-mnist}
skip=${SKIP:-}
cli=$build/src/cli/kiln-cli
spec=$here/fashion-cnn.json
torch_py=$here/fashion-train-torch.py

if [ ! -x "$cli" ]; then
  echo "fashion-train: $cli is missing; build first (ninja -C $build)" >&2
  exit 1
fi
if [ ! -f "$dataset/train-images-idx3-ubyte.gz" ]; then
  echo "fashion-train: no Fashion-MNIST in $dataset (apt-get install dataset-fashion-mnist)" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
proj=$tmp/project

peer=yes
case " ${SKIP:-} " in *" torch "*) peer=no ;; esac
if [ "$peer" = yes ] && ! /usr/bin/python3 -c 'import torch' 2> /dev/null; then
  peer=no
  echo "PyTorch peer skipped: /usr/bin/python3 cannot import torch (apt-get install python3-torch); nothing is installed"
fi

echo "Fashion-MNIST 2 conv + pooling, $n training / $test_n test images, batch $batch, SGD momentum 0.9 lr $lr, $threads threads"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-(libgomp default)} for both; PyTorch's BLAS: ${TORCH_BLAS_DIR:-the system libblas.so.3}"

"$cli" import-idx -i "$dataset/train-images-idx3-ubyte.gz" -l "$dataset/train-labels-idx1-ubyte.gz" \
  -n fashion-mnist --prefix train- --limit "$n" "$proj/images" > /dev/null
"$cli" import-idx -i "$dataset/t10k-images-idx3-ubyte.gz" -l "$dataset/t10k-labels-idx1-ubyte.gz" \
  -n fashion-mnist --prefix test- --limit "$test_n" "$tmp/test" > /dev/null

# kiln_train RUN-ID EPOCHS [OPTION…]: a run in $proj/runs/RUN-ID.
kiln_train () {
  id=$1 epochs=$2
  shift 2
  KILN_NUM_THREADS=$threads OMP_NUM_THREADS=$threads "$cli" train --spec "$spec" --project "$proj" \
    --val-fraction 0 --epochs "$epochs" --batch "$batch" --lr "$lr" --momentum 0.9 --weight-decay 5e-4 \
    --schedule fixed --no-mirror --seed 1 --keep 100 --run-id "$id" --json "$@" > "$tmp/$id.json"
}
# Training images/s of a run: every train row is one batch; the last row's
# elapsed_seconds is the loop's time (from the first step, after setup).
kiln_rate () {
  awk -F, -v b="$batch" '$3 == "train" { rows++; t = $9 } END { printf "%.1f\n", rows * b / t }' \
    "$proj/runs/$1/metrics.csv"
}
kiln_loop_s () {
  awk -F, '$3 == "train" { t = $9 } END { printf "%.3f\n", t }' "$proj/runs/$1/metrics.csv"
}
# torch_run MODE EPOCHS OUT: output in $tmp/OUT.
torch_run () {
  LD_LIBRARY_PATH=${TORCH_BLAS_DIR:+$TORCH_BLAS_DIR:}${LD_LIBRARY_PATH:-} OPENBLAS_NUM_THREADS=$threads \
  OMP_NUM_THREADS=$threads /usr/bin/python3 "$torch_py" "$1" "$dataset" "$n" "$test_n" \
    "$2" "$batch" "$lr" "$threads" > "$tmp/$3" 2> "$tmp/torch.err" || {
    echo "PyTorch run failed: $(tail -n 1 "$tmp/torch.err")" >&2
    return 1
  }
}
get () { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
median () { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
skipped () { case " $skip " in *" $1 "*) return 0 ;; esac; return 1; }

# 1. Speed: one epoch each, alternating who goes first.
if ! skipped speed; then
  r=1
  : > "$tmp/ratios"
  while [ "$r" -le "$rounds" ]; do
    if [ $((r % 2)) -eq 1 ]; then
      kiln_train "speed$r" 1
      [ "$peer" = yes ] && torch_run train 1 "torch.speed$r"
    else
      [ "$peer" = yes ] && torch_run train 1 "torch.speed$r"
      kiln_train "speed$r" 1
    fi
    k=$(kiln_rate "speed$r")
    echo "$k" >> "$tmp/kiln.rates"
    line="round $r: kiln $k images/s"
    if [ "$peer" = yes ]; then
      t=$(get "$tmp/torch.speed$r" images_per_s)
      echo "$t" >> "$tmp/torch.rates"
      awk -v a="$k" -v b="$t" 'BEGIN { print a / b }' >> "$tmp/ratios"
      line="$line, torch $t images/s, kiln/torch $(tail -n 1 "$tmp/ratios")x"
    fi
    echo "$line"
    r=$((r + 1))
  done
  k=$(median < "$tmp/kiln.rates")
  echo "speed: kiln median $k images/s = $(awk -v r="$k" 'BEGIN { printf "%.0f", 60000 / r }') s per 60k-image epoch"
  if [ "$peer" = yes ]; then
    t=$(median < "$tmp/torch.rates")
    echo "speed: torch $(get "$tmp/torch.speed1" torch_version) median $t images/s = $(awk -v r="$t" 'BEGIN { printf "%.0f", 60000 / r }') s per 60k-image epoch"
    ratio=$(median < "$tmp/ratios")
    echo "speed: ratio kiln/torch images/s (median of the rounds) ${ratio}x; kiln epoch time = $(awk -v r="$ratio" 'BEGIN { printf "%.2f", 1 / r }')x torch's (target <= 0.5x)"
  fi
fi

# 2. Test accuracy after each epoch.
if ! skipped acc; then
  kiln_train acc "$acc_epochs"
  while read -r index class; do
    for f in "$tmp/test/$class"/*; do echo "$class/${f##*/} $index"; done
  done < "$proj/runs/acc/labels.txt" > "$tmp/test.txt"
  # Loop seconds at the end of each epoch (checkpoints of earlier epochs included).
  awk -F, '$3 == "train" { t[$2] = $9 } END { for (e in t) print e, t[e] }' "$proj/runs/acc/metrics.csv" \
    | sort -n > "$tmp/kiln.epoch_s"
  e=0
  for ck in "$proj/runs/acc/checkpoints"/iter-*.safetensors; do
    top1=$("$cli" eval --labels "$tmp/test.txt" --root "$tmp/test" --checkpoint "$ck" --json "$proj/runs/acc" \
           | awk -F': ' '/"top1"/ { sub(/,$/, "", $2); printf "%.4f", $2; exit }')
    at=$(awk -v e="$e" '$1 == e { print $2 }' "$tmp/kiln.epoch_s")
    echo "accuracy: kiln epoch $e test_accuracy $top1 (loop $at s so far)"
    if [ -z "${kiln_hit:-}" ] && awk -v a="$top1" -v t="$target" 'BEGIN { exit !(a >= t) }'; then
      kiln_hit="epoch $e, $at s"
    fi
    e=$((e + 1))
  done
  echo "accuracy: kiln first reached $target test accuracy at ${kiln_hit:-no epoch of $acc_epochs}"
  echo "accuracy: kiln $acc_epochs epochs, loop $(kiln_loop_s acc) s (with per-epoch checkpoints), $(kiln_rate acc) images/s"
  if [ "$peer" = yes ]; then
    torch_run train "$acc_epochs" torch.acc
    grep '^epoch' "$tmp/torch.acc" | awk -v t="$target" '{ sum += $4; print "accuracy: torch epoch " $2 " test_accuracy " $10 " (loop " sum " s so far)"
      if (!hit && $10 >= t) hit = "epoch " $2 ", " sum " s" }
      END { print "accuracy: torch first reached " t " test accuracy at " (hit ? hit : "no epoch") }'
    echo "accuracy: torch $acc_epochs epochs, loop $(get "$tmp/torch.acc" train_s) s, $(get "$tmp/torch.acc" images_per_s) images/s"
  fi
fi

# 3. Fine-tuning the fully connected layers with the convolutions frozen.
if ! skipped ft; then
  weights=$(ls "$proj/runs"/*/checkpoints/iter-*.safetensors 2> /dev/null | tail -n 1)
  if [ -z "$weights" ]; then
    kiln_train pre 1
    weights=$(ls "$proj/runs/pre/checkpoints"/iter-*.safetensors | tail -n 1)
  fi
  start=$(date +%s.%N)
  kiln_train ft "$ft_epochs" --weights "$weights" --freeze-up-to pool2
  end=$(date +%s.%N)
  cache_s=$(sed -n 's/.*"type":"features-cached".*"seconds":\([0-9.e+-]*\).*/\1/p' "$proj/runs/ft/events.jsonl")
  loop_s=$(kiln_loop_s ft)
  kiln_ft=$(awk -v a="$cache_s" -v b="$loop_s" 'BEGIN { printf "%.3f", a + b }')
  echo "fine-tune: kiln $ft_epochs epochs: feature cache $cache_s s + loop $loop_s s = $kiln_ft s (whole command $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s)"
  if [ "$peer" = yes ]; then
    torch_run finetune "$ft_epochs" torch.ft
    torch_ft=$(get "$tmp/torch.ft" train_s)
    echo "fine-tune: torch $ft_epochs epochs: loop $torch_ft s"
    echo "fine-tune: speed-up kiln vs torch (cache + loop against loop) $(awk -v a="$torch_ft" -v b="$kiln_ft" 'BEGIN { printf "%.2f", a / b }')x"
  fi
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
