/* y[n, out] = x[n, in] W[out, in]^T (+ bias) for a few rows (n <= RLAE_CUDA_GEMV_MAX_ROWS) with
 * bf16 weights and fp32 activations: the decode-time projection, where the whole cost is reading W
 * once. Bandwidth first: one warp per output row streams that row of W with 16-byte loads (8 bf16
 * per lane per step, read-only path), widens to fp32 exactly, and multiplies it into all n rows of
 * x (fp32, small, served from L1/L2); fp32 accumulation, a warp shuffle reduction, one store per
 * (row, output). Rows not a multiple of 8 or unaligned pointers take a scalar path with the same
 * arithmetic. Used by rlae_cuda_matmul_bf16w (cuda/matmul.cu) for small n. */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "cuda/ops_util.cuh"

namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kThreads = kWarpsPerBlock * rlae_cuda::kWarp;

template <int NR>
__global__ void __launch_bounds__(kThreads)
gemv_bf16_kernel(float *y, const float *x, const uint16_t *w, const float *bias, int64_t in, int64_t out, int vec)
{
    int lane = threadIdx.x % rlae_cuda::kWarp;
    int64_t o = (int64_t)blockIdx.x * kWarpsPerBlock + threadIdx.x / rlae_cuda::kWarp;
    if (o >= out)
        return;
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
            y[r * out + o] = v + b;
    }
}

template <int NR>
void launch(float *y, const float *x, const uint16_t *w, const float *bias, int64_t in, int64_t out, int vec,
            cudaStream_t s)
{
    unsigned blocks = (unsigned)((out + kWarpsPerBlock - 1) / kWarpsPerBlock);
    gemv_bf16_kernel<NR><<<blocks, kThreads, 0, s>>>(y, x, w, bias, in, out, vec);
}

} // namespace

extern "C" rlae_status rlae_cuda_gemv_bf16(float *y, const float *x, const uint16_t *w, const float *bias, int n,
                                           int64_t in, int64_t out, rlae_cuda_stream stream)
{
    if (n < 0 || n > RLAE_CUDA_GEMV_MAX_ROWS)
        return rlae_fail(RLAE_ERR_RUNTIME, "gemv_bf16: %d rows (1..%d)", n, RLAE_CUDA_GEMV_MAX_ROWS);
    if (n == 0 || out <= 0)
        return RLAE_OK;
    if ((out + kWarpsPerBlock - 1) / kWarpsPerBlock > 0x7fffffffLL)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "gemv_bf16: %lld output rows is too many", (long long)out);
    int vec = in % 8 == 0 && ((uintptr_t)x % 16) == 0 && ((uintptr_t)w % 16) == 0;
    cudaStream_t s = (cudaStream_t)stream;
    switch (n) {
    case 1: launch<1>(y, x, w, bias, in, out, vec, s); break;
    case 2: launch<2>(y, x, w, bias, in, out, vec, s); break;
    case 3: launch<3>(y, x, w, bias, in, out, vec, s); break;
    case 4: launch<4>(y, x, w, bias, in, out, vec, s); break;
    case 5: launch<5>(y, x, w, bias, in, out, vec, s); break;
    case 6: launch<6>(y, x, w, bias, in, out, vec, s); break;
    case 7: launch<7>(y, x, w, bias, in, out, vec, s); break;
    default: launch<8>(y, x, w, bias, in, out, vec, s); break;
    }
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}
