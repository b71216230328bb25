/* The training loop (trainer.h): rollouts with the agent -> rewards -> span batch -> PPO / MAPPO
 * update -> periodic deterministic evaluation -> atomic checkpoints; resume and clean stops. */
#include "run/trainer.h"

#include "algorithms/gae.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/rng.h"
#include "core/timer.h"
#include "io/runlog.h"
#include "run/agent_policy.h"
#include "run/ensemble_setup.h"
#include "run/episode_record.h"
#include "run/evaluate.h"
#include "run/task_data.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define CKPT_MAGIC "RLAECKPT"
#define CKPT_VERSION 1u
/* agent parameters are compared across ranks (a hash) every this many updates */
#define DIST_CHECK_EVERY 1
/* rng "span" words of the trainer's own draws (the rollout and the agent use real span indices) */
#define RNG_ITEMS 0xFFFFFFFEu

static volatile sig_atomic_t stop_requested;

void rlae_train_request_stop(void) { stop_requested = 1; }

char *rlae_train_checkpoint_path(const char *run_dir) { return rlae_path_join(run_dir, "checkpoint.bin"); }

static rlae_status write_checkpoint(const char *path, const rlae_agent *agent, int next_iteration)
{
    rlae_atomic_file af;
    RLAE_TRY(rlae_atomic_open(&af, path));
    uint32_t head[2] = {CKPT_VERSION, (uint32_t)next_iteration};
    rlae_status s = RLAE_OK;
    if (fwrite(CKPT_MAGIC, 1, 8, af.f) != 8 || fwrite(head, sizeof head, 1, af.f) != 1)
        s = rlae_fail(RLAE_ERR_IO, "%s: cannot write the checkpoint header", path);
    if (s == RLAE_OK)
        s = rlae_agent_save(agent, af.f, path);
    if (s != RLAE_OK) {
        rlae_atomic_abort(&af);
        return s;
    }
    return rlae_atomic_commit(&af);
}

/* The checkpoint in f (named path in messages). */
static rlae_status read_checkpoint_from(FILE *f, const char *path, const rlae_agent_spec *spec, rlae_agent **agent,
                                        int *next_iteration)
{
    char magic[8];
    uint32_t head[2];
    rlae_status s = RLAE_OK;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, CKPT_MAGIC, 8) != 0 || fread(head, sizeof head, 1, f) != 1)
        s = rlae_fail(RLAE_ERR_INPUT, "%s: not an rlae checkpoint (bad header)", path);
    else if (head[0] != CKPT_VERSION)
        s = rlae_fail(RLAE_ERR_INPUT, "%s: checkpoint version %u; this rlae reads version %u", path, head[0],
                      CKPT_VERSION);
    if (s == RLAE_OK)
        s = rlae_agent_load(f, path, spec, agent);
    *next_iteration = (int)head[1];
    return s;
}

static rlae_status read_checkpoint(const char *path, const rlae_agent_spec *spec, rlae_agent **agent,
                                   int *next_iteration)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rlae_fail(RLAE_ERR_INPUT, "%s: no checkpoint to resume from; start the run without --resume",
                         path);
    rlae_status s = read_checkpoint_from(f, path, spec, agent, next_iteration);
    fclose(f);
    return s;
}

/* Every rank resumes from rank 0's checkpoint, sent over comm (the ranks need not share a file
 * system). A rank 0 that cannot read it reports why and the job ends (rlae_comm_abort). */
static rlae_status read_checkpoint_comm(rlae_comm *comm, const char *path, const rlae_agent_spec *spec,
                                        rlae_agent **agent, int *next_iteration)
{
    if (rlae_comm_size(comm) == 1)
        return read_checkpoint(path, spec, agent, next_iteration);
    char *data = NULL;
    uint64_t n = 0;
    if (rlae_comm_rank(comm) == 0) {
        size_t len;
        rlae_status s = rlae_read_file(path, &data, &len);
        if (s != RLAE_OK)
            return rlae_fail(RLAE_ERR_INPUT, "%s: no checkpoint to resume from (%s); start the run without --resume",
                             path, rlae_last_error());
        n = len;
    }
    RLAE_TRY(rlae_comm_bcast(comm, &n, sizeof n, 0, RLAE_DEV_CPU));
    if (rlae_comm_rank(comm) != 0 && !(data = rlae_malloc((size_t)n + 1)))
        return RLAE_ERR_NOMEM;
    rlae_status s = rlae_comm_bcast(comm, data, (size_t)n, 0, RLAE_DEV_CPU);
    FILE *f = s == RLAE_OK ? fmemopen(data, (size_t)n, "rb") : NULL;
    if (s == RLAE_OK && !f)
        s = rlae_comm_fail(comm, RLAE_ERR_IO, "cannot read rank 0's copy of %s in memory", path);
    if (f) {
        s = read_checkpoint_from(f, path, spec, agent, next_iteration);
        fclose(f);
    }
    free(data);
    return s;
}

