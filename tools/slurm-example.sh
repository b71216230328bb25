#!/usr/bin/env bash
# Example Slurm batch script for a multi-process `rlae train` (docs/distributed.md). Copy it, adapt
# the #SBATCH lines to your cluster, and submit:  sbatch tools/slurm-example.sh CONFIG [key=value ...]
#
# One task per GPU: srun starts one rlae per task, MPI (PMIx) connects them, and each rank picks its
# GPU from SLURM_LOCALID. Placement: data_parallel (every rank holds every member; the episodes are
# sharded) or model_parallel (member k lives on rank k % ntasks; use it when members do not fit on
# one GPU together). Results are bit-identical to a one-process run with the same seed.
#SBATCH --job-name=rlae-train
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=4
#SBATCH --gpus-per-node=4
#SBATCH --cpus-per-task=8
#SBATCH --time=12:00:00
#SBATCH --output=rlae-%j.out
set -euo pipefail

CONFIG=${1:?usage: sbatch tools/slurm-example.sh CONFIG [key=value ...]}
shift
RLAE=${RLAE:-rlae}                       # path of the rlae binary
BACKEND=${RLAE_DIST_BACKEND:-nccl}       # nccl on GPU nodes, mpi on CPU nodes
PLACEMENT=${RLAE_DIST_PLACEMENT:-data_parallel}

export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
# Make every rank see all GPUs of its node: rlae picks GPU (local rank mod visible GPUs).
unset CUDA_VISIBLE_DEVICES || true

# --mpi=pmix matches Open MPI 4 and 5 built with PMIx; use the plugin your site documents.
srun --mpi=pmix --kill-on-bad-exit=1 "$RLAE" train "$CONFIG" \
  dist.backend="$BACKEND" dist.placement="$PLACEMENT" "$@"

# Without Slurm, the same run on one node with mpirun:
#   mpirun -np 4 rlae train CONFIG dist.backend=nccl dist.placement=data_parallel
# A run stopped with scancel (SIGTERM) checkpoints after the current iteration; resume it with the
# same command and --resume RUN_DIR instead of CONFIG, on any number of ranks.
