/* The run file reader behind `rlae inspect` and the tests. Opens with SWMR read access (a live run's
 * file, or one left by a killed writer, reads fine), checks that the file is an rlae run file before
 * touching any table, and exposes only committed rows: the lengths of the last valid /iterations row,
 * never the raw extents, which may include a half-written iteration. */
#define _GNU_SOURCE
#include "io/runlog_internal.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

struct rlae_runlog_reader {
    char *path;
    hid_t file;
    hid_t ds[RLAE_RUNLOG_N_TABLES];
    hid_t mt[RLAE_RUNLOG_N_TABLES];
    int64_t rows[RLAE_RUNLOG_N_TABLES]; /* committed */
    int K;
    int64_t version; /* schema version of the file */
    int eval_untimed; /* /eval lacks tokens and gen_seconds (written before they were added) */
    char *names[RLAE_MAX_MEMBERS], *whash[RLAE_MAX_MEMBERS], *thash[RLAE_MAX_MEMBERS];
    int n_seeds;
    char **seed_names;
    int64_t *seeds;
    int n_attrs;
    char **attr_names, **attr_values; /* scalar string attributes of /meta */
    int64_t n_union;                  /* union entries stored (0: none) */
    int64_t *union_off;               /* [n_union + 1] */
    uint8_t *union_bytes;
};

/* The union vocabulary, when the writer stored it; a file without it simply has none. */
static rlae_status read_union(rlae_runlog_reader *r)
{
    if (H5Lexists(r->file, "union_offsets", H5P_DEFAULT) <= 0 || H5Lexists(r->file, "union_bytes", H5P_DEFAULT) <= 0)
        return RLAE_OK;
    hid_t d_off = H5Dopen2(r->file, "union_offsets", H5P_DEFAULT), d_b = H5Dopen2(r->file, "union_bytes", H5P_DEFAULT);
    hid_t s_off = d_off >= 0 ? H5Dget_space(d_off) : -1, s_b = d_b >= 0 ? H5Dget_space(d_b) : -1;
    hsize_t n_off = 0, n_b = 0;
    rlae_status s = RLAE_OK;
    if (s_off < 0 || s_b < 0 || H5Sget_simple_extent_ndims(s_off) != 1 || H5Sget_simple_extent_ndims(s_b) != 1)
        s = rlae_fail(RLAE_ERR_INPUT, "%s: /union_offsets or /union_bytes is not a 1-D dataset", r->path);
    if (s == RLAE_OK) {
        H5Sget_simple_extent_dims(s_off, &n_off, NULL);
        H5Sget_simple_extent_dims(s_b, &n_b, NULL);
        r->union_off = rlae_malloc(sizeof(int64_t) * (n_off ? n_off : 1));
        r->union_bytes = rlae_malloc(n_b ? n_b : 1);
        if (!r->union_off || !r->union_bytes)
            s = RLAE_ERR_NOMEM;
    }
    if (s == RLAE_OK && n_off >= 1 &&
        (H5Dread(d_off, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, r->union_off) < 0 ||
         (n_b && H5Dread(d_b, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, r->union_bytes) < 0)))
        s = rlae_fail(RLAE_ERR_INPUT, "%s: cannot read the union vocabulary", r->path);
    if (s == RLAE_OK && n_off >= 1) {
        int ok = r->union_off[0] == 0;
        for (hsize_t i = 1; i < n_off && ok; i++)
            ok = r->union_off[i] >= r->union_off[i - 1] && (hsize_t)r->union_off[i] <= n_b;
        if (!ok)
            s = rlae_fail(RLAE_ERR_INPUT, "%s: /union_offsets is not increasing within /union_bytes", r->path);
        else
            r->n_union = (int64_t)n_off - 1;
    }
    if (s_off >= 0)
        H5Sclose(s_off);
    if (s_b >= 0)
        H5Sclose(s_b);
    if (d_off >= 0)
        H5Dclose(d_off);
    if (d_b >= 0)
        H5Dclose(d_b);
    return s;
}

const uint8_t *rlae_runlog_reader_union_bytes(const rlae_runlog_reader *r, int64_t id, size_t *len)
{
    if (id < 0 || id >= r->n_union)
        return NULL;
    *len = (size_t)(r->union_off[id + 1] - r->union_off[id]);
    return r->union_bytes + r->union_off[id];
}

