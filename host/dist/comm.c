/* The communicator (comm.h): the single backend, the MPI backend on host buffers, and the dispatch
 * of device buffers to NCCL (comm_nccl.c) or, with the mpi backend, through a host copy. */
#include "dist/comm_internal.h"

#include "core/log.h"

#ifdef RLAE_HAVE_CUDA
#include "cuda/launch.h"
#endif

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rlae_comm single_comm = {.backend = RLAE_DIST_SINGLE, .rank = 0, .size = 1, .device = -1};

const rlae_comm *rlae_comm_single(void) { return &single_comm; }

static const rlae_comm *or_single(const rlae_comm *c) { return c ? c : &single_comm; }

rlae_dist_backend rlae_comm_backend(const rlae_comm *c) { return or_single(c)->backend; }
int rlae_comm_rank(const rlae_comm *c) { return or_single(c)->rank; }
int rlae_comm_size(const rlae_comm *c) { return or_single(c)->size; }
int rlae_comm_local_rank(const rlae_comm *c) { return or_single(c)->local_rank; }
int rlae_comm_device(const rlae_comm *c) { return or_single(c)->device; }

rlae_status rlae_comm_fail(const rlae_comm *c, rlae_status s, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rlae_fail(s, "rank %d of %d: %s", rlae_comm_rank(c), rlae_comm_size(c), msg);
}

int rlae_comm_chunks_owned(const rlae_comm *c, int n_chunks)
{
    int r = rlae_comm_rank(c), n = rlae_comm_size(c);
    return r < n_chunks ? (n_chunks - r + n - 1) / n : 0;
}

unsigned long long rlae_comm_hash(const void *data, size_t bytes)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < bytes; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return (unsigned long long)h;
}

/* ---- MPI ------------------------------------------------------------------------------------ */

#ifdef RLAE_HAVE_MPI
/* "MPI_Allgatherv failed: <MPI's error string>" on rank R. */
static rlae_status mpi_fail(const rlae_comm *c, int err, const char *call)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(err, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "error %d", err);
    return rlae_comm_fail(c, RLAE_ERR_RUNTIME, "%s failed: %s", call, text);
}

#define MPI_CHECK(c, call)                                                                         \
    do {                                                                                           \
        int rlae_mpi_err_ = (call);                                                                \
        if (rlae_mpi_err_ != MPI_SUCCESS)                                                          \
            return mpi_fail((c), rlae_mpi_err_, #call);                                            \
    } while (0)

/* MPI counts are ints. */
static rlae_status mpi_count(const rlae_comm *c, size_t bytes, int *out)
{
    if (bytes > (size_t)INT32_MAX)
        return rlae_comm_fail(c, RLAE_ERR_UNSUPPORTED, "a collective of %zu bytes is past MPI's 2 GiB count "
                              "limit; use smaller batches (ensemble.batch_size, train.episodes_per_iter)", bytes);
    *out = (int)bytes;
    return RLAE_OK;
}

static int env_int(const char *name, int *out)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < 0 || x > 1 << 20)
        return 0;
    *out = (int)x;
    return 1;
}

static rlae_status mpi_open(rlae_comm *c)
{
    int inited = 0;
    MPI_CHECK(c, MPI_Initialized(&inited));
    if (!inited) {
        int provided;
        /* the rollout and the agent use OpenMP threads; only the main thread calls MPI */
        MPI_CHECK(c, MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided));
        c->finalize = 1;
    }
    c->world = MPI_COMM_WORLD;
    /* errors come back as codes (named with the rank) instead of aborting inside MPI */
    MPI_CHECK(c, MPI_Comm_set_errhandler(c->world, MPI_ERRORS_RETURN));
    MPI_CHECK(c, MPI_Comm_rank(c->world, &c->rank));
    MPI_CHECK(c, MPI_Comm_size(c->world, &c->size));
    if (!env_int("OMPI_COMM_WORLD_LOCAL_RANK", &c->local_rank) && !env_int("SLURM_LOCALID", &c->local_rank) &&
        !env_int("MPI_LOCALRANKID", &c->local_rank)) {
        MPI_Comm node;
        MPI_CHECK(c, MPI_Comm_split_type(c->world, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node));
        MPI_CHECK(c, MPI_Comm_rank(node, &c->local_rank));
        MPI_Comm_free(&node);
    }
    return RLAE_OK;
}
#endif

