/* C-callable entry points of the CUDA backend: device queries, memory, streams, and the kernel
 * launchers. Host code includes this only under #ifdef RLAE_HAVE_CUDA (a CPU-only build has none of
 * these symbols). Nothing in cuda/ knows about configs or files: callers pass raw pointers and sizes.
 *
 * Every function returns rlae_status; a failing CUDA call records "CUDA error at FILE:LINE on
 * device N: cudaErrorX: message (in: call)" through rlae_fail (see cuda/cuda_check.h). */
#ifndef RLAE_CUDA_LAUNCH_H
#define RLAE_CUDA_LAUNCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "algorithms/adam.h"
#include "algorithms/ppo_loss.h"
#include "core/status.h"

/* A cudaStream_t, kept opaque so C code needs no CUDA headers. NULL is the default stream. */
typedef void *rlae_cuda_stream;

typedef struct {
    int index;
    char name[256];
    size_t total_bytes;
    size_t free_bytes;
    int cc_major, cc_minor; /* compute capability */
    int sm_count;
    int driver_version, runtime_version; /* e.g. 12040 for 12.4 */
} rlae_cuda_device_info;

/* 1 when at least one CUDA device is usable, else 0 (no driver, no device, any error). Never fails. */
int rlae_cuda_available(void);
/* Number of visible devices. No driver or no device is RLAE_ERR_UNSUPPORTED with CUDA's reason
 * (and *n = 0). */
rlae_status rlae_cuda_device_count(int *n);
/* Properties and current free memory of `device`. A device index that does not exist is RLAE_ERR_INPUT. */
rlae_status rlae_cuda_device_query(int device, rlae_cuda_device_info *info);
rlae_status rlae_cuda_set_device(int device);
rlae_status rlae_cuda_get_device(int *device);

/* Memory. rlae_cuda_malloc of 0 bytes gives NULL and succeeds; running out is RLAE_ERR_NOMEM. */
rlae_status rlae_cuda_malloc(void **ptr, size_t bytes);
rlae_status rlae_cuda_free(void *ptr);
/* Copies on `stream`; with pageable host memory they complete before returning, as cudaMemcpyAsync does. */
rlae_status rlae_cuda_memcpy_h2d(void *dst, const void *src, size_t bytes, rlae_cuda_stream stream);
rlae_status rlae_cuda_memcpy_d2h(void *dst, const void *src, size_t bytes, rlae_cuda_stream stream);
rlae_status rlae_cuda_memcpy_d2d(void *dst, const void *src, size_t bytes, rlae_cuda_stream stream);
rlae_status rlae_cuda_memset(void *dst, int byte, size_t bytes, rlae_cuda_stream stream);

rlae_status rlae_cuda_stream_create(rlae_cuda_stream *stream);
rlae_status rlae_cuda_stream_destroy(rlae_cuda_stream stream);
rlae_status rlae_cuda_stream_sync(rlae_cuda_stream stream);
rlae_status rlae_cuda_device_sync(void);

/* CUDA graphs (cuda/graph.cu). rlae_cuda_graph_stream: the stream to capture and replay on for ops
 * queued on `ops_stream` (itself, or for NULL a blocking stream of this thread's own, ordered with
 * the legacy default stream). capture_end with keep = 0 discards the capture (after a failed op);
 * otherwise *exec is the instantiated graph for rlae_cuda_graph_launch / rlae_cuda_graph_free. */
rlae_status rlae_cuda_graph_stream(rlae_cuda_stream ops_stream, rlae_cuda_stream *out);
rlae_status rlae_cuda_capture_begin(rlae_cuda_stream stream);
rlae_status rlae_cuda_capture_end(rlae_cuda_stream stream, int keep, void **exec);
rlae_status rlae_cuda_graph_launch(void *exec, rlae_cuda_stream stream);
void rlae_cuda_graph_free(void *exec);

/* ---- kernels -------------------------------------------------------------------------------- */

/* out[i] = the i-th uniform float of the rlae_rng stream (seed, episode, span, token), i < n: bit for
 * bit what rlae_rng_uniform returns on the CPU for the same key (core/rng.h). */
rlae_status rlae_cuda_rng_uniform(float *out, int64_t n, uint64_t seed, uint32_t episode, uint32_t span,
                                  uint32_t token, rlae_cuda_stream stream);


