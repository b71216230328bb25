/* The CUDA attention's decode strategies (cuda/attention.cu) and the bf16 KV cache against the CPU
 * reference rlae_cpu_attention, through the ops API (rlae_op_attention_ws, rlae_op_kv_store):
 *   - split-K (flash-decoding, with scratch) and the whole-row kernel (no scratch) over contexts
 *     1, 63, 64, 65, 1000, 4097 (tile and chunk edges), GQA 32:8 (head_dim 128) and 8:2 (head_dim
 *     64, and 7 for the odd-width bf16 path), 1 and 3 rows (3 rows: different slots and lengths);
 *     the test asserts that the split path is really taken for these shapes;
 *   - fp32 caches: within 2e-5 + 2e-5 |out| of the CPU (values in [-1, 1]; only the summation
 *     order differs: fixed chunks, then a combine);
 *   - bf16 caches: the same tolerance against the CPU run on the bf16-rounded K/V (the rounding
 *     itself is the cache's documented precision, so the reference sees the same inputs);
 *     kv_store into a bf16 cache gives exactly rlae_f32_to_bf16 of each row (bit-identical);
 *   - determinism: two runs of the same call are bit-identical (both strategies, both dtypes);
 *   - the CPU ops reject a bf16 cache, and rlae_kv_cache_init_dtype rejects bf16 on the CPU
 *     (these two run without a GPU too).
 * Skips (77) the GPU part without CUDA or a GPU. */
#include "test.h"

#include "gpu/gpu_ops_util.h"
#include "model/kv_cache.h"
#include "ops_cpu.h"

#ifdef RLAE_HAVE_CUDA
#include "cuda/launch.h"
#endif

#define OK(expr) CHECK_MSG((expr) == RLAE_OK, "%s: %s", #expr, rlae_last_error())
#define TOL 2e-5
#define N_SLOTS 3
#define CAP 4100

static float bf16_round(float f) { return rlae_bf16_to_f32(rlae_f32_to_bf16(f)); }

static void expect(const char *what, const float *gpu, const float *cpu, size_t n)
{
    size_t w = 0;
    double e = gpu_test_err(gpu, cpu, n, TOL, TOL, &w);
    CHECK_MSG(e <= 1.0, "%s: error %.3g of the bound at %zu (gpu %.9g cpu %.9g)", what, e, w, (double)gpu[w],
              (double)cpu[w]);
}

/* Host K/V of [N_SLOTS, CAP, kv_dim] and their device copies, fp32 and bf16. */
typedef struct {
    int n_heads, n_kv, hd;
    int64_t kvd;
    float *k, *v;   /* fp32 values */
    float *kr, *vr; /* the same rounded to bf16 */
    rlae_tensor K, V, Kb, Vb;
} caches;

static rlae_tensor upload_bf16(const float *x, size_t n, const int64_t *shape)
{
    uint16_t *b = malloc(n * sizeof(uint16_t));
    for (size_t i = 0; i < n; i++)
        b[i] = rlae_f32_to_bf16(x[i]);
    rlae_tensor t = gpu_upload(b, RLAE_BF16, 3, shape);
    free(b);
    return t;
}

static void caches_init(caches *c, int n_heads, int n_kv, int hd, uint32_t key)
{
    c->n_heads = n_heads, c->n_kv = n_kv, c->hd = hd, c->kvd = (int64_t)n_kv * hd;
    size_t n = (size_t)N_SLOTS * CAP * (size_t)c->kvd;
    int64_t shape[3] = {N_SLOTS, CAP, c->kvd};
    c->k = gpu_test_rand(n, -1, 1, key), c->v = gpu_test_rand(n, -1, 1, key + 1);
    c->kr = malloc(n * sizeof(float)), c->vr = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        c->kr[i] = bf16_round(c->k[i]), c->vr[i] = bf16_round(c->v[i]);
    c->K = gpu_upload(c->k, RLAE_F32, 3, shape), c->V = gpu_upload(c->v, RLAE_F32, 3, shape);
    c->Kb = upload_bf16(c->k, n, shape), c->Vb = upload_bf16(c->v, n, shape);
}

static void caches_free(caches *c)
{
    rlae_ops_tensor_free(&c->K), rlae_ops_tensor_free(&c->V), rlae_ops_tensor_free(&c->Kb), rlae_ops_tensor_free(&c->Vb);
    free(c->k), free(c->v), free(c->kr), free(c->vr);
}

