#!/bin/bash
# Installs what the tests need, builds Kiln twice (plain, and with ASan +
# UBSan for the unit, engine, net and e2e suites), runs every suite (display tests
# under Xvfb) and ends with one line: "N passed, N failed[, N skipped]".
set -u
cd "$(dirname "$0")/.."
bash build-aux/install-packages.sh build run test || exit 1
[ -x /usr/local/cuda/bin/nvcc ] && export PATH="$PATH:/usr/local/cuda/bin"

# The CUDA backend must compile wherever the toolkit is installed, GPU or not.
cuda=auto
command -v nvcc >/dev/null && cuda=enabled

setup () {
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@"
  fi
}

setup _build -Dcuda=$cuda || exit 1
meson compile -C _build || exit 1
setup _build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dcuda=disabled -Dbuildtype=debug || exit 1
meson compile -C _build-asan || exit 1

# The dist suite runs with the rest; say up front why it would skip.
command -v mpirun >/dev/null || echo "dist suite: mpirun is missing (openmpi-bin); its tests will skip"
# Open MPI refuses root without these (CI runs as root).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/build-aux/lsan.supp}
dbus-run-session -- xvfb-run -a -s "-screen 0 1280x1024x24" \
  meson test -C _build --print-errorlogs --num-processes 2
meson test -C _build-asan --print-errorlogs --num-processes 2 --suite unit --suite engine --suite net --suite e2e

# The libFuzzer targets need clang: configure with it, build only them and
# give each a bounded run.
fuzz_log=
if command -v clang-14 >/dev/null; then
  CC=clang-14 setup _build-fuzz -Dcuda=disabled || exit 1
  fuzzers="fuzz-safetensors fuzz-onnx fuzz-caffe fuzz-netspec fuzz-url-list fuzz-image fuzz-labels
           fuzz-classes fuzz-idx fuzz-prototxt fuzz-api-template fuzz-file-name fuzz-http-response"
  ninja -C _build-fuzz $(for f in $fuzzers; do echo tests/fuzz/$f; done) || exit 1
  meson test -C _build-fuzz --no-rebuild --print-errorlogs $fuzzers
  fuzz_log=_build-fuzz/meson-logs/testlog.json
fi

/usr/bin/python3 build-aux/count-tests.py _build/meson-logs/testlog.json _build-asan/meson-logs/testlog.json $fuzz_log