rlae_status rlae_comm_open(rlae_dist_backend backend, rlae_comm **out)
{
    *out = NULL;
    rlae_comm *c = rlae_calloc(1, sizeof *c);
    if (!c)
        return RLAE_ERR_NOMEM;
    *c = single_comm;
    c->backend = backend;
    rlae_status s = RLAE_OK;
    if (backend == RLAE_DIST_SINGLE) {
        *out = c;
        return RLAE_OK;
    }
#ifndef RLAE_HAVE_MPI
    s = rlae_fail(RLAE_ERR_INPUT, "dist.backend: %s needs MPI, and this build of rlae has none (MPI was not "
                  "found when it was configured); install libopenmpi-dev and openmpi-bin (tools/install-deps.sh) "
                  "and rebuild, or set dist.backend: single",
                  backend == RLAE_DIST_NCCL ? "nccl" : "mpi");
#else
    s = mpi_open(c);
    if (s == RLAE_OK && backend == RLAE_DIST_NCCL) {
#ifdef RLAE_COMM_NCCL
        s = rlae_comm_nccl_open(c);
#else
        s = rlae_comm_fail(c, RLAE_ERR_INPUT, "dist.backend: nccl needs the CUDA backend, and this build of rlae "
                           "has none; rebuild with nvcc and NCCL (-DRLAE_CUDA=ON), or set dist.backend: mpi");
#endif
    }
#endif
    if (s != RLAE_OK) {
        rlae_comm_close(c);
        return s;
    }
    *out = c;
    return RLAE_OK;
}

void rlae_comm_close(rlae_comm *c)
{
    if (!c || c == &single_comm)
        return;
#ifdef RLAE_COMM_NCCL
    rlae_comm_nccl_close(c);
#endif
#ifdef RLAE_HAVE_MPI
    if (c->finalize) {
        int done = 0;
        MPI_Finalized(&done);
        if (!done)
            MPI_Finalize();
    }
#endif
    free(c);
}

void rlae_comm_abort(rlae_comm *c, int exit_code)
{
#ifdef RLAE_HAVE_MPI
    if (c && c->size > 1)
        MPI_Abort(c->world, exit_code);
#endif
    (void)c;
    (void)exit_code;
}

static int uses_mpi(const rlae_comm *c) { return c && c->backend != RLAE_DIST_SINGLE && c->size > 0; }

rlae_status rlae_comm_barrier(rlae_comm *c)
{
#ifdef RLAE_HAVE_MPI
    if (uses_mpi(c))
        MPI_CHECK(c, MPI_Barrier(c->world));
#endif
    (void)c;
    return RLAE_OK;
}

/* ---- host-buffer collectives ----------------------------------------------------------------- */

static rlae_status host_bcast(rlae_comm *c, void *buf, size_t bytes, int root)
{
    if (root < 0 || root >= rlae_comm_size(c))
        return rlae_comm_fail(c, RLAE_ERR_RUNTIME, "broadcast from rank %d, which does not exist", root);
#ifdef RLAE_HAVE_MPI
    if (uses_mpi(c) && c->size > 1) {
        int n = 0;
        RLAE_TRY(mpi_count(c, bytes, &n));
        MPI_CHECK(c, MPI_Bcast(buf, n, MPI_BYTE, root, c->world));
    }
#endif
    (void)buf;
    (void)bytes;
    return RLAE_OK;
}

static rlae_status host_allgatherv(rlae_comm *c, const void *send, void *recv, const size_t *counts)
{
    int size = rlae_comm_size(c), rank = rlae_comm_rank(c);
    size_t at = 0;
    for (int r = 0; r < rank; r++)
        at += counts[r];
    char *dst = (char *)recv + at;
    if (size == 1 || !uses_mpi(c)) {
        if (counts[rank] && dst != send)
            memmove(dst, send, counts[rank]);
        return RLAE_OK;
    }
#ifdef RLAE_HAVE_MPI
    int *cnt = rlae_malloc(sizeof(int) * (size_t)size * 2);
    if (!cnt)
        return RLAE_ERR_NOMEM;
    int *dsp = cnt + size;
    size_t total = 0;
    rlae_status s = RLAE_OK;
    for (int r = 0; r < size && s == RLAE_OK; r++) {
        s = mpi_count(c, counts[r], &cnt[r]);
        if (s == RLAE_OK)
            s = mpi_count(c, total, &dsp[r]);
        total += counts[r];
    }
    if (s == RLAE_OK) {
        /* MPI_IN_PLACE when the send buffer is already at its place in recv */
        const void *sb = dst == send ? MPI_IN_PLACE : send;
        int err = MPI_Allgatherv(sb, cnt[rank], MPI_BYTE, recv, cnt, dsp, MPI_BYTE, c->world);
        if (err != MPI_SUCCESS)
            s = mpi_fail(c, err, "MPI_Allgatherv");
    }
    free(cnt);
    return s;
#else
    return RLAE_OK;
#endif
}

