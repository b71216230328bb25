/* .safetensors parsing and sharded checkpoints (see safetensors.h).
 *
 * Hardening model: nothing in the file is trusted. The header length is checked against the file
 * size and a hard cap before any JSON is parsed; every entry is checked for type, dtype, shape
 * (non-negative, product without overflow), offsets (ordered, inside the data section, no two
 * tensors overlapping) and that shape x dtype size equals the byte span. Only after all of that do
 * we hand out pointers into the mapping, so accessors and conversions need no further checks. */
#include "model/safetensors.h"
#include "core/json_util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/mmap_file.h"

struct rlae_safetensors {
    char *path;
    const uint8_t *base; /* whole file (or caller's buffer) */
    size_t size;
    rlae_mmap_file map;  /* zeroed for in-memory handles */
    json_t *root;        /* kept alive: tensor names point at its keys */
    json_t *metadata;    /* borrowed from root, or NULL */
    rlae_st_tensor *tensors; /* sorted by name */
    size_t count;
};

static const struct {
    const char *name;
    rlae_st_dtype dtype;
    size_t size;
} st_dtypes[] = {
    {"F32", RLAE_ST_F32, 4},   {"F16", RLAE_ST_F16, 2},         {"BF16", RLAE_ST_BF16, 2},
    {"F64", RLAE_ST_F64, 8},   {"I64", RLAE_ST_I64, 8},         {"I32", RLAE_ST_I32, 4},
    {"I16", RLAE_ST_I16, 2},   {"I8", RLAE_ST_I8, 1},           {"U64", RLAE_ST_U64, 8},
    {"U32", RLAE_ST_U32, 4},   {"U16", RLAE_ST_U16, 2},         {"U8", RLAE_ST_U8, 1},
    {"BOOL", RLAE_ST_BOOL, 1}, {"F8_E4M3", RLAE_ST_F8_E4M3, 1}, {"F8_E5M2", RLAE_ST_F8_E5M2, 1},
};
#define N_ST_DTYPES (sizeof st_dtypes / sizeof st_dtypes[0])

const char *rlae_st_dtype_name(rlae_st_dtype d)
{
    for (size_t i = 0; i < N_ST_DTYPES; i++)
        if (st_dtypes[i].dtype == d)
            return st_dtypes[i].name;
    return "?";
}

size_t rlae_st_dtype_size(rlae_st_dtype d)
{
    for (size_t i = 0; i < N_ST_DTYPES; i++)
        if (st_dtypes[i].dtype == d)
            return st_dtypes[i].size;
    return 0;
}

/* ---- header validation ------------------------------------------------------------------------- */

static int cmp_by_name(const void *a, const void *b)
{
    return strcmp(((const rlae_st_tensor *)a)->name, ((const rlae_st_tensor *)b)->name);
}

