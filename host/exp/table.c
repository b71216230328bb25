/* Tables of an experiment from its runs' files (table.h): eval.h5 through the run-file reader
 * (io/runlog.h) for accuracy, item counts, generated tokens and generation seconds; done.json for the
 * child's wall time (the latency of runs whose eval.h5 has no token counts). */
#include "exp/table.h"

#include "core/fs.h"
#include "io/runlog.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum { V_ACCURACY = 0, V_MS, V_RATE } value_kind;

/* What a latency value is per: a generated token (eval.h5 tokens, gen_seconds), an item scored by
 * log-likelihood (no tokens generated: gen_seconds / n), or, for runs whose eval.h5 has no token
 * counts (older rlae), an item over the wall time of the whole rlae eval child (done.json). */
typedef enum { U_TOKEN = 0, U_SCORED_ITEM, U_WALL_ITEM, U_N, U_MIXED = U_N } unit;

static const char *unit_mark(unit u, rlae_table_format f)
{
    if (u == U_TOKEN)
        return "";
    if (f == RLAE_TABLE_TEX)
        return u == U_SCORED_ITEM ? "$^\\ddagger$" : "$^\\dagger$";
    return u == U_SCORED_ITEM ? " ‡" : " †";
}

static const char *unit_note(unit u, value_kind k)
{
    if (u == U_SCORED_ITEM)
        return k == V_MS ? "‡ log-likelihood scoring generates no tokens: ms per item of the members' scoring "
                           "forwards (eval.h5 gen_seconds / n)"
                         : "‡ log-likelihood scoring generates no tokens: items per second of the members' scoring "
                           "forwards (eval.h5 n / gen_seconds)";
    return k == V_MS ? "† run without token counts (eval.h5 from an older rlae eval): ms per item from the wall "
                       "time of the whole rlae eval run (done.json), model loading included"
                     : "† run without token counts (eval.h5 from an older rlae eval): items per second from the "
                       "wall time of the whole rlae eval run (done.json), model loading included";
}

static const char *value_title(value_kind k)
{
    return k == V_ACCURACY ? "accuracy"
           : k == V_MS     ? "latency, ms per generated token (eval.h5 gen_seconds / tokens)"
                           : "throughput, generated tokens per second (eval.h5 tokens / gen_seconds)";
}

typedef struct {
    double acc, n, wall, gen; /* NaN when unknown */
    int64_t tokens;           /* -1: not recorded */
} run_result;

/* The whole-task row of an eval run's eval.h5 (the last /eval row whose task has no '/'). */
static int read_eval(const rlae_experiment *e, int i, run_result *r)
{
    char *path = rlae_experiment_run_file(e, i, "eval.h5");
    rlae_runlog_reader *rd = NULL;
    int ok = 0;
    if (path && rlae_runlog_reader_open(path, &rd) == RLAE_OK) {
        int64_t n = rlae_runlog_reader_rows(rd, RLAE_RUNLOG_EVAL);
        rlae_runlog_eval_row *rows = n > 0 ? rlae_calloc((size_t)n, sizeof *rows) : NULL;
        if (rows && rlae_runlog_reader_read(rd, RLAE_RUNLOG_EVAL, 0, n, rows) == RLAE_OK)
            for (int64_t j = 0; j < n; j++)
                if (!strchr(rows[j].task, '/')) {
                    r->acc = rows[j].accuracy;
                    r->n = (double)rows[j].n;
                    r->tokens = rows[j].tokens;
                    r->gen = rows[j].gen_seconds;
                    ok = 1;
                }
        free(rows);
        rlae_runlog_reader_close(rd);
    }
    if (!ok)
        fprintf(stderr, "rlae table: warning: run %s is marked done but %s has no evaluation row (%s); its cell "
                "counts it as missing\n", e->runs[i].id, path ? path : "eval.h5", rlae_last_error());
    free(path);
    return ok;
}

static void read_wall(const rlae_experiment *e, int i, run_result *r)
{
    char *path = rlae_experiment_run_file(e, i, RLAE_EXP_DONE_MARKER);
    json_error_t err;
    json_t *j = path ? json_load_file(path, 0, &err) : NULL;
    json_t *w = j ? json_object_get(j, "wall_s") : NULL;
    if (w && json_is_number(w))
        r->wall = json_number_value(w);
    json_decref(j);
    free(path);
}

