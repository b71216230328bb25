# `rlae bench model` and `rlae bench ensemble` end to end on the CPU: the report's fields are present
# and consistent (tokens/s = batch / ms per step, GB/s = bytes per step / time per step), the bytes a
# decode step reads match a hand count of the architecture's tensors and KV cache, --layers/--vocab
# are stated in the report, and bad arguments exit 2 naming what is wrong.
. "$(dirname "$0")/lib.sh"

# value of a "key": number line of the --json output
jnum() { printf '%s\n' "$out" | sed -n "s/^ *\"$1\": \([-0-9.e+]*\),\{0,1\}\$/\1/p"; }
# close A B REL: |A - B| <= REL * |B|
close() { awk -v a="$1" -v b="$2" -v r="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; exit !(d <= r * m) }'; }
check_close() {
  if close "$1" "$2" "$3"; then passes=$((passes+1)); else fails=$((fails+1)); echo "FAIL: $4: $1 vs $2"; fi
}
check_pos() {
  if awk -v a="$1" 'BEGIN { exit !(a > 0) }'; then passes=$((passes+1)); else fails=$((fails+1)); echo "FAIL: $2: '$1' is not > 0"; fi
}

# --- tiny, text report -----------------------------------------------------------------------------
expect_exit 0 "tiny text" -- "$RLAE_BIN" bench model --arch tiny --device cpu --ctx 16 --tokens 8 --batch 3
for field in '^model: tiny: dim 64, 5 layers, 8 heads / 4 kv heads' '^bandwidth: CPU stream bandwidth: [0-9.]+ GB/s' \
             '^prefill: 3 x 16 tokens in [0-9.]+ ms' '^decode: batch 3, 8 timed steps after 1 warm-up step, context 17 -> 25' \
             '^ms/step: [0-9.]+ \(median' '^tokens/s: [0-9.]+' '^bytes/step: [0-9.]+ MB' \
             '^achieved: [0-9.]+ GB/s = [0-9.]+% of the measured bandwidth' '^memory: [0-9.]+ MB allocated'; do
  expect_match "$field" "$out" "text field $field"
done
ms=$(printf '%s\n' "$out" | sed -n 's/^ms\/step: \([0-9.]*\) .*/\1/p')
tps=$(printf '%s\n' "$out" | sed -n 's/^tokens\/s: \([0-9.]*\)$/\1/p')
mbs=$(printf '%s\n' "$out" | sed -n 's/^bytes\/step: \([0-9.]*\) MB.*/\1/p')
gbs=$(printf '%s\n' "$out" | sed -n 's/^achieved: \([0-9.]*\) GB\/s.*/\1/p')
check_pos "$tps" "tokens/s"
check_pos "$gbs" "GB/s"
check_close "$tps" "$(awk -v m="$ms" 'BEGIN { print 3000 / m }')" 0.02 "tokens/s = batch / ms per step"
check_close "$gbs" "$(awk -v b="$mbs" -v m="$ms" 'BEGIN { print b / m }')" 0.02 "GB/s = MB per step / ms per step"

# --- tiny, JSON: exact byte model ----------------------------------------------------------------
expect_exit 0 "tiny json" -- "$RLAE_BIN" bench model --arch tiny --device cpu --ctx 16 --tokens 8 --batch 2 --json
# per layer: wq, wo [64,64]; wk, wv [32,64]; gate, up [172,64]; down [64,172]; two norms [64] (fp32);
# plus the final norm, the tied head [512,64] read whole, and 2 embedding rows
per_layer=$(( (64*64*2 + 32*64*2 + 3*172*64 + 2*64) * 4 ))
want_w=$(( 5*per_layer + 64*4 + 512*64*4 + 2*64*4 ))
check_close "$(jnum weight_bytes_per_step)" "$want_w" 0 "weight bytes per step"
# timed steps read positions 0..len for len = 17..24 (after prefill 16 + 1 warm-up step), k and v,
# kv_dim 32, 5 layers, fp32, 2 sequences: mean rows (18+...+25)/8 = 21.5
check_close "$(jnum kv_bytes_per_step)" "$(awk 'BEGIN { print 2 * 21.5 * 32 * 2 * 5 * 4 }')" 1e-9 "KV bytes per step"
check_close "$(jnum bytes_per_step)" "$(( want_w ))" 0.2 "bytes per step ~ weights"
check_close "$(jnum achieved_gbs)" "$(awk -v b="$(jnum bytes_per_step)" -v m="$(jnum ms_per_step)" 'BEGIN { print b / m / 1e6 }')" 0.01 "json GB/s"
check_close "$(jnum tokens_per_s)" "$(awk -v m="$(jnum ms_per_step)" 'BEGIN { print 2000 / m }')" 0.01 "json tokens/s"
check_close "$(jnum weights_bytes)" "$(( 5*per_layer + 64*4 + 512*64*4 ))" 0 "weights bytes (tied head once)"
check_close "$(jnum kv_cache_bytes)" "$(( 2 * 5 * 2 * (16 + 8 + 2) * 32 * 4 ))" 0 "KV cache bytes"
expect_match '"step_ms": \[[0-9.]+(, [0-9.]+){7}\]' "$out" "8 step times"

# --- a Llama-3-8B layer (real dims), one layer and a small vocabulary so it runs in seconds --------
expect_exit 0 "llama3-8b layer" -- "$RLAE_BIN" bench model --arch llama3-8b --layers 1 --vocab 2048 --ctx 16 --tokens 4 --device cpu --json
expect_match '1 layers \(--layers; the real model has 32\)' "$out" "layers override stated"
expect_match 'vocab 2048 \(--vocab; the real model has 128256\)' "$out" "vocab override stated"
layer=$(( (4096*4096*2 + 1024*4096*2 + 3*14336*4096 + 2*4096) * 4 ))
check_close "$(jnum weight_bytes_per_step)" "$(( layer + 4096*4 + 2048*4096*4 + 4096*4 ))" 0 "llama3 layer bytes"
check_pos "$(jnum tokens_per_s)" "llama3 tokens/s"

# --- a real checkpoint --------------------------------------------------------------------------
shared=${RLAE_SHARED_DIR:-${RLAE_SOURCE_DIR:-.}/../shared}
if [ -d "$shared" ]; then
  expect_exit 0 "model checkpoint" -- "$RLAE_BIN" bench model --model "$shared/models/stories260K/stories260K.bin" --ctx 8 --tokens 4 --device cpu
  expect_match '^tokens/s: [0-9.]+' "$out" "checkpoint tokens/s"
  # one thread: on a busy shared CPU, OpenMP barriers in the per-token ops make timings erratic
  expect_exit 0 "ensemble tiny" -- env OMP_NUM_THREADS=1 RLAE_SHARED_DIR="$shared" "$RLAE_BIN" bench ensemble --arch tiny --members 2 --ctx 16 --tokens 24 --batch 2 --device cpu
  expect_match '^ensemble: 2 members of tiny' "$out" "ensemble header"
  expect_match 'tok512.bin \(512 tokens; union [0-9]+\)' "$out" "ensemble tokenizer"
  expect_match '^solo ms/token .* m0 [0-9.]+ \([0-9.]+\) m1 [0-9.]+' "$out" "solo times"
  expect_match '^ratio ensemble / sum of solo: [0-9.]+$' "$out" "ratio"
  sum=$(printf '%s\n' "$out" | sed -n 's/^sum of solo ms\/token: \([0-9.]*\)$/\1/p')
  ens=$(printf '%s\n' "$out" | sed -n 's/^ensemble ms\/token: \([0-9.]*\) .*/\1/p')
  ratio=$(printf '%s\n' "$out" | sed -n 's/^ratio ensemble \/ sum of solo: \([0-9.]*\)$/\1/p')
  check_pos "$ens" "ensemble ms/token"
  check_close "$ratio" "$(awk -v e="$ens" -v s="$sum" 'BEGIN { print e / s }')" 0.02 "ratio = ensemble / sum"
  expect_exit 2 "ensemble bad tokenizer" -- "$RLAE_BIN" bench ensemble --arch tiny --members 2 --tokenizer /nonexistent/tok.bin --device cpu
  expect_match 'nonexistent' "$err" "bad tokenizer named"
  # the default Llama 2 tokenizer has 32000 tokens: more than a --vocab 512 model has logits
  expect_exit 2 "ensemble vocab too small" -- env RLAE_SHARED_DIR="$shared" "$RLAE_BIN" bench ensemble --arch stories15m --vocab 512 --members 2 --ctx 8 --tokens 4 --device cpu
  expect_match 'do not belong together' "$err" "tokenizer/vocab mismatch named"
else
  echo "note: shared assets not found at $shared; checkpoint and ensemble runs skipped"
fi

# --- bad arguments --------------------------------------------------------------------------------
expect_exit 2 "no arch" -- "$RLAE_BIN" bench model
expect_match 'give one of --arch NAME' "$err" "no arch named"
expect_exit 2 "unknown arch" -- "$RLAE_BIN" bench model --arch gpt5
expect_match "unknown --arch 'gpt5'" "$err" "unknown arch named"
expect_exit 2 "arch and model" -- "$RLAE_BIN" bench model --arch tiny --model x.bin
expect_exit 2 "batch 0" -- "$RLAE_BIN" bench model --arch tiny --batch 0
expect_match '--batch must be an integer' "$err" "batch named"
expect_exit 2 "bad flag" -- "$RLAE_BIN" bench model --arch tiny --bogus
expect_match "unknown argument '--bogus'" "$err" "bad flag named"
expect_exit 2 "missing value" -- "$RLAE_BIN" bench model --arch
expect_exit 2 "ctx too long" -- "$RLAE_BIN" bench model --arch tiny --ctx 600
expect_match "exceed tiny's context of 512" "$err" "context named"
expect_exit 2 "layers with model" -- "$RLAE_BIN" bench model --model x.bin --layers 2
expect_exit 2 "bad dtype" -- "$RLAE_BIN" bench model --arch tiny --dtype int4
expect_match '--dtype must be fp32' "$err" "dtype named"
expect_exit 2 "bf16 on cpu" -- "$RLAE_BIN" bench model --arch tiny --dtype bf16 --device cpu
expect_match 'bf16 on a CUDA device' "$err" "bf16 on cpu explained"
expect_exit 2 "bad device" -- "$RLAE_BIN" bench model --arch tiny --device tpu
if ! nvidia-smi -L >/dev/null 2>&1; then
  expect_exit 2 "cuda without a GPU" -- "$RLAE_BIN" bench model --arch tiny --device cuda
  expect_match 'cuda|CUDA|GPU' "$err" "cuda error explained"
fi
expect_exit 2 "missing checkpoint" -- "$RLAE_BIN" bench model --model /nonexistent/model.bin --device cpu
expect_exit 2 "ensemble without members" -- "$RLAE_BIN" bench ensemble --arch tiny
expect_match 'give --members K' "$err" "members named"
expect_exit 2 "ensemble 9 members" -- "$RLAE_BIN" bench ensemble --arch tiny --members 9
expect_exit 2 "ensemble model flag" -- "$RLAE_BIN" bench ensemble --model x.bin --members 2
finish
