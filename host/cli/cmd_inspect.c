/* `rlae inspect RUN.h5`: reads a run file (io/runlog.h; live runs too, through SWMR) and prints
 *   - a summary: provenance, members, reward / accuracy / update metrics per iteration, the mean
 *     weight per member overall, per span index and per task, evaluation rows, the resolved config;
 *   - --episode N: one rollout (row N of /episodes) with its text, spans, weights and tokens coloured
 *     by the member most confident in them (plain "id/member" markers when stdout is no terminal);
 *   - --export csv TABLE: a table as CSV on stdout (per-member arrays become one column per member);
 *   - --follow: the summary, then one line per newly committed iteration until interrupted.
 * Only committed rows are shown, so a file being written (or left by a killed run) reads consistently.
 * Foreign or damaged files are bad input: exit 2 with the reason. */
#define _GNU_SOURCE
#include "cli.h"
#include "io/runlog.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { CHUNK = 65536, MAX_SPAN_BUCKETS = 16, MAX_TASKS = 64, MAX_SHOWN_ITERS = 20 };

typedef struct {
    int iteration;
    long n;
    double reward, correct;
} iter_stat;

typedef struct {
    char name[2 * RLAE_RUNLOG_NAME_LEN]; /* "task" or "task/subject" */
    long n, spans;
    double reward, correct, w[RLAE_MAX_MEMBERS];
} task_stat;

static volatile sig_atomic_t stop_following = 0;
static void on_signal(int sig)
{
    (void)sig;
    stop_following = 1;
}

/* appends to the per-iteration aggregate (episodes arrive in iteration order; tolerate disorder) */
static iter_stat *iter_slot(iter_stat **a, int *n, int *cap, int it)
{
    for (int i = *n - 1; i >= 0 && i >= *n - 4; i--)
        if ((*a)[i].iteration == it)
            return &(*a)[i];
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        iter_stat *na = realloc(*a, (size_t)*cap * sizeof **a);
        if (!na)
            return NULL;
        *a = na;
    }
    iter_stat *s = &(*a)[(*n)++];
    memset(s, 0, sizeof *s);
    s->iteration = it;
    return s;
}

/* Adds one episode to its iteration's totals (the summary and --follow both count this way). */
static rlae_status count_episode(iter_stat **a, int *n, int *cap, const rlae_runlog_episode_row *e)
{
    iter_stat *it = iter_slot(a, n, cap, e->iteration);
    if (!it)
        return RLAE_ERR_NOMEM;
    it->n++;
    it->reward += e->reward;
    it->correct += e->correct;
    return RLAE_OK;
}

static void print_update_cols(rlae_runlog_update_row *u, int64_t nu, int it)
{
    for (int64_t j = nu - 1; j >= 0; j--)
        if (u[j].iteration == it) {
            printf("  %10.4f  %9.5f  %8.4f", u[j].loss, u[j].approx_kl, u[j].entropy);
            return;
        }
    printf("  %10s  %9s  %8s", "-", "-", "-");
}

static void print_weights_row(const char *label, const double *w, long n, int K)
{
    printf("  %-14s", label);
    for (int k = 0; k < K; k++) {
        if (n > 0)
            printf(" %9.3f", w[k] / (double)n);
        else
            printf(" %9s", "-");
    }
    printf("  (%ld spans)\n", n);
}

