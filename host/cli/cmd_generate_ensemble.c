/* `rlae generate CONFIG --prompt TEXT`: the ensemble of CONFIG's members writes one answer per prompt
 * with a baseline weight policy (ensemble.policy), through the same rollout engine training uses.
 * --show-weights prints, per span, the weights and every chosen token marked with the member that
 * was most confident in it (the highest probability of the chosen token). Timing and the ensemble
 * step's overhead next to the members' forward go to stderr. */
#include "cli.h"

#include "algorithms/baselines.h"
#include "config/config.h"
#include "run/agent_policy.h"
#include "run/ensemble_setup.h"
#include "run/trainer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_PROMPTS = 256, MAX_OVERRIDES = 256 };

typedef struct {
    const char *config, *system;
    const char *prompts[MAX_PROMPTS];
    int n_prompts;
    char *overrides[MAX_OVERRIDES];
    int n_overrides;
    int show_weights;
    const char *agent; /* --agent RUN_DIR: a trained agent decides the weights */
} ens_args;

static int parse(int argc, char **argv, ens_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--show-weights") == 0) {
            a->show_weights = 1;
        } else if (strcmp(o, "--agent") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("generate", "--agent needs a run directory (the run.out_dir of rlae train)");
            a->agent = argv[++i];
        } else if (strcmp(o, "--prompt") == 0 || strcmp(o, "--system") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("generate", "option %s needs a value", o);
            if (o[2] == 's')
                a->system = argv[++i];
            else if (a->n_prompts == MAX_PROMPTS)
                return cli_usage_error("generate", "more than %d --prompt options", MAX_PROMPTS);
            else
                a->prompts[a->n_prompts++] = argv[++i];
        } else if (o[0] == '-') {
            return cli_usage_error("generate", "unknown option '%s' for ensemble generation (options: --prompt "
                                   "TEXT, --system TEXT, --show-weights, --agent RUN_DIR; settings are key=value overrides such "
                                   "as ensemble.policy=uniform)", o);
        } else if (!a->config) {
            a->config = o;
        } else if (strchr(o, '=')) {
            if (a->n_overrides == MAX_OVERRIDES)
                return cli_usage_error("generate", "too many overrides (at most %d)", MAX_OVERRIDES);
            a->overrides[a->n_overrides++] = argv[i];
        } else {
            return cli_usage_error("generate", "unexpected argument '%s': overrides are key.sub=value", o);
        }
    }
    if (a->n_prompts == 0)
        a->prompts[a->n_prompts++] = "";
    return 0;
}

/* Token bytes made readable on one line: \n, \t, \\, ] and non-printable bytes escaped. */
static void put_escaped(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c == '\\' || c == ']')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
}

static void show_weights(FILE *f, const rlae_episode *e, const rlae_member *m, const rlae_vocab_union *vu)
{
    int K = e->n_members;
    fprintf(f, "weights per span; each token as [text]k, k = the member most confident in it (");
    for (int k = 0; k < K; k++)
        fprintf(f, "%s%d %s", k ? ", " : "", k, m[k].name);
    fprintf(f, ")\n");
    for (int s = 0; s < e->n_spans; s++) {
        int t0 = e->span_start[s], t1 = s + 1 < e->n_spans ? e->span_start[s + 1] : e->n_tokens;
        fprintf(f, "span %d (tokens %d-%d):", s, t0, t1 - 1);
        for (int k = 0; k < K; k++)
            fprintf(f, " %s=%.3f", m[k].name, (double)e->span_weights[s * K + k]);
        fprintf(f, "\n  ");
        for (int t = t0; t < t1; t++) {
            int best = 0;
            for (int k = 1; k < K; k++)
                if (e->member_prob[t * K + k] > e->member_prob[t * K + best])
                    best = k;
            size_t n;
            const uint8_t *p = rlae_vocab_union_bytes(vu, e->tokens[t], &n);
            fputc('[', f);
            if (e->tokens[t] == RLAE_UNION_EOS)
                fputs("<eos>", f);
            else
                put_escaped(f, p, n);
            fprintf(f, "]%d", best);
        }
        fputc('\n', f);
    }
    fprintf(f, "end: %s\n", rlae_end_reason_name(e->end));
}