/* The agent's shape for this config and these members. */
static rlae_agent_spec agent_spec(const rlae_config *cfg, const rlae_ensemble *e)
{
    rlae_agent_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.algo = cfg->algorithm.name;
    spec.n_members = e->n_members;
    for (int k = 0; k < e->n_members; k++)
        spec.hidden_dim[k] = e->members[k].w.cfg.dim;
    spec.max_spans = (cfg->ensemble.max_new_tokens + cfg->ensemble.span - 1) / cfg->ensemble.span + 1;
    spec.enc_dim = rlae_ensemble_encoder_dim(e); /* the encoder member's pooled state, 0 = none */
    spec.net = cfg->agent;
    spec.share_params = cfg->algorithm.share_params;
    spec.value_norm = cfg->algorithm.value_norm;
    spec.seed = (uint64_t)cfg->run.seed;
    return spec;
}

rlae_status rlae_train_adopt_encoder(const char *checkpoint, rlae_config *cfg, int *adopted)
{
    *adopted = 0;
    char *dir = rlae_path_is_dir(checkpoint) ? rlae_strdup(checkpoint) : rlae_path_dirname(checkpoint);
    char *yaml = dir ? rlae_path_join(dir, "config.yaml") : NULL;
    rlae_status s = yaml ? RLAE_OK : RLAE_ERR_NOMEM;
    if (s == RLAE_OK && rlae_path_is_file(yaml)) {
        rlae_config run;
        memset(&run, 0, sizeof run);
        s = rlae_config_load(yaml, 0, NULL, &run);
        if (s == RLAE_OK) {
            const char *enc = run.encoder.path && run.encoder.path[0] ? run.encoder.path : NULL;
            const char *have = cfg->encoder.path && cfg->encoder.path[0] ? cfg->encoder.path : NULL;
            if (enc && !have) { /* swap: the run's config frees what cfg gives up */
                rlae_member_config t = cfg->encoder;
                cfg->encoder = run.encoder;
                run.encoder = t;
                *adopted = 1;
            } else if (enc && strcmp(enc, have) != 0) {
                s = rlae_fail(RLAE_ERR_INPUT, "%s was trained with encoder.path %s but this run uses %s; use the "
                              "encoder it was trained with (agents with different encoders need separate runs)",
                              checkpoint, enc, have);
            }
            rlae_config_free(&run);
        }
    }
    free(yaml);
    free(dir);
    return s;
}

rlae_status rlae_train_load_agent(const char *checkpoint, const rlae_config *cfg, const rlae_ensemble *e,
                                  rlae_agent **out)
{
    char *path = rlae_path_is_dir(checkpoint) ? rlae_train_checkpoint_path(checkpoint) : rlae_strdup(checkpoint);
    if (!path)
        return RLAE_ERR_NOMEM;
    rlae_agent_spec spec = agent_spec(cfg, e);
    /* The agent's own settings (algorithm, network, seed) come from the run that trained it, whose
     * resolved config.yaml sits beside the checkpoint: `rlae eval cfg --method agent:RUN` then works
     * for a MAPPO run under a PPO config. Without that file, cfg must describe the agent. */
    char *dir = rlae_path_dirname(path), *run_yaml = dir ? rlae_path_join(dir, "config.yaml") : NULL;
    rlae_status s = dir && run_yaml ? RLAE_OK : RLAE_ERR_NOMEM;
    if (s == RLAE_OK && rlae_path_is_file(run_yaml)) {
        rlae_config run;
        s = rlae_config_load(run_yaml, 0, NULL, &run);
        if (s == RLAE_OK) {
            rlae_agent_spec own = agent_spec(&run, e);
            spec.algo = own.algo;
            spec.net = own.net;
            spec.share_params = own.share_params;
            spec.value_norm = own.value_norm;
            spec.seed = own.seed;
            rlae_config_free(&run);
        } else {
            s = rlae_wrap(s, "loading the agent of %s: ", path);
        }
    }
    int next;
    if (s == RLAE_OK)
        s = read_checkpoint(path, &spec, out, &next);
    free(run_yaml);
    free(dir);
    free(path);
    return s;
}