static rlae_status summary(rlae_runlog_reader *r, const char *path)
{
    const int K = rlae_runlog_reader_n_members(r);
    int64_t rows[RLAE_RUNLOG_N_TABLES];
    for (int t = 0; t < RLAE_RUNLOG_N_TABLES; t++)
        rows[t] = rlae_runlog_reader_rows(r, t);
    printf("run file    %s\n", path);
    printf("written by  rlae %s (git %s), started %s on %s\n", rlae_runlog_reader_meta(r, "rlae_version"),
           rlae_runlog_reader_meta(r, "git_rev"), rlae_runlog_reader_meta(r, "start_time"),
           rlae_runlog_reader_meta(r, "host"));
    printf("members     %d\n", K);
    for (int k = 0; k < K; k++) {
        const char *wh = rlae_runlog_reader_weight_hash(r, k), *th = rlae_runlog_reader_tokenizer_hash(r, k);
        printf("  %-12s weights sha256 %.16s%s  tokenizer sha256 %.16s%s\n", rlae_runlog_reader_member(r, k),
               wh[0] ? wh : "(unknown)", wh[0] ? "..." : "", th[0] ? th : "(unknown)", th[0] ? "..." : "");
    }
    printf("seeds      ");
    for (int i = 0; i < rlae_runlog_reader_n_seeds(r); i++) {
        int64_t v = 0;
        const char *nm = rlae_runlog_reader_seed(r, i, &v);
        printf(" %s=%lld", nm, (long long)v);
    }
    printf("\n");
    rlae_runlog_iteration_row last;
    if (rows[RLAE_RUNLOG_ITERATIONS] > 0) {
        RLAE_TRY(
            rlae_runlog_reader_read(r, RLAE_RUNLOG_ITERATIONS, rows[RLAE_RUNLOG_ITERATIONS] - 1, 1, &last));
        time_t tt = (time_t)last.time;
        struct tm tm;
        char when[64];
        gmtime_r(&tt, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("committed   through iteration %d (%s); %lld episodes, %lld spans, %lld tokens, %lld updates, "
               "%lld eval rows\n",
               last.iteration, when, (long long)rows[0], (long long)rows[1], (long long)rows[2],
               (long long)rows[RLAE_RUNLOG_UPDATES], (long long)rows[RLAE_RUNLOG_EVAL]);
    } else {
        printf("committed   nothing yet (no iteration finished)\n");
    }

    /* episodes: per iteration and per task */
    rlae_status s = RLAE_OK;
    int64_t ne = rows[RLAE_RUNLOG_EPISODES];
    iter_stat *its = NULL;
    int n_its = 0, cap_its = 0;
    task_stat tasks[MAX_TASKS];
    int n_tasks = 0;
    unsigned char *task_of = ne ? malloc((size_t)ne) : NULL;
    rlae_runlog_episode_row *er = malloc(CHUNK * sizeof *er);
    rlae_runlog_span_row *sr = malloc(CHUNK * sizeof *sr);
    rlae_runlog_update_row *ur = NULL;
    if ((ne && !task_of) || !er || !sr) {
        s = rlae_fail(RLAE_ERR_NOMEM, "out of memory summarising %s", path);
        goto done;
    }
    for (int64_t at = 0; at < ne && s == RLAE_OK; at += CHUNK) {
        int64_t n = ne - at < CHUNK ? ne - at : CHUNK;
        if ((s = rlae_runlog_reader_read(r, RLAE_RUNLOG_EPISODES, at, n, er)) != RLAE_OK)
            break;
        for (int64_t i = 0; i < n; i++) {
            if ((s = count_episode(&its, &n_its, &cap_its, &er[i])) != RLAE_OK)
                break;
            /* grouped by task and, where items have one, subject (MMLU subject, synthetic skill):
             * what shows whether the agent trusts members differently per kind of question */
            int ti = 0;
            char key[2 * RLAE_RUNLOG_NAME_LEN];
            er[i].task[RLAE_RUNLOG_NAME_LEN - 1] = er[i].subject[RLAE_RUNLOG_NAME_LEN - 1] = '\0';
            snprintf(key, sizeof key, er[i].subject[0] ? "%s/%s" : "%s", er[i].task, er[i].subject);
            while (ti < n_tasks && strcmp(tasks[ti].name, key) != 0)
                ti++;
            if (ti == n_tasks && n_tasks < MAX_TASKS) {
                memset(&tasks[ti], 0, sizeof tasks[ti]);
                memcpy(tasks[ti].name, key, sizeof key);
                n_tasks++;
            }
            if (ti == MAX_TASKS)
                ti = MAX_TASKS - 1;
            tasks[ti].n++;
            tasks[ti].reward += er[i].reward;
            tasks[ti].correct += er[i].correct;
            task_of[at + i] = (unsigned char)ti;
        }
    }
    if (s != RLAE_OK)
        goto done;
    int64_t nu = rows[RLAE_RUNLOG_UPDATES];
    ur = malloc((size_t)(nu ? nu : 1) * sizeof *ur);
    if (!ur) {
        s = RLAE_ERR_NOMEM;
        goto done;
    }
    if ((s = rlae_runlog_reader_read(r, RLAE_RUNLOG_UPDATES, 0, nu, ur)) != RLAE_OK)
        goto done;

    if (n_its > 0) {
        printf("\n%9s  %8s  %8s  %8s  %10s  %9s  %8s\n", "iteration", "episodes", "reward", "accuracy",
               "loss", "approx_kl", "entropy");
        int step = n_its > MAX_SHOWN_ITERS ? (n_its + MAX_SHOWN_ITERS - 2) / (MAX_SHOWN_ITERS - 1) : 1;
        for (int i = 0; i < n_its; i++) {
            if (i % step != 0 && i != n_its - 1)
                continue; /* first, every step-th, and always the newest */
            printf("%9d  %8ld  %8.4f  %8.4f", its[i].iteration, its[i].n, its[i].reward / (double)its[i].n,
                   its[i].correct / (double)its[i].n);
            print_update_cols(ur, nu, its[i].iteration);
            printf("\n");
        }
        if (step > 1)
            printf("(%d iterations; every %d-th shown, --export csv episodes has all)\n", n_its, step);
    }

    /* spans: mean weight per member overall, per span index, per task */
    int64_t ns = rows[RLAE_RUNLOG_SPANS];
    double w_all[RLAE_MAX_MEMBERS] = {0}, w_t[MAX_SPAN_BUCKETS][RLAE_MAX_MEMBERS];
    long n_all = 0, n_t[MAX_SPAN_BUCKETS] = {0};
    memset(w_t, 0, sizeof w_t);
    for (int64_t at = 0; at < ns && s == RLAE_OK; at += CHUNK) {
        int64_t n = ns - at < CHUNK ? ns - at : CHUNK;
        if ((s = rlae_runlog_reader_read(r, RLAE_RUNLOG_SPANS, at, n, sr)) != RLAE_OK)
            break;
        for (int64_t i = 0; i < n; i++) {
            int b = sr[i].t < 0 ? 0 : sr[i].t >= MAX_SPAN_BUCKETS ? MAX_SPAN_BUCKETS - 1 : sr[i].t;
            task_stat *ts =
                (sr[i].episode >= 0 && sr[i].episode < ne) ? &tasks[task_of[sr[i].episode]] : NULL;
            for (int k = 0; k < K; k++) {
                double w = sr[i].weights[k];
                w_all[k] += w;
                w_t[b][k] += w;
                if (ts)
                    ts->w[k] += w;
            }
            n_all++;
            n_t[b]++;
            if (ts)
                ts->spans++;
        }
    }
    if (s != RLAE_OK)
        goto done;
    if (n_all > 0) {
        printf("\nmean weight per member\n  %-14s", "");
        for (int k = 0; k < K; k++)
            printf(" %9.9s", rlae_runlog_reader_member(r, k));
        printf("\n");
        print_weights_row("overall", w_all, n_all, K);
        for (int b = 0; b < MAX_SPAN_BUCKETS; b++) {
            if (!n_t[b])
                continue;
            char label[32];
            snprintf(label, sizeof label, b == MAX_SPAN_BUCKETS - 1 ? "span >= %d" : "span %d", b);
            print_weights_row(label, w_t[b], n_t[b], K);
        }
    }
    if (n_tasks > 0) {
        printf("\nper task (and subject)\n  %-20s %8s  %8s  %8s  mean weight", "task", "episodes", "reward",
               "accuracy");
        for (int k = 0; k < K; k++)
            printf(" %8.8s", rlae_runlog_reader_member(r, k));
        printf("\n");
        for (int i = 0; i < n_tasks; i++) {
            printf("  %-20s %8ld  %8.4f  %8.4f             ", tasks[i].name[0] ? tasks[i].name : "(none)",
                   tasks[i].n, tasks[i].reward / (double)tasks[i].n, tasks[i].correct / (double)tasks[i].n);
            for (int k = 0; k < K; k++) {
                if (tasks[i].spans)
                    printf(" %8.3f", tasks[i].w[k] / (double)tasks[i].spans);
                else
                    printf(" %8s", "-");
            }
            printf("\n");
        }
    }

    int64_t nev = rows[RLAE_RUNLOG_EVAL];
    if (nev > 0) {
        int64_t from = nev > 40 ? nev - 40 : 0;
        rlae_runlog_eval_row *ev = malloc((size_t)(nev - from) * sizeof *ev);
        if (!ev) {
            s = RLAE_ERR_NOMEM;
            goto done;
        }
        s = rlae_runlog_reader_read(r, RLAE_RUNLOG_EVAL, from, nev - from, ev);
        if (s == RLAE_OK) {
            printf("\nevaluation%s\n  %9s  %-20s %-16s %8s  %-19s %8s  %9s\n", from ? " (last 40 rows)" : "",
                   "iteration", "task", "method", "accuracy", "95% ci", "n", "ms/token");
            for (int64_t i = 0; i < nev - from; i++) {
                ev[i].task[RLAE_RUNLOG_NAME_LEN - 1] = ev[i].method[RLAE_RUNLOG_NAME_LEN - 1] = '\0';
                printf("  %9d  %-20s %-16s %8.4f  [%7.4f, %7.4f]  %8lld", ev[i].iteration, ev[i].task,
                       ev[i].method, ev[i].accuracy, ev[i].ci_low, ev[i].ci_high, (long long)ev[i].n);
                if (ev[i].tokens > 0 && ev[i].gen_seconds == ev[i].gen_seconds) /* measured generation */
                    printf("  %9.3f\n", 1000.0 * ev[i].gen_seconds / (double)ev[i].tokens);
                else
                    printf("  %9s\n", "-"); /* not measured, per-subject rows, log-likelihood scoring */
            }
        }
        free(ev);
        if (s != RLAE_OK)
            goto done;
    }
    const char *yaml = rlae_runlog_reader_meta(r, "config_yaml");
    printf("\nconfig\n");
    if (!yaml[0])
        printf("  (none recorded)\n");
    for (const char *p = yaml; *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        printf("  %.*s\n", len, p);
        p += len + (nl ? 1 : 0);
    }
done:
    free(its);
    free(task_of);
    free(er);
    free(sr);
    free(ur);
    return s;
}

/* ---- one episode ------------------------------------------------------------------------------ */
static void print_block(const char *label, const char *text)
{
    printf("%s\n", label);
    const char *p = text;
    if (!*p) {
        printf("  (empty)\n");
        return;
    }
    while (*p) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        printf("  | %.*s\n", len, p);
        p += len + (nl ? 1 : 0);
    }
}

