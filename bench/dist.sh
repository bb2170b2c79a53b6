#!/bin/sh
# Data-parallel training over MPI on this machine: the Fashion-MNIST net
# (bench/fashion-cnn.json) for one epoch as one plain process, then under
# mpirun -np 1, 2 and 4 with --distributed, all in one run. The global
# batch is the same everywhere (BATCH, split evenly over the ranks) and the
# machine's THREADS cores are shared out: each rank gets THREADS / N
# OpenMP threads (at least 1, so 4 ranks on 2 cores are oversubscribed).
# Prints training images/s (the loop only, from metrics.csv), the ratio to
# the plain process, and rank 0's gradient all-reduce time per step (waits
# for slower ranks included, from the run's "distributed" event) against
# the step time.
#
# Usage: bench/dist.sh [BUILD_DIR] (default _build)
# Environment: N (4000 training images), BATCH (64), THREADS (2),
# RANKS ("1 2 4"), DATASET (/usr/share/datasets/fashion-mnist).
# Installs nothing: needs mpirun (Debian: openmpi-bin) and a Kiln built
# with MPI (libopenmpi-dev at build time).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../_build}
n=${N:-4000}
batch=${BATCH:-64}
threads=${THREADS:-2}
ranks=${RANKS:-1 2 4}
dataset=${DATASET:-/usr/share/datasets/fashion-mnist}
cli=$build/src/cli/kiln-cli
spec=$here/fashion-cnn.json

if [ ! -x "$cli" ]; then
  echo "dist: $cli is missing; build first (ninja -C $build)" >&2
  exit 1
fi
if ! command -v mpirun > /dev/null; then
  echo "dist: mpirun is missing (apt-get install openmpi-bin); nothing measured" >&2
  exit 1
fi
if [ ! -f "$dataset/train-images-idx3-ubyte.gz" ]; then
  echo "dist: no Fashion-MNIST in $dataset (apt-get install dataset-fashion-mnist)" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
proj=$tmp/project

isa=$(grep -o -w -E 'avx512f|avx2|avx' /proc/cpuinfo | sort -u | tr '\n' ' ')
echo "Fashion-MNIST 2 conv + pooling, $n training images, global batch $batch, one epoch per run, $threads cores shared by the ranks"
echo "machine: $(nproc) processors, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), ISA: $isa"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

"$cli" import-idx -i "$dataset/train-images-idx3-ubyte.gz" -l "$dataset/train-labels-idx1-ubyte.gz" \
  -n fashion-mnist --prefix train- --limit "$n" "$proj/images" > /dev/null

# train ID RANKS: RANKS 0 is the plain process (no mpirun).
train () {
  id=$1 np=$2
  per=$((threads / (np > 0 ? np : 1)))
  [ "$per" -ge 1 ] || per=1
  # The first run makes the split (no validation); the others reuse it.
  [ "$np" -eq 0 ] && vf="--val-fraction 0" || vf=""
  set -- "$cli" train --spec "$spec" --project "$proj" $vf --epochs 1 --batch "$batch" \
    --lr 0.01 --momentum 0.9 --weight-decay 5e-4 --schedule fixed --no-mirror --seed 1 --run-id "$id" \
    --backend cpu --json
  if [ "$np" -gt 0 ]; then
    set -- mpirun --oversubscribe --allow-run-as-root -np "$np" -x KILN_NUM_THREADS="$per" \
      -x OMP_NUM_THREADS="$per" "$@" --distributed
  fi
  KILN_NUM_THREADS=$per OMP_NUM_THREADS=$per "$@" > "$tmp/$id.json"
}
rate () {
  awk -F, -v b="$batch" '$3 == "train" { rows++; t = $9 } END { printf "%.1f\n", rows * b / t }' \
    "$proj/runs/$1/metrics.csv"
}
step_s () {
  awk -F, '$3 == "train" { rows++; t = $9 } END { printf "%.4f\n", t / rows }' "$proj/runs/$1/metrics.csv"
}
reduce_s () {
  sed -n 's/.*"type":"distributed".*"steps":\([0-9]*\).*"allreduce_seconds":\([0-9.e+-]*\).*/\2 \1/p' \
    "$proj/runs/$1/events.jsonl" | awk '{ if ($2 > 0) printf "%.4f\n", $1 / $2 }'
}

train plain 0
base=$(rate plain)
echo "plain process: $base images/s, $(step_s plain) s/step ($threads threads)"
for np in $ranks; do
  train "np$np" "$np"
  r=$(rate "np$np")
  s=$(step_s "np$np")
  a=$(reduce_s "np$np")
  note=""
  [ "$np" -gt "$threads" ] && note=" (oversubscribed: $np ranks on $threads cores)"
  echo "mpirun -np $np: $r images/s = $(awk -v a="$r" -v b="$base" 'BEGIN { printf "%.2f", a / b }')x the plain process; step $s s, all-reduce $a s/step = $(awk -v a="$a" -v s="$s" 'BEGIN { printf "%.0f", 100 * a / s }')% of the step$note"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
