/* Fills a device tensor with uniform values lo + (hi - lo) u(seed, i) (ops.h rlae_op_fill_uniform;
 * the hash is host/ops_hash.h, shared with the CPU backend, so both fill bit-identical values; bf16
 * output is rounded to nearest even as rlae_f32_to_bf16 does; the explicit _rn multiply and add
 * keep nvcc from fusing them into an FMA the CPU does not do). Random-weight models for the
 * benchmarks are generated here, on the device, instead of being uploaded. */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "cuda/ops_util.cuh"
#include "ops_hash.h"

#include <cuda_bf16.h>

namespace {

constexpr int kThreads = 256;

__global__ void fill_f32_kernel(float *dst, int64_t n, float lo, float span, uint64_t seed)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = __fadd_rn(lo, __fmul_rn(span, rlae_fill_hash_uniform(seed, (uint64_t)i)));
}

__global__ void fill_bf16_kernel(__nv_bfloat16 *dst, int64_t n, float lo, float span, uint64_t seed)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = __float2bfloat16_rn(__fadd_rn(lo, __fmul_rn(span, rlae_fill_hash_uniform(seed, (uint64_t)i))));
}

} // namespace

extern "C" rlae_status rlae_cuda_fill_uniform(void *dst, int bf16, int64_t n, float lo, float hi, uint64_t seed,
                                              rlae_cuda_stream stream)
{
    if (n <= 0)
        return RLAE_OK;
    unsigned g = rlae_cuda::grid_for(n, kThreads);
    if (bf16)
        fill_bf16_kernel<<<g, kThreads, 0, (cudaStream_t)stream>>>((__nv_bfloat16 *)dst, n, lo, hi - lo, seed);
    else
        fill_f32_kernel<<<g, kThreads, 0, (cudaStream_t)stream>>>((float *)dst, n, lo, hi - lo, seed);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}
