/* `rlae eval CONFIG [--method M]... [--tasks a,b] [--limit N] [--split S] [key=value ...]`: every method
 * on every task through host/run/evaluate.h, printed as a table (methods x tasks + the average over
 * tasks; accuracy +- the 95% interval's half-width, n) and written as CSV to <run.out_dir>/eval.csv
 * atomically, with each row's generated tokens, generation seconds, ms/token and tokens/s (also in
 * eval.h5's /eval rows; ms/token per method on stderr). Methods are the baseline weight policies (algorithms/baselines.h) named on the command
 * line; without --method, ensemble.policy of CONFIG. --truncate-left cuts prompts that do not fit a
 * member's context from the left (counted and warned about) instead of failing on them. */
#include "cli.h"

#include "algorithms/baselines.h"
#include "config/config.h"
#include "core/fs.h"
#include "envs/env.h"
#include "run/ensemble_setup.h"
#include "run/evaluate.h"
#include "io/runlog.h"
#include "run/agent_policy.h"
#include "run/task_data.h"
#include "run/trainer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_METHODS = 16, MAX_TASKS = 16, MAX_OVERRIDES = 256 };

typedef struct {
    const char *config, *split;
    const char *methods[MAX_METHODS];
    const char *labels[MAX_METHODS]; /* row names: LABEL of --method LABEL=METHOD, else the method */
    char label_buf[MAX_METHODS][RLAE_RUNLOG_NAME_LEN];
    int n_methods;
    const char *tasks; /* comma-separated; NULL: task.name */
    long limit;        /* -1: task.limit */
    int truncate_left;
    int by_subject; /* --by-subject: a table per task with a column per subject (skill) */
    char *overrides[MAX_OVERRIDES];
    int n_overrides;
} eval_args;

static int parse(int argc, char **argv, eval_args *a)
{
    memset(a, 0, sizeof *a);
    a->limit = -1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--truncate-left")) {
            a->truncate_left = 1;
        } else if (!strcmp(o, "--by-subject")) {
            a->by_subject = 1;
        } else if (o[0] == '-') {
            int known = !strcmp(o, "--method") || !strcmp(o, "--tasks") || !strcmp(o, "--limit") ||
                        !strcmp(o, "--split");
            if (!known)
                return cli_usage_error("eval", "unknown option '%s' (options: --method, --tasks, --limit, --split, "
                                       "--truncate-left, --by-subject; "
                                       "settings are key=value overrides)", o);
            if (i + 1 >= argc)
                return cli_usage_error("eval", "option %s needs a value", o);
            const char *v = argv[++i];
            if (!strcmp(o, "--method")) {
                if (a->n_methods == MAX_METHODS)
                    return cli_usage_error("eval", "more than %d --method options", MAX_METHODS);
                const char *eq = strchr(v, '='), *colon = strchr(v, ':');
                int m = a->n_methods++;
                a->methods[m] = a->labels[m] = v;
                if (eq && (!colon || eq < colon)) { /* LABEL=METHOD */
                    size_t n = (size_t)(eq - v);
                    if (n == 0 || n >= sizeof a->label_buf[m] || !eq[1])
                        return cli_usage_error("eval", "--method '%s': LABEL=METHOD needs a label of 1..%d characters "
                                               "and a method, e.g. rlae_ppo=agent:runs/demo",
                                               v, (int)sizeof a->label_buf[m] - 1);
                    memcpy(a->label_buf[m], v, n);
                    a->label_buf[m][n] = '\0';
                    a->labels[m] = a->label_buf[m];
                    a->methods[m] = eq + 1;
                }
            } else if (!strcmp(o, "--tasks")) {
                a->tasks = v;
            } else if (!strcmp(o, "--split")) {
                a->split = v;
            } else {
                char *end;
                a->limit = strtol(v, &end, 10);
                if (*end || end == v || a->limit < 0)
                    return cli_usage_error("eval", "--limit needs a count >= 0 (0 = all items), not '%s'", v);
            }
        } else if (!a->config) {
            a->config = o;
        } else if (strchr(o, '=')) {
            if (a->n_overrides == MAX_OVERRIDES)
                return cli_usage_error("eval", "too many overrides (at most %d)", MAX_OVERRIDES);
            a->overrides[a->n_overrides++] = argv[i];
        } else {
            return cli_usage_error("eval", "unexpected argument '%s': overrides are key.sub=value", o);
        }
    }
    if (!a->config)
        return cli_usage_error("eval", "missing CONFIG");
    return 0;
}

