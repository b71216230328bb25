/* Loader for llama2.c legacy checkpoints (Karpathy's run.c format, "version 0"):
 *   int32 dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len  (vocab < 0: untied)
 *   fp32 token_embedding[vocab][dim], rms_att[L][dim], wq[L][dim][dim], wk[L][kv_dim][dim],
 *   wv[L][kv_dim][dim], wo[L][dim][dim], rms_ffn[L][dim], w1[L][hidden][dim], w2[L][dim][hidden],
 *   w3[L][hidden][dim], rms_final[dim], freq_cis_real[seq][hs/2], freq_cis_imag[seq][hs/2],
 *   (wcls[vocab][dim] when untied).
 * llama2.c rotates interleaved pairs; we permute wq/wk to Hugging Face order (weights.h).
 * The file is mmapped and its exact length is checked against the header before any tensor is
 * copied, so no input can make the loader read past the end. */
#include "model/llama2c_file.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mmap_file.h"
#include "ops.h"

void rlae_permute_rope_rows_to_hf(float *w, int n_heads, int head_dim, int in_dim)
{
    size_t row_bytes = (size_t)in_dim * sizeof(float);
    float *tmp = malloc((size_t)head_dim * row_bytes);
    RLAE_ASSERT(tmp != NULL);
    for (int h = 0; h < n_heads; h++) {
        float *head = w + (size_t)h * head_dim * in_dim;
        for (int r = 0; r < head_dim; r++) {
            int src = r < head_dim / 2 ? 2 * r : 2 * (r - head_dim / 2) + 1;
            memcpy(tmp + (size_t)r * in_dim, head + (size_t)src * in_dim, row_bytes);
        }
        memcpy(head, tmp, (size_t)head_dim * row_bytes);
    }
    free(tmp);
}

void rlae_model_weights_free(rlae_model_weights *w)
{
    if (w->layers) {
        for (int l = 0; l < w->cfg.n_layers; l++) {
            rlae_layer_weights *lw = &w->layers[l];
            rlae_tensor *all[] = {&lw->attn_norm, &lw->wq, &lw->wk, &lw->wv, &lw->bq, &lw->bk,
                                  &lw->bv, &lw->wo, &lw->ffn_norm, &lw->w_gate, &lw->w_up, &lw->w_down};
            for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
                rlae_ops_tensor_free(all[i]);
        }
        free(w->layers);
    }
    if (w->lm_head.data == w->tok_embeddings.data)
        w->lm_head.owned = 0;
    rlae_ops_tensor_free(&w->lm_head);
    rlae_ops_tensor_free(&w->tok_embeddings);
    rlae_ops_tensor_free(&w->final_norm);
    memset(w, 0, sizeof *w);
}

/* Copies the next d0*d1 floats at the cursor into a new owned CPU tensor. The caller has checked the
 * buffer length against the header, so the cursor cannot run past the end; memcpy because the
 * buffer (an mmap, or a fuzzer's bytes) need not be 4-byte aligned. */
static rlae_status take_tensor(const uint8_t **cur, int ndim, int64_t d0, int64_t d1, rlae_tensor *out)
{
    int64_t shape[2] = {d0, d1};
    *out = rlae_tensor_view(NULL, RLAE_F32, RLAE_DEV_CPU, ndim, shape);
    size_t n = (size_t)rlae_tensor_numel(out);
    out->data = rlae_malloc(n * sizeof(float));
    if (!out->data)
        return RLAE_ERR_NOMEM;
    out->owned = 1;
    memcpy(out->data, *cur, n * sizeof(float));
    *cur += n * sizeof(float);
    return RLAE_OK;
}

/* llama2.c's export.py --version 1/2 files start with this magic ("ak42" read as little-endian). */
#define LLAMA2C_MAGIC 0x616b3432u

/* The header of a checkpoint of `size` bytes starting at buf -> *c, with every check (plausible
 * sizes, consistent heads, file length exactly what the header implies); the body is not read. */
