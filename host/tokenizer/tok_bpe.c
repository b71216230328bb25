/* The BPE merge engine shared by llama2.c (pairs ranked by the merged token's score) and HF
 * tokenizer.json models (pairs ranked by merge rank). Both references pick, at every step, the best
 * adjacent pair and, among equals, the leftmost one; run.c rescans the whole sequence per merge
 * (O(n^2)), HF keeps a priority queue. We keep a binary heap of candidate pairs keyed by
 * (priority, position of the left symbol in the original word) over a doubly linked symbol list and
 * drop stale entries lazily when popped, giving the same merges in O(n log n). */
#include "tokenizer/tok_internal.h"

#include <string.h>

typedef struct {
    int32_t id, prev, next; /* prev/next index in the word, -1 at the ends; id -1: merged away */
} sym;

typedef struct {
    double prio;
    int32_t left, right; /* symbol indices at the time the pair was seen */
    int32_t a, b, merged;
} cand;

struct tok_bpe_ws {
    sym *s;
    size_t s_cap;
    cand *h;
    size_t h_n, h_cap;
};

tok_bpe_ws *tok_bpe_ws_new(void)
{
    return rlae_calloc(1, sizeof(tok_bpe_ws));
}

void tok_bpe_ws_free(tok_bpe_ws *ws)
{
    if (!ws)
        return;
    free(ws->s);
    free(ws->h);
    free(ws);
}

/* a before b in the heap: lower priority value first, then the leftmost pair. The left index is the
 * original position of the pair's left symbol, and positions keep their order as symbols merge, so
 * this is "leftmost in the current sequence" too. */
static int before(const cand *a, const cand *b)
{
    if (a->prio != b->prio)
        return a->prio < b->prio;
    return a->left < b->left;
}

static rlae_status heap_push(tok_bpe_ws *ws, cand c)
{
    if (ws->h_n == ws->h_cap) {
        size_t cap = ws->h_cap ? ws->h_cap * 2 : 64;
        cand *h = rlae_realloc(ws->h, cap * sizeof *h);
        if (!h)
            return RLAE_ERR_NOMEM;
        ws->h = h;
        ws->h_cap = cap;
    }
    size_t i = ws->h_n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&c, &ws->h[p]))
            break;
        ws->h[i] = ws->h[p];
        i = p;
    }
    ws->h[i] = c;
    return RLAE_OK;
}

static cand heap_pop(tok_bpe_ws *ws)
{
    cand top = ws->h[0];
    cand last = ws->h[--ws->h_n];
    size_t i = 0, n = ws->h_n;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const cand *best = &last;
        if (l < n && before(&ws->h[l], best)) {
            m = l;
            best = &ws->h[l];
        }
        if (r < n && before(&ws->h[r], best))
            m = r;
        if (m == i)
            break;
        ws->h[i] = ws->h[m];
        i = m;
    }
    if (n)
        ws->h[i] = last;
    return top;
}

static rlae_status consider(tok_bpe_ws *ws, int32_t left, tok_pair_fn fn, const void *ctx)
{
    int32_t right = ws->s[left].next;
    if (right < 0)
        return RLAE_OK;
    cand c = {.left = left, .right = right, .a = ws->s[left].id, .b = ws->s[right].id};
    if (!fn(ctx, c.a, c.b, &c.prio, &c.merged))
        return RLAE_OK;
    return heap_push(ws, c);
}

rlae_status tok_bpe_merge(tok_bpe_ws *ws, const int32_t *syms, size_t n, tok_pair_fn fn,
                          const void *ctx, tok_ids *out)
{
    if (n == 0)
        return RLAE_OK;
    if (n > INT32_MAX)
        return rlae_fail(RLAE_ERR_INPUT, "tokenizer: a single word of %zu symbols is too long", n);
    if (n > ws->s_cap) {
        sym *s = rlae_realloc(ws->s, n * sizeof *s);
        if (!s)
            return RLAE_ERR_NOMEM;
        ws->s = s;
        ws->s_cap = n;
    }
    for (size_t i = 0; i < n; i++)
        ws->s[i] = (sym){syms[i], (int32_t)i - 1, i + 1 < n ? (int32_t)i + 1 : -1};
    ws->h_n = 0;
    for (size_t i = 0; i + 1 < n; i++)
        RLAE_TRY(consider(ws, (int32_t)i, fn, ctx));
    while (ws->h_n) {
        cand c = heap_pop(ws);
        sym *l = &ws->s[c.left];
        /* Stale: one side was merged into something else since the pair was seen. */
        if (l->id != c.a || l->next != c.right || ws->s[c.right].id != c.b)
            continue;
        sym *r = &ws->s[c.right];
        l->id = c.merged;
        l->next = r->next;
        if (r->next >= 0)
            ws->s[r->next].prev = c.left;
        r->id = -1;
        r->prev = r->next = -1;
        if (l->prev >= 0)
            RLAE_TRY(consider(ws, l->prev, fn, ctx));
        RLAE_TRY(consider(ws, c.left, fn, ctx));
    }
    for (int32_t i = 0; i >= 0; i = ws->s[i].next)
        RLAE_TRY(tok_ids_push(out, ws->s[i].id));
    return RLAE_OK;
}