/* The weight policy a --method names, resolved by the same code as ensemble.policy (a shallow copy of
 * cfg with the policy, and for single:NAME the member, replaced). */
static rlae_status method_policy(const rlae_config *cfg, const char *method, rlae_weight_policy *p,
                                 rlae_fixed_weights *ctx)
{
    static const struct {
        const char *name;
        rlae_policy policy;
    } names[] = {{"single", RLAE_POLICY_SINGLE}, {"uniform", RLAE_POLICY_UNIFORM}, {"score", RLAE_POLICY_SCORE},
                 {"topk", RLAE_POLICY_TOPK},     {"gated", RLAE_POLICY_GATED}};
    if (!strcmp(method, "agent"))
        return rlae_fail(RLAE_ERR_INPUT, "method agent needs its checkpoint: agent:RUN_DIR (the run.out_dir of an "
                         "rlae train run) or agent:PATH/checkpoint.bin");
    if (!strncmp(method, "agent:", 6)) { /* loaded once the members are (the agent's shape depends on them) */
        memset(p, 0, sizeof *p);
        p->name = method;
        return RLAE_OK;
    }
    rlae_config c = *cfg;
    const char *colon = strchr(method, ':');
    size_t len = colon ? (size_t)(colon - method) : strlen(method);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i].name) != len || strncmp(method, names[i].name, len))
            continue;
        if (colon && names[i].policy != RLAE_POLICY_SINGLE)
            break;
        c.ensemble.policy = names[i].policy;
        if (colon)
            c.ensemble.single_member = (char *)(colon + 1);
        return rlae_policy_from_config(p, ctx, &c);
    }
    return rlae_fail(RLAE_ERR_INPUT, "unknown method '%s'; use single:NAME (a member's name), uniform, score, topk, "
                     "gated or agent:CHECKPOINT", method);
}

/* Splits --tasks (or task.name) into registered tasks. */
static rlae_status find_tasks(const eval_args *a, const rlae_config *cfg, const env_task **tasks, int *n)
{
    const char *list = a->tasks ? a->tasks : rlae_config_enum_name("task.name", (int)cfg->task.name);
    *n = 0;
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), p);
        const env_task *t = env_task_find(name);
        if (!t) {
            char known[512] = "";
            for (int i = 0; env_task_at(i); i++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                         env_task_at(i)->name);
            return rlae_fail(RLAE_ERR_INPUT, "unknown task '%s' in --tasks; tasks are: %s", name, known);
        }
        if (*n == MAX_TASKS)
            return rlae_fail(RLAE_ERR_INPUT, "more than %d tasks in --tasks", MAX_TASKS);
        tasks[(*n)++] = t;
        p += len + (p[len] == ',');
    }
    if (*n == 0)
        return rlae_fail(RLAE_ERR_INPUT, "--tasks is empty; name tasks such as --tasks arc_easy,piqa");
    return RLAE_OK;
}

/* The table on stdout and the same rows as CSV (one per method x task, then each method's average). */
/* --by-subject: for one task, rows = methods, columns = its subjects, then all items and (with
 * several subjects) the macro average; cells are accuracy +- the CI half-width. r[m * stride]. */
static void print_subjects(const char *task, const rlae_eval_result *r, int stride, int nm,
                           const char *const *methods)
{
    if (r[0].n_groups == 0)
        return;
    printf("\n%s by subject (accuracy +- 95%% CI half-width)\n%-24s", task, "method");
    for (int g = 0; g < r[0].n_groups; g++)
        printf("  %-16s", r[0].groups[g].name);
    printf("  %-16s  %s\n", "all", r[0].n_groups > 1 ? "macro" : "");
    for (int m = 0; m < nm; m++) {
        const rlae_eval_result *x = &r[m * stride];
        printf("%-24s", methods[m]);
        for (int g = 0; g < x->n_groups; g++) {
            char cell[40];
            snprintf(cell, sizeof cell, "%.3f +- %.3f", x->groups[g].accuracy,
                     (x->groups[g].ci_high - x->groups[g].ci_low) / 2);
            printf("  %-16s", cell);
        }
        char cell[40];
        snprintf(cell, sizeof cell, "%.3f +- %.3f", x->accuracy, (x->ci_high - x->ci_low) / 2);
        printf("  %-16s", cell);
        if (x->n_groups > 1)
            printf("  %.3f", x->macro_accuracy);
        printf("\n");
    }
    if (r[0].groups_truncated)
        printf("(only the first %d subjects are listed; the macro average covers all)\n", RLAE_EVAL_MAX_GROUPS);
}

