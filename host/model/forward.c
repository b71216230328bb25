/* The Llama-family forward over a batch with per-sequence positions (see forward.h).
 * Written only in terms of the ops API, so it runs unchanged on any backend: every tensor below is a
 * view on the model's device, and the per-row indices are staged on the host and copied over once
 * per chunk. Per layer, for the R rows of a chunk:
 *   xb = rmsnorm(x); q,k,v = xb Wq^T (+b), ...; rope(q,k); store k,v at (slot,pos); att = attention;
 *   x += att Wo^T; xb = rmsnorm(x); x += (silu(xb Wg^T) * xb Wu^T) Wd^T.
 * On a CUDA device a decode step (one new token per sequence) is recorded once as an op graph and
 * replayed with one launch (decode_step; RLAE_CUDA_GRAPHS=0 turns that off). */
#include "model/forward.h"

#include <stdlib.h>
#include <string.h>

/* The first r rows of a [rows, cols] scratch tensor. */
static rlae_tensor head_rows(const rlae_tensor *t, int64_t r)
{
    int64_t shape[2] = {r, t->shape[t->ndim - 1]};
    return rlae_tensor_view(t->data, t->dtype, t->device, 2, shape);
}

/* The first n entries of a 1-D index tensor. */
static rlae_tensor head_n(const rlae_tensor *t, int64_t n)
{
    return rlae_tensor_view(t->data, t->dtype, t->device, 1, &n);
}

/* Rows [r0, r0+r) of a [rows, cols] tensor. */
static rlae_tensor row_range(const rlae_tensor *t, int64_t r0, int64_t r)
{
    int64_t c = t->shape[t->ndim - 1];
    int64_t shape[2] = {r, c};
    return rlae_tensor_view((char *)t->data + (size_t)(r0 * c) * rlae_dtype_size(t->dtype), t->dtype, t->device, 2,
                            shape);
}

static rlae_status alloc2(rlae_tensor *t, rlae_dtype dt, rlae_device dev, int64_t r, int64_t c)
{
    int64_t shape[2] = {r, c};
    return rlae_ops_tensor_alloc(t, dt, dev, 2, shape);
}

void rlae_model_free(rlae_model *m)
{
    rlae_tensor *all[] = {&m->x,   &m->xb,  &m->xb2,  &m->q,    &m->k,        &m->v,      &m->att,
                          &m->hb,  &m->hb2, &m->tok,  &m->pos,  &m->slot,     &m->last_row, &m->last_x,
                          &m->last_h, &m->att_part};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        rlae_ops_tensor_free(all[i]);
    for (int i = 0; i < RLAE_FORWARD_GRAPHS; i++)
        rlae_ops_graph_free(m->graphs[i].graph);
    free(m->h_tok);
    free(m->h_pos);
    free(m->h_slot);
    free(m->h_last);
    memset(m, 0, sizeof *m);
}

