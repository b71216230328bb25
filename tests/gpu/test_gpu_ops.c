/* The CUDA backend of every forward op (the kernels in cuda/, through host/ops.c) against the CPU
 * backend, the reference, on odd sizes. Each case builds random inputs, runs the op on CPU
 * tensors (same ops API call), and compares. Tolerances (err = |gpu - cpu| against the bound):
 *   gather_rows, add, kv_store                  exact (pure data movement / one fp32 add)
 *   matmul fp32 (cuBLAS, no TF32)               |d| <= 1e-5 sum_k |x_k w_k| + 1e-6: fp32 sums in a
 *                                               different order
 *   matmul bf16 W, rows <= 8 (GEMV kernel)      the same bound against the CPU on the bf16-rounded W
 *   matmul bf16 W, rows > 8 (cublasGemmEx)      the same bound against the CPU on bf16-rounded W AND
 *                                               x (the GPU rounds x to bf16 for the tensor cores)
 *   matmul_n (bf16, one launch for 3 products)  exact against the single matmuls
 *   matmul_acc (y += x W^T)                     GEMV: exact against matmul + add; cuBLAS 1e-5
 *   rmsnorm                                     1e-5 relative + 1e-6
 *   swiglu                                      2e-6 relative + 1e-7 (expf of CUDA vs glibc)
 *   softmax                                     1e-5 relative + 1e-9
 *   logit_stats                                 max exact; lse, entropy 1e-5 (1 + |value|)
 *   rope (none, linear, llama3 scaling)         2e-5 absolute (|x| <= 1); positions up to 100000
 *   attention                                   2e-5 + 2e-5 |out| (values in [-1, 1]); GQA 8:2,
 *                                               4:4 and 4:1, head_dim 8, 64, 128, positions
 *                                               crossing 256, decode rows of several slots and a
 *                                               prefill chunk of 17 rows of one slot
 * Sizes: rows 1, 3, 17; row lengths 7, 33, 129, 4097. Skips (77) without CUDA or a GPU. */
#include "test.h"

#include "gpu/gpu_ops_util.h"
#include "ops_cpu.h"

static const int64_t ROWS[] = {1, 3, 17};
static const int64_t DIMS[] = {7, 33, 129, 4097};
#define NROWS (int)(sizeof ROWS / sizeof ROWS[0])
#define NDIMS (int)(sizeof DIMS / sizeof DIMS[0])

static void expect(const char *what, const float *gpu, const float *cpu, size_t n, double atol, double rtol)
{
    size_t w = 0;
    double e = gpu_test_err(gpu, cpu, n, atol, rtol, &w);
    CHECK_MSG(e <= 1.0, "%s: error %.3g of the bound at %zu (gpu %.9g cpu %.9g)", what, e, w, (double)gpu[w],
              (double)cpu[w]);
}

static void expect_exact(const char *what, const float *gpu, const float *cpu, size_t n)
{
    CHECK_MSG(memcmp(gpu, cpu, n * sizeof(float)) == 0, "%s: not bit-identical", what);
}

#define OK(expr) CHECK_MSG((expr) == RLAE_OK, "%s: %s", #expr, rlae_last_error())

/* ---- matmul ----------------------------------------------------------------------------------- */

static float bf16_round(float f) { return rlae_bf16_to_f32(rlae_f32_to_bf16(f)); }