/* For the overlap check: order by start of the byte range, then by end. */
static int cmp_by_offset(const void *a, const void *b)
{
    const rlae_st_tensor *x = *(const rlae_st_tensor *const *)a, *y = *(const rlae_st_tensor *const *)b;
    const uint8_t *px = x->data, *py = y->data;
    if (px != py)
        return px < py ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

/* Formats a shape as "[a, b, c]" into buf (truncating quietly if it does not fit). */
static const char *shape_str(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}

/* Validates one tensor entry and fills `t` (data pointer relative to the data section). */
static rlae_status parse_entry(const rlae_safetensors *st, const char *name, json_t *v, const uint8_t *data,
                               size_t data_len, rlae_st_tensor *t)
{
    const char *p = st->path;
    if (!json_is_object(v))
        return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s': header entry is %s, expected an object with dtype, "
                         "shape and data_offsets; the file is corrupt", p, name, rlae_json_type_name(v));
    memset(t, 0, sizeof *t);
    t->name = name;
    t->file = st->path;

    json_t *jd = json_object_get(v, "dtype");
    if (!json_is_string(jd))
        return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s': \"dtype\" is %s, expected a string such as \"BF16\"; "
                         "the file is corrupt", p, name, jd ? rlae_json_type_name(jd) : "missing");
    const char *ds = json_string_value(jd);
    size_t dsize = 0;
    for (size_t i = 0; i < N_ST_DTYPES; i++)
        if (strcmp(ds, st_dtypes[i].name) == 0) {
            t->dtype = st_dtypes[i].dtype;
            dsize = st_dtypes[i].size;
        }
    if (!dsize)
        return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s': unknown dtype \"%s\" (safetensors dtypes: F64, F32, F16, "
                         "BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, F8_E4M3, F8_E5M2)", p, name, ds);

    json_t *js = json_object_get(v, "shape");
    if (!json_is_array(js))
        return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s': \"shape\" is %s, expected an array of non-negative "
                         "integers; the file is corrupt", p, name, js ? rlae_json_type_name(js) : "missing");
    size_t nd = json_array_size(js);
    if (nd > RLAE_ST_MAX_DIMS)
        return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s': shape has %zu dimensions; at most %d are supported",
                         p, name, nd, RLAE_ST_MAX_DIMS);
    t->ndim = (int)nd;
    /* numel is accumulated in uint64 with an overflow check; any overflow is already far larger than
     * the file, so it is reported as corruption. */
    uint64_t numel = 1;
    int overflow = 0;
    for (size_t i = 0; i < nd; i++) {
        json_t *d = json_array_get(js, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s': shape entry %zu is %s%s, expected a non-negative "
                             "integer; the file is corrupt", p, name, i, rlae_json_type_name(d),
                             json_is_integer(d) ? " below zero" : "");
        t->shape[i] = (int64_t)json_integer_value(d);
        if (__builtin_mul_overflow(numel, (uint64_t)t->shape[i], &numel))
            overflow = 1;
    }
    uint64_t nbytes = 0;
    if (overflow || numel > (uint64_t)INT64_MAX || __builtin_mul_overflow(numel, (uint64_t)dsize, &nbytes)) {
        char sb[256];
        return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s': shape %s overflows 64-bit sizes; the file is "
                         "corrupt", p, name, shape_str(sb, sizeof sb, t->ndim, t->shape));
    }
    t->numel = (int64_t)numel;

    json_t *jo = json_object_get(v, "data_offsets");
    if (!json_is_array(jo) || json_array_size(jo) != 2 || !json_is_integer(json_array_get(jo, 0)) ||
        !json_is_integer(json_array_get(jo, 1)))
        return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s': \"data_offsets\" must be an array of two integers "
                         "[begin, end]; the file is corrupt", p, name);
    json_int_t b = json_integer_value(json_array_get(jo, 0)), e = json_integer_value(json_array_get(jo, 1));
    if (b < 0 || e < b)
        return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s': data_offsets [%lld, %lld] are out of order (need "
                         "0 <= begin <= end); the file is corrupt", p, name, (long long)b, (long long)e);
    if ((uint64_t)e > data_len)
        return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s': data_offsets [%lld, %lld] run past the data section "
                         "(%zu bytes); the file is corrupt or truncated", p, name, (long long)b, (long long)e,
                         data_len);
    if ((uint64_t)(e - b) != nbytes) {
        char sb[256];
        return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s': shape %s x %s = %llu bytes but data_offsets span %lld "
                         "bytes; the file is corrupt or truncated", p, name,
                         shape_str(sb, sizeof sb, t->ndim, t->shape), ds, (unsigned long long)nbytes,
                         (long long)(e - b));
    }
    t->nbytes = (size_t)nbytes;
    t->data = nbytes ? data + b : NULL;
    return RLAE_OK;
}

static rlae_status parse_metadata(const rlae_safetensors *st, json_t *m)
{
    if (!json_is_object(m))
        return rlae_fail(RLAE_ERR_INPUT, "%s: \"__metadata__\" is %s, expected an object of strings; the file is "
                         "corrupt", st->path, rlae_json_type_name(m));
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        if (!json_is_string(v))
            return rlae_fail(RLAE_ERR_INPUT, "%s: \"__metadata__\" key '%s' is %s, expected a string; the file is "
                             "corrupt", st->path, k, rlae_json_type_name(v));
    }
    return RLAE_OK;
}

