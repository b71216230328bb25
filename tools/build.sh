#!/usr/bin/env bash
# Installs missing dependencies, then configures and builds rlae into BUILD_DIR (default build/).
# Used by tools/demo.sh and tools/test.sh; extra arguments go to cmake's configure step, e.g.
#   tools/build.sh -DRLAE_CUDA=OFF
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
bash "$root/tools/install-deps.sh"
# nvcc usually lives outside PATH; let CMake's CUDA detection find the toolkit.
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$root" -B "$build_dir" "$@" >"$build_dir.configure.log" 2>&1 || {
  cat "$build_dir.configure.log" >&2; echo "build: cmake configure failed (log above)" >&2; exit 1; }
grep -E '^-- rlae:' "$build_dir.configure.log" || true
cmake --build "$build_dir" -j "$jobs"
