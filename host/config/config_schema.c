/* THE schema: every config key with its type, default, allowed range or values and one-line doc.
 * This table is the single source for loading and validation (config_bind.c), for
 * `rlae config show` (config_emit.c, which prints keys in this order) and for the generated
 * reference `rlae config doc` / docs/config.md. Defaults are written in YAML syntax and parsed by the
 * same code as config files, so a default can never be something a user could not write.
 * To add a key: add the field to config.h, add a row here, regenerate docs/config.md. */
#include "config/config_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define OFF(f) offsetof(rlae_config, f)
#define MOFF(f) offsetof(rlae_member_config, f)
#define IMAX 2147483647.0

#define SECTION(p, doc) {p, CFG_SECTION, 0, NULL, 0, 0, 0, NULL, doc}
#define STR(p, off, def, doc) {p, CFG_STRING, off, def, 0, 0, 0, NULL, doc}
#define REQ_STR(p, off, doc) {p, CFG_STRING, off, NULL, CFG_REQUIRED, 0, 0, NULL, doc}
#define INT(p, off, def, lo, hi, doc) \
    {p, CFG_INT, off, def, CFG_HAS_MIN | CFG_HAS_MAX, lo, hi, NULL, doc}
#define FLT(p, off, def, flags, lo, hi, doc) {p, CFG_FLOAT, off, def, flags, lo, hi, NULL, doc}
#define BOOL(p, off, def, doc) {p, CFG_BOOL, off, def, 0, 0, 0, NULL, doc}
#define ENUM(p, off, def, values, doc) {p, CFG_ENUM, off, def, 0, 0, 0, values, doc}
#define STRS(p, off, def, doc) {p, CFG_STR_LIST, off, def, 0, 0, 0, NULL, doc}
#define FLTS(p, off, def, flags, lo, hi, doc) {p, CFG_FLOAT_LIST, off, def, flags, lo, hi, NULL, doc}

#define MIN_ONLY CFG_HAS_MIN
#define CLOSED (CFG_HAS_MIN | CFG_HAS_MAX)
#define POSITIVE (CFG_HAS_MIN | CFG_MIN_EXCL)

