#!/usr/bin/env bash
# `rlae train` with an encoder member (config section `encoder`, METHOD.md §4) on the demo config
# (configs/demo.yaml, members chars + bpe, encoder = the chars model), short: it trains and writes the
# encoder into the run's config.yaml; two runs with one seed write identical checkpoints; a run
# stopped after iteration 2 and resumed equals the uninterrupted one bit for bit; `rlae eval
# --method agent:RUN` loads it with the run's config, takes the run's encoder under a config without
# one, and refuses (exit 2, naming both) under another encoder or for a bare checkpoint; a run
# without an encoder refuses to resume with one; MAPPO runs too; a bad encoder.path exits 2 naming
# the key.
source "$(dirname "$0")/lib.sh"
cd "${RLAE_SOURCE_DIR:-.}" || exit 1
[ -f experiments/demo/models/chars/model.safetensors ] || { echo "SKIP: demo models not found"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
C=configs/demo.yaml
small=(encoder.path=experiments/demo/models/chars train.iterations=3 train.episodes_per_iter=12
       ensemble.batch_size=6 train.eval_every=3 train.eval_limit=8 train.checkpoint_every=1 algorithm.minibatches=2)

expect_exit 0 "train ppo with an encoder" -- "$RLAE_BIN" train "$C" "${small[@]}" run.out_dir="$tmp/a"
a_params=$(printf '%s' "$out" | sed -n 's/.*agent ppo with \([0-9]*\) parameters.*/\1/p')
expect_match '^iter 3/3 reward [0-9.-]+ acc [0-9.]+ len [0-9.]+ w=\[[0-9.]+ [0-9.]+\] loss' "$out" "every iteration runs"
expect_match '^eval iter 3: synthetic/test accuracy' "$out" "the final evaluation runs with the encoder"
[ -f "$tmp/a/checkpoint.bin" ]; expect_match '^0$' "$?" "checkpoint.bin written"
expect_match 'path: experiments/demo/models/chars' "$(sed -n '/^encoder:/,/^[a-z]/p' "$tmp/a/config.yaml")" \
  "the run's config.yaml records the encoder"
expect_exit 0 "train without an encoder" -- "$RLAE_BIN" train "$C" "${small[@]}" encoder.path= run.out_dir="$tmp/p"
p_params=$(printf '%s' "$out" | sed -n 's/.*agent ppo with \([0-9]*\) parameters.*/\1/p')
# chars' hidden size 64 -> proj_dim 32 (64*32 + 32), and the trunk and critic inputs grow by 32 (2 x 32 x 64)
expect_match "^$((p_params + 64 * 32 + 32 + 2 * 32 * 64))\$" "$a_params" "the encoder adds its projection and 32 inputs"

expect_exit 0 "same seed again" -- "$RLAE_BIN" train "$C" "${small[@]}" run.out_dir="$tmp/b"
cmp -s "$tmp/a/checkpoint.bin" "$tmp/b/checkpoint.bin"; expect_match '^0$' "$?" "two runs with one seed: identical checkpoints"
cmp -s "$tmp/a/checkpoint.bin" "$tmp/p/checkpoint.bin"; expect_match '^1$' "$?" "the encoder changes the agent"

expect_exit 0 "train 2 iterations" -- "$RLAE_BIN" train "$C" "${small[@]}" train.iterations=2 run.out_dir="$tmp/k"
expect_exit 0 "resume to 3" -- "$RLAE_BIN" train --resume "$tmp/k" train.iterations=3
expect_match 'resuming at iteration 3 of 3' "$out" "resume starts after the checkpoint"
cmp -s "$tmp/a/checkpoint.bin" "$tmp/k/checkpoint.bin"; expect_match '^0$' "$?" "stopped + resumed == uninterrupted, bit for bit"

expect_exit 0 "eval the agent with its run's config" -- "$RLAE_BIN" eval "$tmp/a/config.yaml" --method agent:"$tmp/a" \
  --method uniform --limit 4 run.out_dir="$tmp/ev"
expect_match "^agent:$tmp/a +[0-9.]+ \\+- [0-9.]+ \\(n=4\\)" "$out" "the trained agent is a row of the eval table"
expect_exit 0 "eval under a config without the encoder" -- "$RLAE_BIN" eval "$C" --method agent:"$tmp/a" --limit 4 \
  run.out_dir="$tmp/ev2"
expect_match 'encoder member experiments/demo/models/chars, as in the run of agent:' "$err" \
  "eval takes the encoder of the agent's run when the config names none, and says so"
expect_exit 2 "eval under a config with another encoder" -- "$RLAE_BIN" eval "$C" --method agent:"$tmp/a" --limit 4 \
  encoder.path=experiments/demo/models/bpe run.out_dir="$tmp/ev3"
expect_match 'trained with encoder.path experiments/demo/models/chars but this run uses' "$err" \
  "agents and configs with different encoders are refused, naming both"
expect_exit 0 "generate with the agent under a config without the encoder" -- "$RLAE_BIN" generate "$C" \
  --agent "$tmp/a" --prompt "Question: Copy the string: abc
Answer:"
expect_match 'encoder member experiments/demo/models/chars, as in the run of' "$err" \
  "generate --agent takes the encoder of the agent's run too"
mkdir -p "$tmp/bare" && cp "$tmp/a/checkpoint.bin" "$tmp/bare/"
expect_exit 2 "a bare checkpoint under a config without the encoder" -- "$RLAE_BIN" eval "$C" \
  --method agent:"$tmp/bare/checkpoint.bin" --limit 4 run.out_dir="$tmp/ev4"
expect_match 'trained with an encoder member but this config has none' "$err" "the refusal says the encoder is missing"
expect_exit 2 "resume a run without an encoder with one" -- "$RLAE_BIN" train --resume "$tmp/p" train.iterations=4 \
  encoder.path=experiments/demo/models/bpe
expect_match 'trained without an encoder member' "$err" "the refusal says the checkpoint has no encoder"

expect_exit 0 "mappo with an encoder" -- "$RLAE_BIN" train configs/demo_mappo.yaml "${small[@]}" train.iterations=1 \
  encoder.path=experiments/demo/models/bpe run.out_dir="$tmp/m"
expect_match '^iter 1/1 ' "$out" "mappo trains with an encoder"

expect_exit 2 "bad encoder path" -- "$RLAE_BIN" train "$C" "${small[@]}" encoder.path=no/such/model run.out_dir="$tmp/x"
expect_match 'encoder\.path' "$err" "the error names encoder.path"
finish