rlae_status rlae_model_init(rlae_model *m, const rlae_model_weights *w, int max_seqs, int chunk)
{
    memset(m, 0, sizeof *m);
    const rlae_model_config *c = &w->cfg;
    if (chunk <= 0)
        chunk = RLAE_FORWARD_DEFAULT_CHUNK;
    if (max_seqs <= 0)
        return rlae_fail(RLAE_ERR_INPUT, "model %s: max_seqs must be >= 1 (got %d)", w->source, max_seqs);
    if (c->n_heads <= 0 || c->n_kv_heads <= 0 || c->n_heads % c->n_kv_heads || c->head_dim <= 0 ||
        c->head_dim % 2 || c->head_dim > 512)
        return rlae_fail(RLAE_ERR_INPUT, "model %s: %d heads, %d kv heads, head_dim %d are not supported (need heads "
                         "a multiple of kv heads, even head_dim <= 512)", w->source, c->n_heads, c->n_kv_heads,
                         c->head_dim);
    m->w = w;
    m->device = w->tok_embeddings.device;
    const char *graphs = getenv("RLAE_CUDA_GRAPHS");
    m->use_graphs = m->device == RLAE_DEV_CUDA && !(graphs && strcmp(graphs, "0") == 0);
    m->max_seqs = max_seqs;
    m->chunk = chunk;
    m->q_dim = c->n_heads * c->head_dim;
    m->kv_dim = c->n_kv_heads * c->head_dim;
    m->rope.head_dim = c->head_dim;
    m->rope.theta = c->rope_theta > 0 ? c->rope_theta : 10000.0f;
    m->rope.scaling = c->rope_scaling == RLAE_ROPE_LINEAR   ? RLAE_ROPE_SCALE_LINEAR
                      : c->rope_scaling == RLAE_ROPE_LLAMA3 ? RLAE_ROPE_SCALE_LLAMA3
                                                            : RLAE_ROPE_SCALE_NONE;
    m->rope.factor = c->rope_factor;
    m->rope.low_freq_factor = c->rope_low_freq_factor;
    m->rope.high_freq_factor = c->rope_high_freq_factor;
    m->rope.original_max_pos = c->rope_original_max_pos;

    rlae_device d = m->device;
    rlae_status s = RLAE_OK;
#define ALLOC(t, dt, r, cols)                      \
    if (s == RLAE_OK)                              \
        s = alloc2(&m->t, dt, d, r, cols);
    ALLOC(x, RLAE_F32, chunk, c->dim)
    ALLOC(xb, RLAE_F32, chunk, c->dim)
    ALLOC(xb2, RLAE_F32, chunk, c->dim)
    ALLOC(q, RLAE_F32, chunk, m->q_dim)
    ALLOC(att, RLAE_F32, chunk, m->q_dim)
    ALLOC(k, RLAE_F32, chunk, m->kv_dim)
    ALLOC(v, RLAE_F32, chunk, m->kv_dim)
    ALLOC(hb, RLAE_F32, chunk, c->hidden_dim)
    ALLOC(hb2, RLAE_F32, chunk, c->hidden_dim)
    ALLOC(tok, RLAE_I32, 1, chunk)
    ALLOC(pos, RLAE_I32, 1, chunk)
    ALLOC(slot, RLAE_I32, 1, chunk)
    ALLOC(last_row, RLAE_I32, 1, chunk)
    ALLOC(last_x, RLAE_F32, max_seqs, c->dim)
    ALLOC(last_h, RLAE_F32, max_seqs, c->dim)
    if (d == RLAE_DEV_CUDA) {
        ALLOC(att_part, RLAE_F32, 1, rlae_op_attention_scratch_numel(c->head_dim))
    }
#undef ALLOC
    if (s == RLAE_OK) {
        m->h_tok = rlae_malloc((size_t)chunk * sizeof(int32_t));
        m->h_pos = rlae_malloc((size_t)chunk * sizeof(int32_t));
        m->h_slot = rlae_malloc((size_t)chunk * sizeof(int32_t));
        m->h_last = rlae_malloc((size_t)chunk * sizeof(int32_t));
        if (!m->h_tok || !m->h_pos || !m->h_slot || !m->h_last)
            s = RLAE_ERR_NOMEM;
    }
    if (s != RLAE_OK) {
        rlae_wrap(s, "model %s: allocating forward scratch for %d rows: ", w->source, chunk);
        rlae_model_free(m);
    }
    return s;
}

/* Checks the request against the model and the cache before anything is touched, so that a failure
 * leaves the cache as it was. */
static rlae_status check_request(const rlae_model *m, const rlae_kv_cache *cache, int n_seqs, const int *seq_ids,
                                 const int *n_new, const int32_t *tokens, int64_t *total)
{
    const rlae_model_config *c = &m->w->cfg;
    if (cache->device != m->device || cache->n_layers != c->n_layers || cache->kv_dim != m->kv_dim)
        return rlae_fail(RLAE_ERR_RUNTIME, "forward: the KV cache (%d layers, kv_dim %d) does not belong to model %s",
                         cache->n_layers, cache->kv_dim, m->w->source);
    if (n_seqs < 1 || n_seqs > m->max_seqs)
        return rlae_fail(RLAE_ERR_RUNTIME, "forward: %d sequences in one call; this model was set up for 1..%d",
                         n_seqs, m->max_seqs);
    *total = 0;
    for (int i = 0; i < n_seqs; i++) {
        int sl = seq_ids[i];
        if (sl < 0 || sl >= cache->n_slots)
            return rlae_fail(RLAE_ERR_RUNTIME, "forward: sequence id %d outside the cache's 0..%d", sl,
                             cache->n_slots - 1);
        for (int j = 0; j < i; j++)
            if (seq_ids[j] == sl)
                return rlae_fail(RLAE_ERR_RUNTIME, "forward: sequence id %d appears twice in one call", sl);
        if (n_new[i] < 1)
            return rlae_fail(RLAE_ERR_RUNTIME, "forward: sequence %d appends %d tokens (need >= 1)", sl, n_new[i]);
        if ((int64_t)cache->len[sl] + n_new[i] > cache->capacity)
            return rlae_fail(RLAE_ERR_INPUT, "forward: sequence %d would reach %lld tokens, beyond the context of "
                             "%d positions", sl, (long long)cache->len[sl] + n_new[i], cache->capacity);
        *total += n_new[i];
    }
    for (int64_t t = 0; t < *total; t++)
        if (tokens[t] < 0 || tokens[t] >= c->vocab_size)
            return rlae_fail(RLAE_ERR_INPUT, "forward: token id %d is outside the vocabulary of %d (model %s)",
                             tokens[t], c->vocab_size, m->w->source);
    return RLAE_OK;
}

