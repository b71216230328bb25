/* Thread-local error messages behind rlae_status (see status.h). */
#include "core/status.h"

#include <stdlib.h>
#include <string.h>

#define RLAE_MSG_CAP 4096
static _Thread_local char rlae_msg[RLAE_MSG_CAP];

rlae_status rlae_vfail(rlae_status s, const char *fmt, va_list ap)
{
    vsnprintf(rlae_msg, sizeof rlae_msg, fmt, ap);
    return s;
}

rlae_status rlae_fail(rlae_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rlae_vfail(s, fmt, ap);
    va_end(ap);
    return s;
}

rlae_status rlae_wrap(rlae_status s, const char *fmt, ...)
{
    char prefix[1024], old[RLAE_MSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, rlae_msg, sizeof old);
    size_t np = strlen(prefix);
    if (np >= sizeof rlae_msg)
        np = sizeof rlae_msg - 1;
    memcpy(rlae_msg, prefix, np);
    size_t room = sizeof rlae_msg - 1 - np, no = strnlen(old, room);
    memcpy(rlae_msg + np, old, no);
    rlae_msg[np + no] = '\0';
    return s;
}

const char *rlae_last_error(void) { return rlae_msg; }
void rlae_clear_error(void) { rlae_msg[0] = '\0'; }

const char *rlae_status_name(rlae_status s)
{
    switch (s) {
    case RLAE_OK: return "ok";
    case RLAE_ERR_INPUT: return "bad input";
    case RLAE_ERR_IO: return "I/O error";
    case RLAE_ERR_NOMEM: return "out of memory";
    case RLAE_ERR_RUNTIME: return "runtime error";
    case RLAE_ERR_UNSUPPORTED: return "unsupported";
    case RLAE_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

int rlae_exit_code(rlae_status s)
{
    switch (s) {
    case RLAE_OK: return 0;
    case RLAE_ERR_INPUT:
    case RLAE_ERR_UNSUPPORTED: return 2;
    case RLAE_ERR_INTERRUPTED: return 130;
    default: return 1;
    }
}

static void *nomem(size_t n, const char *file, int line)
{
    rlae_fail(RLAE_ERR_NOMEM, "out of memory allocating %zu bytes at %s:%d", n, file, line);
    return NULL;
}

void *rlae_malloc_at(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    return p ? p : nomem(n, file, line);
}

void *rlae_calloc_at(size_t count, size_t size, const char *file, int line)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    return p ? p : nomem(count * size, file, line);
}

void *rlae_realloc_at(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    return q ? q : nomem(n, file, line);
}

char *rlae_strdup_at(const char *s, const char *file, int line)
{
    size_t n = strlen(s) + 1;
    char *p = rlae_malloc_at(n, file, line);
    if (p)
        memcpy(p, s, n);
    return p;
}
