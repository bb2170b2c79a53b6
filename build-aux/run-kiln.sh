#!/bin/bash
# Installs what Kiln needs, builds it and starts it on its demo project.
set -eu
cd "$(dirname "$0")/.."
bash build-aux/install-packages.sh build run
[ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"
if [ -f _build/build.ninja ]; then meson setup --reconfigure _build >/dev/null; else meson setup _build --buildtype=release; fi
meson compile -C _build
export GSETTINGS_SCHEMA_DIR="$PWD/_build/data"
exec _build/src/ui/kiln --demo "$@"
