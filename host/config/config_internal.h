/* Internals of host/config shared by its files (not part of the public API):
 *  - cfg_node: the YAML node tree with source marks (yaml_tree.c),
 *  - cfg_key: one row of the schema table (config_schema.c),
 *  - binding and emission helpers (config_bind.c, config_emit.c). */
#ifndef RLAE_CONFIG_INTERNAL_H
#define RLAE_CONFIG_INTERNAL_H

#include "config/config.h"

#include <stddef.h>

/* ---- node tree ------------------------------------------------------------------------------ */

/* Where nodes came from: a file, or one command-line override (then messages name the argument
 * instead of a line and column, which would mean nothing to the user). */
typedef struct cfg_source {
    char *name;      /* file path as given, or the override argument */
    int is_override;
    struct cfg_source *next; /* sources are kept in a list owned by the loader */
} cfg_source;

typedef enum { CFG_NODE_SCALAR, CFG_NODE_MAP, CFG_NODE_SEQ } cfg_node_kind;

typedef struct cfg_node {
    cfg_node_kind kind;
    const cfg_source *src;
    int line, col; /* 1-based; 0 when created by an override */
    /* scalar */
    char *text;
    int quoted; /* written in quotes or as a block scalar: always a string, never null/number */
    /* map (keys + vals) or sequence (vals only) */
    int n, cap;
    struct cfg_node **keys;
    struct cfg_node **vals;
} cfg_node;

/* Parses YAML text into a tree. Errors (malformed YAML with libyaml's own message and mark,
 * duplicate keys, aliases, several documents) are RLAE_ERR_INPUT naming src:line:column. An empty
 * document gives an empty map. */
rlae_status cfg_tree_parse(const char *text, size_t len, const cfg_source *src, cfg_node **out);
void cfg_node_free(cfg_node *n);
cfg_node *cfg_node_new(cfg_node_kind kind, const cfg_source *src, int line, int col);
rlae_status cfg_node_append(cfg_node *parent, cfg_node *key, cfg_node *val);
/* Value of `key` in a map, or NULL; *index receives its position when found. */
cfg_node *cfg_map_get(const cfg_node *map, const char *key, int *index);
/* Removes entry `i` of a map, freeing its key; returns the detached value. */
cfg_node *cfg_map_take(cfg_node *map, int i);
/* Merges `child` into `base` key by key (maps merge recursively, everything else replaces) and
 * frees what `child` no longer owns. */
void cfg_tree_merge(cfg_node *base, cfg_node *child);
/* "file:line:col" or "override 'arg'", for messages. */
void cfg_where(const cfg_node *n, char *buf, size_t cap);
/* A plain scalar meaning "no value": empty, ~ or null. */
int cfg_node_is_null(const cfg_node *n);
const char *cfg_node_kind_name(const cfg_node *n);

/* ---- schema --------------------------------------------------------------------------------- */

typedef enum {
    CFG_SECTION,    /* a map of further keys */
    CFG_STRING,     /* char* */
    CFG_INT,        /* int */
    CFG_FLOAT,      /* double */
    CFG_BOOL,       /* bool */
    CFG_ENUM,       /* an enum stored as int, value = index in `values` */
    CFG_STR_LIST,   /* rlae_str_list */
    CFG_FLOAT_LIST, /* rlae_float_list */
    CFG_MEMBERS     /* the members list: rlae_config.members / n_members */
} cfg_type;

enum {
    CFG_REQUIRED = 1 << 0,
    CFG_HAS_MIN = 1 << 1,
    CFG_HAS_MAX = 1 << 2,
    CFG_MIN_EXCL = 1 << 3, /* min is exclusive */
    CFG_MAX_EXCL = 1 << 4
};

typedef struct {
    const char *path;   /* "ensemble.span"; fields of a member are "members[].name" */
    cfg_type type;
    size_t offset;      /* into rlae_config, or into rlae_member_config for members[] fields */
    const char *def;    /* default in YAML syntax, parsed by the same code as the files; NULL if required */
    unsigned flags;
    double min, max;    /* range of ints and floats, count range of CFG_MEMBERS */
    const char *values; /* CFG_ENUM: "a|b|c" */
    const char *doc;    /* one line */
} cfg_key;

extern const cfg_key cfg_schema[];
extern const int cfg_schema_len;

#define CFG_MEMBER_PREFIX "members[]."

/* Row for an exact schema path, or NULL. */
const cfg_key *cfg_schema_find(const char *path);
/* Number of values of an enum row and the i-th one copied into buf; -1 / NULL when out of range. */
int cfg_enum_count(const cfg_key *k);
const char *cfg_enum_value(const cfg_key *k, int i, char *buf, size_t cap);
/* The allowed range of an int/float row as text: "[1, 4096]", ">= 0", "> 0", "(0, 1]"; "" when
 * unbounded. */
void cfg_range_text(const cfg_key *k, char *buf, size_t cap);
/* Last path component ("span" for "ensemble.span"). */
const char *cfg_key_leaf(const cfg_key *k);

/* ---- binding -------------------------------------------------------------------------------- */

/* Binds a merged tree (root map) into a zeroed `out`: defaults, types, ranges, required keys,
 * unknown keys with suggestions and cross-key checks. Messages about the config as a whole (a
 * missing required key) point at the root node. On failure `out` is freed. */
rlae_status cfg_bind(const cfg_node *root, rlae_config *out);

/* Address of the field of row `k` inside cfg (or inside member m for members[] rows). */
void *cfg_field(const cfg_key *k, rlae_config *cfg, rlae_member_config *m);
const void *cfg_field_c(const cfg_key *k, const rlae_config *cfg, const rlae_member_config *m);

/* Levenshtein distance, used for "did you mean" suggestions. */
int cfg_edit_distance(const char *a, const char *b);

/* Shortest decimal text of x that reads back to exactly x, always with a '.' or exponent so it
 * reads as a float. */
void cfg_format_double(double x, char *buf, size_t cap);
/* Writes s as a YAML scalar: plain when that reads back as the same string, else double-quoted. */
void cfg_write_yaml_string(FILE *f, const char *s);

#endif
