#!/usr/bin/env bash
# `mpirun -np N rlae train CONFIG dist.backend=mpi` on the two real tiny models (stories260K +
# babyllama105): 2 and 3 ranks, in both placements (data_parallel, model_parallel), must produce
# the episodes, spans, tokens, text, evaluation and update rows and the final checkpoint of a
# one-process run with the same seed, bit for bit (docs/distributed.md). Under model_parallel each
# rank loads only its own members' weights (the others: tokenizer and configuration) and says so;
# a rank whose members are meta-only keeps the results bit-identical. Also: PPO and MAPPO, a
# resume on more ranks than the run started with, and errors that name the rank and end the job.
# Skips (77) without mpirun. RLAE_MPIRUN overrides the launcher (default: mpirun --oversubscribe,
# plus --allow-run-as-root as root).
source "$(dirname "$0")/lib.sh"
require_tiny_models
command -v mpirun >/dev/null || { echo "SKIP: mpirun not found (install openmpi-bin)"; exit 77; }
if [ -n "${RLAE_MPIRUN:-}" ]; then read -r -a MPI <<< "$RLAE_MPIRUN"; else
  MPI=(mpirun --oversubscribe); [ "$(id -u)" -eq 0 ] && MPI+=(--allow-run-as-root); fi
export OMP_NUM_THREADS=1 # the ranks share the machine's cores
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/train.yaml" <<YAML
run: {name: dist, seed: 11, out_dir: "$tmp/run"}
$(tiny_members_yaml)
ensemble: {span: 3, max_new_tokens: 10, decoding: sample, temperature: 1.0, policy: agent, batch_size: 4,
           stop: ["\n"]}
algorithm: {name: ppo, epochs: 2, minibatches: 3}
agent: {hidden: 16, layers: 1, proj_dim: 8, span_embed_dim: 4}
task: {name: synthetic, synthetic: {n_train: 50, n_test: 8}}
train: {iterations: 2, episodes_per_iter: 14, eval_every: 0, eval_limit: 5, checkpoint_every: 1}
YAML
C="$tmp/train.yaml"

# same_run A B WHAT: checkpoint bytes and every logged table of two run directories are equal
# (updates without their wall-clock seconds).
same_run() {
  cmp -s "$1/checkpoint.bin" "$2/checkpoint.bin"; expect_match '^0$' "$?" "$3: identical checkpoint.bin"
  local t diff=""
  for t in episodes spans tokens text eval updates; do
    "$RLAE_BIN" inspect "$1/run.h5" --export csv $t 2>/dev/null | cut -d, -f1-13 > "$tmp/x.csv"
    "$RLAE_BIN" inspect "$2/run.h5" --export csv $t 2>/dev/null | cut -d, -f1-13 > "$tmp/y.csv"
    [ -s "$tmp/x.csv" ] && cmp -s "$tmp/x.csv" "$tmp/y.csv" || diff="$diff $t"
  done
  expect_match '^same$' "${diff:-same}" "$3: identical episodes, spans, tokens, text, eval and update rows (differ:$diff)"
}

expect_exit 0 "one process (single backend)" -- "$RLAE_BIN" train "$C" run.out_dir="$tmp/r1"
expect_match '^iter 2/2 ' "$out" "the one-process run trains"

for place in data_parallel model_parallel; do
  for n in 2 3; do
    expect_exit 0 "$n ranks $place" -- "${MPI[@]}" -np $n "$RLAE_BIN" train "$C" run.out_dir="$tmp/$place$n" \
      dist.backend=mpi dist.placement=$place
    expect_match "^train: $n ranks, dist.backend mpi, dist.placement $place" "$out" "rank 0 says how it runs"
    expect_match '^iter 2/2 ' "$out" "$n ranks $place train"
    n_iter=$(printf '%s\n' "$out" | grep -c '^iter ')
    expect_match '^2$' "$n_iter" "$n ranks $place: only rank 0 prints progress"
    same_run "$tmp/r1" "$tmp/$place$n" "$n ranks $place vs 1 process"
    if [ $place = model_parallel ]; then # member k's weights on rank k mod n only
      l1=$(printf '%s\n' "$err" | grep -E '^rlae\[rank 1\]: rank 1 of' || true)
      expect_match "^rlae\[rank 1\]: rank 1 of $n: weights for members baby; stories: tokenizer only\$" "$l1" \
        "$n ranks model_parallel: rank 1 holds the weights of member 1 only"
      l0=$(printf '%s\n' "$err" | grep -E '^rlae\[rank 0\]: rank 0 of' || true)
      expect_match "^rlae\[rank 0\]: rank 0 of $n: weights for members stories; baby: tokenizer only\$" "$l0" \
        "$n ranks model_parallel: rank 0 holds the weights of member 0 only"
    else
      printf '%s\n' "$err" | grep -q 'tokenizer only'
      expect_match '^1$' "$?" "$n ranks data_parallel: every rank holds every member"
    fi
  done
done
l2=$(printf '%s\n' "$err" | grep -E '^rlae\[rank 2\]: rank 2 of' || true) # the last run: 3 ranks model_parallel
expect_match '^rlae\[rank 2\]: rank 2 of 3: weights for members \(none\); stories, baby: tokenizer only$' "$l2" \
  "3 ranks model_parallel: rank 2 (past the 2 members) holds no weights"
# log-likelihood scoring runs every member on every rank (run/evaluate.c): every rank loads them all
expect_exit 0 "2 ranks model_parallel, loglik scoring" -- "${MPI[@]}" -np 2 "$RLAE_BIN" train "$C" \
  run.out_dir="$tmp/ll2" train.iterations=1 task.mc_scoring=loglik dist.backend=mpi dist.placement=model_parallel
expect_match '^rlae\[rank 1\]: rank 1 of 2: weights for every member: task.mc_scoring loglik' "$err" \
  "model_parallel with loglik scoring: rank 1 holds every member and says why"

expect_exit 0 "mappo, one process" -- "$RLAE_BIN" train "$C" run.out_dir="$tmp/m1" algorithm.name=mappo
expect_exit 0 "mappo, 3 ranks" -- "${MPI[@]}" -np 3 "$RLAE_BIN" train "$C" run.out_dir="$tmp/m3" algorithm.name=mappo \
  dist.backend=mpi
same_run "$tmp/m1" "$tmp/m3" "mappo on 3 ranks vs 1 process"

# a run started on one process continues on two: the same as never stopping
expect_exit 0 "one iteration" -- "$RLAE_BIN" train "$C" run.out_dir="$tmp/res" train.iterations=1
expect_exit 0 "resume on 2 ranks" -- "${MPI[@]}" -np 2 "$RLAE_BIN" train --resume "$tmp/res" train.iterations=2 \
  dist.backend=mpi
expect_match 'resuming at iteration 2 of 2' "$out" "resume on 2 ranks starts after the checkpoint"
cmp -s "$tmp/r1/checkpoint.bin" "$tmp/res/checkpoint.bin"
expect_match '^0$' "$?" "1 process then resumed on 2 ranks == 1 process throughout"

# errors name the rank and end every rank (no hang), with the CLI's exit code
expect_exit 2 "out_dir taken, 2 ranks" -- timeout 60 "${MPI[@]}" -np 2 "$RLAE_BIN" train "$C" run.out_dir="$tmp/r1" \
  dist.backend=mpi
expect_match 'rank 0 of 2: .*already holds a run' "$err" "the error names the rank"
finish