static const char *END_NAMES[] = {"none", "eos", "stop", "max_tokens", "context"};

static rlae_status show_episode(rlae_runlog_reader *r, int64_t idx, int color)
{
    const int K = rlae_runlog_reader_n_members(r);
    int64_t ne = rlae_runlog_reader_rows(r, RLAE_RUNLOG_EPISODES);
    if (idx < 0 || idx >= ne)
        return rlae_fail(RLAE_ERR_INPUT, "--episode %lld: the file has %lld committed episodes (0..%lld)",
                         (long long)idx, (long long)ne, (long long)ne - 1);
    rlae_runlog_episode_row e;
    RLAE_TRY(rlae_runlog_reader_read(r, RLAE_RUNLOG_EPISODES, idx, 1, &e));
    e.task[RLAE_RUNLOG_NAME_LEN - 1] = '\0';
    printf("episode %lld (id %lld, iteration %d, task %s, item %lld)\n", (long long)idx, (long long)e.id,
           e.iteration, e.task, (long long)e.item);
    printf("reward %.4f  correct %s  end %s (%s)  %d tokens in %d spans\n", e.reward,
           e.correct ? "yes" : "no", e.end_reason < 5 ? END_NAMES[e.end_reason] : "?",
           e.terminated  ? "terminated"
           : e.truncated ? "truncated"
                         : "-",
           e.n_tokens, e.n_spans);
    if (idx < rlae_runlog_reader_rows(r, RLAE_RUNLOG_TEXT)) {
        rlae_runlog_text_row x;
        RLAE_TRY(rlae_runlog_reader_read(r, RLAE_RUNLOG_TEXT, idx, 1, &x));
        print_block("prompt", x.prompt);
        print_block("gold", x.gold);
        print_block("response", x.response);
        rlae_runlog_text_row_free(&x);
    } else {
        printf("(text not logged: log.text was off)\n");
    }
    /* colours per member: red green yellow blue magenta cyan white grey */
    static const char *const COL[8] = {"31", "32", "33", "34", "35", "36", "37", "90"};
    size_t probe;
    int texts = rlae_runlog_reader_union_bytes(r, 0, &probe) != NULL;
    printf("spans (%s, marked with the member most confident in them:",
           texts ? "tokens as [text]" : "tokens are union ids");
    for (int k = 0; k < K; k++) {
        if (color)
            printf(" \033[%sm%s\033[0m", COL[k], rlae_runlog_reader_member(r, k));
        else
            printf(" %c=%s", 'a' + k, rlae_runlog_reader_member(r, k));
    }
    printf(")\n");
    rlae_runlog_span_row *sp = calloc((size_t)(e.n_spans > 0 ? e.n_spans : 1), sizeof *sp);
    int have_tok =
        e.token_offset >= 0 && e.token_offset + e.n_tokens <= rlae_runlog_reader_rows(r, RLAE_RUNLOG_TOKENS);
    rlae_runlog_token_row *tk =
        have_tok ? calloc((size_t)(e.n_tokens > 0 ? e.n_tokens : 1), sizeof *tk) : NULL;
    rlae_status s = (!sp || (have_tok && !tk)) ? rlae_fail(RLAE_ERR_NOMEM, "out of memory") : RLAE_OK;
    if (s == RLAE_OK)
        s = rlae_runlog_reader_read(r, RLAE_RUNLOG_SPANS, e.span_offset, e.n_spans, sp);
    if (s == RLAE_OK && tk)
        s = rlae_runlog_reader_read(r, RLAE_RUNLOG_TOKENS, e.token_offset, e.n_tokens, tk);
    for (int t = 0; t < e.n_spans && s == RLAE_OK; t++) {
        int start = sp[t].token_start, end = t + 1 < e.n_spans ? sp[t + 1].token_start : e.n_tokens;
        printf("  span %-3d tokens %d..%d  weights", t, start, end - 1);
        for (int k = 0; k < K; k++)
            printf(" %s=%.3f", rlae_runlog_reader_member(r, k), sp[t].weights[k]);
        if (!isnan(sp[t].logp))
            printf("  logp %.3f", sp[t].logp);
        if (!isnan(sp[t].value))
            printf("  value %.3f", sp[t].value);
        if (!isnan(sp[t].advantage))
            printf("  adv %.3f", sp[t].advantage);
        printf("\n");
        if (!tk)
            continue;
        printf("   ");
        for (int i = start; i < end && i < e.n_tokens; i++) {
            if (i < 0)
                continue;
            int best = 0;
            for (int k = 1; k < K; k++)
                if (tk[i].member_prob[k] > tk[i].member_prob[best])
                    best = k;
            size_t n;
            const uint8_t *b = rlae_runlog_reader_union_bytes(r, tk[i].token, &n);
            if (b) { /* the token's text, escaped onto one line */
                if (color)
                    printf(" \033[%sm[", COL[best]);
                else
                    printf(" [");
                if (tk[i].token == 0)
                    printf("<eos>");
                for (size_t j = 0; j < n; j++) {
                    uint8_t c = b[j];
                    if (c == '\n')
                        printf("\\n");
                    else if (c == '\\' || c == ']')
                        printf("\\%c", c);
                    else if (c < 0x20 || c == 0x7f)
                        printf("\\x%02x", c);
                    else
                        putchar(c);
                }
                if (color)
                    printf("]\033[0m");
                else
                    printf("]%c", 'a' + best);
            } else if (color) {
                printf(" \033[%sm%d\033[0m", COL[best], tk[i].token);
            } else {
                printf(" %d/%c", tk[i].token, 'a' + best);
            }
        }
        printf("\n");
    }
    if (s == RLAE_OK && !have_tok)
        printf("(tokens not logged: log.tokens was off)\n");
    free(sp);
    free(tk);
    return s;
}

