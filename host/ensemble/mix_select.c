/* mix_select's front door (mix_select.h): default parameters, the workspace (host memory for the
 * CPU backend, device memory through cuda/launch.h for the CUDA one), validation of every tensor
 * and parameter with messages naming the op and the tensor, and dispatch to mix_select_cpu.c or
 * cuda/mix_select.cu. The CPU path also checks the values it can read cheaply (weights, map ranges);
 * the CUDA path cannot without a host round trip, so a bad weight row there yields token -1. */
#include "ensemble/mix_select_internal.h"

#ifdef RLAE_HAVE_CUDA
#include "cuda/launch.h"
#include "ops.h"
#endif

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define OP "mix_select"

rlae_mix_params rlae_mix_params_default(void)
{
    rlae_mix_params p;
    memset(&p, 0, sizeof p);
    p.temperature = 0.0f;
    p.top_k = 0;
    p.top_p = 0.0f;
    p.member_topk = 0;
    p.gate_member = -1;
    p.gate_threshold = 1.0f;
    p.seed = 0;
    return p;
}

static size_t n_chunks(int v) { return ((size_t)v + RLAE_MIX_CHUNK - 1) / RLAE_MIX_CHUNK; }

void rlae_mix_workspace_free(rlae_mix_workspace *ws)
{
    if (!ws)
        return;
    free(ws->e);
    free(ws->cm);
    free(ws->q);
    free(ws->aux);
    free(ws->probs);
    free(ws->sorted);
    free(ws->mask);
#ifdef RLAE_HAVE_CUDA
    rlae_cuda_free(ws->d_qx);
    rlae_cuda_free(ws->d_qf);
    rlae_cuda_free(ws->d_mask);
    rlae_cuda_free(ws->d_stats);
#endif
    free(ws);
}

static rlae_status workspace_cuda(rlae_mix_workspace *ws)
{
#ifdef RLAE_HAVE_CUDA
    size_t cells = (size_t)ws->max_batch * (size_t)ws->union_size;
    RLAE_TRY(rlae_cuda_malloc(&ws->d_qx, cells * sizeof(unsigned long long)));
    RLAE_TRY(rlae_cuda_malloc(&ws->d_qf, cells * sizeof(float)));
    RLAE_TRY(rlae_cuda_malloc(&ws->d_mask, cells));
    RLAE_TRY(rlae_cuda_malloc(&ws->d_stats,
                              (size_t)ws->max_batch * ws->n_members * RLAE_CUDA_MIX_STATS * sizeof(float)));
    /* The kernels keep qx and mask zero between calls; they start zero here. */
    RLAE_TRY(rlae_cuda_memset(ws->d_qx, 0, cells * sizeof(unsigned long long), NULL));
    RLAE_TRY(rlae_cuda_memset(ws->d_mask, 0, cells, NULL));
    return rlae_cuda_stream_sync(NULL);
#else
    return rlae_fail(RLAE_ERR_UNSUPPORTED, OP ": workspace on a CUDA device but this build of rlae has no CUDA "
                     "backend; rebuild with -DRLAE_CUDA=ON or use device: cpu");
#endif
}

static rlae_status workspace_cpu(rlae_mix_workspace *ws)
{
    size_t nt = (size_t)ws->n_threads, u = (size_t)ws->union_size;
    ws->e = rlae_malloc(nt * ws->e_stride * sizeof *ws->e);
    ws->cm = rlae_malloc(nt * ws->cm_stride * sizeof *ws->cm);
    ws->q = rlae_malloc(nt * u * sizeof *ws->q);
    ws->aux = rlae_malloc(nt * u * sizeof *ws->aux);
    ws->probs = rlae_malloc(nt * u * sizeof *ws->probs);
    ws->sorted = rlae_malloc(nt * u * sizeof *ws->sorted);
    ws->mask = rlae_malloc(nt * u);
    if (!ws->e || !ws->cm || !ws->q || !ws->aux || !ws->probs || !ws->sorted || !ws->mask)
        return RLAE_ERR_NOMEM;
    return RLAE_OK;
}

