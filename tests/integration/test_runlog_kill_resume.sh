# The run file survives kill -9: a writer (tests/tools/runlog_writer) appends committed iterations in a
# loop; `rlae inspect` reads it live; after SIGKILL mid-iteration the file opens with every committed
# iteration, and a resume (optionally from an earlier checkpoint) appends with no duplicate and no gap.
# Checks the episode index against the tables via --export csv, and h5dump / h5py when installed.
. "$(dirname "$0")/lib.sh"
W=${RLAE_RUNLOG_WRITER:-}
[ -n "$W" ] && [ -x "$W" ] || { echo "SKIP: RLAE_RUNLOG_WRITER not set (run through ctest)"; exit 77; }
tmp=$(mktemp -d /tmp/rlae-runlog-kill.XXXXXX)
wpid=
trap '[ -n "$wpid" ] && kill -9 "$wpid" 2>/dev/null; rm -rf "$tmp"' EXIT
f=$tmp/run.h5

# check_tables LAST: iterations 0..LAST hold 4 episodes each (ids it*4+i, in order), the episode index
# tiles /spans and /tokens exactly, one /text, /updates and /eval row per episode / iteration.
check_tables() {
  local last=$1
  "$RLAE_BIN" inspect "$f" --export csv episodes > "$tmp/ep.csv" || { fails=$((fails+1)); echo "FAIL: export episodes"; return; }
  "$RLAE_BIN" inspect "$f" --export csv spans > "$tmp/sp.csv"
  "$RLAE_BIN" inspect "$f" --export csv tokens > "$tmp/tk.csv"
  "$RLAE_BIN" inspect "$f" --export csv updates > "$tmp/up.csv"
  "$RLAE_BIN" inspect "$f" --export csv text > "$tmp/tx.csv"
  local ns nt nu nx
  ns=$(($(wc -l < "$tmp/sp.csv") - 1)); nt=$(($(wc -l < "$tmp/tk.csv") - 1))
  nu=$(($(wc -l < "$tmp/up.csv") - 1)); nx=$(($(wc -l < "$tmp/tx.csv") - 1))
  local verdict
  verdict=$(awk -F, -v last="$last" -v ns="$ns" -v nt="$nt" -v nx="$nx" '
    NR == 1 { next }
    { r = NR - 2; want_it = int(r / 4)
      if ($3 != want_it) { print "row " r ": iteration " $3 ", expected " want_it; bad = 1; exit }
      if ($2 != r) { print "row " r ": id " $2 ", expected " r; bad = 1; exit }
      if ($14 != so) { print "row " r ": span_offset " $14 ", expected " so; bad = 1; exit }
      if ($13 != to) { print "row " r ": token_offset " $13 ", expected " to; bad = 1; exit }
      so += $12; to += $11; n++ }
    END { if (bad) exit
          if (n != 4 * (last + 1)) { print n " episodes, expected " 4 * (last + 1); exit }
          if (so != ns) { print "spans: index covers " so ", table has " ns; exit }
          if (to != nt) { print "tokens: index covers " to ", table has " nt; exit }
          if (nx != n) { print "text: " nx " rows for " n " episodes"; exit }
          print "ok" }' "$tmp/ep.csv")
  if [ "$verdict" = ok ] && [ "$nu" -eq $((last + 1)) ]; then passes=$((passes+1)); else
    fails=$((fails+1)); echo "FAIL: tables through iteration $last: $verdict; updates $nu"; fi
}

# wait_for N: until the writer printed "committed N" (at most ~30 s)
wait_for() {
  for _ in $(seq 300); do grep -q "^committed $1\$" "$tmp/w.out" 2>/dev/null && return 0; sleep 0.1; done
  echo "FAIL: writer never committed iteration $1"; cat "$tmp/w.out" "$tmp/w.err" 2>/dev/null | tail -5
  fails=$((fails+1)); return 1
}

"$W" "$f" --create --iterations 100000 --sleep-ms 40 > "$tmp/w.out" 2> "$tmp/w.err" &
wpid=$!
wait_for 3
# a live reader sees the newest committed iteration
seen=$(grep -c '^committed' "$tmp/w.out")
expect_exit 0 "inspect a file being written" -- "$RLAE_BIN" inspect "$f"
live=$(printf '%s\n' "$out" | sed -n 's/^committed   through iteration \([0-9]*\).*/\1/p')
if [ -n "$live" ] && [ "$live" -ge $((seen - 1)) ]; then passes=$((passes+1)); else
  fails=$((fails+1)); echo "FAIL: live inspect shows iteration '${live}', writer had committed $((seen - 1))"; fi
wait_for $((live + 3))
kill -9 "$wpid"; wait "$wpid" 2>/dev/null; wpid=
last=$(sed -n 's/^committed //p' "$tmp/w.out" | tail -1)

# after SIGKILL: every committed iteration is there (one more when the kill fell between a commit and
# its "committed" line), nothing half-written is visible
expect_exit 0 "inspect after kill -9" -- "$RLAE_BIN" inspect "$f"
got=$(printf '%s\n' "$out" | sed -n 's/^committed   through iteration \([0-9]*\).*/\1/p')
if [ -n "$got" ] && { [ "$got" -eq "$last" ] || [ "$got" -eq $((last + 1)) ]; }; then passes=$((passes+1)); else
  fails=$((fails+1)); echo "FAIL: after kill: file through iteration '$got', writer printed $last"; fi
check_tables "${got:-0}"

# resume: continues right after the last committed iteration
expect_exit 0 "resume after kill -9" -- "$W" "$f" --resume --iterations $((got + 4))
expect_match "^start $((got + 1))\$" "$out" "resume starts after the last committed iteration"
check_tables $((got + 3))
# resume from an earlier checkpoint drops the later iterations, then appends
expect_exit 0 "resume from a checkpoint at 2" -- "$W" "$f" --resume --from 2 --iterations 6
expect_match '^start 3$' "$out" "resume from checkpoint 2 starts at 3"
check_tables 5
expect_exit 0 "inspect the resumed file" -- "$RLAE_BIN" inspect "$f"
expect_match '^committed   through iteration 5 ' "$out" "resumed file ends at iteration 5"

if command -v h5dump > /dev/null; then
  expect_exit 0 "h5dump reads the closed file" -- h5dump -H "$f"
  expect_match 'DATASET "spans"' "$out" "h5dump lists /spans"
  expect_match 'ATTRIBUTE "config_yaml"' "$out" "h5dump lists /meta config_yaml"
fi

# h5py reads every dataset and attribute of the schema (docs/runlog.md)
PY=
for p in python3 /usr/bin/python3; do "$p" -c 'import h5py' 2>/dev/null && { PY=$p; break; }; done
if [ -n "$PY" ]; then
  expect_exit 0 "h5py reads the schema" -- "$PY" - "$f" <<'PYEOF'
import sys, h5py
f = h5py.File(sys.argv[1], "r", swmr=True)
m = f["meta"].attrs
for a in ("format", "schema_version", "rlae_version", "git_rev", "config_yaml", "start_time", "host",
          "n_members", "member_names", "member_weight_sha256", "member_tokenizer_sha256", "seed_names",
          "seeds", "log_tokens", "log_text"):
    assert a in m, a
K = int(m["n_members"])
cols = {"episodes": "id iteration task subject item reward correct terminated truncated end_reason n_tokens n_spans token_offset span_offset",
        "spans": "episode t token_start weights policy features logp value advantage return",
        "tokens": "episode t token mixed_prob member_prob member_top1",
        "text": "episode prompt response gold",
        "updates": "iteration loss pg_loss v_loss entropy approx_kl clipfrac explained_variance grad_norm lr epochs minibatches seconds",
        "eval": "iteration task method accuracy ci_low ci_high n tokens gen_seconds",
        "iterations": "iteration n_episodes n_spans n_tokens n_text n_updates n_eval time"}
for t, c in cols.items():
    assert f[t].dtype.names == tuple(c.split()), (t, f[t].dtype.names)
assert f["spans"].dtype["weights"].shape == (K,)
ep = f["episodes"][:]
assert (ep["span_offset"][1:] == (ep["span_offset"] + ep["n_spans"])[:-1]).all()
assert ep["span_offset"][-1] + ep["n_spans"][-1] == len(f["spans"])
assert ep["token_offset"][-1] + ep["n_tokens"][-1] == len(f["tokens"])
print("ok")
PYEOF
fi
finish