/* ---- CSV export ------------------------------------------------------------------------------- */
static void csv_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void csv_member_cols(const rlae_runlog_reader *r, const char *prefix)
{
    for (int k = 0; k < rlae_runlog_reader_n_members(r); k++)
        printf(",%s_%s", prefix, rlae_runlog_reader_member(r, k));
}

static void csv_f(double v)
{
    if (isnan(v))
        printf(",");
    else
        printf(",%.9g", v);
}

static rlae_status export_csv(rlae_runlog_reader *r, rlae_runlog_table t)
{
    static const char *const FEAT[4] = {"entropy", "top1", "span_logprob", "span_agree"};
    const int K = rlae_runlog_reader_n_members(r);
    switch (t) {
    case RLAE_RUNLOG_EPISODES:
        printf("row,id,iteration,task,item,reward,correct,terminated,truncated,end_reason,n_tokens,n_spans,"
               "token_offset,span_offset\n");
        break;
    case RLAE_RUNLOG_SPANS:
        printf("row,episode,t,token_start");
        csv_member_cols(r, "weight");
        csv_member_cols(r, "policy");
        for (int k = 0; k < K; k++)
            for (int f = 0; f < 4; f++)
                printf(",%s_%s", FEAT[f], rlae_runlog_reader_member(r, k));
        printf(",logp,value,advantage,return\n");
        break;
    case RLAE_RUNLOG_TOKENS:
        printf("row,episode,t,token,mixed_prob");
        csv_member_cols(r, "prob");
        csv_member_cols(r, "top1");
        printf("\n");
        break;
    case RLAE_RUNLOG_TEXT: printf("row,episode,prompt,response,gold\n"); break;
    case RLAE_RUNLOG_UPDATES:
        printf("row,iteration,loss,pg_loss,v_loss,entropy,approx_kl,clipfrac,explained_variance,grad_norm,lr,"
               "epochs,"
               "minibatches,seconds\n");
        break;
    case RLAE_RUNLOG_EVAL: printf("row,iteration,task,method,accuracy,ci_low,ci_high,n\n"); break;
    case RLAE_RUNLOG_ITERATIONS:
        printf("row,iteration,n_episodes,n_spans,n_tokens,n_text,n_updates,n_eval,time\n");
        break;
    default: return rlae_fail(RLAE_ERR_INPUT, "no such table");
    }
    int64_t n_rows = rlae_runlog_reader_rows(r, t);
    int64_t chunk = t == RLAE_RUNLOG_TEXT ? 256 : 4096;
    size_t rs = t == RLAE_RUNLOG_EPISODES  ? sizeof(rlae_runlog_episode_row)
                : t == RLAE_RUNLOG_SPANS   ? sizeof(rlae_runlog_span_row)
                : t == RLAE_RUNLOG_TOKENS  ? sizeof(rlae_runlog_token_row)
                : t == RLAE_RUNLOG_TEXT    ? sizeof(rlae_runlog_text_row)
                : t == RLAE_RUNLOG_UPDATES ? sizeof(rlae_runlog_update_row)
                : t == RLAE_RUNLOG_EVAL    ? sizeof(rlae_runlog_eval_row)
                                           : sizeof(rlae_runlog_iteration_row);
    char *buf = malloc((size_t)chunk * rs);
    if (!buf)
        return rlae_fail(RLAE_ERR_NOMEM, "out of memory exporting");
    rlae_status s = RLAE_OK;
    for (int64_t at = 0; at < n_rows && s == RLAE_OK; at += chunk) {
        int64_t n = n_rows - at < chunk ? n_rows - at : chunk;
        if ((s = rlae_runlog_reader_read(r, t, at, n, buf)) != RLAE_OK)
            break;
        for (int64_t i = 0; i < n; i++) {
            long long row = (long long)(at + i);
            void *p = buf + (size_t)i * rs;
            switch (t) {
            case RLAE_RUNLOG_EPISODES: {
                rlae_runlog_episode_row *e = p;
                e->task[RLAE_RUNLOG_NAME_LEN - 1] = '\0';
                printf("%lld,%lld,%d,", row, (long long)e->id, e->iteration);
                csv_str(e->task);
                printf(",%lld,%.9g,%d,%d,%d,%s,%d,%d,%lld,%lld\n", (long long)e->item, e->reward, e->correct,
                       e->terminated, e->truncated, e->end_reason < 5 ? END_NAMES[e->end_reason] : "?",
                       e->n_tokens, e->n_spans, (long long)e->token_offset, (long long)e->span_offset);
                break;
            }
            case RLAE_RUNLOG_SPANS: {
                rlae_runlog_span_row *x = p;
                printf("%lld,%lld,%d,%d", row, (long long)x->episode, x->t, x->token_start);
                for (int k = 0; k < K; k++)
                    csv_f(x->weights[k]);
                for (int k = 0; k < K; k++)
                    csv_f(x->policy[k]);
                for (int k = 0; k < K; k++)
                    for (int f = 0; f < 4; f++)
                        csv_f(x->features[k][f]);
                csv_f(x->logp);
                csv_f(x->value);
                csv_f(x->advantage);
                csv_f(x->ret);
                printf("\n");
                break;
            }
            case RLAE_RUNLOG_TOKENS: {
                rlae_runlog_token_row *x = p;
                printf("%lld,%lld,%d,%d", row, (long long)x->episode, x->t, x->token);
                csv_f(x->mixed_prob);
                for (int k = 0; k < K; k++)
                    csv_f(x->member_prob[k]);
                for (int k = 0; k < K; k++)
                    csv_f(x->member_top1[k]);
                printf("\n");
                break;
            }
            case RLAE_RUNLOG_TEXT: {
                rlae_runlog_text_row *x = p;
                printf("%lld,%lld,", row, (long long)x->episode);
                csv_str(x->prompt);
                putchar(',');
                csv_str(x->response);
                putchar(',');
                csv_str(x->gold);
                printf("\n");
                rlae_runlog_text_row_free(x);
                break;
            }
            case RLAE_RUNLOG_UPDATES: {
                rlae_runlog_update_row *u = p;
                printf("%lld,%d", row, u->iteration);
                csv_f(u->loss);
                csv_f(u->pg_loss);
                csv_f(u->v_loss);
                csv_f(u->entropy);
                csv_f(u->approx_kl);
                csv_f(u->clipfrac);
                csv_f(u->explained_variance);
                csv_f(u->grad_norm);
                csv_f(u->lr);
                printf(",%d,%lld", u->epochs, (long long)u->minibatches);
                csv_f(u->seconds);
                printf("\n");
                break;
            }
            case RLAE_RUNLOG_EVAL: {
                rlae_runlog_eval_row *x = p;
                x->task[RLAE_RUNLOG_NAME_LEN - 1] = x->method[RLAE_RUNLOG_NAME_LEN - 1] = '\0';
                printf("%lld,%d,", row, x->iteration);
                csv_str(x->task);
                putchar(',');
                csv_str(x->method);
                csv_f(x->accuracy);
                csv_f(x->ci_low);
                csv_f(x->ci_high);
                printf(",%lld\n", (long long)x->n);
                break;
            }
            default: {
                rlae_runlog_iteration_row *x = p;
                printf("%lld,%d", row, x->iteration);
                for (int j = 0; j < RLAE_RUNLOG_ITERATIONS; j++)
                    printf(",%lld", (long long)x->rows[j]);
                printf(",%.3f\n", x->time);
                break;
            }
            }
        }
    }
    free(buf);
    return s;
}

