/* The HDF5 run file (docs/runlog.md is the schema): what a training or evaluation run did, episode by
 * episode, readable while the run is going (SWMR) and after it was killed at any point.
 *
 * Writer, per iteration:
 *     rlae_runlog_append_episodes(log, n, eps);   // episodes, their spans, tokens and text
 *     rlae_runlog_append_update(log, &row);       // one /updates row (training)
 *     rlae_runlog_append_eval(log, n, rows);      // /eval rows (when evaluated)
 *     rlae_runlog_flush(log, iteration);          // commits: readers and resumes see it from now on
 * With log.flush_every = N the trainer flushes every N-th iteration (a kill then loses at most the
 * N-1 iterations since the last flush). Rows appended after the last flush are not part of the
 * file's content: a reader ignores them and rlae_runlog_open_append drops them. A commit is one
 * /iterations row holding every table's length, written and flushed after the tables themselves, so
 * a kill between two writes never exposes half an iteration.
 *
 * Resume from a checkpoint taken at iteration N: rlae_runlog_open_append, then
 * rlae_runlog_truncate_after(log, N) before the first append, so the resumed run continues with no
 * duplicate and no gap.
 *
 * Reader (runlog_read.c): rlae_runlog_reader_open checks the file is an rlae run file of a known
 * schema version (anything else is RLAE_ERR_INPUT with the reason), reads /meta, and gives rows of
 * every table up to the last commit; rlae_runlog_reader_refresh picks up new commits of a live run. */
#ifndef RLAE_IO_RUNLOG_H
#define RLAE_IO_RUNLOG_H

#include <stddef.h>
#include <stdint.h>

#include "algorithms/agent.h"
#include "config/config.h"
#include "core/status.h"
#include "ensemble/rollout.h"

#define RLAE_RUNLOG_SCHEMA_VERSION 2 /* 2: /episodes gained `subject`; /eval `tokens`, `gen_seconds` (optional) */
#define RLAE_RUNLOG_FORMAT "rlae-runlog" /* /meta attribute `format`: identifies the file */
#define RLAE_RUNLOG_NAME_LEN 32          /* fixed-size string columns (task, method), NUL included */

/* ---- metadata (/meta attributes), fixed when the file is created ---------------------------- */
typedef struct {
    int n_members;                       /* K, 1..RLAE_MAX_MEMBERS; fixed for the file */
    const char *const *member_names;     /* [K] */
    const char *const *weight_sha256;    /* [K] hex, "" when unknown; NULL: all unknown */
    const char *const *tokenizer_sha256; /* [K] hex, "" when unknown; NULL: all unknown */
    const char *config_yaml;             /* resolved config (rlae_config_write_yaml); NULL: "" */
    int n_seeds;
    const char *const *seed_names; /* [n_seeds], e.g. "run.seed" */
    const int64_t *seeds;          /* [n_seeds] */
    int log_tokens;                /* write /tokens rows */
    int log_text;                  /* write /text rows */
    /* the ensemble's union vocabulary, stored as /union_bytes + /union_offsets so readers can show
     * /tokens as text; NULL: not stored */
    const struct rlae_vocab_union *vocab;
} rlae_runlog_meta;

/* Owns what rlae_runlog_meta_from_config fills (meta points into it). */
typedef struct {
    rlae_runlog_meta meta;
    char *names[RLAE_MAX_MEMBERS];
    char weight_hex[RLAE_MAX_MEMBERS][65];
    char tok_hex[RLAE_MAX_MEMBERS][65];
    const char *names_c[RLAE_MAX_MEMBERS], *weight_c[RLAE_MAX_MEMBERS], *tok_c[RLAE_MAX_MEMBERS];
    const char *seed_names[4];
    int64_t seeds[4];
    char *yaml;
} rlae_runlog_meta_buf;

/* Fills `out` from a resolved config: YAML, member names, SHA-256 of every member's weights (a file,
 * or a directory's *.safetensors / *.bin) and tokenizer (the configured one; else tokenizer.json in
 * an HF directory or tokenizer.bin beside a llama2.c checkpoint; "" when none is found), seeds and
 * the log switches. hash = 0 skips hashing (all ""). Free with rlae_runlog_meta_buf_free. */
rlae_status rlae_runlog_meta_from_config(const rlae_config *cfg, int hash, rlae_runlog_meta_buf *out);
void rlae_runlog_meta_buf_free(rlae_runlog_meta_buf *b);