/* One transformer layer over the R rows of the current chunk (indices already on the device). */
static rlae_status layer_forward(rlae_model *m, rlae_kv_cache *cache, int l, int64_t R)
{
    const rlae_model_config *c = &m->w->cfg;
    const rlae_layer_weights *lw = &m->w->layers[l];
    rlae_tensor x = head_rows(&m->x, R), xb = head_rows(&m->xb, R), xb2 = head_rows(&m->xb2, R);
    rlae_tensor q = head_rows(&m->q, R), k = head_rows(&m->k, R), v = head_rows(&m->v, R);
    rlae_tensor att = head_rows(&m->att, R), hb = head_rows(&m->hb, R), hb2 = head_rows(&m->hb2, R);
    rlae_tensor pos = head_n(&m->pos, R), slot = head_n(&m->slot, R);
    rlae_tensor kc = rlae_kv_cache_layer_k(cache, l), vc = rlae_kv_cache_layer_v(cache, l);

    RLAE_TRY(rlae_op_rmsnorm(&xb, &x, &lw->attn_norm, c->norm_eps));
    rlae_tensor *qkv[3] = {&q, &k, &v};
    const rlae_tensor *w_qkv[3] = {&lw->wq, &lw->wk, &lw->wv}, *b_qkv[3] = {&lw->bq, &lw->bk, &lw->bv};
    RLAE_TRY(rlae_op_matmul_n(3, qkv, &xb, w_qkv, b_qkv));
    RLAE_TRY(rlae_op_rope(&q, &pos, c->n_heads, &m->rope));
    RLAE_TRY(rlae_op_rope(&k, &pos, c->n_kv_heads, &m->rope));
    /* Keys first, so that each row of the chunk sees the earlier rows of its own sequence. */
    RLAE_TRY(rlae_op_kv_store(&kc, &k, &slot, &pos));
    RLAE_TRY(rlae_op_kv_store(&vc, &v, &slot, &pos));
    RLAE_TRY(rlae_op_attention_ws(&att, &q, &kc, &vc, &slot, &pos, c->n_heads, c->n_kv_heads, &m->att_part));
    RLAE_TRY(rlae_op_matmul_acc(&x, &att, &lw->wo, &xb2));

    RLAE_TRY(rlae_op_rmsnorm(&xb, &x, &lw->ffn_norm, c->norm_eps));
    rlae_tensor *gate_up[2] = {&hb, &hb2};
    const rlae_tensor *w_gate_up[2] = {&lw->w_gate, &lw->w_up};
    RLAE_TRY(rlae_op_matmul_n(2, gate_up, &xb, w_gate_up, NULL));
    RLAE_TRY(rlae_op_swiglu(&hb, &hb, &hb2));
    RLAE_TRY(rlae_op_matmul_acc(&x, &hb, &lw->w_down, &xb2));
    return RLAE_OK;
}

/* The device work of one chunk whose indices (tok, pos, slot and the n_last rows of last_row) are
 * on the device: embeddings, the layers, the per-token outputs, and the pre-norm rows of the
 * sequences that end in this chunk, which land in consecutive rows of last_x from first_last_seq
 * (sequences end in order). */
static rlae_status chunk_forward(rlae_model *m, rlae_kv_cache *cache, int64_t t0, int64_t R, int n_last,
                                 int first_last_seq, float *logits_all, float *hidden_all)
{
    const rlae_model_config *c = &m->w->cfg;
    rlae_tensor x = head_rows(&m->x, R), tok = head_n(&m->tok, R);
    RLAE_TRY(rlae_op_gather_rows(&x, &m->w->tok_embeddings, &tok));
    for (int l = 0; l < c->n_layers; l++)
        RLAE_TRY(layer_forward(m, cache, l, R));
    if (logits_all || hidden_all) {
        int64_t shape_h[2] = {R, c->dim};
        rlae_tensor xb = hidden_all ? rlae_tensor_view(hidden_all + t0 * c->dim, RLAE_F32, m->device, 2, shape_h)
                                    : head_rows(&m->xb, R);
        RLAE_TRY(rlae_op_rmsnorm(&xb, &x, &m->w->final_norm, c->norm_eps));
        if (logits_all) {
            int64_t shape_v[2] = {R, c->vocab_size};
            rlae_tensor lg = rlae_tensor_view(logits_all + t0 * c->vocab_size, RLAE_F32, m->device, 2, shape_v);
            RLAE_TRY(rlae_op_matmul(&lg, &xb, &m->w->lm_head, NULL));
        }
    }
    if (n_last > 0) {
        rlae_tensor last = head_n(&m->last_row, n_last);
        rlae_tensor dst = row_range(&m->last_x, first_last_seq, n_last);
        RLAE_TRY(rlae_op_gather_rows(&dst, &x, &last));
    }
    return RLAE_OK;
}

