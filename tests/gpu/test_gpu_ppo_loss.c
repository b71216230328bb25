/* cuda/ppo_loss.cu against the CPU reference (algorithms/ppo_loss.h, float entry points) over odd
 * sizes: n in {1, 7, 257, 4099}, K in {2, 3, 5}, both policy families (Normal with all agents active
 * and with a random 80% mask), value loss MSE / Huber(1), each with and without value clipping.
 * Ratios, value offsets and Huber errors are drawn away from the clip / Huber kinks (1e-2 margin),
 * where fp32 and the CPU's double arithmetic could pick different branches.
 * Tolerances: each gradient element |gpu - cpu| <= 1e-5 (|cpu| + rms(cpu array)) (relative 1e-5;
 * the rms term covers elements that are sums of nearly cancelling parts); each metric
 * |gpu - cpu| <= 1e-5 (|cpu| + 1); n_terms exactly. A second run must be bit-identical (the
 * device reductions are fixed-order). Then a short benchmark (time per call, achieved GB/s; launch.h
 * does not report the device's peak bandwidth). Skips (77) in a CPU-only build or without a GPU. */
#include "algorithms/dirichlet.h"
#include "algorithms/normal.h"
#include "algorithms/ppo_loss.h"
#include "core/rng.h"
#include "test.h"

#ifdef RLAE_HAVE_CUDA
#include "cuda/launch.h"

#include <stdint.h>
#include <time.h>

#define TOL 1e-5

typedef struct {
    int n, K, normal;
    float *head, *mu, *log_std, *action, *logp_old, *adv, *value, *value_old, *ret;
    unsigned char *active; /* NULL: all active */
} hcase;

/* A value away from the kinks at +-c: redrawn while within `margin` of either. */
static double away(rlae_rng *r, double scale, double c, double margin)
{
    double x;
    do
        x = scale * rlae_rng_normal(r);
    while (fabs(fabs(x) - c) < margin);
    return x;
}

/* A ratio offset d (r = 1 + d) away from the clip and from r <= 0.2. */
static double ratio_offset(rlae_rng *r, double clip)
{
    double d;
    do
        d = away(r, 0.25, clip, 1e-2);
    while (d <= -0.8);
    return d;
}

static float *falloc(size_t n) { return malloc((n ? n : 1) * sizeof(float)); }

static hcase make_case(int n, int K, int normal, int masked, const rlae_ppo_params *p, uint64_t seed)
{
    rlae_rng r;
    rlae_rng_init(&r, seed, (uint32_t)n, (uint32_t)K, (uint32_t)normal);
    size_t nk = (size_t)n * K;
    hcase c = {n, K, normal, NULL, NULL, NULL, falloc(nk), falloc(normal ? nk : (size_t)n), falloc(n),
               falloc(n), falloc(n), falloc(n), NULL};
    if (normal) {
        c.mu = falloc(nk);
        c.log_std = falloc(nk);
        if (masked) {
            c.active = malloc(nk);
            for (size_t j = 0; j < nk; j++)
                c.active[j] = rlae_rng_uniform(&r) < 0.8f;
        }
        for (size_t j = 0; j < nk; j++) {
            c.mu[j] = (float)rlae_rng_normal(&r);
            c.log_std[j] = (float)(-1.0 + 1.5 * rlae_rng_uniform(&r));
            c.action[j] = (float)(c.mu[j] + exp(c.log_std[j]) * rlae_rng_normal(&r));
            double lp = rlae_normal_log_prob(c.mu + j, c.log_std + j, c.action + j, 1);
            /* log ratio: r = 1 + d with |d| away from the clip */
            c.logp_old[j] = (float)(lp - log1p(ratio_offset(&r, p->clip)));
        }
    } else {
        c.head = falloc(nk);
        float alpha[RLAE_PPO_MAX_K];
        for (int i = 0; i < n; i++) {
            float *x = c.head + (size_t)i * K, *w = c.action + (size_t)i * K;
            double s = 0.0;
            for (int k = 0; k < K; k++) {
                x[k] = (float)(1.5 * rlae_rng_normal(&r));
                w[k] = (float)(0.01 + rlae_rng_uniform(&r));
                s += w[k];
            }
            for (int k = 0; k < K; k++)
                w[k] = (float)(w[k] / s);
            rlae_dirichlet_head(x, K, p->alpha_min, alpha);
            double lp = rlae_dirichlet_log_prob(alpha, w, K);
            c.logp_old[i] = (float)(lp - log1p(ratio_offset(&r, p->clip)));
        }
    }
    for (int i = 0; i < n; i++) {
        c.adv[i] = (float)rlae_rng_normal(&r);
        c.value[i] = (float)rlae_rng_normal(&r);
        c.value_old[i] = (float)(c.value[i] - away(&r, 0.3, p->value_clip, 1e-2));
        c.ret[i] = (float)(c.value[i] + away(&r, 1.5, p->huber_delta, 1e-2));
    }
    return c;
}