/* Checks y against the fp32 CPU product of xr, wr (the inputs as the GPU saw them). */
static void matmul_compare(const char *what, const float *y, const float *xr, const float *wr, const float *b,
                           int64_t n, int64_t in, int64_t out)
{
    float *ref = malloc(sizeof(float) * (size_t)(n * out));
    rlae_tensor Y = rlae_tensor_view(ref, RLAE_F32, RLAE_DEV_CPU, 2, (int64_t[]){n, out});
    rlae_tensor X = rlae_tensor_view((void *)xr, RLAE_F32, RLAE_DEV_CPU, 2, (int64_t[]){n, in});
    rlae_tensor W = rlae_tensor_view((void *)wr, RLAE_F32, RLAE_DEV_CPU, 2, (int64_t[]){out, in});
    rlae_tensor B = rlae_tensor_view((void *)b, RLAE_F32, RLAE_DEV_CPU, 1, (int64_t[]){out});
    OK(rlae_op_matmul(&Y, &X, &W, b ? &B : NULL));
    int64_t bad = 0, first = -1;
    for (int64_t r = 0; r < n; r++)
        for (int64_t o = 0; o < out; o++) {
            double mag = 0.0;
            for (int64_t k = 0; k < in; k++)
                mag += fabs((double)xr[r * in + k] * wr[o * in + k]);
            double d = fabs((double)y[r * out + o] - ref[r * out + o]);
            if (!(d <= 1e-5 * mag + 1e-6) && !bad++)
                first = r * out + o;
        }
    CHECK_MSG(bad == 0, "%s: %lld of %lld outputs off (first %lld: gpu %.9g cpu %.9g)", what, (long long)bad,
              (long long)(n * out), (long long)first, first >= 0 ? (double)y[first] : 0.0,
              first >= 0 ? (double)ref[first] : 0.0);
    free(ref);
}

static void test_matmul(void)
{
    static const int64_t shapes[][2] = {{7, 33}, {33, 7}, {129, 4097}, {4097, 129}, {4096, 64}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        int64_t in = shapes[si][0], out = shapes[si][1];
        float *w = gpu_test_rand((size_t)(in * out), -0.5f, 0.5f, 1), *b = gpu_test_rand((size_t)out, -1, 1, 2);
        float *wr = malloc(sizeof(float) * (size_t)(in * out));
        uint16_t *wb = malloc(sizeof(uint16_t) * (size_t)(in * out));
        for (int64_t i = 0; i < in * out; i++) {
            wb[i] = rlae_f32_to_bf16(w[i]);
            wr[i] = rlae_bf16_to_f32(wb[i]);
        }
        rlae_tensor W = gpu_upload(w, RLAE_F32, 2, (int64_t[]){out, in});
        rlae_tensor Wb = gpu_upload(wb, RLAE_BF16, 2, (int64_t[]){out, in});
        rlae_tensor B = gpu_upload(b, RLAE_F32, 1, (int64_t[]){out});
        int64_t rows[] = {1, 3, 8, 9, 17};
        for (int ri = 0; ri < 5; ri++) {
            int64_t n = rows[ri];
            float *x = gpu_test_rand((size_t)(n * in), -1, 1, 3), *y = malloc(sizeof(float) * (size_t)(n * out));
            float *xr = malloc(sizeof(float) * (size_t)(n * in));
            rlae_tensor X = gpu_upload(x, RLAE_F32, 2, (int64_t[]){n, in});
            rlae_tensor Y = gpu_upload(NULL, RLAE_F32, 2, (int64_t[]){n, out});
            for (int bias = 0; bias < 2; bias++) {
                char what[128];
                snprintf(what, sizeof what, "matmul f32 %lldx%lld -> %lld bias %d", (long long)n, (long long)in,
                         (long long)out, bias);
                OK(rlae_op_matmul(&Y, &X, &W, bias ? &B : NULL));
                gpu_download(y, &Y);
                matmul_compare(what, y, x, w, bias ? b : NULL, n, in, out);

                snprintf(what, sizeof what, "matmul bf16 W %lldx%lld -> %lld bias %d (%s)", (long long)n,
                         (long long)in, (long long)out, bias, n <= 8 ? "gemv" : "cublasGemmEx");
                OK(rlae_op_matmul(&Y, &X, &Wb, bias ? &B : NULL));
                gpu_download(y, &Y);
                for (int64_t i = 0; i < n * in; i++)
                    xr[i] = n <= 8 ? x[i] : bf16_round(x[i]);
                matmul_compare(what, y, xr, wr, bias ? b : NULL, n, in, out);
            }
            rlae_ops_tensor_free(&X);
            rlae_ops_tensor_free(&Y);
            free(x), free(xr), free(y);
        }
        rlae_ops_tensor_free(&W);
        rlae_ops_tensor_free(&Wb);
        rlae_ops_tensor_free(&B);
        free(w), free(wr), free(wb), free(b);
    }
    /* a bf16 W on the CPU is refused, not misread */
    uint16_t wb[4] = {0};
    float x[2] = {1, 2}, y[2];
    rlae_tensor W = rlae_tensor_view(wb, RLAE_BF16, RLAE_DEV_CPU, 2, (int64_t[]){2, 2});
    rlae_tensor X = rlae_tensor_view(x, RLAE_F32, RLAE_DEV_CPU, 2, (int64_t[]){1, 2});
    rlae_tensor Y = rlae_tensor_view(y, RLAE_F32, RLAE_DEV_CPU, 2, (int64_t[]){1, 2});
    CHECK(rlae_op_matmul(&Y, &X, &W, NULL) == RLAE_ERR_UNSUPPORTED);
}