void rlae_runlog_text_row_free(rlae_runlog_text_row *r)
{
    if (!r)
        return;
    free(r->prompt);
    free(r->response);
    free(r->gold);
    r->prompt = r->response = r->gold = NULL;
}

void rlae_runlog_reader_close(rlae_runlog_reader *r)
{
    if (!r)
        return;
    for (int t = 0; t < RLAE_RUNLOG_N_TABLES; t++) {
        if (r->ds[t] >= 0)
            H5Dclose(r->ds[t]);
        if (r->mt[t] >= 0)
            H5Tclose(r->mt[t]);
    }
    if (r->file >= 0)
        H5Fclose(r->file);
    free(r->union_off);
    free(r->union_bytes);
    for (int k = 0; k < RLAE_MAX_MEMBERS; k++) {
        free(r->names[k]);
        free(r->whash[k]);
        free(r->thash[k]);
    }
    for (int i = 0; i < r->n_seeds; i++)
        free(r->seed_names ? r->seed_names[i] : NULL);
    free(r->seed_names);
    free(r->seeds);
    for (int i = 0; i < r->n_attrs; i++) {
        free(r->attr_names[i]);
        free(r->attr_values[i]);
    }
    free(r->attr_names);
    free(r->attr_values);
    free(r->path);
    free(r);
}

static herr_t collect_attr(hid_t loc, const char *name, const H5A_info_t *info, void *op)
{
    (void)info;
    rlae_runlog_reader *r = op;
    char *v = NULL;
    if (runlog_attr_string(loc, name, &v) < 0)
        return 0; /* not a scalar string: skipped */
    char **nn = realloc(r->attr_names, (size_t)(r->n_attrs + 1) * sizeof *nn);
    if (!nn) {
        free(v);
        return -1;
    }
    r->attr_names = nn;
    char **vv = realloc(r->attr_values, (size_t)(r->n_attrs + 1) * sizeof *vv);
    if (!vv) {
        free(v);
        return -1;
    }
    r->attr_values = vv;
    r->attr_names[r->n_attrs] = strdup(name);
    r->attr_values[r->n_attrs] = v;
    if (!r->attr_names[r->n_attrs]) {
        free(v);
        return -1;
    }
    r->n_attrs++;
    return 0;
}

static rlae_status bad(const rlae_runlog_reader *r, const char *what)
{
    return rlae_fail(RLAE_ERR_INPUT, "%s: %s", r->path, what);
}

static rlae_status read_meta(rlae_runlog_reader *r)
{
    if (H5Lexists(r->file, "meta", H5P_DEFAULT) <= 0)
        return bad(r, "an HDF5 file, but not an rlae run file (no /meta group); give the run.h5 that "
                      "`rlae train` or `rlae eval` wrote");
    hid_t g = H5Gopen2(r->file, "meta", H5P_DEFAULT);
    if (g < 0)
        return bad(r, "/meta is not a group: not an rlae run file");
    char *fmt = NULL;
    int64_t ver = -1, K = 0;
    rlae_status s = RLAE_OK;
    if (runlog_attr_string(g, "format", &fmt) < 0 || strcmp(fmt, RLAE_RUNLOG_FORMAT) != 0)
        s = rlae_fail(RLAE_ERR_INPUT,
                      "%s: an HDF5 file, but not an rlae run file (/meta has no format "
                      "attribute '%s')",
                      r->path, RLAE_RUNLOG_FORMAT);
    else if (runlog_attr_int(g, "schema_version", &ver) < 0)
        s = bad(r, "rlae run file without /meta schema_version: the file is damaged");
    else if (ver > RLAE_RUNLOG_SCHEMA_VERSION || ver < 1)
        s = rlae_fail(RLAE_ERR_INPUT,
                      "%s: run file schema version %lld; this rlae reads version %d (use a "
                      "newer rlae)",
                      r->path, (long long)ver, RLAE_RUNLOG_SCHEMA_VERSION);
    else if (runlog_attr_int(g, "n_members", &K) < 0 || K < 1 || K > RLAE_MAX_MEMBERS)
        s = rlae_fail(RLAE_ERR_INPUT, "%s: /meta n_members missing or outside 1..%d: the file is damaged",
                      r->path, RLAE_MAX_MEMBERS);
    free(fmt);
    if (s == RLAE_OK) {
        r->K = (int)K;
        r->version = ver;
        if (runlog_attr_strings(g, "member_names", r->K, r->names) < 0)
            s = bad(r, "/meta member_names missing or not n_members strings: the file is damaged");
        if (runlog_attr_strings(g, "member_weight_sha256", r->K, r->whash) < 0)
            for (int k = 0; k < r->K; k++) {
                free(r->whash[k]);
                r->whash[k] = NULL;
            }
        if (runlog_attr_strings(g, "member_tokenizer_sha256", r->K, r->thash) < 0)
            for (int k = 0; k < r->K; k++) {
                free(r->thash[k]);
                r->thash[k] = NULL;
            }
    }
    if (s == RLAE_OK && H5Aexists(g, "seeds") > 0) {
        hid_t a = H5Aopen(g, "seeds", H5P_DEFAULT);
        hid_t sp = H5Aget_space(a);
        hssize_t n = H5Sget_simple_extent_npoints(sp);
        if (n > 0 && n < 1024) {
            r->seeds = calloc((size_t)n, sizeof *r->seeds);
            r->seed_names = calloc((size_t)n, sizeof *r->seed_names);
            if (r->seeds && r->seed_names && H5Aread(a, H5T_NATIVE_INT64, r->seeds) >= 0) {
                r->n_seeds = (int)n;
                if (runlog_attr_strings(g, "seed_names", r->n_seeds, r->seed_names) < 0)
                    for (int i = 0; i < r->n_seeds; i++) {
                        free(r->seed_names[i]);
                        r->seed_names[i] = NULL;
                    }
            }
        }
        H5Sclose(sp);
        H5Aclose(a);
    }
    if (s == RLAE_OK) {
        hsize_t idx = 0;
        if (H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attr, r) < 0)
            s = RLAE_ERR_NOMEM;
    }
    H5Gclose(g);
    return s;
}

