/* The RLAE agent (agent.h): network layout and initialisation, observe, act, save / load.
 * The forward / backward pass lives in agent_net.inc (float and double), the PPO / MAPPO update in
 * agent_update.c; agent_internal.h holds the struct and the parameter layout they share.
 *
 * Initialisation (cleanrl / on-policy): orthogonal weights with gain sqrt(2) in hidden layers, 0.01
 * on the policy head (Dirichlet logits or Normal means), 1 on the critic head; the per-member
 * projections P_k are orthogonal with gain 1 (a linear map, no activation follows); the span
 * embedding is N(0, 1) like torch.nn.Embedding; MAPPO's state-independent log_std starts at 0
 * (sigma = 1, cleanrl's and on-policy's choice). Biases are 0. Every draw is keyed by the spec's
 * seed and the component (core/rng.h), so an agent is a pure function of its spec. */
#include "algorithms/agent_internal.h"

#include "algorithms/dirichlet.h"
#include "algorithms/normal.h"
#include "core/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double smp_normal(void *ctx) { return rlae_rng_normal(ctx); }
static double smp_log_gamma(void *ctx, double alpha) { return rlae_rng_log_gamma(ctx, alpha); }
static rlae_sampler sampler_of(rlae_rng *r) { return (rlae_sampler){smp_normal, smp_log_gamma, r}; }

static rlae_status check_spec(const rlae_agent_spec *sp)
{
    if (sp->algo != RLAE_ALGO_PPO && sp->algo != RLAE_ALGO_MAPPO)
        return rlae_fail(RLAE_ERR_INPUT, "agent: unknown algorithm %d (ppo or mappo)", (int)sp->algo);
    if (sp->n_members < 1 || sp->n_members > RLAE_AGENT_MAX_K)
        return rlae_fail(RLAE_ERR_INPUT, "agent: %d members; 1 to %d are supported", sp->n_members,
                         RLAE_AGENT_MAX_K);
    if (sp->max_spans < 1)
        return rlae_fail(RLAE_ERR_INPUT, "agent: max_spans is %d; it must be >= 1", sp->max_spans);
    const rlae_agent_config *n = &sp->net;
    if (n->hidden < 1 || n->layers < 1 || n->layers > RLAE_MLP_MAX_LAYERS - 1 || n->span_embed_dim < 1 ||
        (n->use_hidden && n->proj_dim < 1) || !(n->alpha_min > 0))
        return rlae_fail(RLAE_ERR_INPUT,
                         "agent: network shape hidden %d, layers %d, proj_dim %d, span_embed_dim %d, "
                         "alpha_min %g: need widths >= 1, layers 1..%d, alpha_min > 0 (config section agent)",
                         n->hidden, n->layers, n->proj_dim, n->span_embed_dim, n->alpha_min,
                         RLAE_MLP_MAX_LAYERS - 1);
    if (sp->enc_dim < 0 || (sp->enc_dim > 0 && n->proj_dim < 1))
        return rlae_fail(RLAE_ERR_INPUT, "agent: encoder width %d with proj_dim %d: the width must be >= 0 and "
                         "an encoder needs proj_dim >= 1", sp->enc_dim, n->proj_dim);
    for (int k = 0; k < sp->n_members && n->use_hidden; k++)
        if (sp->hidden_dim[k] < 1)
            return rlae_fail(RLAE_ERR_INPUT, "agent: member %d has hidden_dim %d; it must be >= 1", k,
                             sp->hidden_dim[k]);
    return RLAE_OK;
}

/* One MLP of the actor / critic: in -> layers x hidden (tanh) -> out. */
static rlae_status trunk_layout(rlae_mlp *m, const rlae_agent_config *n, int in, int out)
{
    int dims[RLAE_MLP_MAX_LAYERS + 1];
    dims[0] = in;
    for (int l = 1; l <= n->layers; l++)
        dims[l] = n->hidden;
    dims[n->layers + 1] = out;
    return rlae_mlp_layout(m, n->layers + 1, dims, RLAE_ACT_TANH);
}

