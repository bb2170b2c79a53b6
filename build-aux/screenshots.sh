#!/bin/bash
# Renders each page of Kiln on a demo project under Xvfb, to PNG files in
# _build/screenshots/: the light style at 1100 × 720, the dark style, a
# 360-px-wide window and Japanese. With --commit, the light ones are also
# copied to data/screenshots/ (the AppStream metainfo and the README show
# those). Run after building: bash build-aux/screenshots.sh [--commit]
set -eu
commit=${1:-}
cd "$(dirname "$0")/.."
build=${BUILD:-_build}
out="$build/screenshots"
mkdir -p "$out"

# name: program and its arguments after "OUT W H"
declare -A shots=(
  [welcome]="shoot-curate-page --state welcome"
  [gather]="shoot-curate-page --state gather"
  [curate]="shoot-curate-page --state inspected"
  [train]="shoot-train-page --page train"
  [wizard]="shoot-train-page --page wizard"
  [network]="shoot-network-page --state 224"
  [classify]="shoot-train-page --page classify"
)
[ -x "$build/tests/shoot-dataset-page" ] && shots[dataset]="shoot-dataset-page"
# Pages that scroll are shot in a tall window, to show all of them.
declare -A heights=([dataset]=2900)

shoot () {
  local file=$1 width=$2 height=$3; shift 3
  local program=$1; shift
  KILN_SOURCE_DIR="$PWD" GDK_BACKEND=x11 GSK_RENDERER=cairo GTK_A11Y=none GSETTINGS_BACKEND=memory \
    GSETTINGS_SCHEMA_DIR="$build/data" \
    timeout 300 xvfb-run -a -s "-screen 0 1400x1600x24" \
    "$build/tests/$program" "$file" "$width" "$height" "$@" > /dev/null
  echo "$file"
}

for name in $(printf '%s\n' "${!shots[@]}" | sort); do
  set -- ${shots[$name]}
  h=${heights[$name]:-720}
  shoot "$out/$name.png" 1100 "$h" "$@"
  shoot "$out/$name-dark.png" 1100 "$h" "$@" --dark
  shoot "$out/$name-360.png" 360 "$h" "$@"
  LANGUAGE=ja LANG=C.UTF-8 shoot "$out/$name-ja.png" 1100 "$h" "$@"
done

if [ "$commit" = --commit ]; then
  mkdir -p data/screenshots
  for name in "${!shots[@]}"; do cp "$out/$name.png" "data/screenshots/$name.png"; done
  echo "copied the light screenshots to data/screenshots/"
fi
