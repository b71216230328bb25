/* The run file: episodes built by hand are written, read back with the C reader (values, episode
 * index offsets that tile /spans and /tokens exactly, text), uncommitted rows are invisible and
 * dropped on reopen, truncate_after + append continue without duplicates or gaps, and foreign or
 * broken files are refused with RLAE_ERR_INPUT. */
#include "io/runlog.h"
#include "test.h"

#include "core/sha256.h"

#include <hdf5.h>
#include <unistd.h>

enum { K = 3 };

/* an episode with n_tok tokens and spans of 2 tokens, values derived from (id, t, k) */
static void make_episode(rlae_episode *e, int id, int n_tok)
{
    memset(e, 0, sizeof *e);
    e->n_members = K;
    e->episode = (uint32_t)id;
    e->n_tokens = n_tok;
    e->tokens = calloc((size_t)n_tok, sizeof *e->tokens);
    e->mixed_prob = calloc((size_t)n_tok, sizeof(float));
    e->member_prob = calloc((size_t)n_tok * K, sizeof(float));
    e->member_top1 = calloc((size_t)n_tok * K, sizeof(float));
    for (int t = 0; t < n_tok; t++) {
        e->tokens[t] = id * 100 + t;
        e->mixed_prob[t] = 0.5f;
        for (int k = 0; k < K; k++) {
            e->member_prob[t * K + k] = (float)(k + 1) / 10.0f;
            e->member_top1[t * K + k] = 0.9f;
        }
    }
    e->n_spans = (n_tok + 1) / 2;
    e->span_start = calloc((size_t)e->n_spans, sizeof(int));
    e->span_weights = calloc((size_t)e->n_spans * K, sizeof(float));
    e->span_features = calloc((size_t)e->n_spans * K * 4, sizeof(float));
    for (int s = 0; s < e->n_spans; s++) {
        e->span_start[s] = 2 * s;
        for (int k = 0; k < K; k++)
            e->span_weights[s * K + k] = (float)(id + s + k);
    }
    char buf[64];
    snprintf(buf, sizeof buf, "answer %d \xc3\xa9", id);
    e->text = strdup(buf);
    e->text_len = strlen(buf);
    e->end = RLAE_END_EOS;
    e->terminated = 1;
}

static void free_episode(rlae_episode *e)
{
    free(e->tokens);
    free(e->mixed_prob);
    free(e->member_prob);
    free(e->member_top1);
    free(e->span_start);
    free(e->span_weights);
    free(e->span_features);
    free(e->text);
}

/* writes iteration `it` with 3 episodes (ids it*10+i, 1+i+it tokens), an update and an eval row */
static rlae_status write_iteration(rlae_runlog *log, int it)
{
    rlae_episode e[3];
    rlae_runlog_episode x[3];
    float logp[8] = {-1, -2, -3, -4, -5, -6, -7, -8};
    for (int i = 0; i < 3; i++) {
        make_episode(&e[i], it * 10 + i, 1 + i + it);
        x[i] = (rlae_runlog_episode){.ep = &e[i],
                                     .id = it * 10 + i,
                                     .iteration = it,
                                     .task = "synthetic",
                                     .item = i,
                                     .reward = (float)i,
                                     .correct = i == 2,
                                     .prompt = "Q?",
                                     .gold = "42",
                                     .logp = logp};
    }
    rlae_status s = rlae_runlog_append_episodes(log, 3, x);
    rlae_runlog_update u = {.iteration = it, .seconds = 1.5};
    u.m.loss = it;
    if (s == RLAE_OK)
        s = rlae_runlog_append_update(log, &u);
    rlae_runlog_eval ev = {.iteration = it, .task = "synthetic", .method = "rlae", .accuracy = 0.5, .n = 10};
    if (s == RLAE_OK)
        s = rlae_runlog_append_eval(log, 1, &ev);
    for (int i = 0; i < 3; i++)
        free_episode(&e[i]);
    return s;
}

