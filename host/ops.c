/* Validation and device dispatch of the ops API (host/ops.h).
 *
 * Every op: (1) checks its tensors (present, dtype, shapes agree, one device); (2) on the CPU,
 * checks index ranges, which are cheap to read there; (3) dispatches: to rlae_cpu_<op> (ops_cpu.c)
 * or, in a CUDA build, to the launcher rlae_cuda_<op> (cuda/launch.h) with the same raw arguments
 * plus this thread's ops stream. In a build without CUDA a CUDA tensor is RLAE_ERR_UNSUPPORTED
 * naming the op (cuda_missing). A failing launcher's message is prefixed with "op NAME: ". */
#include "ops.h"

#include "ops_cpu.h"
#include "ops_hash.h"

#include <stdlib.h>
#include <string.h>

#ifdef RLAE_HAVE_CUDA
#include "cuda/launch.h"
#endif

static _Thread_local void *ops_stream; /* this thread's CUDA stream for ops; NULL = default stream */

void rlae_ops_set_cuda_stream(void *stream) { ops_stream = stream; }
void *rlae_ops_cuda_stream(void) { return ops_stream; }

#ifdef RLAE_HAVE_CUDA
/* Dispatches a CUDA launcher call, naming the op if it fails. */
#define CUDA_OP(op, call)                                    \
    do {                                                     \
        rlae_status cuda_op_s_ = (call);                     \
        if (cuda_op_s_ != RLAE_OK)                           \
            return rlae_wrap(cuda_op_s_, "op %s: ", (op));   \
        return RLAE_OK;                                      \
    } while (0)
#else
static rlae_status cuda_missing(const char *op)
{
    return rlae_fail(RLAE_ERR_UNSUPPORTED, "op %s: tensor is on a CUDA device but this build of rlae has no "
                     "CUDA backend; rebuild with -DRLAE_CUDA=ON or use device: cpu", op);
}
#define CUDA_OP(op, call) return cuda_missing(op)
#endif

rlae_status rlae_ops_sync(rlae_device dev)
{
    if (dev != RLAE_DEV_CUDA)
        return RLAE_OK;
    CUDA_OP("sync", rlae_cuda_stream_sync(ops_stream));
}

#ifdef RLAE_HAVE_CUDA
static _Thread_local void *capture_prev; /* the ops stream before the capture, restored after it */
#endif

rlae_status rlae_ops_capture_begin(rlae_device dev)
{
    if (dev != RLAE_DEV_CUDA)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "op graphs record CUDA ops only");
#ifdef RLAE_HAVE_CUDA
    void *s = NULL;
    RLAE_TRY(rlae_cuda_graph_stream(ops_stream, &s));
    RLAE_TRY(rlae_cuda_capture_begin(s));
    capture_prev = ops_stream;
    ops_stream = s;
    return RLAE_OK;
#else
    return cuda_missing("capture_begin");
#endif
}

rlae_status rlae_ops_capture_end(rlae_device dev, int keep, void **graph)
{
    *graph = NULL;
    if (dev != RLAE_DEV_CUDA)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "op graphs record CUDA ops only");
#ifdef RLAE_HAVE_CUDA
    void *s = ops_stream;
    ops_stream = capture_prev;
    CUDA_OP("capture_end", rlae_cuda_capture_end(s, keep, graph));
#else
    (void)keep;
    return cuda_missing("capture_end");
#endif
}

rlae_status rlae_ops_graph_launch(rlae_device dev, void *graph)
{
    if (dev != RLAE_DEV_CUDA || !graph)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "op graphs replay CUDA ops only");
#ifdef RLAE_HAVE_CUDA
    void *s = NULL;
    RLAE_TRY(rlae_cuda_graph_stream(ops_stream, &s));
    CUDA_OP("graph_launch", rlae_cuda_graph_launch(graph, s));
#else
    return cuda_missing("graph_launch");
#endif
}

void rlae_ops_graph_free(void *graph)
{
#ifdef RLAE_HAVE_CUDA
    rlae_cuda_graph_free(graph);
#else
    (void)graph;
#endif
}