/* Buffers for one iteration's span steps. */
typedef struct {
    int cap_steps, n_steps, n_episodes;
    int *offset;
    float *obs, *action, *logp, *value, *reward, *bootstrap;
    unsigned char *terminated;
} span_buffer;

static void span_buffer_free(span_buffer *b)
{
    free(b->offset);
    free(b->obs);
    free(b->action);
    free(b->logp);
    free(b->value);
    free(b->reward);
    free(b->bootstrap);
    free(b->terminated);
    memset(b, 0, sizeof *b);
}

static rlae_status span_buffer_init(span_buffer *b, int episodes, int max_spans, int obs_dim, int K, int logp_w)
{
    memset(b, 0, sizeof *b);
    size_t S = (size_t)episodes * (size_t)max_spans;
    b->cap_steps = (int)S;
    b->offset = rlae_calloc((size_t)episodes + 1, sizeof(int));
    b->obs = rlae_malloc(S * (size_t)obs_dim * sizeof(float));
    b->action = rlae_malloc(S * (size_t)K * sizeof(float));
    b->logp = rlae_malloc(S * (size_t)logp_w * sizeof(float));
    b->value = rlae_malloc(S * sizeof(float));
    b->reward = rlae_malloc(S * sizeof(float));
    b->bootstrap = rlae_calloc((size_t)episodes, sizeof(float));
    b->terminated = rlae_calloc((size_t)episodes, 1);
    if (!b->offset || !b->obs || !b->action || !b->logp || !b->value || !b->reward || !b->bootstrap ||
        !b->terminated) {
        span_buffer_free(b);
        return RLAE_ERR_NOMEM;
    }
    return RLAE_OK;
}

/* Runs one batch of episodes (positions first .. first + n - 1 of the iteration) with `pol` (an
 * agent policy), scores them and appends one record per episode (episode_record.h) to rec. */
static rlae_status run_batch(rlae_ensemble *e, const rlae_config *cfg, const rlae_task_data *td,
                             const size_t *items, const uint32_t *episode_ids, int first, int n, rlae_agent_policy *pol,
                             rlae_record_buf *rec)
{
    rlae_rollout_request req[n];
    rlae_episode ep[n];
    char *prompts[n];
    memset(prompts, 0, sizeof prompts);
    rlae_status s = RLAE_OK;
    for (int i = 0; i < n && s == RLAE_OK; i++) {
        s = rlae_task_data_prompt(td, items[i], &prompts[i]);
        req[i] = (rlae_rollout_request){.system = NULL, .user = prompts[i], .episode = episode_ids[i]};
    }
    rlae_agent_policy_reset(pol);
    if (s == RLAE_OK)
        s = rlae_rollout_run(e->ro, req, n, &pol->base, ep);
    if (s != RLAE_OK) {
        for (int i = 0; i < n; i++)
            free(prompts[i]);
        return s;
    }
    int K = e->n_members, D = pol->obs_dim, L = pol->logp_width;
    for (int i = 0; i < n && s == RLAE_OK; i++) {
        const rlae_episode *x = &ep[i];
        env_score sc = env_score_text(td->task, x->text, &td->items.v[items[i]]);
        double reward = sc.reward - cfg->algorithm.length_penalty * x->n_tokens;
        int steps = pol->n_steps[i];
        if (steps != x->n_spans || steps < 1) {
            s = rlae_fail(RLAE_ERR_RUNTIME, "trainer: episode %u has %d spans but the agent recorded %d decisions",
                          x->episode, x->n_spans, steps);
            break;
        }
        size_t src = (size_t)i * pol->max_spans;
        /* truncated by max_new_tokens: V of the state after the last token; by a full member context
         * (which cannot take that token): V at the last decision, the closest state we have */
        rlae_record_steps st = {.steps = steps, .D = D, .K = K, .L = L, .obs = pol->obs + src * D,
                                .action = pol->action + src * K, .logp = pol->logp + src * L,
                                .value = pol->value + src,
                                .bootstrap = pol->has_bootstrap[i] ? pol->bootstrap[i] : pol->value[src + steps - 1]};
        s = rlae_record_append(rec, (uint32_t)(first + i), x, reward, sc.correct, prompts[i], &st);
    }
    for (int i = 0; i < n; i++) {
        rlae_episode_free(&ep[i]);
        free(prompts[i]);
    }
    return s;
}

/* The iteration's records (from every rank, any order) back in episode order: ep, prompts, rewards
 * and the span buffer, filled exactly as one process running the batches in turn would fill them. */
