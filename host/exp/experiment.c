/* Experiment files -> a plan of runs (experiment.h). The file is read with the config module's YAML
 * tree (host/config/yaml_tree.c) so every error names file:line:column; every run's config is the
 * task's config loaded by rlae_config_load with the overrides the experiment adds, so a run is
 * exactly what `rlae config show TASK_CONFIG OVERRIDES...` would print. */
#include "exp/experiment.h"

#include "config/config.h"
#include "config/config_internal.h"
#include "core/fs.h"
#include "core/sha256.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_AXES = 8, MAX_POINTS = 4096, MAX_RUNS = 100000 };

/* ---- small helpers ------------------------------------------------------------------------ */

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = rlae_malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static rlae_status bad(const cfg_node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static rlae_status bad(const cfg_node *n, const char *fmt, ...)
{
    char where[1024], msg[1024];
    cfg_where(n, where, sizeof where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rlae_fail(RLAE_ERR_INPUT, "%s: %s", where, msg);
}

/* A path named inside the experiment file: relative to that file's directory. */
static char *beside(const char *file, const char *rel)
{
    if (rel[0] == '/')
        return rlae_strdup(rel);
    const char *slash = strrchr(file, '/');
    if (!slash)
        return rlae_strdup(rel);
    return xprintf("%.*s/%s", (int)(slash - file), file, rel);
}

/* Appends a YAML scalar: plain when the plain text means the same in a flow context, else quoted. */
static void put_scalar(FILE *f, const cfg_node *n)
{
    const char *t = n->text ? n->text : "";
    int plain = !n->quoted && t[0] && !strpbrk(t, ",[]{}#\"'\n\t") && !strstr(t, ": ") && t[0] != ' ' &&
                t[strlen(t) - 1] != ' ';
    if (plain) {
        fputs(t, f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* A node as flow YAML text (the value of a key=value override). */
static void put_node(FILE *f, const cfg_node *n)
{
    if (n->kind == CFG_NODE_SCALAR) {
        put_scalar(f, n);
        return;
    }
    fputc(n->kind == CFG_NODE_MAP ? '{' : '[', f);
    for (int i = 0; i < n->n; i++) {
        if (i)
            fputs(", ", f);
        if (n->kind == CFG_NODE_MAP) {
            put_scalar(f, n->keys[i]);
            fputs(": ", f);
        }
        put_node(f, n->vals[i]);
    }
    fputc(n->kind == CFG_NODE_MAP ? '}' : ']', f);
}

static char *node_text(const cfg_node *n, const char *key_prefix)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    if (key_prefix)
        fprintf(f, "%s=", key_prefix);
    put_node(f, n);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static const char *scalar(const cfg_node *n)
{
    return n && n->kind == CFG_NODE_SCALAR && !cfg_node_is_null(n) ? n->text : NULL;
}

/* A map of dotted keys to values -> "key=value" overrides. */
static rlae_status read_overrides(const cfg_node *n, const char *what, exp_override **out, int *count)
{
    if (!n)
        return RLAE_OK;
    if (n->kind != CFG_NODE_MAP)
        return bad(n, "%s must be a mapping of config keys to values, e.g. {ensemble.span: 8, task.limit: 50}",
                   what);
    exp_override *o = rlae_calloc((size_t)n->n + 1, sizeof *o);
    if (!o)
        return RLAE_ERR_NOMEM;
    *out = o;
    for (int i = 0; i < n->n; i++) {
        if (!strchr(n->keys[i]->text, '.') && n->vals[i]->kind == CFG_NODE_MAP)
            return bad(n->keys[i], "in %s write dotted keys (%s.KEY: VALUE), not nested maps", what,
                       n->keys[i]->text);
        if (!(o[i].arg = node_text(n->vals[i], n->keys[i]->text)))
            return RLAE_ERR_NOMEM;
        (*count)++;
    }
    return RLAE_OK;
}

static void free_overrides(exp_override *o, int n)
{
    for (int i = 0; i < n; i++)
        free(o[i].arg);
    free(o);
}

/* ---- the experiment file -------------------------------------------------------------------- */

static const char *const known_keys[] = {"name",  "out_dir",  "models",    "tasks",    "methods",
                                         "seeds", "overrides", "grid",     "train_task", "method_overrides"};

static rlae_status check_keys(const cfg_node *root)
{
    int nk = (int)(sizeof known_keys / sizeof known_keys[0]);
    for (int i = 0; i < root->n; i++) {
        int ok = 0, best = -1, bd = 1 << 30;
        for (int j = 0; j < nk; j++) {
            if (!strcmp(root->keys[i]->text, known_keys[j]))
                ok = 1;
            int d = cfg_edit_distance(root->keys[i]->text, known_keys[j]);
            if (d < bd) {
                bd = d;
                best = j;
            }
        }
        if (!ok) {
            char hint[96] = "";
            if (bd <= 3)
                snprintf(hint, sizeof hint, " (did you mean '%s'?)", known_keys[best]);
            return bad(root->keys[i], "unknown experiment key '%s'%s; keys are name, out_dir, models, tasks, "
                       "methods, seeds, train_task, overrides, method_overrides, grid", root->keys[i]->text, hint);
        }
    }
    return RLAE_OK;
}

/* models: the file users edit; it may hold `members:` only (everything else belongs to the
 * experiment's overrides). Loaded as a config so every member error names models file:line:col. */
static rlae_status read_models(rlae_experiment *e, const cfg_node *n, char **members_arg)
{
    const char *rel = scalar(n);
    if (!rel)
        return bad(n, "models: expected the path of the models file (a YAML file with a members: list)");
    if (!(e->models = beside(e->path, rel)))
        return RLAE_ERR_NOMEM;
    char *text = NULL;
    size_t len = 0;
    if (rlae_read_file(e->models, &text, &len) != RLAE_OK)
        return bad(n, "models: cannot read '%s'; it should list the members, as experiments/models.yaml does",
                   e->models);
    cfg_source src = {.name = e->models};
    cfg_node *root = NULL;
    rlae_status s = cfg_tree_parse(text, len, &src, &root);
    free(text);
    if (s != RLAE_OK)
        return s;
    for (int i = 0; root->kind == CFG_NODE_MAP && i < root->n && s == RLAE_OK; i++)
        if (strcmp(root->keys[i]->text, "members") != 0)
            s = bad(root->keys[i], "a models file holds members: only; put '%s' in the experiment's overrides",
                    root->keys[i]->text);
    cfg_node_free(root);
    if (s != RLAE_OK)
        return s;
    rlae_config m;
    RLAE_TRY(rlae_config_load(e->models, 0, NULL, &m));
    /* the members block of the resolved config, as an override value (block YAML is valid there) */
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    s = f ? rlae_config_write_yaml(&m, f) : RLAE_ERR_NOMEM;
    if (f && fclose(f) != 0 && s == RLAE_OK)
        s = RLAE_ERR_NOMEM;
    if (s == RLAE_OK && !(e->members = rlae_calloc((size_t)m.n_members, sizeof *e->members)))
        s = RLAE_ERR_NOMEM;
    for (int k = 0; k < m.n_members && s == RLAE_OK; k++) {
        if (!(e->members[k] = rlae_strdup(m.members[k].name)))
            s = RLAE_ERR_NOMEM;
        e->n_members = k + 1;
    }
    rlae_config_free(&m);
    const char *start = buf ? strstr(buf, "\nmembers:\n") : NULL;
    if (s == RLAE_OK && !start)
        s = rlae_fail(RLAE_ERR_RUNTIME, "experiment: the resolved config of %s has no members block", e->models);
    if (s == RLAE_OK) {
        start += strlen("\nmembers:"); /* at the newline; the block is the indented lines after it */
        const char *end = start;
        while (*end == '\n' && end[1] == ' ') {
            const char *nl = strchr(end + 1, '\n');
            end = nl ? nl : end + strlen(end);
        }
        if (!(*members_arg = xprintf("members=%.*s", (int)(end - start), start)))
            s = RLAE_ERR_NOMEM;
    }
    free(buf);
    return s;
}

static rlae_status read_tasks(rlae_experiment *e, const cfg_node *n)
{
    if (!n || n->kind != CFG_NODE_MAP || n->n == 0)
        return bad(n, "tasks: expected a mapping of task labels to run configs, e.g. "
                   "{gsm8k: ../configs/tasks/gsm8k.yaml}");
    if (!(e->tasks = rlae_calloc((size_t)n->n, sizeof *e->tasks)))
        return RLAE_ERR_NOMEM;
    for (int i = 0; i < n->n; i++) {
        exp_task *t = &e->tasks[e->n_tasks++];
        const cfg_node *v = n->vals[i], *cfgn = v;
        if (!(t->name = rlae_strdup(n->keys[i]->text)))
            return RLAE_ERR_NOMEM;
        if (v->kind == CFG_NODE_MAP) {
            for (int j = 0; j < v->n; j++)
                if (strcmp(v->keys[j]->text, "config") && strcmp(v->keys[j]->text, "overrides"))
                    return bad(v->keys[j], "unknown key '%s' in task '%s'; a task is {config: PATH, overrides: "
                               "{KEY: VALUE}}", v->keys[j]->text, t->name);
            cfgn = cfg_map_get(v, "config", NULL);
            RLAE_TRY(read_overrides(cfg_map_get(v, "overrides", NULL), "a task's overrides", &t->overrides,
                                    &t->n_overrides));
            if (!cfgn)
                return bad(v, "task '%s' has no config: (the run config it starts from)", t->name);
        }
        const char *rel = scalar(cfgn);
        if (!rel)
            return bad(cfgn, "task '%s': expected the path of a run config", t->name);
        if (!(t->config = beside(e->path, rel)))
            return RLAE_ERR_NOMEM;
        if (!rlae_path_is_file(t->config))
            return bad(cfgn, "task '%s': no config file '%s' (paths are relative to the experiment file)", t->name,
                       t->config);
    }
    return RLAE_OK;
}

static rlae_status add_method(rlae_experiment *e, const char *label, int agent)
{
    for (int i = 0; i < e->n_methods; i++)
        if (!strcmp(e->methods[i].label, label))
            return RLAE_OK; /* "single" and "single:a" together: one row */
    exp_method *m = rlae_realloc(e->methods, (size_t)(e->n_methods + 1) * sizeof *m);
    if (!m)
        return RLAE_ERR_NOMEM;
    e->methods = m;
    memset(&m[e->n_methods], 0, sizeof *m);
    m[e->n_methods].agent = agent;
    if (!(m[e->n_methods].label = rlae_strdup(label)))
        return RLAE_ERR_NOMEM;
    e->n_methods++;
    return RLAE_OK;
}

static rlae_status read_methods(rlae_experiment *e, const cfg_node *n)
{
    static const char *const fixed[] = {"uniform", "score", "topk", "gated"};
    if (!n || n->kind != CFG_NODE_SEQ || n->n == 0)
        return bad(n, "methods: expected a list, e.g. [single, uniform, score, topk, gated, rlae_ppo, rlae_mappo]");
    for (int i = 0; i < n->n; i++) {
        const char *m = scalar(n->vals[i]);
        if (!m)
            return bad(n->vals[i], "methods: each entry is a method name");
        if (!strcmp(m, "single")) {
            for (int k = 0; k < e->n_members; k++) {
                char label[256];
                snprintf(label, sizeof label, "single:%s", e->members[k]);
                RLAE_TRY(add_method(e, label, 0));
            }
            continue;
        }
        if (!strncmp(m, "single:", 7)) {
            int found = 0;
            for (int k = 0; k < e->n_members; k++)
                found |= !strcmp(e->members[k], m + 7);
            if (!found)
                return bad(n->vals[i], "method '%s': no member named '%s' in %s", m, m + 7, e->models);
            RLAE_TRY(add_method(e, m, 0));
            continue;
        }
        int ok = 0;
        for (size_t j = 0; j < sizeof fixed / sizeof fixed[0]; j++)
            ok |= !strcmp(m, fixed[j]);
        int agent = !strcmp(m, "rlae_ppo") || !strcmp(m, "rlae_mappo");
        if (!ok && !agent)
            return bad(n->vals[i], "unknown method '%s'; methods are single (each member alone), single:NAME, "
                       "uniform, score, topk, gated, rlae_ppo, rlae_mappo", m);
        RLAE_TRY(add_method(e, m, agent));
    }
    return RLAE_OK;
}

static rlae_status read_int(const cfg_node *n, const char *what, int *out)
{
    const char *t = scalar(n);
    char *end = NULL;
    long v = t ? strtol(t, &end, 10) : 0;
    if (!t || *end || end == t || v < 0 || v > 2147483647L)
        return bad(n, "%s: expected a whole number >= 0", what);
    *out = (int)v;
    return RLAE_OK;
}

static rlae_status read_seeds(rlae_experiment *e, const cfg_node *n)
{
    if (!n) {
        if (!(e->seeds = rlae_malloc(sizeof *e->seeds)))
            return RLAE_ERR_NOMEM;
        e->seeds[0] = 1;
        e->n_seeds = 1;
        return RLAE_OK;
    }
    if (n->kind != CFG_NODE_SEQ || n->n == 0)
        return bad(n, "seeds: expected a list of run.seed values, e.g. [1, 2, 3]");
    if (!(e->seeds = rlae_calloc((size_t)n->n, sizeof *e->seeds)))
        return RLAE_ERR_NOMEM;
    for (int i = 0; i < n->n; i++) {
        RLAE_TRY(read_int(n->vals[i], "seeds", &e->seeds[i]));
        for (int j = 0; j < i; j++)
            if (e->seeds[j] == e->seeds[i])
                return bad(n->vals[i], "seeds: %d is listed twice", e->seeds[i]);
        e->n_seeds = i + 1;
    }
    return RLAE_OK;
}

static rlae_status read_grid(rlae_experiment *e, const cfg_node *n)
{
    e->n_points = 1;
    if (!n)
        return RLAE_OK;
    if (n->kind != CFG_NODE_MAP)
        return bad(n, "grid: expected a mapping of config keys to lists of values, e.g. {ensemble.span: [4, 8]}");
    if (n->n > MAX_AXES)
        return bad(n, "grid: at most %d keys", MAX_AXES);
    if (!(e->grid = rlae_calloc((size_t)n->n, sizeof *e->grid)))
        return RLAE_ERR_NOMEM;
    for (int i = 0; i < n->n; i++) {
        const cfg_node *v = n->vals[i];
        exp_axis *a = &e->grid[e->n_axes++];
        if (!(a->key = rlae_strdup(n->keys[i]->text)))
            return RLAE_ERR_NOMEM;
        if (v->kind != CFG_NODE_SEQ || v->n == 0)
            return bad(v, "grid: %s: expected a non-empty list of values", a->key);
        if (!(a->values = rlae_calloc((size_t)v->n, sizeof *a->values)))
            return RLAE_ERR_NOMEM;
        for (int j = 0; j < v->n; j++) {
            if (!(a->values[j] = node_text(v->vals[j], NULL)))
                return RLAE_ERR_NOMEM;
            a->n_values = j + 1;
        }
        if ((long)e->n_points * v->n > MAX_POINTS)
            return bad(v, "grid: more than %d combinations", MAX_POINTS);
        e->n_points *= v->n;
    }
    return RLAE_OK;
}

static rlae_status read_method_overrides(rlae_experiment *e, const cfg_node *n)
{
    if (!n)
        return RLAE_OK;
    if (n->kind != CFG_NODE_MAP)
        return bad(n, "method_overrides: expected {METHOD: {KEY: VALUE}}, e.g. {rlae_mappo: {algorithm.epochs: 10}}");
    for (int i = 0; i < n->n; i++) {
        int hit = 0;
        for (int m = 0; m < e->n_methods; m++) {
            const char *l = e->methods[m].label;
            /* "single" applies to every single:NAME row */
            if (strcmp(l, n->keys[i]->text) && !(strcmp(n->keys[i]->text, "single") == 0 && !strncmp(l, "single:", 7)))
                continue;
            hit = 1;
            RLAE_TRY(read_overrides(n->vals[i], "method_overrides", &e->methods[m].overrides,
                                    &e->methods[m].n_overrides));
        }
        if (!hit)
            return bad(n->keys[i], "method_overrides: '%s' is not one of the experiment's methods", n->keys[i]->text);
    }
    return RLAE_OK;
}

static rlae_status parse(rlae_experiment *e, const cfg_node *root, char **members_arg)
{
    if (root->kind != CFG_NODE_MAP)
        return bad(root, "an experiment file is a mapping (models:, tasks:, methods:, seeds:, ...)");
    RLAE_TRY(check_keys(root));
    const cfg_node *n;
    const char *stem = strrchr(e->path, '/') ? strrchr(e->path, '/') + 1 : e->path;
    if ((n = cfg_map_get(root, "name", NULL)) && !scalar(n))
        return bad(n, "name: expected a string");
    e->name = n ? rlae_strdup(n->text) : xprintf("%.*s", (int)strcspn(stem, "."), stem);
    if ((n = cfg_map_get(root, "out_dir", NULL)) && !scalar(n))
        return bad(n, "out_dir: expected a directory (relative to where rlae runs, like run.out_dir)");
    e->out_dir = n ? rlae_strdup(n->text) : xprintf("runs/%s", e->name ? e->name : "");
    if (!e->name || !e->out_dir)
        return RLAE_ERR_NOMEM;
    if (!(n = cfg_map_get(root, "models", NULL)))
        return bad(root, "missing models: the models file that names the members (see experiments/models.yaml)");
    RLAE_TRY(read_models(e, n, members_arg));
    if (!cfg_map_get(root, "tasks", NULL))
        return bad(root, "missing tasks: a mapping of task labels to run configs");
    RLAE_TRY(read_tasks(e, cfg_map_get(root, "tasks", NULL)));
    if (!cfg_map_get(root, "methods", NULL))
        return bad(root, "missing methods: e.g. [single, uniform, score, topk, gated, rlae_ppo, rlae_mappo]");
    RLAE_TRY(read_methods(e, cfg_map_get(root, "methods", NULL)));
    RLAE_TRY(read_seeds(e, cfg_map_get(root, "seeds", NULL)));
    RLAE_TRY(read_overrides(cfg_map_get(root, "overrides", NULL), "overrides", &e->overrides, &e->n_overrides));
    RLAE_TRY(read_grid(e, cfg_map_get(root, "grid", NULL)));
    RLAE_TRY(read_method_overrides(e, cfg_map_get(root, "method_overrides", NULL)));
    e->train_task = -1;
    if ((n = cfg_map_get(root, "train_task", NULL))) {
        const char *t = scalar(n);
        for (int i = 0; t && i < e->n_tasks; i++)
            if (!strcmp(e->tasks[i].name, t))
                e->train_task = i;
        if (e->train_task < 0)
            return bad(n, "train_task: expected one of the experiment's task labels");
    }
    return RLAE_OK;
}

/* ---- planning ------------------------------------------------------------------------------- */

const char *rlae_experiment_point_value(const rlae_experiment *e, int p, int a)
{
    int stride = 1;
    for (int b = e->n_axes - 1; b > a; b--)
        stride *= e->grid[b].n_values;
    return e->grid[a].values[(p / stride) % e->grid[a].n_values];
}

static void slug_append(char *slug, size_t cap, const char *part)
{
    size_t n = strlen(slug);
    if (n && n + 1 < cap)
        slug[n++] = '-';
    for (const char *p = part; *p && n + 1 < cap; p++)
        slug[n++] = (isalnum((unsigned char)*p) || *p == '.' || *p == '_') ? *p : '_';
    slug[n] = '\0';
}

static char *emit(rlae_config *cfg, const char *out_dir)
{
    char *saved_dir = cfg->run.out_dir, *saved_src = cfg->source;
    cfg->run.out_dir = (char *)out_dir;
    cfg->source = NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rlae_status s = f ? rlae_config_write_yaml(cfg, f) : RLAE_ERR_NOMEM;
    if (f && fclose(f) != 0)
        s = RLAE_ERR_NOMEM;
    cfg->run.out_dir = saved_dir;
    cfg->source = saved_src;
    if (s != RLAE_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Resolves run r's config and sets its id, dir and yaml (or its error). */
static rlae_status plan_run(rlae_experiment *e, exp_run *r, const char *members_arg)
{
    const exp_task *t = &e->tasks[r->task];
    const exp_method *m = &e->methods[r->method];
    char *args[512];
    int n = 0;
    char seed[64], policy[64], single[300], algo[64];
    args[n++] = (char *)members_arg;
    for (int i = 0; i < e->n_overrides && n < 500; i++)
        args[n++] = e->overrides[i].arg;
    for (int i = 0; i < t->n_overrides && n < 500; i++)
        args[n++] = t->overrides[i].arg;
    char *grid[MAX_AXES];
    int ng = 0;
    for (int a = 0; a < e->n_axes; a++) {
        if (!(grid[ng] = xprintf("%s=%s", e->grid[a].key, rlae_experiment_point_value(e, r->point, a))))
            break;
        args[n++] = grid[ng++];
    }
    if (m->agent) {
        snprintf(policy, sizeof policy, "ensemble.policy=agent");
        snprintf(algo, sizeof algo, "algorithm.name=%s", strcmp(m->label, "rlae_mappo") ? "ppo" : "mappo");
        args[n++] = policy;
        args[n++] = algo;
    } else if (!strncmp(m->label, "single:", 7)) {
        snprintf(policy, sizeof policy, "ensemble.policy=single");
        snprintf(single, sizeof single, "ensemble.single_member=\"%s\"", m->label + 7);
        args[n++] = policy;
        args[n++] = single;
    } else {
        snprintf(policy, sizeof policy, "ensemble.policy=%s", m->label);
        args[n++] = policy;
    }
    for (int i = 0; i < m->n_overrides && n < 510; i++)
        args[n++] = m->overrides[i].arg;
    snprintf(seed, sizeof seed, "run.seed=%d", e->seeds[r->seed_index]);
    args[n++] = seed;

    char slug[200] = "";
    if (r->kind == EXP_RUN_TRAIN)
        slug_append(slug, sizeof slug, "train");
    slug_append(slug, sizeof slug, m->label);
    slug_append(slug, sizeof slug, t->name);
    char part[96];
    snprintf(part, sizeof part, "s%d", e->seeds[r->seed_index]);
    slug_append(slug, sizeof slug, part);
    for (int a = 0; a < e->n_axes; a++) {
        const char *leaf = strrchr(e->grid[a].key, '.');
        snprintf(part, sizeof part, "%s%s", leaf ? leaf + 1 : e->grid[a].key, rlae_experiment_point_value(e, r->point, a));
        slug_append(slug, sizeof slug, part);
    }

    rlae_config cfg;
    rlae_status s = rlae_config_load(t->config, n, args, &cfg);
    rlae_sha256 h;
    rlae_sha256_init(&h);
    char *hashed = NULL;
    if (s == RLAE_OK) {
        hashed = emit(&cfg, "");
        if (hashed)
            rlae_sha256_update(&h, hashed, strlen(hashed));
    } else if (s == RLAE_ERR_INPUT) {
        r->error = xprintf("%s (task '%s', config %s)", rlae_last_error(), t->name, t->config);
        r->status = EXP_INVALID;
        for (int i = 0; i < n; i++) /* still a stable id: from what was asked for */
            rlae_sha256_update(&h, args[i], strlen(args[i]) + 1);
        rlae_sha256_update(&h, t->config, strlen(t->config));
    }
    for (int i = 0; i < ng; i++)
        free(grid[i]);
    if (s == RLAE_OK && !hashed) {
        rlae_config_free(&cfg);
        return RLAE_ERR_NOMEM;
    }
    if (s == RLAE_ERR_INPUT && !r->error)
        return RLAE_ERR_NOMEM;
    if (s != RLAE_OK && s != RLAE_ERR_INPUT)
        return s;
    free(hashed);
    /* what runs, beyond the config: the kind, the --method and the agent it evaluates */
    char extra[512];
    snprintf(extra, sizeof extra, "\n# kind %d method %s agent %s\n", (int)r->kind, m->label,
             r->depends >= 0 ? e->runs[r->depends].id : "-");
    rlae_sha256_update(&h, extra, strlen(extra));
    uint8_t d[32];
    char hex[65];
    rlae_sha256_final(&h, d);
    rlae_sha256_hex(d, hex);
    r->id = xprintf("%s-%.10s", slug, hex);
    r->dir = r->id ? xprintf("%s/runs/%s", e->out_dir, r->id) : NULL;
    if (!r->dir) {
        if (s == RLAE_OK)
            rlae_config_free(&cfg);
        return RLAE_ERR_NOMEM;
    }
    if (s == RLAE_OK) {
        r->yaml = emit(&cfg, r->dir);
        rlae_config_free(&cfg);
        if (!r->yaml)
            return RLAE_ERR_NOMEM;
    }
    return RLAE_OK;
}

static exp_run *new_run(rlae_experiment *e, exp_run_kind kind, int method, int task, int seed, int point, int dep)
{
    if (e->n_runs == MAX_RUNS)
        return NULL;
    exp_run *r = &e->runs[e->n_runs++];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->method = method;
    r->task = task;
    r->seed_index = seed;
    r->point = point;
    r->depends = dep;
    return r;
}

static rlae_status plan(rlae_experiment *e, const char *members_arg)
{
    long cap = (long)e->n_methods * e->n_tasks * e->n_seeds * e->n_points * 2;
    if (cap > MAX_RUNS)
        return rlae_fail(RLAE_ERR_INPUT, "%s: %ld runs; an experiment holds at most %d", e->path, cap / 2, MAX_RUNS);
    if (!(e->runs = rlae_calloc((size_t)cap, sizeof *e->runs)))
        return RLAE_ERR_NOMEM;
    /* order: grid point, seed, method, task; an agent's train run right before its first eval */
    for (int p = 0; p < e->n_points; p++)
        for (int si = 0; si < e->n_seeds; si++)
            for (int m = 0; m < e->n_methods; m++) {
                int train = -1;
                for (int t = 0; t < e->n_tasks; t++) {
                    if (e->methods[m].agent && (e->train_task < 0 || train < 0)) {
                        int tt = e->train_task >= 0 ? e->train_task : t;
                        exp_run *tr = new_run(e, EXP_RUN_TRAIN, m, tt, si, p, -1);
                        RLAE_TRY(plan_run(e, tr, members_arg));
                        train = e->n_runs - 1;
                    }
                    exp_run *r = new_run(e, EXP_RUN_EVAL, m, t, si, p, train);
                    RLAE_TRY(plan_run(e, r, members_arg));
                }
            }
    for (int i = 0; i < e->n_runs; i++) {
        rlae_experiment_run_status(e, i);
        for (int j = 0; j < i; j++)
            if (!strcmp(e->runs[i].id, e->runs[j].id))
                return rlae_fail(RLAE_ERR_INPUT, "%s: runs %s and %s resolve to the same config; remove the "
                                 "duplicate from tasks, methods or grid", e->path, e->runs[j].id, e->runs[i].id);
    }
    return RLAE_OK;
}

rlae_status rlae_experiment_load(const char *path, const char *out_dir, rlae_experiment **out)
{
    *out = NULL;
    rlae_experiment *e = rlae_calloc(1, sizeof *e);
    if (!e || !(e->path = rlae_strdup(path))) {
        free(e);
        return RLAE_ERR_NOMEM;
    }
    char *text = NULL, *members_arg = NULL;
    size_t len = 0;
    rlae_status s = rlae_read_file(path, &text, &len);
    if (s != RLAE_OK)
        s = rlae_fail(RLAE_ERR_INPUT, "cannot read experiment file '%s'", path);
    cfg_source src = {.name = e->path};
    cfg_node *root = NULL;
    if (s == RLAE_OK)
        s = cfg_tree_parse(text, len, &src, &root);
    free(text);
    if (s == RLAE_OK)
        s = parse(e, root, &members_arg);
    cfg_node_free(root);
    if (s == RLAE_OK && out_dir) {
        free(e->out_dir);
        if (!(e->out_dir = rlae_strdup(out_dir)))
            s = RLAE_ERR_NOMEM;
    }
    if (s == RLAE_OK)
        s = plan(e, members_arg);
    free(members_arg);
    if (s != RLAE_OK) {
        rlae_experiment_free(e);
        return s;
    }
    *out = e;
    return RLAE_OK;
}

void rlae_experiment_free(rlae_experiment *e)
{
    if (!e)
        return;
    for (int i = 0; i < e->n_runs; i++) {
        free(e->runs[i].id);
        free(e->runs[i].dir);
        free(e->runs[i].yaml);
        free(e->runs[i].error);
    }
    free(e->runs);
    for (int a = 0; a < e->n_axes; a++) {
        for (int j = 0; j < e->grid[a].n_values; j++)
            free(e->grid[a].values[j]);
        free(e->grid[a].values);
        free(e->grid[a].key);
    }
    free(e->grid);
    for (int m = 0; m < e->n_methods; m++) {
        free(e->methods[m].label);
        free_overrides(e->methods[m].overrides, e->methods[m].n_overrides);
    }
    free(e->methods);
    for (int t = 0; t < e->n_tasks; t++) {
        free(e->tasks[t].name);
        free(e->tasks[t].config);
        free_overrides(e->tasks[t].overrides, e->tasks[t].n_overrides);
    }
    free(e->tasks);
    for (int k = 0; k < e->n_members; k++)
        free(e->members[k]);
    free(e->members);
    free_overrides(e->overrides, e->n_overrides);
    free(e->seeds);
    free(e->models);
    free(e->out_dir);
    free(e->name);
    free(e->path);
    free(e);
}

/* ---- status and commands -------------------------------------------------------------------- */

char *rlae_experiment_run_file(const rlae_experiment *e, int i, const char *file)
{
    return rlae_path_join(e->runs[i].dir, file);
}

void rlae_experiment_run_status(rlae_experiment *e, int i)
{
    exp_run *r = &e->runs[i];
    if (r->status == EXP_INVALID)
        return;
    char *done = rlae_experiment_run_file(e, i, RLAE_EXP_DONE_MARKER);
    if (done && rlae_path_exists(done))
        r->status = EXP_DONE;
    else if (rlae_path_is_dir(r->dir))
        r->status = EXP_PARTIAL;
    else
        r->status = EXP_PENDING;
    free(done);
}

const char *rlae_experiment_status_name(exp_run_status s)
{
    switch (s) {
    case EXP_PENDING: return "pending";
    case EXP_PARTIAL: return "partial";
    case EXP_DONE: return "done";
    case EXP_INVALID: return "invalid";
    }
    return "?";
}

void rlae_experiment_argv_free(char **argv)
{
    for (int i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

char **rlae_experiment_run_argv(const rlae_experiment *e, int i)
{
    const exp_run *r = &e->runs[i];
    char **v = rlae_calloc(8, sizeof *v);
    if (!v)
        return NULL;
    int n = 0, ok = 1;
    char *cfg = rlae_path_join(r->dir, RLAE_EXP_RUN_CONFIG);
    char *ckpt = rlae_path_join(r->dir, "checkpoint.bin");
    ok = cfg && ckpt;
    if (ok)
        v[n++] = rlae_strdup("rlae");
    if (ok && r->kind == EXP_RUN_TRAIN) {
        v[n++] = rlae_strdup("train");
        if (rlae_path_exists(ckpt)) {
            v[n++] = rlae_strdup("--resume");
            v[n++] = rlae_strdup(r->dir);
        } else {
            v[n++] = rlae_strdup(cfg);
        }
    } else if (ok) {
        const exp_method *m = &e->methods[r->method];
        v[n++] = rlae_strdup("eval");
        v[n++] = rlae_strdup(cfg);
        v[n++] = rlae_strdup("--method");
        v[n++] = m->agent ? xprintf("agent:%s", e->runs[r->depends].dir) : rlae_strdup(m->label);
    }
    free(cfg);
    free(ckpt);
    for (int j = 0; j < n; j++)
        ok = ok && v[j];
    if (!ok) {
        rlae_experiment_argv_free(v);
        return NULL;
    }
    return v;
}
