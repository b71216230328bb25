/* SwiGLU on the GPU: out = silu(gate) * up = gate / (1 + exp(-gate)) * up, elementwise (ops.h
 * rlae_op_swiglu; CPU reference rlae_cpu_swiglu, the same formula in fp32 with expf). out may alias
 * gate or up: each element is read before it is written by the same thread. */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "cuda/ops_util.cuh"

namespace {

constexpr int kThreads = 256;

__global__ void swiglu_kernel(float *out, const float *gate, const float *up, int64_t n)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

} // namespace

extern "C" rlae_status rlae_cuda_swiglu(float *out, const float *gate, const float *up, int64_t n,
                                        rlae_cuda_stream stream)
{
    if (n <= 0)
        return RLAE_OK;
    swiglu_kernel<<<rlae_cuda::grid_for(n, kThreads), kThreads, 0, (cudaStream_t)stream>>>(out, gate, up, n);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}