/* The fused ensemble step (host/ensemble/mix_select.h gives the semantics; cuda/mix_select.cu the
 * kernels). Every pointer is device memory; optional outputs may be NULL. The scratch buffers are
 * owned by the caller (the mix workspace), sized for max_batch >= batch rows:
 *   qx     uint64 [max_batch * union_size]   fixed-point mixture accumulator; must be all zero on
 *                                            entry, and the kernels leave it zero
 *   qf     float  [max_batch * union_size]   the mixture / probabilities of the selection
 *   mask   uint8  [max_batch * union_size]   UniTE eligibility; zero on entry, left zero
 *   stats  float  [max_batch * n_members * RLAE_CUDA_MIX_STATS]  per-member softmax statistics
 * Queues its kernels on `stream` and returns without waiting; nothing is copied to the host. */
#define RLAE_CUDA_MIX_MAX_MEMBERS 8
#define RLAE_CUDA_MIX_STATS 8
typedef struct {
    int n_members, batch, union_size;
    const float *logits[RLAE_CUDA_MIX_MAX_MEMBERS]; /* [batch, vocab_sizes[k]] */
    const int32_t *maps[RLAE_CUDA_MIX_MAX_MEMBERS]; /* [vocab_sizes[k]], entries in [-1, union_size) */
    int vocab_sizes[RLAE_CUDA_MIX_MAX_MEMBERS];
    const float *weights;                           /* [batch, n_members] */
    const int32_t *episode, *step;                  /* [batch] */
    float temperature, top_p, gate_threshold;
    int top_k, member_topk, gate_member;
    uint64_t seed;
    uint32_t rng_span;
    int32_t *token;
    float *mixed_prob, *member_prob;                /* [batch], [batch, n_members] */
    float *member_top1, *member_entropy;            /* [batch, n_members] or NULL */
    int32_t *member_argmax;                         /* [batch, n_members] or NULL */
    unsigned long long *qx;
    float *qf;
    unsigned char *mask;
    float *stats;
} rlae_cuda_mix_args;

rlae_status rlae_cuda_mix_select(const rlae_cuda_mix_args *a, rlae_cuda_stream stream);

/* ---- RL ops (cuda/ppo_loss.cu, cuda/adam.cu) -------------------------------------------------- */

/* The fused PPO / MAPPO minibatch loss on the device, fp32, with the semantics and formulas of
 * algorithms/ppo_loss.h (the per-element math is policy_math.h's, shared with the CPU). Every array
 * is device memory, laid out as rlae_ppo_batch / rlae_ppo_grads; gradient outputs may be NULL
 * (skipped), value_old may be NULL when p->clip_value is 0, active NULL means all agents active.
 * The metrics land in metrics[RLAE_CUDA_PPO_METRICS] (device doubles, indexed by RLAE_CUDA_PPO_M_*),
 * reduced in a fixed order: the same inputs give bit-identical results on every run. scratch holds
 * rlae_cuda_ppo_scratch_doubles(n) doubles. Queued on `stream`; nothing is copied to the host. */
#define RLAE_CUDA_PPO_METRICS 8
enum {
    RLAE_CUDA_PPO_M_LOSS = 0,
    RLAE_CUDA_PPO_M_PG,
    RLAE_CUDA_PPO_M_V,
    RLAE_CUDA_PPO_M_ENTROPY,
    RLAE_CUDA_PPO_M_KL,
    RLAE_CUDA_PPO_M_CLIPFRAC,
    RLAE_CUDA_PPO_M_TERMS
};
typedef struct {
    int n, K;
    const float *head;              /* Dirichlet: n x K logits */
    const float *mu, *log_std;      /* Normal: n x K */
    const float *action;            /* n x K */
    const float *logp_old;          /* Dirichlet: n; Normal: n x K */
    const unsigned char *active;    /* Normal: n x K or NULL */
    const float *adv, *value, *value_old, *ret; /* n each */
    float *d_head, *d_mu, *d_log_std, *d_value;  /* outputs, NULL to skip */
    double *metrics;                /* [RLAE_CUDA_PPO_METRICS] */
    double *scratch;                /* [rlae_cuda_ppo_scratch_doubles(n)] */
} rlae_cuda_ppo_args;

size_t rlae_cuda_ppo_scratch_doubles(int n);
/* p: the loss settings (host memory), as for the CPU loss. */
rlae_status rlae_cuda_ppo_loss_dirichlet(const rlae_ppo_params *p, const rlae_cuda_ppo_args *a,
                                         rlae_cuda_stream stream);
rlae_status rlae_cuda_ppo_loss_normal(const rlae_ppo_params *p, const rlae_cuda_ppo_args *a, rlae_cuda_stream stream);