static rlae_status parse_header(rlae_safetensors *st)
{
    const char *p = st->path;
    if (st->size < 8)
        return rlae_fail(RLAE_ERR_INPUT, "%s: file is %zu bytes, too short for a safetensors header (8-byte "
                         "length + JSON); the file is truncated or not safetensors", p, st->size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) /* little-endian regardless of the host */
        n = (n << 8) | st->base[i];
    if (n > st->size - 8)
        return rlae_fail(RLAE_ERR_INPUT, "%s: header length %llu runs past the end of the file (%zu bytes); the "
                         "file is truncated or not safetensors", p, (unsigned long long)n, st->size);
    if (n > RLAE_ST_MAX_HEADER)
        return rlae_fail(RLAE_ERR_INPUT, "%s: header length %llu is larger than the %u-byte limit; this is not a "
                         "plausible safetensors file", p, (unsigned long long)n, RLAE_ST_MAX_HEADER);
    const char *hdr = (const char *)st->base + 8;
    if (n < 2 || hdr[0] != '{')
        return rlae_fail(RLAE_ERR_INPUT, "%s: header does not start with a JSON object ('{'); the file is corrupt "
                         "or not safetensors", p);
    json_error_t err;
    /* Duplicate names would make lookups ambiguous; jansson refuses them with this flag. */
    st->root = json_loadb(hdr, (size_t)n, JSON_REJECT_DUPLICATES, &err);
    if (!st->root)
        return rlae_fail(RLAE_ERR_INPUT, "%s: header JSON is malformed at byte %d: %s; the file is corrupt", p,
                         err.position, err.text);
    if (!json_is_object(st->root))
        return rlae_fail(RLAE_ERR_INPUT, "%s: header JSON is %s, expected an object; the file is corrupt", p,
                         rlae_json_type_name(st->root));

    const uint8_t *data = st->base + 8 + n;
    size_t data_len = st->size - 8 - (size_t)n;
    size_t cap = json_object_size(st->root);
    st->tensors = rlae_calloc(cap ? cap : 1, sizeof *st->tensors);
    if (!st->tensors)
        return RLAE_ERR_NOMEM;
    const char *k;
    json_t *v;
    json_object_foreach(st->root, k, v) {
        if (strcmp(k, "__metadata__") == 0) {
            RLAE_TRY(parse_metadata(st, v));
            st->metadata = v;
            continue;
        }
        RLAE_TRY(parse_entry(st, k, v, data, data_len, &st->tensors[st->count]));
        st->count++;
    }

    /* Overlap check on the non-empty tensors sorted by start: each must begin at or after the end of
     * the previous one. Gaps are tolerated (harmless), overlaps are not (two names, one storage). */
    const rlae_st_tensor **byoff = rlae_malloc((st->count ? st->count : 1) * sizeof *byoff);
    if (!byoff)
        return RLAE_ERR_NOMEM;
    size_t m = 0;
    for (size_t i = 0; i < st->count; i++)
        if (st->tensors[i].nbytes)
            byoff[m++] = &st->tensors[i];
    qsort(byoff, m, sizeof *byoff, cmp_by_offset);
    rlae_status s = RLAE_OK;
    for (size_t i = 1; i < m && s == RLAE_OK; i++) {
        const rlae_st_tensor *a = byoff[i - 1], *b = byoff[i];
        if ((const uint8_t *)b->data < (const uint8_t *)a->data + a->nbytes)
            s = rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s': data_offsets [%td, %td] overlap those of tensor '%s' "
                          "[%td, %td]; the file is corrupt", p, b->name, (const uint8_t *)b->data - data,
                          (const uint8_t *)b->data - data + (ptrdiff_t)b->nbytes, a->name,
                          (const uint8_t *)a->data - data, (const uint8_t *)a->data - data + (ptrdiff_t)a->nbytes);
    }
    free(byoff);
    RLAE_TRY(s);
    qsort(st->tensors, st->count, sizeof *st->tensors, cmp_by_name);
    return RLAE_OK;
}

