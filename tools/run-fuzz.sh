#!/usr/bin/env bash
# Builds rlae's libFuzzer targets (tests/fuzz/fuzz_*.c) with clang in build-fuzz/ and runs each for a
# fixed time from its seed corpus (tests/fuzz/corpus/<target>/). Fails if any target finds a crash,
# leak, timeout or sanitizer report; the reproducer is left in build-fuzz/fuzz-artifacts/.
# A libFuzzer dictionary tests/fuzz/<target>.dict is used when present.
#   usage: tools/run-fuzz.sh [SECONDS_PER_TARGET=60] [TARGET...]      (default: every target)
#   env:   RLAE_FUZZ_BUILD (build dir, default build-fuzz), RLAE_FUZZ_JOBS (parallel build jobs)
# Needs clang and libFuzzer's runtime (Debian: clang, libclang-rt-14-dev).
set -euo pipefail

secs=${1:-60}
shift || true
case "$secs" in '' | *[!0-9]*) echo "run-fuzz: SECONDS must be a whole number, got '$secs'" >&2; exit 2 ;; esac
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${RLAE_FUZZ_BUILD:-$root/build-fuzz}
jobs=${RLAE_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}

command -v clang >/dev/null || { echo "run-fuzz: clang not found (Debian package: clang)" >&2; exit 2; }

# The whole build uses clang: the fuzz library is the project's own sources recompiled with
# sanitizer and coverage flags (tests/fuzz/CMakeLists.txt).
CC=clang cmake -S "$root" -B "$build" -DRLAE_FUZZ=ON -DRLAE_CUDA=OFF -DRLAE_TESTS=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log" >&2; echo "run-fuzz: configure failed" >&2; exit 1; }
rm -f "$build.configure.log"
cmake --build "$build" -j "$jobs" --target fuzz_all

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for src in "$root"/tests/fuzz/fuzz_*.c; do
    targets+=("$(basename "$src" .c)")
  done
fi

artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
failed=()
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/$t"
  [ -x "$bin" ] || { echo "run-fuzz: no such target $t ($bin)" >&2; failed+=("$t"); continue; }
  # New inputs go to a scratch corpus in the build dir, so the committed seeds stay small.
  work="$build/fuzz-corpus/$t"
  mkdir -p "$work"
  seeds=()
  [ -d "$root/tests/fuzz/corpus/$t" ] && seeds=("$root/tests/fuzz/corpus/$t")
  dict=()
  [ -f "$root/tests/fuzz/$t.dict" ] && dict=("-dict=$root/tests/fuzz/$t.dict")
  echo "run-fuzz: $t for ${secs}s"
  log="$build/fuzz-$t.log"
  if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$artifacts/$t-" "${dict[@]}" "$work" "${seeds[@]}" >"$log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    echo "run-fuzz: $t ok: $execs executions in ${secs}s, $cov"
  else
    echo "run-fuzz: $t FAILED; log $log, reproducer in $artifacts/:" >&2
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -20 >&2 || tail -30 "$log" >&2
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "run-fuzz: failures in: ${failed[*]}" >&2
  exit 1
fi
echo "run-fuzz: all ${#targets[@]} targets ran ${secs}s without findings"
