/* Causal grouped-query attention against the KV cache on the GPU (ops.h rlae_op_attention; CPU
 * reference rlae_cpu_attention). Each row carries its own (slot, pos), so the same kernels serve
 * decode (one row per sequence), prefill chunks and ragged mixes, exactly like the CPU op. The
 * caches are fp32 or bf16 (read as bf16, accumulated in fp32).
 *
 * Two strategies, chosen by the launcher from the shapes alone (never from the positions, which
 * live on the device; so a CUDA graph of a step replays the same choice):
 *   whole   one block per (row, head) walks keys 0..pos in tiles of kTile (= the CPU's ATT_BLOCK,
 *           so both apply the online-softmax rescaling at the same points): each warp scores
 *           kWarpKeys keys of the tile at a time (all their loads issued first; the lanes read
 *           groups of kvec = 4, 2 or 1 consecutive elements of each key row, coalesced, and
 *           warp_sum reduces q.k across them), the scores go to shared memory, every warp derives
 *           the tile max and every thread the running (max, sum), and thread i accumulates the
 *           value dimensions it owns in registers, kVU keys at a time (loads first, then the adds
 *           in key order).
 *   split   (flash-decoding) when there are few (row, head) pairs, i.e. decode: each pair's keys
 *           are cut into S chunks of C keys, C = roundup(ceil((pos+1) / S), kTile) (a function of
 *           the row's length only), one block per (row, head, chunk) runs the same tile walk over
 *           its chunk and writes its partial (max, sum, unnormalised weighted V) to the caller's
 *           scratch; a second kernel combines the chunks of each pair in chunk order.
 * Every order is fixed by the shapes and kvec (head_dim and the key cache's alignment: 4 for any
 * cache from rlae_kv_cache_layer_k when head_dim % 4 == 0), so results are bit-identical from run
 * to run. The split count S = min(kMaxSplits, kTargetBlocks / pairs, capacity / kMinChunk), with
 * kMinChunk = kTile: about kTargetBlocks blocks (a few per SM of an H100's 132) whatever the
 * batch, never more chunks than a full cache has tiles (so decode at batch 1 splits from a
 * capacity of 2 tiles on); S < 2 (many rows, e.g. prefill, or a cache under 2 tiles) or no
 * scratch means the whole strategy. A row whose (slot, pos) lies outside the cache is written as
 * NaN (the host does not check device indices). */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "cuda/ops_util.cuh"