/* The final norm of the n_seqs last rows (into hidden_out, or scratch) and their logits. */
static rlae_status head_forward(rlae_model *m, int n_seqs, float *logits_out, float *hidden_out)
{
    const rlae_model_config *c = &m->w->cfg;
    rlae_tensor lx = head_rows(&m->last_x, n_seqs);
    int64_t shape_h[2] = {n_seqs, c->dim};
    rlae_tensor h = hidden_out ? rlae_tensor_view(hidden_out, RLAE_F32, m->device, 2, shape_h)
                               : head_rows(&m->last_h, n_seqs);
    RLAE_TRY(rlae_op_rmsnorm(&h, &lx, &m->w->final_norm, c->norm_eps));
    if (logits_out) {
        int64_t shape_v[2] = {n_seqs, c->vocab_size};
        rlae_tensor lg = rlae_tensor_view(logits_out, RLAE_F32, m->device, 2, shape_v);
        RLAE_TRY(rlae_op_matmul(&lg, &h, &m->w->lm_head, NULL));
    }
    return RLAE_OK;
}

/* The graph slot of a decode step's key: the matching one, else a free or the least recently used
 * one (its graph freed), reset to this key. */
static struct rlae_forward_graph *graph_slot(rlae_model *m, const rlae_kv_cache *cache, int64_t R,
                                             const float *logits, const float *hidden)
{
    struct rlae_forward_graph *g = NULL, *lru = &m->graphs[0];
    for (int i = 0; i < RLAE_FORWARD_GRAPHS && !g; i++) {
        struct rlae_forward_graph *e = &m->graphs[i];
        if (e->seen && e->rows == R && e->cache_k == cache->k.data && e->cache_v == cache->v.data &&
            e->cache_slots == cache->n_slots && e->cache_capacity == cache->capacity && e->logits == logits &&
            e->hidden == hidden)
            g = e;
        else if (e->used < lru->used)
            lru = e;
    }
    if (!g) {
        g = lru;
        rlae_ops_graph_free(g->graph);
        *g = (struct rlae_forward_graph){.rows = R, .cache_k = cache->k.data, .cache_v = cache->v.data,
                                         .cache_slots = cache->n_slots, .cache_capacity = cache->capacity,
                                         .logits = logits, .hidden = hidden};
    }
    g->used = ++m->graph_clock;
    return g;
}

/* One decode step of R sequences (rows 0..R-1, indices on the device): eagerly the first time its
 * key is seen (which also lets every lazily grown buffer reach its size outside a capture), then
 * captured into a graph, then replayed. */
static rlae_status decode_step(rlae_model *m, rlae_kv_cache *cache, int64_t R, float *logits_out, float *hidden_out)
{
    struct rlae_forward_graph *g = graph_slot(m, cache, R, logits_out, hidden_out);
    if (!g->seen) {
        g->seen = 1;
        RLAE_TRY(chunk_forward(m, cache, 0, R, (int)R, 0, NULL, NULL));
        return head_forward(m, (int)R, logits_out, hidden_out);
    }
    if (!g->graph) {
        RLAE_TRY(rlae_ops_capture_begin(m->device));
        rlae_status s = chunk_forward(m, cache, 0, R, (int)R, 0, NULL, NULL);
        if (s == RLAE_OK)
            s = head_forward(m, (int)R, logits_out, hidden_out);
        rlae_status e = rlae_ops_capture_end(m->device, s == RLAE_OK, &g->graph);
        if (s != RLAE_OK || e != RLAE_OK) {
            g->seen = 0; /* the next step runs eagerly and tries again */
            return rlae_wrap(s != RLAE_OK ? s : e, "forward: capturing a decode step (set RLAE_CUDA_GRAPHS=0 to run "
                             "without CUDA graphs): ");
        }
    }
    RLAE_TRY(rlae_ops_graph_launch(m->device, g->graph));
    m->graph_replays++;
    return RLAE_OK;
}

