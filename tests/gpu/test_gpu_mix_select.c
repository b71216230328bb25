/* mix_select's CUDA kernels against the CPU reference over odd sizes: B in {1, 3, 17, 64}, union
 * sizes that are not multiples of the block size (up to 151936), K = 2..4 members with different
 * vocabularies and random many-to-one maps; greedy tokens must match exactly, sampled tokens except
 * where the draw lies within 1e-5 of a cumulative boundary (counted and reported), UniTE and gated
 * greedy exactly; member_prob / top1 / entropy / mixed_prob within 1e-5 relative. Skips (77) in a
 * CPU-only build or when no GPU is visible. */
#include "core/rng.h"
#include "ensemble/mix_select.h"
#include "test.h"

#ifdef RLAE_HAVE_CUDA
#include "cuda/launch.h"

#include <stdint.h>

typedef struct {
    int k, u, b;
    int v[4];
    float *logits[4];
    int32_t *maps[4];
    float *w;
    int32_t *ep, *st;
} host_case;

typedef struct {
    int32_t *tok, *am;
    float *mixed, *mprob, *top1, *ent;
} results;

static void *dev_copy(const void *h, size_t n)
{
    void *d = NULL;
    CHECK(rlae_cuda_malloc(&d, n) == RLAE_OK);
    if (h)
        CHECK(rlae_cuda_memcpy_h2d(d, h, n, NULL) == RLAE_OK);
    return d;
}

/* Runs the step on `dev`, results copied into r (host). */
static rlae_status run_on(rlae_device dev, const host_case *c, const rlae_mix_params *p, results *r)
{
    int kb = c->b * c->k;
    void *lgd[4], *mpd[4];
    rlae_tensor lg[4], mp[4];
    for (int k = 0; k < c->k; k++) {
        size_t nl = (size_t)c->b * c->v[k] * sizeof(float), nm = (size_t)c->v[k] * sizeof(int32_t);
        lgd[k] = dev == RLAE_DEV_CPU ? (void *)c->logits[k] : dev_copy(c->logits[k], nl);
        mpd[k] = dev == RLAE_DEV_CPU ? (void *)c->maps[k] : dev_copy(c->maps[k], nm);
        lg[k] = rlae_tensor_view(lgd[k], RLAE_F32, dev, 2, (int64_t[]){c->b, c->v[k]});
        mp[k] = rlae_tensor_view(mpd[k], RLAE_I32, dev, 1, (int64_t[]){c->v[k]});
    }
    size_t bb = (size_t)c->b * 4, bk = (size_t)kb * 4;
    void *wd = dev == RLAE_DEV_CPU ? (void *)c->w : dev_copy(c->w, bk);
    void *epd = dev == RLAE_DEV_CPU ? (void *)c->ep : dev_copy(c->ep, bb);
    void *std_ = dev == RLAE_DEV_CPU ? (void *)c->st : dev_copy(c->st, bb);
    void *outs[6];
    size_t sizes[6] = {bb, bb, bk, bk, bk, bk};
    void *hosts[6] = {r->tok, r->mixed, r->mprob, r->top1, r->am, r->ent};
    for (int i = 0; i < 6; i++)
        outs[i] = dev == RLAE_DEV_CPU ? hosts[i] : dev_copy(NULL, sizes[i]);
    int64_t b1[1] = {c->b}, b2[2] = {c->b, c->k};
    rlae_tensor w = rlae_tensor_view(wd, RLAE_F32, dev, 2, b2), ep = rlae_tensor_view(epd, RLAE_I32, dev, 1, b1),
                st = rlae_tensor_view(std_, RLAE_I32, dev, 1, b1);
    rlae_tensor tok = rlae_tensor_view(outs[0], RLAE_I32, dev, 1, b1), mx = rlae_tensor_view(outs[1], RLAE_F32, dev, 1, b1),
                mpr = rlae_tensor_view(outs[2], RLAE_F32, dev, 2, b2), t1 = rlae_tensor_view(outs[3], RLAE_F32, dev, 2, b2),
                am = rlae_tensor_view(outs[4], RLAE_I32, dev, 2, b2), en = rlae_tensor_view(outs[5], RLAE_F32, dev, 2, b2);
    rlae_mix_inputs in = {c->k, lg, mp, c->u, &w, &ep, &st};
    rlae_mix_outputs out = {&tok, &mx, &mpr, &t1, &am, &en};
    rlae_mix_workspace *ws = NULL;
    rlae_status s = rlae_mix_workspace_new(dev, c->b, c->k, c->v, c->u, &ws);
    if (s == RLAE_OK)
        s = rlae_mix_select(&in, p, ws, &out);
    if (s == RLAE_OK && dev == RLAE_DEV_CUDA) {
        s = rlae_mix_select(&in, p, ws, &out); /* twice: the kernels must leave their scratch clean */
        for (int i = 0; i < 6 && s == RLAE_OK; i++)
            s = rlae_cuda_memcpy_d2h(hosts[i], outs[i], sizes[i], NULL);
    }
    rlae_mix_workspace_free(ws);
    if (dev == RLAE_DEV_CUDA) {
        for (int k = 0; k < c->k; k++) {
            rlae_cuda_free(lgd[k]);
            rlae_cuda_free(mpd[k]);
        }
        rlae_cuda_free(wd);
        rlae_cuda_free(epd);
        rlae_cuda_free(std_);
        for (int i = 0; i < 6; i++)
            rlae_cuda_free(outs[i]);
    }
    return s;
}