/* checks every committed row against what write_iteration wrote for iterations 0..last */
static void check_file(const char *path, int last)
{
    rlae_runlog_reader *r = NULL;
    CHECK(rlae_runlog_reader_open(path, &r) == RLAE_OK);
    if (!r) {
        fprintf(stderr, "%s\n", rlae_last_error());
        return;
    }
    CHECK_EQ_INT(rlae_runlog_reader_n_members(r), K);
    CHECK(strcmp(rlae_runlog_reader_member(r, 1), "b") == 0);
    CHECK(strcmp(rlae_runlog_reader_meta(r, "format"), "rlae-runlog") == 0);
    CHECK(strcmp(rlae_runlog_reader_meta(r, "config_yaml"), "run:\n  seed: 7\n") == 0);
    int64_t seed = 0;
    CHECK(rlae_runlog_reader_n_seeds(r) == 1 &&
          strcmp(rlae_runlog_reader_seed(r, 0, &seed), "run.seed") == 0 && seed == 7);
    int64_t ne = rlae_runlog_reader_rows(r, RLAE_RUNLOG_EPISODES);
    CHECK_EQ_INT(ne, 3 * (last + 1));
    CHECK_EQ_INT(rlae_runlog_reader_rows(r, RLAE_RUNLOG_UPDATES), last + 1);
    CHECK_EQ_INT(rlae_runlog_reader_rows(r, RLAE_RUNLOG_EVAL), last + 1);
    CHECK_EQ_INT(rlae_runlog_reader_rows(r, RLAE_RUNLOG_TEXT), ne);
    rlae_runlog_episode_row *er = calloc((size_t)ne + 1, sizeof *er);
    CHECK(rlae_runlog_reader_read(r, RLAE_RUNLOG_EPISODES, 0, ne, er) == RLAE_OK);
    int64_t ns = rlae_runlog_reader_rows(r, RLAE_RUNLOG_SPANS),
            nt = rlae_runlog_reader_rows(r, RLAE_RUNLOG_TOKENS);
    rlae_runlog_span_row *sr = calloc((size_t)ns + 1, sizeof *sr);
    rlae_runlog_token_row *tr = calloc((size_t)nt + 1, sizeof *tr);
    CHECK(rlae_runlog_reader_read(r, RLAE_RUNLOG_SPANS, 0, ns, sr) == RLAE_OK);
    CHECK(rlae_runlog_reader_read(r, RLAE_RUNLOG_TOKENS, 0, nt, tr) == RLAE_OK);
    int64_t so = 0, to = 0;
    for (int64_t i = 0; i < ne; i++) {
        int it = (int)(i / 3), j = (int)(i % 3);
        CHECK_EQ_INT(er[i].iteration, it);
        CHECK_EQ_INT(er[i].id, it * 10 + j);
        CHECK_EQ_INT(er[i].n_tokens, 1 + j + it);
        CHECK(strcmp(er[i].task, "synthetic") == 0);
        CHECK(er[i].correct == (j == 2) && er[i].terminated == 1 && er[i].end_reason == RLAE_END_EOS);
        CHECK_EQ_INT(er[i].span_offset, so);
        CHECK_EQ_INT(er[i].token_offset, to);
        for (int s = 0; s < er[i].n_spans; s++) {
            const rlae_runlog_span_row *x = &sr[so + s];
            CHECK(x->episode == i && x->t == s && x->token_start == 2 * s);
            CHECK(x->weights[2] == (float)(it * 10 + j + s + 2));
            CHECK(x->logp == (float)(-1 - s));
            CHECK(isnan(x->value) && isnan(x->policy[0]));
        }
        for (int t = 0; t < er[i].n_tokens; t++) {
            const rlae_runlog_token_row *x = &tr[to + t];
            CHECK(x->episode == i && x->t == t && x->token == (it * 10 + j) * 100 + t);
            CHECK(fabsf(x->member_prob[2] - 0.3f) < 1e-6f);
        }
        so += er[i].n_spans;
        to += er[i].n_tokens;
    }
    CHECK_EQ_INT(so, ns); /* the index tiles the tables exactly */
    CHECK_EQ_INT(to, nt);
    if (ne > 0) {
        rlae_runlog_text_row x;
        CHECK(rlae_runlog_reader_read(r, RLAE_RUNLOG_TEXT, ne - 1, 1, &x) == RLAE_OK);
        char want[64];
        snprintf(want, sizeof want, "answer %d \xc3\xa9", last * 10 + 2);
        CHECK(x.episode == ne - 1 && strcmp(x.response, want) == 0 && strcmp(x.gold, "42") == 0 &&
              strcmp(x.prompt, "Q?") == 0);
        rlae_runlog_text_row_free(&x);
    }
    rlae_runlog_update_row u[16];
    CHECK(rlae_runlog_reader_read(r, RLAE_RUNLOG_UPDATES, 0, last + 1, u) == RLAE_OK);
    for (int i = 0; i <= last; i++)
        CHECK(u[i].iteration == i && u[i].loss == i && u[i].seconds == 1.5);
    rlae_runlog_eval_row ev;
    CHECK(rlae_runlog_reader_read(r, RLAE_RUNLOG_EVAL, last, 1, &ev) == RLAE_OK);
    CHECK(ev.iteration == last && strcmp(ev.method, "rlae") == 0 && ev.n == 10);
    CHECK(rlae_runlog_reader_read(r, RLAE_RUNLOG_EVAL, last, 2, &ev) == RLAE_ERR_INPUT);
    free(er);
    free(sr);
    free(tr);
    rlae_runlog_reader_close(r);
}

