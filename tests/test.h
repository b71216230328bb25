/* A minimal test harness: CHECK-style assertions that record failures and keep going, a summary
 * line ("N passed, N failed"), and helpers to find the shared assets (skip with 77 if absent). */
#ifndef RLAE_TEST_H
#define RLAE_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int test_failures_ = 0;
static int test_checks_ = 0;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        test_checks_++;                                                               \
        if (!(cond)) {                                                                \
            test_failures_++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                             \
    } while (0)

#define CHECK_MSG(cond, ...)                                                          \
    do {                                                                              \
        test_checks_++;                                                               \
        if (!(cond)) {                                                                \
            test_failures_++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
        }                                                                             \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                      \
    do {                                                                                        \
        long long a_ = (long long)(a), b_ = (long long)(b);                                     \
        CHECK_MSG(a_ == b_, "%s = %lld, %s = %lld", #a, a_, #b, b_);                            \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                      \
    do {                                                                                        \
        const char *a_ = (a), *b_ = (b);                                                        \
        CHECK_MSG(a_ && b_ && strcmp(a_, b_) == 0, "%s = \"%s\", %s = \"%s\"", #a,              \
                  a_ ? a_ : "(null)", #b, b_ ? b_ : "(null)");                                   \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                   \
    do {                                                                                        \
        double a_ = (double)(a), b_ = (double)(b);                                              \
        CHECK_MSG(fabs(a_ - b_) <= (tol), "%s = %.9g, %s = %.9g, tol %g", #a, a_, #b, b_,       \
                  (double)(tol));                                                               \
    } while (0)

/* Ends a test program: prints the summary and returns its exit code. */
static inline int test_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, test_checks_ - test_failures_, test_failures_);
    return test_failures_ ? 1 : 0;
}

/* The source tree: $RLAE_SOURCE_DIR (ctest sets it; a packed kit run on another machine points it at
 * that machine's checkout), else the path this test was compiled in. */
static inline const char *test_source_dir(void)
{
    const char *env = getenv("RLAE_SOURCE_DIR");
    return env && *env ? env : RLAE_SOURCE_DIR;
}

/* Directory of the shared assets: $RLAE_SHARED_DIR, else ../shared beside the source tree.
 * Exits 77 (ctest: skipped) when it does not exist, saying why. */
static inline const char *test_shared_dir(void)
{
    static char buf[4096];
    const char *env = getenv("RLAE_SHARED_DIR");
    if (env && *env)
        snprintf(buf, sizeof buf, "%s", env);
    else
        snprintf(buf, sizeof buf, "%s/../shared", test_source_dir());
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("SKIP: shared assets not found at %s (set RLAE_SHARED_DIR)\n", buf);
        exit(77);
    }
    return buf;
}

/* Path of a file under the shared assets; skips the test (77) if that file is missing. */
static inline const char *test_shared_path(const char *rel)
{
    static char bufs[8][8192];
    static int next = 0;
    char *buf = bufs[next++ % 8];
    if (snprintf(buf, sizeof bufs[0], "%s/%s", test_shared_dir(), rel) >= (int)sizeof bufs[0]) {
        printf("SKIP: path of shared asset %s is too long\n", rel);
        exit(77);
    }
    struct stat st;
    if (stat(buf, &st) != 0) {
        printf("SKIP: shared asset %s not found\n", buf);
        exit(77);
    }
    return buf;
}

/* Path of a fixture committed under tests/fixtures. */
static inline const char *test_fixture_path(const char *rel)
{
    static char bufs[8][8192];
    static int next = 0;
    char *buf = bufs[next++ % 8];
    snprintf(buf, sizeof bufs[0], "%s/tests/fixtures/%s", test_source_dir(), rel);
    return buf;
}

#endif
