/* Collective bandwidth (comm.h rlae_comm_bench): what `rlae bench comm` reports. All-reduce is
 * measured because it is the number users compare with nccl-tests; allgather because it is what
 * the placements actually use (docs/distributed.md). The nccl backend times device buffers with
 * NCCL; mpi and single time host buffers with MPI (or a copy). The time of an operation is the
 * slowest rank's mean, so every rank reports the same numbers. */
#include "dist/comm_internal.h"

#include "core/timer.h"

#ifdef RLAE_HAVE_CUDA
#include "cuda/launch.h"
#endif

#include <stdlib.h>
#include <string.h>

static rlae_status run_op(rlae_comm *c, rlae_comm_bench_op op, void *send, void *recv, size_t bytes, int dev)
{
    int size = rlae_comm_size(c);
#ifdef RLAE_COMM_NCCL
    if (dev) {
        if (op == RLAE_COMM_BENCH_ALLREDUCE)
            return rlae_comm_nccl_allreduce_f32(c, send, recv, bytes / sizeof(float));
        return rlae_comm_nccl_allgather(c, send, recv, bytes);
    }
#endif
    (void)dev;
    if (op == RLAE_COMM_BENCH_ALLGATHER) {
        size_t counts[size];
        for (int r = 0; r < size; r++)
            counts[r] = bytes;
        return rlae_comm_allgatherv(c, send, recv, counts, RLAE_DEV_CPU);
    }
#ifdef RLAE_HAVE_MPI
    if (c && c->backend != RLAE_DIST_SINGLE && size > 1) {
        if (bytes / sizeof(float) > (size_t)INT32_MAX)
            return rlae_comm_fail(c, RLAE_ERR_INPUT, "bench: %zu bytes is past MPI's count limit", bytes);
        int err = MPI_Allreduce(send, recv, (int)(bytes / sizeof(float)), MPI_FLOAT, MPI_SUM, c->world);
        return err == MPI_SUCCESS ? RLAE_OK : rlae_comm_fail(c, RLAE_ERR_RUNTIME, "MPI_Allreduce failed (%d)", err);
    }
#endif
    memcpy(recv, send, bytes);
    return RLAE_OK;
}

rlae_status rlae_comm_bench(rlae_comm *c, rlae_comm_bench_op op, size_t bytes, int iters, rlae_comm_bench_result *out)
{
    memset(out, 0, sizeof *out);
    int size = rlae_comm_size(c);
    bytes = bytes / sizeof(float) * sizeof(float);
    if (bytes == 0 || iters < 1)
        return rlae_comm_fail(c, RLAE_ERR_INPUT, "bench: needs at least 4 bytes and 1 iteration (got %zu, %d)", bytes,
                              iters);
    size_t recv_bytes = op == RLAE_COMM_BENCH_ALLGATHER ? bytes * (size_t)size : bytes;
    int dev = c && c->backend == RLAE_DIST_NCCL;
    void *send = NULL, *recv = NULL;
    rlae_status s = RLAE_OK;
    if (dev) {
#ifdef RLAE_HAVE_CUDA
        s = rlae_cuda_malloc(&send, bytes);
        if (s == RLAE_OK)
            s = rlae_cuda_malloc(&recv, recv_bytes);
        if (s == RLAE_OK)
            s = rlae_cuda_memset(send, 0, bytes, NULL);
#endif
    } else {
        send = rlae_calloc(bytes, 1);
        recv = rlae_calloc(recv_bytes, 1);
        if (!send || !recv)
            s = RLAE_ERR_NOMEM;
    }
    for (int i = 0; i < 2 && s == RLAE_OK; i++)
        s = run_op(c, op, send, recv, bytes, dev);
    if (s == RLAE_OK)
        s = rlae_comm_barrier(c);
    rlae_timer tm;
    rlae_timer_start(&tm);
    for (int i = 0; i < iters && s == RLAE_OK; i++)
        s = run_op(c, op, send, recv, bytes, dev); /* each returns after its stream synchronised */
    double mine = rlae_timer_elapsed(&tm) / iters, slowest = mine;
    if (s == RLAE_OK) { /* max over ranks: gather every rank's time (in rank order) */
        double *all = rlae_malloc(sizeof(double) * (size_t)size);
        size_t *counts = rlae_malloc(sizeof(size_t) * (size_t)size);
        s = all && counts ? RLAE_OK : RLAE_ERR_NOMEM;
        if (s == RLAE_OK) {
            for (int r = 0; r < size; r++)
                counts[r] = sizeof(double);
            all[rlae_comm_rank(c)] = mine;
            s = rlae_comm_allgatherv(c, &all[rlae_comm_rank(c)], all, counts, RLAE_DEV_CPU);
        }
        for (int r = 0; s == RLAE_OK && r < size; r++)
            slowest = all[r] > slowest ? all[r] : slowest;
        free(all);
        free(counts);
    }
    if (dev) {
#ifdef RLAE_HAVE_CUDA
        rlae_cuda_free(send);
        rlae_cuda_free(recv);
#endif
    } else {
        free(send);
        free(recv);
    }
    if (s != RLAE_OK)
        return s;
    out->seconds = slowest;
    out->algbw_gbs = slowest > 0 ? (double)bytes / slowest / 1e9 : 0.0;
    double n = size;
    out->busbw_gbs = op == RLAE_COMM_BENCH_ALLREDUCE ? out->algbw_gbs * 2.0 * (n - 1) / n : out->algbw_gbs * (n - 1);
    return RLAE_OK;
}
