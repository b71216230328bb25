#!/usr/bin/env bash
# `rlae eval` with log-likelihood scoring of multiple-choice tasks (task.mc_scoring loglik and
# loglik_norm) with the members on the GPU: with fp32 members the accuracy of every method on PIQA and
# ARC-Easy (20 items each) equals the CPU run's, row for row of eval.csv (the latency columns aside).
# Skips (77) without a usable GPU (run.device=cuda exits 2) or without the tiny models and the data.
source "$(dirname "$0")/../integration/lib.sh"
require_tiny_models
S=$(shared_dir)
[ -d "$S/data/piqa" ] && [ -d "$S/data/arc" ] || { echo "SKIP: data/piqa or data/arc not found"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/tiny.yaml" <<YAML
run: {name: tiny, seed: 3}
$(tiny_members_yaml)
ensemble: {span: 8, max_new_tokens: 8, decoding: greedy, policy: uniform}
task: {name: piqa, data_dir: "$S/data", shots: 0}
YAML
F32="members.0.dtype=fp32 members.1.dtype=fp32"
run_eval() { # device, scoring
  # shellcheck disable=SC2086
  "$RLAE_BIN" eval "$tmp/tiny.yaml" --method uniform --method single:stories --method single:baby \
    --tasks piqa,arc_easy --limit 20 --truncate-left run.device="$1" run.out_dir="$tmp/$1-$2" \
    task.mc_scoring="$2" $F32 > "$tmp/$1-$2.out" 2> "$tmp/$1-$2.err"
}
run_eval cuda loglik; rc=$?
if [ $rc -eq 2 ] && grep -qiE 'no CUDA backend|no GPU' "$tmp/cuda-loglik.err"; then
  echo "SKIP: this rlae has no CUDA backend or sees no GPU"; exit 77; fi
expect_match '^0$' "$rc" "loglik eval with the members on the GPU exits 0 ($(head -c 300 "$tmp/cuda-loglik.err"))"
for scoring in loglik loglik_norm; do
  [ "$scoring" = loglik ] || run_eval cuda "$scoring"
  run_eval cpu "$scoring"
  strip() { cut -d, -f1-9 "$1" 2>/dev/null; } # task .. f1: everything but tokens and timings
  expect_match '^piqa,uniform,valid,' "$(strip "$tmp/cuda-$scoring/eval.csv")" "$scoring: the GPU run wrote its rows"
  if [ "$(strip "$tmp/cpu-$scoring/eval.csv")" = "$(strip "$tmp/cuda-$scoring/eval.csv")" ]; then
    passes=$((passes+1)); else fails=$((fails+1)); echo "FAIL: $scoring: accuracies differ between cpu and cuda"
    diff <(strip "$tmp/cpu-$scoring/eval.csv") <(strip "$tmp/cuda-$scoring/eval.csv") | head -10; fi
done
finish
