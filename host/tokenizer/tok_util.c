/* Small containers the tokenizers share: growable byte/id buffers, the piece lists pre-tokenizers
 * pass along, open-addressing hash maps (token text -> id, merge pair -> rank) and strict UTF-8
 * decoding. Kept apart so the tokenizer kinds contain only what differs between them. */
#include "tokenizer/tok_internal.h"

#include <string.h>

rlae_status tok_bytes_append(tok_bytes *b, const void *src, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        uint8_t *p = rlae_realloc(b->p, cap);
        if (!p)
            return RLAE_ERR_NOMEM;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, src, n);
    b->n += n;
    b->p[b->n] = 0; /* always NUL-terminated so callers may print it */
    return RLAE_OK;
}

rlae_status tok_ids_push(tok_ids *v, int32_t id)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        int32_t *p = rlae_realloc(v->p, cap * sizeof *p);
        if (!p)
            return RLAE_ERR_NOMEM;
        v->p = p;
        v->cap = cap;
    }
    v->p[v->n++] = id;
    return RLAE_OK;
}

rlae_status tok_pieces_add(tok_pieces *ps, const uint8_t *s, size_t len, int first)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 32;
        tok_piece *p = rlae_realloc(ps->p, cap * sizeof *p);
        if (!p)
            return RLAE_ERR_NOMEM;
        ps->p = p;
        ps->cap = cap;
    }
    size_t off = ps->buf.n;
    RLAE_TRY(tok_bytes_append(&ps->buf, s, len));
    ps->p[ps->n++] = (tok_piece){off, len, first};
    return RLAE_OK;
}

void tok_pieces_clear(tok_pieces *ps)
{
    ps->n = 0;
    ps->buf.n = 0;
}

void tok_pieces_free(tok_pieces *ps)
{
    free(ps->buf.p);
    free(ps->p);
    memset(ps, 0, sizeof *ps);
}

/* ---- hashing ---------------------------------------------------------------------------------- */
static uint64_t hash_bytes(const uint8_t *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a, then a final mix so low bits spread */
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static size_t cap_for(size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2) /* load factor <= 1/2 keeps probes short */
        cap *= 2;
    return cap;
}

rlae_status tok_strmap_init(tok_strmap *m, size_t expected)
{
    memset(m, 0, sizeof *m);
    m->cap = cap_for(expected);
    m->keys = rlae_calloc(m->cap, sizeof *m->keys);
    m->lens = rlae_calloc(m->cap, sizeof *m->lens);
    m->vals = rlae_calloc(m->cap, sizeof *m->vals);
    if (!m->keys || !m->lens || !m->vals) {
        tok_strmap_free(m);
        return RLAE_ERR_NOMEM;
    }
    return RLAE_OK;
}

static rlae_status strmap_grow(tok_strmap *m)
{
    tok_strmap g;
    RLAE_TRY(tok_strmap_init(&g, m->cap));
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i])
            RLAE_TRY(tok_strmap_put(&g, m->keys[i], m->lens[i], m->vals[i]));
    tok_strmap_free(m);
    *m = g;
    return RLAE_OK;
}

rlae_status tok_strmap_put(tok_strmap *m, const uint8_t *key, size_t len, int32_t val)
{
    if ((m->n + 1) * 2 > m->cap)
        RLAE_TRY(strmap_grow(m));
    size_t mask = m->cap - 1, i = hash_bytes(key, len) & mask;
    /* An empty key still needs a non-NULL pointer to mark the slot used. */
    static const uint8_t empty = 0;
    if (!key)
        key = &empty;
    while (m->keys[i]) {
        if (m->lens[i] == len && memcmp(m->keys[i], key, len) == 0) {
            m->vals[i] = val;
            return RLAE_OK;
        }
        i = (i + 1) & mask;
    }
    m->keys[i] = key;
    m->lens[i] = (uint32_t)len;
    m->vals[i] = val;
    m->n++;
    return RLAE_OK;
}

int32_t tok_strmap_get(const tok_strmap *m, const void *key, size_t len)
{
    if (!m->cap)
        return -1;
    size_t mask = m->cap - 1, i = hash_bytes(key, len) & mask;
    while (m->keys[i]) {
        if (m->lens[i] == len && memcmp(m->keys[i], key, len) == 0)
            return m->vals[i];
        i = (i + 1) & mask;
    }
    return -1;
}

void tok_strmap_free(tok_strmap *m)
{
    free(m->keys);
    free(m->lens);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

rlae_status tok_u64map_init(tok_u64map *m, size_t expected)
{
    memset(m, 0, sizeof *m);
    m->cap = cap_for(expected);
    m->keys = rlae_malloc(m->cap * sizeof *m->keys);
    m->vals = rlae_malloc(m->cap * sizeof *m->vals);
    if (!m->keys || !m->vals) {
        tok_u64map_free(m);
        return RLAE_ERR_NOMEM;
    }
    memset(m->keys, 0xff, m->cap * sizeof *m->keys);
    return RLAE_OK;
}

rlae_status tok_u64map_put(tok_u64map *m, uint64_t key, int32_t val)
{
    RLAE_ASSERT(key != UINT64_MAX);
    if ((m->n + 1) * 2 > m->cap) {
        tok_u64map g;
        RLAE_TRY(tok_u64map_init(&g, m->cap));
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i] != UINT64_MAX)
                RLAE_TRY(tok_u64map_put(&g, m->keys[i], m->vals[i]));
        tok_u64map_free(m);
        *m = g;
    }
    size_t mask = m->cap - 1, i = hash_u64(key) & mask;
    while (m->keys[i] != UINT64_MAX) {
        if (m->keys[i] == key) {
            m->vals[i] = val;
            return RLAE_OK;
        }
        i = (i + 1) & mask;
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return RLAE_OK;
}

int32_t tok_u64map_get(const tok_u64map *m, uint64_t key)
{
    if (!m->cap)
        return -1;
    size_t mask = m->cap - 1, i = hash_u64(key) & mask;
    while (m->keys[i] != UINT64_MAX) {
        if (m->keys[i] == key)
            return m->vals[i];
        i = (i + 1) & mask;
    }
    return -1;
}

void tok_u64map_free(tok_u64map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---- UTF-8 ------------------------------------------------------------------------------------ */
int tok_utf8_char_len(const uint8_t *s, size_t n)
{
    if (n == 0)
        return 0;
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    int len;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte (excludes overlongs etc.) */
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* > U+10FFFF */
    } else
        return 0;
    if ((size_t)len > n || s[1] < lo || s[1] > hi)
        return 0;
    for (int i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

uint32_t tok_utf8_decode(const uint8_t *s, int len)
{
    switch (len) {
    case 1:
        return s[0];
    case 2:
        return ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    case 3:
        return ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    default:
        return ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
               ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    }
}

int tok_utf8_encode(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}
