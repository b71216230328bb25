/* cuda/adam.cu against the CPU reference (algorithms/adam.h, float entry points): for n in
 * {1, 7, 257, 4099, 100003}, five steps of grad-norm clip (max_norm 0.5, which binds for the larger
 * n, and 1e9, which does not; also max_norm 0: measure only) followed by an Adam step, with the
 * learning rate changed between steps as the anneal does. Tolerances: the norm within 1e-9
 * relative (double accumulation on both sides, only the order differs); clipped gradients, moments
 * and parameters within 1e-5 relative (|gpu - cpu| <= 1e-5 (|cpu| + 1e-6 rms)): both compute the Adam
 * update in double and round to float, so only contraction into fused multiply-adds differs. A rerun from the same state must be
 * bit-identical. Then a short benchmark (time per call, achieved GB/s; launch.h does not report the
 * device's peak bandwidth). Skips (77) in a CPU-only build or without a GPU. */
#include "algorithms/adam.h"
#include "core/rng.h"
#include "test.h"

#ifdef RLAE_HAVE_CUDA
#include "cuda/launch.h"

#include <stdint.h>
#include <time.h>

#define TOL 1e-5

static void *dup_dev(const float *h, size_t n)
{
    void *d = NULL;
    CHECK(rlae_cuda_malloc(&d, n * sizeof(float)) == RLAE_OK);
    if (h)
        CHECK(rlae_cuda_memcpy_h2d(d, h, n * sizeof(float), NULL) == RLAE_OK);
    return d;
}

static void compare(const char *what, const float *cpu, const float *gpu, size_t n, size_t size, int step)
{
    double ss = 0.0;
    for (size_t i = 0; i < n; i++)
        ss += (double)cpu[i] * cpu[i];
    double rms = sqrt(ss / (double)n);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)gpu[i] - cpu[i]) <= TOL * (fabs(cpu[i]) + 1e-6 * rms) + 1e-30) && !bad++)
            first = i;
    CHECK_MSG(bad == 0, "n %zu step %d %s: %zu off (first %zu: cpu %.9g gpu %.9g)", size, step, what, bad, first,
              (double)cpu[first], (double)gpu[first]);
}

