# `rlae inspect` end to end on run files written by tests/tools/runlog_writer: the summary, one
# episode (plain markers and colours), CSV export, --follow on a live run, and exit 2 with a clear
# message for foreign, non-HDF5, truncated, missing files and bad arguments.
. "$(dirname "$0")/lib.sh"
W=${RLAE_RUNLOG_WRITER:-}
[ -n "$W" ] && [ -x "$W" ] || { echo "SKIP: RLAE_RUNLOG_WRITER not set (run through ctest)"; exit 77; }
tmp=$(mktemp -d /tmp/rlae-inspect.XXXXXX)
wpid=
trap '[ -n "$wpid" ] && kill -9 "$wpid" 2>/dev/null; rm -rf "$tmp"' EXIT
f=$tmp/run.h5
"$W" "$f" --create --iterations 5 > /dev/null || { echo "FAIL: writer"; exit 1; }

expect_exit 0 "summary" -- "$RLAE_BIN" inspect "$f"
expect_match '^members     2$' "$out" "member count"
expect_match '^  alpha +weights sha256 0123456789abcdef\.\.\.' "$out" "member hash"
expect_match '^seeds +run\.seed=1234$' "$out" "seeds"
expect_match '^committed   through iteration 4 .* 20 episodes' "$out" "committed rows"
expect_match '^ +4 +4 +0\.5000 +0\.5000 +0\.2000' "$out" "iteration 4 row with its update loss"
expect_match '^  overall +0\.5[0-9]+ +0\.4[0-9]+' "$out" "mean weight overall"
expect_match '^  span 0 ' "$out" "mean weight per span index"
expect_match '^  arith +10 ' "$out" "per task"
expect_match 'rlae-ppo +0\.5000  \[ 0\.4000,  0\.6000\]' "$out" "evaluation with CI"
expect_match '^    name: helper$' "$out" "config YAML"

expect_exit 0 "episode 5" -- "$RLAE_BIN" inspect "$f" --episode 5 --color=never
expect_match '^episode 5 \(id 5, iteration 1, task arith, item 5\)$' "$out" "episode header"
expect_match '^  \| Question 5: what is 5 mod 7\?$' "$out" "prompt"
expect_match '^  \| The answer is 5\.$' "$out" "response"
expect_match '^  span 0   tokens 0\.\.1  weights alpha=0\.520 beta=0\.480$' "$out" "span weights"
expect_match '^    1050/b 1051/a$' "$out" "tokens marked by the most confident member"
expect_exit 0 "episode in colour" -- "$RLAE_BIN" inspect "$f" --episode 5 --color=always
expect_match $'\033\\[3[0-9]m1050' "$out" "ANSI colours"
expect_exit 2 "episode out of range" -- "$RLAE_BIN" inspect "$f" --episode 20
expect_match 'has 20 committed episodes' "$err" "names the range"

expect_exit 0 "export episodes" -- "$RLAE_BIN" inspect "$f" --export csv episodes
expect_match '^row,id,iteration,task,item,reward' "$out" "csv header"
[ "$(printf '%s\n' "$out" | wc -l)" -eq 21 ] && passes=$((passes+1)) || { fails=$((fails+1)); echo "FAIL: 20 csv rows"; }
expect_exit 0 "export spans" -- "$RLAE_BIN" inspect "$f" --export csv /spans
expect_match '^row,episode,t,token_start,weight_alpha,weight_beta,' "$out" "per-member columns"
expect_exit 0 "export text" -- "$RLAE_BIN" inspect "$f" --export csv text
expect_match '^3,3,"Question 3: what is 3 mod 7\?","The answer is 3\.","0"$' "$out" "text row"
expect_exit 2 "unknown table" -- "$RLAE_BIN" inspect "$f" --export csv nope
expect_match "no table 'nope'" "$err" "names the table"
expect_exit 2 "unknown format" -- "$RLAE_BIN" inspect "$f" --export json episodes
expect_exit 2 "no file" -- "$RLAE_BIN" inspect
expect_exit 2 "two views" -- "$RLAE_BIN" inspect "$f" --episode 1 --follow

# files that are not run files
"$W" "$tmp/foreign.h5" --foreign
expect_exit 2 "foreign HDF5 file" -- "$RLAE_BIN" inspect "$tmp/foreign.h5"
expect_match 'not an rlae run file' "$err" "says it is not a run file"
printf 'just text\n' > "$tmp/text.h5"
expect_exit 2 "non-HDF5 file" -- "$RLAE_BIN" inspect "$tmp/text.h5"
expect_match 'not an HDF5 file' "$err" "says it is not HDF5"
expect_exit 2 "missing file" -- "$RLAE_BIN" inspect "$tmp/missing.h5"
expect_exit 2 "directory" -- "$RLAE_BIN" inspect "$tmp"
for cut in 600 4000 12000; do
  head -c $cut "$f" > "$tmp/cut.h5"
  expect_exit 2 "truncated run file ($cut bytes)" -- timeout 30 "$RLAE_BIN" inspect "$tmp/cut.h5"
done
if command -v python3 > /dev/null && python3 -c 'import h5py' 2>/dev/null; then
  python3 -c 'import h5py,sys; f=h5py.File(sys.argv[1],"w"); f["x"]=[1,2]; f.attrs["a"]=1' "$tmp/py.h5"
  expect_exit 2 "h5py-made file" -- "$RLAE_BIN" inspect "$tmp/py.h5"
fi

# --follow on a live run prints the iterations committed while it watches
g=$tmp/live.h5
"$W" "$g" --create --iterations 100000 --sleep-ms 30 > "$tmp/w.out" 2>&1 &
wpid=$!
for _ in $(seq 100); do grep -q '^committed 1$' "$tmp/w.out" && break; sleep 0.1; done
timeout -s INT 3 "$RLAE_BIN" inspect "$g" --follow > "$tmp/follow.out" 2>&1
rc=$?
kill -9 "$wpid"; wait "$wpid" 2>/dev/null; wpid=
n=$(grep -c '^iteration [0-9]*: 4 episodes, reward' "$tmp/follow.out")
if { [ $rc -eq 0 ] || [ $rc -eq 124 ]; } && [ "$n" -ge 2 ]; then passes=$((passes+1)); else
  fails=$((fails+1)); echo "FAIL: --follow: exit $rc, $n new iteration lines"; tail -3 "$tmp/follow.out"; fi
finish