static rlae_status open_tables(rlae_runlog_reader *r)
{
    for (int t = 0; t < RLAE_RUNLOG_N_TABLES; t++) {
        const char *nm = rlae_runlog_table_name(t);
        r->mt[t] = runlog_row_type(t, r->K, 0);
        if (t == RLAE_RUNLOG_EPISODES && r->version < 2 && r->mt[t] >= 0)
            r->mt[t] = runlog_type_without(r->mt[t], "subject"); /* schema 1: no subject ("" when read) */
        if (H5Lexists(r->file, nm, H5P_DEFAULT) <= 0 || (r->ds[t] = H5Dopen2(r->file, nm, H5P_DEFAULT)) < 0)
            return rlae_fail(RLAE_ERR_INPUT, "%s: rlae run file without dataset /%s: the file is damaged",
                             r->path, nm);
        if (runlog_extent(r->ds[t]) < 0)
            return rlae_fail(RLAE_ERR_INPUT, "%s: /%s is not a one-dimensional table: the file is damaged",
                             r->path, nm);
        if (t == RLAE_RUNLOG_EVAL) /* written before /eval had tokens, gen_seconds: read as -1, NaN */
            r->mt[t] = runlog_type_for_dataset(t, r->mt[t], r->ds[t], &r->eval_untimed);
        /* the stored type must convert to ours (names and classes of every field) */
        hid_t ft = H5Dget_type(r->ds[t]);
        int ok = ft >= 0 && H5Tget_class(ft) == H5T_COMPOUND;
        if (ok) {
            int nm_mem = H5Tget_nmembers(r->mt[t]);
            for (int i = 0; i < nm_mem && ok; i++) {
                char *fname = H5Tget_member_name(r->mt[t], (unsigned)i);
                int fi = fname ? H5Tget_member_index(ft, fname) : -1;
                if (fi < 0)
                    ok = 0;
                else {
                    hid_t a = H5Tget_member_type(ft, (unsigned)fi),
                          b = H5Tget_member_type(r->mt[t], (unsigned)i);
                    ok = H5Tget_class(a) == H5Tget_class(b);
                    if (ok && H5Tget_class(a) == H5T_ARRAY) {
                        hsize_t da[2] = {0, 0}, db[2] = {0, 0};
                        ok = H5Tget_array_ndims(a) == H5Tget_array_ndims(b) && H5Tget_array_ndims(a) <= 2 &&
                             H5Tget_array_dims2(a, da) >= 0 && H5Tget_array_dims2(b, db) >= 0 &&
                             da[0] == db[0] && da[1] == db[1];
                    }
                    H5Tclose(a);
                    H5Tclose(b);
                }
                if (!ok)
                    rlae_fail(RLAE_ERR_INPUT,
                              "%s: /%s field '%s' is missing or has another type or member count: "
                              "the file is damaged or from another program",
                              r->path, nm, fname ? fname : "?");
                H5free_memory(fname);
            }
        } else {
            rlae_fail(RLAE_ERR_INPUT, "%s: /%s is not a table of records: the file is damaged", r->path, nm);
        }
        if (ft >= 0)
            H5Tclose(ft);
        if (!ok)
            return RLAE_ERR_INPUT;
    }
    return RLAE_OK;
}