/* The run's value and its unit (for latency: per token when it has token counts). NaN: unknown. */
static double value_of(const run_result *r, value_kind k, unit *u)
{
    *u = U_TOKEN;
    if (k == V_ACCURACY)
        return r->acc;
    double amount = r->tokens > 0 ? (double)r->tokens : r->n, secs = r->tokens >= 0 ? r->gen : r->wall;
    *u = r->tokens > 0 ? U_TOKEN : r->tokens == 0 ? U_SCORED_ITEM : U_WALL_ITEM;
    if (isnan(secs) || isnan(amount) || amount <= 0 || secs < 0)
        return NAN;
    return k == V_MS ? 1e3 * secs / amount : secs > 0 ? amount / secs : NAN;
}

typedef struct {
    int present, total;
    double mean, std; /* valid when present == total */
    unit u;           /* U_MIXED: the seeds' values are per different things (no mean) */
} cell;

static cell summarise(const double *x, const unit *us, int n)
{
    cell c = {.total = n, .u = n > 0 ? us[0] : U_TOKEN};
    for (int i = 1; i < n; i++)
        if (us[i] != c.u)
            c.u = U_MIXED;
    double sum = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(x[i])) {
            c.present++;
            sum += x[i];
        }
    if (c.present != n || n == 0)
        return c;
    c.mean = sum / n;
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += (x[i] - c.mean) * (x[i] - c.mean);
    c.std = n > 1 ? sqrt(ss / (n - 1)) : 0;
    return c;
}

typedef struct {
    const rlae_experiment *e;
    const run_result *res;
    value_kind kind;
    int by; /* axis index or -1 */
} ctx;

/* Run index of the eval run (method, task, seed, point), or -1. */
static int find_run(const rlae_experiment *e, int m, int t, int s, int p)
{
    for (int i = 0; i < e->n_runs; i++) {
        const exp_run *r = &e->runs[i];
        if (r->kind == EXP_RUN_EVAL && r->method == m && r->task == t && r->seed_index == s && r->point == p)
            return i;
    }
    return -1;
}

/* Per seed: the value of one task at point p, or (t < 0) the average over tasks (U_MIXED when the
 * tasks' values are per different things). */
static double seed_value(const ctx *C, int m, int t, int s, int p, unit *un)
{
    const rlae_experiment *e = C->e;
    *un = U_TOKEN;
    if (t >= 0) {
        int i = find_run(e, m, t, s, p);
        return i < 0 ? NAN : value_of(&C->res[i], C->kind, un);
    }
    double sum = 0;
    for (int u = 0; u < e->n_tasks; u++) {
        unit uu;
        double v = seed_value(C, m, u, s, p, &uu);
        if (isnan(v))
            return NAN;
        *un = u == 0 || uu == *un ? uu : U_MIXED;
        sum += v;
    }
    return sum / e->n_tasks;
}

static void format_number(double v, value_kind k, char *buf, size_t cap)
{
    snprintf(buf, cap, k == V_ACCURACY ? "%.3f" : fabs(v) < 10 ? "%.3f" : fabs(v) < 1000 ? "%.2f" : "%.1f", v);
}

static void write_cell(FILE *out, rlae_table_format f, value_kind k, const cell *c, int best)
{
    if (c->present != c->total) {
        fprintf(out, "missing (%d/%d seeds)", c->present, c->total);
        return;
    }
    if (c->u == U_MIXED) {
        fputs("mixed units", out);
        return;
    }
    char m[64], s[64];
    format_number(c->mean, k, m, sizeof m);
    format_number(c->std, k, s, sizeof s);
    const char *pm = f == RLAE_TABLE_TEX ? " $\\pm$ " : " ± ";
    if (best && f == RLAE_TABLE_MD)
        fputs("**", out);
    if (best && f == RLAE_TABLE_TEX)
        fputs("\\textbf{", out);
    fputs(m, out);
    if (c->total > 1)
        fprintf(out, "%s%s", pm, s);
    if (best)
        fputs(f == RLAE_TABLE_MD ? "**" : f == RLAE_TABLE_TEX ? "}" : "*", out);
    fputs(unit_mark(c->u, f), out);
}