rlae_status rlae_mix_workspace_new(rlae_device dev, int max_batch, int n_members, const int *vocab_sizes,
                                   int union_size, rlae_mix_workspace **out)
{
    *out = NULL;
    if (max_batch < 1)
        return rlae_fail(RLAE_ERR_INPUT, OP ": workspace max_batch must be >= 1 (got %d)", max_batch);
    if (n_members < 1 || n_members > RLAE_MIX_MAX_MEMBERS)
        return rlae_fail(RLAE_ERR_INPUT, OP ": %d members; between 1 and %d are supported", n_members,
                         RLAE_MIX_MAX_MEMBERS);
    if (union_size < 1)
        return rlae_fail(RLAE_ERR_INPUT, OP ": union size must be >= 1 (got %d)", union_size);
    for (int k = 0; k < n_members; k++)
        if (vocab_sizes[k] < 1)
            return rlae_fail(RLAE_ERR_INPUT, OP ": member %d has vocabulary size %d", k, vocab_sizes[k]);
    rlae_mix_workspace *ws = rlae_calloc(1, sizeof *ws);
    if (!ws)
        return RLAE_ERR_NOMEM;
    ws->dev = dev;
    ws->max_batch = max_batch;
    ws->n_members = n_members;
    ws->union_size = union_size;
    ws->n_threads = omp_get_max_threads();
    if (ws->n_threads < 1)
        ws->n_threads = 1;
    for (int k = 0; k < n_members; k++) {
        ws->vocab_sizes[k] = vocab_sizes[k];
        ws->e_off[k] = ws->e_stride;
        ws->cm_off[k] = ws->cm_stride;
        ws->e_stride += (size_t)vocab_sizes[k];
        ws->cm_stride += n_chunks(vocab_sizes[k]);
    }
    rlae_status s = dev == RLAE_DEV_CUDA ? workspace_cuda(ws) : workspace_cpu(ws);
    if (s != RLAE_OK) {
        rlae_mix_workspace_free(ws);
        return s;
    }
    *out = ws;
    return RLAE_OK;
}

/* ---- validation ------------------------------------------------------------------------------ */

static rlae_status check_tensor(const char *name, int index, const rlae_tensor *t, rlae_dtype dtype,
                                rlae_device dev, int ndim, int64_t d0, int64_t d1)
{
    char nm[48];
    if (index >= 0)
        snprintf(nm, sizeof nm, "%s[%d]", name, index);
    else
        snprintf(nm, sizeof nm, "%s", name);
    if (!t || !t->data)
        return rlae_fail(RLAE_ERR_INPUT, OP ": tensor %s is missing", nm);
    if (t->dtype != dtype)
        return rlae_fail(RLAE_ERR_INPUT, OP ": tensor %s is %s, expected %s", nm, rlae_dtype_name(t->dtype),
                         rlae_dtype_name(dtype));
    if (t->device != dev)
        return rlae_fail(RLAE_ERR_INPUT, OP ": tensor %s is on %s, the workspace on %s", nm,
                         t->device == RLAE_DEV_CPU ? "cpu" : "cuda", dev == RLAE_DEV_CPU ? "cpu" : "cuda");
    int64_t want[2] = {d0, d1};
    if (t->ndim != ndim)
        return rlae_fail(RLAE_ERR_INPUT, OP ": tensor %s has %d dimensions, expected %d", nm, t->ndim, ndim);
    for (int i = 0; i < ndim; i++)
        if (t->shape[i] != want[i])
            return rlae_fail(RLAE_ERR_INPUT, OP ": tensor %s has shape[%d] = %lld, expected %lld", nm, i,
                             (long long)t->shape[i], (long long)want[i]);
    return RLAE_OK;
}