/* matmul_n: three bf16 products of one x in one launch (rows <= 8) or one by one (rows > 8, and a
 * mix with an fp32 W) must equal the single matmuls bit for bit; those are checked against the CPU
 * above. Odd output sizes (37, 64, 5) so that a warp's matrix changes inside a block; in 40 takes
 * the 16-byte path, in 41 the scalar one. */
static void test_matmul_n(void)
{
    for (int vi = 0; vi < 2; vi++) {
        int64_t in = vi ? 41 : 40, outs[3] = {37, 64, 5};
        rlae_tensor W[3], B[3];
        for (int i = 0; i < 3; i++) {
            float *w = gpu_test_rand((size_t)(in * outs[i]), -0.5f, 0.5f, 10 + i);
            float *b = gpu_test_rand((size_t)outs[i], -1, 1, 20 + i);
            uint16_t *wb = malloc(sizeof(uint16_t) * (size_t)(in * outs[i]));
            for (int64_t j = 0; j < in * outs[i]; j++)
                wb[j] = rlae_f32_to_bf16(w[j]);
            W[i] = gpu_upload(wb, RLAE_BF16, 2, (int64_t[]){outs[i], in});
            B[i] = gpu_upload(b, RLAE_F32, 1, (int64_t[]){outs[i]});
            free(w), free(b), free(wb);
        }
        int64_t rows[] = {1, 5, 8, 9};
        for (int ri = 0; ri < 4; ri++) {
            int64_t n = rows[ri];
            float *x = gpu_test_rand((size_t)(n * in), -1, 1, 30);
            rlae_tensor X = gpu_upload(x, RLAE_F32, 2, (int64_t[]){n, in}), Y[3], R[3];
            for (int i = 0; i < 3; i++) {
                Y[i] = gpu_upload(NULL, RLAE_F32, 2, (int64_t[]){n, outs[i]});
                R[i] = gpu_upload(NULL, RLAE_F32, 2, (int64_t[]){n, outs[i]});
            }
            rlae_tensor *ys[3] = {&Y[0], &Y[1], &Y[2]};
            const rlae_tensor *ws[3] = {&W[0], &W[1], &W[2]}, *bs[3] = {&B[0], NULL, &B[2]};
            OK(rlae_op_matmul_n(3, ys, &X, ws, bs));
            for (int i = 0; i < 3; i++) {
                OK(rlae_op_matmul(&R[i], &X, &W[i], bs[i]));
                size_t cnt = (size_t)(n * outs[i]);
                float *a = malloc(sizeof(float) * cnt), *r = malloc(sizeof(float) * cnt);
                gpu_download(a, &Y[i]);
                gpu_download(r, &R[i]);
                CHECK_MSG(memcmp(a, r, sizeof(float) * cnt) == 0, "matmul_n in %lld rows %lld product %d differs from "
                          "matmul", (long long)in, (long long)n, i);
                free(a), free(r);
                rlae_ops_tensor_free(&Y[i]);
                rlae_ops_tensor_free(&R[i]);
            }
            /* matmul_acc: y0 + x W^T in one pass; the GEMV (rows <= 8) exactly as matmul then add, cuBLAS
             * (beta = 1) within fp32 rounding of that */
            size_t cnt = (size_t)(n * outs[0]);
            float *y0 = gpu_test_rand(cnt, -1, 1, 40), *a = malloc(sizeof(float) * cnt), *r = malloc(sizeof(float) * cnt);
            rlae_tensor Ya = gpu_upload(y0, RLAE_F32, 2, (int64_t[]){n, outs[0]});
            rlae_tensor Yr = gpu_upload(y0, RLAE_F32, 2, (int64_t[]){n, outs[0]});
            rlae_tensor Pr = gpu_upload(NULL, RLAE_F32, 2, (int64_t[]){n, outs[0]});
            OK(rlae_op_matmul_acc(&Ya, &X, &W[0], NULL));
            OK(rlae_op_matmul(&Pr, &X, &W[0], NULL));
            OK(rlae_op_add(&Yr, &Pr));
            gpu_download(a, &Ya);
            gpu_download(r, &Yr);
            if (n <= 8) /* the GEMV kernel (RLAE_CUDA_GEMV_MAX_ROWS) */
                CHECK_MSG(memcmp(a, r, sizeof(float) * cnt) == 0, "matmul_acc in %lld rows %lld differs from matmul "
                          "+ add", (long long)in, (long long)n);
            else
                expect("matmul_acc (cublasGemmEx, beta 1)", a, r, cnt, 1e-5, 1e-5);
            rlae_ops_tensor_free(&Ya), rlae_ops_tensor_free(&Yr), rlae_ops_tensor_free(&Pr);
            free(y0), free(a), free(r);
            rlae_ops_tensor_free(&X);
            free(x);
        }
        for (int i = 0; i < 3; i++)
            rlae_ops_tensor_free(&W[i]), rlae_ops_tensor_free(&B[i]);
    }
    /* wrong counts are refused */
    CHECK(rlae_op_matmul_n(0, NULL, NULL, NULL, NULL) == RLAE_ERR_RUNTIME);
    CHECK(rlae_op_matmul_n(RLAE_OP_MATMUL_MAX + 1, NULL, NULL, NULL, NULL) == RLAE_ERR_RUNTIME);
}