/* ---- dispatch on the buffers' device ---------------------------------------------------------- */

#ifdef RLAE_HAVE_CUDA
/* The mpi backend with device buffers: through a host copy. */
static rlae_status staged_bcast(rlae_comm *c, void *buf, size_t bytes, int root)
{
    void *h = rlae_malloc(bytes ? bytes : 1);
    if (!h)
        return RLAE_ERR_NOMEM;
    rlae_status s = c->rank == root ? rlae_cuda_memcpy_d2h(h, buf, bytes, NULL) : RLAE_OK;
    if (s == RLAE_OK)
        s = host_bcast(c, h, bytes, root);
    if (s == RLAE_OK && c->rank != root)
        s = rlae_cuda_memcpy_h2d(buf, h, bytes, NULL);
    free(h);
    return s;
}

static rlae_status staged_allgatherv(rlae_comm *c, const void *send, void *recv, const size_t *counts)
{
    size_t total = 0;
    for (int r = 0; r < c->size; r++)
        total += counts[r];
    void *h = rlae_malloc(total ? total : 1), *hs = rlae_malloc(counts[c->rank] ? counts[c->rank] : 1);
    rlae_status s = h && hs ? rlae_cuda_memcpy_d2h(hs, send, counts[c->rank], NULL) : RLAE_ERR_NOMEM;
    if (s == RLAE_OK)
        s = host_allgatherv(c, hs, h, counts);
    if (s == RLAE_OK)
        s = rlae_cuda_memcpy_h2d(recv, h, total, NULL);
    free(h);
    free(hs);
    return s;
}
#endif

rlae_status rlae_comm_bcast(rlae_comm *c, void *buf, size_t bytes, int root, rlae_device dev)
{
    if (rlae_comm_size(c) == 1)
        return root == 0 ? RLAE_OK : rlae_comm_fail(c, RLAE_ERR_RUNTIME, "broadcast from rank %d of 1", root);
    if (dev == RLAE_DEV_CUDA) {
#ifdef RLAE_COMM_NCCL
        if (c->backend == RLAE_DIST_NCCL)
            return rlae_comm_nccl_bcast(c, buf, bytes, root);
#endif
#ifdef RLAE_HAVE_CUDA
        return staged_bcast(c, buf, bytes, root);
#endif
    }
    return host_bcast(c, buf, bytes, root);
}

rlae_status rlae_comm_allgatherv(rlae_comm *c, const void *send, void *recv, const size_t *counts, rlae_device dev)
{
    if (dev == RLAE_DEV_CUDA && rlae_comm_size(c) > 1) {
#ifdef RLAE_COMM_NCCL
        if (c->backend == RLAE_DIST_NCCL)
            return rlae_comm_nccl_allgatherv(c, send, recv, counts);
#endif
#ifdef RLAE_HAVE_CUDA
        return staged_allgatherv(c, send, recv, counts);
#endif
    }
#ifdef RLAE_HAVE_CUDA
    if (dev == RLAE_DEV_CUDA) { /* one rank: a device copy to the rank's place (offset 0) */
        if (counts[0] && recv != send)
            return rlae_cuda_memcpy_d2d(recv, send, counts[0], NULL);
        return RLAE_OK;
    }
#endif
    return host_allgatherv(c, send, recv, counts);
}

rlae_status rlae_comm_allgather_size(rlae_comm *c, size_t mine, size_t *counts)
{
    int size = rlae_comm_size(c);
    uint64_t *v = rlae_malloc(sizeof(uint64_t) * (size_t)size);
    size_t *cnt = rlae_malloc(sizeof(size_t) * (size_t)size);
    rlae_status s = v && cnt ? RLAE_OK : RLAE_ERR_NOMEM;
    if (s == RLAE_OK) {
        for (int r = 0; r < size; r++)
            cnt[r] = sizeof(uint64_t);
        v[rlae_comm_rank(c)] = (uint64_t)mine;
        s = host_allgatherv(c, &v[rlae_comm_rank(c)], v, cnt);
    }
    for (int r = 0; s == RLAE_OK && r < size; r++)
        counts[r] = (size_t)v[r];
    free(v);
    free(cnt);
    return s;
}

