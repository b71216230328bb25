/* What the run file's writer and reader share (docs/runlog.md): table names, the HDF5 compound type
 * of every table, row reads, /meta attribute helpers, and /meta filled from a resolved config
 * (YAML, member names, SHA-256 of weights and tokenizers, seeds). */
#define _GNU_SOURCE
#include "io/runlog_internal.h"
#include "ensemble/member.h"
#include "core/fs.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/sha256.h"
static const char *const TABLE_NAMES[RLAE_RUNLOG_N_TABLES] = {"episodes", "spans", "tokens",    "text",
                                                              "updates",  "eval",  "iterations"};

const char *rlae_runlog_table_name(rlae_runlog_table t)
{
    return (t >= 0 && t < RLAE_RUNLOG_N_TABLES) ? TABLE_NAMES[t] : NULL;
}

int rlae_runlog_table_from_name(const char *name)
{
    if (!name)
        return -1;
    if (name[0] == '/')
        name++;
    for (int i = 0; i < RLAE_RUNLOG_N_TABLES; i++)
        if (strcmp(name, TABLE_NAMES[i]) == 0)
            return i;
    return -1;
}

void runlog_quiet_hdf5(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* ---- types ----------------------------------------------------------------------------------- */
static hid_t fixed_str(size_t n)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, n);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    return t;
}