static int rel_close(float a, float b) { return fabsf(a - b) <= 1e-5f * fmaxf(fabsf(a), fabsf(b)) + 1e-7f; }

static void make_case(host_case *c, int k, int u, int b, uint64_t seed)
{
    rlae_rng r;
    rlae_rng_init(&r, seed, (uint32_t)k, (uint32_t)u, (uint32_t)b);
    c->k = k;
    c->u = u;
    c->b = b;
    for (int i = 0; i < k; i++) {
        c->v[i] = (int)(u * (0.8 + 0.2 * rlae_rng_uniform(&r))) + i;
        c->logits[i] = malloc((size_t)b * c->v[i] * sizeof(float));
        c->maps[i] = malloc((size_t)c->v[i] * sizeof(int32_t));
        for (size_t j = 0; j < (size_t)b * c->v[i]; j++) /* a few peaked rows, mostly spread */
            c->logits[i][j] = (float)(6.0 * rlae_rng_normal(&r));
        for (int t = 0; t < c->v[i]; t++)
            c->maps[i][t] = t % 97 == 5 ? -1 : (int32_t)rlae_rng_below(&r, (uint32_t)u);
    }
    c->w = malloc((size_t)b * k * sizeof(float));
    c->ep = malloc((size_t)b * sizeof(int32_t));
    c->st = malloc((size_t)b * sizeof(int32_t));
    for (int i = 0; i < b * k; i++)
        c->w[i] = (float)rlae_rng_uniform(&r) * (i % k == 0 ? 1.0f : 3.0f);
    for (int i = 0; i < b; i++) {
        c->ep[i] = i;
        c->st[i] = (int32_t)(seed * 31 + (uint64_t)i);
    }
}

static void free_case(host_case *c)
{
    for (int i = 0; i < c->k; i++) {
        free(c->logits[i]);
        free(c->maps[i]);
    }
    free(c->w);
    free(c->ep);
    free(c->st);
}

static results alloc_results(int b, int k)
{
    results r = {malloc((size_t)b * 4), malloc((size_t)b * k * 4), malloc((size_t)b * 4), malloc((size_t)b * k * 4),
                 malloc((size_t)b * k * 4), malloc((size_t)b * k * 4)};
    return r;
}

