/* Which backend a run uses: resolves the config's `device: auto|cpu|cuda`.
 *   auto  CUDA when this build has it and a GPU is visible, else the CPU (saying so once)
 *   cpu   the CPU backend
 *   cuda  the CUDA backend; RLAE_ERR_UNSUPPORTED with what to do when the build has no CUDA
 *         backend or no GPU is visible
 * This is the only host/core file that talks to cuda/, and only under #ifdef RLAE_HAVE_CUDA, so a
 * CPU-only build references no CUDA symbol. */
#ifndef RLAE_CORE_DEVICE_H
#define RLAE_CORE_DEVICE_H

#include <stddef.h>

#include "core/status.h"
#include "core/tensor.h"

typedef enum { RLAE_DEVREQ_AUTO = 0, RLAE_DEVREQ_CPU, RLAE_DEVREQ_CUDA } rlae_device_request;

#define RLAE_DEVICE_REQUEST_NAMES "auto|cpu|cuda"

/* "auto", "cpu", "cuda"; anything else is RLAE_ERR_INPUT listing them. */
rlae_status rlae_device_request_parse(const char *name, rlae_device_request *out);
const char *rlae_device_request_name(rlae_device_request r);
/* "cpu" or "cuda". */
const char *rlae_device_name(rlae_device d);

/* 1 when this build has the CUDA backend (RLAE_HAVE_CUDA). */
int rlae_device_cuda_built(void);
/* Visible GPUs; 0 in a CPU-only build or when CUDA finds none. */
int rlae_device_gpu_count(void);

/* Picks the backend for `req`. With auto on a machine or build without a GPU it logs, once per
 * process, "no GPU found, using the CPU backend" (or that the build has no CUDA backend). */
rlae_status rlae_device_resolve(rlae_device_request req, rlae_device *out);

/* One line for run logs and `rlae --version`-style reports, e.g.
 * "cuda:0 NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB, driver 12.4)" or "cpu (16 cores online)". */
void rlae_device_describe(rlae_device d, char *buf, size_t n);

#endif
