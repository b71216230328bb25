/* Communication between the processes of one run (ARCHITECTURE.md host/dist): a rank, a size and
 * the few collectives the trainer's placements need, over one of three backends:
 *   single  one process; every collective is a copy (the default, no MPI needed at run time)
 *   mpi     MPI_COMM_WORLD, host buffers (CPU runs; device buffers are staged through the host)
 *   nccl    NCCL on device buffers, one GPU per rank chosen from the local rank; the NCCL unique id
 *           is broadcast with MPI, which also carries the host-buffer collectives
 *
 * Nothing here adds floating-point numbers in an order that depends on the number of ranks: the
 * collectives move bytes (broadcast, allgather), and the one sum (rlae_comm_sum_ordered) gathers
 * every rank's vector and adds them in rank order on every rank. That is what makes 1, 2 and 3
 * ranks produce bit-identical runs (docs/distributed.md).
 *
 * Launch with `mpirun -np N rlae train CONFIG dist.backend=mpi` or srun (tools/slurm-example.sh).
 * The local rank comes from OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID or MPI_LOCALRANKID, else
 * from MPI's shared-memory split. Every error message starts with "rank R of N". A build without MPI
 * (RLAE_HAVE_MPI undefined) has only the single backend: asking for mpi or nccl is RLAE_ERR_INPUT. */
#ifndef RLAE_DIST_COMM_H
#define RLAE_DIST_COMM_H

#include "config/config.h"
#include "core/status.h"
#include "core/tensor.h"

#include <stddef.h>

typedef struct rlae_comm rlae_comm;

/* Starts the backend (MPI_Init when MPI is not initialised yet; for nccl also the NCCL
 * communicator on the local rank's GPU). */
rlae_status rlae_comm_open(rlae_dist_backend backend, rlae_comm **out);
/* Ends it (MPI_Finalize when rlae_comm_open initialised MPI). NULL is a no-op. */
void rlae_comm_close(rlae_comm *c);

/* A single-process communicator that needs nothing (what a NULL comm means to callers). */
const rlae_comm *rlae_comm_single(void);

rlae_dist_backend rlae_comm_backend(const rlae_comm *c);
int rlae_comm_rank(const rlae_comm *c);
int rlae_comm_size(const rlae_comm *c);
int rlae_comm_local_rank(const rlae_comm *c);
/* GPU index this rank uses (local rank modulo the visible GPUs); -1 when the backend is not nccl. */
int rlae_comm_device(const rlae_comm *c);

/* Records "rank R of N: <message>" and returns s (for errors raised next to a collective). */
rlae_status rlae_comm_fail(const rlae_comm *c, rlae_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

rlae_status rlae_comm_barrier(rlae_comm *c);

/* Every collective takes the device its buffers live on (RLAE_DEV_CPU for host memory). */

/* buf[bytes] of rank `root` to every rank. */
rlae_status rlae_comm_bcast(rlae_comm *c, void *buf, size_t bytes, int root, rlae_device dev);

/* Rank r's send[counts[r]] bytes land at recv + sum(counts[0..r-1]) on every rank (send may be
 * inside recv, at its own place). counts[size] is the same on every rank. */
rlae_status rlae_comm_allgatherv(rlae_comm *c, const void *send, void *recv, const size_t *counts, rlae_device dev);

/* The byte counts every rank contributes: counts[size] receives each rank's `mine`. */
rlae_status rlae_comm_allgather_size(rlae_comm *c, size_t mine, size_t *counts);

/* Chunk c of a round-robin split belongs to rank c % size. */
static inline int rlae_comm_chunk_owner(const rlae_comm *c, int chunk) { return chunk % rlae_comm_size(c); }
/* Chunks this rank owns among n_chunks. */
int rlae_comm_chunks_owned(const rlae_comm *c, int n_chunks);

/* Round-robin chunks back in chunk order: `mine` holds this rank's chunks (rank, rank + size, ...)
 * one after another, chunk_bytes each; all[n_chunks * chunk_bytes] receives every chunk in chunk
 * order on every rank. Host buffers. */
rlae_status rlae_comm_gather_chunks(rlae_comm *c, int n_chunks, size_t chunk_bytes, const void *mine, void *all);

/* out[n] = sum over ranks r = 0, 1, ... (in that order) of rank r's x[n], on every rank; the same
 * bits on every rank and for any split of the same vectors. Host buffers. */
rlae_status rlae_comm_sum_ordered(rlae_comm *c, const double *x, size_t n, double *out);

/* 1 on every rank when flag is nonzero on any rank (stop requests). */
rlae_status rlae_comm_any(rlae_comm *c, int flag, int *out);

/* FNV-1a 64 of bytes, for parameter equality checks across ranks. */
unsigned long long rlae_comm_hash(const void *data, size_t bytes);
/* RLAE_ERR_RUNTIME naming the ranks whose hash differs from rank 0's (what: "agent parameters"). */
rlae_status rlae_comm_check_equal(rlae_comm *c, const void *data, size_t bytes, const char *what);

/* Ends every rank of the job at once (MPI_Abort) after an error on one rank, so the others do not
 * wait forever in a collective; with one rank it returns. */
void rlae_comm_abort(rlae_comm *c, int exit_code);

/* Collective bandwidth (host/dist/comm_bench.c): `iters` timed runs (after 2 untimed) of an
 * all-reduce (float sum) or an allgather of `bytes` per rank, on the backend's buffers (device
 * memory for nccl, host memory otherwise). seconds: mean time per operation (max over ranks);
 * algbw = bytes / seconds; busbw as nccl-tests reports it (all-reduce: algbw * 2 (n-1)/n;
 * allgather: algbw * (n-1)). Collective: every rank calls it with the same arguments. */
typedef enum { RLAE_COMM_BENCH_ALLREDUCE = 0, RLAE_COMM_BENCH_ALLGATHER } rlae_comm_bench_op;
typedef struct {
    double seconds, algbw_gbs, busbw_gbs;
} rlae_comm_bench_result;
rlae_status rlae_comm_bench(rlae_comm *c, rlae_comm_bench_op op, size_t bytes, int iters,
                            rlae_comm_bench_result *out);

#endif
