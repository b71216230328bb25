/* Loading a config: read the file, follow its `base:` chain (paths relative to the including file,
 * cycles refused), merge child over base key by key, apply command-line overrides, then bind
 * (config_bind.c). Also the whole-config helpers that walk the schema: free, equal, member lookup.
 * Merging happens on trees rather than structs so that a value's marks always point at the file
 * (or override) that actually set it. */
#include "config/config_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_BASE_DEPTH = 32 };

typedef struct {
    cfg_source *sources; /* every file and override seen; nodes point into these */
    /* the chain of files being loaded, for cycle detection: real paths and names as written */
    char *chain_real[MAX_BASE_DEPTH];
    const char *chain_name[MAX_BASE_DEPTH];
    int depth;
} loader;

static cfg_source *add_source(loader *L, const char *name, int is_override)
{
    cfg_source *s = rlae_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->name = rlae_strdup(name);
    if (!s->name) {
        free(s);
        return NULL;
    }
    s->is_override = is_override;
    s->next = L->sources;
    L->sources = s;
    return s;
}

static void free_sources(loader *L)
{
    while (L->sources) {
        cfg_source *next = L->sources->next;
        free(L->sources->name);
        free(L->sources);
        L->sources = next;
    }
}

static rlae_status read_file(const char *path, char **text, size_t *len, int *err)
{
    FILE *f = fopen(path, "rb");
    *text = NULL;
    if (!f) {
        *err = errno;
        return RLAE_ERR_INPUT;
    }
    size_t cap = 4096, n = 0;
    char *buf = rlae_malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *grown = rlae_realloc(buf, cap * 2);
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    int bad = ferror(f);
    *err = errno;
    fclose(f);
    if (!buf)
        return RLAE_ERR_NOMEM;
    if (bad) {
        free(buf);
        return RLAE_ERR_IO;
    }
    *text = buf;
    *len = n;
    return RLAE_OK;
}

/* Turns an empty document into an empty map so `base:` and overrides have somewhere to go. */
static rlae_status ensure_map(cfg_node **root)
{
    if (!cfg_node_is_null(*root))
        return RLAE_OK;
    cfg_node *m = cfg_node_new(CFG_NODE_MAP, (*root)->src, (*root)->line, (*root)->col);
    if (!m)
        return RLAE_ERR_NOMEM;
    cfg_node_free(*root);
    *root = m;
    return RLAE_OK;
}

static rlae_status load_tree(loader *L, const char *text, size_t len, const char *name,
                             cfg_node **out);

/* Loads file `path`; `from` is the `base:` value that names it (NULL for the top-level file). */
static rlae_status load_file(loader *L, const char *path, const cfg_node *from, cfg_node **out)
{
    char where[1024] = "";
    if (from)
        cfg_where(from, where, sizeof where);
    char *text = NULL;
    size_t len = 0;
    int err = 0;
    rlae_status s = read_file(path, &text, &len, &err);
    if (s == RLAE_ERR_NOMEM)
        return s;
    if (s != RLAE_OK) {
        if (from)
            return rlae_fail(s, "%s: base: cannot read '%s': %s", where, path, strerror(err));
        return rlae_fail(s, "cannot read config '%s': %s", path, strerror(err));
    }
    char real[PATH_MAX];
    if (!realpath(path, real))
        snprintf(real, sizeof real, "%s", path);
    for (int i = 0; i < L->depth; i++) {
        if (strcmp(L->chain_real[i], real) == 0) {
            char chain[2048];
            size_t used = 0;
            for (int j = i; j < L->depth && used + 1 < sizeof chain; j++)
                used += (size_t)snprintf(chain + used, sizeof chain - used, "%s -> ", L->chain_name[j]);
            if (used + 1 < sizeof chain)
                snprintf(chain + used, sizeof chain - used, "%s", path);
            free(text);
            return rlae_fail(RLAE_ERR_INPUT, "%s: base: inheritance cycle: %s; remove one of these "
                             "`base:` lines", where, chain);
        }
    }
    if (L->depth == MAX_BASE_DEPTH) {
        free(text);
        return rlae_fail(RLAE_ERR_INPUT, "%s: base: chain of more than %d files", where, MAX_BASE_DEPTH);
    }
    L->chain_real[L->depth] = rlae_strdup(real);
    if (!L->chain_real[L->depth]) {
        free(text);
        return RLAE_ERR_NOMEM;
    }
    L->chain_name[L->depth++] = path;
    s = load_tree(L, text, len, path, out);
    free(L->chain_real[--L->depth]);
    free(text);
    return s;
}