static rlae_status parse_header(const uint8_t *buf, size_t size, const char *path, rlae_model_config *c)
{
    if (size < 28)
        return rlae_fail(RLAE_ERR_INPUT, "%s: file is %zu bytes, too short for a llama2.c checkpoint header (28 "
                         "bytes)", path, size);
    int32_t hdr[7];
    memcpy(hdr, buf, sizeof hdr); /* the format is little-endian, as are all hosts rlae targets */
    if ((uint32_t)hdr[0] == LLAMA2C_MAGIC)
        return rlae_fail(RLAE_ERR_INPUT, "%s: this is a llama2.c version %d export (magic \"ak42\"); rlae reads the "
                         "legacy format: re-export with export.py --version 0", path, hdr[1]);
    memset(c, 0, sizeof *c);
    snprintf(c->arch, sizeof c->arch, "llama");
    /* vocab < 0 flags an untied classifier; widen before negating so INT32_MIN cannot overflow. */
    int64_t vocab = hdr[5] < 0 ? -(int64_t)hdr[5] : hdr[5];
    c->dim = hdr[0];
    c->hidden_dim = hdr[1];
    c->n_layers = hdr[2];
    c->n_heads = hdr[3];
    c->n_kv_heads = hdr[4];
    c->tied_embeddings = hdr[5] > 0;
    c->max_seq_len = hdr[6];
    c->norm_eps = 1e-5f;
    c->rope_theta = 10000.0f;
    c->bos_id = 1;
    c->eos_id = 2;
    if (c->dim <= 0 || c->hidden_dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 ||
        vocab <= 0 || c->max_seq_len <= 0 || c->dim > (1 << 16) || c->hidden_dim > (1 << 18) ||
        c->n_layers > 1024 || vocab > (1 << 22) || c->max_seq_len > (1 << 22))
        return rlae_fail(RLAE_ERR_INPUT,
                         "%s: implausible llama2.c header (dim %d, hidden %d, layers %d, heads %d, kv heads %d, "
                         "vocab %d, seq %d); is this a llama2.c legacy checkpoint?",
                         path, hdr[0], hdr[1], hdr[2], hdr[3], hdr[4], hdr[5], hdr[6]);
    c->vocab_size = (int)vocab;
    if (c->dim % c->n_heads != 0 || c->n_heads % c->n_kv_heads != 0 || (c->dim / c->n_heads) % 2 != 0)
        return rlae_fail(RLAE_ERR_INPUT, "%s: dim %d, heads %d, kv heads %d are inconsistent (need dim %% heads == 0, "
                         "heads %% kv_heads == 0, even head size)", path, c->dim, c->n_heads, c->n_kv_heads);
    c->head_dim = c->dim / c->n_heads;
    /* The caps above bound every product below far inside int64 (largest term ~2^46 floats). */
    int64_t D = c->dim, H = c->hidden_dim, L = c->n_layers, V = c->vocab_size, hs = c->head_dim;
    int64_t kv_dim = (int64_t)c->n_kv_heads * hs, S = c->max_seq_len;
    int64_t floats = V * D + L * (2 * D + D * D * 2 + kv_dim * D * 2 + 3 * H * D) + D + S * hs +
                     (c->tied_embeddings ? 0 : V * D);
    int64_t expect = 28 + floats * 4;
    if ((uint64_t)expect != size)
        return rlae_fail(RLAE_ERR_INPUT, "%s: file is %zu bytes but its header (dim %d, hidden %d, layers %d, kv heads "
                         "%d, vocab %d, seq %d, %s classifier) implies %lld bytes; the file is truncated or not a "
                         "llama2.c legacy checkpoint", path, size, c->dim, c->hidden_dim, c->n_layers, c->n_kv_heads,
                         c->vocab_size, c->max_seq_len, c->tied_embeddings ? "tied" : "untied", (long long)expect);
    return RLAE_OK;
}