static void tex_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (strchr("&%$#_{}", *s))
            fputc('\\', out);
        fputc(*s, out);
    }
}

static void write_label(FILE *out, rlae_table_format f, const char *s)
{
    if (f == RLAE_TABLE_TEX)
        tex_escape(out, s);
    else
        fputs(s, out);
}

/* One table: rows = methods; columns: tasks + average (by < 0) or the by-axis values at the other
 * axes' values of `base` point. */
static void write_table(const ctx *C, rlae_table_format f, int base, FILE *out)
{
    const rlae_experiment *e = C->e;
    int nc = C->by < 0 ? e->n_tasks + 1 : e->grid[C->by].n_values;
    int nm = e->n_methods, ns = e->n_seeds;
    cell *cells = rlae_calloc((size_t)(nm * nc), sizeof *cells);
    double *x = rlae_calloc((size_t)ns, sizeof *x);
    unit *us = rlae_calloc((size_t)ns, sizeof *us);
    if (!cells || !x || !us) {
        free(cells);
        free(x);
        free(us);
        return;
    }
    int stride = 1;
    for (int b = e->n_axes - 1; C->by >= 0 && b > C->by; b--)
        stride *= e->grid[b].n_values;
    for (int m = 0; m < nm; m++)
        for (int c = 0; c < nc; c++) {
            int p = base, t = c < e->n_tasks ? c : -1;
            if (C->by >= 0) {
                int cur = (base / stride) % e->grid[C->by].n_values;
                p = base + (c - cur) * stride;
                t = -1;
            }
            for (int s = 0; s < ns; s++)
                x[s] = seed_value(C, m, t, s, p, &us[s]);
            cells[m * nc + c] = summarise(x, us, ns);
        }
    /* title */
    char title[1024];
    int tl = snprintf(title, sizeof title, "%s: %s%s, mean%s over %d seed%s", e->name, value_title(C->kind),
                      C->by >= 0 ? " averaged over tasks" : "", ns > 1 ? " ± std" : "", ns, ns > 1 ? "s" : "");
    for (int a = 0; a < e->n_axes && tl < (int)sizeof title; a++)
        if (a != C->by)
            tl += snprintf(title + tl, sizeof title - (size_t)tl, "; %s = %s", e->grid[a].key,
                           rlae_experiment_point_value(e, base, a));
    if (f == RLAE_TABLE_MD)
        fprintf(out, "### %s\n\n| method |", title);
    else if (f == RLAE_TABLE_CSV)
        fprintf(out, "# %s\nmethod", title);
    else {
        fprintf(out, "%% ");
        tex_escape(out, title);
        fprintf(out, "\n\\begin{tabular}{l");
        for (int c = 0; c < nc; c++)
            fputc('r', out);
        fprintf(out, "}\n\\hline\nmethod");
    }
    for (int c = 0; c < nc; c++) {
        char head[160];
        if (C->by >= 0)
            snprintf(head, sizeof head, "%s %s", strrchr(e->grid[C->by].key, '.') ? strrchr(e->grid[C->by].key, '.') + 1
                                                                                : e->grid[C->by].key,
                     e->grid[C->by].values[c]);
        else
            snprintf(head, sizeof head, "%s", c < e->n_tasks ? e->tasks[c].name : "average");
        fputs(f == RLAE_TABLE_MD ? " " : f == RLAE_TABLE_CSV ? "," : " & ", out);
        write_label(out, f, head);
        if (f == RLAE_TABLE_MD)
            fputs(" |", out);
    }
    if (f == RLAE_TABLE_MD) {
        fputs("\n| --- |", out);
        for (int c = 0; c < nc; c++)
            fputs(" ---: |", out);
    }
    fputs(f == RLAE_TABLE_TEX ? " \\\\\n\\hline\n" : "\n", out);
    for (int m = 0; m < nm; m++) {
        if (f == RLAE_TABLE_MD)
            fputs("| ", out);
        write_label(out, f, e->methods[m].label);
        for (int c = 0; c < nc; c++) {
            const cell *cl = &cells[m * nc + c];
            /* the best complete cell, among cells that are all per the same thing */
            int best = cl->present == cl->total && cl->total > 0 && cl->u != U_MIXED;
            for (int o = 0; o < nm && best; o++) {
                const cell *co = &cells[o * nc + c];
                if (co->present == co->total && co->total > 0 &&
                    (co->u != cl->u ||
                     (C->kind == V_MS ? co->mean < cl->mean - 1e-12 : co->mean > cl->mean + 1e-12)))
                    best = 0;
            }
            fputs(f == RLAE_TABLE_MD ? " | " : f == RLAE_TABLE_CSV ? "," : " & ", out);
            write_cell(out, f, C->kind, cl, best && nm > 1);
        }
        fputs(f == RLAE_TABLE_MD ? " |\n" : f == RLAE_TABLE_TEX ? " \\\\\n" : "\n", out);
    }
    if (f == RLAE_TABLE_TEX)
        fputs("\\hline\n\\end{tabular}\n", out);
    /* notes for the cells that are not per generated token */
    int seen[U_N + 1] = {0};
    for (int i = 0; i < nm * nc; i++)
        if (cells[i].present == cells[i].total && cells[i].total > 0)
            seen[cells[i].u] = 1;
    for (int u = U_SCORED_ITEM, first = 1; u <= U_MIXED; u++)
        if (seen[u]) {
            if (first && f == RLAE_TABLE_MD)
                fputc('\n', out); /* a line right after a markdown table would be one of its rows */
            first = 0;
            const char *note = u == U_MIXED ? "mixed units: the seeds' or tasks' values are per different things "
                                              "(tokens, scored items, whole-run items), so no mean is given"
                                            : unit_note((unit)u, C->kind);
            fprintf(out, "%s%s\n", f == RLAE_TABLE_MD ? "" : f == RLAE_TABLE_CSV ? "# " : "% ", note);
        }
    fputc('\n', out);
    free(cells);
    free(x);
    free(us);
}