/* ---- gather_rows, add, swiglu, rmsnorm --------------------------------------------------------- */

static void test_rowwise(void)
{
    for (int di = 0; di < NDIMS; di++) {
        int64_t d = DIMS[di];
        int64_t nt = 301;
        float *table = gpu_test_rand((size_t)(nt * d), -2, 2, 10);
        uint16_t *tb = malloc(sizeof(uint16_t) * (size_t)(nt * d));
        float *tr = malloc(sizeof(float) * (size_t)(nt * d));
        for (int64_t i = 0; i < nt * d; i++) {
            tb[i] = rlae_f32_to_bf16(table[i]);
            tr[i] = rlae_bf16_to_f32(tb[i]);
        }
        rlae_tensor T = gpu_upload(table, RLAE_F32, 2, (int64_t[]){nt, d});
        rlae_tensor Tb = gpu_upload(tb, RLAE_BF16, 2, (int64_t[]){nt, d});
        float *wn = gpu_test_rand((size_t)d, 0.5f, 1.5f, 11);
        rlae_tensor Wn = gpu_upload(wn, RLAE_F32, 1, &d);
        for (int ri = 0; ri < NROWS; ri++) {
            int64_t n = ROWS[ri];
            size_t nd = (size_t)(n * d);
            char what[96];
            int32_t idx[17];
            for (int64_t i = 0; i < n; i++)
                idx[i] = (int32_t)((i * 97 + 300) % nt);
            float *cpu = malloc(sizeof(float) * nd), *gpu = malloc(sizeof(float) * nd);
            rlae_tensor I = gpu_upload(idx, RLAE_I32, 1, &n), O = gpu_upload(NULL, RLAE_F32, 2, (int64_t[]){n, d});

            snprintf(what, sizeof what, "gather_rows %lld x %lld", (long long)n, (long long)d);
            rlae_cpu_gather_rows(cpu, table, idx, n, d);
            OK(rlae_op_gather_rows(&O, &T, &I));
            gpu_download(gpu, &O);
            expect_exact(what, gpu, cpu, nd);
            snprintf(what, sizeof what, "gather_rows bf16 table %lld x %lld", (long long)n, (long long)d);
            rlae_cpu_gather_rows(cpu, tr, idx, n, d);
            OK(rlae_op_gather_rows(&O, &Tb, &I));
            gpu_download(gpu, &O);
            expect_exact(what, gpu, cpu, nd);

            float *x = gpu_test_rand(nd, -3, 3, 12), *u = gpu_test_rand(nd, -3, 3, 13);
            rlae_tensor X = gpu_upload(x, RLAE_F32, 2, (int64_t[]){n, d});
            rlae_tensor U = gpu_upload(u, RLAE_F32, 2, (int64_t[]){n, d});

            snprintf(what, sizeof what, "add %lld x %lld", (long long)n, (long long)d);
            memcpy(cpu, u, sizeof(float) * nd);
            rlae_cpu_add(cpu, x, (int64_t)nd);
            OK(rlae_op_copy(&O, &U));
            OK(rlae_op_add(&O, &X));
            gpu_download(gpu, &O);
            expect_exact(what, gpu, cpu, nd);

            snprintf(what, sizeof what, "swiglu %lld x %lld", (long long)n, (long long)d);
            rlae_cpu_swiglu(cpu, x, u, (int64_t)nd);
            OK(rlae_op_swiglu(&O, &X, &U));
            gpu_download(gpu, &O);
            expect(what, gpu, cpu, nd, 1e-7, 2e-6);

            snprintf(what, sizeof what, "rmsnorm %lld x %lld", (long long)n, (long long)d);
            rlae_cpu_rmsnorm(cpu, x, wn, n, d, 1e-5f);
            OK(rlae_op_rmsnorm(&O, &X, &Wn, 1e-5f));
            gpu_download(gpu, &O);
            expect(what, gpu, cpu, nd, 1e-6, 1e-5);
            snprintf(what, sizeof what, "rmsnorm in place %lld x %lld", (long long)n, (long long)d);
            OK(rlae_op_rmsnorm(&X, &X, &Wn, 1e-5f));
            gpu_download(gpu, &X);
            expect(what, gpu, cpu, nd, 1e-6, 1e-5);

            rlae_ops_tensor_free(&X), rlae_ops_tensor_free(&U), rlae_ops_tensor_free(&I), rlae_ops_tensor_free(&O);
            free(x), free(u), free(cpu), free(gpu);
        }
        rlae_ops_tensor_free(&T), rlae_ops_tensor_free(&Tb), rlae_ops_tensor_free(&Wn);
        free(table), free(tb), free(tr), free(wn);
    }
}

