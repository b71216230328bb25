/* The CPU reference of mix_select (mix_select.h), one sequence per OpenMP iteration, every buffer
 * from the workspace (no allocation per step). Per sequence:
 *   1. each member's softmax statistics in one read of its logits, chunk by chunk (RLAE_MIX_CHUNK):
 *      the chunk max, e = exp(l - chunk max) kept in the thread's buffer, and the running max, sum,
 *      entropy term and argmax merged across chunks (online softmax); p_t = e_t * scale(chunk);
 *   2. the weights actually used (gated mode: one-hot on the gate member when it is confident),
 *      normalised;
 *   3. q = sum_k w_k P_k scattered from e through the maps (q zeroed first: the maps need not cover
 *      the union); UniTE first builds each weighted member's P_k and marks its member_topk entries;
 *   4. selection: argmax of q (ties to the lowest id), or model/sampler.h's rlae_sampler_sample on
 *      log q (log 0 = -inf) with the workspace's scratch, so sampling is the sampler's rule exactly;
 *   5. member_prob from e and the maps for the chosen entry.
 * A row whose q is 0 everywhere (all mass on map -1 entries) gets token -1, mixed_prob 0. */
#include "ensemble/mix_select_internal.h"

#include "core/rng.h"

#include <math.h>
#include <omp.h>
#include <string.h>

typedef struct {
    float max;    /* max logit */
    double sum;   /* sum exp(l - max) */
    int argmax;   /* first index of the max */
    float top1;   /* max p = 1 / sum */
    float entropy;
} member_stats;

/* Pass 1 over member logits l[0..v): fills e (exp(l - chunk max)) and cm (chunk maxima). */
static member_stats softmax_stats(const float *l, int v, float *e, float *cm)
{
    float m = -INFINITY;
    double s = 0.0, a = 0.0; /* a = sum e (l - m): entropy = log s - a / s */
    int am = 0;
    for (int c = 0, c0 = 0; c0 < v; c++, c0 += RLAE_MIX_CHUNK) {
        int n = v - c0 < RLAE_MIX_CHUNK ? v - c0 : RLAE_MIX_CHUNK;
        const float *lc = l + c0;
        float *ec = e + c0;
        float mc = -INFINITY;
#pragma omp simd reduction(max : mc)
        for (int i = 0; i < n; i++)
            mc = lc[i] > mc ? lc[i] : mc;
        cm[c] = mc;
        if (mc == -INFINITY) { /* every logit of the chunk is -inf: p = 0 there */
            memset(ec, 0, (size_t)n * sizeof *ec);
            continue;
        }
        float sc = 0.0f, ac = 0.0f;
        for (int i = 0; i < n; i++) {
            float d = lc[i] - mc;
            float x = expf(d);
            ec[i] = x;
            sc += x;
            ac += x > 0.0f ? x * d : 0.0f;
        }
        if (mc > m) { /* a new maximum: rescale what came before */
            int j = 0;
            while (lc[j] != mc)
                j++;
            am = c0 + j;
            if (s > 0.0) {
                double f = exp((double)m - mc);
                a = f * (a + ((double)m - mc) * s);
                s *= f;
            }
            m = mc;
            s += sc;
            a += ac;
        } else {
            double f = exp((double)mc - m);
            s += f * sc;
            a += f * (ac + ((double)mc - m) * sc);
        }
    }
    member_stats st = {m, s, am, 0.0f, 0.0f};
    if (s > 0.0) {
        st.top1 = (float)(1.0 / s);
        st.entropy = (float)(log(s) - a / s);
    }
    return st;
}

/* The factor that turns e of chunk c into p: exp(chunk max - max) / sum. */
static inline float chunk_scale(const float *cm, int c, const member_stats *st)
{
    return cm[c] == -INFINITY ? 0.0f : (float)(exp((double)cm[c] - st->max) / st->sum);
}