const cfg_key cfg_schema[] = {
    SECTION("run", "What the run is called, where it writes and how it is seeded."),
    STR("run.name", OFF(run.name), "\"\"",
        "Name of the run in logs and tables; empty = the config file's name without .yaml."),
    STR("run.out_dir", OFF(run.out_dir), "runs",
        "Directory for checkpoints and the HDF5 log, relative to the working directory rlae runs in."),
    INT("run.seed", OFF(run.seed), "1", 0, IMAX,
        "Seed of the counter-based RNG behind sampling, Dirichlet draws, data order and agent init."),
    ENUM("run.device", OFF(run.device), "auto", "auto|cpu|cuda",
         "Where members and agent run: auto = CUDA when built and a GPU is present, else CPU; "
         "cuda without a GPU is an error."),

    {"members", CFG_MEMBERS, OFF(members), NULL, CFG_REQUIRED | CFG_HAS_MIN | CFG_HAS_MAX, 1,
     RLAE_MAX_MEMBERS, NULL,
     "The ensemble's models: a list of 1 to 8 maps with the members[] keys below."},
    REQ_STR("members[].name", MOFF(name),
            "Unique short name (letters, digits, _ . -) used in logs, tables and ensemble.*_member."),
    REQ_STR("members[].path", MOFF(path),
            "HF model directory or llama2.c checkpoint (.bin); relative paths are relative to the "
            "working directory rlae runs in (the repository root for the shipped configs)."),
    ENUM("members[].format", MOFF(format), "auto", "auto|hf|llama2c",
         "Checkpoint format; auto = hf for a directory holding config.json, llama2c for a file."),
    STR("members[].tokenizer", MOFF(tokenizer), "\"\"",
        "Tokenizer file (llama2.c tokenizer.bin or HF tokenizer.json); empty = tokenizer.json inside an "
        "HF directory, tokenizer.bin beside a llama2.c checkpoint."),
    ENUM("members[].dtype", MOFF(dtype), "auto", "auto|fp32|fp16|bf16",
         "Compute dtype of the weights; auto = bf16 on CUDA, fp32 on the CPU."),
    ENUM("members[].chat_template", MOFF(chat_template), "auto",
         "auto|none|llama2|llama3|chatml|mistral|plain",
         "Prompt format; auto = from tokenizer_config.json, else plain; none = the raw prompt text."),
    FLT("members[].weight", MOFF(weight), "1.0", MIN_ONLY, 0, 0,
        "Fixed weight used by policy score (normalised over members); other policies ignore it."),

    SECTION("encoder", "Optional encoder member (METHOD.md section 4): a model that reads the question and "
            "the answer so far like a member (its own prompt format and tokens) but never votes; the agent "
            "sees the mean of its post-norm hidden states over every token of that text."),
    STR("encoder.path", OFF(encoder.path), "\"\"",
        "HF model directory or llama2.c checkpoint of the encoder; empty = no encoder. May be one of "
        "the members' models or any other."),
    ENUM("encoder.format", OFF(encoder.format), "auto", "auto|hf|llama2c",
         "Checkpoint format, as members[].format."),
    STR("encoder.tokenizer", OFF(encoder.tokenizer), "\"\"",
        "Tokenizer of the encoder, as members[].tokenizer (any tokenizer: it is not in the union)."),
    ENUM("encoder.dtype", OFF(encoder.dtype), "auto", "auto|fp32|fp16|bf16",
         "Compute dtype of the encoder's weights, as members[].dtype."),
    ENUM("encoder.chat_template", OFF(encoder.chat_template), "auto",
         "auto|none|llama2|llama3|chatml|mistral|plain",
         "How the encoder formats the prompt, as members[].chat_template."),

    SECTION("ensemble", "How the members write one answer together (METHOD.md section 3)."),
    INT("ensemble.span", OFF(ensemble.span), "8", 1, 4096,
        "Tokens per span: weights chosen at a decision point hold for this many tokens."),
    INT("ensemble.max_new_tokens", OFF(ensemble.max_new_tokens), "256", 1, 1048576,
        "Longest answer in tokens; reaching it truncates the episode (GAE bootstraps there)."),
    ENUM("ensemble.decoding", OFF(ensemble.decoding), "greedy", "greedy|sample",
         "greedy = argmax of the mixed distribution; sample = draw from it using temperature, top_k "
         "and top_p."),
    FLT("ensemble.temperature", OFF(ensemble.temperature), "1.0", MIN_ONLY, 0, 0,
        "Sampling temperature applied to the mixed distribution (q^(1/T)); 0 = greedy."),
    INT("ensemble.top_k", OFF(ensemble.top_k), "0", 0, IMAX,
        "Sample only among the k most likely union tokens; 0 = off."),
    FLT("ensemble.top_p", OFF(ensemble.top_p), "1.0", CLOSED | CFG_MIN_EXCL, 0, 1,
        "Nucleus sampling: the smallest set of union tokens holding this much probability; 1 = off."),
    STRS("ensemble.stop", OFF(ensemble.stop), "[]",
         "Strings that end an answer, matched on the generated bytes, e.g. [\"\\n\\n\", \"Q:\"]."),
    ENUM("ensemble.policy", OFF(ensemble.policy), "agent", "single|uniform|score|topk|gated|agent",
         "How weights are chosen: one member alone, uniform average, members[].weight (GaC score), "
         "union of top-k (UniTE), GaC gated, or the RL agent."),
    STR("ensemble.single_member", OFF(ensemble.single_member), "\"\"",
        "Member that generates alone under policy single; empty = the first member."),
    INT("ensemble.topk", OFF(ensemble.topk), "10", 1, IMAX,
        "k of policy topk: candidates are the union of each member's k most likely tokens."),
    STR("ensemble.gate_member", OFF(ensemble.gate_member), "\"\"",
        "Primary member of policy gated; empty = the first member."),
    FLT("ensemble.gate_threshold", OFF(ensemble.gate_threshold), "0.5", CLOSED, 0, 1,
        "Policy gated ensembles only while the primary member's top probability is below this."),
    INT("ensemble.batch_size", OFF(ensemble.batch_size), "8", 1, 65536,
        "Sequences decoded together in one rollout batch."),

    SECTION("algorithm", "The RL algorithm that trains the agent (METHOD.md section 5)."),
    ENUM("algorithm.name", OFF(algorithm.name), "ppo", "ppo|mappo",
         "ppo = one Dirichlet policy over the weights (RLAE_PPO); mappo = one Normal-logit agent per "
         "member with a centralised critic (RLAE_MAPPO)."),
    FLT("algorithm.lr", OFF(algorithm.lr), "3.0e-4", CLOSED | CFG_MIN_EXCL, 0, 1,
        "Adam learning rate."),
    BOOL("algorithm.anneal_lr", OFF(algorithm.anneal_lr), "false",
         "Anneal the learning rate linearly to 0 over train.iterations."),
    FLT("algorithm.gamma", OFF(algorithm.gamma), "0.99", CLOSED, 0, 1, "Discount per span step."),
    FLT("algorithm.gae_lambda", OFF(algorithm.gae_lambda), "0.95", CLOSED, 0, 1,
        "Lambda of generalised advantage estimation."),
    FLT("algorithm.clip", OFF(algorithm.clip), "0.2", CLOSED | CFG_MIN_EXCL, 0, 1,
        "PPO ratio clip epsilon."),
    BOOL("algorithm.clip_value", OFF(algorithm.clip_value), "false",
         "Clip the value update to within algorithm.clip of the old value."),
    FLT("algorithm.value_coef", OFF(algorithm.value_coef), "0.5", MIN_ONLY, 0, 0,
        "Weight of the value loss in the total loss."),
    FLT("algorithm.entropy_coef", OFF(algorithm.entropy_coef), "0.01", MIN_ONLY, 0, 0,
        "Weight of the entropy bonus."),
    FLT("algorithm.max_grad_norm", OFF(algorithm.max_grad_norm), "0.5", MIN_ONLY, 0, 0,
        "Global gradient-norm clip; 0 = off."),
    INT("algorithm.epochs", OFF(algorithm.epochs), "4", 1, 100,
        "Passes over the rollout buffer per update."),
    INT("algorithm.minibatches", OFF(algorithm.minibatches), "4", 1, 65536,
        "Minibatches per epoch."),
    FLT("algorithm.adam_eps", OFF(algorithm.adam_eps), "1.0e-5", POSITIVE, 0, 0,
        "Epsilon of Adam's denominator."),
    FLT("algorithm.target_kl", OFF(algorithm.target_kl), "0.0", MIN_ONLY, 0, 0,
        "Stop an update's remaining epochs once approx-KL exceeds this; 0 = off."),
    FLT("algorithm.huber_delta", OFF(algorithm.huber_delta), "10.0", POSITIVE, 0, 0,
        "Delta of the Huber value loss (mappo)."),
    BOOL("algorithm.value_norm", OFF(algorithm.value_norm), "false",
         "Normalise value targets by a running, debiased mean and variance; GAE uses "
         "de-normalised values."),
    BOOL("algorithm.share_params", OFF(algorithm.share_params), "true",
         "mappo: all agents share one network, told apart by a member-id embedding."),
    FLT("algorithm.length_penalty", OFF(algorithm.length_penalty), "0.0", MIN_ONLY, 0, 0,
        "Subtracted from the terminal reward per generated token; 0 = no shaping."),

    SECTION("agent", "The network that turns per-member features into weights (METHOD.md section 4)."),
    INT("agent.hidden", OFF(agent.hidden), "64", 1, 65536, "Width of the MLP's hidden layers."),
    INT("agent.layers", OFF(agent.layers), "2", 1, 16, "Hidden layers of the MLP."),
    INT("agent.proj_dim", OFF(agent.proj_dim), "32", 1, 65536,
        "Width each member's final hidden state is projected to."),
    INT("agent.span_embed_dim", OFF(agent.span_embed_dim), "8", 1, 4096,
        "Size of the learned span-index embedding."),
    FLT("agent.alpha_min", OFF(agent.alpha_min), "1.0e-4", POSITIVE, 0, 0,
        "Added to softplus(head) so Dirichlet concentrations stay positive (ppo)."),
    BOOL("agent.use_hidden", OFF(agent.use_hidden), "true",
         "Feed the members' final hidden states to the agent; false = scalar features only "
         "(entropy, top-1 probability, span log-probability, agreement)."),

    SECTION("task", "What the ensemble is asked and how answers are scored (METHOD.md section 6)."),
    ENUM("task.name", OFF(task.name), "synthetic",
         "gsm8k|arc_challenge|arc_easy|mmlu|piqa|hellaswag|nq_open|triviaqa|synthetic",
         "Benchmark task; synthetic needs no data files."),
    STR("task.data_dir", OFF(task.data_dir), "\"\"", "Dataset root; empty = $RLAE_DATA_DIR."),
    STR("task.train_split", OFF(task.train_split), "\"\"",
        "Split the agent trains on; empty = the task's default (train, or val for mmlu)."),
    STR("task.eval_split", OFF(task.eval_split), "\"\"",
        "Split evaluated on; empty = the task's default (test, or the validation split where the "
        "test labels are not public)."),
    INT("task.shots", OFF(task.shots), "-1", -1, 64,
        "Few-shot examples in each prompt; -1 = the task's default (e.g. 8 for gsm8k, 5 for mmlu)."),
    INT("task.limit", OFF(task.limit), "0", 0, IMAX, "Use at most this many items of a split; 0 = all."),
    ENUM("task.mc_scoring", OFF(task.mc_scoring), "generate", "generate|loglik|loglik_norm",
         "Multiple-choice tasks: generate the answer letter, or pick the option with the highest "
         "(length-normalised) log-likelihood."),
    SECTION("task.synthetic", "Synthetic skill tasks (task.name synthetic), generated on the fly."),
    STRS("task.synthetic.skills", OFF(task.synthetic.skills), "[addition, reversal, counting, copy]",
         "Skills to mix; the synthetic task family checks the names."),
    FLTS("task.synthetic.proportions", OFF(task.synthetic.proportions), "[]", MIN_ONLY, 0, 0,
         "Share of each skill, one per entry of skills; empty = equal shares."),
    INT("task.synthetic.n_train", OFF(task.synthetic.n_train), "1000", 1, IMAX,
        "Items in the generated training split."),
    INT("task.synthetic.n_test", OFF(task.synthetic.n_test), "200", 1, IMAX,
        "Items in the generated test split."),
    INT("task.synthetic.seed", OFF(task.synthetic.seed), "1234", 0, IMAX,
        "Seed of the generator, separate from run.seed so the items stay fixed across runs."),

    SECTION("train", "The training loop: iterations of rollouts, an update, periodic evaluation."),
    INT("train.iterations", OFF(train.iterations), "100", 1, IMAX, "Training iterations."),
    INT("train.episodes_per_iter", OFF(train.episodes_per_iter), "32", 1, IMAX,
        "Episodes (questions) rolled out per iteration."),
    INT("train.eval_every", OFF(train.eval_every), "10", 0, IMAX,
        "Evaluate every this many iterations; 0 = only at the end."),
    INT("train.eval_limit", OFF(train.eval_limit), "0", 0, IMAX,
        "Items per periodic evaluation; 0 = the whole evaluation split."),
    INT("train.checkpoint_every", OFF(train.checkpoint_every), "10", 0, IMAX,
        "Write a checkpoint (atomically) every this many iterations; 0 = only at the end."),

    SECTION("log", "The HDF5 run log."),
    STR("log.hdf5", OFF(log.hdf5), "\"\"", "Path of the HDF5 log; empty = <run.out_dir>/run.h5."),
    BOOL("log.tokens", OFF(log.tokens), "true",
         "Log every generated token with each member's probability of it (/tokens)."),
    BOOL("log.text", OFF(log.text), "true", "Log prompts, responses and gold answers as text (/text)."),
    INT("log.flush_every", OFF(log.flush_every), "1", 1, IMAX,
        "Flush the log every this many iterations."),

    SECTION("dist", "Multi-process runs, launched with mpirun or srun."),
    ENUM("dist.backend", OFF(dist.backend), "single", "single|mpi|nccl",
         "Communication: single process, MPI (host buffers) or NCCL (device buffers)."),
    ENUM("dist.placement", OFF(dist.placement), "data_parallel", "data_parallel|model_parallel",
         "data_parallel = every rank holds all members and a share of the prompts; model_parallel = "
         "members spread over ranks."),
};
const int cfg_schema_len = (int)(sizeof cfg_schema / sizeof cfg_schema[0]);

