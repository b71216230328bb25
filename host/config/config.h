/* Typed run configuration: what a YAML config file (plus `base:` inheritance and key=value overrides)
 * resolves to. Every key, its type, default, allowed range or values and its one-line doc live in ONE
 * schema table (config_schema.c); loading, validation, `rlae config show` and `rlae config doc` are
 * all driven by it, so adding a key means adding one row there and one field here.
 *
 * After a successful rlae_config_load every string is non-NULL (possibly ""), every list is valid
 * (possibly empty) and every value is inside its documented range. */
#ifndef RLAE_CONFIG_H
#define RLAE_CONFIG_H

#include "core/status.h"

#include <stdbool.h>
#include <stdio.h>

/* Enumerations: the order of the values must match the "a|b|c" strings in config_schema.c; a unit
 * test checks every one against rlae_config_enum_name. */
typedef enum { RLAE_DEVICE_AUTO = 0, RLAE_DEVICE_CPU, RLAE_DEVICE_CUDA } rlae_device_choice;
typedef enum { RLAE_FORMAT_AUTO = 0, RLAE_FORMAT_HF, RLAE_FORMAT_LLAMA2C } rlae_model_format;
typedef enum { RLAE_DTYPE_AUTO = 0, RLAE_DTYPE_FP32, RLAE_DTYPE_FP16, RLAE_DTYPE_BF16 } rlae_dtype_choice;
typedef enum {
    RLAE_TEMPLATE_AUTO = 0,
    RLAE_TEMPLATE_NONE,
    RLAE_TEMPLATE_LLAMA2,
    RLAE_TEMPLATE_LLAMA3,
    RLAE_TEMPLATE_CHATML,
    RLAE_TEMPLATE_MISTRAL,
    RLAE_TEMPLATE_PLAIN
} rlae_chat_template_choice;
typedef enum { RLAE_DECODE_GREEDY = 0, RLAE_DECODE_SAMPLE } rlae_decoding;
typedef enum {
    RLAE_POLICY_SINGLE = 0,
    RLAE_POLICY_UNIFORM,
    RLAE_POLICY_SCORE,
    RLAE_POLICY_TOPK,
    RLAE_POLICY_GATED,
    RLAE_POLICY_AGENT
} rlae_policy;
typedef enum { RLAE_ALGO_PPO = 0, RLAE_ALGO_MAPPO } rlae_algorithm;
typedef enum {
    RLAE_TASK_GSM8K = 0,
    RLAE_TASK_ARC_CHALLENGE,
    RLAE_TASK_ARC_EASY,
    RLAE_TASK_MMLU,
    RLAE_TASK_PIQA,
    RLAE_TASK_HELLASWAG,
    RLAE_TASK_NQ_OPEN,
    RLAE_TASK_TRIVIAQA,
    RLAE_TASK_SYNTHETIC
} rlae_task_name;
typedef enum { RLAE_MC_GENERATE = 0, RLAE_MC_LOGLIK, RLAE_MC_LOGLIK_NORM } rlae_mc_scoring;
typedef enum { RLAE_DIST_SINGLE = 0, RLAE_DIST_MPI, RLAE_DIST_NCCL } rlae_dist_backend;
typedef enum { RLAE_PLACE_DATA_PARALLEL = 0, RLAE_PLACE_MODEL_PARALLEL } rlae_placement;

typedef struct {
    char **items;
    int n;
} rlae_str_list;

typedef struct {
    double *items;
    int n;
} rlae_float_list;

enum { RLAE_MAX_MEMBERS = 8 };

typedef struct {
    char *name;
    char *path;
    rlae_model_format format;
    char *tokenizer; /* "" = beside the checkpoint / inside the HF directory */
    rlae_dtype_choice dtype;
    rlae_chat_template_choice chat_template;
    double weight;
} rlae_member_config;

typedef struct {
    char *name;
    char *out_dir;
    int seed;
    rlae_device_choice device;
} rlae_run_config;

typedef struct {
    int span;
    int max_new_tokens;
    rlae_decoding decoding;
    double temperature;
    int top_k;
    double top_p;
    rlae_str_list stop;
    rlae_policy policy;
    char *single_member; /* "" = the first member */
    int topk;
    char *gate_member; /* "" = the first member */
    double gate_threshold;
    int batch_size;
} rlae_ensemble_config;

