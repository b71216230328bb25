#!/usr/bin/env bash
# The README's first command: installs what is missing, builds rlae, and shows RLAE working on a CPU
# in a few minutes, offline. The demo's two members (experiments/demo/models, see MODEL_CARD.md) are
# tiny specialists with different tokenizers: `chars` reverses strings, `bpe` copies them, and each is
# confidently wrong on the other skill. A PPO agent (configs/demo.yaml) and a MAPPO agent
# (configs/demo_mappo.yaml) learn, from the reward alone, which member to trust span by span; then
# both are evaluated on the test split next to each member alone and the fixed weightings (uniform,
# score), with 95% confidence intervals per skill. Everything lands in runs/demo-<time>/ (HDF5 logs,
# checkpoints, eval.csv).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
bash "$root/tools/build.sh"
rlae="$build_dir/rlae"
cd "$root" # the demo configs name their members relative to the repository root
out="runs/demo-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"

echo
echo "== the members alone, one question of each skill (greedy)"
for q in "Reverse the string: lemon" "Copy the string: lemon"; do
  for m in chars bpe; do
    printf '%-6s %-28s ->' "$m" "$q"
    "$rlae" generate --model "experiments/demo/models/$m" --prompt "Question: $q
Answer:" --temperature 0 --max-tokens 24 2>/dev/null | sed -n 's/^Answer://p'
  done
done

for algo in ppo mappo; do
  cfg=configs/demo.yaml
  [ "$algo" = mappo ] && cfg=configs/demo_mappo.yaml
  echo
  echo "== rlae train $cfg: a ${algo^^} agent learns to weight the members (40 iterations x 64 questions)"
  "$rlae" train "$cfg" run.out_dir="$out/$algo" | grep -E '^(train|iter (1|10|20|30|40)/|eval)'
done

echo
echo "== rlae eval: 400 test questions; accuracy +- 95% CI half-width, per skill"
"$rlae" eval configs/demo.yaml --method single:chars --method single:bpe --method uniform --method score \
  --method RLAE_PPO=agent:"$out/ppo" --method RLAE_MAPPO=agent:"$out/mappo" --by-subject \
  run.out_dir="$out/eval" 2>/dev/null | sed -n '/by subject/,$p'

echo
echo "== rlae inspect $out/ppo/run.h5: what the PPO agent trusted while it trained, per skill"
"$rlae" inspect "$out/ppo/run.h5" | sed -n '/^per task/,/^$/p'

echo "== rlae generate configs/demo.yaml --agent $out/ppo --show-weights: the trained agent at work"
echo "   (weights per span; [text]k: member k gave the chosen token the highest probability)"
"$rlae" generate configs/demo.yaml --agent "$out/ppo" --show-weights --prompt "Question: Reverse the string: lemon
Answer:" 2>/dev/null | grep -vE '^\s*$' | head -8

echo
echo "demo: done in ${SECONDS} s. Runs (HDF5 logs, checkpoints, eval.csv) are in $out/"
echo "  inspect:  $rlae inspect $out/ppo/run.h5 [--episode N | --export csv spans]"
echo "  plot:     python3 tools/plot.py $out/ppo/run.h5   (needs python3-h5py, python3-matplotlib)"
echo "  again:    $rlae train configs/demo.yaml run.out_dir=runs/mine [key=value ...]"
