/* The residual connection on the GPU: y += x elementwise (ops.h rlae_op_add; CPU reference
 * rlae_cpu_add). One thread per element, grid-stride; exact, so it matches the CPU bit for bit. */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "cuda/ops_util.cuh"

namespace {

constexpr int kThreads = 256;

__global__ void add_kernel(float *y, const float *x, int64_t n)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] += x[i];
}

} // namespace

extern "C" rlae_status rlae_cuda_add(float *y, const float *x, int64_t n, rlae_cuda_stream stream)
{
    if (n <= 0)
        return RLAE_OK;
    add_kernel<<<rlae_cuda::grid_for(n, kThreads), kThreads, 0, (cudaStream_t)stream>>>(y, x, n);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}
