#!/bin/sh
# Renders each page of the window on a small demo project to PNGs under
# Xvfb, as a person would look at them: light, dark, 360 px wide and in
# Japanese. Run from the source folder after `meson compile -C _build`:
#
#   build-aux/screenshots.sh [BUILD_DIR] [PAGE…]
#
# PAGE is curate, dataset, train, classify or network (default: all).
# The PNGs go to BUILD_DIR/screenshots/PAGE-{light,dark,narrow,ja}.png.
set -eu

build=${1:-_build}
[ $# -gt 0 ] && shift
pages=${*:-curate dataset train classify network}
out="$build/screenshots"
mkdir -p "$out"
export GDK_BACKEND=x11 GSK_RENDERER=cairo GSETTINGS_BACKEND=memory NO_AT_BRIDGE=1
export GSETTINGS_SCHEMA_DIR="$build/data" KILN_SOURCE_DIR="$PWD"

# One page in one look: PAGE LOOK WIDTH HEIGHT [extra arguments].
shoot () {
  page=$1 look=$2 width=$3 height=$4
  shift 4
  case $page in
    curate) cmd="$build/tests/shoot-curate-page" ;;
    dataset) cmd="$build/tests/shoot-dataset-page" ;;
    train|classify)
      cmd="$build/tests/shoot-train-page"
      set -- --page "$page" "$@" ;;
    network) cmd="$build/tests/shoot-network-page" ;;
    *) echo "unknown page $page" >&2; return 1 ;;
  esac
  case $look in
    dark) set -- --dark "$@" ;;
    ja) set -- --localedir "$build/po" "$@" ;;
  esac
  if [ "$look" = ja ]; then
    LANGUAGE=ja LANG=C.UTF-8 xvfb-run -a -s "-screen 0 1600x3200x24" \
      "$cmd" "$out/$page-$look.png" "$width" "$height" "$@"
  else
    xvfb-run -a -s "-screen 0 1600x3200x24" "$cmd" "$out/$page-$look.png" "$width" "$height" "$@"
  fi
}

for page in $pages; do
  # The Dataset page scrolls: a tall window shows all of it.
  if [ "$page" = dataset ]; then tall=2900 narrow_tall=3100; else tall=720 narrow_tall=1400; fi
  shoot "$page" light 1100 "$tall"
  shoot "$page" dark 1100 "$tall"
  # The page alone: the window itself has a wider minimum of its own.
  shoot "$page" narrow 360 "$narrow_tall" --alone
  shoot "$page" ja 1100 "$tall"
done
echo "screenshots in $out"