/* acc[map[t]] += w * p_t over the member's vocabulary. */
static void scatter(const int32_t *map, int v, const float *e, const float *cm, const member_stats *st, float w,
                    float *acc)
{
    for (int c = 0, c0 = 0; c0 < v; c++, c0 += RLAE_MIX_CHUNK) {
        int n = v - c0 < RLAE_MIX_CHUNK ? v - c0 : RLAE_MIX_CHUNK;
        float f = w * chunk_scale(cm, c, st);
        if (f == 0.0f)
            continue;
        for (int i = c0; i < c0 + n; i++)
            if (map[i] >= 0)
                acc[map[i]] += f * e[i];
    }
}

/* P_k(u) for one union entry u: sum of p_t over the tokens that map to it. */
static float member_prob_of(const int32_t *map, int v, const float *e, const float *cm, const member_stats *st,
                            int u)
{
    double acc = 0.0;
    for (int c = 0, c0 = 0; c0 < v; c++, c0 += RLAE_MIX_CHUNK) {
        int n = v - c0 < RLAE_MIX_CHUNK ? v - c0 : RLAE_MIX_CHUNK;
        float part = 0.0f;
        for (int i = c0; i < c0 + n; i++)
            part += map[i] == u ? e[i] : 0.0f;
        if (part > 0.0f)
            acc += (double)part * chunk_scale(cm, c, st);
    }
    return (float)acc;
}

/* UniTE: marks in mask the (at most) m entries of P with the largest positive values, ties to the
 * lower id (an entry with P = 0 is not "probable" and is never marked). Keeps the current best m
 * in top[] sorted (P desc, id asc) by insertion: O(U) when m is small next to U. */
static void mark_topk(const float *prob, int u_n, int m, rlae_prob_id *top, unsigned char *mask)
{
    int n = 0;
    for (int u = 0; u < u_n; u++) {
        float x = prob[u];
        if (x <= 0.0f || (n == m && !(x > top[m - 1].prob)))
            continue;
        int j = n < m ? n++ : m - 1; /* the slot freed (or the last one, dropped) */
        while (j > 0 && top[j - 1].prob < x) {
            top[j] = top[j - 1];
            j--;
        }
        top[j].prob = x;
        top[j].id = u;
    }
    for (int i = 0; i < n; i++)
        mask[top[i].id] = 1;
}

