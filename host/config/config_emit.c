/* Output generated from the schema: the resolved config as YAML (`rlae config show`, also stored in
 * every run log) and the reference of every key (`rlae config doc`, docs/config.md).
 * The YAML writer's contract is that its output loads back to an equal config: strings are quoted
 * whenever a plain scalar could read differently, and floats are printed with the fewest digits
 * that read back to exactly the same double. */
#include "config/config_internal.h"

#include <stdlib.h>
#include <string.h>

void cfg_format_double(double x, char *buf, size_t cap)
{
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    /* %g switches to an exponent once the precision is shorter than the integer part ("1e+01");
     * give it the integer digits so 10 prints as 10.0. */
    double ax = x < 0 ? -x : x;
    int int_digits = 0;
    for (double t = ax; t >= 1 && int_digits < 16; t /= 10)
        int_digits++;
    if (int_digits > prec && ax < 1e15)
        snprintf(buf, cap, "%.*g", int_digits, x);
    char *e = strchr(buf, 'e');
    char mant[40], expo[16];
    if (e) {
        /* "1e-05" -> "1.0e-5": a mantissa with a point, an exponent without padding. */
        snprintf(mant, sizeof mant, "%.*s", (int)(e - buf), buf);
        int ev = atoi(e + 1);
        snprintf(expo, sizeof expo, "e%d", ev);
        snprintf(buf, cap, "%s%s%s", mant, strchr(mant, '.') ? "" : ".0", expo);
    } else if (!strpbrk(buf, ".ni")) {
        size_t n = strlen(buf);
        if (n + 2 < cap)
            memcpy(buf + n, ".0", 3);
    }
}

/* A string that can be written without quotes and still read back as this same string, in block
 * and in flow context: a conservative character set, not a YAML keyword, not number-like. */
static int plain_safe(const char *s)
{
    static const char *const words[] = {"null", "Null", "NULL", "~", "true", "True", "TRUE", "false",
                                        "False", "FALSE", "yes", "Yes", "YES", "no", "No", "NO", "on",
                                        "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N"};
    if (!s[0])
        return 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_' ||
          s[0] == '/' || s[0] == '.'))
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.' || *p == '/' || *p == '+'))
            return 0;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(s, words[i]) == 0)
            return 0;
    /* ".5", ".inf", ".nan" and the like read as numbers */
    if (s[0] == '.' && s[1] && ((s[1] >= '0' && s[1] <= '9') || strchr("iInN", s[1])))
        return 0;
    return 1;
}

void cfg_write_yaml_string(FILE *f, const char *s)
{
    if (plain_safe(s)) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\t': fputs("\\t", f); break;
        case '\r': fputs("\\r", f); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(f, "\\x%02x", *p);
            else
                fputc(*p, f); /* UTF-8 passes through: YAML files are UTF-8 */
        }
    }
    fputc('"', f);
}

static void write_value(FILE *f, const cfg_key *k, const void *field)
{
    char buf[64];
    switch (k->type) {
    case CFG_STRING: cfg_write_yaml_string(f, *(char *const *)field); break;
    case CFG_INT: fprintf(f, "%d", *(const int *)field); break;
    case CFG_FLOAT:
        cfg_format_double(*(const double *)field, buf, sizeof buf);
        fputs(buf, f);
        break;
    case CFG_BOOL: fputs(*(const bool *)field ? "true" : "false", f); break;
    case CFG_ENUM: {
        const char *name = cfg_enum_value(k, *(const int *)field, buf, sizeof buf);
        fputs(name ? name : "~", f);
        break;
    }
    case CFG_STR_LIST: {
        const rlae_str_list *l = field;
        fputc('[', f);
        for (int i = 0; i < l->n; i++) {
            if (i)
                fputs(", ", f);
            cfg_write_yaml_string(f, l->items[i]);
        }
        fputc(']', f);
        break;
    }
    case CFG_FLOAT_LIST: {
        const rlae_float_list *l = field;
        fputc('[', f);
        for (int i = 0; i < l->n; i++) {
            cfg_format_double(l->items[i], buf, sizeof buf);
            fprintf(f, "%s%s", i ? ", " : "", buf);
        }
        fputc(']', f);
        break;
    }
    case CFG_SECTION:
    case CFG_MEMBERS: break;
    }
}

