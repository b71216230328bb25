/* Projections on the GPU, y[n, out] = x[n, in] W[out, in]^T (+ bias[out]), W in nn.Linear layout
 * (ops.h rlae_op_matmul; CPU reference rlae_cpu_matmul):
 *   fp32 W   cublasSgemm (default math: no TF32, so results track the CPU's fp32 BLAS);
 *   bf16 W   n <= RLAE_CUDA_GEMV_MAX_ROWS: the bandwidth-first kernel of cuda/gemv_bf16.cu;
 *            larger n: x is rounded to bf16 into a scratch buffer and cublasGemmEx multiplies
 *            bf16 x bf16 with fp32 accumulation and fp32 output (tensor cores).
 * Row-major y = x W^T is, read column-major, y^T = W^T(op T on the [in, out] view) x^T, hence
 * (OP_T, OP_N, m = out, n = n, k = in, lda = ldb = in, ldc = out).
 *
 * cuBLAS handles are not safe to share between threads that set different streams, so each host
 * thread keeps one handle per device, created on first use and kept until rlae_cuda_ops_release;
 * the bf16 x scratch lives beside it and grows to the largest n*in seen (a warm-up allocation; none
 * once the largest shape has run, so steady-state decode allocates nothing). */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "cuda/ops_util.cuh"

#include <cublas_v2.h>
#include <cuda_bf16.h>

namespace {

constexpr int kMaxDevices = 64;
constexpr int kThreads = 256;
constexpr size_t kWorkspaceBytes = 32u << 20; /* what cuBLAS asks for on Hopper */

struct blas_ctx {
    cublasHandle_t handle;
    void *workspace;   /* cuBLAS's workspace, ours so that a graph capture never makes it allocate */
    __nv_bfloat16 *xs; /* bf16 copy of x for cublasGemmEx */
    size_t xs_elems;
};

thread_local blas_ctx g_ctx[kMaxDevices];

rlae_status blas_fail(cublasStatus_t st, const char *call, int line)
{
    int dev = -1;
    if (cudaGetDevice(&dev) != cudaSuccess)
        dev = -1;
    (void)cudaGetLastError();
    rlae_status s = st == CUBLAS_STATUS_ALLOC_FAILED     ? RLAE_ERR_NOMEM
                    : st == CUBLAS_STATUS_NOT_INITIALIZED ? RLAE_ERR_UNSUPPORTED
                                                          : RLAE_ERR_RUNTIME;
    return rlae_fail(s, "cuBLAS error at %s:%d on device %d: %s (in: %s)%s", __FILE__, line, dev,
                     cublasGetStatusString(st), call,
                     st == CUBLAS_STATUS_NOT_INITIALIZED ? "; is a GPU visible (nvidia-smi, CUDA_VISIBLE_DEVICES)?"
                                                         : "");
}

#define BLAS_CHECK(call)                                   \
    do {                                                   \
        cublasStatus_t st_ = (call);                       \
        if (st_ != CUBLAS_STATUS_SUCCESS)                  \
            return blas_fail(st_, #call, __LINE__);        \
    } while (0)

rlae_status get_ctx(blas_ctx **out, rlae_cuda_stream stream)
{
    int dev = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    if (dev < 0 || dev >= kMaxDevices)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "matmul on the GPU: device %d (at most %d devices)", dev, kMaxDevices);
    blas_ctx *c = &g_ctx[dev];
    if (!c->handle) {
        CUDA_CHECK(cudaMalloc(&c->workspace, kWorkspaceBytes));
        BLAS_CHECK(cublasCreate(&c->handle));
        BLAS_CHECK(cublasSetMathMode(c->handle, CUBLAS_DEFAULT_MATH));
    }
    BLAS_CHECK(cublasSetStream(c->handle, (cudaStream_t)stream)); /* resets the workspace to cuBLAS's pool */
    BLAS_CHECK(cublasSetWorkspace(c->handle, c->workspace, kWorkspaceBytes));
    *out = c;
    return RLAE_OK;
}

__global__ void to_bf16_kernel(__nv_bfloat16 *dst, const float *src, int64_t n)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = __float2bfloat16_rn(src[i]);
}