static rlae_status check_params(const rlae_mix_params *p, int n_members)
{
    if (isnan(p->temperature) || isinf(p->temperature))
        return rlae_fail(RLAE_ERR_INPUT, OP ": temperature must be finite (got %g)", (double)p->temperature);
    if (isnan(p->top_p))
        return rlae_fail(RLAE_ERR_INPUT, OP ": top_p is NaN");
    if (p->gate_member < -1 || p->gate_member >= n_members)
        return rlae_fail(RLAE_ERR_INPUT, OP ": gate_member %d is not a member (0..%d) or -1 (off)", p->gate_member,
                         n_members - 1);
    if (p->gate_member >= 0 && isnan(p->gate_threshold))
        return rlae_fail(RLAE_ERR_INPUT, OP ": gate_threshold is NaN");
    return RLAE_OK;
}

/* Values only the CPU can check without a device round trip. */
static rlae_status check_values_cpu(const rlae_mix_inputs *in, int b_rows)
{
    const float *w = in->weights->data;
    int k_n = in->n_members;
    for (int b = 0; b < b_rows; b++) {
        double sum = 0.0;
        for (int k = 0; k < k_n; k++) {
            float x = w[(size_t)b * k_n + k];
            if (!isfinite(x) || x < 0.0f)
                return rlae_fail(RLAE_ERR_INPUT, OP ": tensor weights[%d, %d] = %g; weights must be finite and >= 0",
                                 b, k, (double)x);
            sum += x;
        }
        if (!(sum > 0.0))
            return rlae_fail(RLAE_ERR_INPUT, OP ": tensor weights row %d sums to 0; at least one weight must be > 0",
                             b);
    }
    for (int k = 0; k < k_n; k++) {
        const int32_t *map = in->maps[k].data;
        int64_t v = in->maps[k].shape[0];
        for (int64_t t = 0; t < v; t++)
            if (map[t] < -1 || map[t] >= in->union_size)
                return rlae_fail(RLAE_ERR_INPUT, OP ": tensor maps[%d][%lld] = %d is outside [-1, union size %d)", k,
                                 (long long)t, map[t], in->union_size);
    }
    return RLAE_OK;
}

static rlae_status validate(const rlae_mix_inputs *in, const rlae_mix_params *p, const rlae_mix_workspace *ws,
                            const rlae_mix_outputs *out, int *b_out)
{
    if (!in || !p || !ws || !out)
        return rlae_fail(RLAE_ERR_INPUT, OP ": inputs, params, workspace and outputs are required");
    if (in->n_members != ws->n_members)
        return rlae_fail(RLAE_ERR_INPUT, OP ": %d members given, the workspace was made for %d", in->n_members,
                         ws->n_members);
    if (in->union_size != ws->union_size)
        return rlae_fail(RLAE_ERR_INPUT, OP ": union size %d, the workspace was made for %d", in->union_size,
                         ws->union_size);
    if (!in->logits || !in->maps)
        return rlae_fail(RLAE_ERR_INPUT, OP ": tensor %s is missing", !in->logits ? "logits" : "maps");
    int k_n = in->n_members;
    rlae_device dev = ws->dev;
    if (!in->logits[0].data || in->logits[0].ndim != 2)
        return rlae_fail(RLAE_ERR_INPUT, OP ": tensor logits[0] must be F32 [B, V]");
    int64_t b_rows = in->logits[0].shape[0];
    if (b_rows < 0 || b_rows > ws->max_batch)
        return rlae_fail(RLAE_ERR_INPUT, OP ": batch %lld exceeds the workspace's max_batch %d", (long long)b_rows,
                         ws->max_batch);
    for (int k = 0; k < k_n; k++) {
        RLAE_TRY(check_tensor("logits", k, &in->logits[k], RLAE_F32, dev, 2, b_rows, ws->vocab_sizes[k]));
        RLAE_TRY(check_tensor("maps", k, &in->maps[k], RLAE_I32, dev, 1, ws->vocab_sizes[k], 0));
    }
    RLAE_TRY(check_tensor("weights", -1, in->weights, RLAE_F32, dev, 2, b_rows, k_n));
    RLAE_TRY(check_tensor("episode", -1, in->episode, RLAE_I32, dev, 1, b_rows, 0));
    RLAE_TRY(check_tensor("step", -1, in->step, RLAE_I32, dev, 1, b_rows, 0));
    RLAE_TRY(check_tensor("token", -1, out->token, RLAE_I32, dev, 1, b_rows, 0));
    RLAE_TRY(check_tensor("mixed_prob", -1, out->mixed_prob, RLAE_F32, dev, 1, b_rows, 0));
    RLAE_TRY(check_tensor("member_prob", -1, out->member_prob, RLAE_F32, dev, 2, b_rows, k_n));
    if (out->member_top1)
        RLAE_TRY(check_tensor("member_top1", -1, out->member_top1, RLAE_F32, dev, 2, b_rows, k_n));
    if (out->member_argmax)
        RLAE_TRY(check_tensor("member_argmax", -1, out->member_argmax, RLAE_I32, dev, 2, b_rows, k_n));
    if (out->member_entropy)
        RLAE_TRY(check_tensor("member_entropy", -1, out->member_entropy, RLAE_F32, dev, 2, b_rows, k_n));
    RLAE_TRY(check_params(p, k_n));
    if (dev == RLAE_DEV_CPU)
        RLAE_TRY(check_values_cpu(in, (int)b_rows));
    *b_out = (int)b_rows;
    return RLAE_OK;
}

