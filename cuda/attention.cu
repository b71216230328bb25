/* Causal grouped-query attention against the KV cache on the GPU (ops.h rlae_op_attention; CPU
 * reference rlae_cpu_attention). Each row carries its own (slot, pos), so the same kernels serve
 * decode (one row per sequence), prefill chunks and ragged mixes, exactly like the CPU op. The
 * caches are fp32 or bf16 (read as bf16, accumulated in fp32).
 *
 * Two strategies, chosen by the launcher from the shapes alone (never from the positions, which
 * live on the device; so a CUDA graph of a step replays the same choice):
 *   whole   one block per (row, head) walks keys 0..pos in tiles of kTile (= the CPU's ATT_BLOCK,
 *           so both apply the online-softmax rescaling at the same points): each warp takes keys
 *           of the tile and reduces q.k across its lanes (coalesced reads of the key row), the
 *           scores go to shared memory, every thread derives the tile max and the running
 *           (max, sum), and thread i accumulates the value dimensions it owns in registers.
 *   split   (flash-decoding) when there are few (row, head) pairs, i.e. decode: each pair's keys
 *           are cut into S chunks of C keys, C = roundup(ceil((pos+1) / S), kTile) (a function of
 *           the row's length only), one block per (row, head, chunk) runs the same tile walk over
 *           its chunk and writes its partial (max, sum, unnormalised weighted V) to the caller's
 *           scratch; a second kernel combines the chunks of each pair in chunk order. Both orders
 *           are fixed, so results are bit-identical from run to run.
 * The split count S = min(kMaxSplits, kTargetBlocks / pairs, capacity / kMinChunk): about
 * kTargetBlocks blocks (a few per SM of an H100's 132) whatever the batch, never a chunk shorter
 * than kMinChunk keys in a full cache; S < 2 (many rows, e.g. prefill, or a short cache) or no
 * scratch means the whole strategy. A row whose (slot, pos) lies outside the cache is written as
 * NaN (the host does not check device indices). */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "cuda/ops_util.cuh"

