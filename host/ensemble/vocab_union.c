/* The union vocabulary of an ensemble (vocab_union.h): every member's ordinary tokens as exact byte
 * strings, sorted once (an 8-byte big-endian prefix key decides most comparisons, memcmp the rest),
 * deduplicated into entries 1..size-1 after the shared EOS entry 0. The same walk fills the
 * member -> union maps and, per member and entry, the member's preferred single token (an ordinary
 * token before a byte piece, then the lowest id), so the common union -> member case needs no lock.
 * Entries a member has no single token for are spelled with rlae_tokenizer_spell on first use and
 * memoised under a mutex. Build cost: O(N log N) in the total number of member tokens. */
#include "ensemble/vocab_union.h"

#include "core/log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MAX_MEMBERS 8

typedef struct {
    int32_t *ids; /* NULL until computed */
    int32_t n, unspelled;
} memo_seq;

struct rlae_vocab_union {
    int n_members, size;
    const rlae_tokenizer *toks[MAX_MEMBERS];
    uint32_t *off; /* entry u's bytes are blob[off[u] .. off[u + 1]) */
    uint8_t *blob;
    int32_t *map[MAX_MEMBERS];    /* member id -> union id or -1 */
    int32_t *single[MAX_MEMBERS]; /* union id -> member's single token spelling it, or -1 */
    memo_seq *memo[MAX_MEMBERS];  /* union id -> spelled sequence; allocated on first use */
    rlae_vocab_union_member_stats stats[MAX_MEMBERS];
    pthread_mutex_t mu;
};

/* One member token while building. */
typedef struct {
    uint64_t key; /* first 8 bytes, big-endian, zero-padded: orders like memcmp-then-length */
    const uint8_t *p;
    uint32_t len;
    uint8_t k, byte_piece;
    int32_t id;
} item;

static int cmp_bytes(const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
    int c = memcmp(a, b, la < lb ? la : lb);
    if (c)
        return c;
    return (la > lb) - (la < lb);
}

/* Bytes first (shorter before a longer string it prefixes), then member, ordinary before byte piece,
 * lowest id: a total order, so the build is deterministic and the first item of each member in a run
 * of equal bytes is its preferred single token. */