/* One sequence; `t` is the thread's slot in the workspace. */
static void mix_row(const rlae_mix_inputs *in, const rlae_mix_params *p, rlae_mix_workspace *ws,
                    const rlae_mix_outputs *out, int b, int t)
{
    int k_n = in->n_members, u_n = in->union_size;
    size_t ut = (size_t)t * (size_t)u_n;
    float *q = ws->q + ut, *aux = ws->aux + ut;
    unsigned char *mask = ws->mask + ut;
    rlae_prob_id *sorted = ws->sorted + ut;
    member_stats st[RLAE_MIX_MAX_MEMBERS];
    const float *e[RLAE_MIX_MAX_MEMBERS];
    const float *cm[RLAE_MIX_MAX_MEMBERS];
    const int32_t *map[RLAE_MIX_MAX_MEMBERS];
    int v[RLAE_MIX_MAX_MEMBERS];

    for (int k = 0; k < k_n; k++) {
        v[k] = ws->vocab_sizes[k];
        map[k] = in->maps[k].data;
        float *ek = ws->e + (size_t)t * ws->e_stride + ws->e_off[k];
        float *cmk = ws->cm + (size_t)t * ws->cm_stride + ws->cm_off[k];
        st[k] = softmax_stats((const float *)in->logits[k].data + (size_t)b * v[k], v[k], ek, cmk);
        e[k] = ek;
        cm[k] = cmk;
    }

    /* The weights used for this token. */
    float w[RLAE_MIX_MAX_MEMBERS];
    const float *wrow = (const float *)in->weights->data + (size_t)b * k_n;
    int g = p->gate_member;
    int gated = g >= 0 && st[g].top1 >= p->gate_threshold;
    double wsum = 0.0;
    for (int k = 0; k < k_n; k++) {
        w[k] = gated ? (k == g ? 1.0f : 0.0f) : wrow[k];
        wsum += w[k];
    }
    for (int k = 0; k < k_n; k++)
        w[k] = (float)(w[k] / wsum);

    memset(q, 0, (size_t)u_n * sizeof *q);
    if (p->member_topk > 0) {
        memset(mask, 0, (size_t)u_n);
        int m = p->member_topk < u_n ? p->member_topk : u_n;
        for (int k = 0; k < k_n; k++) {
            if (w[k] <= 0.0f)
                continue;
            memset(aux, 0, (size_t)u_n * sizeof *aux);
            scatter(map[k], v[k], e[k], cm[k], &st[k], 1.0f, aux);
            mark_topk(aux, u_n, m, sorted, mask);
            float wk = w[k];
#pragma omp simd
            for (int u = 0; u < u_n; u++)
                q[u] += wk * aux[u];
        }
#pragma omp simd
        for (int u = 0; u < u_n; u++)
            q[u] = mask[u] ? q[u] : 0.0f;
    } else {
        for (int k = 0; k < k_n; k++)
            if (w[k] > 0.0f)
                scatter(map[k], v[k], e[k], cm[k], &st[k], w[k], q);
    }

    int best = 0;
    for (int u = 1; u < u_n; u++)
        if (q[u] > q[best])
            best = u;
    int token = best;
    if (!(q[best] > 0.0f))
        token = -1;
    else if (p->temperature > 0.0f) {
        for (int u = 0; u < u_n; u++)
            aux[u] = q[u] > 0.0f ? logf(q[u]) : -INFINITY;
        rlae_sampler s = {.vocab_size = u_n,
                          .temperature = p->temperature,
                          .top_k = p->top_k > 0 ? p->top_k : 0,
                          .top_p = p->top_p > 0.0f && p->top_p < 1.0f ? p->top_p : 0.0f,
                          .probs = ws->probs + ut,
                          .sorted = sorted};
        uint32_t episode = (uint32_t)((const int32_t *)in->episode->data)[b];
        uint32_t step = (uint32_t)((const int32_t *)in->step->data)[b];
        float r = rlae_u32_to_unit_float(rlae_rng_word_at(p->seed, episode, RLAE_MIX_RNG_SPAN, step, 0));
        token = rlae_sampler_sample(&s, aux, r);
    }

    ((int32_t *)out->token->data)[b] = token;
    ((float *)out->mixed_prob->data)[b] = token >= 0 ? q[token] : 0.0f;
    for (int k = 0; k < k_n; k++) {
        size_t i = (size_t)b * k_n + k;
        ((float *)out->member_prob->data)[i] = token >= 0 ? member_prob_of(map[k], v[k], e[k], cm[k], &st[k], token)
                                                          : 0.0f;
        if (out->member_top1)
            ((float *)out->member_top1->data)[i] = st[k].top1;
        if (out->member_argmax)
            ((int32_t *)out->member_argmax->data)[i] = st[k].sum > 0.0 ? map[k][st[k].argmax] : -1;
        if (out->member_entropy)
            ((float *)out->member_entropy->data)[i] = st[k].entropy;
    }
}

rlae_status rlae_mix_select_cpu(const rlae_mix_inputs *in, const rlae_mix_params *p, rlae_mix_workspace *ws,
                                const rlae_mix_outputs *out)
{
    int b_n = (int)in->logits[0].shape[0];
    int nt = ws->n_threads < b_n ? ws->n_threads : b_n;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
    for (int b = 0; b < b_n; b++)
        mix_row(in, p, ws, out, b, omp_get_thread_num());
    return RLAE_OK;
}
