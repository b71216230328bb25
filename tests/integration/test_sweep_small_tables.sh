#!/usr/bin/env bash
# The other small experiments (experiments/small/{generalisation,latency,span}.yaml) run to the end
# and produce their tables: generalisation evaluates the agent trained on reversal (one training
# run) on every skill; latency gives ms/token and tokens/s cells whose means and standard deviations
# over seeds equal those computed independently from every run's eval.h5 (h5py; eval.csv without it),
# and runs without token counts (an older eval.h5, rewritten here without the fields) or without
# generated tokens (log-likelihood scoring, simulated) fall back to per-item numbers, marked;
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
grep -q "ms per generated token" "$tmp/l.md" && grep -q "generated tokens per second" "$tmp/l.md" ||
  fail "latency tables: $(cat "$tmp/l.md")"
[ "$(grep -c '^| rlae_ppo | \**[0-9][0-9.]*\** | ' "$tmp/l.md")" = 2 ] || fail "latency: rlae_ppo cells: $(cat "$tmp/l.md")"
grep -q '[†‡]' "$tmp/l.md" && fail "latency: a fallback mark on runs that have token counts: $(cat "$tmp/l.md")"
# latency over 2 seeds and 2 tasks, checked cell by cell against the runs' own files
cat > "$tmp/lat2.yaml" <<YAML
name: lat2
models: $SRC/experiments/small/models.yaml
tasks:
  reversal: {config: $SRC/experiments/small/synthetic.yaml, overrides: {task.synthetic.skills: [reversal]}}
  copy: {config: $SRC/experiments/small/synthetic.yaml, overrides: {task.synthetic.skills: [copy]}}
methods: [single, uniform]
seeds: [1, 2]
YAML
"$RLAE" sweep "$tmp/lat2.yaml" --out "$tmp/lat2" --jobs 2 > "$tmp/lat2.txt" 2>&1 || fail "lat2: $(tail -5 "$tmp/lat2.txt")"
# latency_cells.py RLAE EXPERIMENT OUT [fallback]: every cell of the latency tables (csv) against the
# mean and std over seeds computed from each run's eval.h5 (h5py; else eval.csv) and done.json
cat > "$tmp/latency_cells.py" <<'PYEOF'
import csv, glob, json, math, os, subprocess, sys
rlae, exp, out = sys.argv[1:4]
fallback = len(sys.argv) > 4
try:
    import h5py
except ImportError:
    h5py = None
runs = {}  # (method, task) -> {seed: (tokens, gen_seconds, n, wall_s)}; tokens -1: not recorded
for d in glob.glob(os.path.join(out, "runs", "*")):
    done = json.load(open(os.path.join(d, "done.json")))
    # the whole task's row (the experiment's task label is not the task's name: "reversal" is synthetic)
    rows = [r for r in csv.DictReader(open(os.path.join(d, "eval.csv"))) if r["task"] != "average" and "/" not in r["task"]]
    assert len(rows) == 1, (d, rows)
    tokens, gen, n = int(rows[0]["tokens"]), float(rows[0]["gen_seconds"]), int(rows[0]["n"])
    if h5py:
        with h5py.File(os.path.join(d, "eval.h5"), "r") as f:
            h = [r for r in f["eval"][:] if b"/" not in r["task"]]
        assert len(h) == 1 and int(h[0]["n"]) == n, (d, h)
        if "tokens" in h[0].dtype.names:
            if not fallback:
                assert int(h[0]["tokens"]) == tokens and abs(float(h[0]["gen_seconds"]) - gen) <= 1e-6, (d, h, rows)
            tokens, gen = int(h[0]["tokens"]), float(h[0]["gen_seconds"])
        else:
            tokens, gen = -1, math.nan
    assert fallback or tokens > 0, (d, tokens)
    runs.setdefault((done["method"], done["task"]), {})[done["seed"]] = (tokens, gen, n, done["wall_s"])

def value(r, kind):  # (value, mark) as docs/experiments.md defines them
    tokens, gen, n, wall = r
    amount, secs, mark = (tokens, gen, "") if tokens > 0 else (n, gen, "‡") if tokens == 0 else (n, wall, "†")
    return (1e3 * secs / amount if kind == "ms" else amount / secs), mark

def cell(xs):  # [(value, mark)] over seeds -> (mean, std, mark); mark "mixed" when they differ
    marks = set(m for _, m in xs)
    if len(marks) > 1:
        return None, None, "mixed"
    v = [x for x, _ in xs]
    m = sum(v) / len(v)
    return m, math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0, marks.pop()

