/* MMLU (Hendrycks et al.): 57 subjects of four-option multiple choice, 5-shot from each subject's
 * dev split, reported per subject and as micro (over items) and macro (over subjects) averages.
 *
 * Data: mmlu/{dev,val,test}/<subject>_<split>.csv, no header, one question per record:
 *   question,A,B,C,D,answer_letter
 * with RFC 4180 quoting (fields may hold commas, doubled quotes and newlines), so records are not
 * lines: the parser below tracks the line each record starts on for error messages. Files are read
 * in sorted name order so item order (and ids) do not depend on the directory listing. */
#include "envs/env_internal.h"

#include <dirent.h>
#include <string.h>

/* Parses one CSV record starting at *pos; fields are written NUL-terminated into the buffer in
 * place (quotes removed) and pointed to by f[]. Returns the field count, -1 at the end of the
 * data, -2 on a quoting error. *line advances past the record's newlines. */
static int csv_record(char *buf, size_t size, size_t *pos, long *line, char **f, int max_fields)
{
    size_t i = *pos;
    if (i >= size)
        return -1;
    int nf = 0;
    for (;;) {
        char *out = buf + i, *start = out;
        if (buf[i] == '"') {
            i++;
            for (;;) {
                if (i >= size)
                    return -2; /* unterminated quote */
                if (buf[i] == '"') {
                    if (i + 1 < size && buf[i + 1] == '"') {
                        *out++ = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (buf[i] == '\n')
                    (*line)++;
                *out++ = buf[i++];
            }
            if (i < size && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r')
                return -2; /* text after a closing quote */
        } else {
            /* A '"' inside an unquoted field is kept as a character, as Python's csv module and
             * pandas (the reference readers of MMLU) do: the release's own
             * val/college_medicine_val.csv has one (line 6, "Nietzsche's Will to Truth?\""). */
            while (i < size && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r')
                *out++ = buf[i++];
        }
        char sep = i < size ? buf[i] : '\n';
        *out = '\0'; /* out <= buf + i: never overwrites unread data */
        if (nf < max_fields)
            f[nf] = start;
        nf++;
        if (sep == ',') {
            i++;
            continue;
        }
        if (sep == '\r' && i + 1 < size && buf[i + 1] == '\n')
            i++;
        i++;
        (*line)++;
        break;
    }
    *pos = i;
    return nf;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted *.csv names in dir; caller frees each and the array. */
static rlae_status list_csv(const char *dir, char ***names, int *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return rlae_fail(RLAE_ERR_INPUT, "%s: cannot open the MMLU split directory; expected "
                                         "mmlu/<split>/<subject>_<split>.csv (tools/fetch-data.sh)", dir);
    struct dirent *e;
    int cap = 0;
    rlae_status s = RLAE_OK;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".csv") != 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            char **v = rlae_realloc(*names, (size_t)cap * sizeof *v);
            if (!v) {
                s = RLAE_ERR_NOMEM;
                break;
            }
            *names = v;
        }
        if (!((*names)[*n] = env_strdup(e->d_name))) {
            s = RLAE_ERR_NOMEM;
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (*n > 1)
        qsort(*names, (size_t)*n, sizeof **names, cmp_str);
    return s;
}

static rlae_status load_file(const env_task *t, const char *path, const char *subject, const char *split,
                             size_t limit, env_items *out)
{
    env_lines r; /* only for the buffer, path and messages; records are parsed by csv_record */
    RLAE_TRY(env_lines_open(&r, path));
    rlae_status s = RLAE_OK;
    long line = 1;
    size_t index = 0;
    char *f[6];
    for (;;) {
        long start = line;
        int nf = csv_record(r.buf, r.size, &r.pos, &line, f, 6);
        r.line = start;
        if (nf == -1)
            break;
        if (nf == -2) {
            s = env_lines_fail(&r, "malformed CSV quoting (a quoted field is unterminated, or text follows "
                                   "its closing quote)");
            break;
        }
        if (nf != 6) {
            s = env_lines_fail(&r, "expected 6 fields (question,A,B,C,D,answer), found %d", nf);
            break;
        }
        const char *ans = f[5];
        if (!(ans[0] >= 'A' && ans[0] <= 'D' && ans[1] == '\0')) {
            s = env_lines_fail(&r, "answer field is \"%s\", expected one of A, B, C, D", ans);
            break;
        }
        env_item *it = env_items_push(out, t->name);
        if (!it) {
            s = RLAE_ERR_NOMEM;
            break;
        }
        it->question = env_strdup(f[0]);
        it->subject = env_strdup(subject);
        for (int k = 0; k < 4 && s == RLAE_OK; k++) {
            char label[2] = {(char)('A' + k), 0};
            s = env_item_add_choice(it, f[1 + k], label, path);
        }
        it->gold_choice = ans[0] - 'A';
        env_buf b = {0};
        env_buf_printf(&b, "mmlu/%s/%s/%zu", split, subject, index++);
        it->id = env_buf_take(&b);
        if (s == RLAE_OK && (!it->question || !it->subject || !it->id))
            s = RLAE_ERR_NOMEM;
        if (s != RLAE_OK || (limit && out->n >= limit))
            break;
    }
    env_lines_close(&r);
    return s;
}

static rlae_status mmlu_load(const env_task *t, const char *data_dir, const char *split, size_t limit,
                             env_items *out)
{
    char rel[64];
    snprintf(rel, sizeof rel, "mmlu/%s", split);
    char *dir = env_path(data_dir, rel);
    if (!dir)
        return RLAE_ERR_NOMEM;
    char **names;
    int n;
    rlae_status s = list_csv(dir, &names, &n);
    if (s == RLAE_OK && n == 0)
        s = rlae_fail(RLAE_ERR_INPUT, "%s: no <subject>_%s.csv files found", dir, split);
    char suffix[32];
    snprintf(suffix, sizeof suffix, "_%s.csv", split);
    for (int i = 0; i < n && s == RLAE_OK && !(limit && out->n >= limit); i++) {
        size_t len = strlen(names[i]), sl = strlen(suffix);
        if (len <= sl || strcmp(names[i] + len - sl, suffix) != 0) {
            s = rlae_fail(RLAE_ERR_INPUT, "%s/%s: file name does not end in %s; MMLU files are named "
                                          "<subject>%s", dir, names[i], suffix, suffix);
            break;
        }
        char subject[256];
        snprintf(subject, sizeof subject, "%.*s", (int)(len - sl), names[i]);
        char *path = env_path(dir, names[i]);
        s = path ? load_file(t, path, subject, split, limit, out) : RLAE_ERR_NOMEM;
        free(path);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(dir);
    return s;
}

static int mmlu_present(const env_task *t, const char *data_dir, const char *split, char *path, size_t cap)
{
    char rel[64];
    snprintf(rel, sizeof rel, "mmlu/%s", split);
    snprintf(path, cap, "%s/%s", data_dir, rel);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    closedir(d);
    return 1;
}

/* ---- per-subject, micro and macro accuracy ---- */

static int cmp_subject(const void *a, const void *b)
{
    return strcmp(((const env_subject_acc *)a)->subject, ((const env_subject_acc *)b)->subject);
}

rlae_status env_group_accuracy(const env_items *items, const int *correct, env_group_acc *out)
{
    memset(out, 0, sizeof *out);
    int cap = 0, total = 0, total_correct = 0;
    for (size_t i = 0; i < items->n; i++) {
        const char *subj = items->v[i].subject ? items->v[i].subject : "";
        int k = 0;
        /* Linear search: 57 subjects at most in practice; items arrive grouped, so check the last first. */
        if (out->n_subjects && strcmp(out->subjects[out->n_subjects - 1].subject, subj) == 0)
            k = out->n_subjects - 1;
        else
            for (k = 0; k < out->n_subjects && strcmp(out->subjects[k].subject, subj) != 0; k++) {
            }
        if (k == out->n_subjects) {
            if (k == cap) {
                cap = cap ? cap * 2 : 64;
                env_subject_acc *v = rlae_realloc(out->subjects, (size_t)cap * sizeof *v);
                if (!v) {
                    env_group_acc_free(out);
                    return RLAE_ERR_NOMEM;
                }
                out->subjects = v;
            }
            memset(&out->subjects[k], 0, sizeof out->subjects[k]);
            if (!(out->subjects[k].subject = env_strdup(subj))) {
                env_group_acc_free(out);
                return RLAE_ERR_NOMEM;
            }
            out->n_subjects++;
        }
        out->subjects[k].n++;
        out->subjects[k].n_correct += correct[i] != 0;
        total++;
        total_correct += correct[i] != 0;
    }
    if (out->n_subjects > 1)
        qsort(out->subjects, (size_t)out->n_subjects, sizeof *out->subjects, cmp_subject);
    double macro = 0;
    for (int k = 0; k < out->n_subjects; k++) {
        env_subject_acc *a = &out->subjects[k];
        a->accuracy = (double)a->n_correct / a->n;
        macro += a->accuracy;
    }
    out->micro = total ? (double)total_correct / total : 0.0;
    out->macro = out->n_subjects ? macro / out->n_subjects : 0.0;
    return RLAE_OK;
}

void env_group_acc_free(env_group_acc *g)
{
    for (int k = 0; k < g->n_subjects; k++)
        free(g->subjects[k].subject);
    free(g->subjects);
    memset(g, 0, sizeof *g);
}

static const char *const mmlu_splits[] = {"dev", "val", "test", NULL};
static const env_mc_style mmlu_style = {
    .header = "The following are multiple choice questions (with answers)",
    .qlabel = "Question",
};

const env_task env_task_mmlu = {
    .name = "mmlu",
    .description = "MMLU, 57 subjects, 5-shot from each subject's dev split",
    .kind = ENV_ANSWER_CHOICE,
    .splits = mmlu_splits,
    .eval_split = "test",
    .shot_split = "dev",
    .default_shots = 5,
    .shots_same_subject = 1,
    .load = mmlu_load,
    .present = mmlu_present,
    .format = env_mc_format,
    .extract = env_mc_extract,
    .score = env_mc_score,
    .gold_response = env_mc_gold_response,
    .params = &mmlu_style,
};
