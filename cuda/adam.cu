/* Adam and the global gradient-norm clip on the GPU (semantics and CPU reference:
 * algorithms/adam.{h,inc,c}).
 *   adam_step  one thread per parameter, fp32: PyTorch's update with eps added to the bias-corrected
 *              sqrt(v); the bias corrections are computed once on the host in double, as the CPU does.
 *   grad norm  two stages, both in double: a grid whose size depends only on n sums squares per
 *              thread (fixed grid stride) and per block (fixed shared-memory tree); one block then
 *              sums the block partials in a fixed order and writes the norm and the clip factor;
 *              a third kernel scales the gradient by that factor when it is below 1. No float
 *              atomics: the same gradient gives a bit-identical norm on every run, and the factor
 *              never leaves the device. */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"

#include <cmath>

namespace {

constexpr int kThreads = 256;
constexpr size_t kMaxNormBlocks = 1024;

size_t norm_blocks(size_t n)
{
    size_t b = (n + kThreads * 4 - 1) / (kThreads * 4); /* about 4 elements per thread */
    return b < 1 ? 1 : b > kMaxNormBlocks ? kMaxNormBlocks : b;
}

/* In double, as the CPU reference (algorithms/adam.inc) computes before rounding to float: in float,
 * b1 m + (1 - b1) g loses digits when the two terms nearly cancel, and 1 - 0.999f is 1.3e-5 off
 * 0.001. The kernel is bound by its 20 bytes per element either way. */
__global__ void adam_kernel(float *param, const float *grad, float *m, float *v, size_t n, double b1, double b2,
                            double step, double inv_sqrt_bc2, double eps)
{
    size_t i = (size_t)blockIdx.x * kThreads + threadIdx.x;
    if (i >= n)
        return;
    double g = grad[i];
    double mi = b1 * m[i] + (1.0 - b1) * g;
    double vi = b2 * v[i] + (1.0 - b2) * g * g;
    m[i] = (float)mi;
    v[i] = (float)vi;
    param[i] = (float)(param[i] - step * mi / (sqrt(vi) * inv_sqrt_bc2 + eps));
}

/* Fixed-order tree over one block's kThreads values; returns the sum in thread 0. */
__device__ double block_sum(double x)
{
    __shared__ double sh[kThreads];
    sh[threadIdx.x] = x;
    __syncthreads();
    for (int h = kThreads / 2; h > 0; h >>= 1) {
        if ((int)threadIdx.x < h)
            sh[threadIdx.x] += sh[threadIdx.x + h];
        __syncthreads();
    }
    return sh[0];
}

__global__ void sumsq_kernel(const float *grad, size_t n, double *partials)
{
    double s = 0.0;
    for (size_t i = (size_t)blockIdx.x * kThreads + threadIdx.x; i < n; i += (size_t)gridDim.x * kThreads) {
        double g = grad[i];
        s += g * g;
    }
    double t = block_sum(s);
    if (threadIdx.x == 0)
        partials[blockIdx.x] = t;
}

/* scratch[0] = the clip factor (1 = no scaling), scratch[1..blocks] = the partials. */
__global__ void norm_finish_kernel(double *scratch, int blocks, double max_norm, double *norm)
{
    double s = 0.0;
    for (int b = threadIdx.x; b < blocks; b += kThreads)
        s += scratch[1 + b];
    double t = block_sum(s);
    if (threadIdx.x != 0)
        return;
    double nrm = sqrt(t);
    *norm = nrm;
    double coef = max_norm > 0 ? max_norm / (nrm + 1e-6) : 1.0;
    scratch[0] = coef < 1.0 ? coef : 1.0;
}

__global__ void scale_kernel(float *grad, size_t n, const double *scratch)
{
    double coef = scratch[0];
    if (coef >= 1.0)
        return;
    size_t i = (size_t)blockIdx.x * kThreads + threadIdx.x;
    if (i < n)
        grad[i] = (float)(grad[i] * coef);
}

} // namespace

extern "C" rlae_status rlae_cuda_adam_step(float *param, const float *grad, float *m, float *v, size_t n, long t,
                                           const rlae_adam_hparams *h, rlae_cuda_stream stream)
{
    if (t < 1)
        return rlae_fail(RLAE_ERR_INPUT, "adam_step (cuda): step %ld, must be >= 1", t);
    if (n == 0)
        return RLAE_OK;
    const double bc1 = 1.0 - pow(h->beta1, (double)t), bc2 = 1.0 - pow(h->beta2, (double)t);
    size_t grid = (n + kThreads - 1) / kThreads;
    adam_kernel<<<(unsigned)grid, kThreads, 0, (cudaStream_t)stream>>>(
        param, grad, m, v, n, h->beta1, h->beta2, h->lr / bc1, 1.0 / sqrt(bc2), h->eps);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}

extern "C" size_t rlae_cuda_grad_norm_scratch_doubles(size_t n) { return 1 + norm_blocks(n); }

extern "C" rlae_status rlae_cuda_grad_norm_clip(float *grad, size_t n, double max_norm, double *norm, double *scratch,
                                                rlae_cuda_stream stream)
{
    if (!norm || !scratch)
        return rlae_fail(RLAE_ERR_INPUT, "grad_norm_clip (cuda): norm and scratch are required");
    cudaStream_t st = (cudaStream_t)stream;
    size_t blocks = norm_blocks(n);
    sumsq_kernel<<<(unsigned)blocks, kThreads, 0, st>>>(grad, n, scratch + 1);
    CUDA_CHECK_LAUNCH();
    norm_finish_kernel<<<1, kThreads, 0, st>>>(scratch, (int)blocks, max_norm, norm);
    CUDA_CHECK_LAUNCH();
    if (max_norm > 0 && n > 0) {
        scale_kernel<<<(unsigned)((n + kThreads - 1) / kThreads), kThreads, 0, st>>>(grad, n, scratch);
        CUDA_CHECK_LAUNCH();
    }
    return RLAE_OK;
}
