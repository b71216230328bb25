# `rlae bench mix` end to end: a tiny CPU config prints its table row with GB/s and exits 0; bad
# flags exit 2 with a message (bench model / ensemble: test_cli_bench_model.sh).
. "$(dirname "$0")/lib.sh"

expect_exit 0 "bench mix tiny" -- "$RLAE_BIN" bench mix --members 2 --union 1000 --batch 2 --iters 3 --device cpu
expect_match 'GB/s' "$out" "bench mix header"
expect_match '^ +2 +1000 +2 +cpu +[0-9.]+ +[0-9]+ +[0-9.]+ +[0-9.]+$' "$out" "bench mix row"
expect_match 'CPU stream bandwidth: [0-9.]+ GB/s' "$out" "bench mix bandwidth"
expect_exit 0 "bench mix sample" -- "$RLAE_BIN" bench mix --members 3 --union 500 --batch 1 --iters 2 --sample --device cpu
expect_match '^ +3 +500 +1 +cpu ' "$out" "bench mix sample row"

expect_exit 2 "bad flag" -- "$RLAE_BIN" bench mix --bogus
expect_match "unknown argument '--bogus'" "$err" "bad flag named"
expect_exit 2 "bad members" -- "$RLAE_BIN" bench mix --members 0
expect_match 'members' "$err" "bad members named"
expect_exit 2 "missing value" -- "$RLAE_BIN" bench mix --union
expect_exit 2 "bad device" -- "$RLAE_BIN" bench mix --device tpu --members 2 --union 100 --batch 1
expect_exit 2 "bench model without a model" -- "$RLAE_BIN" bench model
expect_match 'give one of --arch' "$err" "bench model asks for a model"
expect_exit 2 "bench ensemble without a model" -- "$RLAE_BIN" bench ensemble
expect_exit 2 "no benchmark" -- "$RLAE_BIN" bench
expect_exit 0 "bench help" -- "$RLAE_BIN" bench --help
expect_match 'bench mix' "$out" "help lists mix"
finish