static int is_member_row(const cfg_key *k)
{
    return strncmp(k->path, CFG_MEMBER_PREFIX, strlen(CFG_MEMBER_PREFIX)) == 0;
}

static int depth_of(const char *path)
{
    int d = 0;
    for (; *path; path++)
        d += *path == '.';
    return d;
}

rlae_status rlae_config_write_yaml(const rlae_config *cfg, FILE *f)
{
    fprintf(f, "# Resolved config%s%s: every key after `base:` and overrides, defaults filled in.\n",
            cfg->source && cfg->source[0] ? " of " : "", cfg->source ? cfg->source : "");
    for (int i = 0; i < cfg_schema_len; i++) {
        const cfg_key *k = &cfg_schema[i];
        if (is_member_row(k))
            continue; /* written inside the members list */
        int depth = depth_of(k->path);
        if (depth == 0)
            fputc('\n', f);
        fprintf(f, "%*s%s:", 2 * depth, "", cfg_key_leaf(k));
        if (k->type == CFG_SECTION) {
            fputc('\n', f);
        } else if (k->type == CFG_MEMBERS) {
            fputc('\n', f);
            for (int m = 0; m < cfg->n_members; m++) {
                int first = 1;
                for (int r = 0; r < cfg_schema_len; r++) {
                    const cfg_key *mk = &cfg_schema[r];
                    if (!is_member_row(mk))
                        continue;
                    fprintf(f, "  %s %s: ", first ? "-" : " ", cfg_key_leaf(mk));
                    write_value(f, mk, cfg_field_c(mk, cfg, &cfg->members[m]));
                    fputc('\n', f);
                    first = 0;
                }
            }
        } else {
            fputc(' ', f);
            write_value(f, k, cfg_field_c(k, cfg, NULL));
            fputc('\n', f);
        }
    }
    return ferror(f) ? rlae_fail(RLAE_ERR_IO, "writing the resolved config failed") : RLAE_OK;
}

/* ---- reference ------------------------------------------------------------------------------ */

static const char *type_name(const cfg_key *k)
{
    switch (k->type) {
    case CFG_SECTION: return "section";
    case CFG_STRING: return "string";
    case CFG_INT: return "integer";
    case CFG_FLOAT: return "number";
    case CFG_BOOL: return "bool";
    case CFG_ENUM: return "enum";
    case CFG_STR_LIST: return "list of strings";
    case CFG_FLOAT_LIST: return "list of numbers";
    case CFG_MEMBERS: return "list of member maps";
    }
    return "?";
}

/* Allowed values of a row as text: "auto, cpu, cuda", "[1, 4096]", "1 to 8 entries", "". */
static void allowed_text(const cfg_key *k, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (k->type == CFG_ENUM) {
        size_t used = 0;
        char v[64];
        for (int i = 0; i < cfg_enum_count(k) && used + 1 < cap; i++)
            used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? ", " : "",
                                     cfg_enum_value(k, i, v, sizeof v));
    } else if (k->type == CFG_MEMBERS) {
        snprintf(buf, cap, "%d to %d entries", (int)k->min, (int)k->max);
    } else if (k->type == CFG_INT || k->type == CFG_FLOAT || k->type == CFG_FLOAT_LIST) {
        char r[64];
        cfg_range_text(k, r, sizeof r);
        snprintf(buf, cap, "%s%s", k->type == CFG_FLOAT_LIST && r[0] ? "each " : "", r);
    }
}

static const char *const intro[] = {
    "A config is one YAML mapping with the sections below. Unknown keys, wrong types, values out of "
    "range and duplicate keys are errors that name file:line:column and the key path (exit code 2).",
    "`base: FILE` at the top level inherits another config; FILE is relative to the file that names "
    "it, chains are allowed and cycles are errors. The including file wins key by key: maps merge, "
    "scalars and lists replace.",
    "Overrides `key.sub=value` follow the config on the command line and are applied in order after "
    "`base:`. The value is YAML, so lists are written `ensemble.stop=[\"\\n\\n\",\"Q:\"]`; a "
    "member's key is addressed by index, `members.1.weight=2` or `members[1].weight=2`.",
    "`key: ~` (or an empty value) means the default. Booleans are `true` or `false` only (not "
    "yes/no/on/off). Numbers are written without quotes.",
    "Relative paths inside values (members[].path, members[].tokenizer, run.out_dir, task.data_dir, "
    "log.hdf5) are stored as written and are relative to the working directory rlae runs in (the "
    "repository root for the configs shipped in configs/); only `base:` is relative to its file.",
    "`rlae config show CONFIG` prints the resolved config with every default filled in; that output "
    "is itself a valid config.",
};

