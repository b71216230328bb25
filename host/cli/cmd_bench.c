/* `rlae bench`: dispatch to the benchmarks, the bandwidth references they compare to, and
 * `rlae bench mix`, which times the fused ensemble step (ensemble/mix_select.h) on random logits and
 * random many-to-one maps, one table row per (members, union size, batch): ms/step, tokens/s, the
 * bytes a step moves under a stated model, the achieved GB/s, and the bandwidth it compares to (the
 * CPU's measured streaming bandwidth; on CUDA a measured device-to-device copy).
 * Without sizes it sweeps K in {2,3,4} x U in {32000, 128000, 200000} x B in {1, 8, 64}.
 * `rlae bench model` lives in cmd_bench_model.c, `rlae bench ensemble` in cmd_bench_ensemble.c. */
#include "cli.h"
#include "bench.h"

#include "core/device.h"
#include "core/rng.h"
#include "ensemble/mix_select.h"
#include "ops.h"

#ifdef RLAE_HAVE_CUDA
#include "cuda/launch.h"
#endif

#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The CPU's streaming bandwidth is taken as the best of three ways to stream 256 MiB (best of 5
 * passes each), because no single simple loop reaches what the hardware gives: a read-sum in 8
 * integer accumulators (exact, reorderable adds that keep up with memory), a copy in one memcpy
 * per thread (read + write bytes per second), and the ops' own matmul at batch 1 (OpenBLAS sgemv
 * over a [4096, 16384] fp32 matrix: a pure read of the weights, as a decode step does). */
enum { BW_REPS = 5 };
#define BW_BYTES ((size_t)256 << 20)

static double cpu_read_sum_gbs(void)
{
    size_t n = BW_BYTES / sizeof(uint64_t);
    uint64_t *x = malloc(BW_BYTES);
    if (!x)
        return 0.0;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        x[i] = i & 7;
    double best = 0.0;
    volatile uint64_t sink = 0;
    for (int rep = 0; rep < BW_REPS; rep++) {
        double t0 = bench_now_s();
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
#pragma omp parallel for schedule(static) reduction(+ : s0, s1, s2, s3, s4, s5, s6, s7)
        for (size_t i = 0; i < n; i += 8) {
            s0 += x[i];
            s1 += x[i + 1];
            s2 += x[i + 2];
            s3 += x[i + 3];
            s4 += x[i + 4];
            s5 += x[i + 5];
            s6 += x[i + 6];
            s7 += x[i + 7];
        }
        double dt = bench_now_s() - t0;
        sink = s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
        best = BW_BYTES / dt / 1e9 > best ? BW_BYTES / dt / 1e9 : best;
    }
    (void)sink;
    free(x);
    return best;
}

static double cpu_copy_gbs(void)
{
    char *a = malloc(BW_BYTES), *b = malloc(BW_BYTES);
    double best = 0.0;
    if (a && b) {
        memset(a, 1, BW_BYTES);
        memset(b, 0, BW_BYTES);
        for (int rep = 0; rep < BW_REPS; rep++) {
            double t0 = bench_now_s();
#pragma omp parallel
            {
                int nt = omp_get_num_threads(), id = omp_get_thread_num();
                size_t per = BW_BYTES / (size_t)nt, off = per * (size_t)id;
                memcpy(b + off, a + off, id == nt - 1 ? BW_BYTES - off : per);
            }
            double dt = bench_now_s() - t0;
            best = 2.0 * BW_BYTES / dt / 1e9 > best ? 2.0 * BW_BYTES / dt / 1e9 : best;
        }
    }
    free(a);
    free(b);
    return best;
}