typedef struct {
    rlae_algorithm name;
    double lr;
    bool anneal_lr;
    double gamma;
    double gae_lambda;
    double clip;
    bool clip_value;
    double value_coef;
    double entropy_coef;
    double max_grad_norm;
    int epochs;
    int minibatches;
    double adam_eps;
    double target_kl; /* 0 = no early stop */
    double huber_delta;
    bool value_norm;
    bool share_params;
    double length_penalty;
} rlae_algorithm_config;

typedef struct {
    int hidden;
    int layers;
    int proj_dim;
    int span_embed_dim;
    double alpha_min;
    bool use_hidden;
} rlae_agent_config;

typedef struct {
    rlae_str_list skills;
    rlae_float_list proportions; /* empty = equal shares */
    int n_train;
    int n_test;
    int seed;
} rlae_synthetic_config;

typedef struct {
    rlae_task_name name;
    char *data_dir;    /* "" = $RLAE_DATA_DIR */
    char *train_split; /* "" = the task's default */
    char *eval_split;  /* "" = the task's default */
    int shots;         /* -1 = the task's default */
    int limit;         /* 0 = all items */
    rlae_mc_scoring mc_scoring;
    rlae_synthetic_config synthetic;
} rlae_task_config;

typedef struct {
    int iterations;
    int episodes_per_iter;
    int eval_every;
    int eval_limit; /* 0 = the whole evaluation split */
    int checkpoint_every;
} rlae_train_config;

typedef struct {
    char *hdf5; /* "" = <run.out_dir>/run.h5 */
    bool tokens;
    bool text;
    int flush_every;
} rlae_log_config;

typedef struct {
    rlae_dist_backend backend;
    rlae_placement placement;
} rlae_dist_config;

typedef struct {
    char *source; /* the top-level file it was loaded from ("" for a config built in memory) */
    rlae_run_config run;
    rlae_member_config *members;
    int n_members;
    /* optional encoder member (encoder.*): read like a member, pooled over the whole text, no vote;
     * encoder.path "" = none. Its name is always "encoder"; name and weight are not schema keys. */
    rlae_member_config encoder;
    rlae_ensemble_config ensemble;
    rlae_algorithm_config algorithm;
    rlae_agent_config agent;
    rlae_task_config task;
    rlae_train_config train;
    rlae_log_config log;
    rlae_dist_config dist;
} rlae_config;

/* Loads `path`, follows its `base:` chain, applies `overrides` ("key.sub=value", value in YAML
 * syntax, e.g. `ensemble.stop=["\n\n","Q:"]`, `members.1.weight=2`) in order, fills defaults and
 * validates. On failure `out` holds nothing to free and the message (rlae_last_error) names
 * file:line:column (or the override argument) and the key path; bad input returns RLAE_ERR_INPUT. */
rlae_status rlae_config_load(const char *path, int n_overrides, char **overrides, rlae_config *out);

/* The same from YAML text in memory; `name` is used in messages and relative `base:` paths are
 * resolved against the working directory. */
rlae_status rlae_config_load_string(const char *yaml, const char *name, int n_overrides,
                                    char **overrides, rlae_config *out);

void rlae_config_free(rlae_config *cfg);

/* True when every schema key has the same value in both (the `source` field is not compared). */
bool rlae_config_equal(const rlae_config *a, const rlae_config *b);

/* Index of a member by name, or -1. */
int rlae_config_member_index(const rlae_config *cfg, const char *name);

/* The fully resolved config as YAML, keys in schema order, every default written out. Loading the
 * output gives back an equal config. */
rlae_status rlae_config_write_yaml(const rlae_config *cfg, FILE *f);

/* The reference of every key generated from the schema: Markdown (docs/config.md) or plain text. */
rlae_status rlae_config_write_doc(FILE *f, int markdown);

/* Name of an enumerated value, e.g. ("ensemble.policy", RLAE_POLICY_TOPK) -> "topk"; NULL if the key
 * is not an enumeration or the value is out of range. */
const char *rlae_config_enum_name(const char *key, int value);

#endif
