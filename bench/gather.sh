#!/bin/bash
# bench/gather.sh: Kiln's gatherer against `wget -i`, the seed's approach
# (asyncio + aiohttp, slices of WIDTH URLs awaited one after another:
# bench/gather-seed.py) and a stronger peer than the seed, python3-requests in
# a work-conserving thread pool of the same width, in one run, against
# one local server (bench/gather-server.c: N images, 20% broken links, 5%
# stalls), with the same timeout and no retries for anyone. Then Kiln's
# peak memory on N URLs of large JPEGs (MEM_WIDTH pixels wide), and the
# streaming speed of the URL-list reader on a generated fall11_urls.txt of
# 14 million lines, next to `wc -l` on the same file.
#
#   bench/gather.sh [BUILD_DIR]      (default _build; installs the [bench] packages)
#
# With IMG2DATASET set to an img2dataset executable (benchmark only:
# python3 -m venv /tmp/i2d && /tmp/i2d/bin/pip install img2dataset, then
# IMG2DATASET=/tmp/i2d/bin/img2dataset), img2dataset runs too, in the same
# rounds: one process, WIDTH threads, no re-encoding, the same timeout.
#
# Environment: N (1000), WIDTH (16), TIMEOUT (2 s), PORT (18431),
# LINES (14000000), REPS (3), MEM_WIDTH (2048), SKIP_WGET=1, SKIP_MEM=1,
# SKIP_LINES=1.
set -euo pipefail

cd "$(dirname "$0")/.."
build=${1:-_build}
cli=$build/src/cli/kiln-cli
N=${N:-1000}
WIDTH=${WIDTH:-16}
TIMEOUT=${TIMEOUT:-2}
PORT=${PORT:-18431}
LINES=${LINES:-14000000}
REPS=${REPS:-3}
MEM_WIDTH=${MEM_WIDTH:-2048}

bash build-aux/install-packages.sh bench || exit 1
for tool in wget /usr/bin/python3 bc; do
  command -v "$tool" >/dev/null || { echo "gather.sh: $tool is missing (apt-get install wget python3-requests)" >&2; exit 1; }
done
/usr/bin/python3 -c 'import requests, aiohttp' 2>/dev/null || { echo "gather.sh: python3-requests or python3-aiohttp is missing" >&2; exit 1; }
[ -x "$cli" ] || { echo "gather.sh: build first: $cli not found" >&2; exit 1; }

