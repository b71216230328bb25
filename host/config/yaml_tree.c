/* YAML text -> cfg_node tree with line/column marks, on top of libyaml's event parser.
 * The tree is deliberately simpler than YAML: scalars (text + whether they were quoted), maps and
 * sequences. Three things libyaml leaves to us are done here because the config layer depends on
 * them: duplicate keys are errors (libyaml accepts them silently and the last would win), aliases
 * are refused (a config should read the way it is written), and only one document is allowed.
 * Merging of trees for `base:` inheritance also lives here since it is pure tree surgery. */
#include "config/config_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum { MAX_DEPTH = 64, PATH_CAP = 512 };

typedef struct {
    yaml_parser_t parser;
    const cfg_source *src;
    char path[PATH_CAP]; /* key path of the node being parsed, for duplicate-key messages */
} tree_parser;

cfg_node *cfg_node_new(cfg_node_kind kind, const cfg_source *src, int line, int col)
{
    cfg_node *n = rlae_calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->src = src;
    n->line = line;
    n->col = col;
    return n;
}

void cfg_node_free(cfg_node *n)
{
    if (!n)
        return;
    for (int i = 0; i < n->n; i++) {
        if (n->keys)
            cfg_node_free(n->keys[i]);
        cfg_node_free(n->vals[i]);
    }
    free(n->keys);
    free(n->vals);
    free(n->text);
    free(n);
}

rlae_status cfg_node_append(cfg_node *parent, cfg_node *key, cfg_node *val)
{
    if (parent->n == parent->cap) {
        int cap = parent->cap ? 2 * parent->cap : 8;
        cfg_node **v = rlae_realloc(parent->vals, (size_t)cap * sizeof *v);
        if (!v)
            return RLAE_ERR_NOMEM;
        parent->vals = v;
        if (parent->kind == CFG_NODE_MAP) {
            cfg_node **k = rlae_realloc(parent->keys, (size_t)cap * sizeof *k);
            if (!k)
                return RLAE_ERR_NOMEM;
            parent->keys = k;
        }
        parent->cap = cap;
    }
    if (parent->kind == CFG_NODE_MAP)
        parent->keys[parent->n] = key;
    parent->vals[parent->n++] = val;
    return RLAE_OK;
}

cfg_node *cfg_map_get(const cfg_node *map, const char *key, int *index)
{
    if (!map || map->kind != CFG_NODE_MAP)
        return NULL;
    for (int i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->text, key) == 0) {
            if (index)
                *index = i;
            return map->vals[i];
        }
    return NULL;
}

cfg_node *cfg_map_take(cfg_node *map, int i)
{
    cfg_node *v = map->vals[i];
    cfg_node_free(map->keys[i]);
    memmove(map->keys + i, map->keys + i + 1, (size_t)(map->n - i - 1) * sizeof *map->keys);
    memmove(map->vals + i, map->vals + i + 1, (size_t)(map->n - i - 1) * sizeof *map->vals);
    map->n--;
    return v;
}

/* Frees a node's own storage but not its children (they were moved elsewhere). */
static void free_shell(cfg_node *n)
{
    free(n->keys);
    free(n->vals);
    free(n->text);
    free(n);
}

void cfg_tree_merge(cfg_node *base, cfg_node *child)
{
    for (int i = 0; i < child->n; i++) {
        cfg_node *k = child->keys[i], *v = child->vals[i];
        int j;
        cfg_node *old = cfg_map_get(base, k->text, &j);
        if (old && old->kind == CFG_NODE_MAP && v->kind == CFG_NODE_MAP) {
            cfg_tree_merge(old, v);
            cfg_node_free(k);
        } else if (old) {
            /* The child's key replaces the base's too, so later messages point at the child. */
            cfg_node_free(old);
            cfg_node_free(base->keys[j]);
            base->keys[j] = k;
            base->vals[j] = v;
        } else if (cfg_node_append(base, k, v) != RLAE_OK) {
            /* Out of memory while merging: drop the entry rather than leak it; the caller's next
             * allocation will fail with the recorded message. */
            cfg_node_free(k);
            cfg_node_free(v);
        }
    }
    free_shell(child);
}

void cfg_where(const cfg_node *n, char *buf, size_t cap)
{
    if (n->src->is_override)
        snprintf(buf, cap, "override '%s'", n->src->name);
    else
        snprintf(buf, cap, "%s:%d:%d", n->src->name, n->line, n->col);
}

int cfg_node_is_null(const cfg_node *n)
{
    if (n->kind != CFG_NODE_SCALAR || n->quoted)
        return 0;
    return n->text[0] == '\0' || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
           strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0;
}

