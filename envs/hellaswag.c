/* HellaSwag (commonsense sentence completion), validation set, in the derived text form that
 * llama.cpp's `perplexity --hellaswag` reads (klosax/hellaswag_text_data):
 *
 *   hellaswag/hellaswag_val_full.txt.bz2   6 lines per task:
 *     "<activity_label>: <ctx>"
 *     gold ending index 0-3
 *     ending 0 .. ending 3
 *
 * The file stays bzip2-compressed on disk; we inflate it in memory with libbz2 (no external
 * program). An uncompressed hellaswag_val_full.txt beside it is read too. Line numbers in errors
 * count lines of the decompressed text. Every task must have all six lines, a label 0-3 and
 * non-empty context and endings: a truncated last task is an error, not a shorter split. */
#include "envs/env_internal.h"

#include <bzlib.h>
#include <string.h>

#include "core/fs.h"

/* Inflates a whole .bz2 (possibly several concatenated streams) into a NUL-terminated buffer. */
static rlae_status bz2_inflate(const char *path, const char *in, size_t in_size, char **out, size_t *out_size)
{
    size_t cap = in_size * 6 + 4096, n = 0;
    char *buf = rlae_malloc(cap);
    if (!buf)
        return RLAE_ERR_NOMEM;
    size_t used = 0;
    rlae_status s = RLAE_OK;
    while (used < in_size && s == RLAE_OK) {
        bz_stream z;
        memset(&z, 0, sizeof z);
        if (BZ2_bzDecompressInit(&z, 0, 0) != BZ_OK) {
            s = rlae_fail(RLAE_ERR_NOMEM, "%s: cannot initialise the bzip2 decoder", path);
            break;
        }
        z.next_in = (char *)in + used;
        z.avail_in = (unsigned)(in_size - used > 0x7FFFFFFF ? 0x7FFFFFFF : in_size - used);
        unsigned avail0 = z.avail_in;
        int rc;
        do {
            if (cap - n < 65536 + 1) {
                char *b = rlae_realloc(buf, cap * 2);
                if (!b) {
                    s = RLAE_ERR_NOMEM;
                    break;
                }
                buf = b;
                cap *= 2;
            }
            z.next_out = buf + n;
            z.avail_out = (unsigned)(cap - n - 1);
            unsigned before = z.avail_out;
            rc = BZ2_bzDecompress(&z);
            n += before - z.avail_out;
            if (rc != BZ_OK && rc != BZ_STREAM_END) {
                s = rlae_fail(RLAE_ERR_INPUT, "%s: corrupt bzip2 data (libbz2 error %d); re-download the "
                                              "file (tools/fetch-data.sh)", path, rc);
                break;
            }
            if (rc == BZ_OK && z.avail_in == 0 && z.avail_out > 0) {
                s = rlae_fail(RLAE_ERR_INPUT, "%s: truncated bzip2 file; re-download it (tools/fetch-data.sh)",
                              path);
                break;
            }
        } while (rc != BZ_STREAM_END);
        used += avail0 - z.avail_in;
        BZ2_bzDecompressEnd(&z);
    }
    if (s != RLAE_OK) {
        free(buf);
        return s;
    }
    buf[n] = '\0';
    *out = buf;
    *out_size = n;
    return RLAE_OK;
}

static const char *const hs_files[] = {"hellaswag/hellaswag_val_full.txt.bz2", "hellaswag/hellaswag_val_full.txt"};

static rlae_status open_text(const char *data_dir, env_lines *r)
{
    rlae_status s = RLAE_ERR_INPUT;
    for (int k = 0; k < 2; k++) {
        char path[4096];
        if (!env_path_present(data_dir, hs_files[k], path, sizeof path))
            continue;
        if (k == 1)
            return env_lines_open(r, path);
        char *raw, *text;
        size_t raw_n, text_n;
        RLAE_TRY(rlae_read_file(path, &raw, &raw_n));
        s = bz2_inflate(path, raw, raw_n, &text, &text_n);
        free(raw);
        return s == RLAE_OK ? env_lines_from_buffer(r, path, text, text_n) : s;
    }
    return rlae_fail(s, "%s/%s not found; run tools/fetch-data.sh or set the data directory", data_dir,
                     hs_files[0]);
}

static rlae_status hs_load(const env_task *t, const char *data_dir, const char *split, size_t limit,
                           env_items *out)
{
    env_lines r;
    RLAE_TRY(open_text(data_dir, &r));
    rlae_status s = RLAE_OK;
    char *line;
    size_t len;
    while (s == RLAE_OK && env_lines_next(&r, &line, &len)) {
        long first = r.line;
        if (len == 0) {
            s = env_lines_fail(&r, "empty context line (each task is 6 lines: context, label, 4 endings)");
            break;
        }
        env_item *it = env_items_push(out, t->name);
        if (!it || !(it->question = env_strdup(line))) {
            s = RLAE_ERR_NOMEM;
            break;
        }
        if (!env_lines_next(&r, &line, &len)) {
            s = env_lines_fail(&r, "task starting at line %ld is truncated: no label line", first);
            break;
        }
        if (len != 1 || line[0] < '0' || line[0] > '3') {
            s = env_lines_fail(&r, "label \"%s\" is not 0-3 (task starting at line %ld)", line, first);
            break;
        }
        it->gold_choice = line[0] - '0';
        char where[4200];
        for (int k = 0; k < 4 && s == RLAE_OK; k++) {
            if (!env_lines_next(&r, &line, &len))
                s = env_lines_fail(&r, "task starting at line %ld is truncated: %d of 4 endings", first, k);
            else if (len == 0)
                s = env_lines_fail(&r, "empty ending %d (task starting at line %ld)", k, first);
            else {
                snprintf(where, sizeof where, "%s:%ld", r.path, r.line);
                char label[2] = {(char)('0' + k), 0};
                s = env_item_add_choice(it, line, label, where);
            }
        }
        if (s == RLAE_OK)
            s = env_item_default_id(it, split, out->n - 1);
        if (limit && out->n >= limit)
            break;
    }
    env_lines_close(&r);
    return s;
}

static int hs_present(const env_task *t, const char *data_dir, const char *split, char *path, size_t cap)
{
    return env_path_present(data_dir, hs_files[0], path, cap) || env_path_present(data_dir, hs_files[1], path, cap);
}

static const char *const hs_splits[] = {"val", NULL};
static const env_mc_style hs_style = {
    .header = "Choose the most plausible continuation of the text",
    .qlabel = NULL,
};

const env_task env_task_hellaswag = {
    .name = "hellaswag",
    .description = "HellaSwag validation (derived text form), four endings per context",
    .kind = ENV_ANSWER_CHOICE,
    .splits = hs_splits,
    .eval_split = "val",
    .shot_split = NULL,
    .default_shots = 0,
    .load = hs_load,
    .present = hs_present,
    .format = env_mc_format,
    .extract = env_mc_extract,
    .score = env_mc_score,
    .gold_response = env_mc_gold_response,
    .params = &hs_style,
};
