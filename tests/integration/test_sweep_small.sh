#!/usr/bin/env bash
# rlae sweep / rlae table end to end on experiments/small/main.yaml (the demo members, synthetic
# skills): a sweep stopped by --max-runs and by SIGINT finishes only what is missing when run again;
# an interrupted training run resumes from its checkpoint; failing runs (a config that does not
# resolve, a run that fails at run time) are reported at the end while the others complete; the
# table's cells equal the means and standard deviations over seeds computed independently with h5py
# from every run's eval.h5 (labelled from its run.yaml, not from the sweep's own bookkeeping); bad
# experiment files exit 2 naming file:line:column.
set -u
RLAE=${RLAE_BIN:?RLAE_BIN not set}
SRC=${RLAE_SOURCE_DIR:?RLAE_SOURCE_DIR not set}
cd "$SRC" || exit 1
[ -f experiments/demo/models/chars/model.safetensors ] || { echo "SKIP: demo models missing"; exit 77; }
export OMP_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
EXP=experiments/small/main.yaml
OUT=$tmp/main

# ---- the plan ----------------------------------------------------------------------------------
"$RLAE" sweep $EXP --out "$OUT" --dry-run > "$tmp/plan.txt" || fail "dry run"
grep -q "^experiment small-main: 40 runs" "$tmp/plan.txt" || fail "plan: $(head -1 "$tmp/plan.txt")"
[ "$(grep -c '^pending ' "$tmp/plan.txt")" = 40 ] || fail "dry run: not every run pending"
"$RLAE" sweep $EXP --out "$OUT" --dry-run > "$tmp/plan2.txt"
cmp -s "$tmp/plan.txt" "$tmp/plan2.txt" || fail "the plan (ids) is not stable"
[ -e "$OUT" ] && fail "--dry-run created $OUT"

# ---- a partial sweep, then a table with missing cells --------------------------------------------
"$RLAE" sweep $EXP --out "$OUT" --jobs 2 --max-runs 12 > "$tmp/s1.txt" 2> "$tmp/s1.err" || fail "sweep 1: $(tail -3 "$tmp/s1.txt")"
grep -q "40 runs: 0 were done, 12 ran, 0 failed, 28 not done" "$tmp/s1.txt" || fail "sweep 1 summary: $(tail -2 "$tmp/s1.txt")"
grep -q "^sweep: .*12/12" "$tmp/s1.err" || fail "no progress line over the sweep: $(cat "$tmp/s1.err")"
"$RLAE" table $EXP --out "$OUT" > "$tmp/t1.md" 2> "$tmp/t1.err" || fail "table on a partial sweep"
[ "$(grep -c "^| " "$tmp/t1.md")" = 10 ] || fail "partial table: rows dropped: $(cat "$tmp/t1.md")"
grep -q "missing (0/2 seeds)" "$tmp/t1.md" || fail "partial table: missing cells not marked: $(cat "$tmp/t1.md")"
grep -q "not done" "$tmp/t1.err" || fail "partial table: no note about runs not done"

# ---- SIGINT: the sweep stops, running children stop cleanly ------------------------------------
"$RLAE" sweep $EXP --out "$OUT" --jobs 1 > "$tmp/s2.txt" 2>&1 &
pid=$!
for _ in $(seq 1 400); do
  [ "$(grep -c '^done ' "$tmp/s2.txt")" -ge 3 ] && break
  sleep 0.05
done
kill -INT $pid
wait $pid
rc=$?
[ $rc = 130 ] || fail "SIGINT: sweep exited $rc, expected 130: $(tail -3 "$tmp/s2.txt")"
grep -q "sweep stopped by a signal" "$tmp/s2.txt" || fail "SIGINT: no message: $(tail -3 "$tmp/s2.txt")"
n_done=$(ls "$OUT"/runs/*/done.json | wc -l)
[ "$n_done" -gt 12 ] && [ "$n_done" -lt 40 ] || fail "SIGINT: $n_done runs done, expected between 13 and 39"
before=$(ls -d "$OUT"/runs/*/done.json | sed 's|/done.json||; s|.*/||' | sort)

