/* The CPU backend of the ops API against naive double-precision references on odd sizes:
 * matmul (gemm and the n == 1 gemv path, with and without bias), gather, add, rmsnorm, swiglu,
 * softmax, logit statistics, rope (plain, linear and llama3 scaling, checked against the formula and
 * against the inv_freq transformers recorded for the llama3 fixture), KV store and attention (GQA,
 * per-row slots and positions, garbage beyond each position, contexts longer than one key block),
 * plus the dispatch errors (CUDA tensors, wrong shapes, wrong dtypes). */
#include "test.h"

#include "core/device.h"
#include "ops.h"

#include <stdint.h>

static uint32_t lcg = 12345u;
static float frand(void) /* uniform in [-1, 1) */
{
    lcg = lcg * 1664525u + 1013904223u;
    return (float)((lcg >> 8) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}
static float *rand_buf(size_t n, float scale)
{
    float *p = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        p[i] = frand() * scale;
    return p;
}
static rlae_tensor t2(void *p, int64_t r, int64_t c)
{
    int64_t s[2] = {r, c};
    return rlae_tensor_view(p, RLAE_F32, RLAE_DEV_CPU, 2, s);
}
static rlae_tensor t1(void *p, int64_t n)
{
    return rlae_tensor_view(p, RLAE_F32, RLAE_DEV_CPU, 1, &n);
}
static rlae_tensor i1(int32_t *p, int64_t n)
{
    return rlae_tensor_view(p, RLAE_I32, RLAE_DEV_CPU, 1, &n);
}
/* max |a - b| / (1 + |b|) */
static double rel_err(const float *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(a[i] - b[i]) / (1.0 + fabs(b[i]));
        if (!(e <= m))
            m = isnan(e) ? INFINITY : e;
    }
    return m;
}

static void test_matmul(void)
{
    int cases[][3] = {{5, 37, 23}, {1, 37, 23}, {1, 129, 7}, {17, 3, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int n = cases[c][0], in = cases[c][1], out = cases[c][2];
        float *x = rand_buf((size_t)n * in, 1), *w = rand_buf((size_t)out * in, 1), *b = rand_buf(out, 1);
        float *y = malloc(sizeof(float) * n * out);
        double *ref = malloc(sizeof(double) * n * out);
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            for (int r = 0; r < n; r++)
                for (int o = 0; o < out; o++) {
                    double s = with_bias ? b[o] : 0.0;
                    for (int i = 0; i < in; i++)
                        s += (double)x[r * in + i] * w[o * in + i];
                    ref[r * out + o] = s;
                }
            rlae_tensor Y = t2(y, n, out), X = t2(x, n, in), W = t2(w, out, in), B = t1(b, out);
            CHECK(rlae_op_matmul(&Y, &X, &W, with_bias ? &B : NULL) == RLAE_OK);
            double e = rel_err(y, ref, (size_t)n * out);
            CHECK_MSG(e < 1e-5, "matmul %dx%dx%d bias %d: error %g", n, in, out, with_bias, e);
        }
        free(x), free(w), free(b), free(y), free(ref);
    }
    /* shape and device errors */
    float a[6] = {0}, bb[6] = {0}, cc[6] = {0};
    rlae_tensor Y = t2(a, 2, 3), X = t2(bb, 2, 3), W = t2(cc, 2, 3);
    CHECK(rlae_op_matmul(&Y, &X, &W, NULL) == RLAE_ERR_RUNTIME); /* y must be [2, 2] */
    rlae_tensor Xc = X;
    Xc.device = RLAE_DEV_CUDA;
    rlae_tensor Yc = t2(a, 2, 2), Wc = W;
    Yc.device = Wc.device = RLAE_DEV_CUDA;
    if (rlae_device_gpu_count() == 0) { /* with a GPU these host arrays would reach cuBLAS */
        CHECK(rlae_op_matmul(&Yc, &Xc, &Wc, NULL) == RLAE_ERR_UNSUPPORTED);
        CHECK(strstr(rlae_last_error(), "matmul") != NULL);
    }
    Yc.device = RLAE_DEV_CPU;
    CHECK(rlae_op_matmul(&Yc, &Xc, &W, NULL) == RLAE_ERR_RUNTIME); /* mixed devices */
    rlae_tensor Xh = X;
    Xh.dtype = RLAE_BF16;
    CHECK(rlae_op_matmul(&Y, &Xh, &W, NULL) == RLAE_ERR_UNSUPPORTED);
}

