/* Small device helpers shared by the forward-pass kernels of cuda/ (gather_rows.cu, rmsnorm.cu,
 * softmax.cu, logit_stats.cu, attention.cu, gemv_bf16.cu, ...): warp and block reductions, launch
 * sizes, and the one place that turns bf16 bits into floats. Header-only; CUDA C++ only. */
#ifndef RLAE_CUDA_OPS_UTIL_CUH
#define RLAE_CUDA_OPS_UTIL_CUH

#include <cmath>

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stdint.h>

namespace rlae_cuda {

constexpr int kWarp = 32;

/* Blocks for a grid-stride loop over n elements with `threads` per block: enough to fill the GPU,
 * capped so the grid size never overflows. */
inline unsigned grid_for(int64_t n, int threads)
{
    int64_t b = (n + threads - 1) / threads;
    if (b < 1)
        b = 1;
    if (b > 65535LL * 8)
        b = 65535LL * 8;
    return (unsigned)b;
}

__device__ __forceinline__ float warp_sum(float v)
{
    for (int o = kWarp / 2; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ double warp_sum(double v)
{
    for (int o = kWarp / 2; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v)
{
    for (int o = kWarp / 2; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* Block-wide sum / max; every thread gets the result. `sh` holds >= 32 values of T; the block size
 * is a multiple of 32. Ends with a barrier, so `sh` may be reused right after. */
template <typename T>
__device__ __forceinline__ T block_sum(T v, T *sh)
{
    int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, nw = blockDim.x / kWarp;
    v = warp_sum(v);
    if (lane == 0)
        sh[warp] = v;
    __syncthreads();
    T r = lane < nw ? sh[lane] : (T)0;
    r = warp_sum(r);
    __syncthreads();
    return r;
}

__device__ __forceinline__ float block_max(float v, float *sh)
{
    int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, nw = blockDim.x / kWarp;
    v = warp_max(v);
    if (lane == 0)
        sh[warp] = v;
    __syncthreads();
    float r = lane < nw ? sh[lane] : -INFINITY;
    r = warp_max(r);
    __syncthreads();
    return r;
}

/* bf16 bits (as stored in our tensors: uint16_t) -> float; exact. */
__device__ __forceinline__ float bf16_bits_to_float(uint16_t h) { return __uint_as_float((uint32_t)h << 16); }

/* The two bf16 halves of a 32-bit word, low half first (element order in memory). */
__device__ __forceinline__ float bf16_lo(uint32_t w) { return __uint_as_float(w << 16); }
__device__ __forceinline__ float bf16_hi(uint32_t w) { return __uint_as_float(w & 0xffff0000u); }

} // namespace rlae_cuda

#endif