/* ---- rows as the writer takes them ----------------------------------------------------------- */
typedef struct {
    const rlae_episode *ep; /* tokens, probabilities, spans and weights, end reason, response text */
    int64_t id;             /* episode id (the rollout's sampling key) */
    int iteration;
    const char *task;    /* task name (truncated to RLAE_RUNLOG_NAME_LEN - 1 bytes) */
    const char *subject; /* the item's MMLU subject or synthetic skill; NULL: "" */
    int64_t item;        /* index of the item in its split */
    float reward;
    int correct;
    const char *prompt, *gold; /* may be NULL ("") */
    /* per span, each may be NULL (-> NaN): */
    const float *policy; /* [n_spans, K] policy parameters (Dirichlet alpha, Normal mu, ...) */
    const float *logp, *value, *advantage, *ret; /* [n_spans] */
} rlae_runlog_episode;

typedef struct {
    int iteration;
    rlae_update_metrics m;
    double seconds; /* wall time of the whole iteration */
} rlae_runlog_update;

typedef struct {
    int iteration;
    const char *task, *method;
    double accuracy, ci_low, ci_high;
    int64_t n;
    /* timed != 0: tokens generated (0 for log-likelihood scoring) and the seconds spent generating
     * (or scoring) them, as rlae_eval_result has them. timed == 0 (rows without a measurement, e.g.
     * per-subject rows): stored as tokens -1, gen_seconds NaN. */
    int timed;
    int64_t tokens;
    double gen_seconds;
} rlae_runlog_eval;

typedef struct rlae_runlog rlae_runlog;

/* Creates `path` (an existing file is RLAE_ERR_INPUT unless overwrite != 0), writes /meta and every
 * table, and starts SWMR writing. */
rlae_status rlae_runlog_create(const char *path, const rlae_runlog_meta *meta, int overwrite,
                               rlae_runlog **out);

/* Opens an existing run file to append (resume). Checks format, schema version and that it has
 * n_members members (0: take the file's). Drops rows past the last commit (a run killed mid-write).
 * A file left open by a killed writer is accepted: only one writer must ever append. */
rlae_status rlae_runlog_open_append(const char *path, int n_members, rlae_runlog **out);

/* Drops every row of iterations > `iteration` and commits. Only before the first append after
 * open_append (HDF5 cannot shrink datasets once SWMR writing started): RLAE_ERR_RUNTIME otherwise. */
rlae_status rlae_runlog_truncate_after(rlae_runlog *log, int iteration);

rlae_status rlae_runlog_append_episodes(rlae_runlog *log, int n, const rlae_runlog_episode *eps);
rlae_status rlae_runlog_append_update(rlae_runlog *log, const rlae_runlog_update *u);
rlae_status rlae_runlog_append_eval(rlae_runlog *log, int n, const rlae_runlog_eval *rows);
/* Commits everything appended so far as complete through `iteration`, and flushes it to disk. */
rlae_status rlae_runlog_flush(rlae_runlog *log, int iteration);

/* The iteration of the last commit (-1 if none). */
int rlae_runlog_last_iteration(const rlae_runlog *log);
int rlae_runlog_n_members(const rlae_runlog *log);

/* Closes the file (uncommitted rows are left as they are: invisible, dropped by the next open_append).
 * Safe on NULL. */
rlae_status rlae_runlog_close(rlae_runlog *log);

/* ---- rows as stored (and as the reader returns them) ----------------------------------------- */
typedef enum {
    RLAE_RUNLOG_EPISODES = 0,
    RLAE_RUNLOG_SPANS,
    RLAE_RUNLOG_TOKENS,
    RLAE_RUNLOG_TEXT,
    RLAE_RUNLOG_UPDATES,
    RLAE_RUNLOG_EVAL,
    RLAE_RUNLOG_ITERATIONS,
    RLAE_RUNLOG_N_TABLES
} rlae_runlog_table;

/* "episodes", "spans", ...; NULL when out of range */
const char *rlae_runlog_table_name(rlae_runlog_table t);
/* table by name (with or without the leading '/'); -1 when unknown */
int rlae_runlog_table_from_name(const char *name);

typedef struct {
    int64_t id;
    int32_t iteration;
    char task[RLAE_RUNLOG_NAME_LEN];
    char subject[RLAE_RUNLOG_NAME_LEN]; /* "" when the task has none (schema 2; "" in schema-1 files) */
    int64_t item;
    float reward;
    uint8_t correct, terminated, truncated, end_reason; /* end_reason: rlae_end_reason */
    int32_t n_tokens, n_spans;
    int64_t token_offset, span_offset; /* first row in /tokens (-1: tokens not logged) and /spans */
} rlae_runlog_episode_row;

