#!/usr/bin/env bash
# The nccl backend on GPUs (docs/distributed.md): under mpirun with one rank it must give the same
# run as the single backend (checkpoint bytes); with two or more GPUs, 2 ranks in both placements
# must equal the one-process GPU run. Skips (77) without mpirun, without a CUDA build or without a
# GPU (NCCL does not allow two ranks on one GPU). RLAE_MPIRUN overrides the launcher.
source "$(dirname "$0")/lib.sh"
require_tiny_models
command -v mpirun >/dev/null || { echo "SKIP: mpirun not found (install openmpi-bin)"; exit 77; }
command -v nvidia-smi >/dev/null && gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU') || gpus=0
[ "$gpus" -ge 1 ] || { echo "SKIP: no GPU"; exit 77; }
if [ -n "${RLAE_MPIRUN:-}" ]; then read -r -a MPI <<< "$RLAE_MPIRUN"; else
  MPI=(mpirun --oversubscribe); [ "$(id -u)" -eq 0 ] && MPI+=(--allow-run-as-root); fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/train.yaml" <<YAML
run: {name: nccl, seed: 11, out_dir: "$tmp/run", device: cuda}
$(tiny_members_yaml)
ensemble: {span: 3, max_new_tokens: 10, decoding: sample, temperature: 1.0, policy: agent, batch_size: 4,
           stop: ["\n"]}
algorithm: {name: ppo, epochs: 2, minibatches: 3}
agent: {hidden: 16, layers: 1, proj_dim: 8, span_embed_dim: 4}
task: {name: synthetic, synthetic: {n_train: 50, n_test: 8}}
train: {iterations: 2, episodes_per_iter: 14, eval_every: 0, eval_limit: 5, checkpoint_every: 1}
YAML
C="$tmp/train.yaml"
"$RLAE_BIN" train "$C" run.out_dir="$tmp/single" > "$tmp/single.log" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -qiE 'no CUDA backend|no GPU' "$tmp/single.log"; then
  echo "SKIP: this rlae has no CUDA backend or sees no GPU"; exit 77; fi
expect_match '^0$' "$rc" "one process on the GPU trains (single backend)"

expect_exit 0 "nccl, 1 rank" -- "${MPI[@]}" -np 1 "$RLAE_BIN" train "$C" run.out_dir="$tmp/n1" dist.backend=nccl
cmp -s "$tmp/single/checkpoint.bin" "$tmp/n1/checkpoint.bin"
expect_match '^0$' "$?" "nccl with one rank == single backend, bit for bit"

if [ "$gpus" -ge 2 ]; then
  for place in data_parallel model_parallel; do
    expect_exit 0 "nccl, 2 ranks, $place" -- "${MPI[@]}" -np 2 "$RLAE_BIN" train "$C" run.out_dir="$tmp/$place" \
      dist.backend=nccl dist.placement=$place
    cmp -s "$tmp/single/checkpoint.bin" "$tmp/$place/checkpoint.bin"
    expect_match '^0$' "$?" "nccl on 2 GPUs, $place == one GPU, bit for bit"
  done
fi
finish