static void free_case(hcase *c)
{
    float *fs[] = {c->head, c->mu, c->log_std, c->action, c->logp_old, c->adv, c->value, c->value_old, c->ret};
    for (size_t i = 0; i < sizeof fs / sizeof *fs; i++)
        free(fs[i]);
    free(c->active);
}

static void *up(const void *h, size_t bytes)
{
    void *d = NULL;
    if (!h)
        return NULL;
    CHECK(rlae_cuda_malloc(&d, bytes) == RLAE_OK);
    CHECK(rlae_cuda_memcpy_h2d(d, h, bytes, NULL) == RLAE_OK);
    return d;
}

static void *dalloc(size_t bytes)
{
    void *d = NULL;
    CHECK(rlae_cuda_malloc(&d, bytes) == RLAE_OK);
    return d;
}

/* Device copies of a case plus outputs and scratch. */
static rlae_cuda_ppo_args upload(const hcase *c)
{
    size_t nk = (size_t)c->n * c->K, f = sizeof(float);
    rlae_cuda_ppo_args a;
    memset(&a, 0, sizeof a);
    a.n = c->n;
    a.K = c->K;
    a.head = up(c->head, nk * f);
    a.mu = up(c->mu, nk * f);
    a.log_std = up(c->log_std, nk * f);
    a.action = up(c->action, nk * f);
    a.logp_old = up(c->logp_old, (c->normal ? nk : (size_t)c->n) * f);
    a.active = up(c->active, nk);
    a.adv = up(c->adv, c->n * f);
    a.value = up(c->value, c->n * f);
    a.value_old = up(c->value_old, c->n * f);
    a.ret = up(c->ret, c->n * f);
    if (c->normal) {
        a.d_mu = dalloc(nk * f);
        a.d_log_std = dalloc(nk * f);
    } else
        a.d_head = dalloc(nk * f);
    a.d_value = dalloc(c->n * f);
    a.metrics = dalloc(RLAE_CUDA_PPO_METRICS * sizeof(double));
    a.scratch = dalloc(rlae_cuda_ppo_scratch_doubles(c->n) * sizeof(double));
    return a;
}

static void release(rlae_cuda_ppo_args *a)
{
    const void *ps[] = {a->head, a->mu, a->log_std, a->action, a->logp_old, a->active, a->adv, a->value,
                        a->value_old, a->ret, a->d_head, a->d_mu, a->d_log_std, a->d_value, a->metrics, a->scratch};
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++)
        rlae_cuda_free((void *)ps[i]);
}

static rlae_status run_gpu(const rlae_ppo_params *p, const hcase *c, const rlae_cuda_ppo_args *a, rlae_cuda_stream s)
{
    return c->normal ? rlae_cuda_ppo_loss_normal(p, a, s) : rlae_cuda_ppo_loss_dirichlet(p, a, s);
}

