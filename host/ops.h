/* The ops API: every numeric operation the models (and later the ensemble and the agent) need, as
 * one function each, taking tensors that know their device (core/tensor.h).
 *
 * Each rlae_op_* checks dtypes, shapes and that all its tensors live on one device, then dispatches
 * to a backend: host/ops_cpu.c (plain C + OpenMP + OpenBLAS, the reference) or, in a CUDA build,
 * the launchers in cuda/ (one `#ifdef RLAE_HAVE_CUDA` line per op in host/ops.c). Callers never
 * branch on the device. A CUDA tensor in a build without CUDA is RLAE_ERR_UNSUPPORTED with a message
 * naming the op.
 *
 * Conventions shared by all ops:
 *   - "rows": a 2-D tensor [n, d] is n independent rows of d contiguous values; 1-D tensors [d] are
 *     one row. Activations are fp32; weights are fp32, and on a CUDA device the matrices of matmul
 *     and the table of gather_rows may also be bf16 (rlae_model_weights_to_device converts them),
 *     as may the KV caches of kv_store and attention; other dtypes are RLAE_ERR_UNSUPPORTED.
 *   - CUDA ops queue their work on the calling thread's ops stream (rlae_ops_set_cuda_stream; the
 *     default stream until set) and return without waiting for the GPU; copies to the host wait.
 *     Index tensors on the device are not range-checked (that would need a sync): an index out of
 *     range gives NaN rows (gather_rows, attention) or a skipped row (kv_store), never a stray access.
 *   - index tensors (token ids, positions, cache slots) are RLAE_I32 on the same device.
 *   - outputs may alias inputs where the op's comment says so.
 *   - ops do not allocate (except rlae_ops_tensor_alloc): scratch is owned by the caller. */
#ifndef RLAE_OPS_H
#define RLAE_OPS_H

#include "core/status.h"
#include "core/tensor.h"

/* ---- memory ---------------------------------------------------------------------------------- */

/* Allocates an owned, zero-filled tensor on `dev`; free it with rlae_ops_tensor_free. */
rlae_status rlae_ops_tensor_alloc(rlae_tensor *t, rlae_dtype dtype, rlae_device dev, int ndim,
                                  const int64_t *shape);
/* Frees an owned tensor on whatever device it lives; no-op for views; safe on a zeroed struct. */
void rlae_ops_tensor_free(rlae_tensor *t);
/* dst = src, same dtype and element count; either side may be on the host or the device. */
rlae_status rlae_op_copy(rlae_tensor *dst, const rlae_tensor *src);

/* The CUDA stream (a cudaStream_t, NULL = the default stream) that this thread's CUDA ops use from
 * now on; lets a caller run a model on its own stream or capture a step in a CUDA graph. No effect
 * on CPU ops or in a build without CUDA. */
void rlae_ops_set_cuda_stream(void *stream);
void *rlae_ops_cuda_stream(void);
/* Op graphs (CUDA graphs, cuda/graph.cu): between rlae_ops_capture_begin and rlae_ops_capture_end
 * this thread's CUDA ops are recorded, not run, so they must not need the host in between (no copy
 * to or from host memory, no sync); capture_end with keep = 0 discards the recording (after a
 * failed op), else *graph replays the whole sequence with one rlae_ops_graph_launch, on this
 * thread's ops stream, ordered with the ops queued before and after it. The recorded kernels keep
 * their arguments: the same buffers, shapes and launch choices at every replay. RLAE_ERR_UNSUPPORTED
 * on the CPU or in a build without CUDA. */
rlae_status rlae_ops_capture_begin(rlae_device dev);
rlae_status rlae_ops_capture_end(rlae_device dev, int keep, void **graph);
rlae_status rlae_ops_graph_launch(rlae_device dev, void *graph);
void rlae_ops_graph_free(void *graph);
/* Waits until this thread's CUDA ops have finished (no-op for the CPU); timing and host reads of
 * device results that did not come through rlae_op_copy need it. */