/* matmul_acc on the CPU is matmul into the scratch then add, bit for bit; matmul_n is the single
 * matmuls; wrong scratch sizes are refused. */
static void test_matmul_fused(void)
{
    int n = 3, in = 37, outs[3] = {23, 5, 9};
    float *x = rand_buf((size_t)n * in, 1), *y0 = rand_buf((size_t)n * 23, 1);
    float *w[3], *b[3], *ya = malloc(sizeof(float) * n * 23), *yr = malloc(sizeof(float) * n * 23);
    float *sc = malloc(sizeof(float) * n * 23), *p = malloc(sizeof(float) * n * 23);
    for (int i = 0; i < 3; i++)
        w[i] = rand_buf((size_t)outs[i] * in, 1), b[i] = rand_buf(outs[i], 1);
    memcpy(ya, y0, sizeof(float) * n * 23);
    memcpy(yr, y0, sizeof(float) * n * 23);
    rlae_tensor X = t2(x, n, in), W0 = t2(w[0], 23, in), Ya = t2(ya, n, 23), Yr = t2(yr, n, 23);
    rlae_tensor S = t2(sc, n, 23), P = t2(p, n, 23);
    CHECK(rlae_op_matmul_acc(&Ya, &X, &W0, &S) == RLAE_OK);
    CHECK(rlae_op_matmul(&P, &X, &W0, NULL) == RLAE_OK);
    CHECK(rlae_op_add(&Yr, &P) == RLAE_OK);
    CHECK_MSG(memcmp(ya, yr, sizeof(float) * n * 23) == 0, "matmul_acc differs from matmul + add");
    rlae_tensor Sbad = t2(sc, n, 22);
    CHECK(rlae_op_matmul_acc(&Ya, &X, &W0, &Sbad) == RLAE_ERR_RUNTIME);
    CHECK(rlae_op_matmul_acc(&Ya, &X, &W0, NULL) == RLAE_ERR_RUNTIME);

    float *yn[3], *ys[3];
    rlae_tensor Yn[3], Ys[3], Wt[3], Bt[3];
    for (int i = 0; i < 3; i++) {
        yn[i] = malloc(sizeof(float) * n * outs[i]), ys[i] = malloc(sizeof(float) * n * outs[i]);
        Yn[i] = t2(yn[i], n, outs[i]), Ys[i] = t2(ys[i], n, outs[i]);
        Wt[i] = t2(w[i], outs[i], in), Bt[i] = t1(b[i], outs[i]);
    }
    rlae_tensor *yp[3] = {&Yn[0], &Yn[1], &Yn[2]};
    const rlae_tensor *wp[3] = {&Wt[0], &Wt[1], &Wt[2]}, *bp[3] = {&Bt[0], NULL, &Bt[2]};
    CHECK(rlae_op_matmul_n(3, yp, &X, wp, bp) == RLAE_OK);
    for (int i = 0; i < 3; i++) {
        CHECK(rlae_op_matmul(&Ys[i], &X, &Wt[i], bp[i]) == RLAE_OK);
        CHECK_MSG(memcmp(yn[i], ys[i], sizeof(float) * n * outs[i]) == 0, "matmul_n product %d differs", i);
        free(yn[i]), free(ys[i]), free(w[i]), free(b[i]);
    }
    CHECK(rlae_op_matmul_n(4, yp, &X, wp, bp) == RLAE_ERR_RUNTIME);
    free(x), free(y0), free(ya), free(yr), free(sc), free(p);
}

