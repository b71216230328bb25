/* Monotonic wall-clock time for rates, ETAs, benchmarks and the update log's "seconds" column.
 * CLOCK_MONOTONIC does not jump when the system clock is adjusted, so measured intervals are
 * never negative. */
#ifndef RLAE_CORE_TIMER_H
#define RLAE_CORE_TIMER_H

/* Seconds since an arbitrary fixed point (monotonic, nanosecond resolution on Linux). */
double rlae_time_now(void);

typedef struct {
    double start;
} rlae_timer;

void rlae_timer_start(rlae_timer *t);
/* Seconds since rlae_timer_start. */
double rlae_timer_elapsed(const rlae_timer *t);

#endif
