/* Status codes and error messages for all of librlae.
 * Library code returns rlae_status; on failure it records a thread-local message that says what
 * failed, where (file, key, tensor, line) and what to do. Only the CLI prints and picks exit codes. */
#ifndef RLAE_CORE_STATUS_H
#define RLAE_CORE_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef enum {
    RLAE_OK = 0,
    RLAE_ERR_INPUT,       /* bad user input: config, checkpoint, tokenizer, dataset, argument (exit 2) */
    RLAE_ERR_IO,          /* a file could not be read or written for reasons outside the input (exit 1) */
    RLAE_ERR_NOMEM,       /* an allocation failed (exit 1) */
    RLAE_ERR_RUNTIME,     /* anything else that went wrong while running (exit 1) */
    RLAE_ERR_UNSUPPORTED, /* valid request this build or machine cannot do, e.g. CUDA without a GPU (exit 2) */
    RLAE_ERR_INTERRUPTED  /* stopped by a signal after saving state (exit 130) */
} rlae_status;

/* Records a formatted message for the current thread and returns `s`, so callers write
 *   return rlae_fail(RLAE_ERR_INPUT, "%s: tensor %s: ...", path, name); */
rlae_status rlae_fail(rlae_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
rlae_status rlae_vfail(rlae_status s, const char *fmt, va_list ap);

/* Prepends context ("while loading member 'a': ") to the current message; returns `s`. */
rlae_status rlae_wrap(rlae_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last message recorded on this thread ("" if none). */
const char *rlae_last_error(void);
void rlae_clear_error(void);

const char *rlae_status_name(rlae_status s);
/* Exit code the CLI uses for a status: 0 ok, 2 bad input/usage/unsupported, 130 interrupted, else 1. */
int rlae_exit_code(rlae_status s);

/* Propagates a failing status unchanged. */
#define RLAE_TRY(expr)                        \
    do {                                      \
        rlae_status rlae_try_s_ = (expr);     \
        if (rlae_try_s_ != RLAE_OK)           \
            return rlae_try_s_;               \
    } while (0)

/* Internal invariant check: a failure is a bug in rlae, not bad input. Prints file:line and aborts. */
#define RLAE_ASSERT(cond)                                                                     \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "rlae: internal error at %s:%d: %s (please report this)\n",      \
                    __FILE__, __LINE__, #cond);                                               \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

/* Allocation helpers that record RLAE_ERR_NOMEM with the call site. */
void *rlae_malloc_at(size_t n, const char *file, int line);
void *rlae_calloc_at(size_t count, size_t size, const char *file, int line);
void *rlae_realloc_at(void *p, size_t n, const char *file, int line);
char *rlae_strdup_at(const char *s, const char *file, int line);
#define rlae_malloc(n) rlae_malloc_at((n), __FILE__, __LINE__)
#define rlae_calloc(c, s) rlae_calloc_at((c), (s), __FILE__, __LINE__)
#define rlae_realloc(p, n) rlae_realloc_at((p), (n), __FILE__, __LINE__)
#define rlae_strdup(s) rlae_strdup_at((s), __FILE__, __LINE__)

#ifdef __cplusplus
}
#endif

#endif
