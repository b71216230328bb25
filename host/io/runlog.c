/* The run file writer (schema: docs/runlog.md). One HDF5 file per run, latest file format, written
 * in SWMR mode: every dataset exists before H5Fstart_swmr_write, tables grow with H5Dset_extent, and a
 * commit (an /iterations row with every table's length) is written only after the tables it counts
 * were flushed. Readers trust commits, never raw extents, so a kill at any point leaves a file whose
 * committed content is whole. Table types and attribute helpers: runlog_schema.c. */
#define _GNU_SOURCE
#include "io/runlog_internal.h"
#include "ensemble/vocab_union.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* rows per chunk: a chunk is the unit of compression and of SWMR flushes */
static const hsize_t CHUNK_ROWS[RLAE_RUNLOG_N_TABLES] = {256, 512, 2048, 64, 64, 64, 64};

/* ---- writer ---------------------------------------------------------------------------------- */
struct rlae_runlog {
    char *path;
    hid_t file;
    hid_t ds[RLAE_RUNLOG_N_TABLES];
    hid_t mt[RLAE_RUNLOG_N_TABLES];
    int64_t rows[RLAE_RUNLOG_N_TABLES];
    int K, log_tokens, log_text;
    int swmr;     /* SWMR writing started */
    int appended; /* rows appended since open (truncate_after is no longer possible) */
    int last_iteration;
};

static rlae_status h5fail(const rlae_runlog *log, const char *what, const char *table)
{
    return rlae_fail(RLAE_ERR_IO,
                     "%s: %s%s%s failed (HDF5); check free disk space and that no other "
                     "process writes the file",
                     log->path, what, table ? " of /" : "", table ? table : "");
}

static void close_handles(rlae_runlog *log)
{
    for (int i = 0; i < RLAE_RUNLOG_N_TABLES; i++) {
        if (log->ds[i] >= 0)
            H5Dclose(log->ds[i]);
        if (log->mt[i] >= 0)
            H5Tclose(log->mt[i]);
        log->ds[i] = log->mt[i] = -1;
    }
    if (log->file >= 0)
        H5Fclose(log->file);
    log->file = -1;
}

static rlae_runlog *runlog_alloc(const char *path)
{
    rlae_runlog *log = rlae_calloc(1, sizeof *log);
    if (!log)
        return NULL;
    log->file = -1;
    for (int i = 0; i < RLAE_RUNLOG_N_TABLES; i++)
        log->ds[i] = log->mt[i] = -1;
    log->last_iteration = -1;
    if (!(log->path = rlae_strdup(path))) {
        free(log);
        return NULL;
    }
    return log;
}

static void runlog_free(rlae_runlog *log)
{
    if (!log)
        return;
    close_handles(log);
    free(log->path);
    free(log);
}

static hid_t latest_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    return fapl;
}

static rlae_status create_table(rlae_runlog *log, rlae_runlog_table t)
{
    hsize_t zero[1] = {0}, unlim[1] = {H5S_UNLIMITED}, chunk[1] = {CHUNK_ROWS[t]};
    hid_t sp = H5Screate_simple(1, zero, unlim);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, chunk);
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 4);
    if (t == RLAE_RUNLOG_ITERATIONS) {
        /* an extended-but-unwritten commit row reads as iteration -1: readers skip it */
        rlae_runlog_iteration_row fill;
        memset(&fill, 0, sizeof fill);
        fill.iteration = -1;
        H5Pset_fill_value(dcpl, log->mt[t], &fill);
    }
    hid_t ft = runlog_row_type(t, log->K, 1);
    log->ds[t] = H5Dcreate2(log->file, rlae_runlog_table_name(t), ft, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Tclose(ft);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return log->ds[t] < 0 ? h5fail(log, "creating dataset", rlae_runlog_table_name(t)) : RLAE_OK;
}