static int cmp_item(const void *pa, const void *pb)
{
    const item *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    /* equal keys: the first min(8, len) bytes agree, so only bytes past 8 can differ */
    int c = a->len > 8 && b->len > 8 ? cmp_bytes(a->p + 8, a->len - 8, b->p + 8, b->len - 8)
                                     : (a->len > b->len) - (a->len < b->len);
    if (c)
        return c;
    if (a->k != b->k)
        return a->k < b->k ? -1 : 1;
    if (a->byte_piece != b->byte_piece)
        return a->byte_piece < b->byte_piece ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static uint64_t prefix_key(const uint8_t *p, size_t len)
{
    uint64_t k = 0;
    for (size_t i = 0; i < 8; i++)
        k = k << 8 | (i < len ? p[i] : 0);
    return k;
}

/* Member ids that map to the shared EOS entry: its EOS, and for llama2.c also BOS (those models end
 * a story by writing BOS). */
static int is_eos(const rlae_tokenizer *t, int id)
{
    return id == rlae_tokenizer_eos_id(t) ||
           (rlae_tokenizer_get_kind(t) == RLAE_TOKENIZER_LLAMA2C && id == rlae_tokenizer_bos_id(t));
}

/* The ordinary, non-EOS tokens of every member, sorted. */
static rlae_status collect_items(rlae_vocab_union *u, item **out, size_t *n_out)
{
    size_t n = 0;
    for (int k = 0; k < u->n_members; k++)
        for (int id = 0; id < rlae_tokenizer_vocab_size(u->toks[k]); id++) {
            size_t len;
            rlae_tokenizer_token_bytes(u->toks[k], id, &len);
            n += !rlae_tokenizer_is_special(u->toks[k], id) && len > 0 && !is_eos(u->toks[k], id);
        }
    item *v = rlae_malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return RLAE_ERR_NOMEM;
    size_t i = 0;
    for (int k = 0; k < u->n_members; k++) {
        const rlae_tokenizer *t = u->toks[k];
        for (int id = 0; id < rlae_tokenizer_vocab_size(t); id++) {
            size_t len;
            const uint8_t *p = rlae_tokenizer_token_bytes(t, id, &len);
            if (rlae_tokenizer_is_special(t, id) || len == 0 || is_eos(t, id))
                continue;
            v[i++] = (item){prefix_key(p, len), p, (uint32_t)len, (uint8_t)k,
                            (uint8_t)(rlae_tokenizer_is_byte_piece(t, id) == 1), id};
        }
    }
    qsort(v, n, sizeof *v, cmp_item);
    *out = v;
    *n_out = n;
    return RLAE_OK;
}

static rlae_status alloc_i32(int32_t **p, size_t n)
{
    *p = rlae_malloc((n ? n : 1) * sizeof **p);
    if (!*p)
        return RLAE_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        (*p)[i] = -1;
    return RLAE_OK;
}

/* Entries, maps and single tokens from the sorted items. */
static rlae_status fill(rlae_vocab_union *u, const item *v, size_t n)
{
    size_t entries = 1, total = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || cmp_bytes(v[i - 1].p, v[i - 1].len, v[i].p, v[i].len) != 0) {
            entries++;
            total += v[i].len;
        }
    if (entries > INT32_MAX || total > UINT32_MAX)
        return rlae_fail(RLAE_ERR_INPUT, "union vocabulary: %zu entries of %zu bytes is more than rlae "
                         "can index", entries, total);
    u->size = (int)entries;
    u->off = rlae_malloc((entries + 1) * sizeof *u->off);
    u->blob = rlae_malloc(total ? total : 1);
    if (!u->off || !u->blob)
        return RLAE_ERR_NOMEM;
    for (int k = 0; k < u->n_members; k++) {
        RLAE_TRY(alloc_i32(&u->map[k], (size_t)rlae_tokenizer_vocab_size(u->toks[k])));
        RLAE_TRY(alloc_i32(&u->single[k], entries));
    }
    u->off[0] = u->off[1] = 0; /* EOS: no bytes */
    int32_t id = 0;
    for (size_t i = 0; i < n; i++) {
        const item *it = &v[i];
        if (i == 0 || cmp_bytes(v[i - 1].p, v[i - 1].len, it->p, it->len) != 0) {
            id++;
            memcpy(u->blob + u->off[id], it->p, it->len);
            u->off[id + 1] = u->off[id] + it->len;
        }
        u->map[it->k][it->id] = id;
        if (u->single[it->k][id] < 0)
            u->single[it->k][id] = it->id;
    }
    for (int k = 0; k < u->n_members; k++) {
        const rlae_tokenizer *t = u->toks[k];
        int eos = rlae_tokenizer_eos_id(t), bos = rlae_tokenizer_bos_id(t);
        if (eos >= 0) {
            u->map[k][eos] = RLAE_UNION_EOS;
            u->single[k][RLAE_UNION_EOS] = eos;
        }
        if (rlae_tokenizer_get_kind(t) == RLAE_TOKENIZER_LLAMA2C && bos >= 0)
            u->map[k][bos] = RLAE_UNION_EOS;
    }
    return RLAE_OK;
}

static void compute_stats(rlae_vocab_union *u)
{
    for (int k = 0; k < u->n_members; k++) {
        rlae_vocab_union_member_stats *s = &u->stats[k];
        s->vocab_size = rlae_tokenizer_vocab_size(u->toks[k]);
        s->mapped = 0;
        for (int id = 0; id < s->vocab_size; id++)
            s->mapped += u->map[k][id] >= 0;
        s->specials = s->vocab_size - s->mapped;
        s->distinct = s->shared = 0;
        for (int e = 0; e < u->size; e++) {
            if (u->single[k][e] < 0)
                continue;
            s->distinct++;
            int other = 0;
            for (int j = 0; j < u->n_members && !other; j++)
                other = j != k && u->single[j][e] >= 0;
            s->shared += other;
        }
    }
}

static void log_build(const rlae_vocab_union *u, const char *const *names)
{
    char line[2048];
    int at = snprintf(line, sizeof line, "union vocabulary: %d entries (EOS + %d byte strings) from %d member%s",
                      u->size, u->size - 1, u->n_members, u->n_members == 1 ? "" : "s");
    for (int k = 0; k < u->n_members && at > 0 && (size_t)at < sizeof line; k++) {
        const rlae_vocab_union_member_stats *s = &u->stats[k];
        char def[24];
        snprintf(def, sizeof def, "member %d", k);
        at += snprintf(line + at, sizeof line - (size_t)at,
                       "; %s: %d ids, %d mapped, %d left out, %d entries, %d shared with another member",
                       names && names[k] ? names[k] : def, s->vocab_size, s->mapped, s->specials, s->distinct,
                       s->shared);
    }
    rlae_info("%s", line);
}

