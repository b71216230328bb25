/* Binding: merged cfg_node tree -> typed rlae_config, driven by the schema table.
 * Order of work: every default from the schema, then the tree key by key (unknown keys are errors
 * with a "did you mean" from edit distance; `key: ~` or an empty value keeps the default), then the
 * checks that span several keys (unique member names, member references, list lengths).
 * Every message starts with where the offending text is (file:line:column, or the override
 * argument) and the key path, because that is what a user needs to fix it. */
#include "config/config_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { PATH_CAP = 256 };

static rlae_status bind_fail(const cfg_node *at, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static rlae_status bind_fail(const cfg_node *at, const char *path, const char *fmt, ...)
{
    char where[1024], msg[2048];
    cfg_where(at, where, sizeof where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (path && *path)
        return rlae_fail(RLAE_ERR_INPUT, "%s: %s: %s", where, path, msg);
    return rlae_fail(RLAE_ERR_INPUT, "%s: %s", where, msg);
}

/* "'abc'" for a plain scalar, "the quoted string \"8\"" for a quoted one, "a list" otherwise. */
static void describe(const cfg_node *n, char *buf, size_t cap)
{
    if (n->kind != CFG_NODE_SCALAR)
        snprintf(buf, cap, "%s", cfg_node_kind_name(n));
    else if (n->quoted)
        snprintf(buf, cap, "the quoted string \"%.200s\" (numbers and booleans are written without quotes)",
                 n->text);
    else
        snprintf(buf, cap, "'%.200s'", n->text);
}

int cfg_edit_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 200 || nb > 200) /* names are short; a huge key gets no suggestion */
        return 1000;
    int row[201];
    for (size_t j = 0; j <= nb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

static const char *leaf_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

/* Writes schema path `spath` for display, with "members[]" turned into the member actually being
 * bound ("members[1]") so a suggestion can be pasted back. */
static void display_path(const char *spath, const char *member_display, char *buf, size_t cap)
{
    size_t np = strlen(CFG_MEMBER_PREFIX);
    if (member_display && strncmp(spath, CFG_MEMBER_PREFIX, np) == 0)
        snprintf(buf, cap, "%s.%s", member_display, spath + np);
    else
        snprintf(buf, cap, "%s", spath);
}

/* The schema path closest to an unknown one, or NULL. A key in the wrong section ("run.span") is
 * matched by its last component, at a cost of one edit. */
static const cfg_key *nearest_key(const char *spath)
{
    const char *leaf = leaf_of(spath);
    const cfg_key *best = NULL;
    int best_d = 1000;
    for (int i = 0; i < cfg_schema_len; i++) {
        const cfg_key *k = &cfg_schema[i];
        int d = cfg_edit_distance(spath, k->path);
        int dl = cfg_edit_distance(leaf, cfg_key_leaf(k)) + 1;
        if (dl < d)
            d = dl;
        if (d < best_d) {
            best_d = d;
            best = k;
        }
    }
    int limit = (int)strlen(leaf) / 3;
    if (limit < 2)
        limit = 2;
    return best_d <= limit ? best : NULL;
}

/* "span, max_new_tokens, ..." : the keys directly under schema prefix `sprefix`. */
static void list_children(const char *sprefix, char *buf, size_t cap)
{
    size_t np = strlen(sprefix), used = 0;
    buf[0] = '\0';
    for (int i = 0; i < cfg_schema_len && used + 1 < cap; i++) {
        const char *p = cfg_schema[i].path;
        const char *rest = p;
        if (np) {
            if (strncmp(p, sprefix, np) != 0 || p[np] != '.')
                continue;
            rest = p + np + 1;
        }
        if (strchr(rest, '.') || (!np && strncmp(rest, "members[]", 9) == 0))
            continue;
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", rest);
    }
}

static rlae_status unknown_key(const cfg_node *key, const char *spath, const char *sprefix,
                               const char *member_display)
{
    char shown[PATH_CAP], sugg[PATH_CAP];
    display_path(spath, member_display, shown, sizeof shown);
    const cfg_key *near = nearest_key(spath);
    if (near) {
        display_path(near->path, member_display, sugg, sizeof sugg);
        return bind_fail(key, NULL, "unknown key '%s' \xe2\x80\x94 did you mean '%s'?", shown, sugg);
    }
    char known[1024];
    list_children(sprefix, known, sizeof known);
    return bind_fail(key, NULL, "unknown key '%s'; the keys %s%s%s are: %s", shown,
                     *sprefix ? "under '" : "at the top level", sprefix, *sprefix ? "'" : "", known);
}

/* ---- scalars -------------------------------------------------------------------------------- */

static rlae_status want_plain_scalar(const cfg_node *v, const char *path, const char *what)
{
    if (v->kind == CFG_NODE_SCALAR && !v->quoted)
        return RLAE_OK;
    char got[512];
    describe(v, got, sizeof got);
    return bind_fail(v, path, "expected %s, got %s", what, got);
}

static rlae_status check_range(const cfg_key *k, const cfg_node *v, const char *path, double x)
{
    int bad = 0;
    if (k->flags & CFG_HAS_MIN)
        bad |= (k->flags & CFG_MIN_EXCL) ? !(x > k->min) : !(x >= k->min);
    if (k->flags & CFG_HAS_MAX)
        bad |= (k->flags & CFG_MAX_EXCL) ? !(x < k->max) : !(x <= k->max);
    if (!bad)
        return RLAE_OK;
    char range[64];
    cfg_range_text(k, range, sizeof range);
    return bind_fail(v, path, "%s is out of range: the value must be %s%s", v->text,
                     range[0] == '[' || range[0] == '(' ? "in " : "", range);
}

static rlae_status parse_int(const cfg_key *k, const cfg_node *v, const char *path, int *out)
{
    RLAE_TRY(want_plain_scalar(v, path, "an integer"));
    const char *s = v->text;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    int digits = s[s[0] == '-' || s[0] == '+'] >= '0' && s[s[0] == '-' || s[0] == '+'] <= '9';
    if (!digits || *end != '\0')
        return bind_fail(v, path, "expected an integer, got '%s'", s);
    if (errno == ERANGE || x < -2147483647LL - 1 || x > 2147483647LL) {
        char range[64];
        cfg_range_text(k, range, sizeof range);
        return bind_fail(v, path, "%s is out of range: the value must be %s%s", s,
                         range[0] == '[' || range[0] == '(' ? "in " : "", range);
    }
    RLAE_TRY(check_range(k, v, path, (double)x));
    *out = (int)x;
    return RLAE_OK;
}

static rlae_status parse_float(const cfg_key *k, const cfg_node *v, const char *path, double *out)
{
    RLAE_TRY(want_plain_scalar(v, path, "a number"));
    const char *s = v->text;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    /* strtod also reads "nan", "inf" and hex floats; a config value must be an ordinary number. */
    if (end == s || *end != '\0' || !isfinite(x) || strpbrk(s, "xXnN"))
        return bind_fail(v, path, "expected a number, got '%s'", s);
    RLAE_TRY(check_range(k, v, path, x));
    *out = x;
    return RLAE_OK;
}

static rlae_status parse_bool(const cfg_node *v, const char *path, bool *out)
{
    RLAE_TRY(want_plain_scalar(v, path, "true or false"));
    if (strcmp(v->text, "true") == 0)
        *out = true;
    else if (strcmp(v->text, "false") == 0)
        *out = false;
    else
        return bind_fail(v, path, "expected true or false, got '%s' (only true and false are "
                         "accepted, not yes/no/on/off)", v->text);
    return RLAE_OK;
}

static rlae_status parse_enum(const cfg_key *k, const cfg_node *v, const char *path, int *out)
{
    if (v->kind != CFG_NODE_SCALAR) {
        char got[64];
        describe(v, got, sizeof got);
        return bind_fail(v, path, "expected one of %s, got %s", k->values, got);
    }
    int n = cfg_enum_count(k), best = -1, best_d = 1000;
    char name[64];
    for (int i = 0; i < n; i++) {
        cfg_enum_value(k, i, name, sizeof name);
        if (strcmp(name, v->text) == 0) {
            *out = i;
            return RLAE_OK;
        }
        int d = cfg_edit_distance(v->text, name);
        if (d < best_d) {
            best_d = d;
            best = i;
        }
    }
    if (best >= 0 && best_d <= 2 && best_d < (int)strlen(v->text)) {
        cfg_enum_value(k, best, name, sizeof name);
        return bind_fail(v, path, "'%s' is not one of %s \xe2\x80\x94 did you mean '%s'?", v->text,
                         k->values, name);
    }
    return bind_fail(v, path, "'%s' is not one of %s", v->text, k->values);
}

static rlae_status parse_string(const cfg_node *v, const char *path, char **out)
{
    if (v->kind != CFG_NODE_SCALAR) {
        char got[64];
        describe(v, got, sizeof got);
        return bind_fail(v, path, "expected a string, got %s", got);
    }
    char *s = rlae_strdup(v->text);
    if (!s)
        return RLAE_ERR_NOMEM;
    free(*out);
    *out = s;
    return RLAE_OK;
}

static void free_str_list(rlae_str_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static rlae_status want_list(const cfg_node *v, const char *path)
{
    if (v->kind == CFG_NODE_SEQ)
        return RLAE_OK;
    char got[512];
    describe(v, got, sizeof got);
    return bind_fail(v, path, "expected a list such as [a, b], got %s", got);
}

static rlae_status parse_str_list(const cfg_node *v, const char *path, rlae_str_list *out)
{
    RLAE_TRY(want_list(v, path));
    rlae_str_list l = {rlae_calloc((size_t)v->n + 1, sizeof(char *)), 0};
    if (!l.items)
        return RLAE_ERR_NOMEM;
    for (int i = 0; i < v->n; i++) {
        char ipath[PATH_CAP];
        snprintf(ipath, sizeof ipath, "%s[%d]", path, i);
        const cfg_node *item = v->vals[i];
        rlae_status s = RLAE_OK;
        if (cfg_node_is_null(item))
            s = bind_fail(item, ipath, "empty list entry; write \"\" for an empty string");
        else
            s = parse_string(item, ipath, &l.items[i]);
        if (s != RLAE_OK) {
            l.n = i + 1;
            free_str_list(&l);
            return s;
        }
    }
    l.n = v->n;
    free_str_list(out);
    *out = l;
    return RLAE_OK;
}

static rlae_status parse_float_list(const cfg_key *k, const cfg_node *v, const char *path,
                                    rlae_float_list *out)
{
    RLAE_TRY(want_list(v, path));
    double *items = rlae_calloc((size_t)v->n + 1, sizeof *items);
    if (!items)
        return RLAE_ERR_NOMEM;
    for (int i = 0; i < v->n; i++) {
        char ipath[PATH_CAP];
        snprintf(ipath, sizeof ipath, "%s[%d]", path, i);
        rlae_status s = parse_float(k, v->vals[i], ipath, &items[i]);
        if (s != RLAE_OK) {
            free(items);
            return s;
        }
    }
    free(out->items);
    out->items = items;
    out->n = v->n;
    return RLAE_OK;
}

/* Stores the value of node v into the field of row k. */
static rlae_status set_value(const cfg_key *k, const cfg_node *v, void *field, const char *path)
{
    switch (k->type) {
    case CFG_STRING: return parse_string(v, path, (char **)field);
    case CFG_INT: return parse_int(k, v, path, (int *)field);
    case CFG_FLOAT: return parse_float(k, v, path, (double *)field);
    case CFG_BOOL: return parse_bool(v, path, (bool *)field);
    case CFG_ENUM: return parse_enum(k, v, path, (int *)field);
    case CFG_STR_LIST: return parse_str_list(v, path, (rlae_str_list *)field);
    case CFG_FLOAT_LIST: return parse_float_list(k, v, path, (rlae_float_list *)field);
    case CFG_SECTION:
    case CFG_MEMBERS: break;
    }
    RLAE_ASSERT(!"set_value called on a section or the members list");
    return RLAE_ERR_RUNTIME;
}

/* Applies the schema default of row k. Defaults are YAML text parsed like user input; one that
 * does not parse is a bug in the schema, caught by every test that loads a config. */
static rlae_status apply_default(const cfg_key *k, void *field)
{
    static const cfg_source src = {"schema default", 0, NULL};
    cfg_node *n = NULL;
    rlae_status s = cfg_tree_parse(k->def, strlen(k->def), &src, &n);
    if (s == RLAE_OK)
        s = set_value(k, n, field, k->path);
    cfg_node_free(n);
    if (s == RLAE_ERR_NOMEM)
        return s;
    RLAE_ASSERT(s == RLAE_OK);
    return s;
}

static int is_member_row(const cfg_key *k)
{
    return strncmp(k->path, CFG_MEMBER_PREFIX, strlen(CFG_MEMBER_PREFIX)) == 0;
}

static int is_value_row(const cfg_key *k)
{
    return k->type != CFG_SECTION && k->type != CFG_MEMBERS;
}

static rlae_status member_defaults(rlae_member_config *m)
{
    for (int i = 0; i < cfg_schema_len; i++) {
        const cfg_key *k = &cfg_schema[i];
        if (is_value_row(k) && is_member_row(k) && k->def)
            RLAE_TRY(apply_default(k, cfg_field(k, NULL, m)));
    }
    return RLAE_OK;
}

/* ---- maps ----------------------------------------------------------------------------------- */

static rlae_status bind_members(const cfg_key *k, const cfg_node *v, rlae_config *cfg);

/* Binds every entry of `map`, whose keys live under schema prefix `sprefix` ("" at the top,
 * "members[]" inside a member) and are shown under `dprefix` ("members[1]"). */
static rlae_status bind_map(const cfg_node *map, const char *sprefix, const char *dprefix,
                            rlae_config *cfg, rlae_member_config *m)
{
    for (int i = 0; i < map->n; i++) {
        const cfg_node *key = map->keys[i], *v = map->vals[i];
        char spath[PATH_CAP], dpath[PATH_CAP];
        snprintf(spath, sizeof spath, "%s%s%s", sprefix, *sprefix ? "." : "", key->text);
        snprintf(dpath, sizeof dpath, "%s%s%s", dprefix, *dprefix ? "." : "", key->text);
        const cfg_key *k = cfg_schema_find(spath);
        if (!k)
            return unknown_key(key, spath, sprefix, m ? dprefix : NULL);
        if (cfg_node_is_null(v))
            continue; /* `key: ~` or `key:` keeps the default */
        if (k->type == CFG_SECTION) {
            if (v->kind != CFG_NODE_MAP) {
                char got[512];
                describe(v, got, sizeof got);
                return bind_fail(v, dpath, "expected a mapping of keys (section '%s'), got %s", spath,
                                 got);
            }
            RLAE_TRY(bind_map(v, spath, dpath, cfg, m));
        } else if (k->type == CFG_MEMBERS) {
            RLAE_TRY(bind_members(k, v, cfg));
        } else {
            RLAE_TRY(set_value(k, v, cfg_field(k, cfg, m), dpath));
        }
    }
    return RLAE_OK;
}

static void free_member(rlae_member_config *m)
{
    for (int i = 0; i < cfg_schema_len; i++) {
        const cfg_key *k = &cfg_schema[i];
        if (is_member_row(k) && k->type == CFG_STRING) {
            char **s = cfg_field(k, NULL, m);
            free(*s);
            *s = NULL;
        }
    }
}

static rlae_status bind_members(const cfg_key *k, const cfg_node *v, rlae_config *cfg)
{
    if (v->kind != CFG_NODE_SEQ) {
        char got[512];
        describe(v, got, sizeof got);
        return bind_fail(v, k->path, "expected a list of members (each a map with name and path), "
                         "got %s", got);
    }
    if (v->n < (int)k->min || v->n > (int)k->max)
        return bind_fail(v, k->path, "%d members given; an ensemble has %d to %d", v->n, (int)k->min,
                         (int)k->max);
    for (int i = 0; i < cfg->n_members; i++)
        free_member(&cfg->members[i]);
    free(cfg->members);
    cfg->n_members = 0;
    cfg->members = rlae_calloc((size_t)v->n, sizeof *cfg->members);
    if (!cfg->members)
        return RLAE_ERR_NOMEM;
    for (int i = 0; i < v->n; i++) {
        const cfg_node *item = v->vals[i];
        rlae_member_config *m = &cfg->members[i];
        cfg->n_members = i + 1;
        char dprefix[32];
        snprintf(dprefix, sizeof dprefix, "members[%d]", i);
        RLAE_TRY(member_defaults(m));
        if (item->kind != CFG_NODE_MAP) {
            char got[512];
            describe(item, got, sizeof got);
            return bind_fail(item, dprefix, "expected a map with at least name and path, got %s", got);
        }
        RLAE_TRY(bind_map(item, "members[]", dprefix, cfg, m));
        for (int r = 0; r < cfg_schema_len; r++) {
            const cfg_key *rk = &cfg_schema[r];
            if (!is_member_row(rk) || !(rk->flags & CFG_REQUIRED))
                continue;
            const cfg_node *got = cfg_map_get(item, cfg_key_leaf(rk), NULL);
            if (!got || cfg_node_is_null(got))
                return bind_fail(got ? got : item, dprefix, "missing required key '%s'",
                                 cfg_key_leaf(rk));
        }
    }
    return RLAE_OK;
}

/* ---- checks across keys --------------------------------------------------------------------- */

/* Node at a dotted path under root (sections only, no lists), or root itself when the value was
 * never written (it came from a default), so messages still name the file. */
static const cfg_node *node_or_root(const cfg_node *root, const char *a, const char *b)
{
    const cfg_node *n = cfg_map_get(root, a, NULL);
    if (n && b)
        n = cfg_map_get(n, b, NULL);
    return n ? n : root;
}

static rlae_status check_member_ref(const cfg_node *root, const rlae_config *cfg, const char *leaf,
                                    const char *name)
{
    if (!name[0] || rlae_config_member_index(cfg, name) >= 0)
        return RLAE_OK;
    char path[64], names[512] = "";
    snprintf(path, sizeof path, "ensemble.%s", leaf);
    size_t used = 0;
    const char *near = NULL;
    int near_d = 3;
    for (int i = 0; i < cfg->n_members && used + 1 < sizeof names; i++) {
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                 cfg->members[i].name);
        int d = cfg_edit_distance(name, cfg->members[i].name);
        if (d < near_d) {
            near_d = d;
            near = cfg->members[i].name;
        }
    }
    const cfg_node *at = node_or_root(root, "ensemble", leaf);
    if (near)
        return bind_fail(at, path, "no member is named '%s' \xe2\x80\x94 did you mean '%s'?", name, near);
    return bind_fail(at, path, "no member is named '%s' (the members are: %s)", name, names);
}

static rlae_status check_members(const cfg_node *root, const rlae_config *cfg)
{
    const cfg_node *list = cfg_map_get(root, "members", NULL);
    for (int i = 0; i < cfg->n_members; i++) {
        const char *name = cfg->members[i].name;
        const cfg_node *at = list && list->kind == CFG_NODE_SEQ && i < list->n
                                 ? node_or_root(list->vals[i], "name", NULL) : root;
        char path[64];
        snprintf(path, sizeof path, "members[%d].name", i);
        if (!name[0])
            return bind_fail(at, path, "a member name cannot be empty");
        for (const char *p = name; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                  *p == '_' || *p == '-' || *p == '.'))
                return bind_fail(at, path, "'%s': a member name may hold only letters, digits, _ . -",
                                 name);
        for (int j = 0; j < i; j++)
            if (strcmp(cfg->members[j].name, name) == 0)
                return bind_fail(at, path, "member name '%s' is already used by members[%d]; names "
                                 "must be unique", name, j);
        if (!cfg->members[i].path[0]) {
            snprintf(path, sizeof path, "members[%d].path", i);
            const cfg_node *pat = list && list->kind == CFG_NODE_SEQ && i < list->n
                                      ? node_or_root(list->vals[i], "path", NULL) : root;
            return bind_fail(pat, path, "a member path cannot be empty");
        }
    }
    RLAE_TRY(check_member_ref(root, cfg, "single_member", cfg->ensemble.single_member));
    RLAE_TRY(check_member_ref(root, cfg, "gate_member", cfg->ensemble.gate_member));
    return RLAE_OK;
}

static rlae_status check_synthetic(const cfg_node *root, const rlae_config *cfg)
{
    const rlae_synthetic_config *s = &cfg->task.synthetic;
    const cfg_node *syn = cfg_map_get(node_or_root(root, "task", NULL), "synthetic", NULL);
    const cfg_node *at = syn ? cfg_map_get(syn, "proportions", NULL) : NULL;
    if (!at)
        at = root;
    if (s->proportions.n && s->proportions.n != s->skills.n)
        return bind_fail(at, "task.synthetic.proportions", "%d proportions for %d skills; give one "
                         "per skill or none for equal shares", s->proportions.n, s->skills.n);
    double sum = 0;
    for (int i = 0; i < s->proportions.n; i++)
        sum += s->proportions.items[i];
    if (s->proportions.n && !(sum > 0))
        return bind_fail(at, "task.synthetic.proportions", "the proportions add up to 0; at least "
                         "one must be positive");
    if (cfg->task.name == RLAE_TASK_SYNTHETIC && s->skills.n == 0) {
        const cfg_node *sk = syn ? cfg_map_get(syn, "skills", NULL) : NULL;
        return bind_fail(sk ? sk : root, "task.synthetic.skills", "task synthetic needs at least "
                         "one skill");
    }
    return RLAE_OK;
}

/* ---- entry ---------------------------------------------------------------------------------- */

rlae_status cfg_bind(const cfg_node *root, rlae_config *out)
{
    rlae_status s = RLAE_OK;
    for (int i = 0; i < cfg_schema_len && s == RLAE_OK; i++) {
        const cfg_key *k = &cfg_schema[i];
        if (is_value_row(k) && !is_member_row(k) && k->def)
            s = apply_default(k, cfg_field(k, out, NULL));
    }
    if (s == RLAE_OK && root->kind != CFG_NODE_MAP) {
        char got[512];
        describe(root, got, sizeof got);
        s = bind_fail(root, NULL, "a config is a mapping of keys (run:, members:, ensemble:, ...), "
                      "got %s", got);
    }
    if (s == RLAE_OK)
        s = bind_map(root, "", "", out, NULL);
    if (s == RLAE_OK) {
        const cfg_node *m = cfg_map_get(root, "members", NULL);
        if (!m || cfg_node_is_null(m))
            s = bind_fail(root, NULL, "missing required key 'members' (a list of 1 to %d maps, each "
                          "with at least name and path)", RLAE_MAX_MEMBERS);
    }
    if (s == RLAE_OK)
        s = check_members(root, out);
    if (s == RLAE_OK)
        s = check_synthetic(root, out);
    if (s != RLAE_OK)
        rlae_config_free(out);
    return s;
}