static rlae_status load_body(const uint8_t *buf, size_t size, const char *path, rlae_model_weights *w)
{
    rlae_model_config *c = &w->cfg;
    RLAE_TRY(parse_header(buf, size, path, c));
    int64_t D = c->dim, H = c->hidden_dim, L = c->n_layers, V = c->vocab_size, hs = c->head_dim;
    int64_t kv_dim = (int64_t)c->n_kv_heads * hs, S = c->max_seq_len;
    w->layers = rlae_calloc((size_t)L, sizeof *w->layers);
    if (!w->layers)
        return RLAE_ERR_NOMEM;
    const uint8_t *cur = buf + 28;
    RLAE_TRY(take_tensor(&cur, 2, V, D, &w->tok_embeddings));
    /* Per-kind stacked tensors are stored layer by layer in file order. */
    for (int l = 0; l < L; l++)
        RLAE_TRY(take_tensor(&cur, 1, D, 0, &w->layers[l].attn_norm));
    for (int l = 0; l < L; l++)
        RLAE_TRY(take_tensor(&cur, 2, D, D, &w->layers[l].wq));
    for (int l = 0; l < L; l++)
        RLAE_TRY(take_tensor(&cur, 2, kv_dim, D, &w->layers[l].wk));
    for (int l = 0; l < L; l++)
        RLAE_TRY(take_tensor(&cur, 2, kv_dim, D, &w->layers[l].wv));
    for (int l = 0; l < L; l++)
        RLAE_TRY(take_tensor(&cur, 2, D, D, &w->layers[l].wo));
    for (int l = 0; l < L; l++)
        RLAE_TRY(take_tensor(&cur, 1, D, 0, &w->layers[l].ffn_norm));
    for (int l = 0; l < L; l++)
        RLAE_TRY(take_tensor(&cur, 2, H, D, &w->layers[l].w_gate));
    for (int l = 0; l < L; l++)
        RLAE_TRY(take_tensor(&cur, 2, D, H, &w->layers[l].w_down));
    for (int l = 0; l < L; l++)
        RLAE_TRY(take_tensor(&cur, 2, H, D, &w->layers[l].w_up));
    RLAE_TRY(take_tensor(&cur, 1, D, 0, &w->final_norm));
    cur += S * hs * 4; /* freq_cis tables: recomputed from rope_theta by the forward */
    if (c->tied_embeddings) {
        w->lm_head = w->tok_embeddings;
        w->lm_head.owned = 0;
    } else {
        RLAE_TRY(take_tensor(&cur, 2, V, D, &w->lm_head));
    }
    RLAE_ASSERT(cur == buf + size);
    for (int l = 0; l < L; l++) {
        rlae_permute_rope_rows_to_hf(w->layers[l].wq.data, c->n_heads, c->head_dim, c->dim);
        rlae_permute_rope_rows_to_hf(w->layers[l].wk.data, c->n_kv_heads, c->head_dim, c->dim);
    }
    return RLAE_OK;
}

rlae_status rlae_llama2c_load_memory(const void *data, size_t size, const char *label, rlae_model_weights *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->source, sizeof out->source, "%s", label);
    rlae_status s = load_body(data, data ? size : 0, label, out);
    if (s != RLAE_OK)
        rlae_model_weights_free(out);
    return s;
}

rlae_status rlae_llama2c_load(const char *path, rlae_model_weights *out)
{
    memset(out, 0, sizeof *out);
    rlae_mmap_file m;
    rlae_status s = rlae_mmap_open(&m, path);
    if (s != RLAE_OK)
        return s; /* the message names the path and the system's reason */
    /* The mapping is only read while copying into owned tensors, so it is closed right after. */
    s = rlae_llama2c_load_memory(m.data, m.size, path, out);
    rlae_mmap_close(&m);
    return s;
}

rlae_status rlae_llama2c_read_config(const char *path, rlae_model_config *out)
{
    memset(out, 0, sizeof *out);
    rlae_mmap_file m;
    RLAE_TRY(rlae_mmap_open(&m, path));
    /* only the header's page is touched: the body's pages are never read in */
    rlae_status s = parse_header(m.data, m.data ? m.size : 0, path, out);
    rlae_mmap_close(&m);
    if (s != RLAE_OK)
        memset(out, 0, sizeof *out);
    return s;
}