static void iso_now(char *buf, size_t n)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static rlae_status write_meta(rlae_runlog *log, const rlae_runlog_meta *m)
{
    hid_t g = H5Gcreate2(log->file, "meta", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return h5fail(log, "creating group /meta", NULL);
    char when[64], host[256] = "";
    iso_now(when, sizeof when);
    gethostname(host, sizeof host - 1);
    int64_t ver = RLAE_RUNLOG_SCHEMA_VERSION, K = m->n_members, lt = m->log_tokens != 0,
            lx = m->log_text != 0;
    herr_t e = 0;
    e |= runlog_put_attr_string(g, "format", RLAE_RUNLOG_FORMAT);
    e |= runlog_put_attr_ints(g, "schema_version", 1, &ver, 1);
    e |= runlog_put_attr_string(g, "rlae_version", RLAE_VERSION);
#ifdef RLAE_GIT_REV
    e |= runlog_put_attr_string(g, "git_rev", RLAE_GIT_REV);
#else
    e |= runlog_put_attr_string(g, "git_rev", "unknown");
#endif
    e |= runlog_put_attr_string(g, "config_yaml", m->config_yaml);
    e |= runlog_put_attr_string(g, "start_time", when);
    e |= runlog_put_attr_string(g, "host", host);
    e |= runlog_put_attr_ints(g, "n_members", 1, &K, 1);
    e |= runlog_put_attr_strings(g, "member_names", m->n_members, m->member_names);
    e |= runlog_put_attr_strings(g, "member_weight_sha256", m->n_members, m->weight_sha256);
    e |= runlog_put_attr_strings(g, "member_tokenizer_sha256", m->n_members, m->tokenizer_sha256);
    e |= runlog_put_attr_strings(g, "seed_names", m->n_seeds, m->seed_names);
    e |= runlog_put_attr_ints(g, "seeds", m->n_seeds, m->seeds, 0);
    e |= runlog_put_attr_ints(g, "log_tokens", 1, &lt, 1);
    e |= runlog_put_attr_ints(g, "log_text", 1, &lx, 1);
    H5Gclose(g);
    return e < 0 ? h5fail(log, "writing /meta attributes", NULL) : RLAE_OK;
}

/* One fixed-size 1-D dataset written whole (the union vocabulary). */
static herr_t put_array(hid_t file, const char *name, hid_t type, hsize_t n, const void *data)
{
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t ds = sp < 0 ? -1 : H5Dcreate2(file, name, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = ds < 0 ? -1 : (n ? H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0);
    if (ds >= 0)
        H5Dclose(ds);
    if (sp >= 0)
        H5Sclose(sp);
    return e;
}

/* /union_bytes (every entry's bytes, concatenated) and /union_offsets (U + 1 starts). */
static rlae_status write_union(rlae_runlog *log, const rlae_vocab_union *vu)
{
    int U = rlae_vocab_union_size(vu);
    int64_t *off = rlae_malloc(sizeof *off * ((size_t)U + 1));
    if (!off)
        return RLAE_ERR_NOMEM;
    off[0] = 0;
    for (int u = 0; u < U; u++) {
        size_t n;
        rlae_vocab_union_bytes(vu, u, &n);
        off[u + 1] = off[u] + (int64_t)n;
    }
    uint8_t *bytes = rlae_malloc((size_t)off[U] + 1);
    rlae_status s = bytes ? RLAE_OK : RLAE_ERR_NOMEM;
    for (int u = 0; u < U && s == RLAE_OK; u++) {
        size_t n;
        const uint8_t *p = rlae_vocab_union_bytes(vu, u, &n);
        memcpy(bytes + off[u], p, n);
    }
    if (s == RLAE_OK && (put_array(log->file, "union_bytes", H5T_NATIVE_UINT8, (hsize_t)off[U], bytes) < 0 ||
                         put_array(log->file, "union_offsets", H5T_NATIVE_INT64, (hsize_t)U + 1, off) < 0))
        s = h5fail(log, "writing the union vocabulary (/union_bytes, /union_offsets)", NULL);
    free(off);
    free(bytes);
    return s;
}

rlae_status rlae_runlog_create(const char *path, const rlae_runlog_meta *meta, int overwrite,
                               rlae_runlog **out)
{
    *out = NULL;
    if (!meta || meta->n_members < 1 || meta->n_members > RLAE_MAX_MEMBERS || !meta->member_names)
        return rlae_fail(RLAE_ERR_INPUT, "%s: a run file needs 1..%d member names (got %d)", path,
                         RLAE_MAX_MEMBERS, meta ? meta->n_members : 0);
    struct stat st;
    if (!overwrite && stat(path, &st) == 0)
        return rlae_fail(RLAE_ERR_INPUT,
                         "%s: run file exists; resume the run, or remove the file / choose "
                         "another log.hdf5 path",
                         path);
    runlog_quiet_hdf5();
    rlae_runlog *log = runlog_alloc(path);
    if (!log)
        return RLAE_ERR_NOMEM;
    log->K = meta->n_members;
    log->log_tokens = meta->log_tokens != 0;
    log->log_text = meta->log_text != 0;
    hid_t fapl = latest_fapl();
    log->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    rlae_status s = RLAE_OK;
    if (log->file < 0) {
        s = rlae_fail(RLAE_ERR_IO,
                      "%s: cannot create the run file; check that its directory exists and is "
                      "writable (and that no reader holds it open without SWMR)",
                      path);
        goto fail;
    }
    for (int t = 0; t < RLAE_RUNLOG_N_TABLES; t++)
        log->mt[t] = runlog_row_type(t, log->K, 0);
    if ((s = write_meta(log, meta)) != RLAE_OK)
        goto fail;
    if (meta->vocab && (s = write_union(log, meta->vocab)) != RLAE_OK)
        goto fail;
    for (int t = 0; t < RLAE_RUNLOG_N_TABLES && s == RLAE_OK; t++)
        s = create_table(log, t);
    if (s != RLAE_OK)
        goto fail;
    if (H5Fstart_swmr_write(log->file) < 0) {
        s = h5fail(log, "starting SWMR writing", NULL);
        goto fail;
    }
    log->swmr = 1;
    *out = log;
    return RLAE_OK;
fail:
    runlog_free(log);
    return s;
}

/* Sets table t's extent (only before SWMR writing starts when shrinking). */
static rlae_status set_rows(rlae_runlog *log, rlae_runlog_table t, int64_t n)
{
    hsize_t d[1] = {(hsize_t)n};
    if (H5Dset_extent(log->ds[t], d) < 0)
        return h5fail(log, "resizing", rlae_runlog_table_name(t));
    log->rows[t] = n;
    return RLAE_OK;
}

/* The last valid commit row (iteration >= 0) among the first n rows of /iterations; -1 if none. */
static int64_t last_commit(rlae_runlog *log, int64_t n, rlae_runlog_iteration_row *row)
{
    for (int64_t i = n - 1; i >= 0; i--) {
        if (runlog_read_rows(log->ds[RLAE_RUNLOG_ITERATIONS], log->mt[RLAE_RUNLOG_ITERATIONS], i, 1, row) < 0)
            return -2;
        if (row->iteration >= 0)
            return i;
    }
    return -1;
}

rlae_status rlae_runlog_open_append(const char *path, int n_members, rlae_runlog **out)
{
    *out = NULL;
    runlog_quiet_hdf5();
    if (H5Fis_hdf5(path) <= 0)
        return rlae_fail(RLAE_ERR_INPUT,
                         "%s: not an HDF5 file (or missing); resume needs the run file the "
                         "run wrote",
                         path);
    rlae_runlog *log = runlog_alloc(path);
    if (!log)
        return RLAE_ERR_NOMEM;
    hid_t fapl = latest_fapl();
    /* A writer killed in SWMR mode leaves the superblock marked "open for writing" and its stored
     * end-of-allocation behind the data it flushed since. The resuming run is that writer's successor:
     * clear the mark and move the end of allocation to the end of the file, as `h5clear -s --increment`
     * does (through the same two file-access properties). */
    hbool_t yes = 1;
    H5Pset(fapl, "clear_status_flags", &yes);
    H5Pset(fapl, "skip_eof_check", &yes);
    log->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    rlae_status s = RLAE_OK;
    if (log->file < 0) {
        s = rlae_fail(RLAE_ERR_IO, "%s: cannot open the run file for appending; is another rlae writing it?",
                      path);
        goto fail;
    }
    if (H5Fincrement_filesize(log->file, 0) < 0) {
        s = h5fail(log, "repairing the end of allocation", NULL);
        goto fail;
    }
    hid_t g =
        H5Oexists_by_name(log->file, "meta", H5P_DEFAULT) > 0 ? H5Gopen2(log->file, "meta", H5P_DEFAULT) : -1;
    char *fmt = NULL;
    int64_t ver = -1, K = 0, lt = 0, lx = 0;
    if (g < 0 || runlog_attr_string(g, "format", &fmt) < 0 || strcmp(fmt, RLAE_RUNLOG_FORMAT) != 0 ||
        runlog_attr_int(g, "schema_version", &ver) < 0 || runlog_attr_int(g, "n_members", &K) < 0) {
        free(fmt);
        if (g >= 0)
            H5Gclose(g);
        s = rlae_fail(RLAE_ERR_INPUT,
                      "%s: not an rlae run file (no /meta with format '%s'); cannot resume into it", path,
                      RLAE_RUNLOG_FORMAT);
        goto fail;
    }
    free(fmt);
    runlog_attr_int(g, "log_tokens", &lt);
    runlog_attr_int(g, "log_text", &lx);
    H5Gclose(g);
    if (ver != RLAE_RUNLOG_SCHEMA_VERSION) {
        s = rlae_fail(RLAE_ERR_INPUT,
                      "%s: run file schema version %lld, this rlae writes %d; resume with the "
                      "rlae that started the run",
                      path, (long long)ver, RLAE_RUNLOG_SCHEMA_VERSION);
        goto fail;
    }
    if (K < 1 || K > RLAE_MAX_MEMBERS || (n_members > 0 && K != n_members)) {
        s = rlae_fail(RLAE_ERR_INPUT,
                      "%s: run file has %lld members, the run has %d; the ensemble must not "
                      "change across a resume",
                      path, (long long)K, n_members);
        goto fail;
    }
    log->K = (int)K;
    log->log_tokens = lt != 0;
    log->log_text = lx != 0;
    for (int t = 0; t < RLAE_RUNLOG_N_TABLES; t++) {
        log->mt[t] = runlog_row_type(t, log->K, 0);
        log->ds[t] = H5Oexists_by_name(log->file, rlae_runlog_table_name(t), H5P_DEFAULT) > 0
                         ? H5Dopen2(log->file, rlae_runlog_table_name(t), H5P_DEFAULT)
                         : -1;
        if (log->ds[t] < 0 || (log->rows[t] = runlog_extent(log->ds[t])) < 0) {
            s = rlae_fail(RLAE_ERR_INPUT, "%s: dataset /%s is missing or not a table; the file is damaged",
                          path, rlae_runlog_table_name(t));
            goto fail;
        }
        int lacking; /* a file from before /eval had tokens, gen_seconds: its rows are written without them */
        log->mt[t] = runlog_type_for_dataset(t, log->mt[t], log->ds[t], &lacking);
    }
    /* drop whatever lies past the last commit */
    rlae_runlog_iteration_row c;
    int64_t ci = last_commit(log, log->rows[RLAE_RUNLOG_ITERATIONS], &c);
    if (ci == -2) {
        s = h5fail(log, "reading", "iterations");
        goto fail;
    }
    for (int t = 0; t < RLAE_RUNLOG_ITERATIONS && s == RLAE_OK; t++) {
        int64_t keep = ci >= 0 ? c.rows[t] : 0;
        if (keep > log->rows[t]) {
            s = rlae_fail(RLAE_ERR_INPUT,
                          "%s: /iterations commits %lld rows of /%s but it has %lld; the file is "
                          "damaged",
                          path, (long long)keep, rlae_runlog_table_name(t), (long long)log->rows[t]);
            goto fail;
        }
        if (keep < log->rows[t])
            s = set_rows(log, t, keep);
    }
    if (s == RLAE_OK && ci + 1 < log->rows[RLAE_RUNLOG_ITERATIONS])
        s = set_rows(log, RLAE_RUNLOG_ITERATIONS, ci + 1);
    if (s != RLAE_OK)
        goto fail;
    log->last_iteration = ci >= 0 ? c.iteration : -1;
    *out = log;
    return RLAE_OK;
fail:
    runlog_free(log);
    return s;
}

static rlae_status ensure_swmr(rlae_runlog *log)
{
    if (log->swmr)
        return RLAE_OK;
    if (H5Fstart_swmr_write(log->file) < 0)
        return h5fail(log, "starting SWMR writing", NULL);
    log->swmr = 1;
    return RLAE_OK;
}

static rlae_status append_rows(rlae_runlog *log, rlae_runlog_table t, int64_t n, const void *rows)
{
    if (n <= 0)
        return RLAE_OK;
    RLAE_TRY(ensure_swmr(log));
    log->appended = 1;
    hsize_t d[1] = {(hsize_t)(log->rows[t] + n)};
    if (H5Dset_extent(log->ds[t], d) < 0)
        return h5fail(log, "extending", rlae_runlog_table_name(t));
    hid_t fs = H5Dget_space(log->ds[t]);
    hsize_t st[1] = {(hsize_t)log->rows[t]}, cnt[1] = {(hsize_t)n};
    hid_t ms = H5Screate_simple(1, cnt, NULL);
    herr_t e = H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, NULL, cnt, NULL);
    if (e >= 0)
        e = H5Dwrite(log->ds[t], log->mt[t], ms, fs, H5P_DEFAULT, rows);
    H5Sclose(ms);
    H5Sclose(fs);
    if (e < 0)
        return h5fail(log, "writing rows", rlae_runlog_table_name(t));
    log->rows[t] += n;
    return RLAE_OK;
}

static void copy_name(char dst[RLAE_RUNLOG_NAME_LEN], const char *src)
{
    memset(dst, 0, RLAE_RUNLOG_NAME_LEN);
    if (src)
        strncpy(dst, src, RLAE_RUNLOG_NAME_LEN - 1);
}

static float opt_f(const float *a, size_t i)
{
    return a ? a[i] : NAN;
}

rlae_status rlae_runlog_append_episodes(rlae_runlog *log, int n, const rlae_runlog_episode *eps)
{
    if (n <= 0)
        return RLAE_OK;
    const int K = log->K;
    int64_t n_spans = 0, n_tok = 0;
    for (int i = 0; i < n; i++) {
        const rlae_episode *e = eps[i].ep;
        if (!e)
            return rlae_fail(RLAE_ERR_RUNTIME, "%s: episode %d of the batch has no rollout", log->path, i);
        if (e->n_members != K)
            return rlae_fail(RLAE_ERR_RUNTIME, "%s: episode %lld has %d members, the run file %d", log->path,
                             (long long)eps[i].id, e->n_members, K);
        n_spans += e->n_spans;
        n_tok += e->n_tokens;
    }
    rlae_runlog_episode_row *er = rlae_calloc((size_t)n, sizeof *er);
    rlae_runlog_span_row *sr = rlae_calloc((size_t)(n_spans ? n_spans : 1), sizeof *sr);
    rlae_runlog_token_row *tr = log->log_tokens ? rlae_calloc((size_t)(n_tok ? n_tok : 1), sizeof *tr) : NULL;
    rlae_runlog_text_row *xr = log->log_text ? rlae_calloc((size_t)n, sizeof *xr) : NULL;
    rlae_status s = RLAE_OK;
    if (!er || !sr || (log->log_tokens && !tr) || (log->log_text && !xr)) {
        s = RLAE_ERR_NOMEM;
        goto done;
    }
    int64_t si = 0, ti = 0;
    for (int i = 0; i < n; i++) {
        const rlae_runlog_episode *x = &eps[i];
        const rlae_episode *e = x->ep;
        int64_t row = log->rows[RLAE_RUNLOG_EPISODES] + i;
        er[i].id = x->id;
        er[i].iteration = x->iteration;
        copy_name(er[i].task, x->task);
        copy_name(er[i].subject, x->subject ? x->subject : "");
        er[i].item = x->item;
        er[i].reward = x->reward;
        er[i].correct = x->correct != 0;
        er[i].terminated = e->terminated != 0;
        er[i].truncated = e->truncated != 0;
        er[i].end_reason = (uint8_t)e->end;
        er[i].n_tokens = e->n_tokens;
        er[i].n_spans = e->n_spans;
        er[i].span_offset = log->rows[RLAE_RUNLOG_SPANS] + si;
        er[i].token_offset = log->log_tokens ? log->rows[RLAE_RUNLOG_TOKENS] + ti : -1;
        for (int t = 0; t < e->n_spans; t++, si++) {
            rlae_runlog_span_row *r = &sr[si];
            r->episode = row;
            r->t = t;
            r->token_start = e->span_start ? e->span_start[t] : -1;
            for (int k = 0; k < K; k++) {
                r->weights[k] = opt_f(e->span_weights, (size_t)t * K + k);
                r->policy[k] = opt_f(x->policy, (size_t)t * K + k);
                for (int f = 0; f < 4; f++)
                    r->features[k][f] = opt_f(e->span_features, ((size_t)t * K + k) * 4 + f);
            }
            r->logp = opt_f(x->logp, t);
            r->value = opt_f(x->value, t);
            r->advantage = opt_f(x->advantage, t);
            r->ret = opt_f(x->ret, t);
        }
        if (tr) {
            for (int t = 0; t < e->n_tokens; t++, ti++) {
                rlae_runlog_token_row *r = &tr[ti];
                r->episode = row;
                r->t = t;
                r->token = e->tokens ? e->tokens[t] : -1;
                r->mixed_prob = opt_f(e->mixed_prob, t);
                for (int k = 0; k < K; k++) {
                    r->member_prob[k] = opt_f(e->member_prob, (size_t)t * K + k);
                    r->member_top1[k] = opt_f(e->member_top1, (size_t)t * K + k);
                }
            }
        }
        if (xr) {
            xr[i].episode = row;
            xr[i].prompt = (char *)(x->prompt ? x->prompt : "");
            xr[i].response = e->text ? e->text : (char *)"";
            xr[i].gold = (char *)(x->gold ? x->gold : "");
        }
    }
    /* children first, the index last: a reader never sees an episode row whose spans are missing */
    s = append_rows(log, RLAE_RUNLOG_SPANS, n_spans, sr);
    if (s == RLAE_OK && tr)
        s = append_rows(log, RLAE_RUNLOG_TOKENS, n_tok, tr);
    if (s == RLAE_OK && xr)
        s = append_rows(log, RLAE_RUNLOG_TEXT, n, xr);
    if (s == RLAE_OK)
        s = append_rows(log, RLAE_RUNLOG_EPISODES, n, er);
done:
    free(er);
    free(sr);
    free(tr);
    free(xr);
    return s;
}

rlae_status rlae_runlog_append_update(rlae_runlog *log, const rlae_runlog_update *u)
{
    rlae_runlog_update_row r = {.iteration = u->iteration,
                                .loss = u->m.loss,
                                .pg_loss = u->m.pg_loss,
                                .v_loss = u->m.v_loss,
                                .entropy = u->m.entropy,
                                .approx_kl = u->m.approx_kl,
                                .clipfrac = u->m.clipfrac,
                                .explained_variance = u->m.explained_variance,
                                .grad_norm = u->m.grad_norm,
                                .lr = u->m.lr,
                                .epochs = u->m.epochs,
                                .minibatches = u->m.minibatches,
                                .seconds = u->seconds};
    return append_rows(log, RLAE_RUNLOG_UPDATES, 1, &r);
}

rlae_status rlae_runlog_append_eval(rlae_runlog *log, int n, const rlae_runlog_eval *rows)
{
    if (n <= 0)
        return RLAE_OK;
    rlae_runlog_eval_row *r = rlae_calloc((size_t)n, sizeof *r);
    if (!r)
        return RLAE_ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        r[i].iteration = rows[i].iteration;
        copy_name(r[i].task, rows[i].task);
        copy_name(r[i].method, rows[i].method);
        r[i].accuracy = rows[i].accuracy;
        r[i].ci_low = rows[i].ci_low;
        r[i].ci_high = rows[i].ci_high;
        r[i].n = rows[i].n;
        r[i].tokens = rows[i].timed ? rows[i].tokens : -1;
        r[i].gen_seconds = rows[i].timed ? rows[i].gen_seconds : NAN;
    }
    rlae_status s = append_rows(log, RLAE_RUNLOG_EVAL, n, r);
    free(r);
    return s;
}

