/* What comm.c, comm_nccl.c and comm_bench.c share: the communicator's fields and the NCCL half of
 * the backend (built only with CUDA and MPI; without them the nccl functions are never reached,
 * since rlae_comm_open refuses the backend). Not part of the public API (comm.h). */
#ifndef RLAE_DIST_COMM_INTERNAL_H
#define RLAE_DIST_COMM_INTERNAL_H

#include "dist/comm.h"

#ifdef RLAE_HAVE_MPI
#include <mpi.h>
#endif

#if defined(RLAE_HAVE_MPI) && defined(RLAE_HAVE_CUDA)
#define RLAE_COMM_NCCL 1
#endif

struct rlae_comm {
    rlae_dist_backend backend;
    int rank, size, local_rank;
    int device;   /* GPU of this rank (nccl), else -1 */
    int finalize; /* rlae_comm_open called MPI_Init */
#ifdef RLAE_HAVE_MPI
    MPI_Comm world;
#endif
    void *nccl;   /* ncclComm_t */
    void *stream; /* rlae_cuda_stream the NCCL calls are queued on */
};

#ifdef RLAE_COMM_NCCL
/* Picks the GPU from the local rank, broadcasts the unique id with MPI, creates the communicator. */
rlae_status rlae_comm_nccl_open(rlae_comm *c);
void rlae_comm_nccl_close(rlae_comm *c);
/* Device buffers; each returns after the operation completed on the rank's stream. */
rlae_status rlae_comm_nccl_bcast(rlae_comm *c, void *buf, size_t bytes, int root);
rlae_status rlae_comm_nccl_allgatherv(rlae_comm *c, const void *send, void *recv, const size_t *counts);
rlae_status rlae_comm_nccl_allgather(rlae_comm *c, const void *send, void *recv, size_t bytes);
rlae_status rlae_comm_nccl_allreduce_f32(rlae_comm *c, const float *send, float *recv, size_t n);
#endif

#endif
