/* y[n, out] = x[n, in] W[out, in]^T (+ bias) for a few rows (n <= RLAE_CUDA_GEMV_MAX_ROWS) with
 * bf16 weights and fp32 activations: the decode-time projection, where the whole cost is reading W
 * once. Bandwidth first: one warp per output row streams that row of W with 16-byte loads (8 bf16
 * per lane per step, read-only path), widens to fp32 exactly, and multiplies it into all n rows of
 * x (fp32, small, served from L1/L2); fp32 accumulation, a warp shuffle reduction, one store per
 * (row, output). Rows not a multiple of 8 or unaligned pointers take a scalar path with the same
 * arithmetic. Used by rlae_cuda_matmul_bf16w (cuda/matmul.cu) for small n. One launch can cover up
 * to RLAE_CUDA_GEMV_MAX_MATS matrices that share x (rlae_cuda_gemv_bf16_multi): the warps of the
 * launch walk their rows one after the other, which fills the GPU better than several small launches
 * (a decode step's k and v projections alone are 1024 rows each for Llama-3-8B). */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "cuda/ops_util.cuh"

#include <string.h>

namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kThreads = kWarpsPerBlock * rlae_cuda::kWarp;

/* The matrices of one launch; output row o of the launch is row o - (out_0 + ... + out_{m-1}) of
 * matrix m. */
static_assert(RLAE_CUDA_GEMV_MAX_MATS == 3, "the kernel selects among three matrices");
struct mats {
    float *y[RLAE_CUDA_GEMV_MAX_MATS];
    const uint16_t *w[RLAE_CUDA_GEMV_MAX_MATS];
    const float *bias[RLAE_CUDA_GEMV_MAX_MATS];
    int64_t out[RLAE_CUDA_GEMV_MAX_MATS];
    int n_mats;
};

template <int NR>
__global__ void __launch_bounds__(kThreads)
gemv_bf16_kernel(mats ms, const float *x, int64_t in, int64_t total, int vec, int accumulate)
{
    int lane = threadIdx.x % rlae_cuda::kWarp;
    int64_t o = (int64_t)blockIdx.x * kWarpsPerBlock + threadIdx.x / rlae_cuda::kWarp;
    if (o >= total)
        return;
    /* constant indices only: a run-time index would copy the parameters to local memory */
    const uint16_t *w = ms.w[0];
    float *y = ms.y[0];
    const float *bias = ms.bias[0];
    int64_t out = ms.out[0];
    if (ms.n_mats > 1 && o >= ms.out[0]) {
        o -= ms.out[0];
        w = ms.w[1], y = ms.y[1], bias = ms.bias[1], out = ms.out[1];
        if (ms.n_mats > 2 && o >= ms.out[1]) {
            o -= ms.out[1];
            w = ms.w[2], y = ms.y[2], bias = ms.bias[2], out = ms.out[2];
        }
    }
    const uint16_t *wr = w + o * in;
    float acc[NR];
#pragma unroll
    for (int r = 0; r < NR; r++)
        acc[r] = 0.0f;
    if (vec) {
        const uint4 *w4 = reinterpret_cast<const uint4 *>(wr);
        int64_t n8 = in / 8;
#pragma unroll 4
        for (int64_t k = lane; k < n8; k += rlae_cuda::kWarp) {
            uint4 raw = __ldg(w4 + k);
            float wf[8] = {rlae_cuda::bf16_lo(raw.x), rlae_cuda::bf16_hi(raw.x), rlae_cuda::bf16_lo(raw.y),
                           rlae_cuda::bf16_hi(raw.y), rlae_cuda::bf16_lo(raw.z), rlae_cuda::bf16_hi(raw.z),
                           rlae_cuda::bf16_lo(raw.w), rlae_cuda::bf16_hi(raw.w)};
#pragma unroll
            for (int r = 0; r < NR; r++) {
                const float4 *xv = reinterpret_cast<const float4 *>(x + r * in) + 2 * k;
                float4 a = __ldg(xv), b = __ldg(xv + 1);
                acc[r] += wf[0] * a.x + wf[1] * a.y + wf[2] * a.z + wf[3] * a.w + wf[4] * b.x + wf[5] * b.y +
                          wf[6] * b.z + wf[7] * b.w;
            }
        }
    } else {
        for (int64_t k = lane; k < in; k += rlae_cuda::kWarp) {
            float wv = rlae_cuda::bf16_bits_to_float(wr[k]);
#pragma unroll
            for (int r = 0; r < NR; r++)
                acc[r] += wv * x[r * in + k];
        }
    }
    float b = bias ? bias[o] : 0.0f;
#pragma unroll
    for (int r = 0; r < NR; r++) {
        float v = rlae_cuda::warp_sum(acc[r]);
        if (lane == 0)
            y[r * out + o] = accumulate ? y[r * out + o] + (v + b) : v + b;
    }
}