static rlae_status open_common(rlae_safetensors *st, rlae_safetensors **out)
{
    rlae_status s = parse_header(st);
    if (s != RLAE_OK) {
        rlae_safetensors_close(st);
        return s;
    }
    *out = st;
    return RLAE_OK;
}

rlae_status rlae_safetensors_open(const char *path, rlae_safetensors **out)
{
    *out = NULL;
    rlae_safetensors *st = rlae_calloc(1, sizeof *st);
    if (!st)
        return RLAE_ERR_NOMEM;
    st->path = rlae_strdup(path);
    if (!st->path) {
        free(st);
        return RLAE_ERR_NOMEM;
    }
    rlae_status s = rlae_mmap_open(&st->map, path);
    if (s != RLAE_OK) {
        rlae_safetensors_close(st);
        return s; /* the message names the path and the system's reason */
    }
    st->base = st->map.data;
    st->size = st->map.size;
    return open_common(st, out);
}

rlae_status rlae_safetensors_open_memory(const void *data, size_t size, const char *label, rlae_safetensors **out)
{
    *out = NULL;
    rlae_safetensors *st = rlae_calloc(1, sizeof *st);
    if (!st)
        return RLAE_ERR_NOMEM;
    st->path = rlae_strdup(label ? label : "(memory)");
    if (!st->path) {
        free(st);
        return RLAE_ERR_NOMEM;
    }
    st->base = data;
    st->size = data ? size : 0;
    return open_common(st, out);
}

void rlae_safetensors_close(rlae_safetensors *st)
{
    if (!st)
        return;
    rlae_mmap_close(&st->map);
    if (st->root)
        json_decref(st->root);
    free(st->tensors);
    free(st->path);
    free(st);
}

const char *rlae_safetensors_path(const rlae_safetensors *st) { return st->path; }
size_t rlae_safetensors_count(const rlae_safetensors *st) { return st->count; }

const rlae_st_tensor *rlae_safetensors_at(const rlae_safetensors *st, size_t i)
{
    return i < st->count ? &st->tensors[i] : NULL;
}

const rlae_st_tensor *rlae_safetensors_find(const rlae_safetensors *st, const char *name)
{
    rlae_st_tensor key;
    key.name = name;
    return bsearch(&key, st->tensors, st->count, sizeof key, cmp_by_name);
}

const char *rlae_safetensors_metadata(const rlae_safetensors *st, const char *key)
{
    return st->metadata ? json_string_value(json_object_get(st->metadata, key)) : NULL;
}

/* ---- views and conversion ---------------------------------------------------------------------- */

static rlae_status check_rank(const rlae_st_tensor *t)
{
    if (t->ndim > RLAE_MAX_DIMS)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "%s: tensor '%s' has %d dimensions; rlae tensors have at most %d",
                         t->file, t->name, t->ndim, RLAE_MAX_DIMS);
    return RLAE_OK;
}

rlae_status rlae_st_view(const rlae_st_tensor *t, rlae_tensor *out)
{
    memset(out, 0, sizeof *out);
    RLAE_TRY(check_rank(t));
    rlae_dtype d;
    switch (t->dtype) {
    case RLAE_ST_F32: d = RLAE_F32; break;
    case RLAE_ST_F16: d = RLAE_F16; break;
    case RLAE_ST_BF16: d = RLAE_BF16; break;
    case RLAE_ST_I32: d = RLAE_I32; break;
    case RLAE_ST_I64: d = RLAE_I64; break;
    case RLAE_ST_U8: d = RLAE_U8; break;
    default:
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s, which rlae tensors cannot represent",
                         t->file, t->name, rlae_st_dtype_name(t->dtype));
    }
    /* The view is read-only in practice (PROT_READ mapping); rlae_tensor has no const flavour. */
    *out = rlae_tensor_view((void *)t->data, d, RLAE_DEV_CPU, t->ndim, t->shape);
    return RLAE_OK;
}

