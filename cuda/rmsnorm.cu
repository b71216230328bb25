/* RMSNorm on the GPU: y[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight (ops.h rlae_op_rmsnorm; CPU
 * reference rlae_cpu_rmsnorm). One block per row; the launcher picks, from d alone, the unit of a
 * load (a float4 when d % 4 == 0 and x, y, weight are 16-byte aligned, else a float) and the block
 * size (a multiple of 32, at most 1024) so that each thread owns at most kRegUnits units,
 * unit threadIdx.x + k * blockDim.x. The thread issues all its x (and weight) loads before using
 * any (the kernel is latency-bound at decode sizes), keeps its x in registers, sums their squares
 * in fp32 (its units in k order, a float4's lanes in order), a block reduction (block_sum) gives
 * the row's sum, then the same thread scales the units it owns (so y may alias x). Rows of more
 * than kRegUnits * 1024 units take a loop of kRegUnits units per step (1024 threads) that re-reads
 * x in the second pass. The order is fixed by d, so results are bit-identical from run to run;
 * only the summation order differs from the CPU's left-to-right sum. */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "cuda/ops_util.cuh"

namespace {

constexpr int kMaxThreads = 1024;
constexpr int kRegUnits = 4; /* most units a thread keeps in registers */

__device__ __forceinline__ float sumsq(float v) { return v * v; }
__device__ __forceinline__ float sumsq(float4 v)
{
    float s = v.x * v.x;
    s += v.y * v.y;
    s += v.z * v.z;
    s += v.w * v.w;
    return s;
}
__device__ __forceinline__ float scaled(float w, float inv, float x) { return w * (inv * x); }
__device__ __forceinline__ float4 scaled(float4 w, float inv, float4 x)
{
    return make_float4(w.x * (inv * x.x), w.y * (inv * x.y), w.z * (inv * x.z), w.w * (inv * x.w));
}
template <typename U>
__device__ __forceinline__ U zero_unit()
{
    if constexpr (sizeof(U) == sizeof(float4))
        return make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    else
        return 0.0f;
}

/* U: float or float4. V > 0: the row has at most V * blockDim.x units and each thread keeps its V
 * in registers; V == 0: any length, kRegUnits units per thread per step, x re-read. */
template <typename U, int V>
__global__ void __launch_bounds__(kMaxThreads)
rmsnorm_kernel(float *y, const float *x, const float *weight, int64_t d, float eps)
{
    __shared__ float sh[rlae_cuda::kWarp]; /* block_sum: one float per warp, <= 32 warps */
    constexpr int per = sizeof(U) / sizeof(float);
    const int64_t nu = d / per; /* units in a row (d % per == 0) */
    const U *xr = reinterpret_cast<const U *>(x + (int64_t)blockIdx.x * d);
    U *yr = reinterpret_cast<U *>(y + (int64_t)blockIdx.x * d);
    const U *wr = reinterpret_cast<const U *>(weight);
    const int64_t bs = blockDim.x;
    float ss = 0.0f;
    if constexpr (V > 0) {
        U xv[V], wv[V];
#pragma unroll
        for (int k = 0; k < V; k++) {
            int64_t u = threadIdx.x + k * bs;
            xv[k] = u < nu ? xr[u] : zero_unit<U>();
        }
#pragma unroll
        for (int k = 0; k < V; k++) {
            int64_t u = threadIdx.x + k * bs;
            wv[k] = u < nu ? wr[u] : zero_unit<U>(); /* in flight during the reduction */
        }
#pragma unroll
        for (int k = 0; k < V; k++)
            ss += sumsq(xv[k]);
        ss = rlae_cuda::block_sum(ss, sh);
        float inv = 1.0f / sqrtf(ss / (float)d + eps);
#pragma unroll
        for (int k = 0; k < V; k++) {
            int64_t u = threadIdx.x + k * bs;
            if (u < nu)
                yr[u] = scaled(wv[k], inv, xv[k]);
        }
    } else {
        for (int64_t u0 = threadIdx.x; u0 < nu; u0 += kRegUnits * bs) {
            U xv[kRegUnits];
#pragma unroll
            for (int k = 0; k < kRegUnits; k++) {
                int64_t u = u0 + k * bs;
                xv[k] = u < nu ? xr[u] : zero_unit<U>();
            }
#pragma unroll
            for (int k = 0; k < kRegUnits; k++)
                ss += sumsq(xv[k]);
        }
        ss = rlae_cuda::block_sum(ss, sh);
        float inv = 1.0f / sqrtf(ss / (float)d + eps);
        for (int64_t u0 = threadIdx.x; u0 < nu; u0 += kRegUnits * bs) {
            U xv[kRegUnits], wv[kRegUnits];
#pragma unroll
            for (int k = 0; k < kRegUnits; k++) {
                int64_t u = u0 + k * bs;
                xv[k] = u < nu ? xr[u] : zero_unit<U>();
                wv[k] = u < nu ? wr[u] : zero_unit<U>();
            }
#pragma unroll
            for (int k = 0; k < kRegUnits; k++) {
                int64_t u = u0 + k * bs;
                if (u < nu)
                    yr[u] = scaled(wv[k], inv, xv[k]);
            }
        }
    }
}

/* Threads for nu units at v per thread: a multiple of 32 in [32, kMaxThreads]. */
int threads_for(int64_t nu, int v)
{
    int64_t t = (nu + v - 1) / v;
    t = (t + rlae_cuda::kWarp - 1) / rlae_cuda::kWarp * rlae_cuda::kWarp;
    if (t < rlae_cuda::kWarp)
        t = rlae_cuda::kWarp;
    return t > kMaxThreads ? kMaxThreads : (int)t;
}

template <typename U>
void launch(float *y, const float *x, const float *weight, int64_t n, int64_t d, float eps, cudaStream_t st)
{
    int64_t nu = d / (int64_t)(sizeof(U) / sizeof(float));
    unsigned g = (unsigned)n;
    if (nu <= 2LL * kMaxThreads) /* e.g. d = 4096 in float4s: 512 threads x 2 */
        rmsnorm_kernel<U, 2><<<g, threads_for(nu, 2), 0, st>>>(y, x, weight, d, eps);
    else if (nu <= (int64_t)kRegUnits * kMaxThreads)
        rmsnorm_kernel<U, kRegUnits><<<g, threads_for(nu, kRegUnits), 0, st>>>(y, x, weight, d, eps);
    else
        rmsnorm_kernel<U, 0><<<g, kMaxThreads, 0, st>>>(y, x, weight, d, eps);
}

} // namespace

extern "C" rlae_status rlae_cuda_rmsnorm(float *y, const float *x, const float *weight, int64_t n, int64_t d,
                                         float eps, rlae_cuda_stream stream)
{
    if (n <= 0 || d <= 0)
        return RLAE_OK;
    if (n > 0x7fffffffLL)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "rmsnorm on the GPU: %lld rows (at most 2^31-1)", (long long)n);
    cudaStream_t st = (cudaStream_t)stream;
    if (d % 4 == 0 && (((uintptr_t)y | (uintptr_t)x | (uintptr_t)weight) & 15) == 0)
        launch<float4>(y, x, weight, n, d, eps, st);
    else
        launch<float>(y, x, weight, n, d, eps, st);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}
