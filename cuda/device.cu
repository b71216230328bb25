/* CUDA device layer: device queries, memory, streams, and the CUDA_CHECK failure path
 * (see launch.h and cuda_check.h). Everything here is a thin, checked wrapper over the runtime API
 * so that host C code never includes CUDA headers. */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"

#include <stdio.h>
#include <string.h>

rlae_status rlae_cuda_fail(cudaError_t err, const char *call, const char *file, int line)
{
    int dev = -1;
    /* cudaGetDevice itself can fail (no driver); the message then says device ?. */
    if (cudaGetDevice(&dev) != cudaSuccess)
        dev = -1;
    (void)cudaGetLastError(); /* reset the non-sticky error slot */
    rlae_status s = RLAE_ERR_RUNTIME;
    if (err == cudaErrorMemoryAllocation)
        s = RLAE_ERR_NOMEM;
    else if (err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver || err == cudaErrorInitializationError)
        s = RLAE_ERR_UNSUPPORTED;
    char devs[32];
    if (dev >= 0)
        snprintf(devs, sizeof devs, "%d", dev);
    else
        snprintf(devs, sizeof devs, "?");
    return rlae_fail(s, "CUDA error at %s:%d on device %s: %s: %s (in: %s)", file, line, devs, cudaGetErrorName(err),
                     cudaGetErrorString(err), call);
}

extern "C" rlae_status rlae_cuda_device_count(int *n)
{
    *n = 0;
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        (void)cudaGetLastError();
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "no usable CUDA device: %s (%s)", cudaGetErrorString(err),
                         cudaGetErrorName(err));
    }
    if (count == 0)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "no usable CUDA device: the driver reports 0 devices");
    *n = count;
    return RLAE_OK;
}

extern "C" int rlae_cuda_available(void)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return count > 0;
}

extern "C" rlae_status rlae_cuda_device_query(int device, rlae_cuda_device_info *info)
{
    memset(info, 0, sizeof *info);
    int count = 0;
    RLAE_TRY(rlae_cuda_device_count(&count));
    if (device < 0 || device >= count)
        return rlae_fail(RLAE_ERR_INPUT, "CUDA device %d does not exist (%d visible: 0..%d)", device, count,
                         count - 1);
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    info->index = device;
    snprintf(info->name, sizeof info->name, "%s", prop.name);
    info->total_bytes = prop.totalGlobalMem;
    info->cc_major = prop.major;
    info->cc_minor = prop.minor;
    info->sm_count = prop.multiProcessorCount;
    CUDA_CHECK(cudaDriverGetVersion(&info->driver_version));
    CUDA_CHECK(cudaRuntimeGetVersion(&info->runtime_version));
    /* Free memory is per device: query it on `device`, then restore the caller's current device. */
    int prev = 0;
    CUDA_CHECK(cudaGetDevice(&prev));
    CUDA_CHECK(cudaSetDevice(device));
    size_t free_b = 0, total_b = 0;
    cudaError_t err = cudaMemGetInfo(&free_b, &total_b);
    cudaError_t err2 = cudaSetDevice(prev);
    CUDA_CHECK(err);
    CUDA_CHECK(err2);
    info->free_bytes = free_b;
    return RLAE_OK;
}

extern "C" rlae_status rlae_cuda_set_device(int device)
{
    CUDA_CHECK(cudaSetDevice(device));
    return RLAE_OK;
}

extern "C" rlae_status rlae_cuda_get_device(int *device)
{
    CUDA_CHECK(cudaGetDevice(device));
    return RLAE_OK;
}

extern "C" rlae_status rlae_cuda_malloc(void **ptr, size_t bytes)
{
    *ptr = NULL;
    if (bytes == 0)
        return RLAE_OK;
    cudaError_t err = cudaMalloc(ptr, bytes);
    if (err != cudaSuccess) {
        *ptr = NULL;
        rlae_status s = rlae_cuda_fail(err, "cudaMalloc", __FILE__, __LINE__);
        return rlae_wrap(s, "allocating %zu bytes (%.2f GiB) on the GPU: ", bytes, (double)bytes / (1 << 30));
    }
    return RLAE_OK;
}

extern "C" rlae_status rlae_cuda_free(void *ptr)
{
    if (ptr)
        CUDA_CHECK(cudaFree(ptr));
    return RLAE_OK;
}

static rlae_status copy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, rlae_cuda_stream stream)
{
    if (bytes == 0)
        return RLAE_OK;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, (cudaStream_t)stream));
    if (kind == cudaMemcpyDeviceToHost) /* the caller reads the host buffer next */
        CUDA_CHECK(cudaStreamSynchronize((cudaStream_t)stream));
    return RLAE_OK;
}

extern "C" rlae_status rlae_cuda_memcpy_h2d(void *dst, const void *src, size_t bytes, rlae_cuda_stream stream)
{
    return copy(dst, src, bytes, cudaMemcpyHostToDevice, stream);
}

extern "C" rlae_status rlae_cuda_memcpy_d2h(void *dst, const void *src, size_t bytes, rlae_cuda_stream stream)
{
    return copy(dst, src, bytes, cudaMemcpyDeviceToHost, stream);
}

extern "C" rlae_status rlae_cuda_memcpy_d2d(void *dst, const void *src, size_t bytes, rlae_cuda_stream stream)
{
    return copy(dst, src, bytes, cudaMemcpyDeviceToDevice, stream);
}

extern "C" rlae_status rlae_cuda_memset(void *dst, int byte, size_t bytes, rlae_cuda_stream stream)
{
    if (bytes == 0)
        return RLAE_OK;
    CUDA_CHECK(cudaMemsetAsync(dst, byte, bytes, (cudaStream_t)stream));
    return RLAE_OK;
}

extern "C" rlae_status rlae_cuda_stream_create(rlae_cuda_stream *stream)
{
    cudaStream_t s = NULL;
    *stream = NULL;
    CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    *stream = (rlae_cuda_stream)s;
    return RLAE_OK;
}

extern "C" rlae_status rlae_cuda_stream_destroy(rlae_cuda_stream stream)
{
    if (stream)
        CUDA_CHECK(cudaStreamDestroy((cudaStream_t)stream));
    return RLAE_OK;
}

extern "C" rlae_status rlae_cuda_stream_sync(rlae_cuda_stream stream)
{
    CUDA_CHECK(cudaStreamSynchronize((cudaStream_t)stream));
    return RLAE_OK;
}

extern "C" rlae_status rlae_cuda_device_sync(void)
{
    CUDA_CHECK(cudaDeviceSynchronize());
    return RLAE_OK;
}