namespace {

constexpr int kThreads = 128;
constexpr int kTile = 64;
constexpr int kMaxHeadDim = RLAE_CUDA_ATTENTION_MAX_HEAD_DIM;
constexpr int kPerThread = kMaxHeadDim / kThreads;
constexpr int kTargetBlocks = RLAE_CUDA_ATTENTION_TARGET_BLOCKS;
constexpr int kMaxSplits = 32;
constexpr int kMinChunk = 128;

/* One cache element as a float: fp32 as is, bf16 bits widened exactly. */
__device__ __forceinline__ float ld(const float *p, int64_t i) { return p[i]; }
__device__ __forceinline__ float ld(const uint16_t *p, int64_t i) { return rlae_cuda::bf16_bits_to_float(p[i]); }

/* q . k over head_dim, by one warp (every lane gets the sum). */
__device__ __forceinline__ float dot_row(const float *qs, const float *kr, int head_dim, int lane)
{
    float d = 0.0f;
    for (int i = lane; i < head_dim; i += rlae_cuda::kWarp)
        d += qs[i] * kr[i];
    return rlae_cuda::warp_sum(d);
}
/* bf16 keys: pairs of elements per 32-bit load when head_dim is even (every row then starts 4-byte
 * aligned, as the cache base is). */
__device__ __forceinline__ float dot_row(const float *qs, const uint16_t *kr, int head_dim, int lane)
{
    float d = 0.0f;
    if ((head_dim & 1) == 0) {
        const uint32_t *k2 = reinterpret_cast<const uint32_t *>(kr);
        for (int i = lane; i < head_dim / 2; i += rlae_cuda::kWarp) {
            uint32_t w = k2[i];
            d += qs[2 * i] * rlae_cuda::bf16_lo(w) + qs[2 * i + 1] * rlae_cuda::bf16_hi(w);
        }
    } else {
        for (int i = lane; i < head_dim; i += rlae_cuda::kWarp)
            d += qs[i] * ld(kr, i);
    }
    return rlae_cuda::warp_sum(d);
}

struct row_ctx {
    int64_t r;
    int h;
    int64_t len;  /* keys 0..len-1; 0 when (slot, pos) is outside the cache */
    int64_t base; /* element offset of this (slot, kv head) in the cache */
};

__device__ __forceinline__ row_ctx locate(int64_t pair, const int32_t *slot, const int32_t *pos, int n_heads,
                                          int group, int head_dim, int64_t n_slots, int64_t capacity)
{
    row_ctx c;
    c.r = pair / n_heads;
    c.h = (int)(pair - c.r * n_heads);
    int32_t s = slot[c.r], p = pos[c.r];
    int ok = s >= 0 && s < n_slots && p >= 0 && p < capacity;
    int64_t kv_dim = (int64_t)(n_heads / group) * head_dim;
    c.len = ok ? (int64_t)p + 1 : 0;
    c.base = ok ? (int64_t)s * capacity * kv_dim + (int64_t)(c.h / group) * head_dim : 0;
    return c;
}

/* The chunk length of the split strategy for a row of len keys in S chunks (a multiple of kTile). */
__device__ __forceinline__ int64_t chunk_len(int64_t len, int S)
{
    int64_t c = (len + S - 1) / S;
    return (c + kTile - 1) / kTile * kTile;
}

/* Online softmax over keys [t_begin, t_end) of one (row, head), tiles of kTile from t_begin, with
 * the block's query in shared memory `qs`. Leaves the running max, sum and this thread's value
 * dimensions (threadIdx.x + k * kThreads) in m, l, acc. */
template <typename T>
__device__ __forceinline__ void attend_range(float *sc, const float *qs, const T *kh, const T *vh, int64_t t_begin,
                                             int64_t t_end, int64_t kv_dim, int head_dim, float scale, float &m,
                                             float &l, float (&acc)[kPerThread])
{
    int lane = threadIdx.x % rlae_cuda::kWarp, warp = threadIdx.x / rlae_cuda::kWarp;
    constexpr int n_warps = kThreads / rlae_cuda::kWarp;
#pragma unroll
    for (int k = 0; k < kPerThread; k++)
        acc[k] = 0.0f;
    m = -INFINITY;
    l = 0.0f;
    for (int64_t t0 = t_begin; t0 < t_end; t0 += kTile) {
        int nb = (int)(t_end - t0 < kTile ? t_end - t0 : kTile);
        for (int j = warp; j < nb; j += n_warps) {
            float d = dot_row(qs, kh + (t0 + j) * kv_dim, head_dim, lane);
            if (lane == 0)
                sc[j] = d * scale;
        }
        __syncthreads();
        float bm = -INFINITY;
        for (int j = 0; j < nb; j++)
            bm = fmaxf(bm, sc[j]);
        float m_new = fmaxf(m, bm);
        float corr = expf(m - m_new); /* 0 on the first tile */
        __syncthreads();               /* everyone has read the raw scores */
        if (threadIdx.x < nb)
            sc[threadIdx.x] = expf(sc[threadIdx.x] - m_new);
        __syncthreads();
        l *= corr;
#pragma unroll
        for (int k = 0; k < kPerThread; k++)
            acc[k] *= corr;
        for (int j = 0; j < nb; j++) {
            float pj = sc[j];
            l += pj;
            const T *vr = vh + (t0 + j) * kv_dim;
#pragma unroll
            for (int k = 0; k < kPerThread; k++) {
                int i = threadIdx.x + k * kThreads;
                if (i < head_dim)
                    acc[k] += pj * ld(vr, i);
            }
        }
        m = m_new;
        __syncthreads(); /* the next tile overwrites sc */
    }
}

__device__ __forceinline__ void load_q(float *qs, const float *q, const row_ctx &c, int n_heads, int head_dim)
{
    const float *qh = q + c.r * (int64_t)n_heads * head_dim + (int64_t)c.h * head_dim;
    for (int i = threadIdx.x; i < head_dim; i += kThreads)
        qs[i] = qh[i];
    __syncthreads();
}

/* The whole strategy: one block per (row, head). */
template <typename T>
__global__ void __launch_bounds__(kThreads)
attention_kernel(float *out, const float *q, const T *k_cache, const T *v_cache, const int32_t *slot,
                 const int32_t *pos, int n_heads, int group, int head_dim, int64_t n_slots, int64_t capacity,
                 float scale)
{
    __shared__ float qs[kMaxHeadDim];
    __shared__ float sc[kTile];
    row_ctx c = locate(blockIdx.x, slot, pos, n_heads, group, head_dim, n_slots, capacity);
    float *o = out + c.r * (int64_t)n_heads * head_dim + (int64_t)c.h * head_dim;
    if (c.len == 0) { /* uniform over the block */
        for (int i = threadIdx.x; i < head_dim; i += kThreads)
            o[i] = NAN;
        return;
    }
    load_q(qs, q, c, n_heads, head_dim);
    int64_t kv_dim = (int64_t)(n_heads / group) * head_dim;
    float m, l, acc[kPerThread];
    attend_range(sc, qs, k_cache + c.base, v_cache + c.base, 0, c.len, kv_dim, head_dim, scale, m, l, acc);
    float inv = 1.0f / l;
#pragma unroll
    for (int k = 0; k < kPerThread; k++) {
        int i = threadIdx.x + k * kThreads;
        if (i < head_dim)
            o[i] = acc[k] * inv;
    }
}

/* The split strategy, pass 1: block (pair, chunk) writes part[(pair * S + chunk) * (head_dim + 2) ..]
 * = (max, sum, acc[head_dim]) of its chunk; chunks past the row's length write nothing. */
template <typename T>
__global__ void __launch_bounds__(kThreads)
attention_split_kernel(float *part, const float *q, const T *k_cache, const T *v_cache, const int32_t *slot,
                       const int32_t *pos, int n_heads, int group, int head_dim, int64_t n_slots, int64_t capacity,
                       float scale, int S)
{
    __shared__ float qs[kMaxHeadDim];
    __shared__ float sc[kTile];
    int64_t pair = blockIdx.x / S;
    int chunk = (int)(blockIdx.x - pair * S);
    row_ctx c = locate(pair, slot, pos, n_heads, group, head_dim, n_slots, capacity);
    int64_t C = chunk_len(c.len, S), t_begin = chunk * C;
    if (t_begin >= c.len) /* uniform over the block; also the out-of-cache rows (len 0) */
        return;
    int64_t t_end = t_begin + C < c.len ? t_begin + C : c.len;
    load_q(qs, q, c, n_heads, head_dim);
    int64_t kv_dim = (int64_t)(n_heads / group) * head_dim;
    float m, l, acc[kPerThread];
    attend_range(sc, qs, k_cache + c.base, v_cache + c.base, t_begin, t_end, kv_dim, head_dim, scale, m, l, acc);
    float *p = part + (int64_t)blockIdx.x * (head_dim + 2);
    if (threadIdx.x == 0)
        p[0] = m, p[1] = l;
#pragma unroll
    for (int k = 0; k < kPerThread; k++) {
        int i = threadIdx.x + k * kThreads;
        if (i < head_dim)
            p[2 + i] = acc[k];
    }
}

/* The split strategy, pass 2: one block per (row, head) combines its live chunks 0..n_live-1 in
 * order: out = sum_c exp(m_c - M) acc_c / sum_c exp(m_c - M) l_c with M = max_c m_c. */
__global__ void __launch_bounds__(kThreads)
attention_combine_kernel(float *out, const float *part, const int32_t *slot, const int32_t *pos, int n_heads,
                         int group, int head_dim, int64_t n_slots, int64_t capacity, int S)
{
    row_ctx c = locate(blockIdx.x, slot, pos, n_heads, group, head_dim, n_slots, capacity);
    float *o = out + c.r * (int64_t)n_heads * head_dim + (int64_t)c.h * head_dim;
    if (c.len == 0) {
        for (int i = threadIdx.x; i < head_dim; i += kThreads)
            o[i] = NAN;
        return;
    }
    int64_t C = chunk_len(c.len, S);
    int n_live = (int)((c.len + C - 1) / C);
    int64_t stride = head_dim + 2;
    const float *p = part + (int64_t)blockIdx.x * S * stride;
    float M = -INFINITY;
    for (int k = 0; k < n_live; k++)
        M = fmaxf(M, p[k * stride]);
    float L = 0.0f;
    for (int k = 0; k < n_live; k++)
        L += p[k * stride + 1] * expf(p[k * stride] - M);
    float inv = 1.0f / L;
    for (int i = threadIdx.x; i < head_dim; i += kThreads) {
        float a = 0.0f;
        for (int k = 0; k < n_live; k++)
            a += p[k * stride + 2 + i] * expf(p[k * stride] - M);
        o[i] = a * inv;
    }
}

template <typename T>
rlae_status launch(float *out, const float *q, const T *k_cache, const T *v_cache, const int32_t *slot,
                   const int32_t *pos, int64_t n, int64_t n_slots, int64_t capacity, int n_heads, int n_kv_heads,
                   int head_dim, float *scratch, int64_t scratch_floats, cudaStream_t st)
{
    int group = n_heads / n_kv_heads;
    float scale = 1.0f / sqrtf((float)head_dim);
    int64_t pairs = n * n_heads;
    int S = rlae_cuda_attention_splits(n, n_heads, capacity);
    if (!scratch || pairs * S * (head_dim + 2) > scratch_floats)
        S = 1;
    if (S < 2) {
        attention_kernel<T><<<(unsigned)pairs, kThreads, 0, st>>>(out, q, k_cache, v_cache, slot, pos, n_heads,
                                                                 group, head_dim, n_slots, capacity, scale);
        CUDA_CHECK_LAUNCH();
        return RLAE_OK;
    }
    attention_split_kernel<T><<<(unsigned)(pairs * S), kThreads, 0, st>>>(
        scratch, q, k_cache, v_cache, slot, pos, n_heads, group, head_dim, n_slots, capacity, scale, S);
    CUDA_CHECK_LAUNCH();
    attention_combine_kernel<<<(unsigned)pairs, kThreads, 0, st>>>(out, scratch, slot, pos, n_heads, group, head_dim,
                                                                    n_slots, capacity, S);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}

} // namespace