/* One (config, context, rows) case: both strategies, both dtypes, each run twice. */
static void attention_case(const caches *c, int ctx, int n_rows, rlae_tensor *scratch)
{
    int32_t slot[3] = {0, 1, 2}, pos[3] = {ctx - 1, (ctx - 1) / 2, ctx - 1};
    if (n_rows == 1)
        slot[0] = 1; /* not the first slot, so the slot offset matters */
    int64_t nr = n_rows, qd = (int64_t)c->n_heads * c->hd;
    size_t no = (size_t)(nr * qd);
    float *q = gpu_test_rand(no, -1, 1, 77 + (uint32_t)ctx);
    float *ref = malloc(no * sizeof(float)), *ref_b = malloc(no * sizeof(float));
    float *o1 = malloc(no * sizeof(float)), *o2 = malloc(no * sizeof(float));
    rlae_cpu_attention(ref, q, c->k, c->v, slot, pos, nr, CAP, c->n_heads, c->n_kv, c->hd);
    rlae_cpu_attention(ref_b, q, c->kr, c->vr, slot, pos, nr, CAP, c->n_heads, c->n_kv, c->hd);
    rlae_tensor S = gpu_upload(slot, RLAE_I32, 1, &nr), P = gpu_upload(pos, RLAE_I32, 1, &nr);
    rlae_tensor Q = gpu_upload(q, RLAE_F32, 2, (int64_t[]){nr, qd}), O = gpu_upload(NULL, RLAE_F32, 2, (int64_t[]){nr, qd});
#ifdef RLAE_HAVE_CUDA
    CHECK_MSG(rlae_cuda_attention_splits(nr, c->n_heads, CAP) >= 2, "%d rows x %d heads: the split path is not taken",
              n_rows, c->n_heads);
#endif
    for (int bf = 0; bf < 2; bf++)
        for (int split = 0; split < 2; split++) {
            const rlae_tensor *K = bf ? &c->Kb : &c->K, *V = bf ? &c->Vb : &c->V;
            char what[160];
            snprintf(what, sizeof what, "attention %s %s, heads %d:%d x %d, context %d, %d rows", bf ? "bf16" : "f32",
                     split ? "split" : "whole", c->n_heads, c->n_kv, c->hd, ctx, n_rows);
            OK(rlae_op_attention_ws(&O, &Q, K, V, &S, &P, c->n_heads, c->n_kv, split ? scratch : NULL));
            gpu_download(o1, &O);
            expect(what, o1, bf ? ref_b : ref, no);
            OK(rlae_op_attention_ws(&O, &Q, K, V, &S, &P, c->n_heads, c->n_kv, split ? scratch : NULL));
            gpu_download(o2, &O);
            CHECK_MSG(memcmp(o1, o2, no * sizeof(float)) == 0, "%s: two runs differ", what);
        }
    rlae_ops_tensor_free(&S), rlae_ops_tensor_free(&P), rlae_ops_tensor_free(&Q), rlae_ops_tensor_free(&O);
    free(q), free(ref), free(ref_b), free(o1), free(o2);
}

static void test_split_and_bf16(void)
{
    static const int ctxs[] = {1, 63, 64, 65, 1000, 4097};
    static const int cfg[][3] = {{32, 8, 128}, {8, 2, 64}, {8, 2, 7}};
    for (int g = 0; g < 3; g++) {
        caches c;
        caches_init(&c, cfg[g][0], cfg[g][1], cfg[g][2], 10 + 2 * (uint32_t)g);
        int64_t ns = rlae_op_attention_scratch_numel(c.hd);
        CHECK(ns > 0);
        rlae_tensor scratch = gpu_upload(NULL, RLAE_F32, 1, &ns);
        for (size_t i = 0; i < sizeof ctxs / sizeof ctxs[0]; i++)
            for (int rows = 1; rows <= 3; rows += 2)
                attention_case(&c, ctxs[i], rows, &scratch);
        rlae_ops_tensor_free(&scratch);
        caches_free(&c);
    }
}

/* kv_store into a bf16 cache rounds each value to nearest even, exactly as the host does. */
static void test_kv_store_bf16(void)
{
    int64_t n_slots = 2, cap = 70, kvd = 24, nr = 4;
    int32_t slot[4] = {1, 0, 1, 1}, pos[4] = {0, 69, 64, 3};
    size_t cn = (size_t)(n_slots * cap * kvd);
    float *rows = gpu_test_rand((size_t)(nr * kvd), -3, 3, 90);
    uint16_t *want = calloc(cn, sizeof(uint16_t)), *got = malloc(cn * sizeof(uint16_t));
    for (int64_t r = 0; r < nr; r++)
        for (int64_t j = 0; j < kvd; j++)
            want[((int64_t)slot[r] * cap + pos[r]) * kvd + j] = rlae_f32_to_bf16(rows[r * kvd + j]);
    int64_t cshape[3] = {n_slots, cap, kvd};
    rlae_tensor C = gpu_upload(NULL, RLAE_BF16, 3, cshape), R = gpu_upload(rows, RLAE_F32, 2, (int64_t[]){nr, kvd});
    rlae_tensor S = gpu_upload(slot, RLAE_I32, 1, &nr), P = gpu_upload(pos, RLAE_I32, 1, &nr);
    OK(rlae_op_kv_store(&C, &R, &S, &P));
    gpu_download(got, &C);
    CHECK_MSG(memcmp(got, want, cn * sizeof(uint16_t)) == 0, "kv_store bf16: not bit-identical to rlae_f32_to_bf16");
    rlae_ops_tensor_free(&C), rlae_ops_tensor_free(&R), rlae_ops_tensor_free(&S), rlae_ops_tensor_free(&P);
    free(rows), free(want), free(got);
}

