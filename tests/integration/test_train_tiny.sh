#!/usr/bin/env bash
# `rlae train` end to end on the two real tiny models (stories260K + babyllama105) and the synthetic
# task, short: progress lines, the run directory (config.yaml, checkpoint.bin), determinism (two runs
# with one seed write identical checkpoints), kill -9 + --resume equals the uninterrupted run bit for
# bit, SIGTERM stops cleanly with a checkpoint (exit 130), MAPPO runs too, bad usage exits 2.
source "$(dirname "$0")/lib.sh"
require_tiny_models
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/train.yaml" <<YAML
run: {name: tiny-train, seed: 5, out_dir: "$tmp/run"}
$(tiny_members_yaml)
ensemble: {span: 4, max_new_tokens: 12, decoding: sample, temperature: 1.0, policy: agent, batch_size: 4,
           stop: ["\n"]}
algorithm: {name: ppo, epochs: 2, minibatches: 2}
agent: {hidden: 16, layers: 1, proj_dim: 8, span_embed_dim: 4}
task: {name: synthetic, synthetic: {n_train: 50, n_test: 8}}
train: {iterations: 4, episodes_per_iter: 8, eval_every: 2, eval_limit: 8, checkpoint_every: 1}
YAML
C="$tmp/train.yaml"

expect_exit 0 "train ppo" -- "$RLAE_BIN" train "$C" run.out_dir="$tmp/a"
expect_match '^iter 1/4 reward [0-9.-]+ acc [0-9.]+ len [0-9.]+ w=\[[0-9.]+ [0-9.]+\] loss' "$out" "a progress line per iteration"
expect_match '^iter 4/4 ' "$out" "every iteration runs"
expect_match '^eval iter 2: synthetic/test accuracy [0-9.]+ \[' "$out" "evaluation every eval_every iterations"
expect_match '^eval iter 4: ' "$out" "evaluation at the end"
[ -f "$tmp/a/checkpoint.bin" ] && [ -f "$tmp/a/config.yaml" ]; expect_match '^0$' "$?" "config.yaml and checkpoint.bin written"

expect_exit 0 "inspect the run" -- "$RLAE_BIN" inspect "$tmp/a/run.h5"
expect_match 'committed +through iteration 4 .*; 32 episodes' "$out" "the run log holds every iteration's episodes"
expect_match 'synthetic/add +agent' "$out" "evaluation rows per skill are logged"
expect_exit 0 "inspect an episode" -- "$RLAE_BIN" inspect "$tmp/a/run.h5" --episode 5
expect_match 'tokens as \[text\]' "$out" "the log stores the union vocabulary: tokens read as text"
expect_match 'span 0 +tokens 0\.\.3 +weights stories=[0-9.]+ baby=[0-9.]+ +logp [-0-9.]+ +value [-0-9.]+ +adv' "$out" \
  "each span's weights, log-probability, value and advantage are logged"

expect_exit 0 "generate with the trained agent" -- "$RLAE_BIN" generate "$C" --agent "$tmp/a" --prompt "What is 2 + 3?" \
  --show-weights
expect_match '^span 0 \(tokens 0-3\): stories=[0-9.]+ baby=[0-9.]+$' "$out" "rlae generate --agent shows the agent's weights"

expect_exit 0 "eval the trained agent" -- "$RLAE_BIN" eval "$C" --method agent:"$tmp/a" --method uniform --limit 4 \
  run.out_dir="$tmp/ev"
expect_match 'agent:.*synthetic|synthetic' "$out" "rlae eval prints a table"
expect_match "^agent:$tmp/a +[0-9.]+ \\+- [0-9.]+ \\(n=4\\)" "$out" "the trained agent is a row of the eval table"
expect_exit 0 "eval agent under another agent config" -- "$RLAE_BIN" eval "$C" --method trained=agent:"$tmp/a" \
  --limit 4 agent.hidden=32 algorithm.name=mappo run.out_dir="$tmp/ev2"
expect_match "^trained +[0-9.]+ \\+- [0-9.]+ \\(n=4\\)" "$out" \
  "the agent's net comes from its run's config.yaml, and --method LABEL=agent:DIR names the row"
