/* Line and JSON Lines reading shared by the dataset loaders.
 *
 * Why strict: a loader that silently skips a malformed line changes the denominator of every
 * accuracy reported on that split. So every line must parse, and every failure names file:line
 * and what was wrong. Files are read whole (the largest is a few MB) and split in place. */
#include "envs/env_internal.h"

#include <string.h>

#include "core/fs.h"

rlae_status env_lines_from_buffer(env_lines *r, const char *path, char *buf, size_t size)
{
    memset(r, 0, sizeof *r);
    r->path = env_strdup(path);
    if (!r->path) {
        free(buf);
        return RLAE_ERR_NOMEM;
    }
    r->buf = buf;
    r->size = size;
    /* A UTF-8 byte order mark is not part of the first record. */
    if (size >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        r->pos = 3;
    return RLAE_OK;
}

rlae_status env_lines_open(env_lines *r, const char *path)
{
    char *buf = NULL;
    size_t size = 0;
    memset(r, 0, sizeof *r);
    rlae_status s = rlae_read_file(path, &buf, &size);
    if (s != RLAE_OK)
        return s;
    return env_lines_from_buffer(r, path, buf, size);
}

void env_lines_close(env_lines *r)
{
    free(r->path);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

int env_lines_next(env_lines *r, char **line, size_t *len)
{
    if (r->pos >= r->size)
        return 0;
    char *start = r->buf + r->pos;
    char *nl = memchr(start, '\n', r->size - r->pos);
    size_t n = nl ? (size_t)(nl - start) : r->size - r->pos;
    r->pos += n + (nl ? 1 : 0);
    r->line++;
    if (n > 0 && start[n - 1] == '\r')
        n--;
    start[n] = '\0'; /* overwrites the '\n' or '\r', or the NUL rlae_read_file put after the data */
    *line = start;
    *len = n;
    return 1;
}

rlae_status env_lines_fail(const env_lines *r, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rlae_fail(RLAE_ERR_INPUT, "%s:%ld: %s", r->path, r->line, msg);
}

rlae_status env_jsonl_next(env_lines *r, json_t **obj)
{
    char *line;
    size_t len;
    *obj = NULL;
    if (!env_lines_next(r, &line, &len))
        return RLAE_OK;
    if (len == 0)
        return env_lines_fail(r, "empty line (JSON Lines needs one object per line); "
                                 "remove it or re-download the file (tools/fetch-data.sh)");
    if (strlen(line) != len)
        return env_lines_fail(r, "NUL byte inside the line; the file is corrupt, re-download it");
    json_error_t err;
    json_t *j = json_loadb(line, len, 0, &err);
    if (!j)
        return env_lines_fail(r, "invalid JSON at column %d: %s; fix or re-download the file "
                                 "(tools/fetch-data.sh)", err.column, err.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return env_lines_fail(r, "expected a JSON object, got another JSON value");
    }
    *obj = j;
    return RLAE_OK;
}

rlae_status env_json_str(const env_lines *r, json_t *obj, const char *key, const char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return env_lines_fail(r, "missing field \"%s\"", key);
    if (!json_is_string(v))
        return env_lines_fail(r, "field \"%s\" is not a string", key);
    *out = json_string_value(v);
    return RLAE_OK;
}
