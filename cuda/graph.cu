/* CUDA graphs of a recorded op sequence (ops.h rlae_ops_capture_begin/_end, rlae_ops_graph_launch):
 * a stream capture turns the few hundred kernel launches of a decode step into one graph launch,
 * which removes the host's per-launch cost (tens of microseconds per op in a virtual machine) and
 * the gaps between kernels. Capturing needs a real stream, so when the ops run on the legacy
 * default stream (NULL) capture and replay use a blocking stream of this thread's own: blocking
 * streams and the legacy stream wait for each other, so work queued before and after on NULL stays
 * ordered around the replay with no extra synchronisation. */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"

namespace {
thread_local cudaStream_t g_graph_stream[64];
}

extern "C" rlae_status rlae_cuda_graph_stream(rlae_cuda_stream ops_stream, rlae_cuda_stream *out)
{
    *out = ops_stream;
    if (ops_stream)
        return RLAE_OK;
    int dev = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    if (dev < 0 || dev >= 64)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "CUDA graphs: device %d (at most 64 devices)", dev);
    if (!g_graph_stream[dev])
        CUDA_CHECK(cudaStreamCreate(&g_graph_stream[dev])); /* blocking: ordered with the legacy stream */
    *out = (rlae_cuda_stream)g_graph_stream[dev];
    return RLAE_OK;
}

extern "C" rlae_status rlae_cuda_capture_begin(rlae_cuda_stream stream)
{
    if (!stream)
        return rlae_fail(RLAE_ERR_RUNTIME, "CUDA graphs: cannot capture the legacy default stream");
    CUDA_CHECK(cudaStreamBeginCapture((cudaStream_t)stream, cudaStreamCaptureModeThreadLocal));
    return RLAE_OK;
}

extern "C" rlae_status rlae_cuda_capture_end(rlae_cuda_stream stream, int keep, void **exec)
{
    *exec = NULL;
    cudaGraph_t graph = NULL;
    cudaError_t e = cudaStreamEndCapture((cudaStream_t)stream, &graph);
    if (e != cudaSuccess || !keep) {
        if (graph)
            cudaGraphDestroy(graph);
        (void)cudaGetLastError();
        if (!keep)
            return RLAE_OK;
        return rlae_cuda_fail(e, "cudaStreamEndCapture", __FILE__, __LINE__);
    }
    cudaGraphExec_t x = NULL;
    e = cudaGraphInstantiate(&x, graph, 0);
    cudaGraphDestroy(graph);
    if (e != cudaSuccess)
        return rlae_cuda_fail(e, "cudaGraphInstantiate", __FILE__, __LINE__);
    *exec = (void *)x;
    return RLAE_OK;
}

extern "C" rlae_status rlae_cuda_graph_launch(void *exec, rlae_cuda_stream stream)
{
    CUDA_CHECK(cudaGraphLaunch((cudaGraphExec_t)exec, (cudaStream_t)stream));
    return RLAE_OK;
}

extern "C" void rlae_cuda_graph_free(void *exec)
{
    if (exec)
        cudaGraphExecDestroy((cudaGraphExec_t)exec);
}