rlae_status rlae_st_to_f32(const rlae_st_tensor *t, rlae_tensor *out)
{
    memset(out, 0, sizeof *out);
    RLAE_TRY(check_rank(t));
    if (t->dtype != RLAE_ST_F32 && t->dtype != RLAE_ST_F16 && t->dtype != RLAE_ST_BF16)
        return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s': dtype %s is not supported for weights (F32, F16 or BF16 "
                         "only); convert the checkpoint to one of those", t->file, t->name,
                         rlae_st_dtype_name(t->dtype));
    size_t n = (size_t)t->numel;
    float *dst = rlae_malloc(n * sizeof(float));
    if (!dst)
        return RLAE_ERR_NOMEM;
    const uint8_t *src = t->data;
    if (t->dtype == RLAE_ST_F32) {
        if (n)
            memcpy(dst, src, n * sizeof(float)); /* memcpy: the source may be unaligned */
    } else {
        int bf = t->dtype == RLAE_ST_BF16;
        /* Big tensors are converted by all threads; the per-element work is tiny, so small ones are not. */
#pragma omp parallel for schedule(static) if (n > (1u << 18))
        for (size_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(src[2 * i] | (src[2 * i + 1] << 8)); /* little-endian on disk */
            dst[i] = bf ? rlae_bf16_to_f32(h) : rlae_f16_to_f32(h);
        }
    }
    *out = rlae_tensor_view(dst, RLAE_F32, RLAE_DEV_CPU, t->ndim, t->shape);
    out->owned = 1;
    return RLAE_OK;
}

/* ---- checkpoints ------------------------------------------------------------------------------- */

struct rlae_st_checkpoint {
    char *source;
    rlae_safetensors **files;
    size_t nfiles;
    const rlae_st_tensor **all; /* every tensor of every file, sorted by name */
    size_t count;
};

void rlae_st_checkpoint_close(rlae_st_checkpoint *ck)
{
    if (!ck)
        return;
    for (size_t i = 0; i < ck->nfiles; i++)
        rlae_safetensors_close(ck->files[i]);
    free(ck->files);
    free(ck->all);
    free(ck->source);
    free(ck);
}

static int cmp_ptr_by_name(const void *a, const void *b)
{
    return strcmp((*(const rlae_st_tensor *const *)a)->name, (*(const rlae_st_tensor *const *)b)->name);
}

/* Builds the combined name table once all files are open; a name in two files is an error because
 * the loader could not know which one the model means. */
static rlae_status build_table(rlae_st_checkpoint *ck)
{
    size_t total = 0;
    for (size_t i = 0; i < ck->nfiles; i++)
        total += rlae_safetensors_count(ck->files[i]);
    ck->all = rlae_malloc((total ? total : 1) * sizeof *ck->all);
    if (!ck->all)
        return RLAE_ERR_NOMEM;
    for (size_t i = 0; i < ck->nfiles; i++)
        for (size_t j = 0; j < rlae_safetensors_count(ck->files[i]); j++)
            ck->all[ck->count++] = rlae_safetensors_at(ck->files[i], j);
    qsort(ck->all, ck->count, sizeof *ck->all, cmp_ptr_by_name);
    for (size_t i = 1; i < ck->count; i++)
        if (strcmp(ck->all[i - 1]->name, ck->all[i]->name) == 0)
            return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s' appears in both %s and %s; the checkpoint is "
                             "inconsistent", ck->source, ck->all[i]->name, ck->all[i - 1]->file, ck->all[i]->file);
    return RLAE_OK;
}

static rlae_st_checkpoint *ck_new(const char *source)
{
    rlae_st_checkpoint *ck = rlae_calloc(1, sizeof *ck);
    if (!ck)
        return NULL;
    ck->source = rlae_strdup(source);
    if (!ck->source) {
        free(ck);
        return NULL;
    }
    return ck;
}