/* ---- softmax, logit_stats --------------------------------------------------------------------- */

static void test_softmax_stats(void)
{
    int64_t dims[] = {7, 33, 4097, 128257};
    for (int di = 0; di < 4; di++) {
        int64_t d = dims[di];
        for (int ri = 0; ri < NROWS; ri++) {
            int64_t n = ROWS[ri];
            size_t nd = (size_t)(n * d);
            float *x = gpu_test_rand(nd, -12, 12, 20), *cpu = malloc(sizeof(float) * nd),
                  *gpu = malloc(sizeof(float) * nd);
            rlae_tensor X = gpu_upload(x, RLAE_F32, 2, (int64_t[]){n, d});
            rlae_tensor O = gpu_upload(NULL, RLAE_F32, 2, (int64_t[]){n, d});
            char what[96];
            float temps[] = {1.0f, 0.7f};
            for (int ti = 0; ti < 2; ti++) {
                snprintf(what, sizeof what, "softmax %lld x %lld T %.1f", (long long)n, (long long)d, temps[ti]);
                rlae_cpu_softmax(cpu, x, n, d, temps[ti]);
                OK(rlae_op_softmax(&O, &X, temps[ti]));
                gpu_download(gpu, &O);
                expect(what, gpu, cpu, nd, 1e-9, 1e-5);
            }
            float cm[17], cl[17], ce[17], gm[17], gl[17], ge[17];
            rlae_cpu_logit_stats(x, n, d, cm, cl, ce);
            rlae_tensor M = gpu_upload(NULL, RLAE_F32, 1, &n), L = gpu_upload(NULL, RLAE_F32, 1, &n),
                        E = gpu_upload(NULL, RLAE_F32, 1, &n);
            OK(rlae_op_logit_stats(&X, &M, &L, &E));
            gpu_download(gm, &M), gpu_download(gl, &L), gpu_download(ge, &E);
            snprintf(what, sizeof what, "logit_stats max %lld x %lld", (long long)n, (long long)d);
            expect_exact(what, gm, cm, (size_t)n);
            for (int64_t r = 0; r < n; r++) {
                CHECK_MSG(fabs(gl[r] - cl[r]) <= 1e-5 * (1 + fabs(cl[r])), "logit_stats lse %lld x %lld row %lld: "
                          "gpu %.9g cpu %.9g", (long long)n, (long long)d, (long long)r, gl[r], cl[r]);
                CHECK_MSG(fabs(ge[r] - ce[r]) <= 1e-5 * (1 + fabs(ce[r])), "logit_stats entropy %lld x %lld row "
                          "%lld: gpu %.9g cpu %.9g", (long long)n, (long long)d, (long long)r, ge[r], ce[r]);
            }
            /* optional outputs may be omitted */
            OK(rlae_op_logit_stats(&X, NULL, &L, NULL));
            gpu_download(gl, &L);
            CHECK(fabs(gl[0] - cl[0]) <= 1e-5 * (1 + fabs(cl[0])));
            rlae_ops_tensor_free(&X), rlae_ops_tensor_free(&O), rlae_ops_tensor_free(&M);
            rlae_ops_tensor_free(&L), rlae_ops_tensor_free(&E);
            free(x), free(cpu), free(gpu);
        }
    }
}