static void test_elementwise(void)
{
    enum { R = 3, D = 67 };
    float *x = rand_buf(R * D, 3), *w = rand_buf(D, 1), *y = malloc(sizeof(float) * R * D);
    double ref[R * D];
    /* rmsnorm */
    for (int r = 0; r < R; r++) {
        double ss = 0;
        for (int j = 0; j < D; j++)
            ss += (double)x[r * D + j] * x[r * D + j];
        double inv = 1.0 / sqrt(ss / D + 1e-5);
        for (int j = 0; j < D; j++)
            ref[r * D + j] = x[r * D + j] * inv * w[j];
    }
    rlae_tensor Y = t2(y, R, D), X = t2(x, R, D), W = t1(w, D);
    CHECK(rlae_op_rmsnorm(&Y, &X, &W, 1e-5f) == RLAE_OK);
    CHECK_MSG(rel_err(y, ref, R * D) < 1e-5, "rmsnorm error %g", rel_err(y, ref, R * D));
    rlae_tensor W2 = t1(w, D - 1);
    CHECK(rlae_op_rmsnorm(&Y, &X, &W2, 1e-5f) != RLAE_OK);
    /* swiglu, in place on the gate */
    float *g = rand_buf(R * D, 4), *u = rand_buf(R * D, 2);
    for (int i = 0; i < R * D; i++)
        ref[i] = g[i] / (1.0 + exp(-(double)g[i])) * u[i];
    rlae_tensor G = t2(g, R, D), U = t2(u, R, D);
    CHECK(rlae_op_swiglu(&G, &G, &U) == RLAE_OK);
    CHECK_MSG(rel_err(g, ref, R * D) < 1e-5, "swiglu error %g", rel_err(g, ref, R * D));
    /* add */
    for (int i = 0; i < R * D; i++)
        ref[i] = (double)y[i] + x[i];
    CHECK(rlae_op_add(&Y, &X) == RLAE_OK);
    CHECK(rel_err(y, ref, R * D) < 1e-6);
    /* gather rows: embedding lookup, and an out-of-range id is bad input */
    int32_t ids[4] = {2, 0, 2, 1};
    float out[4 * D];
    rlae_tensor O = t2(out, 4, D), I = i1(ids, 4);
    CHECK(rlae_op_gather_rows(&O, &X, &I) == RLAE_OK);
    CHECK(memcmp(out + D, x, sizeof(float) * D) == 0 && memcmp(out + 2 * D, x + 2 * D, sizeof(float) * D) == 0);
    ids[3] = 3;
    CHECK(rlae_op_gather_rows(&O, &X, &I) == RLAE_ERR_INPUT);
    ids[3] = -1;
    CHECK(rlae_op_gather_rows(&O, &X, &I) == RLAE_ERR_INPUT);
    free(x), free(w), free(y), free(g), free(u);
}

