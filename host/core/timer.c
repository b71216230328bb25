/* Monotonic clock (see timer.h). */
#include "core/timer.h"

#include <time.h>

double rlae_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void rlae_timer_start(rlae_timer *t) { t->start = rlae_time_now(); }

double rlae_timer_elapsed(const rlae_timer *t) { return rlae_time_now() - t->start; }