__global__ void add_bias_kernel(float *y, const float *bias, int64_t n, int64_t out)
{
    int64_t total = n * out;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x)
        y[i] += bias[i % out];
}

rlae_status add_bias(float *y, const float *bias, int64_t n, int64_t out, rlae_cuda_stream stream)
{
    if (!bias)
        return RLAE_OK;
    add_bias_kernel<<<rlae_cuda::grid_for(n * out, kThreads), kThreads, 0, (cudaStream_t)stream>>>(y, bias, n, out);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}

rlae_status check_dims(int64_t n, int64_t in, int64_t out)
{
    if (n > 0x7fffffffLL || in > 0x7fffffffLL || out > 0x7fffffffLL)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "matmul on the GPU: dimension above 2^31 (cuBLAS takes int)");
    return RLAE_OK;
}

} // namespace

extern "C" rlae_status rlae_cuda_matmul(float *y, const float *x, const float *w, const float *bias, int64_t n,
                                        int64_t in, int64_t out, int accumulate, rlae_cuda_stream stream)
{
    RLAE_TRY(check_dims(n, in, out));
    if (n <= 0 || out <= 0)
        return RLAE_OK;
    blas_ctx *c = NULL;
    RLAE_TRY(get_ctx(&c, stream));
    const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    BLAS_CHECK(cublasSgemm(c->handle, CUBLAS_OP_T, CUBLAS_OP_N, (int)out, (int)n, (int)in, &one, w, (int)in, x,
                           (int)in, &beta, y, (int)out));
    return add_bias(y, bias, n, out, stream);
}

extern "C" rlae_status rlae_cuda_matmul_bf16w(float *y, const float *x, const uint16_t *w, const float *bias,
                                              int64_t n, int64_t in, int64_t out, int accumulate,
                                              rlae_cuda_stream stream)
{
    RLAE_TRY(check_dims(n, in, out));
    if (n <= 0 || out <= 0)
        return RLAE_OK;
    if (n <= RLAE_CUDA_GEMV_MAX_ROWS)
        return rlae_cuda_gemv_bf16(y, x, w, bias, (int)n, in, out, accumulate, stream);
    blas_ctx *c = NULL;
    RLAE_TRY(get_ctx(&c, stream));
    size_t need = (size_t)n * (size_t)in;
    if (need > c->xs_elems) { /* warm-up growth; cudaFree waits for work that may still read the old one */
        CUDA_CHECK(cudaFree(c->xs));
        c->xs = NULL;
        c->xs_elems = 0;
        CUDA_CHECK(cudaMalloc((void **)&c->xs, need * sizeof(__nv_bfloat16)));
        c->xs_elems = need;
    }
    to_bf16_kernel<<<rlae_cuda::grid_for((int64_t)need, kThreads), kThreads, 0, (cudaStream_t)stream>>>(
        c->xs, x, (int64_t)need);
    CUDA_CHECK_LAUNCH();
    const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    BLAS_CHECK(cublasGemmEx(c->handle, CUBLAS_OP_T, CUBLAS_OP_N, (int)out, (int)n, (int)in, &one, w, CUDA_R_16BF,
                            (int)in, c->xs, CUDA_R_16BF, (int)in, &beta, y, CUDA_R_32F, (int)out,
                            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return add_bias(y, bias, n, out, stream);
}

extern "C" rlae_status rlae_cuda_ops_release(void)
{
    int prev = 0;
    int have_prev = cudaGetDevice(&prev) == cudaSuccess;
    rlae_status s = RLAE_OK;
    for (int d = 0; d < kMaxDevices; d++) {
        blas_ctx *c = &g_ctx[d];
        if (!c->handle && !c->xs)
            continue;
        if (cudaSetDevice(d) != cudaSuccess && s == RLAE_OK)
            s = rlae_fail(RLAE_ERR_RUNTIME, "releasing the GPU matmul state of device %d: cannot select it", d);
        if (c->handle)
            cublasDestroy(c->handle);
        if (c->xs)
            cudaFree(c->xs);
        c->handle = NULL;
        c->xs = NULL;
        c->xs_elems = 0;
    }
    if (have_prev)
        (void)cudaSetDevice(prev);
    (void)cudaGetLastError();
    return s;
}
