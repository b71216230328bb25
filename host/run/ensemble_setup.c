/* Config -> members + union vocabulary + rollout (ensemble_setup.h). */
#include "run/ensemble_setup.h"

#include "core/device.h"
#include "core/log.h"
#include "dist/comm.h"

#include <string.h>

rlae_rollout_options rlae_rollout_options_from_config(const rlae_config *cfg)
{
    const rlae_ensemble_config *c = &cfg->ensemble;
    return (rlae_rollout_options){.span = c->span,
                                  .max_new_tokens = c->max_new_tokens,
                                  .temperature = c->decoding == RLAE_DECODE_GREEDY ? 0.0f : (float)c->temperature,
                                  .top_k = c->top_k,
                                  .top_p = (float)c->top_p,
                                  .seed = (uint64_t)cfg->run.seed,
                                  .stop = (const char *const *)c->stop.items,
                                  .n_stop = c->stop.n};
}

rlae_status rlae_ensemble_device(const rlae_config *cfg, rlae_device *out)
{
    static const rlae_device_request reqs[] = {[RLAE_DEVICE_AUTO] = RLAE_DEVREQ_AUTO,
                                               [RLAE_DEVICE_CPU] = RLAE_DEVREQ_CPU,
                                               [RLAE_DEVICE_CUDA] = RLAE_DEVREQ_CUDA};
    const char *src = cfg->source && cfg->source[0] ? cfg->source : "config";
    rlae_device_request req = reqs[cfg->run.device];
    *out = RLAE_DEV_CPU;
    rlae_status s = rlae_device_resolve(req, out);
    if (s != RLAE_OK)
        return rlae_wrap(s, "%s: run.device %s: ", src, rlae_device_request_name(req));
    return RLAE_OK;
}

/* model_parallel on several ranks (returns 1; else 0 and every member is loaded whole): which
 * members this rank loads with weights (have[k]; all of them under log-likelihood scoring, which runs
 * every member everywhere), and the info line that says so. */
static int placement(const rlae_config *cfg, rlae_comm *comm, int *have)
{
    int K = cfg->n_members, size = comm ? rlae_comm_size(comm) : 1, rank = comm ? rlae_comm_rank(comm) : 0;
    for (int k = 0; k < K; k++)
        have[k] = 1;
    if (size < 2 || cfg->dist.placement != RLAE_PLACE_MODEL_PARALLEL)
        return 0;
    if (cfg->task.mc_scoring != RLAE_MC_GENERATE) {
        rlae_info("rank %d of %d: weights for every member: task.mc_scoring %s scores options with every member "
                  "on every rank (set task.mc_scoring=generate to load only this rank's members)", rank, size,
                  cfg->task.mc_scoring == RLAE_MC_LOGLIK ? "loglik" : "loglik_norm");
        return 1;
    }
    char held[1024] = "", meta[1024] = "";
    for (int k = 0; k < K; k++) {
        have[k] = rlae_comm_chunk_owner(comm, k) == rank;
        char *dst = have[k] ? held : meta;
        size_t n = strlen(dst);
        snprintf(dst + n, sizeof held - n, "%s%s", n ? ", " : "", cfg->members[k].name);
    }
    rlae_info("rank %d of %d: weights for members %s; %s: tokenizer only", rank, size, held[0] ? held : "(none)",
              meta[0] ? meta : "(none)");
    return 1;
}

rlae_status rlae_ensemble_open(rlae_ensemble *e, const rlae_config *cfg, int max_batch)
{
    return rlae_ensemble_open_dist(e, cfg, max_batch, NULL);
}

rlae_status rlae_ensemble_open_dist(rlae_ensemble *e, const rlae_config *cfg, int max_batch, rlae_comm *comm)
{
    memset(e, 0, sizeof *e);
    int K = cfg->n_members;
    if (K < 1)
        return rlae_fail(RLAE_ERR_INPUT, "%s: `members` is empty; list at least one model",
                         cfg->source && cfg->source[0] ? cfg->source : "config");
    if (K > RLAE_MAX_MEMBERS)
        return rlae_fail(RLAE_ERR_INPUT, "%s: %d members (at most %d are supported)", cfg->source, K,
                         RLAE_MAX_MEMBERS);
    rlae_device dev;
    RLAE_TRY(rlae_ensemble_device(cfg, &dev));
    e->device = dev;
    int have[RLAE_MAX_MEMBERS];
    int spread = placement(cfg, comm, have);
    const rlae_tokenizer *toks[RLAE_MAX_MEMBERS];
    const char *names[RLAE_MAX_MEMBERS];
    rlae_status s = RLAE_OK;
    for (int k = 0; k < K && s == RLAE_OK; k++) {
        s = have[k] ? rlae_member_load_on(&e->members[k], &cfg->members[k], dev, max_batch, 0)
                    : rlae_member_load_meta(&e->members[k], &cfg->members[k], dev, max_batch, 0);
        if (s == RLAE_OK)
            e->n_members = k + 1;
        toks[k] = e->members[k].tok;
        names[k] = e->members[k].name;
    }
    if (s == RLAE_OK)
        s = rlae_vocab_union_build(toks, K, names, &e->vu);
    rlae_rollout_options opt = rlae_rollout_options_from_config(cfg);
    if (s == RLAE_OK)
        s = rlae_rollout_new(e->members, K, e->vu, &opt, max_batch, &e->ro);
    if (s == RLAE_OK && spread)
        rlae_rollout_set_comm(e->ro, comm); /* member k's forward on rank k mod N */
    if (s == RLAE_OK && cfg->encoder.path && cfg->encoder.path[0]) {
        rlae_member_config ec = cfg->encoder;
        ec.name = "encoder";
        s = rlae_member_load_on(&e->encoder, &ec, dev, max_batch, 0);
        if (s != RLAE_OK)
            s = rlae_wrap(s, "%s: encoder.path %s: ", cfg->source && cfg->source[0] ? cfg->source : "config",
                          cfg->encoder.path);
        else
            e->has_encoder = 1;
        if (s == RLAE_OK)
            s = rlae_rollout_set_encoder(e->ro, &e->encoder);
    }
    if (s != RLAE_OK) {
        rlae_ensemble_close(e);
        return s;
    }
    e->max_batch = max_batch;
    return RLAE_OK;
}

void rlae_ensemble_close(rlae_ensemble *e)
{
    rlae_rollout_free(e->ro);
    rlae_vocab_union_free(e->vu);
    for (int k = 0; k < e->n_members; k++)
        rlae_member_free(&e->members[k]);
    if (e->has_encoder)
        rlae_member_free(&e->encoder);
    memset(e, 0, sizeof *e);
}

int rlae_ensemble_encoder_dim(const rlae_ensemble *e) { return e->has_encoder ? e->encoder.w.cfg.dim : 0; }
