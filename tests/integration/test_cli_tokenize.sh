# `rlae tokenize` end to end: ids and --pieces for a tokenizer.json fixture and a llama2.c
# tokenizer.bin, and exit code 2 for a missing file, a malformed file and bad flags.
. "$(dirname "$0")/lib.sh"
fx="${RLAE_SOURCE_DIR}/tests/fixtures/tokenizers"

expect_exit 0 "gpt2 ids" -- "$RLAE_BIN" tokenize --tokenizer "$fx/gpt2/tokenizer.json" --text "The quick brown fox"
expect_match '^464 2068 7586 21831$' "$out" "gpt2 ids"
expect_exit 0 "gpt2 pieces" -- "$RLAE_BIN" tokenize --tokenizer "$fx/gpt2/tokenizer.json" --pieces --text "The  é"
expect_match '^464	"The"$' "$out" "gpt2 piece The"
expect_match '^220	" "$' "$out" "gpt2 piece space"
expect_match '^38251	" \\xc3\\xa9"$' "$out" "gpt2 piece bytes escaped"
expect_exit 0 "llama2 json bos" -- "$RLAE_BIN" tokenize --tokenizer "$fx/llama2" --text "Hello world"
expect_match '^1 15043 3186$' "$out" "llama2 tokenizer.json with BOS"
expect_exit 0 "llama2 json no bos" -- "$RLAE_BIN" tokenize --tokenizer "$fx/llama2/tokenizer.json" --no-bos --text "Hello world"
expect_match '^15043 3186$' "$out" "llama2 tokenizer.json --no-bos"
expect_exit 0 "llama2 pieces" -- "$RLAE_BIN" tokenize --tokenizer "$fx/llama2" --pieces --text "a"$'\n'
expect_match '^1	"<s>"	special$' "$out" "BOS marked special"
expect_match '^13	"\\x0a"$' "$out" "newline byte piece"

expect_exit 2 "missing file" -- "$RLAE_BIN" tokenize --tokenizer /nonexistent/tokenizer.json --text hi
expect_match 'nonexistent' "$err" "missing file named"
expect_exit 2 "bad flag" -- "$RLAE_BIN" tokenize --tokenizer "$fx/gpt2/tokenizer.json" --text hi --bogus
expect_exit 2 "no text" -- "$RLAE_BIN" tokenize --tokenizer "$fx/gpt2/tokenizer.json"
expect_exit 2 "no value" -- "$RLAE_BIN" tokenize --text
bad=$(mktemp /tmp/rlae-badtok.XXXXXX.json)
printf '{"model": {"type": "BPE", "vocab": {' > "$bad"
expect_exit 2 "truncated json" -- "$RLAE_BIN" tokenize --tokenizer "$bad" --text hi
expect_match 'not valid JSON' "$err" "truncated json message"
rm -f "$bad"

sd=${RLAE_SHARED_DIR:-${RLAE_SOURCE_DIR}/../shared}
if [ -f "$sd/models/stories260K/tok512.bin" ]; then
  expect_exit 0 "llama2.c tok512" -- "$RLAE_BIN" tokenize --tokenizer "$sd/models/stories260K/tok512.bin" --pieces --text "Once upon a time"
  expect_match '^1	"\\x0a<s>\\x0a"	special$' "$out" "llama2.c BOS piece"
fi
finish