const cfg_key *cfg_schema_find(const char *path)
{
    for (int i = 0; i < cfg_schema_len; i++)
        if (strcmp(cfg_schema[i].path, path) == 0)
            return &cfg_schema[i];
    return NULL;
}

int cfg_enum_count(const cfg_key *k)
{
    if (k->type != CFG_ENUM)
        return -1;
    int n = 1;
    for (const char *p = k->values; *p; p++)
        n += *p == '|';
    return n;
}

const char *cfg_enum_value(const cfg_key *k, int i, char *buf, size_t cap)
{
    if (k->type != CFG_ENUM || i < 0)
        return NULL;
    const char *p = k->values;
    for (; i > 0; i--) {
        p = strchr(p, '|');
        if (!p)
            return NULL;
        p++;
    }
    size_t len = strcspn(p, "|");
    if (len >= cap)
        len = cap - 1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return buf;
}

static void format_bound(const cfg_key *k, double v, char *buf, size_t cap)
{
    if (k->type == CFG_INT)
        snprintf(buf, cap, "%d", (int)v);
    else
        snprintf(buf, cap, "%g", v);
}

void cfg_range_text(const cfg_key *k, char *buf, size_t cap)
{
    char lo[32], hi[32];
    format_bound(k, k->min, lo, sizeof lo);
    format_bound(k, k->max, hi, sizeof hi);
    /* An int whose only upper bound is INT_MAX reads better as a one-sided range. */
    int has_max = (k->flags & CFG_HAS_MAX) && !(k->type == CFG_INT && k->max >= IMAX);
    int has_min = (k->flags & CFG_HAS_MIN) != 0;
    if (has_min && has_max)
        snprintf(buf, cap, "%s%s, %s%s", k->flags & CFG_MIN_EXCL ? "(" : "[", lo, hi,
                 k->flags & CFG_MAX_EXCL ? ")" : "]");
    else if (has_min)
        snprintf(buf, cap, "%s %s", k->flags & CFG_MIN_EXCL ? ">" : ">=", lo);
    else if (has_max)
        snprintf(buf, cap, "%s %s", k->flags & CFG_MAX_EXCL ? "<" : "<=", hi);
    else
        buf[0] = '\0';
}

const char *cfg_key_leaf(const cfg_key *k)
{
    const char *dot = strrchr(k->path, '.');
    return dot ? dot + 1 : k->path;
}

const char *rlae_config_enum_name(const char *key, int value)
{
    /* Enum names are static, so hand out a pointer into a small ring of buffers. */
    static _Thread_local char bufs[4][64];
    static _Thread_local int next;
    const cfg_key *k = cfg_schema_find(key);
    if (!k || k->type != CFG_ENUM)
        return NULL;
    char *buf = bufs[next++ % 4];
    return cfg_enum_value(k, value, buf, sizeof bufs[0]);
}

void *cfg_field(const cfg_key *k, rlae_config *cfg, rlae_member_config *m)
{
    if (strncmp(k->path, CFG_MEMBER_PREFIX, strlen(CFG_MEMBER_PREFIX)) == 0)
        return (char *)m + k->offset;
    return (char *)cfg + k->offset;
}

const void *cfg_field_c(const cfg_key *k, const rlae_config *cfg, const rlae_member_config *m)
{
    return cfg_field(k, (rlae_config *)cfg, (rlae_member_config *)m);
}
