#!/bin/bash
# The Curate page at scale: a project of N generated 160 × 120 JPEG images
# (default 100,000, made once and kept in $KILN_SCALE_DIR, default
# /tmp/kiln-scale-N) opened in the real window under Xvfb: the time until
# the grid holds every image, frame intervals while scrolling top to bottom
# a page per frame, peak RSS, and how many thumbnails were made (only those
# near the viewport should be). Run from the repository root after
# building: bash bench/curate-scale.sh [N]
set -eu
cd "$(dirname "$0")/.."
n=${1:-100000}
build=${BUILD:-_build}
dir=${KILN_SCALE_DIR:-/tmp/kiln-scale-$n}
exe="$build/bench/curate-scale"
[ -x "$exe" ] || { echo "build first: meson compile -C $build" >&2; exit 1; }
if [ ! -f "$dir/kiln.db" ]; then
  rm -rf "$dir"
  echo "making $n images in $dir…"
  /usr/bin/time -f "made in %e s" "$exe" --make "$n" "$dir"
fi
rm -rf "$dir/cache/thumbnails"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
GDK_BACKEND=x11 GSK_RENDERER=cairo GTK_A11Y=none GSETTINGS_BACKEND=memory \
  GSETTINGS_SCHEMA_DIR="$build/data" \
  xvfb-run -a -s "-screen 0 1280x1024x24" "$exe" "$dir"