/* ---- rope ------------------------------------------------------------------------------------- */

static void test_rope(void)
{
    int32_t positions[17] = {0, 255, 256, 1, 4097, 100000, 257, 3, 511, 512, 8191, 8192, 7, 65535, 31, 1000, 2};
    int head_dims[] = {2, 8, 128};
    int heads[] = {1, 8, 2};
    for (int sc = 0; sc < 3; sc++)
        for (int hi = 0; hi < 3; hi++)
            for (int ri = 0; ri < NROWS; ri++) {
                int64_t n = ROWS[ri];
                rlae_rope_params p = {.head_dim = head_dims[hi], .theta = sc == 2 ? 500000.0f : 10000.0f,
                                      .scaling = (rlae_rope_scale)sc, .factor = sc == 1 ? 4.0f : 8.0f,
                                      .low_freq_factor = 1.0f, .high_freq_factor = 4.0f,
                                      .original_max_pos = 8192};
                int nh = heads[hi];
                size_t nd = (size_t)(n * nh * p.head_dim);
                float *x = gpu_test_rand(nd, -1, 1, 30), *cpu = malloc(sizeof(float) * nd),
                      *gpu = malloc(sizeof(float) * nd);
                memcpy(cpu, x, sizeof(float) * nd);
                rlae_cpu_rope(cpu, positions, n, nh, &p);
                rlae_tensor X = gpu_upload(x, RLAE_F32, 2, (int64_t[]){n, (int64_t)nh * p.head_dim});
                rlae_tensor P = gpu_upload(positions, RLAE_I32, 1, &n);
                OK(rlae_op_rope(&X, &P, nh, &p));
                gpu_download(gpu, &X);
                char what[96];
                snprintf(what, sizeof what, "rope scaling %d, %lld rows x %d heads x %d", sc, (long long)n, nh,
                         p.head_dim);
                expect(what, gpu, cpu, nd, 2e-5, 0.0);
                rlae_ops_tensor_free(&X), rlae_ops_tensor_free(&P);
                free(x), free(cpu), free(gpu);
            }
}