static void test_softmax_stats(void)
{
    enum { R = 3, D = 1001 };
    float *x = rand_buf(R * D, 8), *p = malloc(sizeof(float) * R * D);
    x[5] = 40.0f; /* a dominant logit: exp would overflow without the max shift */
    double ref[R * D];
    float T = 0.7f;
    float mx[R], lse[R], ent[R];
    for (int r = 0; r < R; r++) {
        double m = -INFINITY, s = 0, st = 0;
        for (int i = 0; i < D; i++)
            m = fmax(m, x[r * D + i]);
        for (int i = 0; i < D; i++) {
            s += exp(x[r * D + i] - m);
            st += exp((x[r * D + i] - m) / T);
        }
        double l = m + log(s), h = 0;
        for (int i = 0; i < D; i++) {
            double q = exp(x[r * D + i] - l);
            h -= q > 0 ? q * log(q) : 0;
            ref[r * D + i] = exp((x[r * D + i] - m) / T) / st;
        }
        mx[r] = (float)m, lse[r] = (float)l, ent[r] = (float)h;
    }
    rlae_tensor P = t2(p, R, D), X = t2(x, R, D);
    CHECK(rlae_op_softmax(&P, &X, T) == RLAE_OK);
    CHECK_MSG(rel_err(p, ref, R * D) < 1e-6, "softmax error %g", rel_err(p, ref, R * D));
    CHECK(rlae_op_softmax(&P, &X, 0.0f) == RLAE_ERR_INPUT);
    float gm[R], gl[R], ge[R];
    rlae_tensor M = t1(gm, R), L = t1(gl, R), E = t1(ge, R);
    CHECK(rlae_op_logit_stats(&X, &M, &L, &E) == RLAE_OK);
    for (int r = 0; r < R; r++) {
        CHECK_NEAR(gm[r], mx[r], 0);
        CHECK_NEAR(gl[r], lse[r], 1e-5 * (1 + fabs(lse[r])));
        CHECK_NEAR(ge[r], ent[r], 1e-5);
    }
    CHECK(rlae_op_logit_stats(&X, NULL, &L, NULL) == RLAE_OK);
    /* a uniform row has entropy log(D) */
    for (int i = 0; i < D; i++)
        x[i] = 0.25f;
    CHECK(rlae_op_logit_stats(&X, &M, &L, &E) == RLAE_OK);
    CHECK_NEAR(ge[0], log((double)D), 1e-5);
    free(x), free(p);
}

/* inv_freq in double from the formulas, for comparison */
static double ref_inv_freq(const rlae_rope_params *p, int i)
{
    double f = 1.0 / pow(p->theta, 2.0 * i / p->head_dim);
    if (p->scaling == RLAE_ROPE_SCALE_LINEAR)
        return f / p->factor;
    if (p->scaling == RLAE_ROPE_SCALE_LLAMA3) {
        double wl = 2 * M_PI / f, lo = p->original_max_pos / p->low_freq_factor,
               hi = p->original_max_pos / p->high_freq_factor;
        if (wl < hi)
            return f;
        if (wl > lo)
            return f / p->factor;
        double sm = (p->original_max_pos / wl - p->low_freq_factor) / (p->high_freq_factor - p->low_freq_factor);
        return (1 - sm) * f / p->factor + sm * f;
    }
    return f;
}

static void test_rope(void)
{
    enum { N = 4, H = 3, HD = 14 };
    rlae_rope_params ps[3] = {
        {HD, 10000.0f, RLAE_ROPE_SCALE_NONE, 0, 0, 0, 0},
        {HD, 10000.0f, RLAE_ROPE_SCALE_LINEAR, 4.0f, 0, 0, 0},
        {HD, 500000.0f, RLAE_ROPE_SCALE_LLAMA3, 8.0f, 1.0f, 4.0f, 64},
    };
    int32_t pos[N] = {0, 5, 1000, 77};
    for (int c = 0; c < 3; c++) {
        float inv[HD / 2];
        rlae_rope_inv_freq(&ps[c], inv);
        for (int i = 0; i < HD / 2; i++) {
            double r = ref_inv_freq(&ps[c], i);
            CHECK_MSG(fabs(inv[i] - r) <= 1e-6 * r, "case %d inv_freq[%d] = %g, formula %g", c, i, inv[i], r);
        }
        float *x = rand_buf(N * H * HD, 1);
        double ref[N * H * HD];
        for (int r = 0; r < N; r++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < HD / 2; i++) {
                    double a = pos[r] * ref_inv_freq(&ps[c], i);
                    double x0 = x[(r * H + h) * HD + i], x1 = x[(r * H + h) * HD + i + HD / 2];
                    ref[(r * H + h) * HD + i] = x0 * cos(a) - x1 * sin(a);
                    ref[(r * H + h) * HD + i + HD / 2] = x1 * cos(a) + x0 * sin(a);
                }
        rlae_tensor X = t2(x, N, H * HD), P = i1(pos, N);
        CHECK(rlae_op_rope(&X, &P, H, &ps[c]) == RLAE_OK);
        /* fp32 angles at position 1000 carry ~1e-4 of rounding, as in transformers */
        CHECK_MSG(rel_err(x, ref, N * H * HD) < 3e-4, "rope case %d error %g", c, rel_err(x, ref, N * H * HD));
        free(x);
    }
    /* The inv_freq transformers 4.46.3 computed for tests/fixtures/models/llama3 (reference.json). */
    static const double hf[8] = {1.0, 0.0794030091792082, 0.004700753866357992, 0.0009115830921521386,
                                 0.00017677669529663688, 3.428102195952591e-05, 6.647869871181236e-06,
                                 1.2891731721515574e-06};
    rlae_rope_params l3 = {16, 500000.0f, RLAE_ROPE_SCALE_LLAMA3, 8.0f, 1.0f, 4.0f, 64};
    float inv[8];
    rlae_rope_inv_freq(&l3, inv);
    for (int i = 0; i < 8; i++)
        CHECK_MSG(fabs(inv[i] - hf[i]) <= 1e-6 * hf[i], "llama3 inv_freq[%d] = %.9g, transformers %.9g", i, inv[i],
                  hf[i]);
    rlae_rope_params odd = {15, 10000.0f, RLAE_ROPE_SCALE_NONE, 0, 0, 0, 0};
    float y[15];
    int32_t p0 = 0;
    rlae_tensor Y = t2(y, 1, 15), P0 = i1(&p0, 1);
    CHECK(rlae_op_rope(&Y, &P0, 1, &odd) == RLAE_ERR_UNSUPPORTED);
}