/* One Adam step on n fp32 parameters (algorithms/adam.h: PyTorch's form, eps added to the
 * bias-corrected sqrt(v)), with step number t >= 1 (the CPU's a->t after its increment) and the
 * hyperparameters h (host memory). param, grad, m, v are device arrays of n floats. */
rlae_status rlae_cuda_adam_step(float *param, const float *grad, float *m, float *v, size_t n, long t,
                                const rlae_adam_hparams *h, rlae_cuda_stream stream);
/* torch.nn.utils.clip_grad_norm_ on the device: the global L2 norm of grad[0..n-1] by a two-stage
 * fixed-order reduction (in double), written to *norm (one device double); when max_norm > 0 and
 * norm > max_norm, grad is scaled by max_norm / (norm + 1e-6). scratch holds
 * rlae_cuda_grad_norm_scratch_doubles(n) doubles. The norm stays on the device (no host sync). */
size_t rlae_cuda_grad_norm_scratch_doubles(size_t n);
rlae_status rlae_cuda_grad_norm_clip(float *grad, size_t n, double max_norm, double *norm, double *scratch,
                                     rlae_cuda_stream stream);

/* ---- transformer forward (one .cu per kernel; CPU references in host/ops_cpu.c) --------------- */
/* The launchers behind the ops of host/ops.h on a CUDA device. Arguments mirror the rlae_cpu_* of
 * host/ops_cpu.h (same meaning, same layouts), plus the sizes a kernel needs to stay in bounds and
 * the stream. Every pointer is device memory unless said otherwise. They queue work on `stream`
 * and return without waiting; none allocates, except the bf16 matmul's warm-up growth of its x
 * scratch (see rlae_cuda_matmul_bf16w). Index arrays (token ids, slots, positions) cannot be
 * checked on the host without a sync: an out-of-range index never reads or writes out of bounds,
 * it turns the affected output row into NaN (gather_rows, attention) or skips it (kv_store). */

/* out[r, :] = table[idx[r], :], r < n; table has n_table rows of d values, fp32 or bf16 bits. */
rlae_status rlae_cuda_gather_rows(float *out, const float *table, const int32_t *idx, int64_t n, int64_t d,
                                  int64_t n_table, rlae_cuda_stream stream);
rlae_status rlae_cuda_gather_rows_bf16(float *out, const uint16_t *table, const int32_t *idx, int64_t n, int64_t d,
                                       int64_t n_table, rlae_cuda_stream stream);
/* y[i] += x[i], i < n. */
rlae_status rlae_cuda_add(float *y, const float *x, int64_t n, rlae_cuda_stream stream);
/* Row RMSNorm of n rows of d; y may alias x. */
rlae_status rlae_cuda_rmsnorm(float *y, const float *x, const float *weight, int64_t n, int64_t d, float eps,
                              rlae_cuda_stream stream);
/* out[i] = silu(gate[i]) * up[i]; out may alias gate or up. */
rlae_status rlae_cuda_swiglu(float *out, const float *gate, const float *up, int64_t n, rlae_cuda_stream stream);
/* Row softmax of x / temperature (temperature > 0); out may alias x. */
rlae_status rlae_cuda_softmax(float *out, const float *x, int64_t n, int64_t d, float temperature,
                              rlae_cuda_stream stream);
/* Row max, log-sum-exp and entropy (nats); any output may be NULL. */
rlae_status rlae_cuda_logit_stats(const float *x, int64_t n, int64_t d, float *max, float *lse, float *entropy,
                                  rlae_cuda_stream stream);
/* RoPE in place on x[n, n_heads*head_dim], row r at position pos[r]; inv_freq is HOST memory holding
 * head_dim/2 frequencies (rlae_rope_inv_freq), passed to the kernel by value. */
#define RLAE_CUDA_ROPE_MAX_HALF 256
rlae_status rlae_cuda_rope(float *x, const int32_t *pos, int64_t n, int n_heads, int head_dim,
                           const float *inv_freq, rlae_cuda_stream stream);
/* cache[slot[r], pos[r], :] = rows[r, :] for one layer's cache [n_slots, capacity, kv_dim], fp32
 * or (cache_bf16 != 0) bf16 bits, the rows rounded to nearest even. */
rlae_status rlae_cuda_kv_store(void *cache, int cache_bf16, const float *rows, const int32_t *slot,
                               const int32_t *pos, int64_t n, int64_t n_slots, int64_t capacity, int64_t kv_dim,
                               rlae_cuda_stream stream);