static rlae_status init_params(rlae_agent *a)
{
    rlae_rng rng;
    rlae_sampler smp = sampler_of(&rng);
    const uint64_t seed = a->spec.seed;
    uint32_t comp = 0; /* one stream per component */
    for (int k = 0; k < a->K && a->spec.net.use_hidden; k++) {
        rlae_rng_init(&rng, seed, 0xFFFFFFFFu, comp++, RLAE_AGENT_RNG_INIT);
        RLAE_TRY(rlae_mlp_init_orthogonal(&a->proj[k], a->params + a->proj_off[k], 1.0, 1.0, &smp));
    }
    if (a->PE) { /* its own stream: the members' components keep theirs */
        rlae_rng_init(&rng, seed, 0xFFFFFFFFu, 50, RLAE_AGENT_RNG_INIT);
        RLAE_TRY(rlae_mlp_init_orthogonal(&a->enc_proj, a->params + a->enc_proj_off, 1.0, 1.0, &smp));
    }
    rlae_rng_init(&rng, seed, 0xFFFFFFFFu, 100, RLAE_AGENT_RNG_INIT);
    for (size_t j = 0; j < (size_t)a->spec.max_spans * a->ed; j++)
        a->params[a->emb_off + j] = (float)rlae_rng_normal(&rng);
    for (int k = 0; k < a->n_actors; k++) {
        rlae_rng_init(&rng, seed, 0xFFFFFFFFu, 200u + (uint32_t)k, RLAE_AGENT_RNG_INIT);
        RLAE_TRY(rlae_mlp_init_orthogonal(&a->actor[k], a->params + a->actor_off[k], sqrt(2.0), 0.01, &smp));
    }
    rlae_rng_init(&rng, seed, 0xFFFFFFFFu, 300, RLAE_AGENT_RNG_INIT);
    RLAE_TRY(rlae_mlp_init_orthogonal(&a->critic, a->params + a->critic_off, sqrt(2.0), 1.0, &smp));
    for (int k = 0; k < a->K && a->spec.algo == RLAE_ALGO_MAPPO; k++)
        a->params[a->ls_off + k] = 0.0f;
    return RLAE_OK;
}

rlae_status rlae_agent_new(const rlae_agent_spec *spec, rlae_agent **out)
{
    *out = NULL;
    RLAE_TRY(check_spec(spec));
    rlae_agent *a = rlae_calloc(1, sizeof *a);
    if (!a)
        return RLAE_ERR_NOMEM;
    a->spec = *spec;
    const int K = a->K = spec->n_members;
    const int hid = spec->net.use_hidden;
    const int mappo = spec->algo == RLAE_ALGO_MAPPO;
    for (int k = K; k < RLAE_AGENT_MAX_K; k++)
        a->spec.hidden_dim[k] = 0; /* unused entries never make two specs differ */
    if (!mappo)
        a->spec.share_params = false;
    a->P = hid ? spec->net.proj_dim : 0;
    a->ed = spec->net.span_embed_dim;
    a->PE = spec->enc_dim > 0 ? spec->net.proj_dim : 0;
    a->F = a->P + RLAE_AGENT_MEMBER_STATS;
    a->S = a->ed + 1 + a->PE;
    a->X = K * a->F + a->S;
    a->A = a->F + a->S + (mappo && a->spec.share_params ? K : 0);
    a->logp_width = mappo ? K : 1;
    int off = 0;
    for (int k = 0; k < K; k++) {
        a->obs_off[k] = off;
        off += (hid ? spec->hidden_dim[k] : 0) + RLAE_AGENT_MEMBER_STATS;
        if (hid && spec->hidden_dim[k] > a->max_d)
            a->max_d = spec->hidden_dim[k];
    }
    a->sh_off = off;
    a->obs_dim = off + 2 + (a->PE ? spec->enc_dim : 0);
    if (a->PE && spec->enc_dim > a->max_d)
        a->max_d = spec->enc_dim;
    rlae_status s = RLAE_OK;
    size_t np = 0;
    for (int k = 0; k < K && hid && s == RLAE_OK; k++) {
        int dims[2] = {spec->hidden_dim[k], a->P};
        s = rlae_mlp_layout(&a->proj[k], 1, dims, RLAE_ACT_TANH);
        a->proj_off[k] = np;
        np += a->proj[k].n_params;
    }
    if (a->PE && s == RLAE_OK) {
        int dims[2] = {spec->enc_dim, a->PE};
        s = rlae_mlp_layout(&a->enc_proj, 1, dims, RLAE_ACT_TANH);
        a->enc_proj_off = np;
        np += a->enc_proj.n_params;
    }
    a->emb_off = np;
    np += (size_t)spec->max_spans * a->ed;
    a->n_actors = mappo && !a->spec.share_params ? K : 1;
    for (int k = 0; k < a->n_actors && s == RLAE_OK; k++) {
        s = trunk_layout(&a->actor[k], &spec->net, mappo ? a->A : a->X, mappo ? 1 : K);
        a->actor_off[k] = np;
        np += a->actor[k].n_params;
    }
    if (s == RLAE_OK)
        s = trunk_layout(&a->critic, &spec->net, a->X, 1);
    a->critic_off = np;
    np += a->critic.n_params;
    a->ls_off = np;
    np += mappo ? (size_t)K : 0;
    a->n_params = np;
    rlae_adam_hparams ah = rlae_adam_defaults();
    if (s == RLAE_OK) {
        a->params = rlae_calloc(np, sizeof(float));
        a->grad = rlae_calloc(np, sizeof(float));
        s = a->params && a->grad ? rlae_adam_init(&a->adam, np, &ah) : RLAE_ERR_NOMEM;
    }
    if (s == RLAE_OK)
        s = init_params(a);
    rlae_valuenorm_init(&a->vn, RLAE_VALUENORM_BETA, RLAE_VALUENORM_EPS);
    if (s != RLAE_OK) {
        rlae_agent_free(a);
        return s;
    }
    *out = a;
    return RLAE_OK;
}