namespace {

constexpr int kThreads = 128;
constexpr int kTile = 64;
constexpr int kMaxHeadDim = RLAE_CUDA_ATTENTION_MAX_HEAD_DIM;
constexpr int kTargetBlocks = RLAE_CUDA_ATTENTION_TARGET_BLOCKS;
constexpr int kMaxSplits = 32;
constexpr int kMinChunk = kTile;
static_assert(kTile == 2 * rlae_cuda::kWarp, "the tile max reads two scores per lane");
static_assert(kMaxHeadDim % kThreads == 0, "value dimensions per thread");

/* One cache element as a float: fp32 as is, bf16 bits widened exactly. */
__device__ __forceinline__ float ld(const float *p, int64_t i) { return p[i]; }
__device__ __forceinline__ float ld(const uint16_t *p, int64_t i) { return rlae_cuda::bf16_bits_to_float(p[i]); }

/* G consecutive cache elements as floats, in one load of G * sizeof(T) bytes (p aligned to it). */
template <int G>
__device__ __forceinline__ void ldg(const float *p, float (&o)[G])
{
    if constexpr (G == 4) {
        float4 v = *reinterpret_cast<const float4 *>(p);
        o[0] = v.x, o[1] = v.y, o[2] = v.z, o[3] = v.w;
    } else if constexpr (G == 2) {
        float2 v = *reinterpret_cast<const float2 *>(p);
        o[0] = v.x, o[1] = v.y;
    } else {
        o[0] = p[0];
    }
}
template <int G>
__device__ __forceinline__ void ldg(const uint16_t *p, float (&o)[G])
{
    if constexpr (G == 4) {
        uint2 w = *reinterpret_cast<const uint2 *>(p);
        o[0] = rlae_cuda::bf16_lo(w.x), o[1] = rlae_cuda::bf16_hi(w.x);
        o[2] = rlae_cuda::bf16_lo(w.y), o[3] = rlae_cuda::bf16_hi(w.y);
    } else if constexpr (G == 2) {
        uint32_t w = *reinterpret_cast<const uint32_t *>(p);
        o[0] = rlae_cuda::bf16_lo(w), o[1] = rlae_cuda::bf16_hi(w);
    } else {
        o[0] = rlae_cuda::bf16_bits_to_float(p[0]);
    }
}

/* The scores of keys t0..t0+nb-1 (kt = the key row t0) into sc[0..nb-1], times scale. Each warp
 * takes kWarpKeys (8 bf16, 4 fp32) consecutive keys per step (keys past nb re-read key nb-1 and
 * are dropped), its lanes read G-element groups of each key row (coalesced; all the step's loads
 * are issued before any is used), each lane sums its groups in order and warp_sum reduces across
 * lanes. */
template <int G, typename T>
__device__ __forceinline__ void score_tile(float *sc, const float *qs, const T *kt, int nb, int64_t kv_dim,
                                           int head_dim, float scale, int lane, int warp)
{
    constexpr int n_warps = kThreads / rlae_cuda::kWarp;
    constexpr int kWarpKeys = sizeof(T) == 2 ? 8 : 4; /* fp32 with 8 spilled (ptxas -v, sm_90) */
    const int n_groups = head_dim / G;
    for (int j0 = warp * kWarpKeys; j0 < nb; j0 += n_warps * kWarpKeys) {
        float d[kWarpKeys];
#pragma unroll
        for (int u = 0; u < kWarpKeys; u++)
            d[u] = 0.0f;
        for (int s = lane; s < n_groups; s += rlae_cuda::kWarp) {
            float kv[kWarpKeys][G];
#pragma unroll
            for (int u = 0; u < kWarpKeys; u++)
                ldg<G>(kt + (int64_t)(j0 + u < nb ? j0 + u : nb - 1) * kv_dim + s * G, kv[u]);
            float qv[G];
#pragma unroll
            for (int g = 0; g < G; g++)
                qv[g] = qs[s * G + g];
#pragma unroll
            for (int u = 0; u < kWarpKeys; u++)
#pragma unroll
                for (int g = 0; g < G; g++)
                    d[u] += qv[g] * kv[u][g];
        }
#pragma unroll
        for (int u = 0; u < kWarpKeys; u++)
            d[u] = rlae_cuda::warp_sum(d[u]);
        if (lane == 0) {
#pragma unroll
            for (int u = 0; u < kWarpKeys; u++)
                if (j0 + u < nb)
                    sc[j0 + u] = d[u] * scale;
        }
    }
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
    row_ctx c; /* pair < 2^31 (a block index): 32-bit division */
    c.r = (int64_t)((uint32_t)pair / (uint32_t)n_heads);
    c.h = (int)(pair - c.r * n_heads);
    int32_t s = slot[c.r], p = pos[c.r];
    int ok = s >= 0 && s < n_slots && p >= 0 && p < capacity;
    int64_t kv_dim = (int64_t)(n_heads / group) * head_dim;
    c.len = ok ? (int64_t)p + 1 : 0;
    c.base = ok ? (int64_t)s * capacity * kv_dim + (int64_t)(c.h / group) * head_dim : 0;
    return c;
}

/* The chunk length of the split strategy for a row of len keys in S chunks (a multiple of kTile).
 * len <= 2^31 (pos is an int32): 32-bit division. */
__device__ __forceinline__ int64_t chunk_len(int64_t len, int S)
{
    int64_t c = (int64_t)(((uint32_t)len + (uint32_t)S - 1u) / (uint32_t)S);
    return (c + kTile - 1) / kTile * kTile;
}

/* Online softmax over keys [t_begin, t_end) of one (row, head), tiles of kTile from t_begin, with
 * the block's query in shared memory `qs`. Leaves the running max, sum and this thread's value
 * dimensions (threadIdx.x + k * kThreads, k < KP; KP * kThreads >= head_dim) in m, l, acc. kvec
 * (1, 2 or 4; head_dim % kvec == 0 and the key cache aligned to kvec elements) is the width of a
 * key load. The value loop takes the tile's keys kVU at a time, loads first, then adds them into
 * l and acc in key order (the same order as one key at a time). */
template <typename T, int KP>
__device__ __forceinline__ void attend_range(float *sc, const float *qs, const T *kh, const T *vh, int64_t t_begin,
                                             int64_t t_end, int64_t kv_dim, int head_dim, int kvec, float scale,
                                             float &m, float &l, float (&acc)[KP])
{
    constexpr int kVU = KP == 1 ? 16 : 8;
    int lane = threadIdx.x % rlae_cuda::kWarp, warp = threadIdx.x / rlae_cuda::kWarp;
#pragma unroll
    for (int k = 0; k < KP; k++)
        acc[k] = 0.0f;
    m = -INFINITY;
    l = 0.0f;
    for (int64_t t0 = t_begin; t0 < t_end; t0 += kTile) {
        int nb = (int)(t_end - t0 < kTile ? t_end - t0 : kTile);
        const T *kt = kh + t0 * kv_dim;
        if (kvec == 4) /* uniform over the block */
            score_tile<4>(sc, qs, kt, nb, kv_dim, head_dim, scale, lane, warp);
        else if (kvec == 2)
            score_tile<2>(sc, qs, kt, nb, kv_dim, head_dim, scale, lane, warp);
        else
            score_tile<1>(sc, qs, kt, nb, kv_dim, head_dim, scale, lane, warp);
        __syncthreads();
        /* the tile max, by every warp (a max does not depend on the order) */
        float bm = rlae_cuda::warp_max(
            fmaxf(lane < nb ? sc[lane] : -INFINITY,
                  lane + rlae_cuda::kWarp < nb ? sc[lane + rlae_cuda::kWarp] : -INFINITY));
        float m_new = fmaxf(m, bm);
        float corr = expf(m - m_new); /* 0 on the first tile */
        __syncthreads();              /* everyone has read the raw scores */
        if (threadIdx.x < nb)
            sc[threadIdx.x] = expf(sc[threadIdx.x] - m_new);
        __syncthreads();
        l *= corr;
#pragma unroll
        for (int k = 0; k < KP; k++)
            acc[k] *= corr;
        const T *vt = vh + t0 * kv_dim;
        int j = 0;
        for (; j + kVU <= nb; j += kVU) {
            float v[kVU][KP];
#pragma unroll
            for (int u = 0; u < kVU; u++) {
                const T *vr = vt + (int64_t)(j + u) * kv_dim;
#pragma unroll
                for (int k = 0; k < KP; k++) {
                    int i = threadIdx.x + k * kThreads;
                    v[u][k] = i < head_dim ? ld(vr, i) : 0.0f;
                }
            }
#pragma unroll
            for (int u = 0; u < kVU; u++) {
                float pj = sc[j + u];
                l += pj;
#pragma unroll
                for (int k = 0; k < KP; k++)
                    acc[k] += pj * v[u][k];
            }
        }
        for (; j < nb; j++) {
            float pj = sc[j];
            l += pj;
            const T *vr = vt + (int64_t)j * kv_dim;
#pragma unroll
            for (int k = 0; k < KP; k++) {
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
template <typename T, int KP>
__global__ void __launch_bounds__(kThreads)
attention_kernel(float *out, const float *q, const T *k_cache, const T *v_cache, const int32_t *slot,
                 const int32_t *pos, int n_heads, int group, int head_dim, int64_t n_slots, int64_t capacity,
                 int kvec, float scale)
{
    __shared__ __align__(16) float qs[kMaxHeadDim];
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
    float m, l, acc[KP];
    attend_range(sc, qs, k_cache + c.base, v_cache + c.base, 0, c.len, kv_dim, head_dim, kvec, scale, m, l, acc);
    float inv = 1.0f / l;
#pragma unroll
    for (int k = 0; k < KP; k++) {
        int i = threadIdx.x + k * kThreads;
        if (i < head_dim)
            o[i] = acc[k] * inv;
    }
}

/* The split strategy, pass 1: block (pair, chunk) writes part[(pair * S + chunk) * (head_dim + 2) ..]
 * = (max, sum, acc[head_dim]) of its chunk; chunks past the row's length write nothing. */
template <typename T, int KP>
__global__ void __launch_bounds__(kThreads)
attention_split_kernel(float *part, const float *q, const T *k_cache, const T *v_cache, const int32_t *slot,
                       const int32_t *pos, int n_heads, int group, int head_dim, int64_t n_slots, int64_t capacity,
                       int kvec, float scale, int S)
{
    __shared__ __align__(16) float qs[kMaxHeadDim];
    __shared__ float sc[kTile];
    int64_t pair = blockIdx.x / (unsigned)S;
    int chunk = (int)(blockIdx.x - pair * S);
    row_ctx c = locate(pair, slot, pos, n_heads, group, head_dim, n_slots, capacity);
    int64_t C = chunk_len(c.len, S), t_begin = chunk * C;
    if (t_begin >= c.len) /* uniform over the block; also the out-of-cache rows (len 0) */
        return;
    int64_t t_end = t_begin + C < c.len ? t_begin + C : c.len;
    load_q(qs, q, c, n_heads, head_dim);
    int64_t kv_dim = (int64_t)(n_heads / group) * head_dim;
    float m, l, acc[KP];
    attend_range(sc, qs, k_cache + c.base, v_cache + c.base, t_begin, t_end, kv_dim, head_dim, kvec, scale, m,
                 l, acc);
    float *p = part + (int64_t)blockIdx.x * (head_dim + 2);
    if (threadIdx.x == 0)
        p[0] = m, p[1] = l;
#pragma unroll
    for (int k = 0; k < KP; k++) {
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

/* The widest key load (elements) that head_dim and the key cache's alignment allow. */
template <typename T>
int key_vec(const T *k_cache, int head_dim)
{
    uintptr_t a = (uintptr_t)k_cache;
    if (head_dim % 4 == 0 && a % (4 * sizeof(T)) == 0)
        return 4;
    if (head_dim % 2 == 0 && a % (2 * sizeof(T)) == 0)
        return 2;
    return 1;
}

template <typename T, int KP>
rlae_status launch_kp(float *out, const float *q, const T *k_cache, const T *v_cache, const int32_t *slot,
                      const int32_t *pos, int64_t pairs, int64_t n_slots, int64_t capacity, int n_heads,
                      int group, int head_dim, int kvec, float scale, float *scratch, int S, cudaStream_t st)
{
    if (S < 2) {
        attention_kernel<T, KP><<<(unsigned)pairs, kThreads, 0, st>>>(
            out, q, k_cache, v_cache, slot, pos, n_heads, group, head_dim, n_slots, capacity, kvec, scale);
        CUDA_CHECK_LAUNCH();
        return RLAE_OK;
    }
    attention_split_kernel<T, KP><<<(unsigned)(pairs * S), kThreads, 0, st>>>(
        scratch, q, k_cache, v_cache, slot, pos, n_heads, group, head_dim, n_slots, capacity, kvec, scale, S);
    CUDA_CHECK_LAUNCH();
    attention_combine_kernel<<<(unsigned)pairs, kThreads, 0, st>>>(out, scratch, slot, pos, n_heads, group, head_dim,
                                                                    n_slots, capacity, S);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
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
    int kvec = key_vec(k_cache, head_dim);
    if (head_dim <= kThreads)
        return launch_kp<T, 1>(out, q, k_cache, v_cache, slot, pos, pairs, n_slots, capacity, n_heads, group,
                               head_dim, kvec, scale, scratch, S, st);
    else if (head_dim <= 2 * kThreads)
        return launch_kp<T, 2>(out, q, k_cache, v_cache, slot, pos, pairs, n_slots, capacity, n_heads, group,
                               head_dim, kvec, scale, scratch, S, st);
    else
        return launch_kp<T, kMaxHeadDim / kThreads>(out, q, k_cache, v_cache, slot, pos, pairs, n_slots,
                                                    capacity, n_heads, group, head_dim, kvec, scale, scratch,
                                                    S, st);
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