rlae_status rlae_ops_sync(rlae_device dev);

/* t[i] = lo + (hi - lo) * u_i with u_i in [0, 1) from a counter hash of (seed, i) (host/ops_hash.h):
 * the same values on the CPU and the GPU for the same seed. fp32 or bf16 (rounded to nearest even)
 * tensors. For random-weight models (benchmarks, tests). */
rlae_status rlae_op_fill_uniform(rlae_tensor *t, float lo, float hi, uint64_t seed);

/* ---- linear algebra -------------------------------------------------------------------------- */

/* y[n, out] = x[n, in] W[out, in]^T (+ bias[out] when bias != NULL and bias->data != NULL).
 * W is in nn.Linear layout, fp32 (or bf16 on a CUDA device). y must not alias x or W. */
rlae_status rlae_op_matmul(rlae_tensor *y, const rlae_tensor *x, const rlae_tensor *w, const rlae_tensor *bias);
/* y[n, out] += x[n, in] W[out, in]^T, the residual connections: on a CUDA device in the same pass
 * as the product; on the CPU through `scratch` ([n, out] fp32, overwritten), then an add, which is
 * exactly rlae_op_matmul into scratch followed by rlae_op_add. */
rlae_status rlae_op_matmul_acc(rlae_tensor *y, const rlae_tensor *x, const rlae_tensor *w, rlae_tensor *scratch);
/* y[i] = x W[i]^T (+ bias[i]) for i < n <= RLAE_OP_MATMUL_MAX: several products of one x, each
 * exactly as rlae_op_matmul computes it (bias may be NULL, or any bias[i] NULL/empty). On a CUDA
 * device with bf16 W and few rows of x they run as one launch (a decode step's q/k/v and gate/up). */
#define RLAE_OP_MATMUL_MAX 3
rlae_status rlae_op_matmul_n(int n, rlae_tensor *const *y, const rlae_tensor *x, const rlae_tensor *const *w,
                             const rlae_tensor *const *bias);

/* out[i, :] = table[idx[i], :]. Embedding lookup, and picking rows (e.g. the last position of each
 * sequence). Every idx must be in [0, rows of table): checked on the CPU, RLAE_ERR_INPUT otherwise.
 * table is fp32, or bf16 on a CUDA device (widened exactly to the fp32 out). */
rlae_status rlae_op_gather_rows(rlae_tensor *out, const rlae_tensor *table, const rlae_tensor *idx);

/* y += x, elementwise over equal shapes (the residual connection). */
rlae_status rlae_op_add(rlae_tensor *y, const rlae_tensor *x);

/* ---- normalisation and activations ----------------------------------------------------------- */

/* y[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, per row. y may alias x. */
rlae_status rlae_op_rmsnorm(rlae_tensor *y, const rlae_tensor *x, const rlae_tensor *weight, float eps);

/* out = silu(gate) * up, elementwise (SwiGLU MLP). out may alias gate or up. */
rlae_status rlae_op_swiglu(rlae_tensor *out, const rlae_tensor *gate, const rlae_tensor *up);

/* out[r] = softmax(x[r] / temperature) per row (temperature > 0). out may alias x. */
rlae_status rlae_op_softmax(rlae_tensor *out, const rlae_tensor *x, float temperature);

/* Per-row statistics of logits, the inputs of sampling and of the agent's features:
 *   max[r] = max_i x[r,i];  lse[r] = log sum_i exp(x[r,i]);
 *   entropy[r] = -sum_i p_i log p_i with p = softmax(x[r]) (nats); top1 prob = exp(max - lse).
 * Any of max, lse, entropy may be NULL. Each is a [n] fp32 tensor. */
rlae_status rlae_op_logit_stats(const rlae_tensor *x, rlae_tensor *max, rlae_tensor *lse, rlae_tensor *entropy);

/* ---- rotary position embedding --------------------------------------------------------------- */