void rlae_agent_free(rlae_agent *a)
{
    if (!a)
        return;
    free(a->params);
    free(a->grad);
    rlae_adam_free(&a->adam);
    rlae_agent_scratch_free(&a->s);
    free(a);
}

int rlae_agent_obs_dim(const rlae_agent *a) { return a->obs_dim; }
int rlae_agent_encoder_dim(const rlae_agent *a) { return a->spec.enc_dim; }
int rlae_agent_logp_width(const rlae_agent *a) { return a->logp_width; }
size_t rlae_agent_n_params(const rlae_agent *a) { return a->n_params; }
const float *rlae_agent_params(const rlae_agent *a) { return a->params; }

rlae_status rlae_agent_reserve(rlae_agent *a, int n)
{
    if (n <= a->s.cap)
        return RLAE_OK;
    rlae_agent_scratch_free(&a->s);
    return rlae_agent_scratch_alloc(a, n, &a->s);
}

void rlae_agent_observe(const rlae_agent *a, const rlae_span_state *st, int i, float *obs)
{
    const int K = a->K;
    for (int k = 0; k < K; k++) {
        float *o = obs + a->obs_off[k];
        if (a->spec.net.use_hidden) {
            const int d = a->spec.hidden_dim[k];
            memcpy(o, st->hidden[k] + (size_t)i * d, sizeof(float) * (size_t)d);
            o += d;
        }
        const size_t ik = (size_t)i * st->n_members + k;
        o[0] = st->entropy ? st->entropy[ik] : 0.0f;
        o[1] = st->top1 ? st->top1[ik] : 0.0f;
        o[2] = st->span_logprob ? st->span_logprob[ik] : 0.0f;
        o[3] = st->span_agree ? st->span_agree[ik] : 0.0f;
    }
    obs[a->sh_off] = (float)st->span_index[i];
    obs[a->sh_off + 1] = st->max_new_tokens > 0 ? (float)st->generated[i] / (float)st->max_new_tokens : 0.0f;
    if (a->PE) { /* the policy checks at its first decision that the state has an encoder of this width */
        const int d = a->spec.enc_dim;
        if (st->encoder && st->encoder_dim == d)
            memcpy(obs + a->sh_off + 2, st->encoder + (size_t)i * d, sizeof(float) * (size_t)d);
        else
            memset(obs + a->sh_off + 2, 0, sizeof(float) * (size_t)d);
    }
}

