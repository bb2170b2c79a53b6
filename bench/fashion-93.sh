#!/bin/sh
# Time to 93% on Fashion-MNIST: Kiln's demo recipe against the same recipe in
# PyTorch 1.13, one after the other in one run on this machine.
#   1. Kiln: `kiln-cli demo` itself (the core's demo recipe,
#      kiln_run_recipe_init_demo() in src/core/training/kiln-run-recipe.c,
#      which the window's New Run wizard also starts the demo from) on all
#      60,000 training images,
#      keeping every epoch's checkpoint; each is then scored on the 10,000
#      test images, which the demo's split never trains on.
#   2. PyTorch: bench/fashion-93-torch.py reads Kiln's run folder (net,
#      images, augmentation, optimizer, schedule) and trains the same; test
#      accuracy after each epoch; stopped after the first epoch that ends
#      past 3x Kiln's time to TARGET.
# Times are training loops only (Kiln: metrics.csv's elapsed time at the end
# of each epoch, per-epoch checkpoints included; PyTorch: the loop without
# evaluation). Prints the time to TARGET of both and their ratio.
#
# Usage: bench/fashion-93.sh [BUILD_DIR] (default _build)
# Environment: THREADS (2), TARGET (0.93), EPOCHS (the demo's default),
# DATASET (/usr/share/datasets/fashion-mnist), DEMO_DIR (a demo project to
# reuse, default a new one in a temporary folder: importing and registering
# 70,000 images takes minutes), SKIP ("torch"), TORCH_BLAS_DIR (as in
# bench/fashion-train.sh: a folder with OpenBLAS's libblas.so.3 for the
# peer). ONEDNN_MAX_CPU_ISA (e.g. AVX2) applies to both sides: both run
# oneDNN. PEER_MAX_S caps the peer's time below 3x Kiln's (a loaded machine
# stretches both; the peer then shows its best within that cap). Installs
# nothing; without python3-torch only Kiln runs.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../_build}
threads=${THREADS:-2}
target=${TARGET:-0.93}
dataset=${DATASET:-/usr/share/datasets/fashion-mnist}
cli=$build/src/cli/kiln-cli

if [ ! -x "$cli" ]; then
  echo "fashion-93: $cli is missing; build first (meson compile -C $build)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
demo=${DEMO_DIR:-$tmp/demo}

peer=yes
case " ${SKIP:-} " in *" torch "*) peer=no ;; esac
if [ "$peer" = yes ] && ! /usr/bin/python3 -c 'import torch' 2> /dev/null; then
  peer=no
  echo "PyTorch peer skipped: /usr/bin/python3 cannot import torch (apt-get install python3-torch); nothing is installed"
fi

isa=$(KILN_NUM_THREADS=1 "$build/bench/kiln-bench-net" 1 1 0 "$here/fashion-cnn.json" 2> /dev/null | awk '$1 == "isa" || $1 == "onednn" { printf "%s %s ", $1, $2 }')
echo "Fashion-MNIST, kiln-cli demo's recipe, $threads threads, target $target; $isa(ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA:-unset})"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); PyTorch's BLAS: ${TORCH_BLAS_DIR:-the system libblas.so.3}"

start=$(date +%s)
# CPU seconds too: on a machine shared past its cores, wall time says more
# about the others than about Kiln. User + sys over the thread count is
# what the whole command (sync, decoding, training, final test) would take
# on idle cores kept busy all the time: an estimate, not a bound (serial
# parts make the real time longer, spin-waiting counted here shorter).
/usr/bin/time -f "%U %S" -o "$tmp/kiln.time" env KILN_NUM_THREADS=$threads OMP_NUM_THREADS=$threads \
  "$cli" demo --dir "$demo" --dataset "$dataset" --keep 1000 ${EPOCHS:+--epochs "$EPOCHS"} --json > "$tmp/demo.json"
