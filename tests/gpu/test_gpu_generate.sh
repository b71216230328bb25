#!/usr/bin/env bash
# `rlae generate --model PATH --device cuda` end to end.
#  Without a usable GPU (or in a build without CUDA): --device cuda exits 2 with a message that says
#  what to do, then the test skips (77) the GPU part.
#  With a GPU: greedy output with fp32 weights on the GPU is byte-identical to the CPU's for the
#  llama2.c checkpoints stories260K and babyllama105 (with and without a prompt; --batch 3 too), and
#  bf16 weights (the default on cuda) run and report "cuda bf16" on stderr.
source "$(dirname "$0")/../integration/lib.sh"
M=$(shared_dir)/models
S=$M/stories260K/stories260K.bin
[ -f "$S" ] || { echo "SKIP: stories260K not found"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

gen() { local o=$1; shift; "$RLAE_BIN" generate "$@" > "$tmp/$o.out" 2> "$tmp/$o.err"; echo $? > "$tmp/$o.rc"; }

gen probe --model "$S" --device cuda --temperature 0 --max-tokens 4
gpu_probe_or_skip "--device cuda" "$tmp/probe.rc" "$tmp/probe.err" 'rebuild with -DRLAE_CUDA=ON|nvidia-smi'

for model in "$S" "$M/babyllama105/model5000.bin"; do
  [ -f "$model" ] || continue
  name=$(basename "$(dirname "$model")")
  for prompt in "" "Once upon a time"; do
    gen cpu --model "$model" --device cpu --temperature 0 --max-tokens 120 --prompt "$prompt"
    gen gpu --model "$model" --device cuda --dtype f32 --temperature 0 --max-tokens 120 --prompt "$prompt"
    expect_match '^0$' "$(cat "$tmp/gpu.rc")" "$name on cuda exits 0 ($(head -c 300 "$tmp/gpu.err"))"
    if cmp -s "$tmp/cpu.out" "$tmp/gpu.out"; then passes=$((passes+1)); else
      fails=$((fails+1)); echo "FAIL: $name prompt '$prompt': greedy text differs between cpu and cuda f32"
      echo "--- cpu"; head -c 400 "$tmp/cpu.out"; echo; echo "--- cuda"; head -c 400 "$tmp/gpu.out"; echo; fi
  done
  gen gpub --model "$model" --device cuda --dtype f32 --temperature 0 --max-tokens 60 --batch 3 --prompt "Once"
  gen cpub --model "$model" --device cpu --temperature 0 --max-tokens 60 --batch 3 --prompt "Once"
  if cmp -s "$tmp/cpub.out" "$tmp/gpub.out"; then passes=$((passes+1)); else
    fails=$((fails+1)); echo "FAIL: $name --batch 3: greedy text differs between cpu and cuda f32"; fi
  gen bf --model "$model" --device cuda --temperature 0 --max-tokens 60 --prompt "Once upon a time"
  expect_match '^0$' "$(cat "$tmp/bf.rc")" "$name on cuda with bf16 weights exits 0"
  expect_match 'cuda bf16' "$(cat "$tmp/bf.err")" "$name: stderr names the device and dtype"
  expect_match '^Once upon a time' "$(cat "$tmp/bf.out")" "$name bf16: the prompt is echoed"
done
finish