static int64_t cols(const rlae_tensor *t) { return t->ndim > 0 ? t->shape[t->ndim - 1] : 1; }
static int64_t rows(const rlae_tensor *t)
{
    int64_t c = cols(t);
    return c > 0 ? rlae_tensor_numel(t) / c : 0;
}

static rlae_status need(const char *op, const char *name, const rlae_tensor *t, rlae_dtype dtype)
{
    if (!t || !t->data)
        return rlae_fail(RLAE_ERR_RUNTIME, "op %s: tensor %s is missing", op, name);
    if (t->dtype != dtype)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "op %s: tensor %s is %s, this op takes %s", op, name,
                         rlae_dtype_name(t->dtype), rlae_dtype_name(dtype));
    if (t->ndim < 1 || t->ndim > RLAE_MAX_DIMS)
        return rlae_fail(RLAE_ERR_RUNTIME, "op %s: tensor %s has %d dimensions", op, name, t->ndim);
    return RLAE_OK;
}

static rlae_status same_device(const char *op, const rlae_tensor *a, const rlae_tensor *b)
{
    if (a->device != b->device)
        return rlae_fail(RLAE_ERR_RUNTIME, "op %s: tensors on different devices (%s and %s)", op,
                         a->device == RLAE_DEV_CPU ? "cpu" : "cuda", b->device == RLAE_DEV_CPU ? "cpu" : "cuda");
    return RLAE_OK;
}

static rlae_status shape_error(const char *op, const char *what, long long a, long long b)
{
    return rlae_fail(RLAE_ERR_RUNTIME, "op %s: %s (%lld vs %lld)", op, what, a, b);
}

/* ---- memory ---------------------------------------------------------------------------------- */

rlae_status rlae_ops_tensor_alloc(rlae_tensor *t, rlae_dtype dtype, rlae_device dev, int ndim, const int64_t *shape)
{
    *t = rlae_tensor_view(NULL, dtype, dev, ndim, shape);
    size_t n = rlae_tensor_nbytes(t);
    if (dev == RLAE_DEV_CUDA) {
#ifdef RLAE_HAVE_CUDA
        /* zero-filled like the CPU branch; a 0-byte tensor gets a 1-byte block so data != NULL */
        rlae_status s = rlae_cuda_malloc(&t->data, n ? n : 1);
        if (s == RLAE_OK)
            s = rlae_cuda_memset(t->data, 0, n, ops_stream);
        if (s != RLAE_OK) {
            rlae_cuda_free(t->data);
            t->data = NULL;
            return rlae_wrap(s, "op tensor_alloc: ");
        }
        t->owned = 1;
        return RLAE_OK;
#else
        return cuda_missing("tensor_alloc");
#endif
    }
    t->data = rlae_calloc(n ? n : 1, 1);
    if (!t->data)
        return RLAE_ERR_NOMEM;
    t->owned = 1;
    return RLAE_OK;
}

void rlae_ops_tensor_free(rlae_tensor *t)
{
#ifdef RLAE_HAVE_CUDA
    if (t->owned && t->device == RLAE_DEV_CUDA && t->data) {
        /* cudaFree waits for the work using it; a failure here (a dead context) has nowhere to go */
        if (rlae_cuda_free(t->data) != RLAE_OK)
            rlae_clear_error();
        t->data = NULL;
    }
#endif
    rlae_tensor_free(t);
}