/* Parses one document and resolves its `base:` (recursively), returning the merged tree. */
static rlae_status load_tree(loader *L, const char *text, size_t len, const char *name,
                             cfg_node **out)
{
    cfg_source *src = add_source(L, name, 0);
    if (!src)
        return RLAE_ERR_NOMEM;
    cfg_node *root = NULL;
    RLAE_TRY(cfg_tree_parse(text, len, src, &root));
    rlae_status s = ensure_map(&root);
    int bi = -1;
    if (s == RLAE_OK && root->kind == CFG_NODE_MAP && cfg_map_get(root, "base", &bi)) {
        cfg_node *bnode = cfg_map_take(root, bi);
        char where[1024];
        cfg_where(bnode, where, sizeof where);
        if (bnode->kind != CFG_NODE_SCALAR || cfg_node_is_null(bnode)) {
            s = rlae_fail(RLAE_ERR_INPUT, "%s: base: expected the path of another config file, got %s",
                          where, cfg_node_is_null(bnode) ? "nothing" : cfg_node_kind_name(bnode));
        } else {
            /* Relative to the including file, so a config tree can be moved as a whole. */
            char path[PATH_MAX];
            const char *slash = strrchr(name, '/');
            if (bnode->text[0] == '/' || !slash)
                snprintf(path, sizeof path, "%s", bnode->text);
            else
                snprintf(path, sizeof path, "%.*s/%s", (int)(slash - name), name, bnode->text);
            cfg_node *base = NULL;
            s = load_file(L, path, bnode, &base);
            if (s == RLAE_OK && base->kind != CFG_NODE_MAP) {
                char bwhere[1024];
                cfg_where(base, bwhere, sizeof bwhere);
                s = rlae_fail(RLAE_ERR_INPUT, "%s: a base config must be a mapping of keys, got %s "
                              "(named by `base:` at %s)", bwhere, cfg_node_kind_name(base), where);
                cfg_node_free(base);
            } else if (s == RLAE_OK) {
                cfg_tree_merge(base, root);
                root = base;
            }
        }
        cfg_node_free(bnode);
    }
    if (s != RLAE_OK) {
        cfg_node_free(root);
        return s;
    }
    *out = root;
    return RLAE_OK;
}

/* ---- overrides ------------------------------------------------------------------------------ */

static rlae_status override_fail(const char *arg, const char *msg)
{
    return rlae_fail(RLAE_ERR_INPUT, "override '%s': %s", arg, msg);
}