static void md_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', f);
        fputc(*s, f);
    }
}

static void doc_row_md(FILE *f, const cfg_key *k)
{
    char allowed[256];
    allowed_text(k, allowed, sizeof allowed);
    fprintf(f, "| `%s` | %s | ", k->path, type_name(k));
    if (k->flags & CFG_REQUIRED)
        fputs("required", f);
    else if (k->def)
        fprintf(f, "`%s`", k->def);
    fputs(" | ", f);
    md_cell(f, allowed);
    fputs(" | ", f);
    md_cell(f, k->doc);
    fputs(" |\n", f);
}

static void doc_row_text(FILE *f, const cfg_key *k)
{
    char allowed[256];
    allowed_text(k, allowed, sizeof allowed);
    if (k->type == CFG_ENUM)
        fprintf(f, "  %s (one of %s", k->path, allowed);
    else
        fprintf(f, "  %s (%s%s%s", k->path, type_name(k),
                !allowed[0] ? "" : k->type == CFG_MEMBERS ? ", " : strchr("[(", allowed[0]) ? " in " : " ",
                allowed);
    if (k->flags & CFG_REQUIRED)
        fputs("; required", f);
    else if (k->def)
        fprintf(f, "; default %s", k->def);
    fprintf(f, ")\n      %s\n", k->doc);
}

static const char *const table_head =
    "| key | type | default | allowed | meaning |\n| --- | --- | --- | --- | --- |\n";

rlae_status rlae_config_write_doc(FILE *f, int markdown)
{
    if (markdown) {
        fputs("# Config reference\n\n"
              "<!-- Generated by `rlae config doc --format md` from the schema in "
              "host/config/config_schema.c; do not edit by hand (a test compares them). -->\n\n", f);
    } else {
        fputs("rlae config reference (generated from the schema; `--format md` gives Markdown)\n\n", f);
    }
    for (size_t i = 0; i < sizeof intro / sizeof intro[0]; i++)
        fprintf(f, "%s%s\n\n", markdown ? "" : "- ", intro[i]);
    int in_table = 0;
    for (int i = 0; i < cfg_schema_len; i++) {
        const cfg_key *k = &cfg_schema[i];
        /* A section or the members list opens a new heading with its own table. */
        if (k->type == CFG_SECTION || k->type == CFG_MEMBERS) {
            /* The members list documents itself in its own row, so its heading has no paragraph. */
            if (markdown) {
                fprintf(f, "%s%s `%s`\n\n", in_table ? "\n" : "", depth_of(k->path) ? "###" : "##",
                        k->path);
                if (k->type == CFG_SECTION)
                    fprintf(f, "%s\n\n", k->doc);
                if (k->type == CFG_MEMBERS) {
                    fputs(table_head, f);
                    doc_row_md(f, k);
                    in_table = 1;
                } else {
                    in_table = 0;
                }
            } else {
                fprintf(f, "%s\n", k->path);
                if (k->type == CFG_SECTION)
                    fprintf(f, "  %s\n", k->doc);
                else
                    doc_row_text(f, k);
            }
            continue;
        }
        if (markdown) {
            if (!in_table)
                fputs(table_head, f);
            in_table = 1;
            doc_row_md(f, k);
        } else {
            doc_row_text(f, k);
            if (i + 1 < cfg_schema_len && (cfg_schema[i + 1].type == CFG_SECTION ||
                                           cfg_schema[i + 1].type == CFG_MEMBERS))
                fputc('\n', f);
        }
    }
    return ferror(f) ? rlae_fail(RLAE_ERR_IO, "writing the config reference failed") : RLAE_OK;
}