rlae_status rlae_table_write(const rlae_experiment *e, const rlae_table_options *opt, FILE *out)
{
    int by = -1;
    if (opt->by) {
        for (int a = 0; a < e->n_axes; a++) {
            const char *leaf = strrchr(e->grid[a].key, '.');
            if (!strcmp(e->grid[a].key, opt->by) || (leaf && !strcmp(leaf + 1, opt->by)))
                by = a;
        }
        if (by < 0) {
            char keys[512] = "";
            for (int a = 0; a < e->n_axes; a++)
                snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s", a ? ", " : "", e->grid[a].key);
            return rlae_fail(RLAE_ERR_INPUT, "--by %s: %s has no such grid key (%s)", opt->by, e->path,
                             e->n_axes ? keys : "it has no grid");
        }
    }
    run_result *res = rlae_calloc((size_t)e->n_runs, sizeof *res);
    if (!res)
        return RLAE_ERR_NOMEM;
    int missing = 0;
    for (int i = 0; i < e->n_runs; i++) {
        res[i] = (run_result){NAN, NAN, NAN, NAN, -1};
        if (e->runs[i].kind != EXP_RUN_EVAL)
            continue;
        if (e->runs[i].status != EXP_DONE) {
            missing++;
            continue;
        }
        if (read_eval(e, i, &res[i]))
            read_wall(e, i, &res[i]);
    }
    int kinds[2], nk = 0;
    if (opt->metric == RLAE_TABLE_ACCURACY)
        kinds[nk++] = V_ACCURACY;
    else {
        kinds[nk++] = V_MS;
        kinds[nk++] = V_RATE;
    }
    for (int k = 0; k < nk; k++) {
        ctx C = {.e = e, .res = res, .kind = (value_kind)kinds[k], .by = by};
        /* one table per point of the axes other than `by` */
        for (int p = 0; p < e->n_points; p++) {
            if (by >= 0) {
                int stride = 1;
                for (int b = e->n_axes - 1; b > by; b--)
                    stride *= e->grid[b].n_values;
                if ((p / stride) % e->grid[by].n_values != 0)
                    continue;
            }
            write_table(&C, opt->format, p, out);
        }
    }
    if (missing)
        fprintf(stderr, "rlae table: %d of the experiment's evaluation runs are not done (rlae sweep %s runs "
                "them); their cells say missing\n", missing, e->path);
    free(res);
    return RLAE_OK;
}
