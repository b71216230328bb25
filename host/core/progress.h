/* Progress reporting for long loops (training iterations, evaluation items, sweeps).
 *
 * On a terminal: one line redrawn in place with '\r' at most 10 times a second,
 *   train [############..................] 40/100 (40%) 3.2 it/s ETA 0:19
 * Elsewhere (logs of batch jobs, CI, pipes), where '\r' redraws would fill the file: a plain line
 * every `interval` seconds (default 5) and one when finished,
 *   train: 40/100 (40%) 3.2 it/s ETA 0:19
 *   train: 100/100 (100%) 3.2 it/s, done in 0:31
 * The terminal test, the interval and the clock can be overridden, so tests see exact output. */
#ifndef RLAE_CORE_PROGRESS_H
#define RLAE_CORE_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

/* Seconds on any monotonic scale. */
typedef double (*rlae_clock_fn)(void *ctx);

typedef struct {
    FILE *out; /* NULL: report nothing */
    char label[64];
    int64_t total; /* <= 0: unknown, shows counts and rate only */
    int64_t count;
    int tty;
    double interval; /* seconds between plain lines */
    rlae_clock_fn clock;
    void *clock_ctx;
    double start, last_emit;
    int emitted_width; /* terminal: width of the last drawn line, so a shorter one blanks the rest */
    int finished;
    char note[128]; /* shown after the ETA, e.g. "reward 0.53" */
} rlae_progress;

/* Starts a report on `out` (usually stderr). Whether it is a terminal comes from isatty. */
void rlae_progress_init(rlae_progress *p, FILE *out, const char *label, int64_t total);
/* Replaces the clock (tests) and restarts the elapsed time from the new clock's now. */
void rlae_progress_set_clock(rlae_progress *p, rlae_clock_fn clock, void *ctx);
void rlae_progress_set_tty(rlae_progress *p, int tty);
void rlae_progress_set_interval(rlae_progress *p, double seconds);
void rlae_progress_set_note(rlae_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the count of finished items; prints if due. */
void rlae_progress_update(rlae_progress *p, int64_t count);
void rlae_progress_advance(rlae_progress *p, int64_t n);
/* Prints the final line (once); later updates are ignored. */
void rlae_progress_finish(rlae_progress *p);

/* "m:ss" or "h:mm:ss" for a duration in seconds (rounded to the nearest second). */
void rlae_format_duration(double seconds, char *buf, size_t n);

#endif