/* The CPU keeps fp32 caches: bf16 is refused by the ops and by the cache. */
static void test_cpu_rejects_bf16(void)
{
    int64_t cshape[3] = {1, 4, 8}, nr = 1, rshape[2] = {1, 8}, qshape[2] = {1, 16};
    uint16_t cb[32] = {0};
    float kf[32] = {0}, row[8] = {0}, q[16] = {0}, o[16];
    int32_t sl = 0, ps = 0;
    rlae_tensor Cb = rlae_tensor_view(cb, RLAE_BF16, RLAE_DEV_CPU, 3, cshape);
    rlae_tensor Cf = rlae_tensor_view(kf, RLAE_F32, RLAE_DEV_CPU, 3, cshape);
    rlae_tensor R = rlae_tensor_view(row, RLAE_F32, RLAE_DEV_CPU, 2, rshape);
    rlae_tensor Q = rlae_tensor_view(q, RLAE_F32, RLAE_DEV_CPU, 2, qshape);
    rlae_tensor O = rlae_tensor_view(o, RLAE_F32, RLAE_DEV_CPU, 2, qshape);
    rlae_tensor S = rlae_tensor_view(&sl, RLAE_I32, RLAE_DEV_CPU, 1, &nr);
    rlae_tensor P = rlae_tensor_view(&ps, RLAE_I32, RLAE_DEV_CPU, 1, &nr);
    CHECK(rlae_op_kv_store(&Cb, &R, &S, &P) == RLAE_ERR_UNSUPPORTED);
    CHECK(rlae_op_attention(&O, &Q, &Cb, &Cb, &S, &P, 2, 1) == RLAE_ERR_UNSUPPORTED);
    CHECK(rlae_op_attention(&O, &Q, &Cf, &Cb, &S, &P, 2, 1) == RLAE_ERR_UNSUPPORTED); /* mixed dtypes */
    CHECK(rlae_op_attention(&O, &Q, &Cf, &Cf, &S, &P, 2, 1) == RLAE_OK);
    rlae_clear_error();

    rlae_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.n_layers = 2, cfg.n_heads = 2, cfg.n_kv_heads = 1, cfg.head_dim = 8, cfg.max_seq_len = 4;
    rlae_kv_cache kv;
    CHECK(rlae_kv_cache_init_dtype(&kv, &cfg, 1, 0, RLAE_DEV_CPU, RLAE_BF16) == RLAE_ERR_INPUT);
    CHECK(kv.k.data == NULL && kv.len == NULL);
    rlae_clear_error();
    CHECK(rlae_kv_cache_default_dtype(RLAE_DEV_CPU) == RLAE_F32);
    CHECK(rlae_kv_cache_default_dtype(RLAE_DEV_CUDA) == RLAE_BF16);
    OK(rlae_kv_cache_init_dtype(&kv, &cfg, 1, 0, RLAE_DEV_CPU, RLAE_F32));
    rlae_tensor l1 = rlae_kv_cache_layer_k(&kv, 1);
    CHECK(kv.dtype == RLAE_F32 && l1.dtype == RLAE_F32 && (char *)l1.data == (char *)kv.k.data + 4 * 8 * 4);
    rlae_kv_cache_free(&kv);
}

/* A bf16 cache on the device: its layer views step by bf16 rows. */
static void test_cache_bf16_layout(void)
{
    rlae_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.n_layers = 3, cfg.n_heads = 4, cfg.n_kv_heads = 2, cfg.head_dim = 8, cfg.max_seq_len = 10;
    rlae_kv_cache kv;
    OK(rlae_kv_cache_init_dtype(&kv, &cfg, 2, 0, RLAE_DEV_CUDA, RLAE_BF16));
    rlae_tensor l2 = rlae_kv_cache_layer_v(&kv, 2);
    CHECK(kv.k.dtype == RLAE_BF16 && l2.dtype == RLAE_BF16 && l2.device == RLAE_DEV_CUDA);
    CHECK((char *)l2.data == (char *)kv.v.data + 2 * (2 * 10 * 16) * 2);
    CHECK(rlae_tensor_nbytes(&kv.k) == (size_t)3 * 2 * 10 * 16 * 2);
    rlae_kv_cache_free(&kv);
}

int main(void)
{
    test_cpu_rejects_bf16();
    if (test_failures_) /* a CPU failure must not hide behind the GPU skip */
        return test_summary("test_gpu_attention");
    gpu_test_require_gpu();
    test_cache_bf16_layout();
    test_kv_store_bf16();
    test_split_and_bf16();
    OK(rlae_ops_sync(RLAE_DEV_CUDA));
    return test_summary("test_gpu_attention");
}