rlae_status rlae_vocab_union_build(const rlae_tokenizer *const *toks, int n_members, const char *const *names,
                                   rlae_vocab_union **out)
{
    *out = NULL;
    if (n_members < 1 || n_members > MAX_MEMBERS)
        return rlae_fail(RLAE_ERR_INPUT, "union vocabulary: %d members; an ensemble has 1 to %d", n_members,
                         MAX_MEMBERS);
    for (int k = 0; k < n_members; k++)
        if (!toks[k])
            return rlae_fail(RLAE_ERR_INPUT, "union vocabulary: member %d has no tokenizer", k);
    rlae_vocab_union *u = rlae_calloc(1, sizeof *u);
    if (!u)
        return RLAE_ERR_NOMEM;
    if (pthread_mutex_init(&u->mu, NULL) != 0) {
        free(u);
        return rlae_fail(RLAE_ERR_RUNTIME, "union vocabulary: cannot create a mutex");
    }
    u->n_members = n_members;
    for (int k = 0; k < n_members; k++)
        u->toks[k] = toks[k];
    item *v = NULL;
    size_t n = 0;
    rlae_status s = collect_items(u, &v, &n);
    if (s == RLAE_OK)
        s = fill(u, v, n);
    free(v);
    if (s != RLAE_OK) {
        rlae_vocab_union_free(u);
        return s;
    }
    compute_stats(u);
    log_build(u, names);
    *out = u;
    return RLAE_OK;
}

void rlae_vocab_union_free(rlae_vocab_union *u)
{
    if (!u)
        return;
    for (int k = 0; k < u->n_members; k++) {
        free(u->map[k]);
        free(u->single[k]);
        for (int e = 0; u->memo[k] && e < u->size; e++)
            free(u->memo[k][e].ids);
        free(u->memo[k]);
    }
    free(u->off);
    free(u->blob);
    pthread_mutex_destroy(&u->mu);
    free(u);
}

int rlae_vocab_union_size(const rlae_vocab_union *u) { return u->size; }
int rlae_vocab_union_n_members(const rlae_vocab_union *u) { return u->n_members; }

const uint8_t *rlae_vocab_union_bytes(const rlae_vocab_union *u, int id, size_t *len)
{
    if (id < 0 || id >= u->size) {
        *len = 0;
        return NULL;
    }
    *len = u->off[id + 1] - u->off[id];
    return u->blob + u->off[id];
}

int rlae_vocab_union_find(const rlae_vocab_union *u, const void *bytes, size_t len)
{
    int lo = 1, hi = u->size - 1; /* entry 0 (EOS) is outside the byte order */
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = cmp_bytes(u->blob + u->off[mid], u->off[mid + 1] - u->off[mid], bytes, len);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

const int32_t *rlae_vocab_union_member_map(const rlae_vocab_union *u, int k)
{
    return k >= 0 && k < u->n_members ? u->map[k] : NULL;
}

/* Spells entry id for member k into the memo (called with the mutex held). */
static rlae_status memoise(rlae_vocab_union *u, int k, int id)
{
    if (!u->memo[k] && !(u->memo[k] = rlae_calloc((size_t)u->size, sizeof *u->memo[k])))
        return RLAE_ERR_NOMEM;
    memo_seq *m = &u->memo[k][id];
    if (m->ids)
        return RLAE_OK;
    size_t len, n, unspelled;
    const uint8_t *b = rlae_vocab_union_bytes(u, id, &len);
    int32_t *ids;
    RLAE_TRY(rlae_tokenizer_spell(u->toks[k], b, len, &ids, &n, &unspelled));
    m->n = (int32_t)n;
    m->unspelled = (int32_t)unspelled;
    m->ids = ids;
    return RLAE_OK;
}

rlae_status rlae_vocab_union_member_tokens(rlae_vocab_union *u, int k, int id, const int32_t **tokens, int *n,
                                           int *n_unspelled)
{
    *tokens = NULL;
    *n = *n_unspelled = 0;
    if (k < 0 || k >= u->n_members || id < 0 || id >= u->size)
        return rlae_fail(RLAE_ERR_INPUT, "union vocabulary: member %d / entry %d out of range (%d members, "
                         "%d entries)", k, id, u->n_members, u->size);
    if (u->single[k][id] >= 0 || id == RLAE_UNION_EOS) { /* read-only after build: no lock */
        *tokens = &u->single[k][id];
        *n = u->single[k][id] >= 0;
        return RLAE_OK;
    }
    pthread_mutex_lock(&u->mu);
    rlae_status s = memoise(u, k, id);
    if (s == RLAE_OK) {
        const memo_seq *m = &u->memo[k][id];
        *tokens = m->ids;
        *n = m->n;
        *n_unspelled = m->unspelled;
    }
    pthread_mutex_unlock(&u->mu);
    return s;
}

void rlae_vocab_union_stats(const rlae_vocab_union *u, int k, rlae_vocab_union_member_stats *out)
{
    if (k < 0 || k >= u->n_members) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = u->stats[k];
}
