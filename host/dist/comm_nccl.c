/* The NCCL half of the nccl backend (comm_internal.h): one GPU per rank picked from the local rank,
 * the unique id broadcast over MPI, and the device-buffer collectives. NCCL has no allgatherv, so
 * unequal pieces are gathered as one broadcast per rank inside a group (what NCCL's documentation
 * suggests). Built only with CUDA and MPI.
 *
 * Never run on a GPU yet: it compiles; the nccl backend with one rank is meant to equal single
 * (tests/gpu would check it), see docs/distributed.md. */
#include "dist/comm_internal.h"

#ifdef RLAE_COMM_NCCL

#include "core/log.h"
#include "cuda/launch.h"

#include <nccl.h>
#include <stdint.h>
#include <stdlib.h>

static rlae_status nccl_fail(const rlae_comm *c, ncclResult_t r, const char *call)
{
    return rlae_comm_fail(c, RLAE_ERR_RUNTIME, "%s failed on GPU %d: %s (%s)", call, c->device, ncclGetErrorString(r),
                          ncclGetLastError(c->nccl ? (ncclComm_t)c->nccl : NULL));
}

#define NCCL_CHECK(c, call)                                                                        \
    do {                                                                                           \
        ncclResult_t rlae_nccl_r_ = (call);                                                        \
        if (rlae_nccl_r_ != ncclSuccess)                                                           \
            return nccl_fail((c), rlae_nccl_r_, #call);                                            \
    } while (0)

rlae_status rlae_comm_nccl_open(rlae_comm *c)
{
    int n = 0;
    rlae_status s = rlae_cuda_device_count(&n);
    if (s != RLAE_OK || n < 1)
        return rlae_comm_fail(c, RLAE_ERR_UNSUPPORTED, "dist.backend: nccl needs a GPU and this node shows none "
                              "(%s); use dist.backend: mpi on CPU nodes", s != RLAE_OK ? rlae_last_error() : "0 GPUs");
    c->device = c->local_rank % n;
    if (c->local_rank >= n)
        rlae_warn("rank %d: local rank %d but only %d GPUs visible: GPU %d is shared", c->rank, c->local_rank, n,
                  c->device);
    if ((s = rlae_cuda_set_device(c->device)) != RLAE_OK)
        return rlae_comm_fail(c, s, "cannot use GPU %d: %s", c->device, rlae_last_error());
    ncclUniqueId id;
    if (c->rank == 0)
        NCCL_CHECK(c, ncclGetUniqueId(&id));
    int err = MPI_Bcast(&id, (int)sizeof id, MPI_BYTE, 0, c->world);
    if (err != MPI_SUCCESS)
        return rlae_comm_fail(c, RLAE_ERR_RUNTIME, "MPI_Bcast of the NCCL unique id failed (error %d)", err);
    rlae_cuda_stream st;
    RLAE_TRY(rlae_cuda_stream_create(&st));
    c->stream = st;
    ncclComm_t comm;
    NCCL_CHECK(c, ncclCommInitRank(&comm, c->size, id, c->rank));
    c->nccl = comm;
    return RLAE_OK;
}

void rlae_comm_nccl_close(rlae_comm *c)
{
    if (c->nccl)
        ncclCommDestroy((ncclComm_t)c->nccl);
    if (c->stream)
        rlae_cuda_stream_destroy(c->stream);
    c->nccl = NULL;
    c->stream = NULL;
}

static rlae_status sync(rlae_comm *c)
{
    rlae_status s = rlae_cuda_stream_sync(c->stream);
    return s == RLAE_OK ? s : rlae_comm_fail(c, s, "GPU %d: %s", c->device, rlae_last_error());
}

rlae_status rlae_comm_nccl_bcast(rlae_comm *c, void *buf, size_t bytes, int root)
{
    NCCL_CHECK(c, ncclBroadcast(buf, buf, bytes, ncclChar, root, (ncclComm_t)c->nccl, (cudaStream_t)c->stream));
    return sync(c);
}

rlae_status rlae_comm_nccl_allgatherv(rlae_comm *c, const void *send, void *recv, const size_t *counts)
{
    ncclComm_t comm = (ncclComm_t)c->nccl;
    size_t at = 0;
    NCCL_CHECK(c, ncclGroupStart());
    for (int r = 0; r < c->size; r++) {
        char *dst = (char *)recv + at;
        if (counts[r]) {
            ncclResult_t e = ncclBroadcast(r == c->rank ? send : dst, dst, counts[r], ncclChar, r, comm,
                                           (cudaStream_t)c->stream);
            if (e != ncclSuccess) {
                ncclGroupEnd();
                return nccl_fail(c, e, "ncclBroadcast (allgatherv)");
            }
        }
        at += counts[r];
    }
    NCCL_CHECK(c, ncclGroupEnd());
    return sync(c);
}

rlae_status rlae_comm_nccl_allgather(rlae_comm *c, const void *send, void *recv, size_t bytes)
{
    NCCL_CHECK(c, ncclAllGather(send, recv, bytes, ncclChar, (ncclComm_t)c->nccl, (cudaStream_t)c->stream));
    return sync(c);
}

rlae_status rlae_comm_nccl_allreduce_f32(rlae_comm *c, const float *send, float *recv, size_t n)
{
    NCCL_CHECK(c, ncclAllReduce(send, recv, n, ncclFloat32, ncclSum, (ncclComm_t)c->nccl, (cudaStream_t)c->stream));
    return sync(c);
}

#else
typedef int rlae_comm_nccl_unused; /* ISO C wants a declaration in every translation unit */
#endif
