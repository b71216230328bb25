/* Error checking for CUDA runtime calls inside the .cu files of cuda/ (C++ only; host C code sees rlae_status).
 *   CUDA_CHECK(cudaMalloc(&p, n));     returns an rlae_status from the enclosing function on failure
 *   my_kernel<<<g, b, 0, s>>>(...); CUDA_CHECK_LAUNCH();
 * The message says where (file:line), on which device, CUDA's error name and text, and the call. */
#ifndef RLAE_CUDA_CHECK_H
#define RLAE_CUDA_CHECK_H

#include <cuda_runtime.h>

extern "C" {
#include "core/status.h"
}

/* Records the failure of `call` (with `err`) and returns the matching status: out of memory ->
 * RLAE_ERR_NOMEM, no driver/device -> RLAE_ERR_UNSUPPORTED, anything else -> RLAE_ERR_RUNTIME.
 * Clears CUDA's last-error slot so a later unrelated check does not report it again. */
rlae_status rlae_cuda_fail(cudaError_t err, const char *call, const char *file, int line);

#define CUDA_CHECK(call)                                                   \
    do {                                                                   \
        cudaError_t rlae_cuda_err_ = (call);                               \
        if (rlae_cuda_err_ != cudaSuccess)                                 \
            return rlae_cuda_fail(rlae_cuda_err_, #call, __FILE__, __LINE__); \
    } while (0)

/* After a kernel launch: catches bad launch configurations (asynchronous faults surface at the
 * next synchronising call, which is checked too). */
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

#endif