/* Naive attention in double over cache rows 0..pos[r] of slot[r]. */
static void ref_attention(double *out, const float *q, const float *kc, const float *vc, const int32_t *slot,
                          const int32_t *pos, int n, int cap, int H, int KVH, int HD)
{
    int grp = H / KVH, kvd = KVH * HD;
    double *sc = malloc(sizeof(double) * cap);
    for (int r = 0; r < n; r++)
        for (int h = 0; h < H; h++) {
            const float *qh = q + (size_t)r * H * HD + h * HD;
            double m = -INFINITY, s = 0;
            for (int t = 0; t <= pos[r]; t++) {
                const float *k = kc + ((size_t)slot[r] * cap + t) * kvd + (h / grp) * HD;
                double d = 0;
                for (int i = 0; i < HD; i++)
                    d += (double)qh[i] * k[i];
                sc[t] = d / sqrt(HD);
                m = fmax(m, sc[t]);
            }
            for (int t = 0; t <= pos[r]; t++)
                s += (sc[t] = exp(sc[t] - m));
            for (int i = 0; i < HD; i++) {
                double acc = 0;
                for (int t = 0; t <= pos[r]; t++)
                    acc += sc[t] / s * vc[((size_t)slot[r] * cap + t) * kvd + (h / grp) * HD + i];
                out[(size_t)r * H * HD + h * HD + i] = acc;
            }
        }
    free(sc);
}