mkdir -p "$tmp/bare" && cp "$tmp/a/checkpoint.bin" "$tmp/bare/"
expect_exit 2 "eval a bare checkpoint, other net" -- "$RLAE_BIN" eval "$C" --method agent:"$tmp/bare/checkpoint.bin" \
  agent.hidden=32 run.out_dir="$tmp/ev"
expect_match 'hidden' "$err" "a checkpoint without its run's config must match the config; the error names the setting"
expect_exit 2 "--method with an empty label" -- "$RLAE_BIN" eval "$C" --method =uniform
expect_match 'LABEL=METHOD' "$err" "a malformed LABEL=METHOD says the form"

expect_exit 0 "same seed again" -- "$RLAE_BIN" train "$C" run.out_dir="$tmp/b"
cmp -s "$tmp/a/checkpoint.bin" "$tmp/b/checkpoint.bin"; expect_match '^0$' "$?" "two runs with one seed: identical checkpoints"

expect_exit 2 "out_dir taken" -- "$RLAE_BIN" train "$C" run.out_dir="$tmp/a"
expect_match 'already holds a run' "$err" "starting over an existing run is refused"

# kill -9 after the second checkpoint, then resume: the final checkpoint equals the uninterrupted run's
"$RLAE_BIN" train "$C" run.out_dir="$tmp/k" > "$tmp/k.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do grep -q '^iter 2/4' "$tmp/k.log" 2>/dev/null && break; sleep 0.05; done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
expect_match 'iter 2/4' "$(cat "$tmp/k.log")" "the run to kill got past iteration 2"
expect_exit 0 "resume after kill -9" -- "$RLAE_BIN" train --resume "$tmp/k"
expect_match 'resuming at iteration [2-4] of 4' "$out" "resume starts after the last checkpoint"
cmp -s "$tmp/a/checkpoint.bin" "$tmp/k/checkpoint.bin"; expect_match '^0$' "$?" "killed + resumed == uninterrupted, bit for bit"
expect_exit 0 "inspect the resumed run" -- "$RLAE_BIN" inspect "$tmp/k/run.h5"
expect_match 'committed +through iteration 4 .*; 32 episodes' "$out" "the resumed log has no duplicates and no gaps"
"$RLAE_BIN" inspect "$tmp/a/run.h5" --export csv updates > "$tmp/a.csv" 2>/dev/null
"$RLAE_BIN" inspect "$tmp/k/run.h5" --export csv updates > "$tmp/k.csv" 2>/dev/null
cut -d, -f1-10 "$tmp/a.csv" > "$tmp/a10.csv"; cut -d, -f1-10 "$tmp/k.csv" > "$tmp/k10.csv"
cmp -s "$tmp/a10.csv" "$tmp/k10.csv"; expect_match '^0$' "$?" "the resumed run logged the same updates as the uninterrupted one"

# SIGTERM: finish the iteration, checkpoint, exit 130
"$RLAE_BIN" train "$C" run.out_dir="$tmp/t" train.iterations=200 > "$tmp/t.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do grep -q '^iter 1/200' "$tmp/t.log" 2>/dev/null && break; sleep 0.05; done
kill -TERM $pid; wait $pid; rc=$?
expect_match '^130$' "$rc" "SIGTERM exits 130"
expect_match 'stopped after iteration [0-9]+; checkpoint written' "$(cat "$tmp/t.log")" "SIGTERM writes a checkpoint"

expect_exit 0 "train mappo" -- "$RLAE_BIN" train "$C" run.out_dir="$tmp/m" algorithm.name=mappo train.iterations=2 \
  algorithm.value_norm=true
expect_match '^iter 2/2 ' "$out" "MAPPO trains"

expect_exit 2 "baseline policy" -- "$RLAE_BIN" train "$C" run.out_dir="$tmp/u" ensemble.policy=uniform
expect_match 'needs policy agent' "$err" "training a baseline is refused with the reason"
expect_exit 2 "no config" -- "$RLAE_BIN" train
expect_exit 2 "resume nothing" -- "$RLAE_BIN" train --resume "$tmp/nothing"
expect_match 'not a run directory' "$err" "resuming a non-run names the problem"
finish
