/* Progress reporter output, exactly, with a fake clock: the plain periodic lines used when stderr is
 * not a terminal, the in-place terminal bar (forced on), and duration formatting. */
#define _GNU_SOURCE
#include "core/progress.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    double t;
} fake_clock;

static double fake_now(void *ctx) { return ((fake_clock *)ctx)->t; }

static void test_plain(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fake_clock clk = {100.0}; /* the origin is arbitrary: only differences matter */
    rlae_progress p;
    rlae_progress_init(&p, f, "train", 100);
    rlae_progress_set_tty(&p, 0);
    rlae_progress_set_clock(&p, fake_now, &clk);

    clk.t = 101.0;
    rlae_progress_update(&p, 10); /* before the first 5 s: quiet */
    clk.t = 112.5;
    rlae_progress_update(&p, 40); /* 3.2 it/s, 60 left -> 18.75 s */
    clk.t = 115.0;
    rlae_progress_update(&p, 50); /* 2.5 s after the last line: quiet */
    clk.t = 117.5;
    rlae_progress_advance(&p, 10); /* 60 in 17.5 s */
    rlae_progress_set_note(&p, "reward %.2f", 0.53);
    clk.t = 130.0;
    rlae_progress_update(&p, 95);
    clk.t = 131.25;
    rlae_progress_update(&p, 100); /* 1.25 s after the last line: quiet */
    rlae_progress_finish(&p);
    rlae_progress_update(&p, 200); /* ignored after finish */
    rlae_progress_finish(&p);      /* once only */
    fclose(f);
    CHECK_EQ_STR(buf, "train: 40/100 (40%) 3.2 it/s ETA 0:19\n"
                      "train: 60/100 (60%) 3.4 it/s ETA 0:12\n"
                      "train: 95/100 (95%) 3.2 it/s ETA 0:02 | reward 0.53\n"
                      "train: 100/100 (100%) 3.2 it/s, done in 0:31 | reward 0.53\n");
    free(buf);

    /* Slow loops show seconds per item; a custom interval. */
    f = open_memstream(&buf, &len);
    clk.t = 0.0;
    rlae_progress_init(&p, f, "eval", 3);
    rlae_progress_set_tty(&p, 0);
    rlae_progress_set_interval(&p, 10.0);
    rlae_progress_set_clock(&p, fake_now, &clk);
    clk.t = 9.0;
    rlae_progress_update(&p, 1);
    clk.t = 10.0;
    rlae_progress_update(&p, 1);
    clk.t = 3725.0;
    rlae_progress_update(&p, 2);
    rlae_progress_finish(&p);
    fclose(f);
    CHECK_EQ_STR(buf, "eval: 1/3 (33%) 10.0 s/it ETA 0:20\n"
                      "eval: 2/3 (66%) 1862.5 s/it ETA 31:03\n"
                      "eval: 2/3 (66%) 1862.5 s/it, done in 1:02:05\n");
    free(buf);

    /* Unknown total: counts and rate only. */
    f = open_memstream(&buf, &len);
    clk.t = 0.0;
    rlae_progress_init(&p, f, "gen", 0);
    rlae_progress_set_tty(&p, 0);
    rlae_progress_set_clock(&p, fake_now, &clk);
    clk.t = 6.0;
    rlae_progress_update(&p, 12);
    clk.t = 8.0;
    rlae_progress_finish(&p);
    fclose(f);
    CHECK_EQ_STR(buf, "gen: 12 2.0 it/s\n"
                      "gen: 12 1.5 it/s, done in 0:08\n");
    free(buf);

    /* No output stream: nothing happens, nothing crashes. */
    rlae_progress_init(&p, NULL, "none", 5);
    rlae_progress_update(&p, 3);
    rlae_progress_finish(&p);
    CHECK_EQ_INT(p.count, 3);
}

static void test_tty(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fake_clock clk = {0.0};
    rlae_progress p;
    rlae_progress_init(&p, f, "job", 10);
    rlae_progress_set_tty(&p, 1);
    rlae_progress_set_clock(&p, fake_now, &clk);
    clk.t = 0.5;
    rlae_progress_update(&p, 1); /* first draw: always */
    clk.t = 0.55;
    rlae_progress_update(&p, 2); /* 0.05 s later: skipped (at most 10 redraws a second) */
    clk.t = 1.0;
    rlae_progress_update(&p, 5);
    rlae_progress_set_note(&p, "loss 0.25");
    clk.t = 2.0;
    rlae_progress_update(&p, 10); /* completion: always drawn */
    rlae_progress_set_note(&p, "%s", "");
    rlae_progress_finish(&p); /* shorter than the previous line: padded with 7 blanks, then newline */
    fclose(f);
    CHECK_EQ_STR(buf, "\rjob [###...........................] 1/10 (10%) 2.0 it/s ETA 0:05"
                      "\rjob [###############...............] 5/10 (50%) 5.0 it/s ETA 0:01"
                      "\rjob [##############################] 10/10 (100%) 5.0 it/s ETA 0:00 | loss 0.25"
                      "\rjob [##############################] 10/10 (100%) 5.0 it/s, done in 0:02       \n");
    free(buf);
}

static void test_durations(void)
{
    char b[32];
    rlae_format_duration(0.0, b, sizeof b);
    CHECK_EQ_STR(b, "0:00");
    rlae_format_duration(59.6, b, sizeof b);
    CHECK_EQ_STR(b, "1:00");
    rlae_format_duration(3599.4, b, sizeof b);
    CHECK_EQ_STR(b, "59:59");
    rlae_format_duration(3725.0, b, sizeof b);
    CHECK_EQ_STR(b, "1:02:05");
    rlae_format_duration(100 * 3600.0, b, sizeof b);
    CHECK_EQ_STR(b, "100:00:00");
    rlae_format_duration(-1.0, b, sizeof b);
    CHECK_EQ_STR(b, "--");
}

int main(void)
{
    test_plain();
    test_tty();
    test_durations();
    return test_summary("test_progress");
}
