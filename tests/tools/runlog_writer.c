/* Test helper (not a test): writes a run file the way a trainer does, one committed iteration at a
 * time, slowly enough that a shell test can read it live or kill -9 it mid-iteration and resume.
 *
 *   runlog_writer PATH --create  --iterations N [--sleep-ms M]
 *   runlog_writer PATH --resume [--from C] --iterations N [--sleep-ms M]
 *   runlog_writer PATH --foreign   (an HDF5 file with other datasets: what inspect must refuse)
 *
 * Per iteration: 4 episodes of 2 members (alpha, beta) with ids it*4+i, an /updates row and an /eval
 * row; it sleeps M ms between appending and committing, then prints "committed IT". --resume opens
 * the file for appending, drops iterations after C (--from; default: keep all committed) and goes on
 * from the next iteration. Everything is deterministic in (iteration, i) so a test can check values. */
#include "io/runlog.h"

#include <hdf5.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { K = 2, PER_ITER = 4 };

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static rlae_status write_iteration(rlae_runlog *log, int it, int sleep)
{
    rlae_episode e[PER_ITER];
    rlae_runlog_episode x[PER_ITER];
    char prompts[PER_ITER][64], text[PER_ITER][64];
    memset(e, 0, sizeof e);
    for (int i = 0; i < PER_ITER; i++) {
        int n_tok = 3 + (it + i) % 5, id = it * PER_ITER + i;
        e[i].n_members = K;
        e[i].n_tokens = n_tok;
        e[i].tokens = calloc((size_t)n_tok, sizeof(int32_t));
        e[i].mixed_prob = calloc((size_t)n_tok, sizeof(float));
        e[i].member_prob = calloc((size_t)n_tok * K, sizeof(float));
        e[i].member_top1 = calloc((size_t)n_tok * K, sizeof(float));
        for (int t = 0; t < n_tok; t++) {
            e[i].tokens[t] = 1000 + id * 10 + t;
            e[i].mixed_prob[t] = 0.6f;
            e[i].member_prob[t * K] = (t % 2) ? 0.8f : 0.2f;
            e[i].member_prob[t * K + 1] = (t % 2) ? 0.3f : 0.7f;
            e[i].member_top1[t * K] = e[i].member_top1[t * K + 1] = 0.9f;
        }
        e[i].n_spans = (n_tok + 1) / 2;
        e[i].span_start = calloc((size_t)e[i].n_spans, sizeof(int));
        e[i].span_weights = calloc((size_t)e[i].n_spans * K, sizeof(float));
        for (int s = 0; s < e[i].n_spans; s++) {
            float w = 0.5f + 0.02f * (float)(it < 20 ? it : 20);
            e[i].span_start[s] = 2 * s;
            e[i].span_weights[s * K] = w;
            e[i].span_weights[s * K + 1] = 1.0f - w;
        }
        snprintf(text[i], sizeof text[i], "The answer is %d.", id % 7);
        snprintf(prompts[i], sizeof prompts[i], "Question %d: what is %d mod 7?", id, id);
        e[i].text = text[i];
        e[i].end = RLAE_END_EOS;
        e[i].terminated = 1;
        x[i] = (rlae_runlog_episode){.ep = &e[i],
                                     .id = id,
                                     .iteration = it,
                                     .task = i % 2 ? "arith" : "logic",
                                     .item = id,
                                     .reward = (float)((it + i) % 2),
                                     .correct = (it + i) % 2,
                                     .prompt = prompts[i],
                                     .gold = "0"};
    }
    rlae_status s = rlae_runlog_append_episodes(log, PER_ITER, x);
    for (int i = 0; i < PER_ITER; i++) {
        free(e[i].tokens);
        free(e[i].mixed_prob);
        free(e[i].member_prob);
        free(e[i].member_top1);
        free(e[i].span_start);
        free(e[i].span_weights);
    }
    rlae_runlog_update u = {.iteration = it, .seconds = 0.01};
    u.m.loss = 1.0 / (it + 1);
    u.m.approx_kl = 0.01;
    u.m.lr = 3e-4;
    u.m.epochs = 4;
    if (s == RLAE_OK)
        s = rlae_runlog_append_update(log, &u);
    rlae_runlog_eval ev = {.iteration = it,
                           .task = "arith",
                           .method = "rlae-ppo",
                           .accuracy = 0.5,
                           .ci_low = 0.4,
                           .ci_high = 0.6,
                           .n = 100};
    if (s == RLAE_OK)
        s = rlae_runlog_append_eval(log, 1, &ev);
    if (sleep > 0)
        sleep_ms(sleep);
    if (s == RLAE_OK)
        s = rlae_runlog_flush(log, it);
    return s;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int create = -1, from = -1, iterations = 0, sleep = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--create") == 0)
            create = 1;
        else if (strcmp(argv[i], "--resume") == 0)
            create = 0;
        else if (strcmp(argv[i], "--foreign") == 0)
            create = 2;
        else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = atoi(argv[++i]);
        else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
            iterations = atoi(argv[++i]);
        else if (strcmp(argv[i], "--sleep-ms") == 0 && i + 1 < argc)
            sleep = atoi(argv[++i]);
        else if (!path)
            path = argv[i];
        else {
            fprintf(stderr, "runlog_writer: unexpected '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!path || create < 0) {
        fprintf(stderr,
                "usage: runlog_writer PATH --create|--resume [--from C] --iterations N [--sleep-ms M]\n");
        return 2;
    }
    if (create == 2) {
        hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        hsize_t d[1] = {8};
        hid_t sp = H5Screate_simple(1, d, NULL);
        hid_t g = H5Gcreate2(f, "meta", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        hid_t ds = H5Dcreate2(f, "episodes", H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        int ok = f >= 0 && g >= 0 && ds >= 0;
        H5Dclose(ds);
        H5Gclose(g);
        H5Sclose(sp);
        H5Fclose(f);
        return ok ? 0 : 1;
    }
    rlae_runlog *log = NULL;
    rlae_status s;
    int start = 0;
    if (create) {
        const char *names[K] = {"alpha", "beta"};
        const char *hashes[K] = {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ""};
        const char *seed_names[1] = {"run.seed"};
        int64_t seeds[1] = {1234};
        rlae_runlog_meta meta = {.n_members = K,
                                 .member_names = names,
                                 .weight_sha256 = hashes,
                                 .config_yaml = "run:\n  name: helper\n  seed: 1234\n",
                                 .n_seeds = 1,
                                 .seed_names = seed_names,
                                 .seeds = seeds,
                                 .log_tokens = 1,
                                 .log_text = 1};
        s = rlae_runlog_create(path, &meta, 1, &log);
    } else {
        s = rlae_runlog_open_append(path, K, &log);
        if (s == RLAE_OK && from >= 0)
            s = rlae_runlog_truncate_after(log, from);
        if (s == RLAE_OK)
            start = rlae_runlog_last_iteration(log) + 1;
    }
    if (s == RLAE_OK)
        printf("start %d\n", start);
    fflush(stdout);
    for (int it = start; it < iterations && s == RLAE_OK; it++) {
        s = write_iteration(log, it, sleep);
        if (s == RLAE_OK) {
            printf("committed %d\n", it);
            fflush(stdout);
        }
    }
    rlae_status c = rlae_runlog_close(log);
    if (s == RLAE_OK)
        s = c;
    if (s != RLAE_OK) {
        fprintf(stderr, "runlog_writer: %s\n", rlae_last_error());
        return 1;
    }
    return 0;
}