static double cpu_matvec_gbs(void)
{
    int64_t out = 4096, in = (int64_t)(BW_BYTES / sizeof(float)) / 4096;
    rlae_tensor w = {0}, x = {0}, y = {0};
    double best = 0.0;
    rlae_status s = rlae_ops_tensor_alloc(&w, RLAE_F32, RLAE_DEV_CPU, 2, (int64_t[]){out, in});
    if (s == RLAE_OK)
        s = rlae_ops_tensor_alloc(&x, RLAE_F32, RLAE_DEV_CPU, 2, (int64_t[]){1, in});
    if (s == RLAE_OK)
        s = rlae_ops_tensor_alloc(&y, RLAE_F32, RLAE_DEV_CPU, 2, (int64_t[]){1, out});
    if (s == RLAE_OK) {
        memset(w.data, 0, rlae_tensor_nbytes(&w)); /* calloc'd pages: touch them before timing */
        s = rlae_op_matmul(&y, &x, &w, NULL);
    }
    for (int rep = 0; rep < BW_REPS && s == RLAE_OK; rep++) {
        double t0 = bench_now_s();
        s = rlae_op_matmul(&y, &x, &w, NULL);
        double dt = bench_now_s() - t0;
        best = BW_BYTES / dt / 1e9 > best ? BW_BYTES / dt / 1e9 : best;
    }
    rlae_ops_tensor_free(&w);
    rlae_ops_tensor_free(&x);
    rlae_ops_tensor_free(&y);
    return best;
}

/* "CPU stream bandwidth: X GB/s (...)" into how; the best of the three in *gbs. */
static void cpu_stream(double *gbs, char *how, size_t n)
{
    double r = cpu_read_sum_gbs(), c = cpu_copy_gbs(), m = cpu_matvec_gbs();
    *gbs = r > c ? r : c;
    *gbs = m > *gbs ? m : *gbs;
    snprintf(how, n, "CPU stream bandwidth: %.1f GB/s (the best of: read-sum %.1f, copy %.1f counting read + write, "
             "matmul at batch 1 %.1f; 256 MiB, best of %d each)", *gbs, r, c, m, BW_REPS);
}

#ifdef RLAE_HAVE_CUDA
/* Device-to-device copy bandwidth: (read + write) bytes per second over a buffer of up to 1 GiB
 * (a quarter of the free memory at most), best of 5 after one warm-up copy. */
static rlae_status cuda_copy_gbs(double *gbs, size_t *bytes_out)
{
    size_t bytes = (size_t)1 << 30, free_b = bench_device_free_bytes(RLAE_DEV_CUDA);
    if (free_b / 4 < bytes)
        bytes = free_b / 4 & ~(size_t)4095;
    void *a = NULL, *b = NULL;
    rlae_status s = rlae_cuda_malloc(&a, bytes);
    if (s == RLAE_OK)
        s = rlae_cuda_malloc(&b, bytes);
    if (s == RLAE_OK)
        s = rlae_cuda_memset(a, 1, bytes, NULL);
    if (s == RLAE_OK)
        s = rlae_cuda_memcpy_d2d(b, a, bytes, NULL);
    if (s == RLAE_OK)
        s = rlae_cuda_device_sync();
    double best = 0.0;
    for (int rep = 0; rep < 5 && s == RLAE_OK; rep++) {
        double t0 = bench_now_s();
        s = rlae_cuda_memcpy_d2d(b, a, bytes, NULL);
        if (s == RLAE_OK)
            s = rlae_cuda_device_sync();
        double g = 2.0 * (double)bytes / (bench_now_s() - t0) / 1e9;
        best = g > best ? g : best;
    }
    rlae_cuda_free(a);
    rlae_cuda_free(b);
    *gbs = best;
    *bytes_out = bytes;
    return s;
}
#endif

size_t bench_device_free_bytes(rlae_device dev)
{
#ifdef RLAE_HAVE_CUDA
    int d = 0;
    rlae_cuda_device_info info;
    if (dev == RLAE_DEV_CUDA && rlae_cuda_get_device(&d) == RLAE_OK && rlae_cuda_device_query(d, &info) == RLAE_OK)
        return info.free_bytes;
#endif
    (void)dev;
    return 0;
}

double bench_rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0.0;
    int ok = fscanf(f, "%ld %ld", &pages, &resident) == 2;
    fclose(f);
    return ok ? (double)resident * (double)sysconf(_SC_PAGESIZE) : 0.0;
}

double bench_max_rss_bytes(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss * 1024.0 : 0.0;
}

rlae_status bench_reference_gbs(rlae_device dev, double *gbs, char *how, size_t n)
{
    if (dev == RLAE_DEV_CPU) {
        cpu_stream(gbs, how, n);
        return RLAE_OK;
    }
#ifdef RLAE_HAVE_CUDA
    size_t bytes = 0;
    RLAE_TRY(cuda_copy_gbs(gbs, &bytes));
    snprintf(how, n, "device copy bandwidth: %.1f GB/s (cudaMemcpy device to device of %.0f MiB, read + write "
             "bytes per second, best of 5)", *gbs, (double)bytes / 1048576.0);
    return RLAE_OK;
#else
    return rlae_fail(RLAE_ERR_UNSUPPORTED, "bench: no CUDA backend in this build");
#endif
}