const char *cfg_node_kind_name(const cfg_node *n)
{
    switch (n->kind) {
    case CFG_NODE_MAP: return "a mapping";
    case CFG_NODE_SEQ: return "a list";
    case CFG_NODE_SCALAR: break;
    }
    return "a scalar";
}

/* ---- parsing -------------------------------------------------------------------------------- */

static rlae_status parser_error(tree_parser *tp)
{
    const yaml_parser_t *p = &tp->parser;
    const char *problem = p->problem ? p->problem : "unknown libyaml error";
    if (p->error == YAML_MEMORY_ERROR)
        return rlae_fail(RLAE_ERR_NOMEM, "%s: out of memory while parsing YAML", tp->src->name);
    char ctx[256] = "";
    if (p->context && tp->src->is_override)
        snprintf(ctx, sizeof ctx, " (%s)", p->context);
    else if (p->context)
        snprintf(ctx, sizeof ctx, " (%s at line %zu, column %zu)", p->context, p->context_mark.line + 1,
                 p->context_mark.column + 1);
    if (tp->src->is_override)
        return rlae_fail(RLAE_ERR_INPUT,
                         "override '%s': the value is not valid YAML: %s at column %zu of the value%s; "
                         "quote strings that contain YAML syntax",
                         tp->src->name, problem, p->problem_mark.column + 1, ctx);
    return rlae_fail(RLAE_ERR_INPUT, "%s:%zu:%zu: malformed YAML: %s%s", tp->src->name,
                     p->problem_mark.line + 1, p->problem_mark.column + 1, problem, ctx);
}

static rlae_status next_event(tree_parser *tp, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&tp->parser, ev))
        return parser_error(tp);
    return RLAE_OK;
}

static rlae_status fail_at(tree_parser *tp, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static rlae_status fail_at(tree_parser *tp, const yaml_mark_t *m, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (tp->src->is_override)
        return rlae_fail(RLAE_ERR_INPUT, "override '%s': %s", tp->src->name, msg);
    return rlae_fail(RLAE_ERR_INPUT, "%s:%zu:%zu: %s", tp->src->name, m->line + 1, m->column + 1, msg);
}

static rlae_status parse_node(tree_parser *tp, yaml_event_t *ev, int depth, cfg_node **out);

static rlae_status parse_seq(tree_parser *tp, cfg_node *seq, int depth)
{
    size_t plen = strlen(tp->path);
    for (int i = 0;; i++) {
        yaml_event_t ev;
        RLAE_TRY(next_event(tp, &ev));
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return RLAE_OK;
        }
        snprintf(tp->path + plen, PATH_CAP - plen, "[%d]", i);
        cfg_node *item = NULL;
        rlae_status s = parse_node(tp, &ev, depth + 1, &item);
        tp->path[plen] = '\0';
        if (s == RLAE_OK && (s = cfg_node_append(seq, NULL, item)) != RLAE_OK)
            cfg_node_free(item);
        if (s != RLAE_OK)
            return s;
    }
}

static rlae_status parse_map(tree_parser *tp, cfg_node *map, int depth)
{
    size_t plen = strlen(tp->path);
    for (;;) {
        yaml_event_t ev;
        RLAE_TRY(next_event(tp, &ev));
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return RLAE_OK;
        }
        if (ev.type != YAML_SCALAR_EVENT) {
            yaml_mark_t m = ev.start_mark;
            yaml_event_delete(&ev);
            return fail_at(tp, &m, "keys must be plain names, not lists or mappings");
        }
        cfg_node *key = NULL;
        RLAE_TRY(parse_node(tp, &ev, depth + 1, &key));
        snprintf(tp->path + plen, PATH_CAP - plen, "%s%s", plen ? "." : "", key->text);
        for (int i = 0; i < map->n; i++) {
            if (strcmp(map->keys[i]->text, key->text) == 0) {
                char msg[PATH_CAP + 128];
                snprintf(msg, sizeof msg, "duplicate key '%s' (first given at line %d, column %d); "
                         "remove one of them", tp->path, map->keys[i]->line, map->keys[i]->col);
                yaml_mark_t m = {0, (size_t)key->line - 1, (size_t)key->col - 1};
                cfg_node_free(key);
                tp->path[plen] = '\0';
                return fail_at(tp, &m, "%s", msg);
            }
        }
        yaml_event_t vev;
        rlae_status s = next_event(tp, &vev);
        cfg_node *val = NULL;
        if (s == RLAE_OK)
            s = parse_node(tp, &vev, depth + 1, &val);
        tp->path[plen] = '\0';
        if (s == RLAE_OK && (s = cfg_node_append(map, key, val)) != RLAE_OK)
            cfg_node_free(val);
        if (s != RLAE_OK) {
            cfg_node_free(key);
            return s;
        }
    }
}

