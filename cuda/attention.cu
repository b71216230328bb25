/* Causal grouped-query attention against the KV cache on the GPU (ops.h rlae_op_attention; CPU
 * reference rlae_cpu_attention). One block per (query row, head); each row carries its own
 * (slot, pos), so the same kernel serves decode (one row per sequence), prefill chunks and ragged
 * mixes, exactly like the CPU op.
 *
 * The block walks keys 0..pos in tiles of kTile (= the CPU's ATT_BLOCK, so both apply the online
 * softmax rescaling at the same points): each warp takes keys of the tile and reduces q.k across its
 * lanes (coalesced reads of the key row), the scores go to shared memory, every thread derives the
 * tile max and the running (max, sum) from them, and thread i accumulates the value dimensions it
 * owns (coalesced reads of the value rows) in registers. No scratch sized by the context. A row
 * whose (slot, pos) lies outside the cache is written as NaN (the host does not check device
 * indices). Split-K over long contexts (flash-decoding) is not done yet. */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "cuda/ops_util.cuh"

namespace {

constexpr int kThreads = 128;
constexpr int kTile = 64;
constexpr int kMaxHeadDim = 512;
constexpr int kPerThread = kMaxHeadDim / kThreads;

__global__ void __launch_bounds__(kThreads)
attention_kernel(float *out, const float *q, const float *k_cache, const float *v_cache, const int32_t *slot,
                 const int32_t *pos, int n_heads, int group, int head_dim, int64_t n_slots, int64_t capacity,
                 float scale)
{
    __shared__ float qs[kMaxHeadDim];
    __shared__ float sc[kTile];
    int64_t r = blockIdx.x / n_heads;
    int h = (int)(blockIdx.x - r * n_heads);
    int64_t q_dim = (int64_t)n_heads * head_dim, kv_dim = (int64_t)(n_heads / group) * head_dim;
    float *o = out + r * q_dim + (int64_t)h * head_dim;
    int32_t s = slot[r], p = pos[r];
    if (s < 0 || s >= n_slots || p < 0 || p >= capacity) { /* uniform over the block */
        for (int i = threadIdx.x; i < head_dim; i += kThreads)
            o[i] = NAN;
        return;
    }
    for (int i = threadIdx.x; i < head_dim; i += kThreads)
        qs[i] = q[r * q_dim + (int64_t)h * head_dim + i];
    __syncthreads();

    int64_t base = (int64_t)s * capacity * kv_dim + (int64_t)(h / group) * head_dim;
    const float *kh = k_cache + base, *vh = v_cache + base;
    int lane = threadIdx.x % rlae_cuda::kWarp, warp = threadIdx.x / rlae_cuda::kWarp;
    constexpr int n_warps = kThreads / rlae_cuda::kWarp;
    float acc[kPerThread];
#pragma unroll
    for (int k = 0; k < kPerThread; k++)
        acc[k] = 0.0f;
    float m = -INFINITY, l = 0.0f;
    int64_t len = (int64_t)p + 1;
    for (int64_t t0 = 0; t0 < len; t0 += kTile) {
        int nb = (int)(len - t0 < kTile ? len - t0 : kTile);
        for (int j = warp; j < nb; j += n_warps) {
            const float *kr = kh + (t0 + j) * kv_dim;
            float d = 0.0f;
            for (int i = lane; i < head_dim; i += rlae_cuda::kWarp)
                d += qs[i] * kr[i];
            d = rlae_cuda::warp_sum(d);
            if (lane == 0)
                sc[j] = d * scale;
        }
        __syncthreads();
        float bm = -INFINITY;
        for (int j = 0; j < nb; j++)
            bm = fmaxf(bm, sc[j]);
        float m_new = fmaxf(m, bm);
        float corr = expf(m - m_new); /* 0 on the first tile */
        __syncthreads(); /* everyone has read the raw scores */
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
            const float *vr = vh + (t0 + j) * kv_dim;
#pragma unroll
            for (int k = 0; k < kPerThread; k++) {
                int i = threadIdx.x + k * kThreads;
                if (i < head_dim)
                    acc[k] += pj * vr[i];
            }
        }
        m = m_new;
        __syncthreads(); /* the next tile overwrites sc */
    }
    float inv = 1.0f / l;
#pragma unroll
    for (int k = 0; k < kPerThread; k++) {
        int i = threadIdx.x + k * kThreads;
        if (i < head_dim)
            o[i] = acc[k] * inv;
    }
}

} // namespace

extern "C" rlae_status rlae_cuda_attention(float *out, const float *q, const float *k_cache, const float *v_cache,
                                           const int32_t *slot, const int32_t *pos, int64_t n, int64_t n_slots,
                                           int64_t capacity, int n_heads, int n_kv_heads, int head_dim,
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
    attention_kernel<<<(unsigned)(n * n_heads), kThreads, 0, (cudaStream_t)stream>>>(
        out, q, k_cache, v_cache, slot, pos, n_heads, n_heads / n_kv_heads, head_dim, n_slots, capacity,
        1.0f / sqrtf((float)head_dim));
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}