static rlae_status read_records(const rlae_record_buf *all, int E, int D, int K, int L, rlae_episode *ep,
                                char **prompts, double *reward, int *correct, span_buffer *buf)
{
    rlae_record_steps *st = rlae_calloc((size_t)E, sizeof *st);
    if (!st)
        return RLAE_ERR_NOMEM;
    rlae_status s = RLAE_OK;
    int got = 0;
    for (size_t at = 0; at < all->len && s == RLAE_OK;) {
        rlae_record r;
        if ((s = rlae_record_read(all->data, all->len, &at, D, K, L, &r)) != RLAE_OK)
            break;
        int j = (int)r.index;
        if (j >= E || prompts[j]) {
            rlae_episode_free(&r.ep);
            free(r.prompt);
            s = rlae_fail(RLAE_ERR_RUNTIME, "trainer: episode position %d arrived twice or is past %d", j, E);
            break;
        }
        ep[j] = r.ep;
        prompts[j] = r.prompt;
        reward[j] = r.reward;
        correct[j] = r.correct;
        st[j] = r.st;
        got++;
    }
    if (s == RLAE_OK && got != E)
        s = rlae_fail(RLAE_ERR_RUNTIME, "trainer: %d of the iteration's %d episodes arrived", got, E);
    buf->n_steps = buf->n_episodes = 0;
    for (int j = 0; j < E && s == RLAE_OK; j++) {
        int steps = st[j].steps, at = buf->n_steps;
        if (at + steps > buf->cap_steps) {
            s = rlae_fail(RLAE_ERR_RUNTIME, "trainer: span buffer full (%d steps)", buf->cap_steps);
            break;
        }
        memcpy(buf->obs + (size_t)at * D, st[j].obs, sizeof(float) * (size_t)steps * D);
        memcpy(buf->action + (size_t)at * K, st[j].action, sizeof(float) * (size_t)steps * K);
        memcpy(buf->logp + (size_t)at * L, st[j].logp, sizeof(float) * (size_t)steps * L);
        memcpy(buf->value + at, st[j].value, sizeof(float) * (size_t)steps);
        for (int t = 0; t < steps; t++)
            buf->reward[at + t] = 0;
        buf->reward[at + steps - 1] = (float)reward[j];
        buf->terminated[j] = (unsigned char)ep[j].terminated;
        buf->bootstrap[j] = st[j].bootstrap;
        buf->n_steps = at + steps;
        buf->n_episodes = j + 1;
        buf->offset[j + 1] = buf->n_steps;
    }
    free(st);
    return s;
}

/* The iteration's episodes into the run log, with per span the joint log-probability, the value,
 * and GAE's advantage and return (recomputed here as the update computes them, for the log). */
static rlae_status log_iteration(rlae_runlog *log, const rlae_config *cfg, const rlae_task_data *td,
                                 const span_buffer *b, int logp_w, int iteration, const rlae_episode *ep,
                                 char *const *prompts, const size_t *items, const double *reward, const int *correct)
{
    int S = b->n_steps, E = b->n_episodes;
    float *adv = rlae_malloc(sizeof(float) * (size_t)(S ? S : 1)), *ret = rlae_malloc(sizeof(float) * (size_t)(S ? S : 1));
    float *lp = rlae_malloc(sizeof(float) * (size_t)(S ? S : 1));
    rlae_runlog_episode *rows = rlae_calloc((size_t)(E ? E : 1), sizeof *rows);
    rlae_status s = adv && ret && lp && rows ? RLAE_OK : RLAE_ERR_NOMEM;
    if (s == RLAE_OK) {
        rlae_gae(E, b->offset, b->reward, b->value, b->terminated, b->bootstrap, cfg->algorithm.gamma,
                 cfg->algorithm.gae_lambda, adv, ret);
        for (int t = 0; t < S; t++) {
            double sum = 0;
            for (int j = 0; j < logp_w; j++)
                sum += b->logp[(size_t)t * logp_w + j];
            lp[t] = (float)sum;
        }
        for (int j = 0; j < E; j++) {
            const env_item *it = &td->items.v[items[j]];
            int o = b->offset[j];
            rows[j] = (rlae_runlog_episode){.ep = &ep[j], .id = ep[j].episode, .iteration = iteration,
                                            .task = td->task->name, .subject = it->subject,
                                            .item = (int64_t)items[j],
                                            .reward = (float)reward[j], .correct = correct[j], .prompt = prompts[j],
                                            .gold = it->n_gold > 0 ? it->gold[0] : NULL, .policy = NULL,
                                            .logp = lp + o, .value = b->value + o, .advantage = adv + o,
                                            .ret = ret + o};
        }
        s = rlae_runlog_append_episodes(log, E, rows);
    }
    free(adv);
    free(ret);
    free(lp);
    free(rows);
    return s;
}

