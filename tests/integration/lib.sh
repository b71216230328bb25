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
