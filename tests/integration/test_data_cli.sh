#!/usr/bin/env bash
# `rlae data check`: counts on ../shared/data, a broken copy exits 2 naming file:line, usage errors.
source "$(dirname "$0")/lib.sh"
shared=$(shared_dir)
data=$shared/data
[ -d "$data" ] || { echo "SKIP: $data not found"; exit 77; }

expect_exit 0 "check shared data" -- "$RLAE_BIN" data check "$data"
expect_match 'gsm8k +test +1319 ' "$out" "gsm8k test count"
expect_match 'gsm8k +train +7473 ' "$out" "gsm8k train count"
expect_match 'arc_challenge +test +1172 ' "$out" "ARC-Challenge test count"
expect_match 'arc_easy +test +2376 ' "$out" "ARC-Easy test count"
expect_match 'mmlu +test +14042 .*57 subjects' "$out" "MMLU test count"
expect_match 'mmlu +dev +285 ' "$out" "MMLU dev count"
expect_match 'piqa +valid +1838 ' "$out" "PIQA valid count"
expect_match 'nq_open +dev +3610 ' "$out" "NQ-open dev count"
expect_match 'hellaswag +val +10042 ' "$out" "HellaSwag count"

# $RLAE_DATA_DIR is the default
out=$(RLAE_DATA_DIR=$data "$RLAE_BIN" data check 2>&1); rc=$?
[ $rc -eq 0 ] && passes=$((passes+1)) || { fails=$((fails+1)); echo "FAIL: RLAE_DATA_DIR default: exit $rc"; }
expect_match 'gsm8k +test +1319 ' "$out" "RLAE_DATA_DIR default"

tmp=$(mktemp -d /tmp/rlae-test-data-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/gsm8k" "$tmp/arc/ARC-Easy"
awk 'NR==42{print "{\"question\": \"broken\""; next} {print}' "$data/gsm8k/test.jsonl" > "$tmp/gsm8k/test.jsonl"
cp "$data/arc/ARC-Easy/ARC-Easy-Dev.jsonl" "$tmp/arc/ARC-Easy/"
expect_exit 2 "broken line exits 2" -- "$RLAE_BIN" data check "$tmp"
expect_match 'gsm8k/test.jsonl:42: invalid JSON' "$err" "error names file:line"
expect_match 'arc_easy +dev +570 ' "$out" "other files still checked"

expect_exit 2 "empty dir" -- "$RLAE_BIN" data check "$tmp/arc/ARC-Easy/nothing-here"
mkdir -p "$tmp/empty"
expect_exit 2 "no datasets" -- "$RLAE_BIN" data check "$tmp/empty"
expect_match 'no dataset files found' "$err" "says nothing was found"
out=$(env -u RLAE_DATA_DIR "$RLAE_BIN" data check 2>&1); rc=$?
[ $rc -eq 2 ] && passes=$((passes+1)) || { fails=$((fails+1)); echo "FAIL: no DIR: exit $rc"; }
expect_match 'RLAE_DATA_DIR' "$out" "no DIR says to set RLAE_DATA_DIR"
expect_exit 2 "unknown subcommand" -- "$RLAE_BIN" data frobnicate
expect_exit 0 "help" -- "$RLAE_BIN" data --help
finish