typedef struct {
    int k, u, b, iters, sample;
    rlae_device dev;
} bench_cfg;

/* Host data for one config: logits rows N(0, 2)-ish, maps uniform over the union with the first 3
 * tokens special (-1); vocabularies from 0.8 U to U, so maps are many-to-one. */
typedef struct {
    int v[RLAE_MIX_MAX_MEMBERS];
    float *logits[RLAE_MIX_MAX_MEMBERS];
    int32_t *maps[RLAE_MIX_MAX_MEMBERS];
    float *w;
    int32_t *ep, *st, *tok;
    float *mixed, *mprob, *top1, *ent;
    int32_t *am;
} bench_data;

static void data_free(bench_data *d, int k, rlae_device dev)
{
    void *bufs[] = {d->w, d->ep, d->st, d->tok, d->mixed, d->mprob, d->top1, d->ent, d->am};
    for (int i = 0; i < k; i++) {
        if (dev == RLAE_DEV_CPU) {
            free(d->logits[i]);
            free(d->maps[i]);
        }
#ifdef RLAE_HAVE_CUDA
        else {
            rlae_cuda_free(d->logits[i]);
            rlae_cuda_free(d->maps[i]);
        }
#endif
    }
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        if (dev == RLAE_DEV_CPU)
            free(bufs[i]);
#ifdef RLAE_HAVE_CUDA
        else
            rlae_cuda_free(bufs[i]);
#endif
    }
    memset(d, 0, sizeof *d);
}

/* A buffer of `bytes` on `dev` holding `host` (or uninitialised when host is NULL). */
static rlae_status place(rlae_device dev, void **out, const void *host, size_t bytes)
{
    if (dev == RLAE_DEV_CPU) {
        *out = rlae_malloc(bytes ? bytes : 1);
        if (!*out)
            return RLAE_ERR_NOMEM;
        if (host)
            memcpy(*out, host, bytes);
        return RLAE_OK;
    }
#ifdef RLAE_HAVE_CUDA
    RLAE_TRY(rlae_cuda_malloc(out, bytes));
    return host ? rlae_cuda_memcpy_h2d(*out, host, bytes, NULL) : RLAE_OK;
#else
    return rlae_fail(RLAE_ERR_UNSUPPORTED, "bench: no CUDA backend in this build");
#endif
}

static rlae_status make_data(const bench_cfg *c, bench_data *d, double *bytes_step)
{
    memset(d, 0, sizeof *d);
    rlae_rng r;
    rlae_rng_init(&r, 12345, (uint32_t)c->k, (uint32_t)c->u, (uint32_t)c->b);
    size_t maxv = (size_t)c->u;
    float *hl = rlae_malloc((size_t)c->b * maxv * sizeof *hl);
    int32_t *hm = rlae_malloc(maxv * sizeof *hm);
    float *hw = rlae_malloc((size_t)c->b * c->k * sizeof *hw);
    int32_t *hi = rlae_malloc((size_t)c->b * sizeof *hi);
    rlae_status s = (hl && hm && hw && hi) ? RLAE_OK : RLAE_ERR_NOMEM;
    double bytes = 0.0;
    for (int k = 0; k < c->k && s == RLAE_OK; k++) {
        d->v[k] = (int)(c->u * (0.8 + 0.2 * rlae_rng_uniform(&r)));
        if (d->v[k] < 4)
            d->v[k] = 4;
        for (size_t i = 0; i < (size_t)c->b * d->v[k]; i++)
            hl[i] = (float)(4.0 * rlae_rng_uniform(&r) - 2.0);
        for (int t = 0; t < d->v[k]; t++)
            hm[t] = t < 3 ? -1 : (int32_t)rlae_rng_below(&r, (uint32_t)c->u);
        s = place(c->dev, (void **)&d->logits[k], hl, (size_t)c->b * d->v[k] * sizeof *hl);
        if (s == RLAE_OK)
            s = place(c->dev, (void **)&d->maps[k], hm, (size_t)d->v[k] * sizeof *hm);
        bytes += (double)c->b * d->v[k] * 4.0 * 2.0 + (double)d->v[k] * 4.0;
    }
    bytes += (double)c->b * c->u * 4.0 * 2.0;
    *bytes_step = bytes;
    for (int i = 0; i < c->b * c->k; i++)
        hw[i] = (float)(0.1 + rlae_rng_uniform(&r));
    for (int i = 0; i < c->b; i++)
        hi[i] = i;
    size_t bb = (size_t)c->b * sizeof(int32_t), bk = (size_t)c->b * c->k * sizeof(float);
    if (s == RLAE_OK)
        s = place(c->dev, (void **)&d->w, hw, bk);
    if (s == RLAE_OK)
        s = place(c->dev, (void **)&d->ep, hi, bb);
    if (s == RLAE_OK)
        s = place(c->dev, (void **)&d->st, hi, bb);
    if (s == RLAE_OK)
        s = place(c->dev, (void **)&d->tok, NULL, bb);
    if (s == RLAE_OK)
        s = place(c->dev, (void **)&d->mixed, NULL, bb);
    if (s == RLAE_OK)
        s = place(c->dev, (void **)&d->mprob, NULL, bk);
    if (s == RLAE_OK)
        s = place(c->dev, (void **)&d->top1, NULL, bk);
    if (s == RLAE_OK)
        s = place(c->dev, (void **)&d->ent, NULL, bk);
    if (s == RLAE_OK)
        s = place(c->dev, (void **)&d->am, NULL, bk);
    free(hl);
    free(hm);
    free(hw);
    free(hi);
    return s;
}

