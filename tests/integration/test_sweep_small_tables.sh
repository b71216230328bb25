#!/usr/bin/env bash
# The other small experiments (experiments/small/{generalisation,latency,span}.yaml) run to the end
# and produce their tables: generalisation evaluates the agent trained on reversal (one training
# run) on every skill; latency gives ms/item and items/s cells from each run's done.json and eval.h5;
# the span ablation gives one column per span with --by span, each cell the mean over tasks of the
# per-task cells of the plain table (checked here from the two tables' own numbers). The paper-scale
# experiments plan without error (their checkpoints are placeholders, so they are not run).
set -u
RLAE=${RLAE_BIN:?RLAE_BIN not set}
SRC=${RLAE_SOURCE_DIR:?RLAE_SOURCE_DIR not set}
cd "$SRC" || exit 1
[ -f experiments/demo/models/chars/model.safetensors ] || { echo "SKIP: demo models missing"; exit 77; }
export OMP_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for x in generalisation latency span; do
  "$RLAE" sweep experiments/small/$x.yaml --out "$tmp/$x" --jobs 2 > "$tmp/$x.txt" 2>&1 || fail "$x: $(tail -5 "$tmp/$x.txt")"
done
# generalisation: one agent trained (on reversal), evaluated on 3 skills
[ "$(ls -d "$tmp"/generalisation/runs/train-* | wc -l)" = 1 ] || fail "generalisation: not exactly one training run"
[ "$(ls -d "$tmp"/generalisation/runs/rlae_ppo-* | wc -l)" = 3 ] || fail "generalisation: not 3 agent evaluations"
grep -q -- "--method agent:$tmp/generalisation/runs/train-rlae_ppo-reversal-s1-" "$tmp"/generalisation/runs/rlae_ppo-counting-*/log.txt ||
  fail "generalisation: counting not evaluated with the reversal agent"
"$RLAE" table experiments/small/generalisation.yaml --out "$tmp/generalisation" > "$tmp/g.md" || fail "generalisation table"
grep -q "^| method | reversal | copy | counting | average |" "$tmp/g.md" || fail "generalisation table: $(cat "$tmp/g.md")"
# latency: two tables, numbers in every cell
"$RLAE" table experiments/small/latency.yaml --out "$tmp/latency" --metric latency > "$tmp/l.md" || fail "latency table"
grep -q "ms per item" "$tmp/l.md" && grep -q "items per second" "$tmp/l.md" || fail "latency tables: $(cat "$tmp/l.md")"
[ "$(grep -c '^| rlae_ppo | \**[0-9][0-9.]*\**' "$tmp/l.md")" = 2 ] || fail "latency: rlae_ppo cells: $(cat "$tmp/l.md")"
# span: --by span cells are the averages of the per-span tables
"$RLAE" table experiments/small/span.yaml --out "$tmp/span" --format csv > "$tmp/s.csv" || fail "span table"
"$RLAE" table experiments/small/span.yaml --out "$tmp/span" --format csv --by span > "$tmp/sb.csv" || fail "span --by"
head -2 "$tmp/sb.csv" | tail -1 | grep -q "^method,span 4,span 8,span 16$" || fail "span --by header: $(cat "$tmp/sb.csv")"
for m in uniform rlae_ppo; do
  by=$(grep "^$m," "$tmp/sb.csv" | cut -d, -f2- | tr -d '*')
  avg=$(grep "^$m," "$tmp/s.csv" | awk -F, '{print $NF}' | tr -d '*' | paste -sd, -)
  [ "$by" = "$avg" ] || fail "span: $m: --by span gives $by, the per-span tables' averages are $avg"
done
for x in main generalisation latency span; do
  "$RLAE" sweep experiments/$x.yaml --dry-run > "$tmp/p.txt" 2>&1 || fail "$x.yaml does not plan: $(tail -3 "$tmp/p.txt")"
  grep -q " 0 invalid$" "$tmp/p.txt" || fail "$x.yaml has invalid runs: $(grep invalid "$tmp/p.txt" | head -3)"
done
echo "ok: the small experiments' tables"
