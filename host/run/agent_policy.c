/* The agent behind the weight-policy interface, recording PPO's per-step data (agent_policy.h). */
#include "run/agent_policy.h"

#include <stdlib.h>
#include <string.h>

static rlae_status decide(rlae_weight_policy *wp, const rlae_span_state *st, float *weights)
{
    rlae_agent_policy *p = wp->ctx;
    int n = st->n, D = p->obs_dim, K = p->n_members, L = p->logp_width;
    if (n > p->max_batch)
        return rlae_fail(RLAE_ERR_RUNTIME, "agent policy: %d sequences at once (initialised for %d)", n, p->max_batch);
    int want = rlae_agent_encoder_dim(p->agent), got = st->encoder ? st->encoder_dim : 0;
    if (want != got)
        return rlae_fail(RLAE_ERR_INPUT, "agent policy: the agent reads an encoder member of width %d but the "
                         "ensemble's encoder has width %d (0 = none); configure the encoder the agent was trained "
                         "with (encoder.path)", want, got);
    for (int i = 0; i < n; i++)
        rlae_agent_observe(p->agent, st, i, p->s_obs + (size_t)i * D);
    RLAE_TRY(rlae_agent_act(p->agent, n, p->s_obs, st->episode, st->span_index, p->deterministic, weights,
                            p->s_action, p->s_logp, p->s_value));
    for (int i = 0; i < n; i++) {
        int b = st->seq[i];
        if (b >= 0 && b < p->max_batch && st->span_index[i] == 0) { /* a new answer in this batch slot */
            p->n_steps[b] = 0;
            p->has_bootstrap[b] = 0;
        }
        int s = b >= 0 && b < p->max_batch ? p->n_steps[b] : 0;
        if (b < 0 || b >= p->max_batch || s >= p->max_spans)
            return rlae_fail(RLAE_ERR_RUNTIME, "agent policy: sequence %d takes decision %d (room for %d)", b, s,
                             p->max_spans);
        size_t at = (size_t)b * p->max_spans + (size_t)s;
        memcpy(p->obs + at * D, p->s_obs + (size_t)i * D, sizeof(float) * (size_t)D);
        memcpy(p->action + at * K, p->s_action + (size_t)i * K, sizeof(float) * (size_t)K);
        memcpy(p->logp + at * L, p->s_logp + (size_t)i * L, sizeof(float) * (size_t)L);
        p->value[at] = p->s_value[i];
        p->n_steps[b] = s + 1;
    }
    return RLAE_OK;
}

static rlae_status on_truncated(rlae_weight_policy *wp, const rlae_span_state *st)
{
    rlae_agent_policy *p = wp->ctx;
    int n = st->n, D = p->obs_dim;
    if (n > p->max_batch)
        return rlae_fail(RLAE_ERR_RUNTIME, "agent policy: %d final states (initialised for %d)", n, p->max_batch);
    for (int i = 0; i < n; i++)
        rlae_agent_observe(p->agent, st, i, p->s_obs + (size_t)i * D);
    RLAE_TRY(rlae_agent_act(p->agent, n, p->s_obs, NULL, NULL, 1, p->s_action, NULL, NULL, p->s_value));
    for (int i = 0; i < n; i++) {
        p->bootstrap[st->seq[i]] = p->s_value[i];
        p->has_bootstrap[st->seq[i]] = 1;
    }
    return RLAE_OK;
}

void rlae_agent_policy_free(rlae_agent_policy *p)
{
    void *bufs[] = {p->obs, p->action, p->logp, p->value, p->n_steps, p->bootstrap, p->has_bootstrap,
                    p->s_obs, p->s_action, p->s_logp, p->s_value};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    memset(p, 0, sizeof *p);
}

void rlae_agent_policy_reset(rlae_agent_policy *p)
{
    memset(p->n_steps, 0, sizeof(int) * (size_t)p->max_batch);
    memset(p->has_bootstrap, 0, (size_t)p->max_batch);
}

rlae_status rlae_agent_policy_init(rlae_agent_policy *p, rlae_agent *agent, int n_members, int max_batch,
                                   int max_spans, int deterministic)
{
    memset(p, 0, sizeof *p);
    if (max_batch < 1 || max_spans < 1 || n_members < 1)
        return rlae_fail(RLAE_ERR_INPUT, "agent policy: batch %d, spans %d, members %d (all must be >= 1)",
                         max_batch, max_spans, n_members);
    p->agent = agent;
    p->deterministic = deterministic;
    p->max_batch = max_batch;
    p->max_spans = max_spans;
    p->obs_dim = rlae_agent_obs_dim(agent);
    p->logp_width = rlae_agent_logp_width(agent);
    p->n_members = n_members;
    size_t B = (size_t)max_batch, S = (size_t)max_batch * (size_t)max_spans, D = (size_t)p->obs_dim;
    size_t K = (size_t)n_members, L = (size_t)p->logp_width;
    rlae_status s = RLAE_OK;
    p->obs = rlae_malloc(S * D * sizeof(float));
    p->action = rlae_malloc(S * K * sizeof(float));
    p->logp = rlae_malloc(S * L * sizeof(float));
    p->s_action = rlae_malloc(B * K * sizeof(float));
    p->s_logp = rlae_malloc(B * L * sizeof(float));
    p->value = rlae_malloc(S * sizeof(float));
    p->n_steps = rlae_calloc(B, sizeof(int));
    p->bootstrap = rlae_calloc(B, sizeof(float));
    p->has_bootstrap = rlae_calloc(B, 1);
    p->s_obs = rlae_malloc(B * D * sizeof(float));
    p->s_value = rlae_malloc(B * sizeof(float));
    if (!p->obs || !p->action || !p->logp || !p->s_action || !p->s_logp || !p->value || !p->n_steps || !p->bootstrap || !p->has_bootstrap || !p->s_obs || !p->s_value)
        s = RLAE_ERR_NOMEM;
    if (s != RLAE_OK) {
        rlae_agent_policy_free(p);
        return s;
    }
    p->base = (rlae_weight_policy){.name = deterministic ? "agent (deterministic)" : "agent",
                                   .ctx = p,
                                   .decide = decide,
                                   .on_truncated = on_truncated,
                                   .mix_gate_member = -1};
    return RLAE_OK;
}
