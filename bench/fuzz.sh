#!/bin/sh
# Runs every libFuzzer target longer than CI does and prints, per target,
# the executions, the edges covered (libFuzzer's "cov") and what it found.
#
#   bench/fuzz.sh [SECONDS_EACH] [TARGET…]      (default 300 s, all targets)
#
# Builds _build-fuzz with clang-14 if needed. Corpora grow in
# _build-fuzz/bench-corpus/<target>/ (seeded from the committed seeds, kept
# between runs); crashes, leaks and timeouts land in
# _build-fuzz/bench-findings/<target>/ and are counted as findings.
set -u
cd "$(dirname "$0")/.."
seconds=${1:-300}
[ $# -gt 0 ] && shift
all="fuzz-safetensors fuzz-onnx fuzz-caffe fuzz-netspec fuzz-url-list fuzz-image fuzz-labels
     fuzz-classes fuzz-idx fuzz-prototxt fuzz-api-template fuzz-file-name fuzz-http-response"
targets=${*:-$all}

command -v clang-14 >/dev/null || { echo "bench/fuzz.sh needs clang-14 (and libclang-rt-14-dev)" >&2; exit 1; }
[ -d _build-fuzz ] || CC=clang-14 meson setup _build-fuzz -Dcuda=disabled >/dev/null || exit 1
ninja -C _build-fuzz $(for t in $targets; do echo tests/fuzz/$t; done) >/dev/null || exit 1

# The committed seeds (and dictionary) of each target, as tests/fuzz/meson.build gives them.
seeds_of () {
  case $1 in
    fuzz-safetensors) echo tests/fixtures ;;
    fuzz-onnx) echo tests/fixtures/onnx ;;
    fuzz-caffe) echo tests/fixtures/caffe ;;
    fuzz-image) echo tests/images ;;
    *) echo tests/fuzz/corpus-${1#fuzz-} ;;
  esac
}

printf '%-20s %8s %12s %8s %10s\n' target seconds executions edges findings
for t in $targets; do
  corpus=_build-fuzz/bench-corpus/$t
  findings=_build-fuzz/bench-findings/$t
  mkdir -p "$corpus" "$findings"
  dict=tests/fuzz/${t#fuzz-}.dict
  [ -f "$dict" ] && dict="-dict=$dict" || dict=
  log=_build-fuzz/bench-findings/$t.log
  # A finding stops the target; it is a file in $findings (its log says what).
  "_build-fuzz/tests/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$findings/" $dict "$corpus" "$(seeds_of $t)" >"$log" 2>&1
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  edges=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  found=$(ls "$findings" | wc -l)
  printf '%-20s %8s %12s %8s %10s\n' "$t" "$seconds" "${runs:-?}" "${edges:-?}" "$found"
done