static void free_results(results *r)
{
    free(r->tok);
    free(r->am);
    free(r->mixed);
    free(r->mprob);
    free(r->top1);
    free(r->ent);
}

int main(void)
{
    int n = 0;
    if (rlae_cuda_device_count(&n) != RLAE_OK || n == 0) {
        printf("SKIP: no GPU (%s)\n", rlae_last_error());
        return 77;
    }
    static const int bs[] = {1, 3, 17, 64}, us[] = {1000, 32003, 151936};
    int sampled = 0, sample_mismatch = 0;
    for (int ui = 0; ui < 3; ui++)
        for (int bi = 0; bi < 4; bi++) {
            int k = 2 + (ui + bi) % 3;
            host_case c;
            make_case(&c, k, us[ui], bs[bi], (uint64_t)(ui * 10 + bi + 1));
            struct {
                float t;
                int top_k;
                float top_p;
                int member_topk, gate;
            } modes[] = {{0, 0, 0, 0, -1}, {1.0f, 0, 0, 0, -1}, {0.8f, 40, 0, 0, -1}, {1.2f, 0, 0.9f, 0, -1},
                         {1.0f, 50, 0.7f, 0, -1}, {0, 0, 0, 5, -1}, {1.0f, 0, 0, 3, -1}, {0, 0, 0, 0, 0}};
            for (size_t mi = 0; mi < sizeof modes / sizeof modes[0]; mi++) {
                rlae_mix_params p = rlae_mix_params_default();
                p.temperature = modes[mi].t;
                p.top_k = modes[mi].top_k;
                p.top_p = modes[mi].top_p;
                p.member_topk = modes[mi].member_topk;
                p.gate_member = modes[mi].gate;
                p.gate_threshold = 0.3f;
                p.seed = 99 + mi;
                results rc = alloc_results(c.b, k), rg = alloc_results(c.b, k);
                CHECK(run_on(RLAE_DEV_CPU, &c, &p, &rc) == RLAE_OK);
                rlae_status s = run_on(RLAE_DEV_CUDA, &c, &p, &rg);
                CHECK_MSG(s == RLAE_OK, "%s", rlae_last_error());
                for (int b = 0; b < c.b && s == RLAE_OK; b++) {
                    if (p.temperature > 0) {
                        sampled++;
                        if (rc.tok[b] != rg.tok[b]) { /* a boundary draw: both tokens must be plausible */
                            sample_mismatch++;
                            CHECK(rg.tok[b] >= 0 && rg.tok[b] < c.u);
                            continue;
                        }
                    } else
                        CHECK_MSG(rc.tok[b] == rg.tok[b], "U %d B %d K %d mode %zu row %d: cpu %d gpu %d", c.u, c.b, k,
                                  mi, b, rc.tok[b], rg.tok[b]);
                    CHECK_MSG(rel_close(rc.mixed[b], rg.mixed[b]), "mixed %g vs %g", (double)rc.mixed[b],
                              (double)rg.mixed[b]);
                    for (int j = 0; j < k; j++) {
                        int i = b * k + j;
                        CHECK(rel_close(rc.mprob[i], rg.mprob[i]));
                        CHECK(rel_close(rc.top1[i], rg.top1[i]));
                        CHECK(fabsf(rc.ent[i] - rg.ent[i]) <= 1e-5f * fmaxf(1.0f, fabsf(rc.ent[i])));
                        CHECK_EQ_INT(rc.am[i], rg.am[i]);
                    }
                }
                free_results(&rc);
                free_results(&rg);
            }
            free_case(&c);
        }
    printf("sampled rows: %d, tokens differing from the CPU (boundary draws): %d\n", sampled, sample_mismatch);
    CHECK(sample_mismatch * 100 <= sampled); /* boundary draws are rare */
    return test_summary("test_gpu_mix_select");
}

#else
int main(void)
{
    printf("SKIP: this build has no CUDA backend\n");
    return 77;
}
#endif
