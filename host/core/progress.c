/* Progress reporter (see progress.h). */
#include "core/progress.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "core/timer.h"

#define TTY_REDRAW_S 0.1
#define BAR_WIDTH 30

static double default_clock(void *ctx)
{
    (void)ctx;
    return rlae_time_now();
}

void rlae_progress_init(rlae_progress *p, FILE *out, const char *label, int64_t total)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    p->total = total;
    p->tty = out ? isatty(fileno(out)) : 0;
    p->interval = 5.0;
    p->clock = default_clock;
    p->start = p->last_emit = p->clock(p->clock_ctx);
}

void rlae_progress_set_clock(rlae_progress *p, rlae_clock_fn clock, void *ctx)
{
    p->clock = clock ? clock : default_clock;
    p->clock_ctx = ctx;
    p->start = p->last_emit = p->clock(p->clock_ctx);
}

void rlae_progress_set_tty(rlae_progress *p, int tty) { p->tty = tty; }
void rlae_progress_set_interval(rlae_progress *p, double seconds) { p->interval = seconds; }

void rlae_progress_set_note(rlae_progress *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->note, sizeof p->note, fmt, ap);
    va_end(ap);
}

void rlae_format_duration(double seconds, char *buf, size_t n)
{
    if (!(seconds >= 0) || seconds > 3.6e8) { /* NaN, negative, or beyond any real run */
        snprintf(buf, n, "--");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        snprintf(buf, n, "%ld:%02ld", s / 60, s % 60);
}

/* "40/100 (40%) 3.2 it/s ETA 0:19" and, when finished, "... 3.2 it/s, done in 0:31". */
static void format_stats(const rlae_progress *p, double now, int final, char *buf, size_t n)
{
    double elapsed = now - p->start;
    double rate = elapsed > 0 && p->count > 0 ? (double)p->count / elapsed : 0.0;
    int len;
    if (p->total > 0)
        len = snprintf(buf, n, "%lld/%lld (%lld%%)", (long long)p->count, (long long)p->total,
                       (long long)(p->count * 100 / p->total));
    else
        len = snprintf(buf, n, "%lld", (long long)p->count);
    if (len < 0 || (size_t)len >= n)
        return;
    /* Slow loops (seconds per training iteration) read better as s/it than as 0.1 it/s. */
    if (rate <= 0)
        len += snprintf(buf + len, n - (size_t)len, " -- it/s");
    else if (rate >= 1.0)
        len += snprintf(buf + len, n - (size_t)len, " %.1f it/s", rate);
    else
        len += snprintf(buf + len, n - (size_t)len, " %.1f s/it", 1.0 / rate);
    if ((size_t)len >= n)
        return;
    char dur[32];
    if (final) {
        rlae_format_duration(elapsed, dur, sizeof dur);
        len += snprintf(buf + len, n - (size_t)len, ", done in %s", dur);
    } else if (p->total > 0) {
        rlae_format_duration(rate > 0 ? (double)(p->total - p->count) / rate : -1.0, dur, sizeof dur);
        len += snprintf(buf + len, n - (size_t)len, " ETA %s", dur);
    }
    if ((size_t)len < n && p->note[0])
        snprintf(buf + len, n - (size_t)len, " | %s", p->note);
}

static void emit(rlae_progress *p, double now, int final)
{
    char stats[320], line[512];
    format_stats(p, now, final, stats, sizeof stats);
    if (p->tty) {
        char bar[BAR_WIDTH + 1];
        int w = 0;
        if (p->total > 0) {
            int64_t c = p->count < 0 ? 0 : p->count > p->total ? p->total : p->count;
            int fill = (int)(c * BAR_WIDTH / p->total);
            for (; w < BAR_WIDTH; w++)
                bar[w] = w < fill ? '#' : '.';
        }
        bar[w] = '\0';
        int len = w ? snprintf(line, sizeof line, "%s [%s] %s", p->label, bar, stats)
                    : snprintf(line, sizeof line, "%s %s", p->label, stats);
        if (len >= (int)sizeof line)
            len = (int)sizeof line - 1;
        int pad = p->emitted_width > len ? p->emitted_width - len : 0;
        fprintf(p->out, "\r%s%*s%s", line, pad, "", final ? "\n" : "");
        p->emitted_width = len;
    } else {
        fprintf(p->out, "%s: %s\n", p->label, stats);
    }
    fflush(p->out);
    p->last_emit = now;
}

void rlae_progress_update(rlae_progress *p, int64_t count)
{
    if (p->finished)
        return;
    p->count = count;
    if (!p->out)
        return;
    double now = p->clock(p->clock_ctx);
    if (p->tty) {
        /* The first draw and the completing one are always shown; others at most every 0.1 s. */
        if (p->emitted_width == 0 || now - p->last_emit >= TTY_REDRAW_S || (p->total > 0 && count >= p->total))
            emit(p, now, 0);
    } else if (now - p->last_emit >= p->interval) {
        emit(p, now, 0);
    }
}

void rlae_progress_advance(rlae_progress *p, int64_t n) { rlae_progress_update(p, p->count + n); }

void rlae_progress_finish(rlae_progress *p)
{
    if (p->finished)
        return;
    p->finished = 1;
    if (p->out)
        emit(p, p->clock(p->clock_ctx), 1);
}