def close(text, want):  # equal to the printed precision
    dec = len(text.split(".")[1]) if "." in text else 0
    return abs(float(text) - want) <= 0.5 * 10 ** -dec * 1.001 + 1e-12

text = subprocess.run([rlae, "table", exp, "--out", out, "--metric", "latency", "--format", "csv"],
                      check=True, capture_output=True, text=True).stdout
seen, checked = set(), 0
for block in text.strip().split("\n\n"):
    lines = block.splitlines()
    kind = "ms" if "ms per generated token" in lines[0] else "rate"
    assert kind == "ms" or "generated tokens per second" in lines[0], lines[0]
    head = lines[1].split(",")
    tasks, rows = head[1:-1], [l.split(",") for l in lines[2:] if not l.startswith("# ")]
    notes = "\n".join(l for l in lines if l.startswith("# ") and l != lines[0])
    want = {}
    for r in rows:
        seeds = sorted(runs[(r[0], tasks[0])])
        per = [[value(runs[(r[0], t)][s], kind) for t in tasks] for s in seeds]
        for c, t in enumerate(tasks):
            want[(r[0], c)] = cell([p[c] for p in per])
        avg = [(sum(v for v, _ in p) / len(p), p[0][1] if len(set(m for _, m in p)) == 1 else "mixed") for p in per]
        want[(r[0], len(tasks))] = cell(avg) if all(m != "mixed" for _, m in avg) else (None, None, "mixed")
    for c in range(len(head) - 1):
        col = [want[(r[0], c)] for r in rows]
        one_unit = len(set(m for _, _, m in col)) == 1 and col[0][2] != "mixed"
        best = (min if kind == "ms" else max)(m for m, _, _ in col) if one_unit else None
        for r, (m, sd, mark) in zip(rows, col):
            got = r[c + 1]
            seen.add(mark)
            checked += 1
            if mark == "mixed":
                assert got == "mixed units", (kind, r[0], head[c + 1], got)
                continue
            assert got.endswith(mark) if mark else not got.endswith(("†", "‡")), (kind, r[0], head[c + 1], got, mark)
            got = got[: len(got) - len(mark)].strip()
            assert got.endswith("*") == (m == best), (kind, r[0], head[c + 1], got, "best", best)
            parts = got.rstrip("*").split(" ± ")
            assert len(parts) == 2 and close(parts[0], m) and close(parts[1], sd), (kind, r[0], head[c + 1], got, m, sd)
    for mark in ("†", "‡"):
        assert any(mark in l for r in rows for l in r[1:]) == (mark + " " in notes), (kind, mark, notes)
assert seen == ({"", "†", "‡", "mixed"} if fallback else {""}), seen
print("ok: %d latency cells equal the means and standard deviations of the runs' files" % checked)
PYEOF
PY=
for p in python3 /usr/bin/python3; do "$p" -c 'import h5py, numpy' 2>/dev/null && { PY=$p; break; }; done
"${PY:-python3}" "$tmp/latency_cells.py" "$RLAE" "$tmp/lat2.yaml" "$tmp/lat2" ||
  fail "latency cells differ from the runs' files"
if [ -n "$PY" ]; then
  # uniform's runs as an older rlae wrote them (no tokens, gen_seconds: whole-run ms/item, †) and
  # single:bpe on copy as if scored by log-likelihood (tokens 0: scoring ms/item, ‡)
  cp -r "$tmp/lat2" "$tmp/lat3"
  "$PY" - "$tmp/lat3" <<'PYEOF' || fail "rewriting eval.h5"
import glob, json, os, sys
import h5py, numpy as np
for d in glob.glob(os.path.join(sys.argv[1], "runs", "*")):
    done = json.load(open(os.path.join(d, "done.json")))
    with h5py.File(os.path.join(d, "eval.h5"), "r+") as f:
        rows = f["eval"][:]
        if done["method"] == "uniform":
            keep = [n for n in rows.dtype.names if n not in ("tokens", "gen_seconds")]
            old = np.zeros(len(rows), dtype=[(n, rows.dtype.fields[n][0]) for n in keep])
            for n in keep:
                old[n] = rows[n]
            del f["eval"]
            f.create_dataset("eval", data=old, maxshape=(None,), chunks=True)
        elif done["method"] == "single:bpe" and done["task"] == "copy":
            rows["tokens"] = np.where(rows["tokens"] > 0, 0, rows["tokens"])
            f["eval"][:] = rows
PYEOF
  "$PY" "$tmp/latency_cells.py" "$RLAE" "$tmp/lat2.yaml" "$tmp/lat3" fallback ||
    fail "latency fallback cells differ from the runs' files"
else
  echo "note: no python3 with h5py: the fallback of runs without token counts is not checked"
fi
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