/* The CSV's last columns ",tokens,gen_seconds,ms_per_token,tokens_per_s\n"; the rates are empty
 * without generated tokens (log-likelihood scoring). */
static void csv_latency(FILE *f, int64_t tokens, double seconds)
{
    fprintf(f, ",%lld,%.9f,", (long long)tokens, seconds); /* ns: tiny models generate in milliseconds */
    if (tokens > 0)
        fprintf(f, "%.6f,%.6f", 1e3 * seconds / (double)tokens, seconds > 0 ? (double)tokens / seconds : 0.0);
    else
        fputc(',', f);
    fputc('\n', f);
}

/* Per method on stderr: ms per generated token over its generation tasks (the CSV's average row). */
static void print_latency(const eval_args *a, int nt, const rlae_eval_result *r)
{
    for (int m = 0; m < a->n_methods; m++) {
        int64_t toks = 0;
        double secs = 0, scoring = 0;
        for (int t = 0; t < nt; t++) {
            const rlae_eval_result *x = &r[m * nt + t];
            if (x->tokens > 0) {
                toks += x->tokens;
                secs += x->gen_seconds;
            } else {
                scoring += x->gen_seconds;
            }
        }
        if (toks > 0)
            fprintf(stderr, "rlae eval: %s: %.3f ms/token, %.1f tokens/s (%lld tokens generated in %.3f s)",
                    a->labels[m], 1e3 * secs / (double)toks, secs > 0 ? (double)toks / secs : 0.0, (long long)toks,
                    secs);
        else
            fprintf(stderr, "rlae eval: %s: no tokens generated", a->labels[m]);
        if (scoring > 0)
            fprintf(stderr, "%slog-likelihood scoring %.3f s", toks > 0 ? "; " : " (", scoring);
        fprintf(stderr, "%s\n", toks > 0 || !(scoring > 0) ? "" : ")");
    }
}

static rlae_status report(const rlae_config *cfg, const eval_args *a, const env_task *const *tasks, int nt,
                          const rlae_eval_result *r)
{
    int nm = a->n_methods;
    printf("%-24s", "method");
    for (int t = 0; t < nt; t++)
        printf("  %-24s", tasks[t]->name);
    printf("  %s\n", "average");
    char *csv = NULL;
    size_t csv_len = 0;
    FILE *f = open_memstream(&csv, &csv_len);
    if (!f)
        return rlae_fail(RLAE_ERR_NOMEM, "eval: cannot buffer the CSV");
    fprintf(f, "task,method,split,scoring,n,accuracy,ci_low,ci_high,f1,tokens,gen_seconds,ms_per_token,tokens_per_s\n");
    for (int m = 0; m < nm; m++) {
        printf("%-24s", a->labels[m]);
        double sum = 0, secs = 0;
        size_t n = 0;
        int64_t toks = 0;
        for (int t = 0; t < nt; t++) {
            const rlae_eval_result *x = &r[m * nt + t];
            char cell[64];
            snprintf(cell, sizeof cell, "%.3f +- %.3f (n=%zu)", x->accuracy, (x->ci_high - x->ci_low) / 2, x->n);
            printf("  %-24s", cell);
            sum += x->accuracy;
            n += x->n;
            fprintf(f, "%s,%s,%s,%s,%zu,%.6f,%.6f,%.6f,", x->task, x->method, x->split, x->scoring, x->n, x->accuracy,
                    x->ci_low, x->ci_high);
            if (x->has_f1)
                fprintf(f, "%.6f", x->f1);
            csv_latency(f, x->tokens, x->gen_seconds);
            if (x->tokens > 0) {
                toks += x->tokens;
                secs += x->gen_seconds;
            }
        }
        printf("  %.3f (n=%zu)\n", sum / nt, n);
        fprintf(f, "average,%s,,,%zu,%.6f,,,", a->labels[m], n, sum / nt);
        csv_latency(f, toks, secs);
    }
    for (int m = 0; m < nm; m++)
        for (int t = 0; t < nt; t++)
            if (r[m * nt + t].has_f1)
                printf("%s on %s: F1 %.3f\n", a->labels[m], tasks[t]->name, r[m * nt + t].f1);
    for (int m = 0; m < nm; m++) /* subjects always go to the CSV, as task/subject rows */
        for (int t = 0; t < nt; t++) {
            const rlae_eval_result *x = &r[m * nt + t];
            for (int g = 0; g < x->n_groups; g++)
                fprintf(f, "%s/%s,%s,%s,%s,%zu,%.6f,%.6f,%.6f,,,,,\n", x->task, x->groups[g].name, x->method, x->split,
                        x->scoring, x->groups[g].n, x->groups[g].accuracy, x->groups[g].ci_low, x->groups[g].ci_high);
        }
    for (int t = 0; a->by_subject && t < nt; t++)
        print_subjects(tasks[t]->name, r + t, nt, nm, a->labels);
    fflush(stdout);
    if (fclose(f) != 0) {
        free(csv);
        return rlae_fail(RLAE_ERR_NOMEM, "eval: cannot buffer the CSV");
    }
    char *path = rlae_path_join(cfg->run.out_dir, "eval.csv");
    rlae_status s = path ? rlae_mkdir_p(cfg->run.out_dir) : RLAE_ERR_NOMEM;
    if (s == RLAE_OK)
        s = rlae_write_file_atomic(path, csv, csv_len);
    if (s == RLAE_OK)
        fprintf(stderr, "rlae eval: wrote %s\n", path);
    free(path);
    free(csv);
    return s;
}