static double now_unix(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The whole file is flushed, not only the datasets: /text's strings live in global heap collections,
 * which a reader finds only below the end of allocation stored in the superblock, and H5Dflush does
 * not write the superblock. Flushing everything before and after the commit row keeps every committed
 * row readable by a new reader, also after a kill. */
static rlae_status commit(rlae_runlog *log, int iteration)
{
    for (int t = 0; t < RLAE_RUNLOG_ITERATIONS; t++)
        if (H5Dflush(log->ds[t]) < 0)
            return h5fail(log, "flushing", rlae_runlog_table_name(t));
    if (H5Fflush(log->file, H5F_SCOPE_LOCAL) < 0)
        return h5fail(log, "flushing the file", NULL);
    rlae_runlog_iteration_row c;
    memset(&c, 0, sizeof c);
    c.iteration = iteration;
    for (int t = 0; t < RLAE_RUNLOG_ITERATIONS; t++)
        c.rows[t] = log->rows[t];
    c.time = now_unix();
    RLAE_TRY(append_rows(log, RLAE_RUNLOG_ITERATIONS, 1, &c));
    if (H5Dflush(log->ds[RLAE_RUNLOG_ITERATIONS]) < 0)
        return h5fail(log, "flushing", "iterations");
    if (H5Fflush(log->file, H5F_SCOPE_LOCAL) < 0)
        return h5fail(log, "flushing the file", NULL);
    log->last_iteration = iteration;
    return RLAE_OK;
}

rlae_status rlae_runlog_flush(rlae_runlog *log, int iteration)
{
    if (iteration < 0)
        return rlae_fail(RLAE_ERR_RUNTIME, "%s: commit of iteration %d (< 0)", log->path, iteration);
    RLAE_TRY(ensure_swmr(log));
    return commit(log, iteration);
}

/* First row in [0, n) of table t whose int32 field `field` exceeds `limit` (n if none). */
static int64_t first_after(rlae_runlog *log, rlae_runlog_table t, int limit, rlae_status *s)
{
    int64_t n = log->rows[t];
    if (n == 0)
        return 0;
    size_t sz = runlog_row_size(t);
    char *buf = rlae_malloc((size_t)n * sz);
    if (!buf) {
        *s = RLAE_ERR_NOMEM;
        return 0;
    }
    /* vl strings are not read: text is cut by episode count, never scanned */
    if (runlog_read_rows(log->ds[t], log->mt[t], 0, n, buf) < 0) {
        free(buf);
        *s = h5fail(log, "reading", rlae_runlog_table_name(t));
        return 0;
    }
    int64_t i = 0;
    for (; i < n; i++) {
        int32_t it;
        memcpy(&it,
               buf + (size_t)i * sz +
                   (t == RLAE_RUNLOG_EPISODES ? offsetof(rlae_runlog_episode_row, iteration) : 0),
               sizeof it);
        if (it > limit)
            break;
    }
    free(buf);
    return i;
}

rlae_status rlae_runlog_truncate_after(rlae_runlog *log, int iteration)
{
    if (log->appended || log->swmr)
        return rlae_fail(RLAE_ERR_RUNTIME,
                         "%s: truncate_after must come right after open_append, before any "
                         "row is appended",
                         log->path);
    rlae_status s = RLAE_OK;
    int64_t keep[RLAE_RUNLOG_N_TABLES];
    keep[RLAE_RUNLOG_EPISODES] = first_after(log, RLAE_RUNLOG_EPISODES, iteration, &s);
    keep[RLAE_RUNLOG_UPDATES] = first_after(log, RLAE_RUNLOG_UPDATES, iteration, &s);
    keep[RLAE_RUNLOG_EVAL] = first_after(log, RLAE_RUNLOG_EVAL, iteration, &s);
    keep[RLAE_RUNLOG_ITERATIONS] = first_after(log, RLAE_RUNLOG_ITERATIONS, iteration, &s);
    if (s != RLAE_OK)
        return s;
    int64_t ne = keep[RLAE_RUNLOG_EPISODES];
    keep[RLAE_RUNLOG_TEXT] = log->rows[RLAE_RUNLOG_TEXT] < ne ? log->rows[RLAE_RUNLOG_TEXT] : ne;
    keep[RLAE_RUNLOG_SPANS] = log->rows[RLAE_RUNLOG_SPANS];
    keep[RLAE_RUNLOG_TOKENS] = log->rows[RLAE_RUNLOG_TOKENS];
    if (ne < log->rows[RLAE_RUNLOG_EPISODES]) {
        rlae_runlog_episode_row first;
        if (runlog_read_rows(log->ds[RLAE_RUNLOG_EPISODES], log->mt[RLAE_RUNLOG_EPISODES], ne, 1, &first) < 0)
            return h5fail(log, "reading", "episodes");
        keep[RLAE_RUNLOG_SPANS] = first.span_offset;
        if (first.token_offset >= 0)
            keep[RLAE_RUNLOG_TOKENS] = first.token_offset;
    }
    int changed = 0;
    for (int t = 0; t < RLAE_RUNLOG_N_TABLES; t++) {
        if (keep[t] < 0 || keep[t] > log->rows[t])
            return rlae_fail(RLAE_ERR_INPUT, "%s: /episodes offsets point past /%s; the file is damaged",
                             log->path, rlae_runlog_table_name(t));
        if (keep[t] < log->rows[t]) {
            RLAE_TRY(set_rows(log, t, keep[t]));
            changed = 1;
        }
    }
    if (!changed)
        return RLAE_OK;
    /* the kept rows end at `iteration` (or earlier): commit them as such */
    rlae_runlog_iteration_row c;
    int64_t ci = last_commit(log, log->rows[RLAE_RUNLOG_ITERATIONS], &c);
    int at = ci >= 0 ? c.iteration : -1;
    int same = ci >= 0;
    for (int t = 0; t < RLAE_RUNLOG_ITERATIONS && same; t++)
        same = c.rows[t] == log->rows[t];
    log->last_iteration = at;
    if (same)
        return RLAE_OK;
    return rlae_runlog_flush(log, iteration);
}

int rlae_runlog_last_iteration(const rlae_runlog *log)
{
    return log->last_iteration;
}
int rlae_runlog_n_members(const rlae_runlog *log)
{
    return log->K;
}

rlae_status rlae_runlog_close(rlae_runlog *log)
{
    if (!log)
        return RLAE_OK;
    rlae_status s = RLAE_OK;
    for (int t = 0; t < RLAE_RUNLOG_N_TABLES; t++)
        if (log->ds[t] >= 0 && H5Dflush(log->ds[t]) < 0 && s == RLAE_OK)
            s = h5fail(log, "flushing", rlae_runlog_table_name(t));
    for (int t = 0; t < RLAE_RUNLOG_N_TABLES; t++) {
        if (log->ds[t] >= 0)
            H5Dclose(log->ds[t]);
        if (log->mt[t] >= 0)
            H5Tclose(log->mt[t]);
        log->ds[t] = log->mt[t] = -1;
    }
    if (log->file >= 0 && H5Fclose(log->file) < 0 && s == RLAE_OK)
        s = h5fail(log, "closing", NULL);
    log->file = -1;
    runlog_free(log);
    return s;
}
