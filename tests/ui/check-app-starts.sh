#!/bin/bash
# The installed-shape `kiln` binary starts on a real X display and maps its
# main window (seen from outside the process, with xwininfo).
set -u
app=$1
# Keep the user's folders out of reach: the app would import its demo project there.
home=$(mktemp -d)
export HOME=$home XDG_DATA_HOME=$home/data XDG_CONFIG_HOME=$home/config XDG_CACHE_HOME=$home/cache
"$app" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$home"' EXIT
for _ in $(seq 1 60); do
  if ! kill -0 $pid 2>/dev/null; then
    echo "kiln exited before mapping a window"; exit 1
  fi
  if xwininfo -root -tree | grep -q '"Kiln": ("kiln"'; then
    geometry=$(xwininfo -root -tree | grep '"Kiln": ("kiln"' | head -1)
    echo "main window mapped: $geometry"; exit 0
  fi
  sleep 0.25
done
echo "no Kiln window mapped within 15 s"
exit 1