static void test_attention(void)
{
    enum { SLOTS = 3, CAP = 150, H = 6, KVH = 2, HD = 10, N = 7 };
    int kvd = KVH * HD;
    /* caches hold garbage everywhere; kv_store writes the rows each query may see */
    float *kc = rand_buf((size_t)SLOTS * CAP * kvd, 1000), *vc = rand_buf((size_t)SLOTS * CAP * kvd, 1000);
    int32_t slot[N] = {0, 0, 0, 2, 1, 2, 1}, pos[N] = {0, 1, 2, 149, 0, 63, 64};
    int len[SLOTS] = {3, 65, 150};
    int total = len[0] + len[1] + len[2];
    int32_t *ss = malloc(sizeof(int32_t) * total), *pp = malloc(sizeof(int32_t) * total);
    int k = 0;
    for (int s = 0; s < SLOTS; s++)
        for (int t = 0; t < len[s]; t++)
            ss[k] = s, pp[k] = t, k++;
    float *krows = rand_buf((size_t)total * kvd, 2), *vrows = rand_buf((size_t)total * kvd, 1);
    int64_t cshape[3] = {SLOTS, CAP, kvd};
    rlae_tensor K = rlae_tensor_view(kc, RLAE_F32, RLAE_DEV_CPU, 3, cshape);
    rlae_tensor V = rlae_tensor_view(vc, RLAE_F32, RLAE_DEV_CPU, 3, cshape);
    rlae_tensor KR = t2(krows, total, kvd), VR = t2(vrows, total, kvd), SS = i1(ss, total), PP = i1(pp, total);
    CHECK(rlae_op_kv_store(&K, &KR, &SS, &PP) == RLAE_OK);
    CHECK(rlae_op_kv_store(&V, &VR, &SS, &PP) == RLAE_OK);
    CHECK(memcmp(kc + ((size_t)2 * CAP + 7) * kvd, krows + (size_t)(len[0] + len[1] + 7) * kvd,
                 sizeof(float) * kvd) == 0);
    /* a query must not see rows beyond its position: poison them in slot 0 */
    for (int i = 0; i < kvd; i++)
        kc[3 * kvd + i] = 1e30f, vc[3 * kvd + i] = NAN;
    float *q = rand_buf((size_t)N * H * HD, 2), *out = malloc(sizeof(float) * N * H * HD);
    double ref[N * H * HD];
    ref_attention(ref, q, kc, vc, slot, pos, N, CAP, H, KVH, HD);
    rlae_tensor Q = t2(q, N, H * HD), O = t2(out, N, H * HD), S = i1(slot, N), P = i1(pos, N);
    CHECK(rlae_op_attention(&O, &Q, &K, &V, &S, &P, H, KVH) == RLAE_OK);
    double e = rel_err(out, ref, (size_t)N * H * HD);
    CHECK_MSG(e < 1e-5, "attention error %g", e);
    /* a query at position 0 returns exactly its own value row */
    CHECK_NEAR(out[0], vc[0], 1e-6);
    /* bad requests */
    pos[0] = CAP;
    CHECK(rlae_op_attention(&O, &Q, &K, &V, &S, &P, H, KVH) == RLAE_ERR_RUNTIME);
    pos[0] = 0;
    slot[0] = SLOTS;
    CHECK(rlae_op_attention(&O, &Q, &K, &V, &S, &P, H, KVH) == RLAE_ERR_RUNTIME);
    slot[0] = 0;
    CHECK(rlae_op_attention(&O, &Q, &K, &V, &S, &P, 5, KVH) != RLAE_OK); /* 5 heads, 2 kv heads */
    CHECK(rlae_op_attention(&Q, &Q, &K, &V, &S, &P, H, KVH) == RLAE_ERR_RUNTIME); /* aliasing */
    free(kc), free(vc), free(ss), free(pp), free(krows), free(vrows), free(q), free(out);
}

static void test_memory(void)
{
    rlae_tensor t;
    int64_t s[2] = {3, 5};
    CHECK(rlae_ops_tensor_alloc(&t, RLAE_F32, RLAE_DEV_CPU, 2, s) == RLAE_OK);
    CHECK(t.owned && ((float *)t.data)[14] == 0.0f);
    float src[15];
    for (int i = 0; i < 15; i++)
        src[i] = (float)i;
    rlae_tensor S = t2(src, 3, 5);
    CHECK(rlae_op_copy(&t, &S) == RLAE_OK);
    CHECK(((float *)t.data)[14] == 14.0f);
    rlae_ops_tensor_free(&t);
    CHECK(t.data == NULL);
    rlae_tensor c;
    if (rlae_device_gpu_count() == 0) /* no GPU (or no CUDA build): a CUDA tensor is a clear error */
        CHECK(rlae_ops_tensor_alloc(&c, RLAE_F32, RLAE_DEV_CUDA, 2, s) == RLAE_ERR_UNSUPPORTED);
}

int main(void)
{
    test_matmul();
    test_matmul_fused();
    test_elementwise();
    test_softmax_stats();
    test_rope();
    test_attention();
    test_memory();
    return test_summary("test_ops_cpu");
}