static rlae_status run(ens_args *a, rlae_config *cfg)
{
    RLAE_TRY(rlae_config_load(a->config, a->n_overrides, a->overrides, cfg));
    int K = cfg->n_members, B = a->n_prompts;
    rlae_weight_policy pol;
    rlae_fixed_weights pctx;
    if (!a->agent)
        RLAE_TRY(rlae_policy_from_config(&pol, &pctx, cfg));
    int adopted = 0;
    if (a->agent) /* an agent trained with an encoder member brings it when the config names none */
        RLAE_TRY(rlae_train_adopt_encoder(a->agent, cfg, &adopted));
    if (adopted)
        fprintf(stderr, "rlae generate: encoder member %s, as in the run of %s\n", cfg->encoder.path, a->agent);

    rlae_ensemble ens;
    RLAE_TRY(rlae_ensemble_open(&ens, cfg, B));
    const rlae_member *m = ens.members;
    rlae_episode *ep = rlae_calloc((size_t)B, sizeof *ep);
    rlae_rollout_request *req = rlae_calloc((size_t)B, sizeof *req);
    rlae_status s = ep && req ? RLAE_OK : RLAE_ERR_NOMEM;
    /* a trained agent, with deterministic weights (the Dirichlet mean / the Normal means) */
    rlae_agent *agent = NULL;
    rlae_agent_policy apol;
    memset(&apol, 0, sizeof apol);
    if (s == RLAE_OK && a->agent) {
        s = rlae_train_load_agent(a->agent, cfg, &ens, &agent);
        if (s == RLAE_OK)
            s = rlae_agent_policy_init(&apol, agent, K, B,
                                       (cfg->ensemble.max_new_tokens + cfg->ensemble.span - 1) / cfg->ensemble.span, 1);
        if (s == RLAE_OK)
            pol = apol.base;
    }
    for (int b = 0; b < B && s == RLAE_OK; b++)
        req[b] = (rlae_rollout_request){.system = a->system, .user = a->prompts[b], .episode = (uint32_t)b};
    if (s == RLAE_OK)
        s = rlae_rollout_run(ens.ro, req, B, &pol, ep);
    if (s == RLAE_OK) {
        for (int b = 0; b < B; b++) {
            if (B > 1)
                printf("=== prompt %d: %s\n", b, a->prompts[b]);
            fwrite(ep[b].text, 1, ep[b].text_len, stdout);
            fputc('\n', stdout);
            if (a->show_weights)
                show_weights(stdout, &ep[b], m, ens.vu);
            for (int k = 0; k < K; k++)
                if (ep[b].n_unspelled[k])
                    fprintf(stderr, "rlae generate: warning: member '%s' could not spell %d byte(s) of answer %d "
                            "and was fed its unk token there\n", m[k].name, ep[b].n_unspelled[k], b);
        }
        fflush(stdout);
        const rlae_rollout_timing *t = rlae_rollout_get_timing(ens.ro);
        double step = t->mix + t->bridge + t->policy;
        fprintf(stderr,
                "rlae generate: %d members, union of %d entries, policy %s; %ld tokens in %ld steps; members' "
                "prefill %.2f ms, forward %.2f ms; ensemble step %.2f ms (mix %.2f, bridge+stops %.2f, policy "
                "%.2f) = %.1f%% of the members' forward\n",
                K, rlae_vocab_union_size(ens.vu), pol.name, t->tokens, t->steps, 1e3 * t->prefill, 1e3 * t->forward,
                1e3 * step, 1e3 * t->mix, 1e3 * t->bridge, 1e3 * t->policy,
                t->forward > 0 ? 100.0 * step / t->forward : 0.0);
    }
    for (int b = 0; ep && b < B; b++)
        rlae_episode_free(&ep[b]);
    free(ep);
    free(req);
    if (agent)
        rlae_agent_policy_free(&apol);
    rlae_agent_free(agent);
    rlae_ensemble_close(&ens);
    return s;
}

int cmd_generate_ensemble(int argc, char **argv)
{
    ens_args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    rlae_config cfg;
    memset(&cfg, 0, sizeof cfg);
    rlae_status s = run(&a, &cfg);
    rlae_config_free(&cfg);
    return cli_report("generate", s);
}
