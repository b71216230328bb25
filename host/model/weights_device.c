/* Moving a loaded model onto its compute device and dtype (weights.h rlae_model_weights_to_device),
 * and the helpers both this and weights_random.c need to walk a model's tensors. The loaders always
 * produce fp32 CPU tensors; this is the single place where weights change device or dtype, once,
 * before rlae_model_init. Conversion to bf16 happens on the host (rlae_f32_to_bf16, round to
 * nearest even), one tensor at a time, so the extra host memory is one matrix in bf16. */
#include "model/weights_internal.h"

#include <stdlib.h>
#include <string.h>

#include "ops.h"

int rlae_weights_tensor_list(rlae_model_weights *w, rlae_weight_ref *out, int cap)
{
    int n = 0;
#define ADD(ptr, k)                                \
    do {                                           \
        if (n < cap) {                             \
            out[n].t = (ptr);                      \
            out[n].kind = RLAE_WREF_##k;           \
        }                                          \
        n++;                                       \
    } while (0)
    ADD(&w->tok_embeddings, MATRIX);
    for (int l = 0; l < w->cfg.n_layers && w->layers; l++) {
        rlae_layer_weights *lw = &w->layers[l];
        ADD(&lw->attn_norm, NORM);
        ADD(&lw->wq, MATRIX);
        ADD(&lw->wk, MATRIX);
        ADD(&lw->wv, MATRIX);
        ADD(&lw->bq, BIAS);
        ADD(&lw->bk, BIAS);
        ADD(&lw->bv, BIAS);
        ADD(&lw->wo, MATRIX);
        ADD(&lw->ffn_norm, NORM);
        ADD(&lw->w_gate, MATRIX);
        ADD(&lw->w_up, MATRIX);
        ADD(&lw->w_down, MATRIX);
    }
    ADD(&w->final_norm, NORM);
    ADD(&w->lm_head, MATRIX);
#undef ADD
    return n;
}

int rlae_weights_tensor_count(const rlae_model_weights *w) { return 1 + 12 * w->cfg.n_layers + 2; }

size_t rlae_model_weights_bytes(const rlae_model_weights *w)
{
    int n = rlae_weights_tensor_count(w);
    rlae_weight_ref *refs = rlae_malloc((size_t)n * sizeof *refs);
    if (!refs)
        return 0;
    n = rlae_weights_tensor_list((rlae_model_weights *)w, refs, n);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        const rlae_tensor *t = refs[i].t;
        if (!t->data || (t == &w->lm_head && t->data == w->tok_embeddings.data))
            continue;
        total += rlae_tensor_nbytes(t);
    }
    free(refs);
    return total;
}

/* Uploads one fp32 CPU tensor as `dtype` on `dev` into *dst (owned). */
static rlae_status upload(rlae_tensor *dst, const rlae_tensor *src, rlae_device dev, rlae_dtype dtype)
{
    RLAE_TRY(rlae_ops_tensor_alloc(dst, dtype, dev, src->ndim, src->shape));
    if (dtype == RLAE_F32)
        return rlae_op_copy(dst, src);
    int64_t n = rlae_tensor_numel(src);
    uint16_t *tmp = rlae_malloc((size_t)(n ? n : 1) * sizeof(uint16_t));
    if (!tmp)
        return RLAE_ERR_NOMEM;
    const float *f = src->data;
    for (int64_t i = 0; i < n; i++)
        tmp[i] = rlae_f32_to_bf16(f[i]);
    rlae_tensor view = rlae_tensor_view(tmp, RLAE_BF16, RLAE_DEV_CPU, src->ndim, src->shape);
    rlae_status s = rlae_op_copy(dst, &view);
    free(tmp);
    return s;
}

rlae_status rlae_model_weights_to_device(rlae_model_weights *w, rlae_device dev, rlae_dtype matrix_dtype)
{
    if (matrix_dtype != RLAE_F32 && matrix_dtype != RLAE_BF16)
        return rlae_fail(RLAE_ERR_INPUT, "model %s: weights can be converted to f32 or bf16, not %s", w->source,
                         rlae_dtype_name(matrix_dtype));
    if (matrix_dtype == RLAE_BF16 && dev != RLAE_DEV_CUDA)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "model %s: bf16 weights run on a CUDA device only; use f32 on the "
                         "CPU", w->source);
    if (w->tok_embeddings.device != RLAE_DEV_CPU || w->tok_embeddings.dtype != RLAE_F32)
        return rlae_fail(RLAE_ERR_RUNTIME, "model %s: already moved to %s (%s); weights move once, from the CPU",
                         w->source, w->tok_embeddings.device == RLAE_DEV_CUDA ? "cuda" : "cpu",
                         rlae_dtype_name(w->tok_embeddings.dtype));
    if (dev == RLAE_DEV_CPU)
        return RLAE_OK;

    /* Build the device copy in `d` (same config and layer count), then swap it in: on failure the
     * CPU model is untouched and the partial device copy is freed. */
    rlae_model_weights d;
    memset(&d, 0, sizeof d);
    d.cfg = w->cfg;
    memcpy(d.source, w->source, sizeof d.source);
    d.layers = rlae_calloc((size_t)(w->cfg.n_layers > 0 ? w->cfg.n_layers : 1), sizeof *d.layers);
    int n = rlae_weights_tensor_count(w);
    rlae_weight_ref *src = rlae_malloc((size_t)n * sizeof *src), *dst = rlae_malloc((size_t)n * sizeof *dst);
    rlae_status s = d.layers && src && dst ? RLAE_OK : RLAE_ERR_NOMEM;
    if (s == RLAE_OK) {
        rlae_weights_tensor_list(w, src, n);
        rlae_weights_tensor_list(&d, dst, n);
    }
    int tied = w->lm_head.data == w->tok_embeddings.data;
    for (int i = 0; s == RLAE_OK && i < n; i++) {
        if (!src[i].t->data)
            continue; /* absent biases */
        if (tied && src[i].t == &w->lm_head) {
            d.lm_head = d.tok_embeddings;
            d.lm_head.owned = 0;
            continue;
        }
        s = upload(dst[i].t, src[i].t, dev, src[i].kind == RLAE_WREF_MATRIX ? matrix_dtype : RLAE_F32);
    }
    if (s == RLAE_OK)
        s = rlae_ops_sync(dev); /* uploads from pageable memory are done, but say so explicitly */
    free(src);
    free(dst);
    if (s != RLAE_OK) {
        rlae_model_weights_free(&d);
        return rlae_wrap(s, "model %s: moving the weights to %s as %s: ", w->source, dev == RLAE_DEV_CUDA ? "cuda" : "cpu",
                         rlae_dtype_name(matrix_dtype));
    }
    rlae_model_weights_free(w);
    *w = d;
    return RLAE_OK;
}