static int parse_index(const char *s, size_t len, int *out)
{
    if (len == 0 || len > 6)
        return 0;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* Splits "members[1].weight" / "members.1.weight" into components: names, or indices (name NULL). */
typedef struct {
    char name[128];
    int index; /* >= 0 when the component is a list index */
} path_part;

static int split_key(const char *key, size_t klen, path_part *parts, int cap)
{
    int n = 0;
    size_t i = 0;
    while (i < klen) {
        size_t j = i;
        while (j < klen && key[j] != '.' && key[j] != '[')
            j++;
        if (j == i && key[j] != '[')
            return -1; /* empty component: "a..b", ".a", "a." */
        if (j > i) {
            if (n == cap || j - i >= sizeof parts[n].name)
                return -1;
            int idx;
            parts[n].index = parse_index(key + i, j - i, &idx) ? idx : -1;
            snprintf(parts[n].name, sizeof parts[n].name, "%.*s", (int)(j - i), key + i);
            n++;
        }
        while (j < klen && key[j] == '[') {
            size_t close = j + 1;
            while (close < klen && key[close] != ']')
                close++;
            int idx;
            if (close >= klen || !parse_index(key + j + 1, close - j - 1, &idx) || n == cap)
                return -1;
            parts[n].name[0] = '\0';
            parts[n].index = idx;
            n++;
            j = close + 1;
        }
        if (j < klen && key[j] != '.')
            return -1;
        i = j + 1;
        if (j + 1 == klen && key[j] == '.')
            return -1;
    }
    return n;
}

static cfg_node *override_key(const cfg_source *src, const char *name)
{
    cfg_node *k = cfg_node_new(CFG_NODE_SCALAR, src, 0, 0);
    if (k && !(k->text = rlae_strdup(name))) {
        cfg_node_free(k);
        return NULL;
    }
    return k;
}

/* Replaces (or adds) the value at parts[] under root by val, which it takes over. */
static rlae_status place_override(const char *arg, const cfg_source *src, cfg_node *root,
                                  const path_part *parts, int n, cfg_node *val)
{
    cfg_node *cur = root;
    char msg[512];
    for (int p = 0; p < n; p++) {
        int last = p == n - 1;
        if (parts[p].index >= 0 && cur->kind == CFG_NODE_SEQ) {
            if (parts[p].index >= cur->n) {
                snprintf(msg, sizeof msg, "index %d is past the end of '%s', which has %d entr%s",
                         parts[p].index, p ? parts[p - 1].name : "", cur->n, cur->n == 1 ? "y" : "ies");
                cfg_node_free(val);
                return override_fail(arg, msg);
            }
            cfg_node **slot = &cur->vals[parts[p].index];
            if (last) {
                cfg_node_free(*slot);
                *slot = val;
                return RLAE_OK;
            }
            cur = *slot;
            continue;
        }
        if (cur->kind == CFG_NODE_SEQ) {
            snprintf(msg, sizeof msg, "'%s' is a list: address an entry by its index, e.g. %s.0.%s",
                     p ? parts[p - 1].name : "", p ? parts[p - 1].name : "", parts[p].name);
            cfg_node_free(val);
            return override_fail(arg, msg);
        }
        if (cur->kind != CFG_NODE_MAP || !parts[p].name[0]) {
            snprintf(msg, sizeof msg, "'%s' is not a list, so it cannot be indexed",
                     p ? parts[p - 1].name : parts[p].name);
            cfg_node_free(val);
            return override_fail(arg, msg);
        }
        int i;
        cfg_node *child = cfg_map_get(cur, parts[p].name, &i);
        if (last) {
            if (child) {
                cfg_node_free(child);
                cur->vals[i] = val;
                return RLAE_OK;
            }
        } else if (child && (child->kind == CFG_NODE_MAP || child->kind == CFG_NODE_SEQ)) {
            cur = child;
            continue;
        }
        /* A new key, or a scalar being given sub-keys: create a map; binding then says whether the
         * key exists and whether a map is what it takes. */
        cfg_node *k = override_key(src, parts[p].name);
        cfg_node *v = last ? val : cfg_node_new(CFG_NODE_MAP, src, 0, 0);
        if (!k || !v) {
            cfg_node_free(k);
            cfg_node_free(v);
            if (!last)
                cfg_node_free(val);
            return RLAE_ERR_NOMEM;
        }
        if (child) {
            cfg_node_free(child);
            cfg_node_free(cur->keys[i]);
            cur->keys[i] = k;
            cur->vals[i] = v;
        } else if (cfg_node_append(cur, k, v) != RLAE_OK) {
            cfg_node_free(k);
            cfg_node_free(v);
            if (!last)
                cfg_node_free(val);
            return RLAE_ERR_NOMEM;
        }
        if (last)
            return RLAE_OK;
        cur = v;
    }
    cfg_node_free(val);
    return RLAE_OK;
}

static void clear_marks(cfg_node *n)
{
    n->line = n->col = 0;
    for (int i = 0; i < n->n; i++) {
        if (n->keys)
            clear_marks(n->keys[i]);
        clear_marks(n->vals[i]);
    }
}

static rlae_status apply_override(loader *L, cfg_node *root, const char *arg)
{
    const char *eq = strchr(arg, '=');
    path_part parts[16];
    int n = eq ? split_key(arg, (size_t)(eq - arg), parts, 16) : -1;
    if (n <= 0)
        return override_fail(arg, "expected key.sub=value, e.g. ensemble.span=16 or "
                             "ensemble.stop=[\"\\n\\n\"]");
    if (strcmp(parts[0].name, "base") == 0)
        return override_fail(arg, "base: can only be given inside a config file");
    cfg_source *src = add_source(L, arg, 1);
    if (!src)
        return RLAE_ERR_NOMEM;
    cfg_node *val = NULL;
    /* The value is YAML so lists (`[a, b]`) and quoted strings work the same as in a file. */
    RLAE_TRY(cfg_tree_parse(eq + 1, strlen(eq + 1), src, &val));
    clear_marks(val);
    if (root->kind != CFG_NODE_MAP) {
        cfg_node_free(val);
        return RLAE_OK; /* binding reports the root itself */
    }
    return place_override(arg, src, root, parts, n, val);
}

/* ---- entry points --------------------------------------------------------------------------- */

static rlae_status finish(loader *L, rlae_status s, cfg_node *root, const char *name, int n_overrides,
                          char **overrides, rlae_config *out)
{
    for (int i = 0; s == RLAE_OK && i < n_overrides; i++)
        s = apply_override(L, root, overrides[i]);
    if (s == RLAE_OK)
        s = cfg_bind(root, out);
    cfg_node_free(root);
    free_sources(L);
    if (s != RLAE_OK)
        return s;
    if (!out->run.name[0]) {
        /* The default run name is the config's file name without its extension. */
        const char *base = strrchr(name, '/');
        base = base ? base + 1 : name;
        size_t len = strlen(base);
        if (len > 5 && strcmp(base + len - 5, ".yaml") == 0)
            len -= 5;
        else if (len > 4 && strcmp(base + len - 4, ".yml") == 0)
            len -= 4;
        free(out->run.name);
        out->run.name = rlae_malloc(len + 1);
        if (out->run.name) {
            memcpy(out->run.name, base, len);
            out->run.name[len] = '\0';
        }
    }
    out->source = rlae_strdup(name);
    if (!out->run.name || !out->source) {
        rlae_config_free(out);
        return RLAE_ERR_NOMEM;
    }
    return RLAE_OK;
}

rlae_status rlae_config_load(const char *path, int n_overrides, char **overrides, rlae_config *out)
{
    memset(out, 0, sizeof *out);
    loader L = {0};
    cfg_node *root = NULL;
    rlae_status s = load_file(&L, path, NULL, &root);
    if (s != RLAE_OK) {
        free_sources(&L);
        return s;
    }
    return finish(&L, s, root, path, n_overrides, overrides, out);
}

rlae_status rlae_config_load_string(const char *yaml, const char *name, int n_overrides,
                                    char **overrides, rlae_config *out)
{
    memset(out, 0, sizeof *out);
    loader L = {0};
    cfg_node *root = NULL;
    rlae_status s = load_tree(&L, yaml, strlen(yaml), name, &root);
    if (s != RLAE_OK) {
        free_sources(&L);
        return s;
    }
    return finish(&L, s, root, name, n_overrides, overrides, out);
}

/* ---- whole-config helpers ------------------------------------------------------------------- */

static int is_member_row(const cfg_key *k)
{
    return strncmp(k->path, CFG_MEMBER_PREFIX, strlen(CFG_MEMBER_PREFIX)) == 0;
}

static void free_field(const cfg_key *k, void *field)
{
    switch (k->type) {
    case CFG_STRING: {
        char **s = field;
        free(*s);
        *s = NULL;
        break;
    }
    case CFG_STR_LIST: {
        rlae_str_list *l = field;
        for (int i = 0; i < l->n; i++)
            free(l->items[i]);
        free(l->items);
        l->items = NULL;
        l->n = 0;
        break;
    }
    case CFG_FLOAT_LIST: {
        rlae_float_list *l = field;
        free(l->items);
        l->items = NULL;
        l->n = 0;
        break;
    }
    default: break;
    }
}

void rlae_config_free(rlae_config *cfg)
{
    if (!cfg)
        return;
    for (int m = 0; m < cfg->n_members; m++)
        for (int i = 0; i < cfg_schema_len; i++)
            if (is_member_row(&cfg_schema[i]))
                free_field(&cfg_schema[i], cfg_field(&cfg_schema[i], cfg, &cfg->members[m]));
    free(cfg->members);
    for (int i = 0; i < cfg_schema_len; i++)
        if (!is_member_row(&cfg_schema[i]) && cfg_schema[i].type != CFG_MEMBERS)
            free_field(&cfg_schema[i], cfg_field(&cfg_schema[i], cfg, NULL));
    free(cfg->source);
    memset(cfg, 0, sizeof *cfg);
}

static bool field_equal(const cfg_key *k, const void *a, const void *b)
{
    switch (k->type) {
    case CFG_STRING: {
        const char *x = *(char *const *)a, *y = *(char *const *)b;
        return x && y ? strcmp(x, y) == 0 : x == y;
    }
    case CFG_INT:
    case CFG_ENUM: return *(const int *)a == *(const int *)b;
    case CFG_FLOAT: return *(const double *)a == *(const double *)b;
    case CFG_BOOL: return *(const bool *)a == *(const bool *)b;
    case CFG_STR_LIST: {
        const rlae_str_list *x = a, *y = b;
        if (x->n != y->n)
            return false;
        for (int i = 0; i < x->n; i++)
            if (strcmp(x->items[i], y->items[i]) != 0)
                return false;
        return true;
    }
    case CFG_FLOAT_LIST: {
        const rlae_float_list *x = a, *y = b;
        if (x->n != y->n)
            return false;
        for (int i = 0; i < x->n; i++)
            if (x->items[i] != y->items[i])
                return false;
        return true;
    }
    case CFG_SECTION:
    case CFG_MEMBERS: break;
    }
    return true;
}

bool rlae_config_equal(const rlae_config *a, const rlae_config *b)
{
    if (a->n_members != b->n_members)
        return false;
    for (int i = 0; i < cfg_schema_len; i++) {
        const cfg_key *k = &cfg_schema[i];
        if (k->type == CFG_SECTION || k->type == CFG_MEMBERS)
            continue;
        if (is_member_row(k)) {
            for (int m = 0; m < a->n_members; m++)
                if (!field_equal(k, cfg_field_c(k, a, &a->members[m]), cfg_field_c(k, b, &b->members[m])))
                    return false;
        } else if (!field_equal(k, cfg_field_c(k, a, NULL), cfg_field_c(k, b, NULL))) {
            return false;
        }
    }
    return true;
}

int rlae_config_member_index(const rlae_config *cfg, const char *name)
{
    for (int i = 0; i < cfg->n_members; i++)
        if (strcmp(cfg->members[i].name, name) == 0)
            return i;
    return -1;
}