typedef struct {
    int64_t episode;                 /* row in /episodes */
    int32_t t, token_start;          /* span index in the episode; its first token */
    float weights[RLAE_MAX_MEMBERS]; /* [K] used */
    float policy[RLAE_MAX_MEMBERS];  /* [K] */
    float features[RLAE_MAX_MEMBERS][4];
    float logp, value, advantage, ret;
} rlae_runlog_span_row;

typedef struct {
    int64_t episode;
    int32_t t;     /* token position in the answer */
    int32_t token; /* union id */
    float mixed_prob;
    float member_prob[RLAE_MAX_MEMBERS];
    float member_top1[RLAE_MAX_MEMBERS];
} rlae_runlog_token_row;

typedef struct {
    int64_t episode;
    char *prompt, *response, *gold; /* malloc'd by the reader: rlae_runlog_text_row_free */
} rlae_runlog_text_row;

typedef struct {
    int32_t iteration;
    double loss, pg_loss, v_loss, entropy, approx_kl, clipfrac, explained_variance, grad_norm, lr;
    int32_t epochs;
    int64_t minibatches;
    double seconds;
} rlae_runlog_update_row;

typedef struct {
    int32_t iteration;
    char task[RLAE_RUNLOG_NAME_LEN], method[RLAE_RUNLOG_NAME_LEN];
    double accuracy, ci_low, ci_high;
    int64_t n;
    int64_t tokens;     /* generated tokens; 0: log-likelihood scoring; -1: not measured (also files without it) */
    double gen_seconds; /* seconds generating (loglik: scoring); NaN: not measured (also files without it) */
} rlae_runlog_eval_row;

/* One commit: the length of every table (in rlae_runlog_table order, ITERATIONS excluded). */
typedef struct {
    int32_t iteration;
    int64_t rows[RLAE_RUNLOG_ITERATIONS];
    double time; /* unix seconds */
} rlae_runlog_iteration_row;

void rlae_runlog_text_row_free(rlae_runlog_text_row *r);

/* ---- reader ---------------------------------------------------------------------------------- */
typedef struct rlae_runlog_reader rlae_runlog_reader;

/* Opens `path` read-only (SWMR read: a live run's file is fine). A missing file, a non-HDF5 file or an
 * HDF5 file that is not an rlae run file is RLAE_ERR_INPUT saying which. */
rlae_status rlae_runlog_reader_open(const char *path, rlae_runlog_reader **out);
void rlae_runlog_reader_close(rlae_runlog_reader *r);
/* Re-reads the tables' extents and the last commit; *changed = 1 when there are new rows. */
rlae_status rlae_runlog_reader_refresh(rlae_runlog_reader *r, int *changed);

int rlae_runlog_reader_n_members(const rlae_runlog_reader *r);
const char *rlae_runlog_reader_member(const rlae_runlog_reader *r, int k);
/* A string attribute of /meta (config_yaml, rlae_version, git_rev, start_time, host, ...); "" when
 * absent. Valid until close. */
const char *rlae_runlog_reader_meta(const rlae_runlog_reader *r, const char *name);
/* member k's weight / tokenizer hash ("" when unknown) */
const char *rlae_runlog_reader_weight_hash(const rlae_runlog_reader *r, int k);
const char *rlae_runlog_reader_tokenizer_hash(const rlae_runlog_reader *r, int k);
int rlae_runlog_reader_n_seeds(const rlae_runlog_reader *r);
const char *rlae_runlog_reader_seed(const rlae_runlog_reader *r, int i, int64_t *value);

/* Exact bytes of union entry `id` when the file stores the union vocabulary (not NUL-terminated;
 * the shared EOS has length 0); NULL when it does not or id is out of range. */
const uint8_t *rlae_runlog_reader_union_bytes(const rlae_runlog_reader *r, int64_t id, size_t *len);

/* Committed rows of a table (what a reader may use). */
int64_t rlae_runlog_reader_rows(const rlae_runlog_reader *r, rlae_runlog_table t);
/* Rows [start, start + n) of a table into `out`, an array of that table's row struct
 * (rlae_runlog_episode_row, ..., rlae_runlog_iteration_row). Out of range: RLAE_ERR_INPUT. */
rlae_status rlae_runlog_reader_read(rlae_runlog_reader *r, rlae_runlog_table t, int64_t start, int64_t n,
                                    void *out);

#endif