# ---- finish: only what is missing runs ---------------------------------------------------------
"$RLAE" sweep $EXP --out "$OUT" --jobs 2 > "$tmp/s3.txt" 2>&1 || fail "sweep 3: $(tail -5 "$tmp/s3.txt")"
started=$(sed -n 's/^start \([^ ]*\) .*/\1/p' "$tmp/s3.txt" | sort)
all=$(ls -d "$OUT"/runs/*/done.json | sed 's|/done.json||; s|.*/||' | sort)
[ "$(echo "$all" | wc -l)" = 40 ] || fail "after the last sweep $(echo "$all" | wc -l) of 40 runs are done"
expected=$(comm -23 <(echo "$all") <(echo "$before"))
[ "$started" = "$expected" ] || fail "the last sweep ran other runs than the missing ones:
ran: $started
missing: $expected"
again=$("$RLAE" sweep $EXP --out "$OUT" | tail -1)
echo "$again" | grep -q "40 runs: 40 were done, 0 ran, 0 failed, 0 not done" || fail "a finished sweep ran again: $again"
echo "ok: interrupted sweeps finish only what is missing"

# ---- the table equals the means computed directly from the HDF5 files ---------------------------
"$RLAE" table $EXP --out "$OUT" --format csv > "$tmp/t.csv" || fail "table --format csv"
"$RLAE" table $EXP --out "$OUT" --format md > "$tmp/t.md" || fail "table --format md"
"$RLAE" table $EXP --out "$OUT" --format tex > "$tmp/t.tex" || fail "table --format tex"
grep -q "missing" "$tmp/t.md" && fail "complete sweep, yet missing cells: $(cat "$tmp/t.md")"
grep -q '\*\*' "$tmp/t.md" || fail "md table marks no best cell"
grep -q 'textbf' "$tmp/t.tex" || fail "tex table marks no best cell"
grep -q 'begin{tabular}' "$tmp/t.tex" || fail "tex table has no tabular"
PY=
for p in python3 /usr/bin/python3; do "$p" -c 'import h5py, yaml' 2>/dev/null && { PY=$p; break; }; done
if [ -n "$PY" ]; then
  "$PY" - "$OUT" "$tmp/t.csv" <<'PYEOF' || fail "table cells differ from the HDF5 files"
import glob, math, os, sys
import h5py, yaml
out, csv_path = sys.argv[1], sys.argv[2]
acc = {}  # (method, task) -> {seed: accuracy}
for d in glob.glob(os.path.join(out, "runs", "*")):
    if not os.path.exists(os.path.join(d, "eval.h5")):
        continue
    cfg = yaml.safe_load(open(os.path.join(d, "run.yaml")))
    e = cfg["ensemble"]
    if e["policy"] == "agent":
        method = "rlae_" + cfg["algorithm"]["name"]
    elif e["policy"] == "single":
        method = "single:" + e["single_member"]
    else:
        method = e["policy"]
    task = cfg["task"]["synthetic"]["skills"][0]
    with h5py.File(os.path.join(d, "eval.h5"), "r", swmr=True) as f:
        it = f["iterations"][:]
        last = it[it["iteration"] >= 0][-1]
        rows = f["eval"][: last["n_eval"]]
    whole = [r for r in rows if b"/" not in r["task"].rstrip(b"\0")]
    assert len(whole) == 1, (d, rows)
    acc.setdefault((method, task), {})[cfg["run"]["seed"]] = float(whole[0]["accuracy"])

def stats(xs):
    m = sum(xs) / len(xs)
    s = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
    return m, s

lines = [l for l in open(csv_path).read().splitlines() if l and not l.startswith("#")]
head = lines[0].split(",")
assert head[0] == "method" and head[-1] == "average", head
tasks = head[1:-1]
methods = set(m for m, _ in acc)
assert len(lines) - 1 == len(methods) == 8, (lines, methods)
checked = 0
for line in lines[1:]:
    cells = line.split(",")
    method = cells[0]
    per_seed_avg = {}
    for t, cell in zip(tasks, cells[1:-1]):
        seeds = acc[(method, t)]
        assert sorted(seeds) == [1, 2], (method, t, seeds)
        m, s = stats(list(seeds.values()))
        got_m, got_s = (float(v) for v in cell.rstrip("*").split(" ± "))
        assert abs(got_m - m) <= 5e-4 + 1e-9 and abs(got_s - s) <= 5e-4 + 1e-9, (method, t, cell, m, s)
        for seed, v in seeds.items():
            per_seed_avg[seed] = per_seed_avg.get(seed, 0) + v / len(tasks)
        checked += 1
    m, s = stats(list(per_seed_avg.values()))
    got_m, got_s = (float(v) for v in cells[-1].rstrip("*").split(" ± "))
    assert abs(got_m - m) <= 5e-4 + 1e-9 and abs(got_s - s) <= 5e-4 + 1e-9, (method, "average", cells[-1], m, s)
# best per column: the starred cells are exactly the maxima of the column's means
for c in range(1, len(head)):
    col = [(l.split(",")[0], l.split(",")[c]) for l in lines[1:]]
    means = [float(v.rstrip("*").split(" ± ")[0]) for _, v in col]
    for (meth, v), mval in zip(col, means):
        assert v.endswith("*") == (mval == max(means)), (head[c], meth, v)
print("ok: %d table cells equal the HDF5 means and standard deviations" % checked)
PYEOF
else
  echo "note: no python3 with h5py and yaml: the HDF5 cross-check of the table is skipped"
fi

# ---- failures are reported at the end; the other runs complete ---------------------------------
cat > "$tmp/fail.yaml" <<YAML
name: fail
models: $SRC/experiments/small/models.yaml
tasks:
  copy: {config: $SRC/experiments/small/synthetic.yaml, overrides: {task.synthetic.skills: [copy]}}
  broken: {config: $SRC/experiments/small/synthetic.yaml, overrides: {task.synthetic.skills: [no_such_skill]}}
methods: [uniform, rlae_ppo]
grid:
  ensemble.span: [8, 0]
YAML
"$RLAE" sweep "$tmp/fail.yaml" --out "$tmp/fail" --jobs 2 > "$tmp/f.txt" 2>&1
rc=$?
[ $rc = 1 ] || fail "a sweep with failing runs exited $rc, expected 1: $(tail -5 "$tmp/f.txt")"
# span 0 does not resolve (6 runs); no_such_skill fails at run time (its uniform eval
# and its agent's training, whose eval then fails with it)
grep -q "12 runs: 0 were done, 3 ran, 9 failed, 9 not done" "$tmp/f.txt" || fail "failure summary: $(tail -9 "$tmp/f.txt")"
grep -q "failed: uniform-broken-s1-span8-.*exit 2" "$tmp/f.txt" || fail "runtime failure not reported: $(cat "$tmp/f.txt")"
grep -q "failed: rlae_ppo-broken-s1-span8-.*its training run train-rlae_ppo-broken" "$tmp/f.txt" ||
  fail "dependent failure not reported: $(cat "$tmp/f.txt")"
grep -q "failed: uniform-copy-s1-span0-.*ensemble.span" "$tmp/f.txt" || fail "invalid config not reported: $(cat "$tmp/f.txt")"
ls "$tmp"/fail/runs/uniform-copy-s1-span8-*/done.json > /dev/null || fail "the good runs did not complete"
"$RLAE" table "$tmp/fail.yaml" --out "$tmp/fail" > "$tmp/f.md" 2> /dev/null
grep -q "| uniform | \(\*\*\)\?[0-9.]*\(\*\*\)\? | missing (0/1 seeds) |" "$tmp/f.md" || fail "failed cells not marked: $(cat "$tmp/f.md")"

# ---- an interrupted training run resumes from its checkpoint ----------------------------------
cat > "$tmp/long.yaml" <<YAML
name: long
models: $SRC/experiments/small/models.yaml
tasks:
  copy: {config: $SRC/experiments/small/synthetic.yaml, overrides: {task.synthetic.skills: [copy]}}
methods: [rlae_ppo]
overrides: {train.iterations: 40}
YAML
"$RLAE" sweep "$tmp/long.yaml" --out "$tmp/long" > "$tmp/l1.txt" 2>&1 &
pid=$!
for _ in $(seq 1 400); do
  grep -q "^iter 3/40" "$tmp"/long/runs/train-*/log.txt 2> /dev/null && break
  sleep 0.05
done
kill -INT $pid
wait $pid
rc=$?
[ $rc = 130 ] || fail "long: SIGINT during training: exit $rc: $(cat "$tmp/l1.txt")"
grep -q "stopped train-rlae_ppo-copy-s1-.*resumes from its checkpoint" "$tmp/l1.txt" || fail "long: $(cat "$tmp/l1.txt")"
"$RLAE" sweep "$tmp/long.yaml" --out "$tmp/long" > "$tmp/l2.txt" 2>&1 || fail "long: resume: $(cat "$tmp/l2.txt")"
grep -q "^start train-rlae_ppo-copy-s1-[0-9a-f]* (partial): rlae train --resume " "$tmp/l2.txt" ||
  fail "long: the interrupted training was not resumed: $(cat "$tmp/l2.txt")"
grep -q "train: .* resuming at iteration" "$tmp"/long/runs/train-*/log.txt || fail "long: train did not resume"
if [ -n "$PY" ]; then
  "$PY" - "$tmp"/long/runs/train-*/run.h5 <<'PYEOF' || fail "long: the resumed run's log is not one clean run"
import sys, h5py
with h5py.File(sys.argv[1], "r", swmr=True) as f:
    it = f["iterations"][:]
    last = it[it["iteration"] >= 0][-1]
    upd = f["updates"][: last["n_updates"]]
assert last["iteration"] == 40, last
assert list(upd["iteration"]) == list(range(1, 41)), upd["iteration"]
PYEOF
fi

# ---- bad experiment files exit 2 naming file:line:column ---------------------------------------
printf 'models: %s\ntasks: {copy: %s}\nmethods: [uniform]\nseed: [1]\n' "$SRC/experiments/small/models.yaml" \
  "$SRC/experiments/small/synthetic.yaml" > "$tmp/bad1.yaml"
"$RLAE" sweep "$tmp/bad1.yaml" --dry-run > /dev/null 2> "$tmp/b1.err"; rc=$?
[ $rc = 2 ] && grep -q "bad1.yaml:4:1: unknown experiment key 'seed' (did you mean 'seeds'?)" "$tmp/b1.err" ||
  fail "unknown key: exit $rc: $(cat "$tmp/b1.err")"
printf 'models: %s\ntasks: {copy: %s}\nmethods: [uniform, best]\n' "$SRC/experiments/small/models.yaml" \
  "$SRC/experiments/small/synthetic.yaml" > "$tmp/bad2.yaml"
"$RLAE" table "$tmp/bad2.yaml" > /dev/null 2> "$tmp/b2.err"; rc=$?
[ $rc = 2 ] && grep -q "bad2.yaml:3:20: unknown method 'best'" "$tmp/b2.err" || fail "bad method: exit $rc: $(cat "$tmp/b2.err")"
printf 'members:\n  - name: a\n    path: x\nensemble: {span: 4}\n' > "$tmp/models.yaml"
printf 'models: models.yaml\ntasks: {copy: %s}\nmethods: [single:a]\n' "$SRC/experiments/small/synthetic.yaml" > "$tmp/bad3.yaml"
"$RLAE" sweep "$tmp/bad3.yaml" > /dev/null 2> "$tmp/b3.err"; rc=$?
[ $rc = 2 ] && grep -q "models.yaml:4:1: a models file holds members: only" "$tmp/b3.err" ||
  fail "models file: exit $rc: $(cat "$tmp/b3.err")"
printf 'models: %s\ntasks: {copy: %s}\nmethods: [uniform\n' "$SRC/experiments/small/models.yaml" \
  "$SRC/experiments/small/synthetic.yaml" > "$tmp/bad4.yaml"
"$RLAE" sweep "$tmp/bad4.yaml" > /dev/null 2> "$tmp/b4.err"; rc=$?
[ $rc = 2 ] && grep -q "bad4.yaml:[0-9]*:[0-9]*" "$tmp/b4.err" || fail "malformed YAML: exit $rc: $(cat "$tmp/b4.err")"
"$RLAE" table $EXP --out "$OUT" --by span > /dev/null 2> "$tmp/b5.err"; rc=$?
[ $rc = 2 ] && grep -q "no grid" "$tmp/b5.err" || fail "--by without a grid: exit $rc: $(cat "$tmp/b5.err")"
echo "ok: rlae sweep / rlae table"
[ -n "$PY" ] || exit 77