/* Builds the node that starts with `ev` (which it deletes) and everything inside it. */
static rlae_status parse_node(tree_parser *tp, yaml_event_t *ev, int depth, cfg_node **out)
{
    yaml_mark_t m = ev->start_mark;
    int line = (int)m.line + 1, col = (int)m.column + 1;
    *out = NULL;
    if (depth > MAX_DEPTH) {
        yaml_event_delete(ev);
        return fail_at(tp, &m, "nesting deeper than %d levels", MAX_DEPTH);
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        cfg_node *n = cfg_node_new(CFG_NODE_SCALAR, tp->src, line, col);
        if (!n) {
            yaml_event_delete(ev);
            return RLAE_ERR_NOMEM;
        }
        size_t len = ev->data.scalar.length;
        if (memchr(ev->data.scalar.value, '\0', len)) {
            yaml_event_delete(ev);
            cfg_node_free(n);
            return fail_at(tp, &m, "a value contains a NUL character");
        }
        n->text = rlae_malloc(len + 1);
        if (!n->text) {
            yaml_event_delete(ev);
            cfg_node_free(n);
            return RLAE_ERR_NOMEM;
        }
        memcpy(n->text, ev->data.scalar.value, len);
        n->text[len] = '\0';
        n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        yaml_event_delete(ev);
        *out = n;
        return RLAE_OK;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        int is_map = ev->type == YAML_MAPPING_START_EVENT;
        yaml_event_delete(ev);
        cfg_node *n = cfg_node_new(is_map ? CFG_NODE_MAP : CFG_NODE_SEQ, tp->src, line, col);
        if (!n)
            return RLAE_ERR_NOMEM;
        rlae_status s = is_map ? parse_map(tp, n, depth) : parse_seq(tp, n, depth);
        if (s != RLAE_OK) {
            cfg_node_free(n);
            return s;
        }
        *out = n;
        return RLAE_OK;
    }
    case YAML_ALIAS_EVENT:
        yaml_event_delete(ev);
        return fail_at(tp, &m, "aliases (*name) are not supported in configs; use `base:` "
                       "inheritance or write the value out");
    default:
        yaml_event_delete(ev);
        return fail_at(tp, &m, "unexpected YAML event");
    }
}

static rlae_status parse_stream(tree_parser *tp, cfg_node **out)
{
    yaml_event_t ev;
    RLAE_TRY(next_event(tp, &ev)); /* STREAM-START */
    yaml_event_delete(&ev);
    RLAE_TRY(next_event(tp, &ev));
    if (ev.type == YAML_STREAM_END_EVENT) { /* an empty file */
        yaml_event_delete(&ev);
        *out = cfg_node_new(CFG_NODE_SCALAR, tp->src, 1, 1);
        if (!*out || !((*out)->text = rlae_strdup(""))) {
            cfg_node_free(*out);
            *out = NULL;
            return RLAE_ERR_NOMEM;
        }
        return RLAE_OK;
    }
    yaml_event_delete(&ev); /* DOCUMENT-START */
    RLAE_TRY(next_event(tp, &ev));
    cfg_node *root = NULL;
    RLAE_TRY(parse_node(tp, &ev, 0, &root));
    rlae_status s = next_event(tp, &ev); /* DOCUMENT-END */
    if (s == RLAE_OK) {
        yaml_event_delete(&ev);
        s = next_event(tp, &ev);
        if (s == RLAE_OK) {
            yaml_mark_t m = ev.start_mark;
            int more = ev.type == YAML_DOCUMENT_START_EVENT;
            yaml_event_delete(&ev);
            if (more)
                s = fail_at(tp, &m, "a config holds one YAML document; remove the second `---`");
        }
    }
    if (s != RLAE_OK) {
        cfg_node_free(root);
        return s;
    }
    *out = root;
    return RLAE_OK;
}

rlae_status cfg_tree_parse(const char *text, size_t len, const cfg_source *src, cfg_node **out)
{
    tree_parser tp;
    memset(&tp, 0, sizeof tp);
    tp.src = src;
    *out = NULL;
    if (!yaml_parser_initialize(&tp.parser))
        return rlae_fail(RLAE_ERR_NOMEM, "out of memory initialising the YAML parser");
    yaml_parser_set_input_string(&tp.parser, (const unsigned char *)text, len);
    rlae_status s = parse_stream(&tp, out);
    yaml_parser_delete(&tp.parser);
    return s;
}
