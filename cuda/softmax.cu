/* Row softmax with temperature on the GPU: out[r] = softmax(x[r] / T) (ops.h rlae_op_softmax; CPU
 * reference rlae_cpu_softmax). One block per row, three strided passes by the same threads over the
 * same elements (so out may alias x): the row max, exp((x - max) / T) written out and summed (per
 * thread in fp32, across the block in double, as the CPU sums in double), then the normalisation. */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "cuda/ops_util.cuh"

namespace {

constexpr int kThreads = 512;

__global__ void softmax_kernel(float *out, const float *x, int64_t d, float inv_t)
{
    __shared__ float shf[rlae_cuda::kWarp];
    __shared__ double shd[rlae_cuda::kWarp];
    const float *xr = x + (int64_t)blockIdx.x * d;
    float *o = out + (int64_t)blockIdx.x * d;
    float m = -INFINITY;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x)
        m = fmaxf(m, xr[i]);
    m = rlae_cuda::block_max(m, shf);
    float part = 0.0f;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
        float e = expf((xr[i] - m) * inv_t);
        o[i] = e;
        part += e;
    }
    double sum = rlae_cuda::block_sum((double)part, shd);
    float inv = (float)(1.0 / sum);
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x)
        o[i] *= inv;
}

} // namespace

extern "C" rlae_status rlae_cuda_softmax(float *out, const float *x, int64_t n, int64_t d, float temperature,
                                         rlae_cuda_stream stream)
{
    if (n <= 0 || d <= 0)
        return RLAE_OK;
    if (n > 0x7fffffffLL)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "softmax on the GPU: %lld rows (at most 2^31-1)", (long long)n);
    softmax_kernel<<<(unsigned)n, kThreads, 0, (cudaStream_t)stream>>>(out, x, d, 1.0f / temperature);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}
