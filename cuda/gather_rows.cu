/* Embedding lookup / row picking on the GPU: out[r, :] = table[idx[r], :] (ops.h rlae_op_gather_rows;
 * CPU reference rlae_cpu_gather_rows). The table is fp32 or bf16 (bf16 embeddings are widened to
 * fp32 on the fly, exactly). One thread per output element, grid-stride. Indices cannot be checked
 * on the host without a sync, so a row whose index is outside [0, n_table) is written as NaN: a
 * bad token id shows up in the logits instead of reading out of bounds. */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "cuda/ops_util.cuh"

namespace {

constexpr int kThreads = 256;

template <typename T>
__device__ __forceinline__ float load_as_float(const T *p);
template <>
__device__ __forceinline__ float load_as_float<float>(const float *p)
{
    return *p;
}
template <>
__device__ __forceinline__ float load_as_float<uint16_t>(const uint16_t *p)
{
    return rlae_cuda::bf16_bits_to_float(*p);
}

template <typename T>
__global__ void gather_rows_kernel(float *out, const T *table, const int32_t *idx, int64_t n, int64_t d,
                                   int64_t n_table)
{
    int64_t total = n * d;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / d, j = i - r * d;
        int32_t row = idx[r];
        out[i] = row >= 0 && row < n_table ? load_as_float(table + (int64_t)row * d + j) : NAN;
    }
}

template <typename T>
rlae_status launch(float *out, const T *table, const int32_t *idx, int64_t n, int64_t d, int64_t n_table,
                   rlae_cuda_stream stream)
{
    if (n <= 0 || d <= 0)
        return RLAE_OK;
    gather_rows_kernel<T><<<rlae_cuda::grid_for(n * d, kThreads), kThreads, 0, (cudaStream_t)stream>>>(
        out, table, idx, n, d, n_table);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}

} // namespace

extern "C" rlae_status rlae_cuda_gather_rows(float *out, const float *table, const int32_t *idx, int64_t n,
                                             int64_t d, int64_t n_table, rlae_cuda_stream stream)
{
    return launch(out, table, idx, n, d, n_table, stream);
}

extern "C" rlae_status rlae_cuda_gather_rows_bf16(float *out, const uint16_t *table, const int32_t *idx, int64_t n,
                                                  int64_t d, int64_t n_table, rlae_cuda_stream stream)
{
    return launch(out, table, idx, n, d, n_table, stream);
}
