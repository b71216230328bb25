/* Helpers the task families share and nothing outside envs/ needs: a growable string, item
 * construction, the line/JSONL reader (jsonl.c) whose every error names file:line, hashing for
 * deterministic selection, and the multiple-choice prompt/score pieces (mc.c). */
#ifndef RLAE_ENVS_ENV_INTERNAL_H
#define RLAE_ENVS_ENV_INTERNAL_H

#include <jansson.h>
#include <stdarg.h>

#include "envs/env.h"

/* ---- growable string (env.c); an allocation failure sticks in `oom` and env_buf_take returns NULL */
typedef struct {
    char *s;
    size_t n, cap;
    int oom;
} env_buf;
void env_buf_puts(env_buf *b, const char *s);
void env_buf_putn(env_buf *b, const char *s, size_t n);
void env_buf_printf(env_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *env_buf_take(env_buf *b); /* the string (caller frees); NULL on earlier OOM ("" if empty) */

/* ---- items (env.c) ---- */
/* Appends a zeroed item (gold_choice -1) for `task`; NULL when out of memory. */
env_item *env_items_push(env_items *items, const char *task);
/* Frees one item's strings (the item itself lives in its array). */
void env_item_clear(env_item *it);
/* Copies n strings into item->gold. */
rlae_status env_item_set_gold(env_item *it, const char *const *golds, int n);
/* Appends a choice (text and the dataset's label). */
rlae_status env_item_add_choice(env_item *it, const char *text, const char *label, const char *where);
/* "task/split/index" id. */
rlae_status env_item_default_id(env_item *it, const char *split, size_t index);

/* Copies at most cap-1 bytes of "data_dir/rel" into path; 1 if that path exists. */
int env_path_present(const char *data_dir, const char *rel, char *path, size_t cap);
char *env_path(const char *data_dir, const char *rel);
/* strdup that records RLAE_ERR_NOMEM; NULL in -> NULL out. */
char *env_strdup(const char *s);
/* Trims ASCII whitespace at both ends in place; returns s. */
char *env_trim(char *s);
/* Case-insensitive search. */
const char *env_stristr(const char *hay, const char *needle);

/* ---- hashing (env.c): 64-bit mix (splitmix64 finaliser) and a string hash built on it ---- */
uint64_t env_mix64(uint64_t x);
uint64_t env_hash_str(uint64_t seed, const char *s);

/* ---- line and JSONL reading (jsonl.c) ---- */
typedef struct {
    char *path;   /* for messages */
    char *buf;    /* whole file, owned */
    size_t size, pos;
    long line;    /* 1-based number of the line last returned */
} env_lines;
/* Reads the whole file (they are a few MB); a missing file is RLAE_ERR_INPUT naming it. */
rlae_status env_lines_open(env_lines *r, const char *path);
/* Takes ownership of a malloc'd buffer (e.g. decompressed text) read as if it were `path`. */
rlae_status env_lines_from_buffer(env_lines *r, const char *path, char *buf, size_t size);
void env_lines_close(env_lines *r);
/* Next line, NUL-terminated in place with "\n" / "\r\n" removed: 1, or 0 at the end. A last line
 * without a newline counts; the empty string after a final newline does not. */
int env_lines_next(env_lines *r, char **line, size_t *len);
/* Next line parsed as a JSON object: *obj (caller json_decref's) or NULL at the end. An empty line,
 * invalid JSON or a non-object is RLAE_ERR_INPUT "path:line: ..." - never skipped. */
rlae_status env_jsonl_next(env_lines *r, json_t **obj);
/* Error "path:line: <message>" for the line last returned. */
rlae_status env_lines_fail(const env_lines *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Required string member `key` of obj (dotted names not supported); error names path:line and key. */
rlae_status env_json_str(const env_lines *r, json_t *obj, const char *key, const char **out);

/* ---- multiple choice (mc.c) ---- */
/* How a multiple-choice family words its prompt (env_task.params of ARC, MMLU, PIQA, HellaSwag). */
typedef struct {
    const char *header;   /* printf format taking the subject (MMLU) or a fixed line; NULL: none */
    const char *qlabel;   /* "Question"; NULL: the text stands alone (HellaSwag's context) */
} env_mc_style;
/* Prompt body for a multiple-choice item: "Question: ...\nA. ...\nB. ...\nAnswer:" (generate) or
 * "Question: ...\nAnswer:" (log-likelihood); with_answer appends " B\n" for a shot. */
void env_mc_format_item(env_buf *b, const env_item *it, env_style style, int with_answer);
char *env_mc_format(const env_task *t, const env_item *item, const env_item *const *shots, int n,
                    env_style style);
char *env_mc_extract(const env_task *t, const char *text);
env_score env_mc_score(const env_task *t, const char *answer, const env_item *item);
char *env_mc_gold_response(const env_task *t, const env_item *item);

#endif
