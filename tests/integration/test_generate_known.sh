#!/usr/bin/env bash
# `rlae generate --model` against documented greedy outputs, byte for byte.
#  - stories260K: llama2.c's doc/stories260K.md documents the whole greedy output of
#    `./run stories260K.bin -z tok512.bin -t 0.0` (256 steps) and its test_all.py the first 200 steps
#    (`-n 200`). With an empty prompt run.c's steps are generated tokens, so --max-tokens N == -n N.
#  - babyllama105: ../shared/models/SOURCE.md documents the beginning of its greedy output.
#  - with --prompt "Once upon a time" the prompt is echoed and greedy decoding continues it into the
#    same documented story.
# Also: the tokenizer is found beside the checkpoint, and bad usage exits 2.
source "$(dirname "$0")/lib.sh"
M=$(shared_dir)/models
[ -f "$M/stories260K/stories260K.bin" ] || { echo "SKIP: stories260K not found"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# expect_bytes FILE EXPECTED DESCRIPTION: FILE holds exactly EXPECTED (or starts with it: prefix=1).
expect_bytes() {
  local file=$1 want=$2 what=$3 prefix=${4:-0}
  printf '%s' "$want" > "$tmp/want"
  local n; n=$(wc -c < "$tmp/want")
  if [ "$prefix" = 1 ]; then head -c "$n" "$file" > "$tmp/got"; else cp "$file" "$tmp/got"; fi
  if cmp -s "$tmp/want" "$tmp/got"; then passes=$((passes+1)); else
    fails=$((fails+1)); echo "FAIL: $what"; echo "--- expected"; cat "$tmp/want"; echo; echo "--- got"; cat "$tmp/got"; echo; fi
}

S260_FULL='Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.
Lily'"'"'s mom said, "Lily, let'"'"'s go to the park." Lily was sad and didn'"'"'t know what to do. She said, "I want to play with your ball, but I can'"'"'t find it."
Lily was sad and didn'"'"'t know what to do. She said, "I'"'"'m sorry, Lily. I didn'"'"'t know what to do."
Lily didn'"'"'t want to help her mom, so she said, "I'"'"'m sorry, mom. I didn'"'"'t know what to do." Her mom said, "Don'"'"'t worry, Lily. We can help you.'
S260_200='Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.
Lily'"'"'s mom said, "Lily, let'"'"'s go to the park." Lily was sad and didn'"'"'t know what to do. She said, "I want to play with your ball, but I can'"'"'t find it."
Lily was sad and didn'"'"'t know what to do. She said, "I'"'"'m sorry, Lily. I didn'"'"'t know what to do."
Lily didn'"'"'t want to help her mom, so she'
BABY='Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. One day, she went to the park with her mommy and daddy.'

gen() { "$RLAE_BIN" generate "$@" > "$tmp/out" 2> "$tmp/err"; echo $? > "$tmp/rc"; }

gen --model "$M/stories260K/stories260K.bin" --temperature 0
expect_match '^0$' "$(cat "$tmp/rc")" "stories260K greedy exits 0 ($(head -c 300 "$tmp/err"))"
expect_bytes "$tmp/out" "$S260_FULL
" "stories260K greedy output == llama2.c doc/stories260K.md (256 tokens, then a newline)"
expect_match 'decode .* tok/s' "$(cat "$tmp/err")" "tokens/s reported on stderr"

gen --model "$M/stories260K/stories260K.bin" --temperature 0 --max-tokens 200 --no-stream
expect_bytes "$tmp/out" "$S260_200
" "stories260K --max-tokens 200 == llama2.c test_all.py expected_stdout (-n 200)"

gen --model "$M/stories260K/stories260K.bin" --tokenizer "$M/stories260K/tok512.bin" --temperature 0 \
    --prompt "Once upon a time" --max-tokens 60
expect_bytes "$tmp/out" "${S260_200%%Lily\'s mom*}" "stories260K with prompt 'Once upon a time' continues the documented story" 1

if [ -f "$M/babyllama105/model5000.bin" ]; then
  gen --model "$M/babyllama105/model5000.bin" --temperature 0
  expect_match '^0$' "$(cat "$tmp/rc")" "babyllama105 greedy exits 0 ($(head -c 300 "$tmp/err"))"
  expect_bytes "$tmp/out" "$BABY" "babyllama105 greedy output begins as documented in SOURCE.md" 1
  gen --model "$M/babyllama105/model5000.bin" --temperature 0 --prompt "Once upon a time" --max-tokens 150
  expect_bytes "$tmp/out" "$BABY" "babyllama105 with prompt 'Once upon a time' continues the documented story" 1
fi

# sampling: same seed, same text; the batch option runs and prints one sequence
gen --model "$M/stories260K/stories260K.bin" --temperature 0.9 --top-p 0.9 --top-k 40 --seed 5 --max-tokens 40
cp "$tmp/out" "$tmp/s1"
gen --model "$M/stories260K/stories260K.bin" --temperature 0.9 --top-p 0.9 --top-k 40 --seed 5 --max-tokens 40
if cmp -s "$tmp/s1" "$tmp/out" && [ -s "$tmp/out" ]; then passes=$((passes+1)); else
  fails=$((fails+1)); echo "FAIL: same seed gave different samples"; fi
gen --model "$M/stories260K/stories260K.bin" --temperature 0 --batch 3 --max-tokens 200
expect_bytes "$tmp/out" "$S260_200" "--batch 3 greedy: sequence 0 is the documented story" 1

# errors
expect_exit 2 "missing --model is a usage error" -- "$RLAE_BIN" generate --prompt hi
expect_exit 2 "a bad number is a usage error" -- "$RLAE_BIN" generate --model x --max-tokens -3
expect_exit 2 "a missing checkpoint is bad input" -- "$RLAE_BIN" generate --model "$tmp/none.bin"
cp "$M/stories260K/stories260K.bin" "$tmp/m.bin"
expect_exit 2 "no tokenizer beside the checkpoint is bad input" -- "$RLAE_BIN" generate --model "$tmp/m.bin"
expect_match 'tokenizer' "$err" "the error names the missing tokenizer"

# A tokenizer without BOS (the demo's byte-level bpe member, an HF directory): the whole prompt is echoed.
D="${RLAE_SOURCE_DIR:-$(dirname "$0")/../..}/experiments/demo/models/bpe"
if [ -f "$D/model.safetensors" ]; then
  gen --model "$D" --prompt "Question: Reverse the string: abc" --max-tokens 0 --temperature 0
  expect_bytes "$tmp/out" "Question: Reverse the string: abc
" "a prompt without BOS is echoed from its first token"
fi
finish