rlae_status rlae_comm_gather_chunks(rlae_comm *c, int n_chunks, size_t chunk_bytes, const void *mine, void *all)
{
    int size = rlae_comm_size(c);
    if (size == 1) {
        if (all != mine)
            memmove(all, mine, (size_t)n_chunks * chunk_bytes);
        return RLAE_OK;
    }
    /* gathered rank-major (rank 0's chunks, rank 1's, ...), then put in chunk order */
    size_t *counts = rlae_malloc(sizeof(size_t) * (size_t)size);
    char *tmp = rlae_malloc((size_t)n_chunks * chunk_bytes + 1);
    rlae_status s = counts && tmp ? RLAE_OK : RLAE_ERR_NOMEM;
    if (s == RLAE_OK) {
        size_t mine_at = 0;
        for (int r = 0; r < size; r++) {
            int owned = r < n_chunks ? (n_chunks - r + size - 1) / size : 0;
            counts[r] = (size_t)owned * chunk_bytes;
            if (r < rlae_comm_rank(c))
                mine_at += counts[r];
        }
        memcpy(tmp + mine_at, mine, counts[rlae_comm_rank(c)]);
        s = host_allgatherv(c, tmp + mine_at, tmp, counts);
    }
    if (s == RLAE_OK) {
        size_t at = 0;
        for (int r = 0; r < size; r++)
            for (int ch = r; ch < n_chunks; ch += size, at += chunk_bytes)
                memcpy((char *)all + (size_t)ch * chunk_bytes, tmp + at, chunk_bytes);
    }
    free(counts);
    free(tmp);
    return s;
}

rlae_status rlae_comm_sum_ordered(rlae_comm *c, const double *x, size_t n, double *out)
{
    int size = rlae_comm_size(c);
    if (size == 1) {
        if (out != x)
            memmove(out, x, n * sizeof *x);
        return RLAE_OK;
    }
    double *all = rlae_malloc(sizeof(double) * n * (size_t)size + 1);
    size_t *counts = rlae_malloc(sizeof(size_t) * (size_t)size);
    rlae_status s = all && counts ? RLAE_OK : RLAE_ERR_NOMEM;
    if (s == RLAE_OK) {
        for (int r = 0; r < size; r++)
            counts[r] = n * sizeof(double);
        s = host_allgatherv(c, x, all, counts);
    }
    if (s == RLAE_OK)
        for (size_t i = 0; i < n; i++) {
            double acc = all[i];
            for (int r = 1; r < size; r++)
                acc += all[(size_t)r * n + i];
            out[i] = acc;
        }
    free(all);
    free(counts);
    return s;
}

rlae_status rlae_comm_any(rlae_comm *c, int flag, int *out)
{
    double x = flag ? 1.0 : 0.0, sum;
    RLAE_TRY(rlae_comm_sum_ordered(c, &x, 1, &sum));
    *out = sum > 0.0;
    return RLAE_OK;
}

rlae_status rlae_comm_check_equal(rlae_comm *c, const void *data, size_t bytes, const char *what)
{
    int size = rlae_comm_size(c);
    if (size == 1)
        return RLAE_OK;
    unsigned long long h = rlae_comm_hash(data, bytes);
    unsigned long long *all = rlae_malloc(sizeof h * (size_t)size);
    size_t *counts = rlae_malloc(sizeof(size_t) * (size_t)size);
    rlae_status s = all && counts ? RLAE_OK : RLAE_ERR_NOMEM;
    if (s == RLAE_OK) {
        for (int r = 0; r < size; r++)
            counts[r] = sizeof h;
        s = host_allgatherv(c, &h, all, counts);
    }
    if (s == RLAE_OK) {
        char bad[256] = "";
        size_t at = 0;
        for (int r = 1; r < size; r++)
            if (all[r] != all[0] && at < sizeof bad - 16)
                at += (size_t)snprintf(bad + at, sizeof bad - at, "%s%d", at ? ", " : "", r);
        if (at)
            s = rlae_comm_fail(c, RLAE_ERR_RUNTIME, "%s differ between ranks (rank 0 hash %016llx; rank(s) %s "
                               "differ): the ranks no longer compute the same run; report this with the config",
                               what, all[0], bad);
    }
    free(all);
    free(counts);
    return s;
}