rlae_status rlae_st_checkpoint_open_file(const char *path, rlae_st_checkpoint **out)
{
    *out = NULL;
    rlae_st_checkpoint *ck = ck_new(path);
    if (!ck)
        return RLAE_ERR_NOMEM;
    ck->files = rlae_calloc(1, sizeof *ck->files);
    rlae_status s = ck->files ? rlae_safetensors_open(path, &ck->files[0]) : RLAE_ERR_NOMEM;
    if (s == RLAE_OK) {
        ck->nfiles = 1;
        s = build_table(ck);
    }
    if (s != RLAE_OK) {
        rlae_st_checkpoint_close(ck);
        return s;
    }
    *out = ck;
    return RLAE_OK;
}

/* Shard names come from a downloaded file: refuse anything that could point outside the model
 * directory (absolute paths, ".." components). */
static int shard_name_ok(const char *s)
{
    if (!*s || s[0] == '/')
        return 0;
    for (const char *c = s; *c; c++) {
        int at_start = c == s || c[-1] == '/';
        if (at_start && c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
            return 0;
    }
    return 1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static rlae_status open_index_body(rlae_st_checkpoint *ck, const char *index_path, json_t *root)
{
    const char *ip = index_path;
    if (!json_is_object(root))
        return rlae_fail(RLAE_ERR_INPUT, "%s: expected a JSON object with \"weight_map\"", ip);
    json_t *wm = json_object_get(root, "weight_map");
    if (!json_is_object(wm))
        return rlae_fail(RLAE_ERR_INPUT, "%s: \"weight_map\" is %s, expected an object mapping tensor names to "
                         "shard files", ip, wm ? rlae_json_type_name(wm) : "missing");
    size_t n = json_object_size(wm);
    if (n == 0)
        return rlae_fail(RLAE_ERR_INPUT, "%s: \"weight_map\" is empty; the index lists no tensors", ip);
    const char **names = rlae_malloc(n * sizeof *names);
    if (!names)
        return RLAE_ERR_NOMEM;
    size_t k = 0;
    const char *key;
    json_t *v;
    rlae_status s = RLAE_OK;
    json_object_foreach(wm, key, v) {
        if (!json_is_string(v)) {
            s = rlae_fail(RLAE_ERR_INPUT, "%s: weight_map entry for tensor '%s' is %s, expected a shard file name",
                          ip, key, rlae_json_type_name(v));
            break;
        }
        if (!shard_name_ok(json_string_value(v))) {
            s = rlae_fail(RLAE_ERR_INPUT, "%s: weight_map entry for tensor '%s' names shard '%s', which is not a "
                          "file inside the model directory", ip, key, json_string_value(v));
            break;
        }
        names[k++] = json_string_value(v);
    }
    if (s != RLAE_OK) {
        free(names);
        return s;
    }
    qsort(names, k, sizeof *names, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || strcmp(names[u - 1], names[i]) != 0)
            names[u++] = names[i];

    /* Shards resolve relative to the index's directory. */
    size_t dlen = 0;
    const char *slash = strrchr(ip, '/');
    if (slash)
        dlen = (size_t)(slash - ip) + 1;
    ck->files = rlae_calloc(u, sizeof *ck->files);
    if (!ck->files) {
        free(names);
        return RLAE_ERR_NOMEM;
    }
    /* First check that every shard exists, so a partial download names the missing file rather than
     * failing midway through opening large ones. */
    for (size_t i = 0; i < u && s == RLAE_OK; i++) {
        size_t need = dlen + strlen(names[i]) + 1;
        char *path = rlae_malloc(need);
        if (!path) {
            s = RLAE_ERR_NOMEM;
            break;
        }
        snprintf(path, need, "%.*s%s", (int)dlen, ip, names[i]);
        struct stat sb;
        if (stat(path, &sb) != 0)
            s = rlae_fail(RLAE_ERR_INPUT, "%s: shard '%s' listed in the index is missing (looked for %s); download "
                          "every shard named in weight_map", ip, names[i], path);
        free(path);
    }
    for (size_t i = 0; i < u && s == RLAE_OK; i++) {
        size_t need = dlen + strlen(names[i]) + 1;
        char *path = rlae_malloc(need);
        if (!path) {
            s = RLAE_ERR_NOMEM;
            break;
        }
        snprintf(path, need, "%.*s%s", (int)dlen, ip, names[i]);
        s = rlae_safetensors_open(path, &ck->files[i]);
        free(path);
        if (s == RLAE_OK)
            ck->nfiles++;
    }
    free(names);
    RLAE_TRY(s);
    RLAE_TRY(build_table(ck));

    /* The index must agree with the shards: every tensor it lists must be in the shard it names. */
    json_object_foreach(wm, key, v) {
        const rlae_st_tensor *t = rlae_st_checkpoint_find(ck, key);
        const char *shard = json_string_value(v);
        size_t fl = strlen(t ? t->file : ""), sl = strlen(shard);
        int same = t && fl >= sl && strcmp(t->file + fl - sl, shard) == 0 && (fl == sl || t->file[fl - sl - 1] == '/');
        if (!t)
            return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s' is assigned to shard '%s' but no shard contains it; "
                             "the shard is incomplete or from another checkpoint", ip, key, shard);
        if (!same)
            return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s' is assigned to shard '%s' but found in %s; the index "
                             "and the shards do not match", ip, key, shard, t->file);
    }
    return RLAE_OK;
}