rlae_status rlae_op_copy(rlae_tensor *dst, const rlae_tensor *src)
{
    if (!dst || !src || !dst->data || !src->data)
        return rlae_fail(RLAE_ERR_RUNTIME, "op copy: tensor is missing");
    if (dst->dtype != src->dtype || rlae_tensor_numel(dst) != rlae_tensor_numel(src))
        return rlae_fail(RLAE_ERR_RUNTIME, "op copy: %s[%lld] <- %s[%lld] do not match", rlae_dtype_name(dst->dtype),
                         (long long)rlae_tensor_numel(dst), rlae_dtype_name(src->dtype),
                         (long long)rlae_tensor_numel(src));
    if (dst->device == RLAE_DEV_CUDA || src->device == RLAE_DEV_CUDA) {
        if (dst->device == RLAE_DEV_CPU)
            CUDA_OP("copy", rlae_cuda_memcpy_d2h(dst->data, src->data, rlae_tensor_nbytes(src), ops_stream));
        if (src->device == RLAE_DEV_CPU)
            CUDA_OP("copy", rlae_cuda_memcpy_h2d(dst->data, src->data, rlae_tensor_nbytes(src), ops_stream));
        if (dst->data == src->data)
            return RLAE_OK;
        CUDA_OP("copy", rlae_cuda_memcpy_d2d(dst->data, src->data, rlae_tensor_nbytes(src), ops_stream));
    }
    if (dst->data != src->data)
        memmove(dst->data, src->data, rlae_tensor_nbytes(src));
    return RLAE_OK;
}

/* ---- linear algebra -------------------------------------------------------------------------- */

/* The checks of one matmul; *n_rows, *in, *out and *has_bias describe it. */
static rlae_status matmul_check(const rlae_tensor *y, const rlae_tensor *x, const rlae_tensor *w,
                                const rlae_tensor *bias, int64_t *n_rows, int64_t *in_, int64_t *out_, int *has_bias_)
{
    const char *op = "matmul";
    RLAE_TRY(need(op, "y", y, RLAE_F32));
    RLAE_TRY(need(op, "x", x, RLAE_F32));
    RLAE_TRY(need(op, "W", w, w && w->device == RLAE_DEV_CUDA && w->dtype == RLAE_BF16 ? RLAE_BF16 : RLAE_F32));
    RLAE_TRY(same_device(op, y, x));
    RLAE_TRY(same_device(op, y, w));
    int has_bias = bias && bias->data;
    int64_t n = rows(x), in = cols(x), out = rows(w);
    if (w->ndim != 2 || w->shape[1] != in)
        return shape_error(op, "x columns must equal W columns (W is [out, in])", in, cols(w));
    if (rows(y) != n || cols(y) != out)
        return shape_error(op, "y must be [rows of x, rows of W]; rows", rows(y), n);
    if (has_bias) {
        RLAE_TRY(need(op, "bias", bias, RLAE_F32));
        RLAE_TRY(same_device(op, y, bias));
        if (rlae_tensor_numel(bias) != out)
            return shape_error(op, "bias length must equal rows of W", rlae_tensor_numel(bias), out);
    }
    if (n > INT32_MAX || in > INT32_MAX || out > INT32_MAX)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "op matmul: dimension above 2^31 (BLAS takes int)");
    *n_rows = n, *in_ = in, *out_ = out, *has_bias_ = has_bias;
    return RLAE_OK;
}

rlae_status rlae_op_matmul(rlae_tensor *y, const rlae_tensor *x, const rlae_tensor *w, const rlae_tensor *bias)
{
    const char *op = "matmul";
    int64_t n, in, out;
    int has_bias;
    RLAE_TRY(matmul_check(y, x, w, bias, &n, &in, &out, &has_bias));
    if (y->device == RLAE_DEV_CUDA) {
        if (w->dtype == RLAE_BF16)
            CUDA_OP(op, rlae_cuda_matmul_bf16w(y->data, x->data, w->data, has_bias ? bias->data : NULL, n, in, out, 0,
                                               ops_stream));
        CUDA_OP(op, rlae_cuda_matmul(y->data, x->data, w->data, has_bias ? bias->data : NULL, n, in, out, 0,
                                     ops_stream));
    }
    if (n > 0)
        rlae_cpu_matmul(y->data, x->data, w->data, has_bias ? bias->data : NULL, n, in, out);
    return RLAE_OK;
}