/* ---- follow ----------------------------------------------------------------------------------- */
/* Prints one line per iteration among episode rows [from, to) and update rows [ufrom, uto). */
static rlae_status print_new(rlae_runlog_reader *r, int64_t from, int64_t to, int64_t ufrom, int64_t uto)
{
    iter_stat *its = NULL;
    int n_its = 0, cap = 0;
    rlae_status s = RLAE_OK;
    rlae_runlog_episode_row *er = malloc(CHUNK * sizeof *er);
    rlae_runlog_update_row *ur = malloc((size_t)(uto - ufrom > 0 ? uto - ufrom : 1) * sizeof *ur);
    if (!er || !ur)
        s = rlae_fail(RLAE_ERR_NOMEM, "out of memory");
    for (int64_t at = from; at < to && s == RLAE_OK; at += CHUNK) {
        int64_t n = to - at < CHUNK ? to - at : CHUNK;
        if ((s = rlae_runlog_reader_read(r, RLAE_RUNLOG_EPISODES, at, n, er)) != RLAE_OK)
            break;
        for (int64_t i = 0; i < n && s == RLAE_OK; i++)
            s = count_episode(&its, &n_its, &cap, &er[i]);
    }
    if (s == RLAE_OK)
        s = rlae_runlog_reader_read(r, RLAE_RUNLOG_UPDATES, ufrom, uto - ufrom, ur);
    for (int i = 0; i < n_its && s == RLAE_OK; i++) {
        printf("iteration %d: %ld episodes, reward %.4f, accuracy %.4f", its[i].iteration, its[i].n,
               its[i].reward / (double)its[i].n, its[i].correct / (double)its[i].n);
        for (int64_t j = uto - ufrom - 1; j >= 0; j--)
            if (ur[j].iteration == its[i].iteration) {
                printf(", loss %.4f, approx_kl %.5f", ur[j].loss, ur[j].approx_kl);
                break;
            }
        printf("\n");
    }
    fflush(stdout);
    free(its);
    free(er);
    free(ur);
    return s;
}