extern "C" int rlae_cuda_attention_splits(int64_t n, int n_heads, int64_t capacity)
{
    int64_t pairs = n * (int64_t)n_heads;
    if (pairs <= 0)
        return 1;
    int64_t S = kTargetBlocks / pairs, by_len = capacity / kMinChunk;
    if (S > by_len)
        S = by_len;
    if (S > kMaxSplits)
        S = kMaxSplits;
    return S < 2 ? 1 : (int)S;
}

extern "C" int64_t rlae_cuda_attention_scratch_floats(int head_dim)
{
    return head_dim > 0 ? (int64_t)kTargetBlocks * (head_dim + 2) : 0;
}

extern "C" rlae_status rlae_cuda_attention(float *out, const float *q, const void *k_cache, const void *v_cache,
                                           int kv_bf16, const int32_t *slot, const int32_t *pos, int64_t n,
                                           int64_t n_slots, int64_t capacity, int n_heads, int n_kv_heads,
                                           int head_dim, float *scratch, int64_t scratch_floats,
                                           rlae_cuda_stream stream)
{
    if (n_heads <= 0 || n_kv_heads <= 0 || n_heads % n_kv_heads || head_dim <= 0 || head_dim > kMaxHeadDim)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "attention on the GPU: %d heads, %d kv heads, head_dim %d (need heads "
                         "a multiple of kv heads and head_dim <= %d)", n_heads, n_kv_heads, head_dim, kMaxHeadDim);
    if (n <= 0)
        return RLAE_OK;
    if (n * n_heads > 0x7fffffffLL)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "attention on the GPU: %lld rows x %d heads is too many blocks",
                         (long long)n, n_heads);
    cudaStream_t st = (cudaStream_t)stream;
    if (kv_bf16 && head_dim % 2 == 0 && (((uintptr_t)k_cache | (uintptr_t)v_cache) & 3))
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "attention on the GPU: bf16 caches must start 4-byte aligned (a view "
                         "at an odd element offset?); use rlae_kv_cache_layer_k/v views");
    if (kv_bf16)
        return launch(out, q, (const uint16_t *)k_cache, (const uint16_t *)v_cache, slot, pos, n, n_slots, capacity,
                      n_heads, n_kv_heads, head_dim, scratch, scratch_floats, st);
    return launch(out, q, (const float *)k_cache, (const float *)v_cache, slot, pos, n, n_slots, capacity, n_heads,
                  n_kv_heads, head_dim, scratch, scratch_floats, st);
}