rlae_status bench_sync(rlae_device dev)
{
#ifdef RLAE_HAVE_CUDA
    /* every stream: the ops' stream (ops.h) and the default one the mix launcher uses here */
    if (dev == RLAE_DEV_CUDA)
        return rlae_cuda_device_sync();
#endif
    (void)dev;
    return RLAE_OK;
}

static rlae_status bench_one(const bench_cfg *c)
{
    bench_data d;
    double bytes = 0.0;
    rlae_status s = make_data(c, &d, &bytes);
    rlae_mix_workspace *ws = NULL;
    if (s == RLAE_OK)
        s = rlae_mix_workspace_new(c->dev, c->b, c->k, d.v, c->u, &ws);
    if (s == RLAE_OK) {
        rlae_tensor lg[RLAE_MIX_MAX_MEMBERS], mp[RLAE_MIX_MAX_MEMBERS];
        for (int k = 0; k < c->k; k++) {
            lg[k] = rlae_tensor_view(d.logits[k], RLAE_F32, c->dev, 2, (int64_t[]){c->b, d.v[k]});
            mp[k] = rlae_tensor_view(d.maps[k], RLAE_I32, c->dev, 1, (int64_t[]){d.v[k]});
        }
        int64_t bk[2] = {c->b, c->k}, b1[1] = {c->b};
        rlae_tensor w = rlae_tensor_view(d.w, RLAE_F32, c->dev, 2, bk);
        rlae_tensor ep = rlae_tensor_view(d.ep, RLAE_I32, c->dev, 1, b1);
        rlae_tensor st = rlae_tensor_view(d.st, RLAE_I32, c->dev, 1, b1);
        rlae_tensor tok = rlae_tensor_view(d.tok, RLAE_I32, c->dev, 1, b1);
        rlae_tensor mx = rlae_tensor_view(d.mixed, RLAE_F32, c->dev, 1, b1);
        rlae_tensor mpr = rlae_tensor_view(d.mprob, RLAE_F32, c->dev, 2, bk);
        rlae_tensor t1 = rlae_tensor_view(d.top1, RLAE_F32, c->dev, 2, bk);
        rlae_tensor am = rlae_tensor_view(d.am, RLAE_I32, c->dev, 2, bk);
        rlae_tensor en = rlae_tensor_view(d.ent, RLAE_F32, c->dev, 2, bk);
        rlae_mix_inputs in = {c->k, lg, mp, c->u, &w, &ep, &st};
        rlae_mix_outputs out = {&tok, &mx, &mpr, &t1, &am, &en};
        rlae_mix_params p = rlae_mix_params_default();
        if (c->sample) {
            p.temperature = 1.0f;
            p.seed = 7;
        }
        s = rlae_mix_select(&in, &p, ws, &out); /* warm-up */
        if (s == RLAE_OK)
            s = bench_sync(c->dev);
        double t0 = bench_now_s();
        for (int i = 0; i < c->iters && s == RLAE_OK; i++)
            s = rlae_mix_select(&in, &p, ws, &out);
        if (s == RLAE_OK)
            s = bench_sync(c->dev);
        double dt = (bench_now_s() - t0) / c->iters;
        if (s == RLAE_OK)
            printf("%7d %7d %6d %6s %10.3f %12.0f %10.2f %8.2f\n", c->k, c->u, c->b, rlae_device_name(c->dev),
                   dt * 1e3, c->b / dt, bytes / 1e6, bytes / dt / 1e9);
    }
    rlae_mix_workspace_free(ws);
    data_free(&d, c->k, c->dev);
    return s;
}