static rlae_status follow(rlae_runlog_reader *r)
{
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("\nfollowing new iterations (Ctrl-C stops)\n");
    fflush(stdout);
    int64_t ne = rlae_runlog_reader_rows(r, RLAE_RUNLOG_EPISODES),
            nu = rlae_runlog_reader_rows(r, RLAE_RUNLOG_UPDATES);
    while (!stop_following) {
        usleep(200000);
        int changed = 0;
        RLAE_TRY(rlae_runlog_reader_refresh(r, &changed));
        if (!changed)
            continue;
        int64_t ne2 = rlae_runlog_reader_rows(r, RLAE_RUNLOG_EPISODES),
                nu2 = rlae_runlog_reader_rows(r, RLAE_RUNLOG_UPDATES);
        if (ne2 < ne || nu2 < nu) { /* a resume truncated the file */
            printf("(the run file was truncated by a resume)\n");
            ne = ne2 < ne ? ne2 : ne;
            nu = nu2 < nu ? nu2 : nu;
        }
        RLAE_TRY(print_new(r, ne, ne2, nu, nu2));
        ne = ne2;
        nu = nu2;
    }
    return RLAE_OK;
}

int cmd_inspect(int argc, char **argv)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help("inspect");
    const char *path = NULL, *table = NULL, *color_arg = "auto";
    long long episode = -1;
    int want_episode = 0, want_follow = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--episode") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("inspect", "--episode needs a row number");
            char *end = NULL;
            episode = strtoll(argv[++i], &end, 10);
            if (!end || *end || episode < 0)
                return cli_usage_error("inspect", "--episode: '%s' is not a row number >= 0", argv[i]);
            want_episode = 1;
        } else if (strcmp(a, "--export") == 0) {
            if (i + 2 >= argc)
                return cli_usage_error("inspect", "--export needs a format and a table: --export csv TABLE");
            if (strcmp(argv[i + 1], "csv") != 0)
                return cli_usage_error("inspect", "--export: format '%s' is not supported (csv is)",
                                       argv[i + 1]);
            table = argv[i + 2];
            i += 2;
        } else if (strcmp(a, "--follow") == 0) {
            want_follow = 1;
        } else if (strncmp(a, "--color=", 8) == 0) {
            color_arg = a + 8;
            if (strcmp(color_arg, "auto") && strcmp(color_arg, "always") && strcmp(color_arg, "never"))
                return cli_usage_error("inspect", "--color must be auto, always or never");
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("inspect", "unknown option '%s'", a);
        } else if (!path) {
            path = a;
        } else {
            return cli_usage_error("inspect", "one run file at a time ('%s' and '%s' given)", path, a);
        }
    }
    if (!path)
        return cli_usage_error("inspect", "give the run file: rlae inspect RUN.h5");
    if (want_episode + (table != NULL) + want_follow > 1)
        return cli_usage_error("inspect", "--episode, --export and --follow are separate views; pick one");
    int t = -1;
    if (table && (t = rlae_runlog_table_from_name(table)) < 0)
        return cli_usage_error("inspect",
                               "--export csv: no table '%s' (episodes, spans, tokens, text, updates, eval, "
                               "iterations)",
                               table);
    rlae_runlog_reader *r = NULL;
    rlae_status s = rlae_runlog_reader_open(path, &r);
    if (s != RLAE_OK)
        return cli_report("inspect", s);
    if (want_episode) {
        const char *term = getenv("TERM");
        int color =
            strcmp(color_arg, "always") == 0 || (strcmp(color_arg, "auto") == 0 && isatty(STDOUT_FILENO) &&
                                                 !getenv("NO_COLOR") && term && strcmp(term, "dumb") != 0);
        s = show_episode(r, episode, color);
    } else if (table) {
        s = export_csv(r, (rlae_runlog_table)t);
    } else {
        s = summary(r, path);
        fflush(stdout);
        if (s == RLAE_OK && want_follow)
            s = follow(r);
    }
    rlae_runlog_reader_close(r);
    return cli_report("inspect", s);
}
