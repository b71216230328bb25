#!/usr/bin/env bash
# `rlae generate CONFIG`: the ensemble of two real tiny models with different vocabularies
# (stories260K, 512 BPE; babyllama105, 105 characters) from a config, with each baseline policy.
#  - policy single reproduces each member's documented greedy output (../shared/models/SOURCE.md);
#  - --show-weights prints every span's weights and marks each token with its most confident member;
#  - several --prompt options form one batch; the overhead report goes to stderr;
#  - bad usage and bad configs exit 2 with a message that names the fix.
source "$(dirname "$0")/lib.sh"
require_tiny_models
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/tiny.yaml" <<YAML
run: {name: tiny, seed: 3}
$(tiny_members_yaml)
ensemble:
  span: 8
  max_new_tokens: 40
  decoding: greedy
  policy: uniform
YAML
C="$tmp/tiny.yaml"

expect_exit 0 "single stories" -- "$RLAE_BIN" generate "$C" ensemble.policy=single ensemble.single_member=stories
expect_match '^Once upon a time, there was a little girl named Lily\. She loved to play outside in the park\.' "$out" \
  "policy single on stories260K gives its documented greedy output"
expect_match 'union of [0-9]+ entries, policy single' "$err" "the union size and policy are reported"
expect_match '% of the members. forward' "$err" "the ensemble step's overhead is reported"

expect_exit 0 "single baby" -- "$RLAE_BIN" generate "$C" ensemble.policy=single ensemble.single_member=baby \
  ensemble.max_new_tokens=120
expect_match '^Once upon a time, there was a little girl named Lily\. She loved to play outside in the sunshine\.' \
  "$out" "policy single on babyllama105 gives its documented greedy output"

expect_exit 0 "uniform --show-weights" -- "$RLAE_BIN" generate "$C" --prompt "Lily and her dog" --show-weights
expect_match 'span 0 \(tokens 0-7\): stories=0\.500 baby=0\.500' "$out" "--show-weights prints span 0's weights"
expect_match 'span 1 \(tokens 8-15\): stories=0\.500 baby=0\.500' "$out" "--show-weights prints span 1's weights"
expect_match '\]0' "$out" "some token is marked as stories260K's"
expect_match '\]1' "$out" "some token is marked as babyllama105's"
expect_match '^end: (eos|stop|max_new_tokens|context)$' "$out" "--show-weights says how the answer ended"

expect_exit 0 "score with weights" -- "$RLAE_BIN" generate "$C" --show-weights ensemble.policy=score \
  members.0.weight=3 members.1.weight=1
expect_match 'stories=0\.750 baby=0\.250' "$out" "policy score normalises members[].weight"

expect_exit 0 "batch of two prompts" -- "$RLAE_BIN" generate "$C" --prompt "The sun" --prompt "Tom had a" \
  ensemble.policy=gated ensemble.gate_member=baby
expect_match '=== prompt 1: Tom had a' "$out" "two prompts give two answers"

expect_exit 0 "topk, sampling" -- "$RLAE_BIN" generate "$C" ensemble.policy=topk ensemble.topk=3 \
  ensemble.decoding=sample ensemble.temperature=0.8

expect_exit 2 "policy agent needs training" -- "$RLAE_BIN" generate "$C" ensemble.policy=agent
expect_match 'rlae train' "$err" "policy agent points at rlae train"
expect_exit 2 "unknown member" -- "$RLAE_BIN" generate "$C" ensemble.policy=single ensemble.single_member=nobody
expect_match "no member is named 'nobody'" "$err" "an unknown member name is named"
expect_exit 2 "missing config" -- "$RLAE_BIN" generate "$tmp/nope.yaml"
expect_exit 2 "unknown option" -- "$RLAE_BIN" generate "$C" --bogus
expect_match "unknown option '--bogus'" "$err" "the unknown option is named"
expect_exit 2 "bad override" -- "$RLAE_BIN" generate "$C" ensemble.span=0
expect_exit 2 "missing model" -- "$RLAE_BIN" generate "$C" members.0.path=/nonexistent/model.bin
expect_match "member 'stories'" "$err" "a member that fails to load is named"
finish