static hid_t vl_str(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

static void insert_array(hid_t c, const char *name, size_t off, hid_t base, int rank, const hsize_t *dims)
{
    hid_t a = H5Tarray_create2(base, (unsigned)rank, dims);
    H5Tinsert(c, name, off, a);
    H5Tclose(a);
}

size_t runlog_row_size(rlae_runlog_table t)
{
    switch (t) {
    case RLAE_RUNLOG_EPISODES: return sizeof(rlae_runlog_episode_row);
    case RLAE_RUNLOG_SPANS: return sizeof(rlae_runlog_span_row);
    case RLAE_RUNLOG_TOKENS: return sizeof(rlae_runlog_token_row);
    case RLAE_RUNLOG_TEXT: return sizeof(rlae_runlog_text_row);
    case RLAE_RUNLOG_UPDATES: return sizeof(rlae_runlog_update_row);
    case RLAE_RUNLOG_EVAL: return sizeof(rlae_runlog_eval_row);
    case RLAE_RUNLOG_ITERATIONS: return sizeof(rlae_runlog_iteration_row);
    default: return 0;
    }
}

#define INS(c, S, f, type) H5Tinsert(c, #f, offsetof(S, f), type)

hid_t runlog_row_type(rlae_runlog_table t, int K, int file)
{
    hid_t c = H5Tcreate(H5T_COMPOUND, runlog_row_size(t));
    hsize_t k1[1] = {(hsize_t)K}, k4[2] = {(hsize_t)K, 4};
    switch (t) {
    case RLAE_RUNLOG_EPISODES: {
        typedef rlae_runlog_episode_row S;
        hid_t s = fixed_str(RLAE_RUNLOG_NAME_LEN);
        INS(c, S, id, H5T_NATIVE_INT64);
        INS(c, S, iteration, H5T_NATIVE_INT32);
        INS(c, S, task, s);
        INS(c, S, subject, s);
        INS(c, S, item, H5T_NATIVE_INT64);
        INS(c, S, reward, H5T_NATIVE_FLOAT);
        INS(c, S, correct, H5T_NATIVE_UINT8);
        INS(c, S, terminated, H5T_NATIVE_UINT8);
        INS(c, S, truncated, H5T_NATIVE_UINT8);
        INS(c, S, end_reason, H5T_NATIVE_UINT8);
        INS(c, S, n_tokens, H5T_NATIVE_INT32);
        INS(c, S, n_spans, H5T_NATIVE_INT32);
        INS(c, S, token_offset, H5T_NATIVE_INT64);
        INS(c, S, span_offset, H5T_NATIVE_INT64);
        H5Tclose(s);
        break;
    }
    case RLAE_RUNLOG_SPANS: {
        typedef rlae_runlog_span_row S;
        INS(c, S, episode, H5T_NATIVE_INT64);
        INS(c, S, t, H5T_NATIVE_INT32);
        INS(c, S, token_start, H5T_NATIVE_INT32);
        insert_array(c, "weights", offsetof(S, weights), H5T_NATIVE_FLOAT, 1, k1);
        insert_array(c, "policy", offsetof(S, policy), H5T_NATIVE_FLOAT, 1, k1);
        insert_array(c, "features", offsetof(S, features), H5T_NATIVE_FLOAT, 2, k4);
        INS(c, S, logp, H5T_NATIVE_FLOAT);
        INS(c, S, value, H5T_NATIVE_FLOAT);
        INS(c, S, advantage, H5T_NATIVE_FLOAT);
        H5Tinsert(c, "return", offsetof(S, ret), H5T_NATIVE_FLOAT);
        break;
    }
    case RLAE_RUNLOG_TOKENS: {
        typedef rlae_runlog_token_row S;
        INS(c, S, episode, H5T_NATIVE_INT64);
        INS(c, S, t, H5T_NATIVE_INT32);
        INS(c, S, token, H5T_NATIVE_INT32);
        INS(c, S, mixed_prob, H5T_NATIVE_FLOAT);
        insert_array(c, "member_prob", offsetof(S, member_prob), H5T_NATIVE_FLOAT, 1, k1);
        insert_array(c, "member_top1", offsetof(S, member_top1), H5T_NATIVE_FLOAT, 1, k1);
        break;
    }
    case RLAE_RUNLOG_TEXT: {
        typedef rlae_runlog_text_row S;
        hid_t s = vl_str();
        INS(c, S, episode, H5T_NATIVE_INT64);
        INS(c, S, prompt, s);
        INS(c, S, response, s);
        INS(c, S, gold, s);
        H5Tclose(s);
        break;
    }
    case RLAE_RUNLOG_UPDATES: {
        typedef rlae_runlog_update_row S;
        INS(c, S, iteration, H5T_NATIVE_INT32);
        INS(c, S, loss, H5T_NATIVE_DOUBLE);
        INS(c, S, pg_loss, H5T_NATIVE_DOUBLE);
        INS(c, S, v_loss, H5T_NATIVE_DOUBLE);
        INS(c, S, entropy, H5T_NATIVE_DOUBLE);
        INS(c, S, approx_kl, H5T_NATIVE_DOUBLE);
        INS(c, S, clipfrac, H5T_NATIVE_DOUBLE);
        INS(c, S, explained_variance, H5T_NATIVE_DOUBLE);
        INS(c, S, grad_norm, H5T_NATIVE_DOUBLE);
        INS(c, S, lr, H5T_NATIVE_DOUBLE);
        INS(c, S, epochs, H5T_NATIVE_INT32);
        INS(c, S, minibatches, H5T_NATIVE_INT64);
        INS(c, S, seconds, H5T_NATIVE_DOUBLE);
        break;
    }
    case RLAE_RUNLOG_EVAL: {
        typedef rlae_runlog_eval_row S;
        hid_t s = fixed_str(RLAE_RUNLOG_NAME_LEN);
        INS(c, S, iteration, H5T_NATIVE_INT32);
        INS(c, S, task, s);
        INS(c, S, method, s);
        INS(c, S, accuracy, H5T_NATIVE_DOUBLE);
        INS(c, S, ci_low, H5T_NATIVE_DOUBLE);
        INS(c, S, ci_high, H5T_NATIVE_DOUBLE);
        INS(c, S, n, H5T_NATIVE_INT64);
        INS(c, S, tokens, H5T_NATIVE_INT64);
        INS(c, S, gen_seconds, H5T_NATIVE_DOUBLE);
        H5Tclose(s);
        break;
    }
    case RLAE_RUNLOG_ITERATIONS: {
        typedef rlae_runlog_iteration_row S;
        INS(c, S, iteration, H5T_NATIVE_INT32);
        for (int i = 0; i < RLAE_RUNLOG_ITERATIONS; i++) {
            char name[32];
            snprintf(name, sizeof name, "n_%s", TABLE_NAMES[i]);
            H5Tinsert(c, name, offsetof(S, rows) + (size_t)i * sizeof(int64_t), H5T_NATIVE_INT64);
        }
        INS(c, S, time, H5T_NATIVE_DOUBLE);
        break;
    }
    default: H5Tclose(c); return -1;
    }
    if (file)
        H5Tpack(c);
    return c;
}

hid_t runlog_type_without(hid_t t, const char *name)
{
    hid_t c = H5Tcreate(H5T_COMPOUND, H5Tget_size(t));
    int n = H5Tget_nmembers(t);
    for (int i = 0; i < n && c >= 0; i++) {
        char *m = H5Tget_member_name(t, (unsigned)i);
        if (m && strcmp(m, name) != 0) {
            hid_t mt = H5Tget_member_type(t, (unsigned)i);
            H5Tinsert(c, m, H5Tget_member_offset(t, (unsigned)i), mt);
            H5Tclose(mt);
        }
        H5free_memory(m);
    }
    H5Tclose(t);
    return c;
}

/* Fields added within schema version 2 that files written before them lack. */
static const char *const EVAL_OPTIONAL[] = {"tokens", "gen_seconds"};

hid_t runlog_type_for_dataset(rlae_runlog_table t, hid_t mt, hid_t ds, int *lacking)
{
    *lacking = 0;
    if (t != RLAE_RUNLOG_EVAL || mt < 0)
        return mt;
    hid_t ft = H5Dget_type(ds);
    if (ft < 0)
        return mt;
    for (size_t i = 0; i < sizeof EVAL_OPTIONAL / sizeof EVAL_OPTIONAL[0]; i++)
        if (H5Tget_class(ft) == H5T_COMPOUND && H5Tget_member_index(ft, EVAL_OPTIONAL[i]) < 0) {
            mt = runlog_type_without(mt, EVAL_OPTIONAL[i]);
            *lacking = 1;
        }
    H5Tclose(ft);
    return mt;
}

int64_t runlog_extent(hid_t ds)
{
    hid_t sp = H5Dget_space(ds);
    if (sp < 0)
        return -1;
    hsize_t d[1] = {0};
    int rank = H5Sget_simple_extent_ndims(sp);
    if (rank == 1)
        H5Sget_simple_extent_dims(sp, d, NULL);
    H5Sclose(sp);
    return rank == 1 ? (int64_t)d[0] : -1;
}

herr_t runlog_read_rows(hid_t ds, hid_t mt, int64_t start, int64_t n, void *buf)
{
    if (n == 0)
        return 0;
    hid_t fs = H5Dget_space(ds);
    hsize_t st[1] = {(hsize_t)start}, cnt[1] = {(hsize_t)n};
    hid_t ms = H5Screate_simple(1, cnt, NULL);
    herr_t e = H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, NULL, cnt, NULL);
    if (e >= 0)
        e = H5Dread(ds, mt, ms, fs, H5P_DEFAULT, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    return e;
}

/* ---- attributes ------------------------------------------------------------------------------ */
herr_t runlog_put_attr_string(hid_t obj, const char *name, const char *v)
{
    hid_t t = vl_str(), sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    const char *vv = v ? v : "";
    herr_t e = a < 0 ? -1 : H5Awrite(a, t, &vv);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return e;
}

herr_t runlog_put_attr_strings(hid_t obj, const char *name, int n, const char *const *v)
{
    const char **vv = calloc((size_t)(n > 0 ? n : 1), sizeof *vv);
    if (!vv)
        return -1;
    for (int i = 0; i < n; i++)
        vv[i] = (v && v[i]) ? v[i] : "";
    hsize_t d[1] = {(hsize_t)n};
    hid_t t = vl_str(), sp = H5Screate_simple(1, d, NULL);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = a < 0 ? -1 : H5Awrite(a, t, vv);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    free(vv);
    return e;
}

herr_t runlog_put_attr_ints(hid_t obj, const char *name, int n, const int64_t *v, int scalar)
{
    hsize_t d[1] = {(hsize_t)n};
    hid_t sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, d, NULL);
    hid_t a = H5Acreate2(obj, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = a < 0 ? -1 : (n > 0 ? H5Awrite(a, H5T_NATIVE_INT64, v) : 0);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return e;
}

int runlog_attr_int(hid_t obj, const char *name, int64_t *v)
{
    if (H5Aexists(obj, name) <= 0)
        return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    int ok = H5Tget_class(t) == H5T_INTEGER && H5Sget_simple_extent_npoints(sp) == 1;
    herr_t e = ok ? H5Aread(a, H5T_NATIVE_INT64, v) : -1;
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
    return e < 0 ? -1 : 0;
}

/* reads n strings (fixed or variable length) of attribute `name` */
static int read_attr_strs(hid_t obj, const char *name, int n, char **out, int want_scalar)
{
    if (H5Aexists(obj, name) <= 0)
        return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    int rc = -1;
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    if (H5Tget_class(t) != H5T_STRING || np != n || (want_scalar && np != 1))
        goto done;
    if (H5Tis_variable_str(t) > 0) {
        char **tmp = calloc((size_t)n, sizeof *tmp);
        hid_t mt = vl_str();
        if (tmp && H5Aread(a, mt, tmp) >= 0) {
            rc = 0;
            for (int i = 0; i < n; i++) {
                out[i] = strdup(tmp[i] ? tmp[i] : "");
                if (!out[i])
                    rc = -1;
            }
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, tmp);
        }
        H5Tclose(mt);
        free(tmp);
    } else {
        size_t len = H5Tget_size(t);
        char *buf = calloc((size_t)n, len + 1);
        hid_t mt = H5Tcopy(t);
        H5Tset_size(mt, len + 1);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        if (buf && H5Aread(a, mt, buf) >= 0) {
            rc = 0;
            for (int i = 0; i < n; i++) {
                out[i] = strndup(buf + (size_t)i * (len + 1), len);
                if (!out[i])
                    rc = -1;
            }
        }
        H5Tclose(mt);
        free(buf);
    }
done:
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
    return rc;
}

