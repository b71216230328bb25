/* Rotary position embedding on the GPU, in place (ops.h rlae_op_rope; CPU reference rlae_cpu_rope):
 * for row r at position pos[r], every head h and pair i < head_dim/2,
 *   (x[i], x[i+half]) <- (x[i] cos a - x[i+half] sin a, x[i+half] cos a + x[i] sin a), a = pos * inv_freq[i]
 * (Hugging Face rotate_half order). inv_freq comes from the host (rlae_rope_inv_freq, the one
 * definition of the scaling rules) by value in the kernel's parameters: no device buffer, no copy.
 * The angle is an fp32 product as on the CPU; sinf/cosf are CUDA's full-range versions (<= 2 ulp),
 * not the fast intrinsics. One thread per (row, head, pair). */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "cuda/ops_util.cuh"

namespace {

constexpr int kThreads = 256;

struct inv_freq_table {
    float f[RLAE_CUDA_ROPE_MAX_HALF];
};

__global__ void rope_kernel(float *x, const int32_t *pos, int64_t n, int n_heads, int head_dim,
                            const inv_freq_table inv)
{
    int half = head_dim / 2;
    int64_t per_row = (int64_t)n_heads * half, total = n * per_row;
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = t / per_row;
        int rem = (int)(t - r * per_row), h = rem / half, i = rem - h * half;
        float a = (float)pos[r] * inv.f[i];
        float c = cosf(a), s = sinf(a);
        float *xh = x + r * (int64_t)n_heads * head_dim + (int64_t)h * head_dim;
        float x0 = xh[i], x1 = xh[i + half];
        xh[i] = x0 * c - x1 * s;
        xh[i + half] = x1 * c + x0 * s;
    }
}

} // namespace

extern "C" rlae_status rlae_cuda_rope(float *x, const int32_t *pos, int64_t n, int n_heads, int head_dim,
                                      const float *inv_freq, rlae_cuda_stream stream)
{
    if (head_dim <= 0 || head_dim % 2 || head_dim / 2 > RLAE_CUDA_ROPE_MAX_HALF)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "rope on the GPU: head_dim %d (must be even and <= %d)", head_dim,
                         2 * RLAE_CUDA_ROPE_MAX_HALF);
    if (n <= 0 || n_heads <= 0)
        return RLAE_OK;
    inv_freq_table inv;
    for (int i = 0; i < RLAE_CUDA_ROPE_MAX_HALF; i++)
        inv.f[i] = i < head_dim / 2 ? inv_freq[i] : 0.0f;
    rope_kernel<<<rlae_cuda::grid_for(n * n_heads * (head_dim / 2), kThreads), kThreads, 0, (cudaStream_t)stream>>>(
        x, pos, n, n_heads, head_dim, inv);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}