rlae_status rlae_agent_act(rlae_agent *a, int n, const float *obs, const uint32_t *episode, const int *span,
                           int deterministic, float *weights, float *action, float *logp, float *value)
{
    if (n <= 0)
        return RLAE_OK;
    if (!deterministic && (!episode || !span))
        return rlae_fail(RLAE_ERR_INPUT, "agent: stochastic act needs episode and span ids (the sampling keys)");
    RLAE_TRY(rlae_agent_reserve(a, n));
    rlae_agent_forward(a, a->params, obs, NULL, n, &a->s);
    const int K = a->K, lw = a->logp_width;
    const int mappo = a->spec.algo == RLAE_ALGO_MAPPO;
    for (int r = 0; r < n; r++) {
        float w[RLAE_AGENT_MAX_K], z[RLAE_AGENT_MAX_K], lp[RLAE_AGENT_MAX_K];
        const float *head = a->s.head + (size_t)r * K;
        rlae_rng rng;
        rlae_sampler smp = sampler_of(&rng);
        if (!deterministic)
            rlae_rng_init(&rng, a->spec.seed, episode[r], (uint32_t)span[r], RLAE_AGENT_RNG_ACT);
        if (!mappo) {
            float alpha[RLAE_AGENT_MAX_K];
            rlae_dirichlet_head(head, K, a->spec.net.alpha_min, alpha);
            if (deterministic)
                rlae_dirichlet_mean(alpha, K, w);
            else
                rlae_dirichlet_sample(alpha, K, &smp, w);
            for (int k = 0; k < K; k++)
                if (w[k] < (float)RLAE_DIRICHLET_W_MIN)
                    w[k] = (float)RLAE_DIRICHLET_W_MIN;
            lp[0] = (float)rlae_dirichlet_log_prob(alpha, w, K);
            memcpy(z, w, sizeof(float) * (size_t)K);
        } else {
            const float *ls = a->s.log_std + (size_t)r * K;
            if (deterministic)
                memcpy(z, head, sizeof(float) * (size_t)K);
            else
                rlae_normal_sample(head, ls, K, &smp, z);
            rlae_softmax_masked(z, NULL, K, w);
            for (int k = 0; k < K; k++)
                lp[k] = (float)rlae_normal_log_prob(head + k, ls + k, z + k, 1);
        }
        memcpy(weights + (size_t)r * K, w, sizeof(float) * (size_t)K);
        if (action)
            memcpy(action + (size_t)r * K, z, sizeof(float) * (size_t)K);
        if (logp)
            memcpy(logp + (size_t)r * lw, lp, sizeof(float) * (size_t)lw);
    }
    if (value) {
        memcpy(value, a->s.value, sizeof(float) * (size_t)n);
        if (a->spec.value_norm)
            rlae_valuenorm_denormalize(&a->vn, value, n, value);
    }
    return RLAE_OK;
}

/* ---- save / load: little-endian, versioned ------------------------------------------------------ */

#define AGENT_MAGIC "RLAEAGNT"
/* version 2 adds the encoder width after the seed; version-1 files (no encoder) still load */
#define AGENT_VERSION 2u
#define AGENT_END 0x21444E45u /* "END!" */

typedef struct {
    FILE *f;
    const char *name;
    int bad; /* a short read / write happened */
} bin_io;