static rlae_status forward_impl(rlae_model *m, rlae_kv_cache *cache, int n_seqs, const int *seq_ids,
                                const int *n_new, const int32_t *tokens, float *logits_all, float *hidden_all,
                                float *logits_out, float *hidden_out)
{
    int64_t total = 0;
    RLAE_TRY(check_request(m, cache, n_seqs, seq_ids, n_new, tokens, &total));
    int need_last = logits_out || hidden_out;
    /* A decode step (one new token per sequence, all in one chunk) runs through a CUDA graph. */
    int decode = m->use_graphs && need_last && !logits_all && !hidden_all && total == n_seqs && total <= m->chunk;

    /* Walk the flattened tokens chunk by chunk; (s, o) is the sequence and offset of the next row. */
    int s = 0, o = 0;
    for (int64_t t0 = 0; t0 < total; t0 += m->chunk) {
        int64_t R = total - t0 < m->chunk ? total - t0 : m->chunk;
        int n_last = 0, first_last_seq = -1;
        for (int64_t r = 0; r < R; r++) {
            m->h_tok[r] = tokens[t0 + r];
            m->h_slot[r] = seq_ids[s];
            m->h_pos[r] = cache->len[seq_ids[s]] + o;
            if (++o == n_new[s]) { /* row r is the last new token of sequence s */
                if (first_last_seq < 0)
                    first_last_seq = s;
                m->h_last[n_last++] = (int32_t)r;
                s++;
                o = 0;
            }
        }
        int64_t shape_r[1] = {R};
        rlae_tensor h_tok = rlae_tensor_view(m->h_tok, RLAE_I32, RLAE_DEV_CPU, 1, shape_r);
        rlae_tensor h_pos = rlae_tensor_view(m->h_pos, RLAE_I32, RLAE_DEV_CPU, 1, shape_r);
        rlae_tensor h_slot = rlae_tensor_view(m->h_slot, RLAE_I32, RLAE_DEV_CPU, 1, shape_r);
        rlae_tensor tok = head_n(&m->tok, R), pos = head_n(&m->pos, R), slot = head_n(&m->slot, R);
        RLAE_TRY(rlae_op_copy(&tok, &h_tok));
        RLAE_TRY(rlae_op_copy(&pos, &h_pos));
        RLAE_TRY(rlae_op_copy(&slot, &h_slot));

        if (need_last && n_last > 0) {
            int64_t shape_n[1] = {n_last};
            rlae_tensor h_last = rlae_tensor_view(m->h_last, RLAE_I32, RLAE_DEV_CPU, 1, shape_n);
            rlae_tensor last = head_n(&m->last_row, n_last);
            RLAE_TRY(rlae_op_copy(&last, &h_last));
        }
        if (decode) { /* one chunk holds the whole step (total == n_seqs <= chunk) */
            RLAE_TRY(decode_step(m, cache, R, logits_out, hidden_out));
            break;
        }
        RLAE_TRY(chunk_forward(m, cache, t0, R, need_last ? n_last : 0, first_last_seq, logits_all, hidden_all));
    }

    if (need_last && !decode)
        RLAE_TRY(head_forward(m, n_seqs, logits_out, hidden_out));
    for (int i = 0; i < n_seqs; i++)
        cache->len[seq_ids[i]] += n_new[i];
    return RLAE_OK;
}

rlae_status rlae_forward(rlae_model *m, rlae_kv_cache *cache, int n_seqs, const int *seq_ids,
                         const int *n_new_tokens, const int32_t *tokens, float *logits_out, float *hidden_out)
{
    return forward_impl(m, cache, n_seqs, seq_ids, n_new_tokens, tokens, NULL, NULL, logits_out, hidden_out);
}

rlae_status rlae_forward_all(rlae_model *m, rlae_kv_cache *cache, int n_seqs, const int *seq_ids,
                             const int *n_new_tokens, const int32_t *tokens, float *logits_all, float *logits_out,
                             float *hidden_out)
{
    return forward_impl(m, cache, n_seqs, seq_ids, n_new_tokens, tokens, logits_all, NULL, logits_out, hidden_out);
}

rlae_status rlae_forward_hidden_all(rlae_model *m, rlae_kv_cache *cache, int n_seqs, const int *seq_ids,
                                    const int *n_new_tokens, const int32_t *tokens, float *hidden_all)
{
    return forward_impl(m, cache, n_seqs, seq_ids, n_new_tokens, tokens, NULL, hidden_all, NULL, NULL);
}