/* ---- dispatch -------------------------------------------------------------------------------- */

#ifdef RLAE_HAVE_CUDA
static rlae_status run_cuda(const rlae_mix_inputs *in, const rlae_mix_params *p, rlae_mix_workspace *ws,
                            const rlae_mix_outputs *out, int b_rows)
{
    rlae_cuda_mix_args a;
    memset(&a, 0, sizeof a);
    a.n_members = in->n_members;
    a.batch = b_rows;
    a.union_size = in->union_size;
    for (int k = 0; k < in->n_members; k++) {
        a.logits[k] = in->logits[k].data;
        a.maps[k] = in->maps[k].data;
        a.vocab_sizes[k] = ws->vocab_sizes[k];
    }
    a.weights = in->weights->data;
    a.episode = in->episode->data;
    a.step = in->step->data;
    a.temperature = p->temperature;
    a.top_p = p->top_p;
    a.gate_threshold = p->gate_threshold;
    a.top_k = p->top_k;
    a.member_topk = p->member_topk;
    a.gate_member = p->gate_member;
    a.seed = p->seed;
    a.rng_span = RLAE_MIX_RNG_SPAN;
    a.token = out->token->data;
    a.mixed_prob = out->mixed_prob->data;
    a.member_prob = out->member_prob->data;
    a.member_top1 = out->member_top1 ? out->member_top1->data : NULL;
    a.member_entropy = out->member_entropy ? out->member_entropy->data : NULL;
    a.member_argmax = out->member_argmax ? out->member_argmax->data : NULL;
    a.qx = ws->d_qx;
    a.qf = ws->d_qf;
    a.mask = ws->d_mask;
    a.stats = ws->d_stats;
    /* on the ops stream, in order with the forwards that wrote the logits (ops.h) */
    return rlae_cuda_mix_select(&a, rlae_ops_cuda_stream());
}
#endif

rlae_status rlae_mix_select(const rlae_mix_inputs *in, const rlae_mix_params *p, rlae_mix_workspace *ws,
                            const rlae_mix_outputs *out)
{
    int b_rows = 0;
    RLAE_TRY(validate(in, p, ws, out, &b_rows));
    if (b_rows == 0)
        return RLAE_OK;
    if (ws->dev == RLAE_DEV_CPU)
        return rlae_mix_select_cpu(in, p, ws, out);
#ifdef RLAE_HAVE_CUDA
    return run_cuda(in, p, ws, out, b_rows);
#else
    return rlae_fail(RLAE_ERR_UNSUPPORTED, OP ": tensors on a CUDA device but this build of rlae has no CUDA "
                     "backend; rebuild with -DRLAE_CUDA=ON or use device: cpu");
#endif
}
