/* RMSNorm on the GPU: y[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight (ops.h rlae_op_rmsnorm; CPU
 * reference rlae_cpu_rmsnorm). One block per row: each thread sums the squares of its strided
 * elements in fp32, a block reduction gives the row's sum, then the same threads scale their
 * elements (so y may alias x). Only the summation order differs from the CPU's left-to-right sum. */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "cuda/ops_util.cuh"

namespace {

constexpr int kThreads = 256;

__global__ void rmsnorm_kernel(float *y, const float *x, const float *weight, int64_t d, float eps)
{
    __shared__ float sh[rlae_cuda::kWarp];
    const float *xr = x + (int64_t)blockIdx.x * d;
    float *yr = y + (int64_t)blockIdx.x * d;
    float ss = 0.0f;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x)
        ss += xr[j] * xr[j];
    ss = rlae_cuda::block_sum(ss, sh);
    float inv = 1.0f / sqrtf(ss / (float)d + eps);
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x)
        yr[j] = weight[j] * (inv * xr[j]);
}

} // namespace

extern "C" rlae_status rlae_cuda_rmsnorm(float *y, const float *x, const float *weight, int64_t n, int64_t d,
                                         float eps, rlae_cuda_stream stream)
{
    if (n <= 0 || d <= 0)
        return RLAE_OK;
    if (n > 0x7fffffffLL)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "rmsnorm on the GPU: %lld rows (at most 2^31-1)", (long long)n);
    rmsnorm_kernel<<<(unsigned)n, kThreads, 0, (cudaStream_t)stream>>>(y, x, weight, d, eps);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}