/* Causal GQA of q[n, n_heads*head_dim] against one layer's caches [n_slots, capacity,
 * n_kv_heads*head_dim] (fp32, or bf16 bits when kv_bf16 != 0; fp32 accumulation), row r attending
 * to positions 0..pos[r] of slot[r]; head_dim <= RLAE_CUDA_ATTENTION_MAX_HEAD_DIM. With scratch
 * (device floats, scratch_floats of them; NULL for none) and few (row, head) pairs it splits each
 * pair's keys over rlae_cuda_attention_splits(n, n_heads, capacity) blocks and combines the
 * partials in a second kernel (flash-decoding; cuda/attention.cu says how the split is chosen);
 * otherwise, or when the scratch is too small, one block per pair. Both are deterministic. */
#define RLAE_CUDA_ATTENTION_MAX_HEAD_DIM 512
#define RLAE_CUDA_ATTENTION_TARGET_BLOCKS 1024
rlae_status rlae_cuda_attention(float *out, const float *q, const void *k_cache, const void *v_cache, int kv_bf16,
                                const int32_t *slot, const int32_t *pos, int64_t n, int64_t n_slots,
                                int64_t capacity, int n_heads, int n_kv_heads, int head_dim, float *scratch,
                                int64_t scratch_floats, rlae_cuda_stream stream);
/* Chunks per (row, head) the split strategy uses for n rows (1: no split); depends on shapes only. */
int rlae_cuda_attention_splits(int64_t n, int n_heads, int64_t capacity);
/* Scratch floats that let any call with this head_dim split as rlae_cuda_attention_splits says
 * (RLAE_CUDA_ATTENTION_TARGET_BLOCKS * (head_dim + 2)); a fixed size, whatever the rows. */
int64_t rlae_cuda_attention_scratch_floats(int head_dim);
/* y[n, out] = x[n, in] W[out, in]^T (+ bias[out] unless NULL), fp32 W, through cuBLAS (no TF32);
 * with accumulate, y += that instead (the residual connections). */
rlae_status rlae_cuda_matmul(float *y, const float *x, const float *w, const float *bias, int64_t n, int64_t in,
                             int64_t out, int accumulate, rlae_cuda_stream stream);
/* The same with bf16 W (uint16_t bits) and fp32 x, y: n <= RLAE_CUDA_GEMV_MAX_ROWS runs
 * rlae_cuda_gemv_bf16; larger n rounds x to bf16 in a per-thread, per-device scratch (grown on first
 * use to n*in, then reused) and calls cublasGemmEx (bf16 inputs, fp32 accumulate and output). */
#define RLAE_CUDA_GEMV_MAX_ROWS 8
rlae_status rlae_cuda_matmul_bf16w(float *y, const float *x, const uint16_t *w, const float *bias, int64_t n,
                                   int64_t in, int64_t out, int accumulate, rlae_cuda_stream stream);
/* The few-row bf16-weight kernel itself (1 <= n <= RLAE_CUDA_GEMV_MAX_ROWS): one warp per output,
 * 16-byte weight loads when in % 8 == 0 and x, w are 16-byte aligned, fp32 accumulation. */
rlae_status rlae_cuda_gemv_bf16(float *y, const float *x, const uint16_t *w, const float *bias, int n, int64_t in,
                                int64_t out, int accumulate, rlae_cuda_stream stream);
/* Several such products that share x in one launch (a decode step's q/k/v and gate/up projections):
 * y_i[n, out_i] = x W_i^T (+ bias_i) for i < n_mats <= RLAE_CUDA_GEMV_MAX_MATS, each output computed
 * exactly as rlae_cuda_gemv_bf16 computes it. */
#define RLAE_CUDA_GEMV_MAX_MATS 3
typedef struct {
    float *y;
    const uint16_t *w;
    const float *bias; /* NULL: none */
    int64_t out;
} rlae_cuda_gemv_mat;
rlae_status rlae_cuda_gemv_bf16_multi(const rlae_cuda_gemv_mat *mats, int n_mats, const float *x, int n, int64_t in,
                                      int accumulate, rlae_cuda_stream stream);
/* Frees the calling thread's cuBLAS handles and matmul scratch (all devices); they are recreated on
 * the next matmul. Optional: for leak checkers and long-lived threads that stop using the GPU. */
rlae_status rlae_cuda_ops_release(void);
/* dst[i] = lo + (hi - lo) * rlae_fill_hash_uniform(seed, i), i < n, as fp32 or (bf16 != 0) bf16. */
rlae_status rlae_cuda_fill_uniform(void *dst, int bf16, int64_t n, float lo, float hi, uint64_t seed,
                                   rlae_cuda_stream stream);

#ifdef __cplusplus
}
#endif

#endif
