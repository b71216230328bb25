/* Appends key or value rows to one layer of the KV cache on the GPU (ops.h rlae_op_kv_store; CPU
 * reference rlae_cpu_kv_store): cache[slot[r], pos[r], :] = rows[r, :], the cache fp32 or bf16 (the
 * fp32 rows rounded to nearest even, as rlae_f32_to_bf16 does on the host). One thread per element.
 * The host cannot check slot/pos without a sync, so a row addressing outside the cache is skipped
 * (never written out of bounds); attention then reports such a row as NaN. */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "cuda/ops_util.cuh"

namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ void put(float *c, int64_t i, float v) { c[i] = v; }
__device__ __forceinline__ void put(uint16_t *c, int64_t i, float v)
{
    c[i] = __bfloat16_as_ushort(__float2bfloat16_rn(v));
}

template <typename T>
__global__ void kv_store_kernel(T *cache, const float *rows, const int32_t *slot, const int32_t *pos, int64_t n,
                                int64_t n_slots, int64_t capacity, int64_t kv_dim)
{
    int64_t total = n * kv_dim;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / kv_dim, j = i - r * kv_dim;
        int32_t s = slot[r], p = pos[r];
        if (s < 0 || s >= n_slots || p < 0 || p >= capacity)
            continue;
        put(cache, ((int64_t)s * capacity + p) * kv_dim + j, rows[i]);
    }
}

} // namespace

extern "C" rlae_status rlae_cuda_kv_store(void *cache, int cache_bf16, const float *rows, const int32_t *slot,
                                          const int32_t *pos, int64_t n, int64_t n_slots, int64_t capacity,
                                          int64_t kv_dim, rlae_cuda_stream stream)
{
    if (n <= 0 || kv_dim <= 0)
        return RLAE_OK;
    unsigned grid = rlae_cuda::grid_for(n * kv_dim, kThreads);
    cudaStream_t st = (cudaStream_t)stream;
    if (cache_bf16)
        kv_store_kernel<<<grid, kThreads, 0, st>>>((uint16_t *)cache, rows, slot, pos, n, n_slots, capacity, kv_dim);
    else
        kv_store_kernel<<<grid, kThreads, 0, st>>>((float *)cache, rows, slot, pos, n, n_slots, capacity, kv_dim);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}