/* The same rows (and one per subject) into <run.out_dir>/eval.h5, an rlae run file with /eval
 * only, so `rlae inspect` and tools/plot.py read evaluations like training runs. */
static rlae_status log_results(const rlae_config *cfg, const rlae_eval_result *r, int n)
{
    char *path = rlae_path_join(cfg->run.out_dir, "eval.h5");
    if (!path)
        return RLAE_ERR_NOMEM;
    rlae_runlog_meta_buf mb;
    rlae_runlog *log = NULL;
    rlae_status s = rlae_runlog_meta_from_config(cfg, 1, &mb);
    if (s == RLAE_OK) {
        s = rlae_runlog_create(path, &mb.meta, 1, &log);
        rlae_runlog_meta_buf_free(&mb);
    }
    char name[RLAE_EVAL_MAX_GROUPS][96];
    for (int i = 0; i < n && s == RLAE_OK; i++) {
        rlae_runlog_eval rows[1 + RLAE_EVAL_MAX_GROUPS];
        int nr = 0;
        rows[nr++] = (rlae_runlog_eval){.iteration = 0, .task = r[i].task, .method = r[i].method,
                                        .accuracy = r[i].accuracy, .ci_low = r[i].ci_low, .ci_high = r[i].ci_high,
                                        .n = (int64_t)r[i].n, .timed = 1, .tokens = r[i].tokens,
                                        .gen_seconds = r[i].gen_seconds};
        for (int g = 0; g < r[i].n_groups; g++) {
            snprintf(name[g], sizeof name[g], "%s/%s", r[i].task, r[i].groups[g].name);
            rows[nr++] = (rlae_runlog_eval){.iteration = 0, .task = name[g], .method = r[i].method,
                                            .accuracy = r[i].groups[g].accuracy, .ci_low = r[i].groups[g].ci_low,
                                            .ci_high = r[i].groups[g].ci_high, .n = (int64_t)r[i].groups[g].n};
        }
        s = rlae_runlog_append_eval(log, nr, rows);
    }
    if (s == RLAE_OK)
        s = rlae_runlog_flush(log, 0);
    rlae_status c = rlae_runlog_close(log);
    if (s == RLAE_OK)
        s = c;
    if (s == RLAE_OK)
        fprintf(stderr, "rlae eval: wrote %s\n", path);
    free(path);
    return s;
}

/* Agents trained with an encoder member bring it when the config names none (rlae_train_adopt_encoder). */
static rlae_status adopt_agent_encoder(const eval_args *a, rlae_config *cfg)
{
    for (int m = 0; m < a->n_methods; m++) {
        int adopted = 0;
        if (strncmp(a->methods[m], "agent:", 6) == 0)
            RLAE_TRY(rlae_train_adopt_encoder(a->methods[m] + 6, cfg, &adopted));
        if (adopted)
            fprintf(stderr, "rlae eval: encoder member %s, as in the run of %s\n", cfg->encoder.path, a->methods[m]);
    }
    return RLAE_OK;
}

