# tools/plot.py headless (MPLBACKEND=Agg) on a run file from tests/tools/runlog_writer: every PNG is
# written and non-empty; a foreign file exits 2. Skips (77) when h5py or matplotlib is not importable.
. "$(dirname "$0")/lib.sh"
W=${RLAE_RUNLOG_WRITER:-}
[ -n "$W" ] && [ -x "$W" ] || { echo "SKIP: RLAE_RUNLOG_WRITER not set (run through ctest)"; exit 77; }
src=${RLAE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=
for p in python3 /usr/bin/python3; do "$p" -c 'import h5py, matplotlib' 2>/dev/null && { PY=$p; break; }; done
[ -n "$PY" ] || { echo "SKIP: h5py/matplotlib not importable (tools/install-deps.sh --python)"; exit 77; }
tmp=$(mktemp -d /tmp/rlae-plot.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$W" "$tmp/run.h5" --create --iterations 6 > /dev/null || { echo "FAIL: writer"; exit 1; }
export MPLBACKEND=Agg
expect_exit 0 "plot.py" -- "$PY" "$src/tools/plot.py" "$tmp/run.h5" --out "$tmp/plots"
for png in reward_accuracy weights_by_span weight_trajectories weights_by_task eval_accuracy; do
  if [ -s "$tmp/plots/$png.png" ] && [ "$(head -c 4 "$tmp/plots/$png.png" | tail -c 3)" = PNG ]; then
    passes=$((passes+1)); else fails=$((fails+1)); echo "FAIL: $png.png missing or not a PNG"; fi
done
"$W" "$tmp/foreign.h5" --foreign
expect_exit 2 "plot.py on a foreign file" -- "$PY" "$src/tools/plot.py" "$tmp/foreign.h5" --out "$tmp/plots"
expect_match 'not an rlae run file' "$err" "says why"
finish