rlae_status rlae_op_matmul_acc(rlae_tensor *y, const rlae_tensor *x, const rlae_tensor *w, rlae_tensor *scratch)
{
    const char *op = "matmul_acc";
    int64_t n, in, out;
    int has_bias;
    RLAE_TRY(matmul_check(y, x, w, NULL, &n, &in, &out, &has_bias));
    if (y->device == RLAE_DEV_CUDA) {
        if (w->dtype == RLAE_BF16)
            CUDA_OP(op, rlae_cuda_matmul_bf16w(y->data, x->data, w->data, NULL, n, in, out, 1, ops_stream));
        CUDA_OP(op, rlae_cuda_matmul(y->data, x->data, w->data, NULL, n, in, out, 1, ops_stream));
    }
    RLAE_TRY(need(op, "scratch", scratch, RLAE_F32));
    RLAE_TRY(same_device(op, y, scratch));
    if (rlae_tensor_numel(scratch) != n * out)
        return shape_error(op, "scratch must hold rows of x times rows of W elements", rlae_tensor_numel(scratch),
                           n * out);
    if (n > 0) {
        rlae_cpu_matmul(scratch->data, x->data, w->data, NULL, n, in, out);
        rlae_cpu_add(y->data, scratch->data, n * out);
    }
    return RLAE_OK;
}

rlae_status rlae_op_matmul_n(int n, rlae_tensor *const *y, const rlae_tensor *x, const rlae_tensor *const *w,
                             const rlae_tensor *const *bias)
{
    if (n < 1 || n > RLAE_OP_MATMUL_MAX)
        return rlae_fail(RLAE_ERR_RUNTIME, "op matmul_n: %d products (1..%d)", n, RLAE_OP_MATMUL_MAX);
    int64_t rows_x = 0, in = 0, outs[RLAE_OP_MATMUL_MAX];
    int has_bias[RLAE_OP_MATMUL_MAX], all_bf16 = 1;
    for (int i = 0; i < n; i++) {
        RLAE_TRY(matmul_check(y[i], x, w[i], bias ? bias[i] : NULL, &rows_x, &in, &outs[i], &has_bias[i]));
        all_bf16 = all_bf16 && w[i]->dtype == RLAE_BF16;
    }
#ifdef RLAE_HAVE_CUDA
    _Static_assert(RLAE_OP_MATMUL_MAX <= RLAE_CUDA_GEMV_MAX_MATS, "one launch must take every product");
    if (x->device == RLAE_DEV_CUDA && all_bf16 && n > 1 && rows_x >= 1 && rows_x <= RLAE_CUDA_GEMV_MAX_ROWS) {
        rlae_cuda_gemv_mat mats[RLAE_OP_MATMUL_MAX];
        for (int i = 0; i < n; i++)
            mats[i] = (rlae_cuda_gemv_mat){y[i]->data, w[i]->data, has_bias[i] ? bias[i]->data : NULL, outs[i]};
        CUDA_OP("matmul_n", rlae_cuda_gemv_bf16_multi(mats, n, x->data, (int)rows_x, in, 0, ops_stream));
    }
#else
    (void)all_bf16;
#endif
    for (int i = 0; i < n; i++)
        RLAE_TRY(rlae_op_matmul(y[i], x, w[i], bias ? bias[i] : NULL));
    return RLAE_OK;
}

rlae_status rlae_op_gather_rows(rlae_tensor *out, const rlae_tensor *table, const rlae_tensor *idx)
{
    const char *op = "gather_rows";
    RLAE_TRY(need(op, "out", out, RLAE_F32));
    RLAE_TRY(need(op, "table", table,
                  table && table->device == RLAE_DEV_CUDA && table->dtype == RLAE_BF16 ? RLAE_BF16 : RLAE_F32));
    RLAE_TRY(need(op, "idx", idx, RLAE_I32));
    RLAE_TRY(same_device(op, out, table));
    RLAE_TRY(same_device(op, out, idx));
    int64_t n = rlae_tensor_numel(idx), d = cols(table), nt = rows(table);
    if (cols(out) != d || rows(out) != n)
        return shape_error(op, "out must be [len(idx), columns of table]; columns", cols(out), d);
    if (out->device == RLAE_DEV_CUDA) {
        if (table->dtype == RLAE_BF16)
            CUDA_OP(op, rlae_cuda_gather_rows_bf16(out->data, table->data, idx->data, n, d, nt, ops_stream));
        CUDA_OP(op, rlae_cuda_gather_rows(out->data, table->data, idx->data, n, d, nt, ops_stream));
    }
    const int32_t *ix = idx->data;
    for (int64_t i = 0; i < n; i++)
        if (ix[i] < 0 || ix[i] >= nt)
            return rlae_fail(RLAE_ERR_INPUT, "op gather_rows: index %d at %lld is outside the table's %lld rows "
                             "(a token id beyond the vocabulary?)", ix[i], (long long)i, (long long)nt);
    rlae_cpu_gather_rows(out->data, table->data, ix, n, d);
    return RLAE_OK;
}

