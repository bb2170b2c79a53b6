#!/bin/sh
# Valgrind memcheck over the CLI pipeline (issue 18): import-idx → inspect →
# split → train 1 epoch → eval → classify → export-onnx, on a few hundred
# Fashion-MNIST images. Prints each step's memcheck error count and
# definite leaks; exits non-zero if any step has errors.
#
#   bench/valgrind.sh [IMAGES]      (default 300)
#
# oneDNN is held to AVX2 (valgrind has no AVX-512) and kiln-cli's re-exec
# for GOMP_SPINCOUNT is skipped by setting it (valgrind cannot follow an
# exec of /proc/self/exe).
set -u
cd "$(dirname "$0")/.."
n=${1:-300}
data=/usr/share/datasets/fashion-mnist
cli=$PWD/_build/src/cli/kiln-cli
meson compile -C _build src/cli/kiln-cli >/dev/null || exit 1
[ -d "$data" ] || { echo "bench/valgrind.sh needs dataset-fashion-mnist ($data)" >&2; exit 1; }
work=$(mktemp -d /tmp/kiln-valgrind-XXXXXX)
p=$work/project
export G_SLICE=always-malloc GOMP_SPINCOUNT=20000 ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2
status=0
printf '%-12s %8s %11s %8s %s\n' step errors Kiln-frame leaks seconds
step () {
  name=$1; shift
  log=$work/$name.valgrind
  start=$(date +%s)
  valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
    --log-file="$log" "$cli" "$@" >"$work/$name.out" 2>&1
  rc=$?
  errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -1)
  leaks=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -1)
  # Error blocks run from their header ("Invalid read …") to a blank line.
  kiln=$(awk '/^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|Source and|Argument)/ { in_err = 1; hit = 0; next }
              in_err && /^==[0-9]+== *$/ { n += hit; in_err = 0; next }
              in_err && /(kiln_|kiln-[a-z-]*\.c)/ { hit = 1 }
              END { print n + 0 }' "$log")
  printf '%-12s %8s %11s %8s %s\n' "$name" "${errors:-?}" "$kiln" "${leaks:-0}" "$(( $(date +%s) - start ))"
  if [ "$kiln" -ne 0 ] || [ "${leaks:-0}" != 0 ]; then status=1; echo "  $name: see $log and $work/$name.out"; fi
}
step import-idx import-idx -i $data/train-images-idx3-ubyte.gz -l $data/train-labels-idx1-ubyte.gz \
  -n fashion-mnist --limit "$n" --project "$p"
step inspect inspect --project "$p"
step split split --project "$p" --seed 1
step train train --project "$p" --preset lenet --epochs 1 --seed 1 --run-id vg
image=$(find "$p/images" -name '*.png' | head -1)
step eval eval "$p/runs/vg"
step classify classify "$p/runs/vg" "$image"
step export-onnx export-onnx "$p/runs/vg" --out "$work/vg.onnx"
echo "logs: $work"
exit $status