static void put_bytes(bin_io *io, const unsigned char *b, size_t n)
{
    if (!io->bad && fwrite(b, 1, n, io->f) != n)
        io->bad = 1;
}
static void put_u32(bin_io *io, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    put_bytes(io, b, 4);
}
static void put_u64(bin_io *io, uint64_t v)
{
    put_u32(io, (uint32_t)v);
    put_u32(io, (uint32_t)(v >> 32));
}
static void put_f64(bin_io *io, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    put_u64(io, v);
}
static void put_f32s(bin_io *io, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, &x[i], 4);
        put_u32(io, v);
    }
}
static void get_bytes(bin_io *io, unsigned char *b, size_t n)
{
    if (io->bad || fread(b, 1, n, io->f) != n) {
        io->bad = 1;
        memset(b, 0, n);
    }
}
static uint32_t get_u32(bin_io *io)
{
    unsigned char b[4];
    get_bytes(io, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static uint64_t get_u64(bin_io *io)
{
    uint64_t lo = get_u32(io);
    return lo | (uint64_t)get_u32(io) << 32;
}
static double get_f64(bin_io *io)
{
    uint64_t v = get_u64(io);
    double d;
    memcpy(&d, &v, 8);
    return d;
}
static void get_f32s(bin_io *io, float *x, size_t n)
{
    for (size_t i = 0; i < n && !io->bad; i++) {
        uint32_t v = get_u32(io);
        memcpy(&x[i], &v, 4);
    }
}

static void put_spec(bin_io *io, const rlae_agent_spec *s)
{
    put_u32(io, (uint32_t)s->algo);
    put_u32(io, (uint32_t)s->n_members);
    for (int k = 0; k < RLAE_AGENT_MAX_K; k++)
        put_u32(io, (uint32_t)s->hidden_dim[k]);
    put_u32(io, (uint32_t)s->max_spans);
    put_u32(io, (uint32_t)s->net.hidden);
    put_u32(io, (uint32_t)s->net.layers);
    put_u32(io, (uint32_t)s->net.proj_dim);
    put_u32(io, (uint32_t)s->net.span_embed_dim);
    put_f64(io, s->net.alpha_min);
    put_u32(io, (uint32_t)s->net.use_hidden | (uint32_t)s->share_params << 1 | (uint32_t)s->value_norm << 2);
    put_u64(io, s->seed);
    put_u32(io, (uint32_t)s->enc_dim);
}

static void get_spec(bin_io *io, rlae_agent_spec *s, uint32_t ver)
{
    memset(s, 0, sizeof *s);
    s->algo = (rlae_algorithm)get_u32(io);
    s->n_members = (int)get_u32(io);
    for (int k = 0; k < RLAE_AGENT_MAX_K; k++)
        s->hidden_dim[k] = (int)get_u32(io);
    s->max_spans = (int)get_u32(io);
    s->net.hidden = (int)get_u32(io);
    s->net.layers = (int)get_u32(io);
    s->net.proj_dim = (int)get_u32(io);
    s->net.span_embed_dim = (int)get_u32(io);
    s->net.alpha_min = get_f64(io);
    uint32_t fl = get_u32(io);
    s->net.use_hidden = fl & 1;
    s->share_params = (fl >> 1) & 1;
    s->value_norm = (fl >> 2) & 1;
    s->seed = get_u64(io);
    s->enc_dim = ver >= 2 ? (int)get_u32(io) : 0;
}

rlae_status rlae_agent_save(const rlae_agent *a, FILE *f, const char *name)
{
    bin_io io = {f, name, 0};
    put_bytes(&io, (const unsigned char *)AGENT_MAGIC, 8);
    put_u32(&io, AGENT_VERSION);
    put_spec(&io, &a->spec);
    put_u64(&io, a->n_params);
    put_f32s(&io, a->params, a->n_params);
    put_f64(&io, a->adam.h.lr);
    put_f64(&io, a->adam.h.beta1);
    put_f64(&io, a->adam.h.beta2);
    put_f64(&io, a->adam.h.eps);
    put_u64(&io, (uint64_t)a->adam.t);
    put_f32s(&io, a->adam.m, a->n_params);
    put_f32s(&io, a->adam.v, a->n_params);
    put_f64(&io, a->vn.running_mean);
    put_f64(&io, a->vn.running_mean_sq);
    put_f64(&io, a->vn.debiasing_term);
    put_f64(&io, a->vn.beta);
    put_f64(&io, a->vn.epsilon);
    put_u64(&io, (uint64_t)a->updates_done);
    put_u32(&io, AGENT_END);
    if (io.bad)
        return rlae_fail(RLAE_ERR_IO, "%s: writing the agent state failed (disk full or not writable?)", name);
    return RLAE_OK;
}

/* The first field in which two specs differ, written into msg; 0 if none. */
static int spec_diff(const rlae_agent_spec *got, const rlae_agent_spec *want, char *msg, size_t cap)
{
#define DIFF_INT(field, label)                                                                                    \
    if ((long long)got->field != (long long)want->field)                                                          \
        return snprintf(msg, cap, "%s is %lld in the file but %lld expected", label, (long long)got->field,       \
                        (long long)want->field),                                                                  \
               1
    DIFF_INT(algo, "algorithm (0 ppo, 1 mappo)");
    DIFF_INT(n_members, "n_members");
    for (int k = 0; k < want->n_members && k < RLAE_AGENT_MAX_K; k++)
        if (want->net.use_hidden && got->hidden_dim[k] != want->hidden_dim[k])
            return snprintf(msg, cap, "hidden_dim of member %d is %d in the file but %d expected", k,
                            got->hidden_dim[k], want->hidden_dim[k]),
                   1;
    if (got->enc_dim != want->enc_dim) {
        if (!got->enc_dim || !want->enc_dim)
            return snprintf(msg, cap, "the agent was trained %s an encoder member but this config has %s (%s)",
                            got->enc_dim ? "with" : "without", want->enc_dim ? "one" : "none",
                            want->enc_dim ? "remove the `encoder` section" : "set encoder.path as in the run's "
                            "config.yaml"),
                   1;
        return snprintf(msg, cap, "the encoder member's hidden size is %d in the file but %d expected (encoder.path "
                        "names another model)", got->enc_dim, want->enc_dim),
               1;
    }
    DIFF_INT(max_spans, "max_spans");
    DIFF_INT(net.hidden, "agent.hidden");
    DIFF_INT(net.layers, "agent.layers");
    DIFF_INT(net.use_hidden, "agent.use_hidden");
    if (want->net.use_hidden)
        DIFF_INT(net.proj_dim, "agent.proj_dim");
    DIFF_INT(net.span_embed_dim, "agent.span_embed_dim");
    if (got->net.alpha_min != want->net.alpha_min)
        return snprintf(msg, cap, "agent.alpha_min is %g in the file but %g expected", got->net.alpha_min,
                        want->net.alpha_min),
               1;
    if (want->algo == RLAE_ALGO_MAPPO)
        DIFF_INT(share_params, "algorithm.share_params");
    DIFF_INT(value_norm, "algorithm.value_norm");
    DIFF_INT(seed, "seed");
#undef DIFF_INT
    return 0;
}

rlae_status rlae_agent_load(FILE *f, const char *name, const rlae_agent_spec *expect, rlae_agent **out)
{
    *out = NULL;
    bin_io io = {f, name, 0};
    unsigned char magic[8];
    get_bytes(&io, magic, 8);
    if (io.bad || memcmp(magic, AGENT_MAGIC, 8) != 0)
        return rlae_fail(RLAE_ERR_INPUT, "%s: not an rlae agent state (bad magic); point at a checkpoint written "
                         "by rlae train", name);
    uint32_t ver = get_u32(&io);
    if (ver < 1 || ver > AGENT_VERSION)
        return rlae_fail(RLAE_ERR_INPUT, "%s: agent state version %u, this build reads 1 to %u", name, ver,
                         AGENT_VERSION);
    rlae_agent_spec sp;
    get_spec(&io, &sp, ver);
    if (io.bad)
        return rlae_fail(RLAE_ERR_INPUT, "%s: truncated agent state (in the spec)", name);
    rlae_status s = check_spec(&sp);
    if (s != RLAE_OK)
        return rlae_wrap(RLAE_ERR_INPUT, "%s: corrupt agent state: ", name);
    if (expect) {
        char msg[256];
        rlae_agent_spec want = *expect;
        if (want.algo != RLAE_ALGO_MAPPO)
            want.share_params = false;
        if (spec_diff(&sp, &want, msg, sizeof msg))
            return rlae_fail(RLAE_ERR_INPUT, "%s: the agent state does not match this run: %s; resume with the "
                             "config that wrote it or start a new run", name, msg);
    }
    rlae_agent *a;
    RLAE_TRY(rlae_agent_new(&sp, &a));
    uint64_t np = get_u64(&io);
    if (!io.bad && np != a->n_params) {
        size_t need = a->n_params;
        rlae_agent_free(a);
        return rlae_fail(RLAE_ERR_INPUT, "%s: corrupt agent state: %llu parameters, the spec needs %zu", name,
                         (unsigned long long)np, need);
    }
    get_f32s(&io, a->params, a->n_params);
    a->adam.h.lr = get_f64(&io);
    a->adam.h.beta1 = get_f64(&io);
    a->adam.h.beta2 = get_f64(&io);
    a->adam.h.eps = get_f64(&io);
    a->adam.t = (long)get_u64(&io);
    get_f32s(&io, a->adam.m, a->n_params);
    get_f32s(&io, a->adam.v, a->n_params);
    a->vn.running_mean = get_f64(&io);
    a->vn.running_mean_sq = get_f64(&io);
    a->vn.debiasing_term = get_f64(&io);
    a->vn.beta = get_f64(&io);
    a->vn.epsilon = get_f64(&io);
    a->updates_done = (long)get_u64(&io);
    uint32_t end = get_u32(&io);
    if (io.bad || end != AGENT_END) {
        rlae_agent_free(a);
        return rlae_fail(RLAE_ERR_INPUT, "%s: truncated or corrupt agent state (%s)", name,
                         io.bad ? "ends early" : "bad end marker");
    }
    *out = a;
    return RLAE_OK;
}