rlae_status rlae_st_checkpoint_open_index(const char *index_path, rlae_st_checkpoint **out)
{
    *out = NULL;
    json_error_t err;
    json_t *root = json_load_file(index_path, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        struct stat sb;
        if (stat(index_path, &sb) != 0)
            return rlae_fail(RLAE_ERR_INPUT, "%s: cannot open the safetensors index: %s", index_path,
                             strerror(errno));
        return rlae_fail(RLAE_ERR_INPUT, "%s:%d:%d: malformed JSON in the safetensors index: %s", index_path,
                         err.line, err.column, err.text);
    }
    rlae_st_checkpoint *ck = ck_new(index_path);
    rlae_status s = ck ? open_index_body(ck, index_path, root) : RLAE_ERR_NOMEM;
    json_decref(root); /* shard names were copied into paths; tensor names live in the shard handles */
    if (s != RLAE_OK) {
        rlae_st_checkpoint_close(ck);
        return s;
    }
    *out = ck;
    return RLAE_OK;
}

rlae_status rlae_st_checkpoint_open_dir(const char *dir, rlae_st_checkpoint **out)
{
    *out = NULL;
    size_t need = strlen(dir) + 64;
    char *p = rlae_malloc(need);
    if (!p)
        return RLAE_ERR_NOMEM;
    struct stat sb;
    rlae_status s;
    snprintf(p, need, "%s/model.safetensors.index.json", dir);
    if (stat(p, &sb) == 0) {
        s = rlae_st_checkpoint_open_index(p, out);
    } else {
        snprintf(p, need, "%s/model.safetensors", dir);
        if (stat(p, &sb) == 0) {
            s = rlae_st_checkpoint_open_file(p, out);
        } else {
            snprintf(p, need, "%s/pytorch_model.bin", dir);
            int has_bin = stat(p, &sb) == 0;
            s = rlae_fail(RLAE_ERR_INPUT, "%s: no model.safetensors or model.safetensors.index.json%s; rlae reads "
                          "safetensors weights only", dir,
                          has_bin ? " (only pytorch_model.bin: convert it to safetensors first, e.g. with "
                                    "transformers' save_pretrained(safe_serialization=True))" : "");
        }
    }
    free(p);
    return s;
}

const char *rlae_st_checkpoint_source(const rlae_st_checkpoint *ck) { return ck->source; }
size_t rlae_st_checkpoint_count(const rlae_st_checkpoint *ck) { return ck->count; }

const rlae_st_tensor *rlae_st_checkpoint_at(const rlae_st_checkpoint *ck, size_t i)
{
    return i < ck->count ? ck->all[i] : NULL;
}

const rlae_st_tensor *rlae_st_checkpoint_find(const rlae_st_checkpoint *ck, const char *name)
{
    rlae_st_tensor key;
    key.name = name;
    const rlae_st_tensor *kp = &key;
    const rlae_st_tensor **hit = bsearch(&kp, ck->all, ck->count, sizeof *ck->all, cmp_ptr_by_name);
    return hit ? *hit : NULL;
}