static rlae_status run(eval_args *a, rlae_config *cfg)
{
    RLAE_TRY(rlae_config_load(a->config, a->n_overrides, a->overrides, cfg));
    RLAE_TRY(adopt_agent_encoder(a, cfg));
    if (a->n_methods == 0) {
        a->methods[0] = a->labels[0] = rlae_config_enum_name("ensemble.policy", (int)cfg->ensemble.policy);
        a->n_methods = 1;
    }
    const env_task *tasks[MAX_TASKS];
    int nt;
    RLAE_TRY(find_tasks(a, cfg, tasks, &nt));
    rlae_weight_policy pol[MAX_METHODS];
    rlae_fixed_weights pctx[MAX_METHODS];
    for (int m = 0; m < a->n_methods; m++)
        RLAE_TRY(method_policy(cfg, a->methods[m], &pol[m], &pctx[m]));
    rlae_eval_options opt = rlae_eval_options_from_config(cfg);
    if (a->limit >= 0)
        opt.limit = (size_t)a->limit;
    if (a->split)
        opt.split = a->split;
    opt.truncate_left = a->truncate_left;

    rlae_eval_result *r = rlae_calloc((size_t)(a->n_methods * nt), sizeof *r);
    if (!r)
        return RLAE_ERR_NOMEM;
    /* the synthetic task is generated as the config describes it (skills, proportions, sizes) */
    rlae_task_data synth;
    memset(&synth, 0, sizeof synth);
    rlae_status s = RLAE_OK;
    for (int t = 0; t < nt && s == RLAE_OK; t++)
        if (strcmp(tasks[t]->name, "synthetic") == 0) {
            rlae_config c = *cfg;
            c.task.name = RLAE_TASK_SYNTHETIC;
            if (a->split)
                c.task.eval_split = (char *)a->split;
            s = rlae_task_data_load(&c, "eval", opt.limit, &synth);
        }
    rlae_ensemble ens;
    memset(&ens, 0, sizeof ens);
    if (s == RLAE_OK)
        s = rlae_ensemble_open(&ens, cfg, cfg->ensemble.batch_size);
    /* agent:CHECKPOINT methods: the trained agent with deterministic weights */
    rlae_agent *agents[MAX_METHODS] = {0};
    rlae_agent_policy apol[MAX_METHODS];
    memset(apol, 0, sizeof apol);
    int max_spans = (cfg->ensemble.max_new_tokens + cfg->ensemble.span - 1) / cfg->ensemble.span;
    for (int m = 0; m < a->n_methods && s == RLAE_OK; m++) {
        if (strncmp(a->methods[m], "agent:", 6) != 0)
            continue;
        s = rlae_train_load_agent(a->methods[m] + 6, cfg, &ens, &agents[m]);
        if (s == RLAE_OK)
            s = rlae_agent_policy_init(&apol[m], agents[m], ens.n_members, ens.max_batch, max_spans, 1);
        if (s == RLAE_OK)
            pol[m] = apol[m].base;
    }
    for (int m = 0; m < a->n_methods && s == RLAE_OK; m++)
        for (int t = 0; t < nt && s == RLAE_OK; t++) {
            rlae_eval_result *x = &r[m * nt + t];
            rlae_eval_options o = opt;
            if (strcmp(tasks[t]->name, "synthetic") == 0) {
                o.items = &synth.items;
                o.items_split = synth.split;
            }
            s = rlae_evaluate(&ens, tasks[t], &o, &pol[m], a->labels[m], x);
            if (s == RLAE_OK && x->n_unspelled)
                fprintf(stderr, "rlae eval: warning: %s on %s: members could not spell %ld byte(s) exactly and were "
                        "fed their unk token there\n", x->method, x->task, x->n_unspelled);
            if (s == RLAE_OK && x->n_truncated)
                fprintf(stderr, "rlae eval: warning: %s on %s: %zu of %zu prompts were cut from the left to fit the "
                        "members' contexts\n", x->method, x->task, x->n_truncated, x->n);
        }
    for (int m = 0; m < a->n_methods; m++) {
        if (agents[m])
            rlae_agent_policy_free(&apol[m]);
        rlae_agent_free(agents[m]);
    }
    rlae_ensemble_close(&ens); /* safe after a failed open: it leaves *e zeroed */
    rlae_task_data_free(&synth);
    if (s == RLAE_OK)
        print_latency(a, nt, r);
    if (s == RLAE_OK)
        s = report(cfg, a, tasks, nt, r);
    if (s == RLAE_OK)
        s = log_results(cfg, r, a->n_methods * nt);
    free(r);
    return s;
}

int cmd_eval(int argc, char **argv)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help("eval");
    eval_args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    rlae_config cfg;
    memset(&cfg, 0, sizeof cfg);
    rlae_status s = run(&a, &cfg);
    rlae_config_free(&cfg);
    return cli_report("eval", s);
}