rlae_status rlae_op_add(rlae_tensor *y, const rlae_tensor *x)
{
    const char *op = "add";
    RLAE_TRY(need(op, "y", y, RLAE_F32));
    RLAE_TRY(need(op, "x", x, RLAE_F32));
    RLAE_TRY(same_device(op, y, x));
    if (rlae_tensor_numel(y) != rlae_tensor_numel(x))
        return shape_error(op, "element counts differ", rlae_tensor_numel(y), rlae_tensor_numel(x));
    if (y->device == RLAE_DEV_CUDA)
        CUDA_OP(op, rlae_cuda_add(y->data, x->data, rlae_tensor_numel(y), ops_stream));
    rlae_cpu_add(y->data, x->data, rlae_tensor_numel(y));
    return RLAE_OK;
}

/* ---- normalisation and activations ----------------------------------------------------------- */

rlae_status rlae_op_rmsnorm(rlae_tensor *y, const rlae_tensor *x, const rlae_tensor *weight, float eps)
{
    const char *op = "rmsnorm";
    RLAE_TRY(need(op, "y", y, RLAE_F32));
    RLAE_TRY(need(op, "x", x, RLAE_F32));
    RLAE_TRY(need(op, "weight", weight, RLAE_F32));
    RLAE_TRY(same_device(op, y, x));
    RLAE_TRY(same_device(op, y, weight));
    if (rlae_tensor_numel(weight) != cols(x) || rlae_tensor_numel(y) != rlae_tensor_numel(x))
        return shape_error(op, "weight length must equal the row length, y the shape of x", rlae_tensor_numel(weight),
                           cols(x));
    if (y->device == RLAE_DEV_CUDA)
        CUDA_OP(op, rlae_cuda_rmsnorm(y->data, x->data, weight->data, rows(x), cols(x), eps, ops_stream));
    rlae_cpu_rmsnorm(y->data, x->data, weight->data, rows(x), cols(x), eps);
    return RLAE_OK;
}

rlae_status rlae_op_swiglu(rlae_tensor *out, const rlae_tensor *gate, const rlae_tensor *up)
{
    const char *op = "swiglu";
    RLAE_TRY(need(op, "out", out, RLAE_F32));
    RLAE_TRY(need(op, "gate", gate, RLAE_F32));
    RLAE_TRY(need(op, "up", up, RLAE_F32));
    RLAE_TRY(same_device(op, out, gate));
    RLAE_TRY(same_device(op, out, up));
    int64_t n = rlae_tensor_numel(out);
    if (rlae_tensor_numel(gate) != n || rlae_tensor_numel(up) != n)
        return shape_error(op, "gate, up and out must have equal sizes", rlae_tensor_numel(gate), n);
    if (out->device == RLAE_DEV_CUDA)
        CUDA_OP(op, rlae_cuda_swiglu(out->data, gate->data, up->data, n, ops_stream));
    rlae_cpu_swiglu(out->data, gate->data, up->data, n);
    return RLAE_OK;
}

rlae_status rlae_op_softmax(rlae_tensor *out, const rlae_tensor *x, float temperature)
{
    const char *op = "softmax";
    RLAE_TRY(need(op, "out", out, RLAE_F32));
    RLAE_TRY(need(op, "x", x, RLAE_F32));
    RLAE_TRY(same_device(op, out, x));
    if (rlae_tensor_numel(out) != rlae_tensor_numel(x) || cols(out) != cols(x))
        return shape_error(op, "out must have the shape of x", rlae_tensor_numel(out), rlae_tensor_numel(x));
    if (!(temperature > 0.0f))
        return rlae_fail(RLAE_ERR_INPUT, "op softmax: temperature must be > 0 (got %g)", (double)temperature);
    if (out->device == RLAE_DEV_CUDA)
        CUDA_OP(op, rlae_cuda_softmax(out->data, x->data, rows(x), cols(x), temperature, ops_stream));
    if (cols(x) > 0)
        rlae_cpu_softmax(out->data, x->data, rows(x), cols(x), temperature);
    return RLAE_OK;
}

