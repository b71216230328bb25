# Helpers for shell integration tests of the rlae command. Source it; $RLAE_BIN is the binary.
set -u
fails=0; passes=0
RLAE_BIN=${RLAE_BIN:-rlae}
shared_dir() {
  local d=${RLAE_SHARED_DIR:-${RLAE_SOURCE_DIR:-.}/../shared}
  [ -d "$d" ] || { echo "SKIP: shared assets not found at $d (set RLAE_SHARED_DIR)"; exit 77; }
  echo "$d"
}
# expect_exit CODE DESCRIPTION -- COMMAND...: runs it, keeps stdout in $out and stderr in $err.
expect_exit() {
  local want=$1 what=$2; shift 3
  out=$("$@" 2>/tmp/rlae-test-err.$$); local got=$?
  err=$(cat /tmp/rlae-test-err.$$); rm -f /tmp/rlae-test-err.$$
  if [ "$got" -eq "$want" ]; then passes=$((passes+1)); else
    fails=$((fails+1)); echo "FAIL: $what: exit $got, expected $want"; echo "  stderr: $err" | head -5; fi
}
# expect_match PATTERN TEXT DESCRIPTION: grep -E PATTERN in TEXT.
expect_match() {
  if printf '%s' "$2" | grep -qE -- "$1"; then passes=$((passes+1)); else
    fails=$((fails+1)); echo "FAIL: $3: no match for /$1/ in:"; printf '%s\n' "$2" | head -8; fi
}
finish() { echo "$(basename "$0" .sh): $passes passed, $fails failed"; [ "$fails" -eq 0 ]; exit $?; }
# require_tiny_models: sets M to ../shared/models, or skips (77) when the two tiny models are absent.
require_tiny_models() {
  M=$(shared_dir)/models
  [ -f "$M/stories260K/stories260K.bin" ] && [ -f "$M/babyllama105/model5000.bin" ] ||
    { echo "SKIP: tiny models not found"; exit 77; }
}
# tiny_members_yaml: a config's `members:` block with the two tiny models (after require_tiny_models).
tiny_members_yaml() {
  cat <<YAML
members:
  - {name: stories, path: "$M/stories260K/stories260K.bin"}
  - {name: baby, path: "$M/babyllama105/model5000.bin", tokenizer: "$M/babyllama105/tok105.bin"}
YAML
}
# gpu_probe_or_skip WHAT RC_FILE ERR_FILE FIX_PATTERN...: after a first run that asked for the GPU.
# Exit 0 (it ran) returns. Exit 2 (the no-GPU refusal) checks that the message says why and matches
# each FIX_PATTERN, then skips (77), or fails if a check did. Any other exit fails the test.
gpu_probe_or_skip() {
  local what=$1 rc err p; rc=$(cat "$2"); err=$(cat "$3"); shift 3
  [ "$rc" = 0 ] && return 0
  if [ "$rc" != 2 ]; then
    echo "FAIL: $what failed (exit $rc), which is neither a run nor the no-GPU refusal:"
    printf '%s\n' "$err" | head -5; exit 1; fi
  expect_match 'no CUDA backend|no GPU is usable' "$err" "$what without a GPU: the error says why"
  for p in "$@"; do expect_match "$p" "$err" "$what without a GPU: the error matches /$p/"; done
  echo "$(basename "$0" .sh): $passes passed, $fails failed (no GPU: the GPU part is skipped)"
  [ "$fails" -eq 0 ] || exit 1
  exit 77
}
