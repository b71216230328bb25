/* CPU backend of the ops API: plain C loops with OpenMP over independent rows/heads, OpenBLAS for
 * the matrix products. These are the numeric references for the CUDA kernels, so clarity wins over
 * the last few percent; anything clever is explained. Arguments were validated by host/ops.c. */
#include "ops_cpu.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <string.h>

/* OpenMP only pays when a loop has enough work to amortise waking the thread team (a few us);
 * tiny models run single rows of 64 floats where it would cost more than it saves. */
#define PAR_MIN_WORK (1 << 15)

/* One thread pool: OpenMP. OpenBLAS (the pthread build Debian links) would otherwise start its
 * own threads, and its busy-waiting workers and ours fight over the cores between calls (on a
 * loaded 2-core machine 2-thread decode fell 10x). So BLAS runs single-threaded, once per OpenMP
 * thread, each on a slice of the output columns. */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_single_thread(void) { openblas_set_num_threads(1); }

/* y[:, o0:o1] = x W[o0:o1]^T (+ bias[o0:o1]); y rows have stride ldy. */
static void matmul_slice(float *y, const float *x, const float *w, const float *bias, int64_t n, int64_t in,
                         int64_t o0, int64_t o1, int64_t ldy)
{
    int64_t m = o1 - o0;
    float beta = 0.0f;
    if (m <= 0)
        return;
    if (bias) { /* y starts as the bias so BLAS can add the product onto it (beta = 1) */
        for (int64_t r = 0; r < n; r++)
            memcpy(y + r * ldy + o0, bias + o0, (size_t)m * sizeof(float));
        beta = 1.0f;
    }
    if (n == 1) /* gemv avoids gemm's packing overhead for the decode of one sequence */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)in, 1.0f, w + o0 * in, (int)in, x, 1, beta, y + o0, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)m, (int)in, 1.0f, x, (int)in,
                    w + o0 * in, (int)in, beta, y + o0, (int)ldy);
}

void rlae_cpu_matmul(float *y, const float *x, const float *w, const float *bias, int64_t n, int64_t in,
                     int64_t out)
{
    pthread_once(&blas_once, blas_single_thread);
    /* below ~256k multiply-adds a parallel region costs more than it saves */
    if (n * in * out < (1 << 18) || out < 64) {
        matmul_slice(y, x, w, bias, n, in, 0, out, out);
        return;
    }
#pragma omp parallel
    {
        int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
        /* slices in multiples of 16 columns keep BLAS's vector kernels on full tiles */
        int64_t blocks = (out + 15) / 16;
        int64_t o0 = blocks * t / nt * 16, o1 = blocks * (t + 1) / nt * 16;
        matmul_slice(y, x, w, bias, n, in, o0, o1 < out ? o1 : out, out);
    }
}

void rlae_cpu_gather_rows(float *out, const float *table, const int32_t *idx, int64_t n, int64_t d)
{
    for (int64_t r = 0; r < n; r++)
        memcpy(out + r * d, table + (int64_t)idx[r] * d, (size_t)d * sizeof(float));
}

void rlae_cpu_add(float *y, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] += x[i];
}

void rlae_cpu_rmsnorm(float *y, const float *x, const float *weight, int64_t n, int64_t d, float eps)
{
#pragma omp parallel for if (n > 1 && n * d >= PAR_MIN_WORK)
    for (int64_t r = 0; r < n; r++) {
        const float *xr = x + r * d;
        float *yr = y + r * d;
        float ss = 0.0f; /* fp32 sum of squares, as llama2.c and transformers (fp32 compute) do */
        for (int64_t j = 0; j < d; j++)
            ss += xr[j] * xr[j];
        float inv = 1.0f / sqrtf(ss / (float)d + eps);
        for (int64_t j = 0; j < d; j++)
            yr[j] = weight[j] * (inv * xr[j]);
    }
}