int bench_parse_int(const char *flag, const char *val, int lo, int hi, int *out)
{
    char *end;
    long x = strtol(val, &end, 10);
    if (*val == '\0' || *end != '\0' || x < lo || x > hi)
        return cli_usage_error("bench", "%s must be an integer in [%d, %d] (got '%s')", flag, lo, hi, val);
    *out = (int)x;
    return 0;
}

static int bench_mix(int argc, char **argv)
{
    int k = 0, u = 0, b = 0, iters = 10, sample = 0;
    const char *devname = "auto";
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int *slot = strcmp(a, "--members") == 0 ? &k
                    : strcmp(a, "--union") == 0 ? &u
                    : strcmp(a, "--batch") == 0 ? &b
                    : strcmp(a, "--iters") == 0 ? &iters
                                                : NULL;
        if (slot || strcmp(a, "--device") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("bench", "%s needs a value", a);
            const char *val = argv[++i];
            if (!slot)
                devname = val;
            else {
                int lo = 1, hi = slot == &k ? RLAE_MIX_MAX_MEMBERS : slot == &u ? 1 << 24 : 1 << 16;
                if (bench_parse_int(a, val, lo, hi, slot))
                    return 2;
            }
        } else if (strcmp(a, "--sample") == 0)
            sample = 1;
        else
            return cli_usage_error("bench", "unknown argument '%s'", a);
    }
    rlae_device_request req;
    rlae_device dev;
    rlae_status s = rlae_device_request_parse(devname, &req);
    if (s == RLAE_OK)
        s = rlae_device_resolve(req, &dev);
    if (s != RLAE_OK)
        return cli_report("bench", s);

    double gbs;
    char how[256];
    if ((s = bench_reference_gbs(dev, &gbs, how, sizeof how)) != RLAE_OK)
        return cli_report("bench", s);
    printf("%s\n", how);
    printf("bytes/step model: each member's logits read twice (4 B x 2 per entry), its map read once, the\n"
           "mixture q over the union written and read once (4 B x 2 per entry and sequence)\n");
    printf("%7s %7s %6s %6s %10s %12s %10s %8s\n", "members", "union", "batch", "device", "ms/step", "tokens/s",
           "MB/step", "GB/s");
    int ks[3] = {2, 3, 4}, us[3] = {32000, 128000, 200000}, bs[3] = {1, 8, 64};
    int nk = k ? 1 : 3, nu = u ? 1 : 3, nb = b ? 1 : 3;
    if (k)
        ks[0] = k;
    if (u)
        us[0] = u;
    if (b)
        bs[0] = b;
    for (int ik = 0; ik < nk; ik++)
        for (int iu = 0; iu < nu; iu++)
            for (int ib = 0; ib < nb; ib++) {
                bench_cfg c = {ks[ik], us[iu], bs[ib], iters, sample, dev};
                s = bench_one(&c);
                if (s != RLAE_OK)
                    return cli_report("bench", s);
            }
    return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_bench(int argc, char **argv)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help("bench");
    if (argc < 2)
        return cli_usage_error("bench", "which benchmark: model, ensemble or mix");
    if (strcmp(argv[1], "mix") == 0)
        return bench_mix(argc, argv);
    if (strcmp(argv[1], "model") == 0)
        return bench_model(argc, argv);
    if (strcmp(argv[1], "ensemble") == 0)
        return bench_ensemble(argc, argv);
    return cli_usage_error("bench", "unknown benchmark '%s' (model, ensemble or mix)", argv[1]);
}