int main(void)
{
    char dir[] = "/tmp/rlae-runlog-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/run.h5", dir);
    const char *names[K] = {"a", "b", "c"};
    const char *sn[1] = {"run.seed"};
    int64_t seeds[1] = {7};
    rlae_runlog_meta meta = {.n_members = K,
                             .member_names = names,
                             .config_yaml = "run:\n  seed: 7\n",
                             .n_seeds = 1,
                             .seed_names = sn,
                             .seeds = seeds,
                             .log_tokens = 1,
                             .log_text = 1};
    rlae_runlog *log = NULL;
    CHECK(rlae_runlog_create(path, &meta, 0, &log) == RLAE_OK);
    for (int it = 0; it < 3 && log; it++) {
        CHECK(write_iteration(log, it) == RLAE_OK);
        CHECK(rlae_runlog_flush(log, it) == RLAE_OK);
    }
    /* a live reader sees iterations 0..2 */
    check_file(path, 2);
    /* iteration 3 appended but not committed: invisible */
    CHECK(write_iteration(log, 3) == RLAE_OK);
    check_file(path, 2);
    CHECK(rlae_runlog_close(log) == RLAE_OK);
    check_file(path, 2);
    /* create refuses an existing file */
    CHECK(rlae_runlog_create(path, &meta, 0, &log) == RLAE_ERR_INPUT);

    /* reopen: the uncommitted iteration 3 is dropped; resume from a checkpoint at 1 */
    CHECK(rlae_runlog_open_append(path, 2, &log) == RLAE_ERR_INPUT); /* wrong K */
    CHECK(strstr(rlae_last_error(), "members") != NULL);
    CHECK(rlae_runlog_open_append(path, K, &log) == RLAE_OK);
    CHECK_EQ_INT(rlae_runlog_last_iteration(log), 2);
    CHECK(rlae_runlog_truncate_after(log, 1) == RLAE_OK);
    CHECK_EQ_INT(rlae_runlog_last_iteration(log), 1);
    check_file(path, 1);
    for (int it = 2; it < 5; it++) {
        CHECK(write_iteration(log, it) == RLAE_OK);
        CHECK(rlae_runlog_flush(log, it) == RLAE_OK);
    }
    CHECK(rlae_runlog_truncate_after(log, 0) == RLAE_ERR_RUNTIME); /* too late */
    CHECK(rlae_runlog_close(log) == RLAE_OK);
    check_file(path, 4);
    /* truncating at or past the end changes nothing */
    CHECK(rlae_runlog_open_append(path, 0, &log) == RLAE_OK);
    CHECK(rlae_runlog_truncate_after(log, 9) == RLAE_OK);
    CHECK(rlae_runlog_close(log) == RLAE_OK);
    check_file(path, 4);

    /* foreign files */
    char other[256];
    snprintf(other, sizeof other, "%s/other.h5", dir);
    hid_t f = H5Fcreate(other, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t d[1] = {4};
    hid_t sp = H5Screate_simple(1, d, NULL);
    hid_t ds = H5Dcreate2(f, "episodes", H5T_NATIVE_INT, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Fclose(f);
    rlae_runlog_reader *r = NULL;
    CHECK(rlae_runlog_reader_open(other, &r) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), "not an rlae run file") != NULL);
    CHECK(rlae_runlog_open_append(other, K, &log) == RLAE_ERR_INPUT);
    FILE *tf = fopen(other, "w");
    fputs("hello, not hdf5\n", tf);
    fclose(tf);
    CHECK(rlae_runlog_reader_open(other, &r) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), "not an HDF5 file") != NULL);
    CHECK(rlae_runlog_reader_open(dir, &r) == RLAE_ERR_INPUT);
    snprintf(other, sizeof other, "%s/missing.h5", dir);
    CHECK(rlae_runlog_reader_open(other, &r) == RLAE_ERR_INPUT);
    CHECK(rlae_runlog_table_from_name("/spans") == RLAE_RUNLOG_SPANS &&
          rlae_runlog_table_from_name("x") == -1);

    /* /meta from the demo config: names, YAML, hashes of the HF directories' weights and tokenizers */
    if (chdir(RLAE_SOURCE_DIR) == 0) {
        rlae_config cfg;
        if (rlae_config_load("configs/demo.yaml", 0, NULL, &cfg) == RLAE_OK) {
            rlae_runlog_meta_buf mb;
            CHECK(rlae_runlog_meta_from_config(&cfg, 1, &mb) == RLAE_OK);
            CHECK_EQ_INT(mb.meta.n_members, cfg.n_members);
            CHECK(strcmp(mb.meta.member_names[0], cfg.members[0].name) == 0);
            CHECK(strstr(mb.meta.config_yaml, "members:") != NULL);
            char tok[512], want[65];
            snprintf(tok, sizeof tok, "%s/tokenizer.json", cfg.members[0].path);
            if (rlae_sha256_file_hex(tok, want) == RLAE_OK) {
                CHECK(strcmp(mb.meta.tokenizer_sha256[0], want) == 0);
                CHECK(strlen(mb.meta.weight_sha256[0]) == 64);
            }
            CHECK(mb.meta.n_seeds == 1 && mb.meta.seeds[0] == cfg.run.seed);
            rlae_runlog_meta_buf_free(&mb);
            rlae_config_free(&cfg);
        } else {
            fprintf(stderr, "note: configs/demo.yaml did not load (%s); meta_from_config not checked\n",
                    rlae_last_error());
        }
    }

    snprintf(other, sizeof other, "%s/other.h5", dir);
    unlink(other);
    unlink(path);
    rmdir(dir);
    return test_summary("test_runlog");
}