echo "kiln: kiln-cli demo took $(($(date +%s) - start)) s in all (import, registering, decoding, training, testing); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "kiln: its CPU time $(awk '{ printf "%.0f", $1 + $2 }' "$tmp/kiln.time") s (user + sys), $(awk -v t="$threads" '{ printf "%.0f", ($1 + $2) / t }' "$tmp/kiln.time") s per thread"
run=$(sed -n 's/^ *"run" *: *"\(.*\)",*$/\1/p' "$tmp/demo.json" | head -n 1)

# Loop seconds at the end of each epoch.
awk -F, '$3 == "train" { t[$2] = $9 } END { for (e in t) print e, t[e] }' "$run/metrics.csv" | sort -n > "$tmp/kiln.epoch_s"
e=0
for ck in "$run/checkpoints"/iter-*.safetensors; do
  top1=$("$cli" eval "$run" --subset test --checkpoint "$ck" --json \
         | awk -F': ' '/"top1"/ { sub(/,$/, "", $2); printf "%.4f", $2; exit }')
  at=$(awk -v e="$e" '$1 == e { print $2 }' "$tmp/kiln.epoch_s")
  echo "kiln: epoch $e test_accuracy $top1 loop_s $at"
  if [ -z "${kiln_s:-}" ] && awk -v a="$top1" -v t="$target" 'BEGIN { exit !(a >= t) }'; then
    kiln_s=$at
    kiln_hit="epoch $e, $at s"
  fi
  e=$((e + 1))
done
kiln_loop=$(tail -n 1 "$tmp/kiln.epoch_s" | cut -d' ' -f2)
echo "kiln: $e epochs, loop $kiln_loop s; first reached $target at ${kiln_hit:-no epoch}"

if [ "$peer" = yes ]; then
  limit=$(awk -v k="${kiln_s:-$kiln_loop}" -v m="${PEER_MAX_S:-0}" 'BEGIN { l = 3 * k; print (m > 0 && m < l) ? m : l }')
  LD_LIBRARY_PATH=${TORCH_BLAS_DIR:+$TORCH_BLAS_DIR:}${LD_LIBRARY_PATH:-} OPENBLAS_NUM_THREADS=$threads \
  OMP_NUM_THREADS=$threads /usr/bin/python3 "$here/fashion-93-torch.py" "$run" "$dataset" "$threads" "$limit" \
    > "$tmp/torch.out" 2> "$tmp/torch.err" || { echo "PyTorch run failed: $(tail -n 1 "$tmp/torch.err")" >&2; exit 1; }
  awk '$1 == "epoch" { print "torch: epoch " $2 " test_accuracy " $10 " loop_s " $6 " loop_cpu_s " $12 }' "$tmp/torch.out"
  torch_s=$(awk -v t="$target" '$1 == "epoch" && $10 >= t { print $6; exit }' "$tmp/torch.out")
  best=$(awk '$1 == "epoch" && $10 > b { b = $10; at = $6 } END { print b " at " at " s" }' "$tmp/torch.out")
  echo "torch: $(awk '$1 == "torch_version" { print $2 }' "$tmp/torch.out"), $(awk '$1 == "images_per_s" { print $2 }' "$tmp/torch.out") images/s; best $best (stopped past $limit s: 3x kiln's, or PEER_MAX_S)"
  if [ -n "${kiln_s:-}" ] && [ -n "$torch_s" ]; then
    echo "time to $target: kiln $kiln_s s, torch $torch_s s; kiln/torch $(awk -v a="$kiln_s" -v b="$torch_s" 'BEGIN { printf "%.2f", a / b }')x"
  elif [ -n "${kiln_s:-}" ]; then
    echo "time to $target: kiln $kiln_s s; torch did not reach it within $limit s, so kiln/torch < $(awk -v a="$kiln_s" -v b="$limit" 'BEGIN { printf "%.2f", a / b }')x"
  else
    echo "time to $target: kiln did not reach it; torch ${torch_s:+reached it at $torch_s s}${torch_s:-did not either}"
  fi
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