rlae_status rlae_op_logit_stats(const rlae_tensor *x, rlae_tensor *max, rlae_tensor *lse, rlae_tensor *entropy)
{
    const char *op = "logit_stats";
    RLAE_TRY(need(op, "x", x, RLAE_F32));
    rlae_tensor *outs[3] = {max, lse, entropy};
    static const char *names[3] = {"max", "lse", "entropy"};
    for (int i = 0; i < 3; i++) {
        if (!outs[i])
            continue;
        RLAE_TRY(need(op, names[i], outs[i], RLAE_F32));
        RLAE_TRY(same_device(op, x, outs[i]));
        if (rlae_tensor_numel(outs[i]) != rows(x))
            return shape_error(op, "each statistic has one value per row", rlae_tensor_numel(outs[i]), rows(x));
    }
    if (cols(x) < 1)
        return rlae_fail(RLAE_ERR_RUNTIME, "op logit_stats: empty rows");
    if (x->device == RLAE_DEV_CUDA)
        CUDA_OP(op, rlae_cuda_logit_stats(x->data, rows(x), cols(x), max ? max->data : NULL, lse ? lse->data : NULL,
                                          entropy ? entropy->data : NULL, ops_stream));
    rlae_cpu_logit_stats(x->data, rows(x), cols(x), max ? max->data : NULL, lse ? lse->data : NULL,
                         entropy ? entropy->data : NULL);
    return RLAE_OK;
}

/* ---- rotary position embedding --------------------------------------------------------------- */

rlae_status rlae_op_rope(rlae_tensor *x, const rlae_tensor *pos, int n_heads, const rlae_rope_params *p)
{
    const char *op = "rope";
    RLAE_TRY(need(op, "x", x, RLAE_F32));
    RLAE_TRY(need(op, "pos", pos, RLAE_I32));
    RLAE_TRY(same_device(op, x, pos));
    if (p->head_dim <= 0 || p->head_dim % 2 || p->head_dim > 512)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "op rope: head_dim %d (must be even and <= 512)", p->head_dim);
    if (cols(x) != (int64_t)n_heads * p->head_dim || rows(x) != rlae_tensor_numel(pos))
        return shape_error(op, "x must be [len(pos), n_heads*head_dim]; columns", cols(x),
                           (long long)n_heads * p->head_dim);
    if (p->scaling != RLAE_ROPE_SCALE_NONE && !(p->factor > 0.0f))
        return rlae_fail(RLAE_ERR_INPUT, "op rope: scaling factor must be > 0 (got %g)", (double)p->factor);
    if (p->scaling == RLAE_ROPE_SCALE_LLAMA3 &&
        !(p->high_freq_factor > p->low_freq_factor && p->low_freq_factor > 0 && p->original_max_pos > 0))
        return rlae_fail(RLAE_ERR_INPUT, "op rope: llama3 scaling needs high_freq_factor > low_freq_factor > 0 and "
                         "original_max_position_embeddings > 0");
    if (x->device == RLAE_DEV_CUDA) {
        float inv_freq[256]; /* head_dim <= 512, checked above */
        rlae_rope_inv_freq(p, inv_freq);
        CUDA_OP(op, rlae_cuda_rope(x->data, pos->data, rows(x), n_heads, p->head_dim, inv_freq, ops_stream));
    }
    rlae_cpu_rope(x->data, pos->data, rows(x), n_heads, p);
    return RLAE_OK;
}

/* ---- attention with a KV cache --------------------------------------------------------------- */