/* ---- kv_store + attention --------------------------------------------------------------------- */

static void attention_case(int n_heads, int n_kv, int hd, int n_rows, const int32_t *slot, const int32_t *pos)
{
    int64_t n_slots = 3, cap = 600, kvd = (int64_t)n_kv * hd, qd = (int64_t)n_heads * hd;
    size_t cache_n = (size_t)(n_slots * cap * kvd);
    float *k = gpu_test_rand(cache_n, -1, 1, 40), *v = gpu_test_rand(cache_n, -1, 1, 41);
    float *q = gpu_test_rand((size_t)(n_rows * qd), -1, 1, 42);
    float *kr = gpu_test_rand((size_t)(n_rows * kvd), -1, 1, 43), *vr = gpu_test_rand((size_t)(n_rows * kvd), -1, 1, 44);
    int64_t cshape[3] = {n_slots, cap, kvd}, nr = n_rows;
    rlae_tensor K = gpu_upload(k, RLAE_F32, 3, cshape), V = gpu_upload(v, RLAE_F32, 3, cshape);
    rlae_tensor Kr = gpu_upload(kr, RLAE_F32, 2, (int64_t[]){nr, kvd}), Vr = gpu_upload(vr, RLAE_F32, 2, (int64_t[]){nr, kvd});
    rlae_tensor S = gpu_upload(slot, RLAE_I32, 1, &nr), P = gpu_upload(pos, RLAE_I32, 1, &nr);
    rlae_tensor Q = gpu_upload(q, RLAE_F32, 2, (int64_t[]){nr, qd}), O = gpu_upload(NULL, RLAE_F32, 2, (int64_t[]){nr, qd});
    /* the CPU: store then attend, on host copies */
    rlae_cpu_kv_store(k, kr, slot, pos, nr, cap, kvd);
    rlae_cpu_kv_store(v, vr, slot, pos, nr, cap, kvd);
    float *cpu = malloc(sizeof(float) * (size_t)(nr * qd)), *gpu = malloc(sizeof(float) * (size_t)(nr * qd));
    rlae_cpu_attention(cpu, q, k, v, slot, pos, nr, cap, n_heads, n_kv, hd);
    OK(rlae_op_kv_store(&K, &Kr, &S, &P));
    OK(rlae_op_kv_store(&V, &Vr, &S, &P));
    float *cache_back = malloc(sizeof(float) * cache_n);
    char what[128];
    snprintf(what, sizeof what, "kv_store %d rows, %d kv heads x %d", n_rows, n_kv, hd);
    gpu_download(cache_back, &K);
    expect_exact(what, cache_back, k, cache_n);
    gpu_download(cache_back, &V);
    expect_exact(what, cache_back, v, cache_n);
    OK(rlae_op_attention(&O, &Q, &K, &V, &S, &P, n_heads, n_kv));
    gpu_download(gpu, &O);
    snprintf(what, sizeof what, "attention %d rows, heads %d:%d x %d", n_rows, n_heads, n_kv, hd);
    expect(what, gpu, cpu, (size_t)(nr * qd), 2e-5, 2e-5);
    rlae_ops_tensor_free(&K), rlae_ops_tensor_free(&V), rlae_ops_tensor_free(&Kr), rlae_ops_tensor_free(&Vr);
    rlae_ops_tensor_free(&S), rlae_ops_tensor_free(&P), rlae_ops_tensor_free(&Q), rlae_ops_tensor_free(&O);
    free(k), free(v), free(q), free(kr), free(vr), free(cpu), free(gpu), free(cache_back);
}

