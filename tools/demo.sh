#!/usr/bin/env bash
# The README's first command. Installs what is missing, builds rlae, and runs what works today:
# the two real tiny Llama models from ../shared generate greedily (each with its own tokenizer:
# 512-token BPE vs 105 characters), then write one answer together as an ensemble (exact union of
# their vocabularies, uniform and gated weights, the weights and the most confident member shown per
# token), and the demo config is resolved with every default shown.
# The full RLAE demo (training an agent that beats every member and uniform weights) replaces this
# once the agent, training and the demo members exist.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
shared=${RLAE_SHARED_DIR:-$root/../shared}
bash "$root/tools/build.sh"
rlae="$build_dir/rlae"
[ -d "$shared/models" ] || { echo "demo: the shared models are not at $shared/models (set RLAE_SHARED_DIR)" >&2; exit 2; }

echo
echo "== rlae generate: stories260K (llama2.c checkpoint, 512-token SentencePiece BPE), greedy"
"$rlae" generate --model "$shared/models/stories260K/stories260K.bin" --prompt "Once upon a time" \
  --temperature 0 --max-tokens 120
echo
echo "== rlae generate: babyllama105 (llama2.c checkpoint, 105 characters), greedy"
"$rlae" generate --model "$shared/models/babyllama105/model5000.bin" --prompt "Once upon a time" \
  --temperature 0 --max-tokens 200
echo
echo "== rlae tokenize: the same text in both vocabularies"
"$rlae" tokenize --tokenizer "$shared/models/stories260K/tok512.bin" --text "Lily saw a big ball." --pieces
"$rlae" tokenize --tokenizer "$shared/models/babyllama105/tok105.bin" --text "Lily saw a big ball." --pieces
echo
tiny=(generate "$root/configs/models/tiny.yaml"
      "members.0.path=$shared/models/stories260K/stories260K.bin" "members.0.tokenizer=$shared/models/stories260K/tok512.bin"
      "members.1.path=$shared/models/babyllama105/model5000.bin" "members.1.tokenizer=$shared/models/babyllama105/tok105.bin")
echo "== rlae generate configs/models/tiny.yaml: both models as one ensemble, uniform weights (GaC average)"
"$rlae" "${tiny[@]}" --prompt "Once upon a time" --show-weights ensemble.max_new_tokens=24 ensemble.span=8
echo
echo "== the same, GaC gated: babyllama105 alone while it is confident (top-1 >= 0.5), else both"
"$rlae" "${tiny[@]}" --prompt "Once upon a time" ensemble.policy=gated ensemble.gate_member=babyllama105 \
  ensemble.max_new_tokens=60
echo
echo "== rlae config show configs/demo.yaml (resolved, with every default)"
"$rlae" config show "$root/configs/demo.yaml"
echo
echo "demo: done. The RL agent, training and the trained demo members are not built yet;"
echo "      see the README's status section."