/* slot/pos are I32 [n]; on the CPU each must address an existing cache row. */
static rlae_status check_slots(const char *op, const rlae_tensor *slot, const rlae_tensor *pos, int64_t n,
                               int64_t n_slots, int64_t capacity)
{
    RLAE_TRY(need(op, "slot", slot, RLAE_I32));
    RLAE_TRY(need(op, "pos", pos, RLAE_I32));
    if (rlae_tensor_numel(slot) != n || rlae_tensor_numel(pos) != n)
        return shape_error(op, "slot and pos need one entry per row", rlae_tensor_numel(slot), n);
    if (slot->device != RLAE_DEV_CPU)
        return RLAE_OK;
    const int32_t *s = slot->data, *p = pos->data;
    for (int64_t r = 0; r < n; r++)
        if (s[r] < 0 || s[r] >= n_slots || p[r] < 0 || p[r] >= capacity)
            return rlae_fail(RLAE_ERR_RUNTIME, "op %s: row %lld addresses slot %d position %d of a cache with %lld "
                             "slots x %lld positions", op, (long long)r, s[r], p[r], (long long)n_slots,
                             (long long)capacity);
    return RLAE_OK;
}

/* The KV cache's dtype: fp32 anywhere, bf16 on a CUDA device only (the CPU ops reject it). */
static rlae_dtype cache_dtype(const rlae_tensor *t)
{
    return t && t->device == RLAE_DEV_CUDA && t->dtype == RLAE_BF16 ? RLAE_BF16 : RLAE_F32;
}

rlae_status rlae_op_kv_store(rlae_tensor *cache, const rlae_tensor *rows_t, const rlae_tensor *slot,
                             const rlae_tensor *pos)
{
    const char *op = "kv_store";
    RLAE_TRY(need(op, "cache", cache, cache_dtype(cache)));
    RLAE_TRY(need(op, "rows", rows_t, RLAE_F32));
    RLAE_TRY(same_device(op, cache, rows_t));
    RLAE_TRY(same_device(op, cache, slot));
    RLAE_TRY(same_device(op, cache, pos));
    if (cache->ndim != 3 || cache->shape[2] != cols(rows_t))
        return shape_error(op, "cache must be [slots, capacity, kv_dim] with kv_dim = row length", cols(cache),
                           cols(rows_t));
    int64_t n = rows(rows_t);
    RLAE_TRY(check_slots(op, slot, pos, n, cache->shape[0], cache->shape[1]));
    if (cache->device == RLAE_DEV_CUDA)
        CUDA_OP(op, rlae_cuda_kv_store(cache->data, cache->dtype == RLAE_BF16, rows_t->data, slot->data, pos->data, n,
                                       cache->shape[0], cache->shape[1], cache->shape[2], ops_stream));
    rlae_cpu_kv_store(cache->data, rows_t->data, slot->data, pos->data, n, cache->shape[1], cache->shape[2]);
    return RLAE_OK;
}

int64_t rlae_op_attention_scratch_numel(int head_dim)
{
#ifdef RLAE_HAVE_CUDA
    return rlae_cuda_attention_scratch_floats(head_dim);
#else
    (void)head_dim;
    return 0;
#endif
}