static void test_attention(void)
{
    /* decode-like: rows of different slots at positions around the 256 and tile boundaries */
    int32_t d_slot[5] = {0, 1, 2, 1, 0}, d_pos[5] = {0, 255, 256, 599, 300};
    /* prefill-like: a chunk of 17 consecutive positions of one slot, crossing 256 */
    int32_t p_slot[17], p_pos[17];
    for (int i = 0; i < 17; i++)
        p_slot[i] = 2, p_pos[i] = 250 + i;
    int cfg[][3] = {{8, 2, 64}, {4, 4, 8}, {4, 1, 128}, {8, 2, 7 * 2}};
    for (int c = 0; c < 4; c++) {
        attention_case(cfg[c][0], cfg[c][1], cfg[c][2], 1, d_slot + 2, d_pos + 2);
        attention_case(cfg[c][0], cfg[c][1], cfg[c][2], 5, d_slot, d_pos);
        attention_case(cfg[c][0], cfg[c][1], cfg[c][2], 17, p_slot, p_pos);
        attention_case(cfg[c][0], cfg[c][1], cfg[c][2], 3, p_slot + 5, p_pos + 5);
    }
}

/* ---- fill ------------------------------------------------------------------------------------- */

static void test_fill(void)
{
    int64_t n = 4097;
    float *cpu = malloc(sizeof(float) * (size_t)n), *gpu = malloc(sizeof(float) * (size_t)n);
    uint16_t *cb = malloc(2 * (size_t)n), *gb = malloc(2 * (size_t)n);
    rlae_tensor C = rlae_tensor_view(cpu, RLAE_F32, RLAE_DEV_CPU, 1, &n);
    rlae_tensor Cb = rlae_tensor_view(cb, RLAE_BF16, RLAE_DEV_CPU, 1, &n);
    rlae_tensor G = gpu_upload(NULL, RLAE_F32, 1, &n), Gb = gpu_upload(NULL, RLAE_BF16, 1, &n);
    OK(rlae_op_fill_uniform(&C, -0.3f, 0.7f, 99));
    OK(rlae_op_fill_uniform(&G, -0.3f, 0.7f, 99));
    OK(rlae_op_fill_uniform(&Cb, -0.3f, 0.7f, 99));
    OK(rlae_op_fill_uniform(&Gb, -0.3f, 0.7f, 99));
    gpu_download(gpu, &G);
    gpu_download(gb, &Gb);
    expect_exact("fill_uniform f32", gpu, cpu, (size_t)n);
    CHECK_MSG(memcmp(gb, cb, 2 * (size_t)n) == 0, "fill_uniform bf16: not bit-identical");
    rlae_ops_tensor_free(&G), rlae_ops_tensor_free(&Gb);
    free(cpu), free(gpu), free(cb), free(gb);
}

int main(void)
{
    gpu_test_require_gpu();
    test_matmul();
    test_matmul_n();
    test_rowwise();
    test_softmax_stats();
    test_rope();
    test_attention();
    test_fill();
    OK(rlae_ops_sync(RLAE_DEV_CUDA));
    return test_summary("test_gpu_ops");
}