work=$(mktemp -d /tmp/kiln-bench-gather.XXXXXX)
server_pid=
cleanup () {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

[ -x "$build/bench/gather-server" ] || { echo "gather.sh: build first: $build/bench/gather-server not found" >&2; exit 1; }
"$build/bench/gather-server" "$PORT" "$N" 7 > "$work/urls.txt" 2> "$work/server.log" &
server_pid=$!
for _ in $(seq 50); do
  [ "$(wc -l < "$work/urls.txt")" -ge "$N" ] && break
  sleep 0.1
done
[ "$(wc -l < "$work/urls.txt")" -ge "$N" ] || { echo "gather.sh: the server did not start" >&2; cat "$work/server.log" >&2; exit 1; }

now () { date +%s.%N; }
count_files () { find "$1" -type f | wc -l; }
median () { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }

# Each prints its wall time in seconds; $1 the URL list, $2 a fresh folder.
# Kiln's peak RSS (kB) goes to $2.rss.
run_kiln () {
  local t0 t1
  t0=$(now)
  /usr/bin/time -f '%M' -o "$2.rss" "$cli" gather --project "$2" --urls "$1" --wnid n02121808 \
    -j "$WIDTH" --per-host "$WIDTH" --timeout "$TIMEOUT" --connect-timeout "$TIMEOUT" --retries 0 \
    --min-size 100 --quiet --json > "$2.json"
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}
# $1 the peer script, $2 the URL list, $3 a fresh folder.
run_peer () {
  local t0 t1
  t0=$(now)
  /usr/bin/python3 "bench/$1" "$2" "$3" "$WIDTH" "$TIMEOUT" > "$3.json"
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}

echo "# $N URLs (75% images, 20% broken, 5% stalls), width $WIDTH, timeout ${TIMEOUT}s, no retries"
echo "# $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $(uname -r); kiln, seed and requests interleaved $REPS times, median"

# img2dataset, as its README runs it for files, minus resizing: $1 the
# URL list, $2 a fresh folder.
run_img2dataset () {
  local t0 t1
  t0=$(now)
  NO_ALBUMENTATIONS_UPDATE=1 "$IMG2DATASET" --url_list "$1" --output_folder "$2" --input_format txt \
    --output_format files --processes_count 1 --thread_count "$WIDTH" --timeout "$TIMEOUT" --retries 0 \
    --disable_all_reencoding True --compute_hash None > "$2.log" 2>&1
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}

# The same list without its stalls: per-request cost, not timeout slots.
grep -v /stall/ "$work/urls.txt" > "$work/nostall.txt"
kiln=(); seed=(); req=(); kiln2=(); req2=(); i2d=(); i2d2=()
for r in $(seq "$REPS"); do
  if [ -n "${IMG2DATASET:-}" ]; then
    i2d+=("$(run_img2dataset "$work/urls.txt" "$work/i2d$r")")
    i2d2+=("$(run_img2dataset "$work/nostall.txt" "$work/i2d-ns$r")")
  fi
  kiln+=("$(run_kiln "$work/urls.txt" "$work/kiln$r")")
  seed+=("$(run_peer gather-seed.py "$work/urls.txt" "$work/seed$r")")
  req+=("$(run_peer gather-requests.py "$work/urls.txt" "$work/requests$r")")
  kiln2+=("$(run_kiln "$work/nostall.txt" "$work/kiln-ns$r")")
  req2+=("$(run_peer gather-requests.py "$work/nostall.txt" "$work/requests-ns$r")")
done
kiln_s=$(median "${kiln[@]}"); seed_s=$(median "${seed[@]}"); req_s=$(median "${req[@]}")
kiln2_s=$(median "${kiln2[@]}"); req2_s=$(median "${req2[@]}")
kiln_kept=$(count_files "$work/kiln1/images")
req_kept=$(count_files "$work/requests1")
seed_kept=$(count_files "$work/seed1")

if [ -z "${SKIP_WGET:-}" ]; then
  t0=$(now)
  wget -q -i "$work/urls.txt" -P "$work/wget" --timeout="$TIMEOUT" --tries=1 || true
  t1=$(now)
  wget_s=$(echo "$t1 - $t0" | bc -l)
  wget_kept=$(count_files "$work/wget")
fi

printf '%-34s %9s %7s\n' "tool" "wall (s)" "files"
printf '%-34s %9.2f %7d   (runs: %s; peak RSS %d MB; rejected: %s)\n' "kiln-cli gather (validated)" "$kiln_s" \
  "$kiln_kept" "$(printf '%.2f ' "${kiln[@]}")" "$(( $(cat "$work/kiln1.rss") / 1024 ))" \
  "$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(", ".join("%s %d" % (k, v) for k, v in d["by_reason"].items() if v and k != "kept"))' "$work/kiln1.json")"
printf '%-34s %9.2f %7d   (runs: %s)\n' "seed: aiohttp, slices of $WIDTH" "$seed_s" "$seed_kept" "$(printf '%.2f ' "${seed[@]}")"
printf '%-34s %9.2f %7d   (runs: %s)\n' "python3-requests pool x$WIDTH" "$req_s" "$req_kept" "$(printf '%.2f ' "${req[@]}")"
[ -n "${wget_s:-}" ] && printf '%-34s %9.2f %7d\n' "wget -i (sequential)" "$wget_s" "$wget_kept"
if [ -n "${IMG2DATASET:-}" ]; then
  i2d_s=$(median "${i2d[@]}"); i2d2_s=$(median "${i2d2[@]}")
  printf '%-34s %9.2f %7d   (runs: %s)\n' "img2dataset, $WIDTH threads" "$i2d_s" \
    "$(find "$work/i2d1" -name '*.jpg' | wc -l)" "$(printf '%.2f ' "${i2d[@]}")"
  printf 'throughput kiln / img2dataset: %.2fx; without the stalls: %.2fx (img2dataset %.2f s)\n' \
    "$(echo "$i2d_s / $kiln_s" | bc -l)" "$(echo "$i2d2_s / $kiln2_s" | bc -l)" "$i2d2_s"
else
  echo "img2dataset: not run (set IMG2DATASET to its executable; see the header)"
fi
printf 'throughput kiln / seed:     %.2fx (target >= 1.5)\n' "$(echo "$seed_s / $kiln_s" | bc -l)"
printf 'throughput kiln / requests: %.2fx (a work-conserving pool: both at the stall floor)\n' "$(echo "$req_s / $kiln_s" | bc -l)"
[ -n "${wget_s:-}" ] && printf 'wall kiln / wget:            %.3fx (target <= 0.5)\n' "$(echo "$kiln_s / $wget_s" | bc -l)"
printf 'without the stalls (%d URLs): kiln %.2f s (%s), requests %.2f s (%s), throughput kiln / requests: %.2fx\n' \
  "$(wc -l < "$work/nostall.txt")" "$kiln2_s" "$(printf '%.2f ' "${kiln2[@]}")" "$req2_s" \
  "$(printf '%.2f ' "${req2[@]}")" "$(echo "$req2_s / $kiln2_s" | bc -l)"

kill "$server_pid" 2>/dev/null || true
server_pid=

if [ -z "${SKIP_MEM:-}" ]; then
  # Bodies stream to disk: memory must not grow with the images' size.
  "$build/bench/gather-server" "$((PORT + 1))" "$N" 7 "$MEM_WIDTH" > "$work/big.txt" 2> "$work/big.log" &
  server_pid=$!
  for _ in $(seq 100); do
    [ "$(wc -l < "$work/big.txt")" -ge "$N" ] && break
    sleep 0.1
  done
  big_s=$(run_kiln "$work/big.txt" "$work/kiln-big")
  printf 'memory: %d URLs of %s-pixel JPEGs (%s): kiln %.2f s, peak RSS %d MB, %d files\n' "$N" "$MEM_WIDTH" \
    "$(sed -n 's/.*image \([0-9]*\) bytes.*/\1 bytes/p' "$work/big.log")" "$big_s" \
    "$(( $(cat "$work/kiln-big.rss") / 1024 ))" "$(count_files "$work/kiln-big/images")"
  rm -rf "$work/kiln-big"
  kill "$server_pid" 2>/dev/null || true
  server_pid=
fi

if [ -z "${SKIP_LINES:-}" ]; then
  # fall11_urls.txt-shaped lines; no line names the wnid asked for, so the
  # whole file is read and filtered without a single request.
  /usr/bin/python3 - "$work/fall11_urls.txt" "$LINES" <<'EOF'
import random, sys
path, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(11)
with open(path, "w") as f:
    chunk = []
    for i in range(n):
        chunk.append("n%08d_%d\thttp://farm%d.static.flickr.com/%d/%d_%010x.jpg\n"
                     % (1440764 + i // 700, i % 700, rnd.randrange(1, 10), rnd.randrange(1, 9999),
                        rnd.randrange(10**9), rnd.randrange(16**10)))
        if len(chunk) == 100000:
            f.write("".join(chunk))
            chunk = []
    f.write("".join(chunk))
EOF
  size=$(stat -c %s "$work/fall11_urls.txt")
  cat "$work/fall11_urls.txt" > /dev/null   # same page cache for both
  t0=$(now); wc -l < "$work/fall11_urls.txt" > /dev/null; t1=$(now)
  wc_s=$(echo "$t1 - $t0" | bc -l)
  /usr/bin/time -f '%e %M' -o "$work/lines.time" \
    "$cli" gather --project "$work/lines" --urls "$work/fall11_urls.txt" --wnid n00000001 --quiet --json > /dev/null
  read -r lines_s rss_kb < "$work/lines.time"
  printf 'URL list: %d lines (%.0f MB) in %.2f s = %.2f M lines/s, peak RSS %d MB; wc -l %.2f s\n' \
    "$LINES" "$(echo "$size / 1048576" | bc -l)" "$lines_s" "$(echo "$LINES / $lines_s / 1000000" | bc -l)" \
    "$((rss_kb / 1024))" "$wc_s"
fi
