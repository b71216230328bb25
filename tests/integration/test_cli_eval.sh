#!/usr/bin/env bash
# `rlae eval CONFIG`: methods x tasks table on stdout, the same rows in <run.out_dir>/eval.csv, and
# exit 2 with the fix named for an agent method, unknown methods and tasks, a missing data dir and a
# prompt that does not fit a member's context. Uses the tiny models and ../shared/data (skips 77).
source "$(dirname "$0")/lib.sh"
S=$(shared_dir); M=$S/models
[ -f "$M/stories260K/stories260K.bin" ] && [ -f "$M/babyllama105/model5000.bin" ] && [ -d "$S/data/piqa" ] ||
  { echo "SKIP: tiny models or data not found"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/tiny.yaml" <<YAML
run: {name: tiny, seed: 3, out_dir: "$tmp/out"}
members:
  - {name: stories, path: "$M/stories260K/stories260K.bin"}
  - {name: baby, path: "$M/babyllama105/model5000.bin", tokenizer: "$M/babyllama105/tok105.bin"}
ensemble: {span: 8, max_new_tokens: 8, decoding: greedy, policy: uniform}
task: {name: piqa, data_dir: "$S/data", shots: 0}
YAML
C="$tmp/tiny.yaml"

expect_exit 0 "two methods, two tasks" -- "$RLAE_BIN" eval "$C" --method uniform --method single:stories \
  --tasks piqa,synthetic --limit 5 --truncate-left task.mc_scoring=loglik_norm
expect_match '^method +piqa +synthetic +average' "$out" "the table has a column per task and the average"
expect_match '^uniform +[0-9.]+ \+- [0-9.]+ \(n=5\) +[0-9.]+ \+- [0-9.]+ \(n=5\) +[0-9.]+ \(n=10\)' "$out" \
  "a row per method: accuracy +- half-width (n) per task, then the average"
expect_match '^single:stories ' "$out" "the second method has its row"
expect_match 'wrote .*/out/eval.csv' "$err" "the CSV's path is reported"
expect_match 'wrote .*/out/eval.h5' "$err" "the results also go to an HDF5 run file"
csv=$(cat "$tmp/out/eval.csv" 2>/dev/null)
expect_match '^task,method,split,scoring,n,accuracy,ci_low,ci_high,f1,tokens,gen_seconds,ms_per_token,tokens_per_s$' \
  "$csv" "the CSV has a header, the latency columns last"
expect_match '^piqa,uniform,valid,loglik_norm,5,' "$csv" "a CSV row per method and task"
expect_match '^synthetic,single:stories,test,generate,5,' "$csv" "generation rows say so"
expect_match '^average,single:stories,,,10,' "$csv" "each method's average"
expect_match 'prompts were cut from the left' "$err" "cut prompts are counted"
# latency: generation rows count 1..max_new_tokens tokens per item (5 items x 8 at most) and their
# rates are the seconds over the tokens; log-likelihood rows generate nothing; the average row sums
# the generation tasks; stderr has the average's ms/token per method; eval.h5 holds the same counts.
lat=$(printf '%s\n' "$csv" | awk -F, 'NR > 1 && $4 == "generate" && $1 !~ /\// {
  ok = $10 >= 5 && $10 <= 40 && $11 > 0 && NF == 13
  dm = $12 - 1000 * $11 / $10; dt = $13 - $10 / $11  # rounding: gen_seconds 9 decimals, rates 6
  ok = ok && dm * dm <= (5e-7 / $10 + 6e-7) ^ 2 && dt * dt <= ($13 * 6e-10 / $11 + 6e-7) ^ 2
  print $1 "," $2 ":" (ok ? "ok" : "bad " $0) }')
expect_match '^synthetic,uniform:ok$' "$lat" "uniform's generation row: tokens in 5..40, ms_per_token = 1000 gen_seconds / tokens"
expect_match '^synthetic,single:stories:ok$' "$lat" "single's generation row: tokens in 5..40, the rates from the counts"
expect_match '^piqa,uniform,valid,loglik_norm,5,[^,]*,[^,]*,[^,]*,,0,[0-9.]+,,$' "$csv" \
  "log-likelihood rows: 0 tokens generated, the scoring seconds, no per-token rates"
expect_match '^synthetic/[a-z]+,uniform,test,generate,[0-9]+,[^,]*,[^,]*,[^,]*,,,,,$' "$csv" \
  "subject rows carry no latency (not measured per subject)"
gen=$(printf '%s\n' "$csv" | grep '^synthetic,uniform,' | cut -d, -f10-13)
avg=$(printf '%s\n' "$csv" | grep '^average,uniform,' | cut -d, -f10-13)
expect_match "^$gen\$" "$avg" "the average row's latency is over the generation tasks (here synthetic alone)"
ms=$(printf '%s\n' "$avg" | cut -d, -f3 | awk '{printf "%.3f", $1}')
expect_match "^rlae eval: uniform: $ms ms/token, [0-9.]+ tokens/s \\($(echo "$gen" | cut -d, -f1) tokens generated in .*log-likelihood scoring [0-9.]+ s$" \
  "$err" "stderr gives each method's ms/token, tokens and seconds"
h5=$(h5dump -y -d /eval "$tmp/out/eval.h5" 2>/dev/null | sed -n '/DATA {/,$p' | tr -d ' \n' | sed 's/},{/}\n{/g')
expect_match '^\{?\{0,"synthetic","uniform",[^,]*,[^,]*,[^,]*,5,'"$(echo "$gen" | cut -d, -f1)"',[0-9.e-]+\}' "$h5" \
  "eval.h5's /eval row has the CSV's token count"
expect_match '^\{0,"synthetic/[a-z]+","uniform",[^,]*,[^,]*,[^,]*,[0-9]+,-1,nan\}' "$h5" \
  "eval.h5's subject rows: tokens -1, gen_seconds NaN (not measured)"
expect_exit 0 "inspect eval.h5" -- "$RLAE_BIN" inspect "$tmp/out/eval.h5"
expect_match 'piqa +uniform +[0-9.]+ +\[' "$out" "rlae inspect reads the evaluation rows"

# per subject: the synthetic skills as configured (task.synthetic), counts adding up to the items
expect_exit 0 "by subject" -- "$RLAE_BIN" eval "$C" --method uniform --tasks synthetic --limit 12 --by-subject \
  'task.synthetic.skills=[addition,copy]'
expect_match '^synthetic by subject' "$out" "--by-subject prints a table per task"
expect_match '^method +add +copy +all +macro$' "$out" "a column per configured skill, all items and the macro average"
csv=$(cat "$tmp/out/eval.csv" 2>/dev/null)
na=$(printf '%s\n' "$csv" | grep '^synthetic/add,uniform,' | cut -d, -f5)
nc=$(printf '%s\n' "$csv" | grep '^synthetic/copy,uniform,' | cut -d, -f5)
expect_match '^12$' "$(( ${na:-0} + ${nc:-0} ))" "the subjects' item counts add up to the items"
expect_match '^0$' "$(printf '%s\n' "$csv" | grep -c '^synthetic/reverse')" "skills not configured do not appear"

expect_exit 0 "default method and task from the config" -- "$RLAE_BIN" eval "$C" --limit 2 --truncate-left
expect_match '^uniform +[0-9.]+ \+- [0-9.]+ \(n=2\)' "$out" "ensemble.policy and task.name are the defaults"

expect_exit 2 "too long without --truncate-left" -- "$RLAE_BIN" eval "$C" --limit 2
expect_match "item .* member 'baby'.*--truncate-left" "$err" "a too-long prompt names item, member and the fix"
expect_exit 2 "agent without a checkpoint" -- "$RLAE_BIN" eval "$C" --method agent:"$tmp/no-run"
expect_match 'no checkpoint' "$err" "an agent method names the missing checkpoint"
expect_exit 2 "agent without a path" -- "$RLAE_BIN" eval "$C" --method agent
expect_match 'agent:RUN_DIR' "$err" "method agent says how to name its checkpoint"
expect_exit 2 "bad method" -- "$RLAE_BIN" eval "$C" --method average
expect_match "unknown method 'average'.*uniform" "$err" "an unknown method lists the methods"
expect_exit 2 "unknown member" -- "$RLAE_BIN" eval "$C" --method single:nobody
expect_match "nobody" "$err" "an unknown member is named"
expect_exit 2 "unknown task" -- "$RLAE_BIN" eval "$C" --tasks piqa,squad
expect_match "unknown task 'squad'.*arc_easy" "$err" "an unknown task lists the tasks"
expect_exit 2 "no data dir" -- env -u RLAE_DATA_DIR "$RLAE_BIN" eval "$C" task.data_dir=""
expect_match 'RLAE_DATA_DIR' "$err" "a missing data dir names task.data_dir and RLAE_DATA_DIR"
expect_exit 2 "bad limit" -- "$RLAE_BIN" eval "$C" --limit many
expect_exit 2 "unknown option" -- "$RLAE_BIN" eval "$C" --bogus
expect_exit 2 "no config" -- "$RLAE_BIN" eval
finish