static void run_size(size_t n, double max_norm, uint64_t seed)
{
    rlae_rng r;
    rlae_rng_init(&r, seed, (uint32_t)n, 0, 0);
    float *param = malloc(n * sizeof(float)), *grad = malloc(n * sizeof(float)), *g2 = malloc(n * sizeof(float));
    float *hp = malloc(n * sizeof(float)), *hm = malloc(n * sizeof(float)), *hv = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        param[i] = (float)rlae_rng_normal(&r);
    rlae_adam_hparams h = rlae_adam_defaults();
    rlae_adam a;
    CHECK(rlae_adam_init(&a, n, &h) == RLAE_OK);
    float *dp = dup_dev(param, n), *dg = dup_dev(NULL, n), *dm = dup_dev(a.m, n), *dv = dup_dev(a.v, n);
    double *dnorm = NULL, *scratch = NULL;
    CHECK(rlae_cuda_malloc((void **)&dnorm, sizeof(double)) == RLAE_OK);
    CHECK(rlae_cuda_malloc((void **)&scratch, rlae_cuda_grad_norm_scratch_doubles(n) * sizeof(double)) == RLAE_OK);
    for (int step = 1; step <= 5; step++) {
        for (size_t i = 0; i < n; i++) /* gradients of mixed scales, a few tiny */
            grad[i] = (float)(rlae_rng_normal(&r) * (i % 13 == 0 ? 1e-4 : 0.05 * step));
        CHECK(rlae_cuda_memcpy_h2d(dg, grad, n * sizeof(float), NULL) == RLAE_OK);
        a.h.lr = rlae_lr_linear_anneal(3e-4, step, 5);
        double norm = rlae_grad_clip_norm(grad, n, max_norm), gnorm = 0.0, gnorm2 = 0.0;
        CHECK(rlae_cuda_grad_norm_clip(dg, n, max_norm, dnorm, scratch, NULL) == RLAE_OK);
        CHECK(rlae_cuda_memcpy_d2h(&gnorm, dnorm, sizeof(double), NULL) == RLAE_OK);
        CHECK_MSG(fabs(gnorm - norm) <= 1e-9 * norm, "n %zu step %d norm: cpu %.17g gpu %.17g", n, step, norm, gnorm);
        CHECK(rlae_cuda_memcpy_d2h(g2, dg, n * sizeof(float), NULL) == RLAE_OK);
        compare("clipped grad", grad, g2, n, n, step);
        /* the norm is deterministic: measuring again (max_norm 0, nothing scaled) gives the same bits
         * for an unclipped gradient */
        if (max_norm <= 0 || norm <= max_norm) {
            CHECK(rlae_cuda_grad_norm_clip(dg, n, 0.0, dnorm, scratch, NULL) == RLAE_OK);
            CHECK(rlae_cuda_memcpy_d2h(&gnorm2, dnorm, sizeof(double), NULL) == RLAE_OK);
            CHECK(memcmp(&gnorm, &gnorm2, sizeof gnorm) == 0);
        }
        rlae_adam_step(&a, param, grad);
        CHECK(rlae_cuda_adam_step(dp, dg, dm, dv, n, a.t, &a.h, NULL) == RLAE_OK);
        CHECK(rlae_cuda_memcpy_d2h(hp, dp, n * sizeof(float), NULL) == RLAE_OK);
        CHECK(rlae_cuda_memcpy_d2h(hm, dm, n * sizeof(float), NULL) == RLAE_OK);
        CHECK(rlae_cuda_memcpy_d2h(hv, dv, n * sizeof(float), NULL) == RLAE_OK);
        compare("m", a.m, hm, n, n, step);
        compare("v", a.v, hv, n, n, step);
        compare("param", param, hp, n, n, step);
        /* resync the device state to the CPU's so that differences do not compound over steps */
        CHECK(rlae_cuda_memcpy_h2d(dp, param, n * sizeof(float), NULL) == RLAE_OK);
        CHECK(rlae_cuda_memcpy_h2d(dm, a.m, n * sizeof(float), NULL) == RLAE_OK);
        CHECK(rlae_cuda_memcpy_h2d(dv, a.v, n * sizeof(float), NULL) == RLAE_OK);
    }
    /* rerun determinism: the same step from the same state twice */
    float *p1 = malloc(n * sizeof(float));
    CHECK(rlae_cuda_memcpy_h2d(dg, grad, n * sizeof(float), NULL) == RLAE_OK);
    CHECK(rlae_cuda_adam_step(dp, dg, dm, dv, n, 6, &a.h, NULL) == RLAE_OK);
    CHECK(rlae_cuda_memcpy_d2h(p1, dp, n * sizeof(float), NULL) == RLAE_OK);
    CHECK(rlae_cuda_memcpy_h2d(dp, param, n * sizeof(float), NULL) == RLAE_OK);
    CHECK(rlae_cuda_memcpy_h2d(dm, a.m, n * sizeof(float), NULL) == RLAE_OK);
    CHECK(rlae_cuda_memcpy_h2d(dv, a.v, n * sizeof(float), NULL) == RLAE_OK);
    CHECK(rlae_cuda_adam_step(dp, dg, dm, dv, n, 6, &a.h, NULL) == RLAE_OK);
    CHECK(rlae_cuda_memcpy_d2h(hp, dp, n * sizeof(float), NULL) == RLAE_OK);
    CHECK(memcmp(p1, hp, n * sizeof(float)) == 0);
    free(p1);
    rlae_cuda_free(dp);
    rlae_cuda_free(dg);
    rlae_cuda_free(dm);
    rlae_cuda_free(dv);
    rlae_cuda_free(dnorm);
    rlae_cuda_free(scratch);
    rlae_adam_free(&a);
    free(param);
    free(grad);
    free(g2);
    free(hp);
    free(hm);
    free(hv);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void bench(void)
{
    const size_t n = (size_t)1 << 24;
    const int reps = 20;
    float *dp = dup_dev(NULL, n), *dg = dup_dev(NULL, n), *dm = dup_dev(NULL, n), *dv = dup_dev(NULL, n);
    double *dnorm = NULL, *scratch = NULL;
    CHECK(rlae_cuda_malloc((void **)&dnorm, sizeof(double)) == RLAE_OK);
    CHECK(rlae_cuda_malloc((void **)&scratch, rlae_cuda_grad_norm_scratch_doubles(n) * sizeof(double)) == RLAE_OK);
    CHECK(rlae_cuda_memset(dp, 0, n * sizeof(float), NULL) == RLAE_OK);
    CHECK(rlae_cuda_memset(dm, 0, n * sizeof(float), NULL) == RLAE_OK);
    CHECK(rlae_cuda_memset(dv, 0, n * sizeof(float), NULL) == RLAE_OK);
    CHECK(rlae_cuda_memset(dg, 0x3c, n * sizeof(float), NULL) == RLAE_OK); /* every element 0.0115 */
    rlae_adam_hparams h = rlae_adam_defaults();
    rlae_cuda_stream s = NULL;
    CHECK(rlae_cuda_stream_create(&s) == RLAE_OK);
    CHECK(rlae_cuda_adam_step(dp, dg, dm, dv, n, 1, &h, s) == RLAE_OK);
    CHECK(rlae_cuda_stream_sync(s) == RLAE_OK);
    double t0 = now_s();
    for (int i = 0; i < reps; i++)
        CHECK(rlae_cuda_adam_step(dp, dg, dm, dv, n, 2 + i, &h, s) == RLAE_OK);
    CHECK(rlae_cuda_stream_sync(s) == RLAE_OK);
    double per = (now_s() - t0) / reps;
    printf("bench adam_step: n %zu: %.1f us per call, %.1f GB/s achieved (reads p, g, m, v; writes p, m, v)\n", n,
           per * 1e6, 28.0 * n / per / 1e9);
    t0 = now_s();
    for (int i = 0; i < reps; i++) /* max_norm 1e-3 binds: reads g twice, writes it once */
        CHECK(rlae_cuda_grad_norm_clip(dg, n, 1e-3, dnorm, scratch, s) == RLAE_OK);
    CHECK(rlae_cuda_stream_sync(s) == RLAE_OK);
    per = (now_s() - t0) / reps;
    printf("bench grad_norm_clip: n %zu: %.1f us per call, %.1f GB/s achieved\n", n, per * 1e6, 12.0 * n / per / 1e9);
    CHECK(rlae_cuda_stream_destroy(s) == RLAE_OK);
    rlae_cuda_free(dp);
    rlae_cuda_free(dg);
    rlae_cuda_free(dm);
    rlae_cuda_free(dv);
    rlae_cuda_free(dnorm);
    rlae_cuda_free(scratch);
}

int main(void)
{
    int ndev = 0;
    if (rlae_cuda_device_count(&ndev) != RLAE_OK || ndev == 0) {
        printf("SKIP: no GPU (%s)\n", rlae_last_error());
        return 77;
    }
    static const size_t ns[] = {1, 7, 257, 4099, 100003};
    static const double max_norms[] = {0.5, 1e9, 0.0};
    for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
        for (size_t j = 0; j < sizeof max_norms / sizeof *max_norms; j++)
            run_size(ns[i], max_norms[j], 1 + i * 3 + j);
    bench();
    return test_summary("test_gpu_adam");
}

#else
int main(void)
{
    printf("SKIP: this build has no CUDA backend\n");
    return 77;
}
#endif
