/* Task environments: the shared interface every task family implements.
 *
 * A task turns dataset files into items (load), an item into plain prompt text with few-shot
 * examples (format; each member applies its own chat template afterwards), generated text into an
 * answer (extract) and an answer into a reward in [0, 1] (score). Rewards and accuracy tables are
 * only as trustworthy as these scorers, so every family's extraction rule is written down next to
 * its code and unit-tested on tricky cases.
 *
 * Families (one file each): gsm8k.c, arc.c, mmlu.c, piqa.c, hellaswag.c, qa.c (NQ-open, TriviaQA),
 * synthetic.c (seeded demo tasks); mc.c holds the multiple-choice rules they share, jsonl.c the
 * line reader, registry.c the name -> task table, metrics.c means and bootstrap intervals.
 *
 * Data layout under data_dir is the one ../shared/data uses (see tools/fetch-data.sh):
 *   gsm8k/{train,test}.jsonl          arc/ARC-{Challenge,Easy}/ARC-*-{Train,Dev,Test}.jsonl
 *   mmlu/{dev,val,test}/<subject>_<split>.csv                 piqa/{train,valid}.jsonl + *-labels.lst
 *   hellaswag/hellaswag_val_full.txt.bz2                      nq_open/NQ-open.{train,dev}.jsonl
 *   triviaqa/unfiltered-web-{train,dev}.json (official JSON) */
#ifndef RLAE_ENVS_ENV_H
#define RLAE_ENVS_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define ENV_MAX_CHOICES 8

/* What an answer is, which decides extraction and scoring. */
typedef enum {
    ENV_ANSWER_NUMBER, /* GSM8K: a number compared numerically */
    ENV_ANSWER_CHOICE, /* ARC, MMLU, PIQA, HellaSwag: an option letter A.. */
    ENV_ANSWER_TEXT,   /* NQ-open, TriviaQA: free text, EM and F1 against several gold strings */
    ENV_ANSWER_EXACT   /* synthetic: one exact string */
} env_answer_kind;

typedef struct {
    char *id;          /* stable id: the dataset's own where it has one, else "<task>/<split>/<index>" */
    const char *task;  /* the task's name (static) */
    char *subject;     /* MMLU subject or synthetic skill; NULL otherwise */
    char *question;    /* question, goal (PIQA) or context (HellaSwag) */
    char *context;     /* extra passage shown before the question; NULL when none */
    int n_choices;     /* 0 unless multiple choice */
    char *choices[ENV_MAX_CHOICES];
    char labels[ENV_MAX_CHOICES][4]; /* the dataset's own labels ("A".."E", "1".."5"); prompts always
                                      * show A, B, C... so one letter extractor serves every task */
    int gold_choice;   /* index into choices; -1 when unknown (PIQA tests split) or not MC */
    int n_gold;        /* gold answer strings: QA aliases, GSM8K number, synthetic answer */
    char **gold;
    double gold_number; /* GSM8K */
    char *rationale;   /* GSM8K solution text without the final "#### n" line (few-shot CoT) */
} env_item;

typedef struct {
    env_item *v;
    size_t n, cap;
} env_items;

void env_items_free(env_items *items);

/* The scorer's verdict. For TEXT tasks reward = EM and f1 is reported beside it; for the others
 * em = correct and f1 = reward. */
typedef struct {
    double reward; /* in [0, 1] */
    int correct;
    double em, f1;
} env_score;

typedef enum {
    ENV_STYLE_GENERATE, /* the model is asked to write its answer ("The answer is B.") */
    ENV_STYLE_LOGLIK    /* context only; options are ranked by env_mc_continuation log-likelihoods */
} env_style;

typedef struct {
    int n_shots;        /* -1: the task's default (GSM8K 8, MMLU 5, others 0) */
    uint64_t seed;      /* few-shot selection seed */
    int per_item_shots; /* 0: the same shots for every item (shared prompt prefix); 1: drawn per item */
    env_style style;
} env_format_opts;

/* Options of the synthetic task (synthetic.c). Weights need not sum to 1; a zero weight disables
 * the skill. */
enum { ENV_SKILL_ADD, ENV_SKILL_REVERSE, ENV_SKILL_COUNT, ENV_SKILL_COPY, ENV_N_SKILLS };
typedef struct {
    uint64_t seed;
    double weights[ENV_N_SKILLS];
    int min_len, max_len;  /* digits per addend; characters of the strings */
    double test_fraction;  /* share of the item space hashed into the test split, in (0, 1) */
} env_synthetic_config;

typedef struct env_task env_task;