rlae_status rlae_runlog_reader_refresh(rlae_runlog_reader *r, int *changed)
{
    int64_t before[RLAE_RUNLOG_N_TABLES];
    memcpy(before, r->rows, sizeof before);
    int64_t ext[RLAE_RUNLOG_N_TABLES];
    /* /iterations first: a commit counts rows the writer wrote before it, so tables refreshed after
     * it are at least that long even while the writer keeps going */
    for (int i = 0; i < RLAE_RUNLOG_N_TABLES; i++) {
        int t = (i + RLAE_RUNLOG_ITERATIONS) % RLAE_RUNLOG_N_TABLES;
        H5Drefresh(r->ds[t]); /* fails harmlessly on a file not opened for SWMR read */
        ext[t] = runlog_extent(r->ds[t]);
        if (ext[t] < 0)
            return rlae_fail(RLAE_ERR_INPUT, "%s: cannot read the extent of /%s", r->path,
                             rlae_runlog_table_name(t));
    }
    rlae_runlog_iteration_row c;
    int64_t ci = -1;
    for (int64_t i = ext[RLAE_RUNLOG_ITERATIONS] - 1; i >= 0;
         i--) { /* rows past ext were not refreshed: ignored */
        if (runlog_read_rows(r->ds[RLAE_RUNLOG_ITERATIONS], r->mt[RLAE_RUNLOG_ITERATIONS], i, 1, &c) < 0)
            return rlae_fail(RLAE_ERR_INPUT, "%s: cannot read /iterations row %lld: the file is damaged",
                             r->path, (long long)i);
        if (c.iteration >= 0) {
            ci = i;
            break;
        }
    }
    for (int t = 0; t < RLAE_RUNLOG_ITERATIONS; t++) {
        int64_t n = ci >= 0 ? c.rows[t] : 0;
        if (n < 0 || n > ext[t])
            return rlae_fail(RLAE_ERR_INPUT,
                             "%s: /iterations commits %lld rows of /%s, which has %lld: the file "
                             "is damaged",
                             r->path, (long long)n, rlae_runlog_table_name(t), (long long)ext[t]);
        r->rows[t] = n;
    }
    r->rows[RLAE_RUNLOG_ITERATIONS] = ci + 1;
    if (changed)
        *changed = memcmp(before, r->rows, sizeof before) != 0;
    return RLAE_OK;
}

rlae_status rlae_runlog_reader_open(const char *path, rlae_runlog_reader **out)
{
    *out = NULL;
    runlog_quiet_hdf5();
    struct stat st;
    if (stat(path, &st) != 0)
        return rlae_fail(RLAE_ERR_INPUT, "%s: cannot open run file: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return rlae_fail(RLAE_ERR_INPUT, "%s: is a directory; give the run's .h5 file", path);
    if (H5Fis_hdf5(path) <= 0)
        return rlae_fail(RLAE_ERR_INPUT,
                         "%s: not an HDF5 file; give the run.h5 that `rlae train` or `rlae eval` "
                         "wrote",
                         path);
    rlae_runlog_reader *r = calloc(1, sizeof *r);
    if (!r)
        return rlae_fail(RLAE_ERR_NOMEM, "out of memory opening %s", path);
    r->file = -1;
    for (int t = 0; t < RLAE_RUNLOG_N_TABLES; t++)
        r->ds[t] = r->mt[t] = -1;
    r->path = strdup(path);
    /* SWMR readers retry a metadata read whose checksum fails (the writer may be mid-flush); HDF5's
     * default of 100 tries with growing sleeps turns a damaged file into a minutes-long hang */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_metadata_read_attempts(fapl, 12);
    r->file = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
    if (r->file < 0)
        r->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT); /* older formats: no SWMR */
    H5Pclose(fapl);
    rlae_status s = RLAE_OK;
    if (r->file < 0)
        s = rlae_fail(RLAE_ERR_INPUT,
                      "%s: HDF5 cannot open the file (damaged, or locked by a writer that is "
                      "not in SWMR mode)",
                      path);
    if (s == RLAE_OK)
        s = read_meta(r);
    if (s == RLAE_OK)
        s = open_tables(r);
    if (s == RLAE_OK)
        s = read_union(r);
    if (s == RLAE_OK)
        s = rlae_runlog_reader_refresh(r, NULL);
    if (s != RLAE_OK) {
        rlae_runlog_reader_close(r);
        return s;
    }
    *out = r;
    return RLAE_OK;
}

