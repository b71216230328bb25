#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test with ctest.
# GPU tests report "skipped" on a machine without a GPU; tests that need ../shared (models, data,
# tokenizers) report "skipped" when it is absent (set RLAE_SHARED_DIR to point elsewhere).
# Extra arguments go to ctest, e.g. tools/test.sh -L unit
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
bash "$root/tools/build.sh"
jobs=$(nproc 2>/dev/null || echo 2)
cd "$build_dir"
ctest --output-on-failure -j "$jobs" --output-junit "$build_dir/ctest-junit.xml" "$@"