/* The run log: created for a fresh run, reopened (and cut back to the checkpoint) on resume. */
static rlae_status open_log(const rlae_config *cfg, int resume, int start, int n_members,
                            const rlae_vocab_union *vocab, rlae_runlog_meta_buf *mb, rlae_runlog **log,
                            char **path_out)
{
    char *path = cfg->log.hdf5 && cfg->log.hdf5[0] ? rlae_strdup(cfg->log.hdf5)
                                                    : rlae_path_join(cfg->run.out_dir, "run.h5");
    if (!path)
        return RLAE_ERR_NOMEM;
    rlae_status s;
    if (resume) {
        s = rlae_runlog_open_append(path, n_members, log);
        if (s == RLAE_OK)
            s = rlae_runlog_truncate_after(*log, start);
    } else {
        s = rlae_runlog_meta_from_config(cfg, 1, mb);
        mb->meta.vocab = vocab; /* so readers can show the tokens as text */
        /* a run.h5 in a run directory without a checkpoint is from a run that never finished its first
         * iteration: replaced. A log.hdf5 named in the config is never overwritten. */
        int own = !(cfg->log.hdf5 && cfg->log.hdf5[0]);
        if (s == RLAE_OK)
            s = rlae_runlog_create(path, &mb->meta, own, log);
    }
    if (s != RLAE_OK) {
        rlae_runlog_close(*log);
        *log = NULL;
        free(path);
        return s;
    }
    *path_out = path;
    return RLAE_OK;
}

typedef struct {
    rlae_ensemble ens;
    rlae_task_data train, eval;
    rlae_agent *agent;
    rlae_agent_policy act, greedy;
    span_buffer buf;
    char *ckpt;
    rlae_runlog *log;
    rlae_runlog_meta_buf meta;
    char *log_path;
    rlae_episode *ep; /* [episodes_per_iter] of the current iteration */
    char **prompts;
    int n_ep;
} trainer;

static void trainer_free(trainer *t)
{
    for (int j = 0; j < t->n_ep; j++) {
        rlae_episode_free(&t->ep[j]);
        free(t->prompts[j]);
    }
    free(t->ep);
    free(t->prompts);
    rlae_runlog_close(t->log);
    rlae_runlog_meta_buf_free(&t->meta);
    free(t->log_path);
    span_buffer_free(&t->buf);
    rlae_agent_policy_free(&t->act);
    rlae_agent_policy_free(&t->greedy);
    rlae_agent_free(t->agent);
    rlae_task_data_free(&t->train);
    rlae_task_data_free(&t->eval);
    rlae_ensemble_close(&t->ens);
    free(t->ckpt);
}

static rlae_status write_resolved_config(const rlae_config *cfg, const char *dir)
{
    char *path = rlae_path_join(dir, "config.yaml");
    if (!path)
        return RLAE_ERR_NOMEM;
    rlae_atomic_file af;
    rlae_status s = rlae_atomic_open(&af, path);
    if (s == RLAE_OK) {
        s = rlae_config_write_yaml(cfg, af.f);
        if (s == RLAE_OK)
            s = rlae_atomic_commit(&af);
        else
            rlae_atomic_abort(&af);
    }
    free(path);
    return s;
}