rlae_status rlae_op_attention_ws(rlae_tensor *out, const rlae_tensor *q, const rlae_tensor *k_cache,
                                 const rlae_tensor *v_cache, const rlae_tensor *slot, const rlae_tensor *pos,
                                 int n_heads, int n_kv_heads, rlae_tensor *scratch)
{
    const char *op = "attention";
    RLAE_TRY(need(op, "out", out, RLAE_F32));
    RLAE_TRY(need(op, "q", q, RLAE_F32));
    RLAE_TRY(need(op, "k_cache", k_cache, cache_dtype(k_cache)));
    RLAE_TRY(need(op, "v_cache", v_cache, k_cache->dtype));
    RLAE_TRY(same_device(op, out, q));
    RLAE_TRY(same_device(op, out, k_cache));
    RLAE_TRY(same_device(op, out, v_cache));
    RLAE_TRY(same_device(op, out, slot));
    RLAE_TRY(same_device(op, out, pos));
    int has_scratch = scratch && scratch->data;
    if (has_scratch) {
        RLAE_TRY(need(op, "scratch", scratch, RLAE_F32));
        RLAE_TRY(same_device(op, out, scratch));
    }
    if (n_heads <= 0 || n_kv_heads <= 0 || n_heads % n_kv_heads)
        return rlae_fail(RLAE_ERR_RUNTIME, "op attention: %d heads are not a multiple of %d kv heads", n_heads,
                         n_kv_heads);
    int64_t q_dim = cols(q);
    if (q_dim % n_heads)
        return shape_error(op, "q row length must be a multiple of n_heads", q_dim, n_heads);
    int64_t hd = q_dim / n_heads;
    if (hd > 512)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "op attention: head_dim %lld > 512", (long long)hd);
    if (k_cache->ndim != 3 || v_cache->ndim != 3 || k_cache->shape[2] != hd * n_kv_heads ||
        memcmp(k_cache->shape, v_cache->shape, 3 * sizeof(int64_t)) != 0)
        return shape_error(op, "k/v caches must both be [slots, capacity, n_kv_heads*head_dim]; kv_dim",
                           k_cache->shape[2], hd * n_kv_heads);
    if (rlae_tensor_numel(out) != rlae_tensor_numel(q))
        return shape_error(op, "out must have the shape of q", rlae_tensor_numel(out), rlae_tensor_numel(q));
    if (out->data == q->data)
        return rlae_fail(RLAE_ERR_RUNTIME, "op attention: out must not alias q");
    int64_t n = rows(q);
    RLAE_TRY(check_slots(op, slot, pos, n, k_cache->shape[0], k_cache->shape[1]));
    if (out->device == RLAE_DEV_CUDA)
        CUDA_OP(op, rlae_cuda_attention(out->data, q->data, k_cache->data, v_cache->data, k_cache->dtype == RLAE_BF16,
                                        slot->data, pos->data, n, k_cache->shape[0], k_cache->shape[1], n_heads,
                                        n_kv_heads, (int)hd, has_scratch ? scratch->data : NULL,
                                        has_scratch ? rlae_tensor_numel(scratch) : 0, ops_stream));
    rlae_cpu_attention(out->data, q->data, k_cache->data, v_cache->data, slot->data, pos->data, n,
                       k_cache->shape[1], n_heads, n_kv_heads, (int)hd);
    return RLAE_OK;
}

rlae_status rlae_op_attention(rlae_tensor *out, const rlae_tensor *q, const rlae_tensor *k_cache,
                              const rlae_tensor *v_cache, const rlae_tensor *slot, const rlae_tensor *pos,
                              int n_heads, int n_kv_heads)
{
    return rlae_op_attention_ws(out, q, k_cache, v_cache, slot, pos, n_heads, n_kv_heads, NULL);
}

/* ---- fill -------------------------------------------------------------------------------------- */

rlae_status rlae_op_fill_uniform(rlae_tensor *t, float lo, float hi, uint64_t seed)
{
    const char *op = "fill_uniform";
    if (!t || !t->data)
        return rlae_fail(RLAE_ERR_RUNTIME, "op %s: tensor is missing", op);
    if (t->dtype != RLAE_F32 && t->dtype != RLAE_BF16)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "op %s: tensor is %s, this op takes f32 or bf16", op,
                         rlae_dtype_name(t->dtype));
    int64_t n = rlae_tensor_numel(t);
    if (t->device == RLAE_DEV_CUDA)
        CUDA_OP(op, rlae_cuda_fill_uniform(t->data, t->dtype == RLAE_BF16, n, lo, hi, seed, ops_stream));
    float span = hi - lo;
    if (t->dtype == RLAE_F32) {
        float *d = t->data;
        for (int64_t i = 0; i < n; i++)
            d[i] = lo + span * rlae_fill_hash_uniform(seed, (uint64_t)i);
    } else {
        uint16_t *d = t->data;
        for (int64_t i = 0; i < n; i++)
            d[i] = rlae_f32_to_bf16(lo + span * rlae_fill_hash_uniform(seed, (uint64_t)i));
    }
    return RLAE_OK;
}