typedef enum { RLAE_ROPE_SCALE_NONE = 0, RLAE_ROPE_SCALE_LINEAR, RLAE_ROPE_SCALE_LLAMA3 } rlae_rope_scale;

typedef struct {
    int head_dim;          /* rotates pairs (i, i + head_dim/2), Hugging Face rotate_half order */
    float theta;           /* base, e.g. 10000 or 500000 */
    rlae_rope_scale scaling;
    float factor;          /* LINEAR: positions / factor; LLAMA3: see rlae_rope_inv_freq */
    float low_freq_factor; /* LLAMA3 */
    float high_freq_factor;/* LLAMA3 */
    int original_max_pos;  /* LLAMA3 */
} rlae_rope_params;

/* The rotation frequencies, inv_freq[i] for i < head_dim/2, including scaling, exactly as
 * transformers computes them (fp32 result; LLAMA3 follows _compute_llama3_parameters). Host-side
 * helper shared by the backends and the tests. */
void rlae_rope_inv_freq(const rlae_rope_params *p, float *inv_freq);

/* Rotates x[n, n_heads*head_dim] in place: row r at position pos[r] (I32 [n]). */
rlae_status rlae_op_rope(rlae_tensor *x, const rlae_tensor *pos, int n_heads, const rlae_rope_params *p);

/* ---- attention with a KV cache --------------------------------------------------------------- */

/* Writes rows[r] (a [n, kv_dim] key or value row) into cache[slot[r], pos[r], :], where cache is one
 * layer's [n_slots, capacity, kv_dim]. slot and pos are I32 [n]; every pos < capacity (checked).
 * The cache is fp32, or bf16 on a CUDA device (the rows rounded to nearest even on the way in). */
rlae_status rlae_op_kv_store(rlae_tensor *cache, const rlae_tensor *rows, const rlae_tensor *slot,
                             const rlae_tensor *pos);

/* Causal multi-head attention of query rows against a KV cache, one query row at a time:
 *   out[r, h] = sum_{t <= pos[r]} softmax_t(q[r,h] . k[slot[r], t, g(h)] * scale) v[slot[r], t, g(h)]
 * with g(h) = h / (n_heads / n_kv_heads) (grouped-query attention) and scale = 1/sqrt(head_dim).
 * q, out: [n, n_heads*head_dim]; k_cache, v_cache: one layer's [n_slots, capacity, n_kv_heads*head_dim]
 * whose rows 0..pos[r] of slot[r] must already hold the keys and values (rlae_op_kv_store).
 * Because every row carries its own (slot, pos), one call serves decode (one row per sequence),
 * prefill of a chunk (rows pos0..pos0+m-1 of one slot: causal by construction) and any mix of
 * sequences with different lengths. out must not alias q. */
rlae_status rlae_op_attention(rlae_tensor *out, const rlae_tensor *q, const rlae_tensor *k_cache,
                              const rlae_tensor *v_cache, const rlae_tensor *slot, const rlae_tensor *pos,
                              int n_heads, int n_kv_heads);
/* The same with caller-owned scratch (fp32, rlae_op_attention_scratch_numel(head_dim) elements on
 * the device of out; NULL or a smaller one is allowed and just never splits). On a CUDA device the
 * caches may be bf16 (both the same dtype; fp32 accumulation), and with few (row, head) pairs, as
 * in decode, the keys of each pair are split across blocks whose partial softmax results are then
 * combined in a fixed order (flash-decoding; deterministic, within fp32 rounding of the unsplit
 * result). The CPU ignores the scratch. */
int64_t rlae_op_attention_scratch_numel(int head_dim);
rlae_status rlae_op_attention_ws(rlae_tensor *out, const rlae_tensor *q, const rlae_tensor *k_cache,
                                 const rlae_tensor *v_cache, const rlae_tensor *slot, const rlae_tensor *pos,
                                 int n_heads, int n_kv_heads, rlae_tensor *scratch);

#endif