rlae_status rlae_train(const rlae_config *cfg, const rlae_train_options *opt, rlae_train_iteration *last)
{
    stop_requested = 0;
    if (cfg->ensemble.policy != RLAE_POLICY_AGENT)
        return rlae_fail(RLAE_ERR_INPUT, "ensemble.policy is %s: training needs policy agent (the baselines "
                         "learn nothing; compare them with rlae eval)",
                         rlae_config_enum_name("ensemble.policy", (int)cfg->ensemble.policy));
    trainer t;
    memset(&t, 0, sizeof t);
    /* several ranks (docs/distributed.md): rank 0 alone writes the run directory and prints */
    rlae_comm *comm = opt->comm;
    const int rank = rlae_comm_rank(comm), size = rlae_comm_size(comm), lead = rank == 0;
    const int model_par = size > 1 && cfg->dist.placement == RLAE_PLACE_MODEL_PARALLEL;
    FILE *out = lead ? opt->progress : NULL;
    const char *dir = cfg->run.out_dir;
    rlae_status s = lead ? rlae_mkdir_p(dir) : RLAE_OK;
    if (s == RLAE_OK && !(t.ckpt = rlae_train_checkpoint_path(dir)))
        s = RLAE_ERR_NOMEM;
    if (s == RLAE_OK && lead && !opt->resume && rlae_path_exists(t.ckpt))
        s = rlae_fail(RLAE_ERR_INPUT, "%s already holds a run (checkpoint.bin); resume it with --resume %s or "
                      "choose another run.out_dir", dir, dir);
    if (s == RLAE_OK && lead && !opt->resume)
        s = write_resolved_config(cfg, dir);
    int B = cfg->ensemble.batch_size, E = cfg->train.episodes_per_iter;
    /* model_parallel: member k's weights and forward on rank k % size only, the rollout wired to comm */
    if (s == RLAE_OK)
        s = rlae_ensemble_open_dist(&t.ens, cfg, B, model_par ? comm : NULL);
    if (s == RLAE_OK)
        s = rlae_task_data_load(cfg, "train", 0, &t.train);
    if (s == RLAE_OK)
        s = rlae_task_data_load(cfg, "eval", (size_t)cfg->train.eval_limit, &t.eval);
    rlae_agent_spec spec = agent_spec(cfg, &t.ens);
    int start = 0;
    if (s == RLAE_OK)
        s = opt->resume ? read_checkpoint_comm(comm, t.ckpt, &spec, &t.agent, &start) : rlae_agent_new(&spec, &t.agent);
    if (s == RLAE_OK)
        s = rlae_comm_check_equal(comm, rlae_agent_params(t.agent), sizeof(float) * rlae_agent_n_params(t.agent),
                                  "the initial agent parameters");
    int K = t.ens.n_members, spans = spec.max_spans - 1;
    if (s == RLAE_OK)
        s = rlae_agent_policy_init(&t.act, t.agent, K, B, spans, 0);
    if (s == RLAE_OK)
        s = rlae_agent_policy_init(&t.greedy, t.agent, K, B, spans, 1);
    if (s == RLAE_OK)
        s = span_buffer_init(&t.buf, E, spans, t.act.obs_dim, K, t.act.logp_width);
    if (s == RLAE_OK && (!(t.ep = rlae_calloc((size_t)E, sizeof *t.ep)) ||
                         !(t.prompts = rlae_calloc((size_t)E, sizeof *t.prompts))))
        s = RLAE_ERR_NOMEM;
    if (s == RLAE_OK && lead)
        s = open_log(cfg, opt->resume, start, K, t.ens.vu, &t.meta, &t.log, &t.log_path);
    if (s == RLAE_OK && out && size > 1) {
        fprintf(out, "train: %d ranks, dist.backend %s, dist.placement %s\n", size,
                rlae_config_enum_name("dist.backend", (int)rlae_comm_backend(comm)),
                rlae_config_enum_name("dist.placement", (int)cfg->dist.placement));
        fflush(out);
    }
    if (s == RLAE_OK && out) {
        fprintf(out, "train: %s, %d members, union %d, task %s (%zu train / %zu eval items), agent %s with %zu "
                "parameters, %s iteration %d of %d\n", dir, K, rlae_vocab_union_size(t.ens.vu), t.train.task->name,
                t.train.items.n, t.eval.items.n, rlae_config_enum_name("algorithm.name", (int)cfg->algorithm.name),
                rlae_agent_n_params(t.agent), opt->resume ? "resuming at" : "starting at", start + 1,
                cfg->train.iterations);
        fflush(out);
    }
    int iters = cfg->train.iterations;
    double *reward = rlae_malloc(sizeof(double) * (size_t)E);
    int *correct = rlae_malloc(sizeof(int) * (size_t)E);
    size_t *items = rlae_malloc(sizeof(size_t) * (size_t)E);
    uint32_t *ids = rlae_malloc(sizeof(uint32_t) * (size_t)E);
    size_t *counts = rlae_malloc(sizeof(size_t) * (size_t)size);
    rlae_record_buf rec = {0}, gathered = {0};
    if (s == RLAE_OK && (!reward || !correct || !items || !ids || !counts))
        s = RLAE_ERR_NOMEM;
    for (int it = start; it < iters && s == RLAE_OK; it++) {
        rlae_timer tm;
        rlae_timer_start(&tm);
        for (int j = 0; j < E; j++) {
            rlae_rng rng;
            rlae_rng_init(&rng, (uint64_t)cfg->run.seed, (uint32_t)it, RNG_ITEMS, (uint32_t)j);
            items[j] = rlae_rng_below(&rng, (uint32_t)t.train.items.n);
            ids[j] = (uint32_t)((uint64_t)it * (uint64_t)E + (uint64_t)j);
        }
        for (int j = 0; j < t.n_ep; j++) {
            rlae_episode_free(&t.ep[j]);
            free(t.prompts[j]);
            t.prompts[j] = NULL;
        }
        /* Rollout chunks of batch_size episodes, the same chunks for any number of ranks, so each is
         * computed with the identical batch. data_parallel: chunk q on rank q % size, then every
         * rank gathers every record; model_parallel: every rank takes part in every chunk. */
        rec.len = 0;
        for (int at = 0, q = 0; at < E && s == RLAE_OK; at += B, q++) {
            int m = E - at < B ? E - at : B;
            if (model_par || rlae_comm_chunk_owner(comm, q) == rank)
                s = run_batch(&t.ens, cfg, &t.train, items + at, ids + at, at, m, &t.act, &rec);
        }
        const rlae_record_buf *all = &rec;
        if (s == RLAE_OK && size > 1 && !model_par) {
            s = rlae_comm_allgather_size(comm, rec.len, counts);
            size_t total = 0;
            for (int r = 0; r < size; r++)
                total += counts[r];
            gathered.len = 0;
            if (s == RLAE_OK)
                s = rlae_record_buf_reserve(&gathered, total);
            if (s == RLAE_OK)
                s = rlae_comm_allgatherv(comm, rec.data, gathered.data, counts, RLAE_DEV_CPU);
            gathered.len = total;
            all = &gathered;
        }
        t.n_ep = E;
        if (s == RLAE_OK)
            s = read_records(all, E, t.act.obs_dim, K, t.act.logp_width, t.ep, t.prompts, reward, correct, &t.buf);
        double toks = 0, wsum[8] = {0};
        for (int j = 0; j < E && s == RLAE_OK; j++) {
            const rlae_episode *x = &t.ep[j];
            toks += x->n_tokens;
            for (int sp = 0; sp < x->n_spans; sp++)
                for (int k = 0; k < K; k++)
                    wsum[k] += x->span_weights[sp * K + k] / x->n_spans;
        }
        rlae_span_batch sb = {.n_episodes = t.buf.n_episodes, .offset = t.buf.offset, .obs = t.buf.obs,
                              .action = t.buf.action, .logp = t.buf.logp, .value = t.buf.value,
                              .reward = t.buf.reward, .terminated = t.buf.terminated, .bootstrap = t.buf.bootstrap};
        rlae_train_iteration row;
        memset(&row, 0, sizeof row);
        if (s == RLAE_OK && lead)
            s = log_iteration(t.log, cfg, &t.train, &t.buf, t.act.logp_width, it + 1, t.ep, t.prompts, items, reward,
                              correct);
        if (s == RLAE_OK)
            s = rlae_agent_update_comm(t.agent, &cfg->algorithm, &sb, it, iters, comm, &row.update);
        if (s == RLAE_OK && (it + 1) % DIST_CHECK_EVERY == 0)
            s = rlae_comm_check_equal(comm, rlae_agent_params(t.agent), sizeof(float) * rlae_agent_n_params(t.agent),
                                      "agent parameters");
        if (s != RLAE_OK)
            break;
        row.iteration = it + 1;
        for (int j = 0; j < E; j++) {
            row.reward += reward[j] / E;
            row.accuracy += (double)correct[j] / E;
        }
        row.mean_tokens = toks / E;
        for (int k = 0; k < K; k++)
            row.mean_weight[k] = wsum[k] / E;
        row.seconds = rlae_timer_elapsed(&tm);
        rlae_runlog_update ur = {.iteration = it + 1, .m = row.update, .seconds = row.seconds};
        if (lead && (s = rlae_runlog_append_update(t.log, &ur)) != RLAE_OK)
            break;
        if (out) {
            fprintf(out, "iter %d/%d reward %.3f acc %.3f len %.1f w=[", it + 1, iters, row.reward, row.accuracy,
                    row.mean_tokens);
            for (int k = 0; k < K; k++)
                fprintf(out, "%s%.3f", k ? " " : "", row.mean_weight[k]);
            fprintf(out, "] loss %.4f pg %.4f v %.4f ent %.3f kl %.4f clipfrac %.3f ev %.3f gnorm %.3f lr %.2e "
                    "%.1fs\n", row.update.loss, row.update.pg_loss, row.update.v_loss, row.update.entropy,
                    row.update.approx_kl, row.update.clipfrac, row.update.explained_variance, row.update.grad_norm,
                    row.update.lr, row.seconds);
            fflush(out);
        }
        if (last)
            *last = row;
        int final = it + 1 == iters, stop = 0;
        /* every rank stops after the same iteration */
        if ((s = rlae_comm_any(comm, stop_requested, &stop)) != RLAE_OK)
            break;
        int ev = cfg->train.eval_every;
        /* data_parallel: rank 0 evaluates alone; model_parallel: every rank holds part of the ensemble */
        if ((lead || model_par) && (final || (ev > 0 && (it + 1) % ev == 0))) {
            rlae_eval_options eo = rlae_eval_options_from_config(cfg);
            eo.items = &t.eval.items;
            eo.pool = &t.eval.pool;
            eo.items_split = t.eval.split;
            eo.limit = 0;
            rlae_eval_result er;
            s = rlae_evaluate(&t.ens, t.eval.task, &eo, &t.greedy.base, "agent", &er);
            rlae_runlog_eval rows[1 + RLAE_EVAL_MAX_GROUPS];
            char names[RLAE_EVAL_MAX_GROUPS][96]; /* the log keeps RLAE_RUNLOG_NAME_LEN - 1 bytes */
            int nr = 0;
            if (s == RLAE_OK) {
                rows[nr++] = (rlae_runlog_eval){.iteration = it + 1, .task = er.task, .method = "agent",
                                                .accuracy = er.accuracy, .ci_low = er.ci_low, .ci_high = er.ci_high,
                                                .n = (int64_t)er.n, .timed = 1, .tokens = er.tokens,
                                                .gen_seconds = er.gen_seconds};
                for (int g = 0; g < er.n_groups; g++) { /* one row per skill / subject: task/subject */
                    snprintf(names[g], sizeof names[g], "%s/%s", er.task, er.groups[g].name);
                    rows[nr++] = (rlae_runlog_eval){.iteration = it + 1, .task = names[g], .method = "agent",
                                                    .accuracy = er.groups[g].accuracy, .ci_low = er.groups[g].ci_low,
                                                    .ci_high = er.groups[g].ci_high, .n = (int64_t)er.groups[g].n};
                }
                s = lead ? rlae_runlog_append_eval(t.log, nr, rows) : RLAE_OK;
            }
            if (s == RLAE_OK && out) {
                fprintf(out, "eval iter %d: %s/%s accuracy %.3f [%.3f, %.3f] (n %zu, %s, deterministic weights)\n",
                        it + 1, er.task, er.split, er.accuracy, er.ci_low, er.ci_high, er.n, er.scoring);
                fflush(out);
            }
        }
        /* the log commits every log.flush_every iterations, and always right before a checkpoint, so
         * a resume never finds a checkpoint ahead of the log */
        int ce = cfg->train.checkpoint_every;
        int ckpt = final || stop || (ce > 0 && (it + 1) % ce == 0);
        if (s == RLAE_OK && lead && (ckpt || (it + 1) % cfg->log.flush_every == 0))
            s = rlae_runlog_flush(t.log, it + 1);
        if (s == RLAE_OK && lead && ckpt)
            s = write_checkpoint(t.ckpt, t.agent, it + 1);
        if (s == RLAE_OK && stop && !final) {
            if (out)
                fprintf(out, "train: stopped after iteration %d; checkpoint written; continue with --resume\n", it + 1);
            s = rlae_fail(RLAE_ERR_INTERRUPTED, "training stopped after iteration %d (checkpoint %s)", it + 1, t.ckpt);
        }
    }
    if (model_par && out && t.ens.ro) {
        const rlae_rollout_timing *tg = rlae_rollout_get_timing(t.ens.ro);
        if (tg->steps > 0 && tg->tokens > 0)
            fprintf(out, "train: model_parallel broadcasts of the members' outputs on rank 0 (waits for the slowest "
                    "member's rank included): %.3f ms per decoding step, %.1f us per generated token, %.1f KiB per "
                    "step\n", 1e3 * tg->comm / (double)tg->steps,
                    1e6 * tg->comm / (double)tg->tokens, (double)tg->comm_bytes / 1024.0 / (double)tg->steps);
    }
    free(reward);
    free(correct);
    free(items);
    free(ids);
    free(counts);
    rlae_record_buf_free(&rec);
    rlae_record_buf_free(&gathered);
    trainer_free(&t);
    return s;
}
