#!/bin/sh
# The fault loops of issue 18, longer than CI runs them: SIGKILL at random
# moments of gather (against the tests' local server), inspect --discard,
# cache and train, N rounds each, with the invariants checked after every
# kill (integrity_check, files ↔ rows, kept images decode, no temp file
# trusted, a resumed run ends with the uninterrupted run's weights), and
# the ENOSPC scenarios (download, cache, checkpoint, ONNX export).
#
#   bench/faults.sh [ROUNDS]        (default 100; CI's e2e/net runs use 2)
#
# Prints one row per scenario: rounds, kills that landed mid-run, and
# invariant violations. Needs the regular build (_build).
set -u
cd "$(dirname "$0")/.."
rounds=${1:-100}
meson compile -C _build >/dev/null || exit 1
# Its own log (the programs' TAP output, messages included), so that other
# test runs in the build cannot mix in.
log=_build/meson-logs/faults-$rounds.txt
KILN_FAULT_ROUNDS=$rounds meson test -C _build --no-rebuild --timeout-multiplier 0 --logbase faults-$rounds \
  test-e2e-faults test-gatherer >/dev/null 2>&1
status=$?

printf '%-34s %7s %7s %11s %s\n' scenario rounds killed violations result
# "# inspect: 100 rounds, 93 killed mid-run, violations: 0"
sed -n 's/^# \(gather\|inspect\|cache\): \([0-9]*\) rounds, \([0-9]*\) killed mid-run, violations: \([0-9]*\)$/\1 \2 \3 \4/p' "$log" |
  while read -r what n killed bad; do
    printf '%-34s %7s %7s %11s\n' "SIGKILL during $what" "$n" "$killed" "$bad"
  done
sed -n 's/^# train: \([0-9]*\) rounds, violations: \([0-9]*\)$/\1 \2/p' "$log" |
  while read -r n bad; do
    kills=$(grep -c '^# train round .*killed [1-9]' "$log")
    printf '%-34s %7s %7s %11s\n' "SIGKILL during train, resumed" "$n" "$kills" "$bad"
  done
for t in /gatherer/enospc-download /e2e/faults/enospc/cache /e2e/faults/enospc/checkpoint /e2e/faults/enospc/export; do
  if grep -q "^ok [0-9]* $t\$" "$log"; then verdict=ok; elif grep -q "^ok [0-9]* $t # SKIP" "$log"; then verdict=skipped; else verdict=FAILED; fi
  printf '%-34s %7s %7s %11s %s\n' "ENOSPC ${t##*/}" 1 - - "$verdict"
done
echo "log: $log"
exit $status