int rlae_runlog_reader_n_members(const rlae_runlog_reader *r)
{
    return r->K;
}
const char *rlae_runlog_reader_member(const rlae_runlog_reader *r, int k)
{
    return (k >= 0 && k < r->K && r->names[k]) ? r->names[k] : "";
}
const char *rlae_runlog_reader_weight_hash(const rlae_runlog_reader *r, int k)
{
    return (k >= 0 && k < r->K && r->whash[k]) ? r->whash[k] : "";
}
const char *rlae_runlog_reader_tokenizer_hash(const rlae_runlog_reader *r, int k)
{
    return (k >= 0 && k < r->K && r->thash[k]) ? r->thash[k] : "";
}
const char *rlae_runlog_reader_meta(const rlae_runlog_reader *r, const char *name)
{
    for (int i = 0; i < r->n_attrs; i++)
        if (strcmp(r->attr_names[i], name) == 0)
            return r->attr_values[i];
    return "";
}
int rlae_runlog_reader_n_seeds(const rlae_runlog_reader *r)
{
    return r->n_seeds;
}
const char *rlae_runlog_reader_seed(const rlae_runlog_reader *r, int i, int64_t *value)
{
    if (i < 0 || i >= r->n_seeds)
        return NULL;
    if (value)
        *value = r->seeds[i];
    return r->seed_names[i] ? r->seed_names[i] : "";
}

int64_t rlae_runlog_reader_rows(const rlae_runlog_reader *r, rlae_runlog_table t)
{
    return (t >= 0 && t < RLAE_RUNLOG_N_TABLES) ? r->rows[t] : 0;
}

rlae_status rlae_runlog_reader_read(rlae_runlog_reader *r, rlae_runlog_table t, int64_t start, int64_t n,
                                    void *out)
{
    if (t < 0 || t >= RLAE_RUNLOG_N_TABLES)
        return rlae_fail(RLAE_ERR_INPUT, "%s: no table %d", r->path, (int)t);
    const char *nm = rlae_runlog_table_name(t);
    if (start < 0 || n < 0 || start + n > r->rows[t])
        return rlae_fail(RLAE_ERR_INPUT, "%s: rows %lld..%lld of /%s asked, it has %lld", r->path,
                         (long long)start, (long long)(start + n), nm, (long long)r->rows[t]);
    if (n == 0)
        return RLAE_OK;
    memset(out, 0, (size_t)n * runlog_row_size(t));
    if (runlog_read_rows(r->ds[t], r->mt[t], start, n, out) < 0)
        return rlae_fail(RLAE_ERR_INPUT, "%s: cannot read rows of /%s: the file is damaged", r->path, nm);
    if (t == RLAE_RUNLOG_EVAL && r->eval_untimed)
        for (int64_t i = 0; i < n; i++) {
            ((rlae_runlog_eval_row *)out)[i].tokens = -1;
            ((rlae_runlog_eval_row *)out)[i].gen_seconds = NAN;
        }
    if (t == RLAE_RUNLOG_TEXT) {
        /* hand out strings the caller frees with free(): copy HDF5's, then reclaim them */
        rlae_runlog_text_row *x = out;
        rlae_status s = RLAE_OK;
        for (int64_t i = 0; i < n; i++) {
            char *p = strdup(x[i].prompt ? x[i].prompt : ""), *q = strdup(x[i].response ? x[i].response : "");
            char *g = strdup(x[i].gold ? x[i].gold : "");
            hsize_t one[1] = {1};
            hid_t sp = H5Screate_simple(1, one, NULL);
            H5Dvlen_reclaim(r->mt[t], sp, H5P_DEFAULT, &x[i]);
            H5Sclose(sp);
            x[i].prompt = p;
            x[i].response = q;
            x[i].gold = g;
            if (!p || !q || !g)
                s = rlae_fail(RLAE_ERR_NOMEM, "out of memory reading /text");
        }
        return s;
    }
    return RLAE_OK;
}