template <int NR>
void launch(const mats &ms, const float *x, int64_t in, int64_t total, int vec, int acc, cudaStream_t s)
{
    unsigned blocks = (unsigned)((total + kWarpsPerBlock - 1) / kWarpsPerBlock);
    gemv_bf16_kernel<NR><<<blocks, kThreads, 0, s>>>(ms, x, in, total, vec, acc);
}

} // namespace

extern "C" rlae_status rlae_cuda_gemv_bf16_multi(const rlae_cuda_gemv_mat *mat, int n_mats, const float *x, int n,
                                                 int64_t in, int accumulate, rlae_cuda_stream stream)
{
    if (n < 0 || n > RLAE_CUDA_GEMV_MAX_ROWS)
        return rlae_fail(RLAE_ERR_RUNTIME, "gemv_bf16: %d rows (1..%d)", n, RLAE_CUDA_GEMV_MAX_ROWS);
    if (n_mats < 1 || n_mats > RLAE_CUDA_GEMV_MAX_MATS)
        return rlae_fail(RLAE_ERR_RUNTIME, "gemv_bf16: %d matrices (1..%d)", n_mats, RLAE_CUDA_GEMV_MAX_MATS);
    mats ms;
    memset(&ms, 0, sizeof ms);
    ms.n_mats = n_mats;
    int64_t total = 0;
    int vec = in % 8 == 0 && ((uintptr_t)x % 16) == 0;
    for (int i = 0; i < n_mats; i++) {
        ms.y[i] = mat[i].y, ms.w[i] = mat[i].w, ms.bias[i] = mat[i].bias, ms.out[i] = mat[i].out;
        total += mat[i].out;
        vec = vec && ((uintptr_t)mat[i].w % 16) == 0;
    }
    if (n == 0 || total <= 0)
        return RLAE_OK;
    if ((total + kWarpsPerBlock - 1) / kWarpsPerBlock > 0x7fffffffLL)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "gemv_bf16: %lld output rows is too many", (long long)total);
    cudaStream_t s = (cudaStream_t)stream;
    switch (n) {
    case 1: launch<1>(ms, x, in, total, vec, accumulate, s); break;
    case 2: launch<2>(ms, x, in, total, vec, accumulate, s); break;
    case 3: launch<3>(ms, x, in, total, vec, accumulate, s); break;
    case 4: launch<4>(ms, x, in, total, vec, accumulate, s); break;
    case 5: launch<5>(ms, x, in, total, vec, accumulate, s); break;
    case 6: launch<6>(ms, x, in, total, vec, accumulate, s); break;
    case 7: launch<7>(ms, x, in, total, vec, accumulate, s); break;
    default: launch<8>(ms, x, in, total, vec, accumulate, s); break;
    }
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}

extern "C" rlae_status rlae_cuda_gemv_bf16(float *y, const float *x, const uint16_t *w, const float *bias, int n,
                                           int64_t in, int64_t out, int accumulate, rlae_cuda_stream stream)
{
    rlae_cuda_gemv_mat m = {y, w, bias, out};
    return rlae_cuda_gemv_bf16_multi(&m, 1, x, n, in, accumulate, stream);
}