struct env_task {
    const char *name;
    const char *description;
    env_answer_kind kind;
    const char *const *splits; /* NULL-terminated; splits the loader knows */
    const char *eval_split;    /* the split papers report on */
    const char *shot_split;    /* where few-shot examples come from; NULL: none exists */
    int default_shots;
    int shots_same_subject; /* MMLU: the first k pool items of the item's subject, in file order */
    /* Reads `split` under data_dir; limit 0 = all. Malformed input: RLAE_ERR_INPUT naming file:line. */
    rlae_status (*load)(const env_task *t, const char *data_dir, const char *split, size_t limit,
                        env_items *out);
    /* Whether the split's files exist under data_dir (for `rlae data check`); fills the path shown. */
    int (*present)(const env_task *t, const char *data_dir, const char *split, char *path, size_t cap);
    /* Writes the prompt for `item` with `n` shots (already selected) into a malloc'd string. */
    char *(*format)(const env_task *t, const env_item *item, const env_item *const *shots, int n,
                    env_style style);
    /* Answer from generated text, malloc'd; NULL when the text holds none (scores 0). */
    char *(*extract)(const env_task *t, const char *text);
    env_score (*score)(const env_task *t, const char *answer, const env_item *item);
    /* What a model that knows the gold answer writes ("The answer is B.", "... #### 42"). */
    char *(*gold_response)(const env_task *t, const env_item *item);
    const void *params; /* family-specific (ARC variant, synthetic config) */
};

/* ---- registry (registry.c) ---- */
const env_task *env_task_find(const char *name);
/* The i-th registered task, NULL past the end. */
const env_task *env_task_at(int i);

/* Loads with a fresh error message naming the task and split. */
rlae_status env_load(const env_task *t, const char *data_dir, const char *split, size_t limit,
                     env_items *out);

/* ---- few-shot selection and prompts (env.c) ---- */
/* Picks up to k distinct indices of `pool` as shots for `item`: a pure function of (seed, item id
 * when per_item, k, pool), never the item itself (same id or question). MMLU instead takes the
 * first k dev items of the item's subject in file order, as Hendrycks et al. do. Returns the count. */
int env_select_shots(const env_task *t, const env_items *pool, const env_item *item, int k,
                     uint64_t seed, int per_item, const env_item **out);
/* Prompt for item with shots from pool (pool may be NULL: zero-shot). malloc'd; NULL on ENOMEM. */
char *env_prompt(const env_task *t, const env_item *item, const env_items *pool,
                 const env_format_opts *opts);

/* Scores generated text: extract then score (no answer = 0). */
env_score env_score_text(const env_task *t, const char *text, const env_item *item);

/* ---- multiple choice (mc.c) ---- */
/* Option letter index from generated text, -1 if none; rule documented in mc.c. */
int env_mc_extract_index(const char *text, int n_choices);
/* The string whose log-likelihood a scorer compares for option i: " " + the option text. */
const char *env_mc_continuation(const env_item *item, int i, char *buf, size_t cap);
typedef struct {
    int raw;       /* argmax of total log-likelihood */
    int per_token; /* argmax of loglik / tokens */
    int per_byte;  /* argmax of loglik / bytes (lm-eval-harness acc_norm) */
} env_mc_pick;
/* Picks among n options; ties go to the lower index; options with count 0 are skipped by the
 * normalised picks. Returns -1 fields when n <= 0. */
env_mc_pick env_mc_pick_loglik(const double *loglik, const int *n_tokens, const int *n_bytes, int n);

/* ---- answers (gsm8k.c, qa.c) ---- */
/* Parses a number the way GSM8K answers are written ("$1,234.50", "-3", "5 apples"): 1 and *v on
 * success, 0 if s does not start with one (after currency signs and spaces). */
int env_parse_number(const char *s, double *v);
/* GSM8K extraction: the number after the first "The answer is" / "####", else the last number. */
char *env_gsm8k_extract_number(const char *text);
/* SQuAD normalisation: lowercase, drop punctuation and a/an/the, collapse whitespace. malloc'd. */
char *env_qa_normalize(const char *s);
double env_qa_exact_match(const char *pred, const char *const *golds, int n_golds);
double env_qa_f1(const char *pred, const char *const *golds, int n_golds);

/* ---- MMLU aggregation (mmlu.c) ---- */
typedef struct {
    char *subject;
    int n, n_correct;
    double accuracy;
} env_subject_acc;
typedef struct {
    env_subject_acc *subjects; /* sorted by name */
    int n_subjects;
    double micro; /* correct / items */
    double macro; /* mean of per-subject accuracies */
} env_group_acc;
/* Groups items by subject (NULL subject counts as "") and averages correct[i] in {0,1}. */
rlae_status env_group_accuracy(const env_items *items, const int *correct, env_group_acc *out);
void env_group_acc_free(env_group_acc *g);

/* ---- synthetic (synthetic.c) ---- */
void env_synthetic_default_config(env_synthetic_config *cfg);
/* Items [start, start+n) of split "train" or "test": item i is a pure function of (cfg, split, i),
 * and an item text never lands in both splits (hashed into its split by construction). */
rlae_status env_synthetic_generate(const env_synthetic_config *cfg, const char *split, size_t start,
                                   size_t n, env_items *out);
const char *env_synthetic_skill_name(int skill);

#endif