int runlog_attr_string(hid_t obj, const char *name, char **s)
{
    *s = NULL;
    return read_attr_strs(obj, name, 1, s, 1);
}

int runlog_attr_strings(hid_t obj, const char *name, int n, char **out)
{
    for (int i = 0; i < n; i++)
        out[i] = NULL;
    return read_attr_strs(obj, name, n, out, 0);
}

/* ---- /meta from a config ----------------------------------------------------------------------- */
rlae_status rlae_runlog_meta_from_config(const rlae_config *cfg, int hash, rlae_runlog_meta_buf *out)
{
    memset(out, 0, sizeof *out);
    int K = cfg->n_members;
    if (K < 1 || K > RLAE_MAX_MEMBERS)
        return rlae_fail(RLAE_ERR_INPUT, "run file: config has %d members (1..%d allowed)", K,
                         RLAE_MAX_MEMBERS);
    char *yaml = NULL;
    size_t ylen = 0;
    FILE *f = open_memstream(&yaml, &ylen);
    if (!f)
        return rlae_fail(RLAE_ERR_NOMEM, "run file: cannot buffer the config YAML");
    rlae_status s = rlae_config_write_yaml(cfg, f);
    fclose(f);
    out->yaml = yaml;
    if (s != RLAE_OK) {
        rlae_runlog_meta_buf_free(out);
        return s;
    }
    static const char *const weight_suffixes[] = {".safetensors", ".bin"};
    for (int k = 0; k < K && s == RLAE_OK; k++) {
        const rlae_member_config *m = &cfg->members[k];
        if (!(out->names[k] = rlae_strdup(m->name ? m->name : ""))) {
            s = RLAE_ERR_NOMEM;
            break;
        }
        out->weight_hex[k][0] = out->tok_hex[k][0] = '\0';
        if (hash && m->path && m->path[0]) {
            if (rlae_path_is_dir(m->path))
                s = rlae_sha256_path_hex(m->path, weight_suffixes, 2, out->weight_hex[k]);
            else if (rlae_path_is_file(m->path))
                s = rlae_sha256_file_hex(m->path, out->weight_hex[k]);
            if (s != RLAE_OK)
                break;
            char tok[4096] = "";
            if (m->tokenizer && m->tokenizer[0])
                snprintf(tok, sizeof tok, "%s", m->tokenizer);
            else if (rlae_path_is_dir(m->path))
                snprintf(tok, sizeof tok, "%s/tokenizer.json", m->path);
            else if (rlae_member_find_tokenizer(m->path, tok, sizeof tok) != RLAE_OK)
                tok[0] = '\0'; /* the same tokenizer the member loads; none found: unknown */
            if (rlae_path_is_file(tok))
                s = rlae_sha256_file_hex(tok, out->tok_hex[k]);
        }
        out->names_c[k] = out->names[k];
        out->weight_c[k] = out->weight_hex[k];
        out->tok_c[k] = out->tok_hex[k];
    }
    if (s != RLAE_OK) {
        rlae_runlog_meta_buf_free(out);
        return s;
    }
    out->seed_names[0] = "run.seed";
    out->seeds[0] = cfg->run.seed;
    out->meta = (rlae_runlog_meta){.n_members = K,
                                   .member_names = out->names_c,
                                   .weight_sha256 = out->weight_c,
                                   .tokenizer_sha256 = out->tok_c,
                                   .config_yaml = out->yaml,
                                   .n_seeds = 1,
                                   .seed_names = out->seed_names,
                                   .seeds = out->seeds,
                                   .log_tokens = cfg->log.tokens,
                                   .log_text = cfg->log.text};
    return RLAE_OK;
}

void rlae_runlog_meta_buf_free(rlae_runlog_meta_buf *b)
{
    if (!b)
        return;
    for (int k = 0; k < RLAE_MAX_MEMBERS; k++)
        free(b->names[k]);
    free(b->yaml);
    memset(b, 0, sizeof *b);
}
