/* Tables of an experiment from its runs' files (table.h): eval.h5 through the run-file reader
 * (io/runlog.h) for accuracy and item counts, done.json for the child's wall time. */
#include "exp/table.h"

#include "core/fs.h"
#include "io/runlog.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum { V_ACCURACY = 0, V_MS_PER_ITEM, V_ITEMS_PER_S } value_kind;

static const char *value_title(value_kind k)
{
    return k == V_ACCURACY ? "accuracy"
           : k == V_MS_PER_ITEM ? "latency, ms per item (wall time of the whole rlae eval run / items; loading included)"
                                : "throughput, items per second (items / wall time of the whole rlae eval run)";
}

typedef struct {
    double acc, n, wall; /* NaN when unknown */
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

static double value_of(const run_result *r, value_kind k)
{
    if (k == V_ACCURACY)
        return r->acc;
    if (isnan(r->wall) || isnan(r->n) || r->n <= 0)
        return NAN;
    return k == V_MS_PER_ITEM ? 1e3 * r->wall / r->n : r->n / r->wall;
}

typedef struct {
    int present, total;
    double mean, std; /* valid when present == total */
} cell;

static cell summarise(const double *x, int n)
{
    cell c = {.total = n};
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

/* Per seed: the value of one task at point p, or (t < 0) the average over tasks. */
static double seed_value(const ctx *C, int m, int t, int s, int p)
{
    const rlae_experiment *e = C->e;
    if (t >= 0) {
        int i = find_run(e, m, t, s, p);
        return i < 0 ? NAN : value_of(&C->res[i], C->kind);
    }
    double sum = 0;
    for (int u = 0; u < e->n_tasks; u++) {
        double v = seed_value(C, m, u, s, p);
        if (isnan(v))
            return NAN;
        sum += v;
    }
    return sum / e->n_tasks;
}

static void format_number(double v, value_kind k, char *buf, size_t cap)
{
    snprintf(buf, cap, k == V_ACCURACY ? "%.3f" : k == V_MS_PER_ITEM ? "%.1f" : "%.2f", v);
}

static void write_cell(FILE *out, rlae_table_format f, value_kind k, const cell *c, int best)
{
    if (c->present != c->total) {
        fprintf(out, "missing (%d/%d seeds)", c->present, c->total);
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
    if (!cells || !x) {
        free(cells);
        free(x);
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
                x[s] = seed_value(C, m, t, s, p);
            cells[m * nc + c] = summarise(x, ns);
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
            int best = cl->present == cl->total && cl->total > 0;
            for (int o = 0; o < nm && best; o++) {
                const cell *co = &cells[o * nc + c];
                if (co->present == co->total &&
                    (C->kind == V_MS_PER_ITEM ? co->mean < cl->mean - 1e-12 : co->mean > cl->mean + 1e-12))
                    best = 0;
            }
            fputs(f == RLAE_TABLE_MD ? " | " : f == RLAE_TABLE_CSV ? "," : " & ", out);
            write_cell(out, f, C->kind, cl, best && nm > 1);
        }
        fputs(f == RLAE_TABLE_MD ? " |\n" : f == RLAE_TABLE_TEX ? " \\\\\n" : "\n", out);
    }
    if (f == RLAE_TABLE_TEX)
        fputs("\\hline\n\\end{tabular}\n", out);
    fputc('\n', out);
    free(cells);
    free(x);
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
        res[i] = (run_result){NAN, NAN, NAN};
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
        kinds[nk++] = V_MS_PER_ITEM;
        kinds[nk++] = V_ITEMS_PER_S;
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
