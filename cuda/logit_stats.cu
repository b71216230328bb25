/* Per-row logit statistics on the GPU (ops.h rlae_op_logit_stats; CPU reference
 * rlae_cpu_logit_stats): max, lse = max + log s and entropy = log s - sz / s, where with z = x - max,
 * s = sum e^z and sz = sum z e^z. One block per row: a max pass, then one pass accumulating s and sz
 * in double (as the CPU does) per thread and across the block. Any output pointer may be NULL. */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "cuda/ops_util.cuh"

namespace {

constexpr int kThreads = 512;

__global__ void logit_stats_kernel(const float *x, int64_t d, float *max, float *lse, float *entropy)
{
    __shared__ float shf[rlae_cuda::kWarp];
    __shared__ double shd[rlae_cuda::kWarp];
    const float *xr = x + (int64_t)blockIdx.x * d;
    float m = -INFINITY;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x)
        m = fmaxf(m, xr[i]);
    m = rlae_cuda::block_max(m, shf);
    double s = 0.0, sz = 0.0;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
        double z = (double)xr[i] - m, e = exp(z);
        s += e;
        sz += z * e;
    }
    s = rlae_cuda::block_sum(s, shd);
    sz = rlae_cuda::block_sum(sz, shd);
    if (threadIdx.x == 0) {
        if (max)
            max[blockIdx.x] = m;
        if (lse)
            lse[blockIdx.x] = (float)(m + log(s));
        if (entropy)
            entropy[blockIdx.x] = (float)(log(s) - sz / s);
    }
}

} // namespace

extern "C" rlae_status rlae_cuda_logit_stats(const float *x, int64_t n, int64_t d, float *max, float *lse,
                                             float *entropy, rlae_cuda_stream stream)
{
    if (n <= 0 || d <= 0)
        return RLAE_OK;
    if (n > 0x7fffffffLL)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "logit_stats on the GPU: %lld rows (at most 2^31-1)", (long long)n);
    logit_stats_kernel<<<(unsigned)n, kThreads, 0, (cudaStream_t)stream>>>(x, d, max, lse, entropy);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}
