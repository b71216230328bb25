#!/usr/bin/env bash
# `rlae generate CONFIG run.device=cuda`: the tiny two-member ensemble (stories260K + babyllama105)
# from a config with its members on the GPU.
#  Without a usable GPU (or in a build without CUDA): run.device=cuda exits 2 with a message that
#  says what to do, then the test skips (77) the GPU part.
#  With a GPU: fp32 members (members.N.dtype=fp32) give byte-identical greedy output to run.device=cpu
#  for policies uniform and single, with and without prompts, and a batch of two prompts; bf16 members
#  (the default on cuda) run.
source "$(dirname "$0")/../integration/lib.sh"
require_tiny_models
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/tiny.yaml" <<YAML
run: {name: tiny, seed: 3}
$(tiny_members_yaml)
ensemble:
  span: 8
  max_new_tokens: 60
  decoding: greedy
  policy: uniform
YAML
C="$tmp/tiny.yaml"

gen() { local o=$1; shift; "$RLAE_BIN" generate "$C" "$@" > "$tmp/$o.out" 2> "$tmp/$o.err"; echo $? > "$tmp/$o.rc"; }

gen probe run.device=cuda ensemble.max_new_tokens=4
gpu_probe_or_skip "run.device=cuda" "$tmp/probe.rc" "$tmp/probe.err" 'run.device cuda' 'device: cpu or auto'

F32="members.0.dtype=fp32 members.1.dtype=fp32"
same() { # name, then the arguments of both runs
  local name=$1; shift
  gen cpu "$@" run.device=cpu
  # shellcheck disable=SC2086
  gen gpu "$@" run.device=cuda $F32
  expect_match '^0$' "$(cat "$tmp/gpu.rc")" "$name on cuda exits 0 ($(head -c 300 "$tmp/gpu.err"))"
  if cmp -s "$tmp/cpu.out" "$tmp/gpu.out"; then passes=$((passes+1)); else
    fails=$((fails+1)); echo "FAIL: $name: the output differs between run.device=cpu and cuda (fp32)"
    echo "--- cpu"; head -c 600 "$tmp/cpu.out"; echo; echo "--- cuda"; head -c 600 "$tmp/gpu.out"; echo; fi
}
same "uniform, no prompt"
same "uniform, prompt" --prompt "Once upon a time"
same "uniform, two prompts, --show-weights" --prompt "The sun" --prompt "Tom had a" --show-weights
same "single stories" ensemble.policy=single ensemble.single_member=stories
same "single baby" ensemble.policy=single ensemble.single_member=baby --prompt "Lily"

gen bf --prompt "Once upon a time" run.device=cuda
expect_match '^0$' "$(cat "$tmp/bf.rc")" "bf16 members on cuda exit 0 ($(head -c 300 "$tmp/bf.err"))"
expect_match 'Once upon a time|[a-z]' "$(cat "$tmp/bf.out")" "bf16 members write text"
gen fp16 run.device=cuda members.0.dtype=fp16
expect_match '^2$' "$(cat "$tmp/fp16.rc")" "members[].dtype fp16 on cuda exits 2"
expect_match 'fp16 is not supported on cuda' "$(cat "$tmp/fp16.err")" "the error says fp16 is not supported"
finish
