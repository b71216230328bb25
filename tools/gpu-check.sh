#!/usr/bin/env bash
# The GPU checks of issue 8 in one command, for a machine with an NVIDIA GPU: the gpu tests,
# compute-sanitizer memcheck over them, and the README's GPU benchmarks (rlae bench model / ensemble
# and tools/bench_hf.py side by side). Runs the binaries of a CUDA build directory, or of a kit packed
# elsewhere with ../shared/gpu/pack.sh for a GPU machine that cannot build (.devkit: sourced first).
#
# Usage: tools/gpu-check.sh [--bin DIR] [--out DIR] [--arch A] [STEP...]
#   STEP: tests, sanitize, bench, hf (default: all four, in that order)
#   --bin DIR   where rlae and the test programs are (default .devkit/bin if .devkit/env.sh exists,
#               else build-gpu with its tests/ folder)
#   --out DIR   where every log and JSON goes (default gpu-check-YYYYmmdd-HHMMSS)
#   --arch A    benchmark architecture (default llama3-8b)
# Prints one summary line per check at the end; exits 1 if any test or sanitizer run failed.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
bin="" out="" arch=llama3-8b steps=()
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    tests|sanitize|bench|hf) steps+=("$1"); shift ;;
    *) echo "gpu-check: unknown argument '$1' (see the comment atop $0)" >&2; exit 2 ;;
  esac
done
[ ${#steps[@]} -gt 0 ] || steps=(tests sanitize bench hf)
if [ -z "$bin" ] && [ -f "$root/.devkit/env.sh" ]; then
  source "$root/.devkit/env.sh"; bin=$root/.devkit/bin
fi
bin=${bin:-$root/build-gpu}
rlae=$bin/rlae
[ -x "$rlae" ] || { echo "gpu-check: no rlae in $bin (build with -DRLAE_CUDA=ON or pack a kit)" >&2; exit 2; }
test_exe() { if [ -x "$bin/$1" ]; then echo "$bin/$1"; else echo "$bin/tests/$1"; fi; }
out=${out:-gpu-check-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
export RLAE_BIN=$rlae RLAE_SOURCE_DIR=$root OMP_WAIT_POLICY=passive
summary=()
failed=0
note() { summary+=("$1"); echo "== $1"; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$out/gpu.txt"

gpu_c_tests=(test_gpu_device test_gpu_ops test_gpu_attention test_gpu_forward test_gpu_mix_select
             test_gpu_ppo_loss test_gpu_adam test_gpu_ensemble)
gpu_sh_tests=(test_gpu_generate test_gpu_ensemble_generate test_gpu_eval_loglik)

for step in "${steps[@]}"; do
  case $step in
  tests)
    for t in "${gpu_c_tests[@]}"; do
      timeout 300 "$(test_exe "$t")" > "$out/$t.log" 2>&1; rc=$?
      [ $rc -eq 0 ] || failed=1
      note "test $t: exit $rc ($(grep -E 'passed|failed|SKIP' "$out/$t.log" | tail -1))"
      [ $rc -eq 0 ] || grep -E 'FAIL|error|SKIP' "$out/$t.log" | head -20
    done
    for t in "${gpu_sh_tests[@]}"; do
      timeout 300 bash "$root/tests/gpu/$t.sh" > "$out/$t.log" 2>&1; rc=$?
      [ $rc -eq 0 ] || failed=1
      note "test $t: exit $rc ($(tail -1 "$out/$t.log"))"
      [ $rc -eq 0 ] || grep -E 'FAIL|error' "$out/$t.log" | head -20
    done ;;
  sanitize)
    # memcheck over each gpu test program at once (one GPU holds them all), then rlae generate.
    pids=()
    for t in "${gpu_c_tests[@]}"; do
      timeout 300 compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 99 "$(test_exe "$t")" \
        > "$out/memcheck-$t.log" 2>&1 & pids+=($!)
    done
    timeout 300 compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 99 "$rlae" generate \
      --model "${RLAE_SHARED_DIR:-$root/../shared}/models/stories260K/stories260K.bin" --device cuda \
      --temperature 0 --max-tokens 64 --batch 3 --prompt "Once" > "$out/memcheck-generate.log" 2>&1 & pids+=($!)
    names=("${gpu_c_tests[@]}" generate)
    for i in "${!pids[@]}"; do
      wait "${pids[$i]}"; rc=$?
      [ $rc -eq 0 ] || failed=1
      note "memcheck ${names[$i]}: exit $rc ($(grep -E 'ERROR SUMMARY' "$out/memcheck-${names[$i]}.log" | tail -1))"
      [ $rc -eq 0 ] || grep -E '=========' "$out/memcheck-${names[$i]}.log" | head -12
    done ;;
  bench)
    for b in 1 32; do
      "$rlae" bench model --arch "$arch" --batch "$b" --device cuda 2>&1 | tee "$out/bench-model-b$b.txt"
      note "bench model $arch batch $b: $(grep -E '^(tokens/s|achieved|memory):' "$out/bench-model-b$b.txt" | tr '\n' ' ')"
    done
    "$rlae" bench ensemble --arch "$arch" --members 3 --device cuda 2>&1 | tee "$out/bench-ensemble.txt"
    note "bench ensemble $arch x3: $(tail -4 "$out/bench-ensemble.txt" | tr '\n' ' ')" ;;
  hf)
    PYTHONUNBUFFERED=1 python3 "$root/tools/bench_hf.py" --arch "$arch" --batch 1,32 --rlae "$rlae" \
      --json "$out/bench_hf.json" 2>&1 | tee "$out/bench_hf.txt"
    note "bench_hf $arch: see $out/bench_hf.txt" ;;
  esac
done

echo
echo "gpu-check summary ($(head -1 "$out/gpu.txt"); logs in $out):"
printf '  %s\n' "${summary[@]}"
exit $failed