/* Gradient arrays of one kind: cpu vs gpu, the criterion of the header. */
static void compare_grads(const char *what, const float *cpu, const float *gpu, size_t n, const char *label)
{
    double ss = 0.0;
    for (size_t i = 0; i < n; i++)
        ss += (double)cpu[i] * cpu[i];
    double rms = sqrt(ss / (double)n);
    size_t bad = 0, first = 0;
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)gpu[i] - cpu[i]) / (fabs(cpu[i]) + rms + 1e-30);
        if (!(e <= TOL)) {
            if (!bad)
                first = i;
            bad++;
        }
        if (e > worst || e != e)
            worst = e;
    }
    CHECK_MSG(bad == 0, "%s %s: %zu of %zu elements off (first %zu: cpu %.9g gpu %.9g), worst %.3g", label, what, bad,
              n, first, (double)cpu[first], (double)gpu[first], worst);
}

static void check_case(const rlae_ppo_params *p, const hcase *c, const char *label)
{
    size_t nk = (size_t)c->n * c->K, f = sizeof(float);
    float *dh = falloc(nk), *dmu = falloc(nk), *dls = falloc(nk), *dv = falloc(c->n);
    rlae_ppo_batch b = {c->n, c->K, c->head, c->mu, c->log_std, c->action, c->logp_old, c->active, c->adv, c->value,
                        c->value_old, c->ret};
    rlae_ppo_grads g = {dh, dmu, dls, dv};
    rlae_ppo_metrics m;
    if (c->normal)
        rlae_ppo_loss_normal(p, &b, &g, &m);
    else
        rlae_ppo_loss_dirichlet(p, &b, &g, &m);

    rlae_cuda_ppo_args a = upload(c);
    rlae_status s = run_gpu(p, c, &a, NULL);
    CHECK_MSG(s == RLAE_OK, "%s: %s", label, rlae_last_error());
    float *gh = falloc(nk), *gmu = falloc(nk), *gls = falloc(nk), *gv = falloc(c->n);
    float *gh2 = falloc(nk), *gmu2 = falloc(nk), *gls2 = falloc(nk), *gv2 = falloc(c->n);
    double gm[RLAE_CUDA_PPO_METRICS], gm2[RLAE_CUDA_PPO_METRICS];
    for (int pass = 0; pass < 2 && s == RLAE_OK; pass++) {
        if (pass)
            CHECK(run_gpu(p, c, &a, NULL) == RLAE_OK);
        float *oh = pass ? gh2 : gh, *omu = pass ? gmu2 : gmu, *ols = pass ? gls2 : gls, *ov = pass ? gv2 : gv;
        if (c->normal) {
            CHECK(rlae_cuda_memcpy_d2h(omu, a.d_mu, nk * f, NULL) == RLAE_OK);
            CHECK(rlae_cuda_memcpy_d2h(ols, a.d_log_std, nk * f, NULL) == RLAE_OK);
        } else
            CHECK(rlae_cuda_memcpy_d2h(oh, a.d_head, nk * f, NULL) == RLAE_OK);
        CHECK(rlae_cuda_memcpy_d2h(ov, a.d_value, c->n * f, NULL) == RLAE_OK);
        CHECK(rlae_cuda_memcpy_d2h(pass ? gm2 : gm, a.metrics, sizeof gm, NULL) == RLAE_OK);
    }
    if (s == RLAE_OK) {
        if (c->normal) {
            compare_grads("d_mu", dmu, gmu, nk, label);
            compare_grads("d_log_std", dls, gls, nk, label);
            CHECK_MSG(!memcmp(gmu, gmu2, nk * f) && !memcmp(gls, gls2, nk * f), "%s: reruns differ", label);
        } else {
            compare_grads("d_head", dh, gh, nk, label);
            CHECK_MSG(!memcmp(gh, gh2, nk * f), "%s: reruns differ", label);
        }
        compare_grads("d_value", dv, gv, c->n, label);
        CHECK_MSG(!memcmp(gv, gv2, c->n * f) && !memcmp(gm, gm2, sizeof gm), "%s: reruns differ", label);
        const double want[] = {m.loss, m.pg_loss, m.v_loss, m.entropy, m.approx_kl, m.clipfrac};
        static const char *names[] = {"loss", "pg_loss", "v_loss", "entropy", "approx_kl", "clipfrac"};
        for (int j = 0; j < 6; j++)
            CHECK_MSG(fabs(gm[j] - want[j]) <= TOL * (fabs(want[j]) + 1.0), "%s %s: cpu %.9g gpu %.9g", label,
                      names[j], want[j], gm[j]);
        CHECK_MSG(gm[RLAE_CUDA_PPO_M_TERMS] == (double)m.n_terms, "%s n_terms: cpu %ld gpu %.0f", label, m.n_terms,
                  gm[RLAE_CUDA_PPO_M_TERMS]);
    }
    release(&a);
    float *fs[] = {dh, dmu, dls, dv, gh, gmu, gls, gv, gh2, gmu2, gls2, gv2};
    for (size_t i = 0; i < sizeof fs / sizeof *fs; i++)
        free(fs[i]);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void bench(int normal)
{
    const int n = 1 << 20, K = 5, reps = 20;
    rlae_ppo_params p = normal ? rlae_mappo_params_default() : rlae_ppo_params_default();
    hcase c = make_case(n, K, normal, normal, &p, 7);
    rlae_cuda_ppo_args a = upload(&c);
    rlae_cuda_stream s = NULL;
    CHECK(rlae_cuda_stream_create(&s) == RLAE_OK);
    CHECK(run_gpu(&p, &c, &a, s) == RLAE_OK); /* warm-up */
    CHECK(rlae_cuda_stream_sync(s) == RLAE_OK);
    double t0 = now_s();
    for (int i = 0; i < reps; i++)
        CHECK(run_gpu(&p, &c, &a, s) == RLAE_OK);
    CHECK(rlae_cuda_stream_sync(s) == RLAE_OK);
    double per = (now_s() - t0) / reps;
    size_t nk = (size_t)n * K;
    /* bytes moved: Dirichlet reads head, w (nK), logp_old, adv, v, v_old, R (n), writes d_head, d_value;
     * Normal reads mu, log_std, z, logp_old (nK floats), active (nK bytes, twice), adv, v, v_old, R,
     * writes d_mu, d_log_std, d_value */
    double bytes = normal ? (nk * (4.0 * 4 + 2) + n * 16.0 + nk * 8.0 + n * 4.0)
                          : (nk * 8.0 + n * 20.0 + nk * 4.0 + n * 4.0);
    printf("bench %s: n %d K %d: %.1f us per call, %.1f GB/s achieved\n", normal ? "normal (MAPPO)" : "dirichlet (PPO)",
           n, K, per * 1e6, bytes / per / 1e9);
    CHECK(rlae_cuda_stream_destroy(s) == RLAE_OK);
    release(&a);
    free_case(&c);
}

int main(void)
{
    int ndev = 0;
    if (rlae_cuda_device_count(&ndev) != RLAE_OK || ndev == 0) {
        printf("SKIP: no GPU (%s)\n", rlae_last_error());
        return 77;
    }
    static const int ns[] = {1, 7, 257, 4099}, ks[] = {2, 3, 5};
    int cases = 0;
    for (int ni = 0; ni < 4; ni++)
        for (int ki = 0; ki < 3; ki++)
            for (int fam = 0; fam < 3; fam++) /* Dirichlet, Normal all active, Normal masked */
                for (int vl = 0; vl < 4; vl++) {
                    rlae_ppo_params p = rlae_ppo_params_default();
                    p.value_loss = vl & 1 ? RLAE_VALUE_LOSS_HUBER : RLAE_VALUE_LOSS_MSE;
                    p.huber_delta = 1.0;
                    p.clip_value = (vl & 2) != 0;
                    hcase c = make_case(ns[ni], ks[ki], fam > 0, fam == 2, &p, (uint64_t)(cases + 1));
                    char label[128];
                    snprintf(label, sizeof label, "%s n %d K %d %s%s",
                             fam == 0 ? "dirichlet" : fam == 1 ? "normal" : "normal-masked", ns[ni], ks[ki],
                             vl & 1 ? "huber" : "mse", vl & 2 ? " clipped" : "");
                    check_case(&p, &c, label);
                    free_case(&c);
                    cases++;
                }
    printf("%d cases compared\n", cases);
    bench(0);
    bench(1);
    return test_summary("test_gpu_ppo_loss");
}

#else
int main(void)
{
    printf("SKIP: this build has no CUDA backend\n");
    return 77;
}
#endif