void rlae_cpu_swiglu(float *out, const float *gate, const float *up, int64_t n)
{
#pragma omp parallel for if (n >= PAR_MIN_WORK)
    for (int64_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void rlae_cpu_softmax(float *out, const float *x, int64_t n, int64_t d, float temperature)
{
    float inv_t = 1.0f / temperature;
#pragma omp parallel for if (n > 1 && n * d >= PAR_MIN_WORK)
    for (int64_t r = 0; r < n; r++) {
        const float *xr = x + r * d;
        float *o = out + r * d;
        float m = xr[0];
        for (int64_t i = 1; i < d; i++)
            m = xr[i] > m ? xr[i] : m;
        double sum = 0.0; /* double: 128k-entry vocabularies lose digits in a float sum */
        for (int64_t i = 0; i < d; i++) {
            o[i] = expf((xr[i] - m) * inv_t);
            sum += o[i];
        }
        float inv = (float)(1.0 / sum);
        for (int64_t i = 0; i < d; i++)
            o[i] *= inv;
    }
}

void rlae_cpu_logit_stats(const float *x, int64_t n, int64_t d, float *max, float *lse, float *entropy)
{
#pragma omp parallel for if (n > 1 && n * d >= PAR_MIN_WORK)
    for (int64_t r = 0; r < n; r++) {
        const float *xr = x + r * d;
        float m = xr[0];
        for (int64_t i = 1; i < d; i++)
            m = xr[i] > m ? xr[i] : m;
        /* With z = x - m: s = sum e^z, sz = sum z e^z; lse = m + log s and
         * H = -sum p log p = -sum p (z - log s) = log s - sz / s. One pass, in double. */
        double s = 0.0, sz = 0.0;
        for (int64_t i = 0; i < d; i++) {
            double z = (double)xr[i] - m, e = exp(z);
            s += e;
            sz += z * e;
        }
        if (max)
            max[r] = m;
        if (lse)
            lse[r] = (float)(m + log(s));
        if (entropy)
            entropy[r] = (float)(log(s) - sz / s);
    }
}

void rlae_rope_inv_freq(const rlae_rope_params *p, float *inv_freq)
{
    int half = p->head_dim / 2;
    for (int i = 0; i < half; i++) {
        /* fp32 like transformers' inv_freq and llama2.c's `1 / powf(10000, 2i/hd)` */
        float f = 1.0f / powf(p->theta, (float)(2 * i) / (float)p->head_dim);
        if (p->scaling == RLAE_ROPE_SCALE_LINEAR) {
            f /= p->factor;
        } else if (p->scaling == RLAE_ROPE_SCALE_LLAMA3) {
            /* transformers' _compute_llama3_parameters: long wavelengths are slowed by `factor`,
             * short ones kept, and the band between interpolates smoothly. */
            float old = (float)p->original_max_pos;
            float low_wavelen = old / p->low_freq_factor, high_wavelen = old / p->high_freq_factor;
            float wavelen = 2.0f * (float)M_PI / f;
            if (wavelen > low_wavelen) {
                f = f / p->factor;
            } else if (wavelen >= high_wavelen) {
                float smooth = (old / wavelen - p->low_freq_factor) / (p->high_freq_factor - p->low_freq_factor);
                f = (1.0f - smooth) * f / p->factor + smooth * f;
            }
        }
        inv_freq[i] = f;
    }
}

void rlae_cpu_rope(float *x, const int32_t *pos, int64_t n, int n_heads, const rlae_rope_params *p)
{
    int hd = p->head_dim, half = hd / 2;
    float inv_freq[256]; /* head_dim <= 512, checked by ops.c */
    rlae_rope_inv_freq(p, inv_freq);
    int64_t row = (int64_t)n_heads * hd;
#pragma omp parallel for if (n > 1 && n * row >= PAR_MIN_WORK)
    for (int64_t r = 0; r < n; r++) {
        float *xr = x + r * row;
        for (int i = 0; i < half; i++) {
            float a = (float)pos[r] * inv_freq[i]; /* fp32 angle, as transformers computes it */
            float c = cosf(a), s = sinf(a);
            for (int h = 0; h < n_heads; h++) {
                float *xh = xr + (int64_t)h * hd;
                float x0 = xh[i], x1 = xh[i + half];
                xh[i] = x0 * c - x1 * s;        /* x * cos + rotate_half(x) * sin, */
                xh[i + half] = x1 * c + x0 * s; /* rotate_half(x) = (-x2, x1)      */
            }
        }
    }
}

void rlae_cpu_kv_store(float *cache, const float *rows, const int32_t *slot, const int32_t *pos, int64_t n,
                       int64_t capacity, int64_t kv_dim)
{
    for (int64_t r = 0; r < n; r++)
        memcpy(cache + ((int64_t)slot[r] * capacity + pos[r]) * kv_dim, rows + r * kv_dim,
               (size_t)kv_dim * sizeof(float));
}

/* Keys are visited in blocks: scores of a block first, then the running-softmax update for the block
 * (the "online softmax" of flash attention). It needs no scratch sized by the context, and a CUDA
 * kernel walks the cache the same way. */
#define ATT_BLOCK 64

void rlae_cpu_attention(float *out, const float *q, const float *k_cache, const float *v_cache,
                        const int32_t *slot, const int32_t *pos, int64_t n, int64_t capacity, int n_heads,
                        int n_kv_heads, int head_dim)
{
    int group = n_heads / n_kv_heads;
    int64_t q_dim = (int64_t)n_heads * head_dim, kv_dim = (int64_t)n_kv_heads * head_dim;
    float scale = 1.0f / sqrtf((float)head_dim);
    int64_t work = 0;
    for (int64_t r = 0; r < n; r++)
        work += (int64_t)(pos[r] + 1) * head_dim * n_heads;
#pragma omp parallel for collapse(2) schedule(dynamic, 1) if (n * n_heads > 1 && work >= PAR_MIN_WORK)
    for (int64_t r = 0; r < n; r++) {
        for (int h = 0; h < n_heads; h++) {
            const float *qh = q + r * q_dim + (int64_t)h * head_dim;
            int64_t base = (int64_t)slot[r] * capacity * kv_dim + (int64_t)(h / group) * head_dim;
            const float *kh = k_cache + base, *vh = v_cache + base;
            int64_t len = (int64_t)pos[r] + 1;
            float acc[512], sc[ATT_BLOCK];
            for (int i = 0; i < head_dim; i++)
                acc[i] = 0.0f;
            float m = -INFINITY, l = 0.0f; /* running max and running sum of exp(score - m) */
            for (int64_t t0 = 0; t0 < len; t0 += ATT_BLOCK) {
                int nb = (int)(len - t0 < ATT_BLOCK ? len - t0 : ATT_BLOCK);
                float bm = -INFINITY;
                for (int j = 0; j < nb; j++) {
                    const float *k = kh + (t0 + j) * kv_dim;
                    float s = 0.0f;
                    /* simd reduction: lets the compiler split the sum into vector lanes (a strict
                     * left-to-right float sum cannot vectorise); the order changes only rounding */
#pragma omp simd reduction(+ : s)
                    for (int i = 0; i < head_dim; i++)
                        s += qh[i] * k[i];
                    sc[j] = s * scale;
                    bm = sc[j] > bm ? sc[j] : bm;
                }
                float m_new = bm > m ? bm : m;
                float corr = expf(m - m_new); /* rescales what was summed under the old max; 0 at start */
                l *= corr;
                for (int i = 0; i < head_dim; i++)
                    acc[i] *= corr;
                for (int j = 0; j < nb; j++) {
                    const float *v = vh + (t0 + j) * kv_dim;
                    float p = expf(sc[j] - m_new);
                    l += p;
#pragma omp simd
                    for (int i = 0; i < head_dim; i++)
                        acc[i] += p * v[i];
                }
                m = m_new;
            }
            float *o = out + r * q_dim + (int64_t)h * head_dim;
            float inv = 1.0f / l;
            for (int i = 0; i < head_dim; i++)
                o[i] = acc[i] * inv;
        }
    }
}
