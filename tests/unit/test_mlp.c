/* Tests of algorithms/mlp: the layout, the backward pass (parameter and input gradients) against
 * central finite differences in double for tanh and ReLU networks, gradient accumulation,
 * orthogonal initialisation (orthonormal rows/columns times the gain, tall, square and wide
 * layers), and float against double. */
#include "test.h"

#include "algorithms/gradcheck.h"
#include "algorithms/mlp.h"
#include "core/rng.h"

#define BATCH 4

typedef struct {
    const rlae_mlp *m;
    const double *x;     /* input (when the parameters vary) */
    const double *params; /* parameters (when the input varies) */
    const double *c;     /* loss = sum c .* y */
    int vary_input;
    double *cache, *y;
} fn_ctx;

static double f_loss(void *ctx, const double *v)
{
    fn_ctx *f = ctx;
    const double *params = f->vary_input ? f->params : v, *x = f->vary_input ? v : f->x;
    rlae_mlp_forward_d(f->m, params, BATCH, x, f->cache, f->y);
    double L = 0;
    for (int i = 0; i < BATCH * f->m->dims[f->m->n_layers]; i++)
        L += f->c[i] * f->y[i];
    return L;
}

static double normal_cb(void *ctx) { return rlae_rng_normal(ctx); }

/* Largest |(W W^T or W^T W) - gain^2 I| entry over the orientation with orthonormal vectors. */
static double ortho_err(const double *W, int rows, int cols, double gain)
{
    int n = rows < cols ? rows : cols;
    double worst = 0;
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++) {
            double s = 0;
            if (rows <= cols)
                for (int j = 0; j < cols; j++)
                    s += W[a * cols + j] * W[b * cols + j];
            else
                for (int i = 0; i < rows; i++)
                    s += W[i * cols + a] * W[i * cols + b];
            worst = fmax(worst, fabs(s - (a == b ? gain * gain : 0)));
        }
    return worst;
}

int main(void)
{
    rlae_rng r;
    rlae_rng_init(&r, 99, 0, 0, 0);
    rlae_sampler s = {normal_cb, NULL, &r};

    const int dims[4] = {5, 16, 7, 3};
    rlae_mlp m;
    CHECK(rlae_mlp_layout(&m, 3, dims, RLAE_ACT_TANH) == RLAE_OK);
    CHECK_EQ_INT(m.n_params, 5 * 16 + 16 + 16 * 7 + 7 + 7 * 3 + 3);
    CHECK_EQ_INT(m.b_off[0], 80);
    CHECK_EQ_INT(m.w_off[1], 96);
    CHECK(rlae_mlp_layout(&m, 0, dims, RLAE_ACT_TANH) == RLAE_ERR_INPUT);
    const int bad[3] = {4, 0, 2};
    CHECK(rlae_mlp_layout(&m, 2, bad, RLAE_ACT_TANH) == RLAE_ERR_INPUT);

    for (int act = 0; act < 2; act++) {
        CHECK(rlae_mlp_layout(&m, 3, dims, act ? RLAE_ACT_RELU : RLAE_ACT_TANH) == RLAE_OK);
        size_t np = m.n_params;
        double *params = malloc(np * sizeof(double)), *grad = calloc(np, sizeof(double));
        double *cache = malloc(rlae_mlp_cache_size(&m, BATCH) * sizeof(double));
        double *scratch = malloc(rlae_mlp_scratch_size(&m, BATCH) * sizeof(double));
        double x[BATCH * 5], dx[BATCH * 5], y[BATCH * 3], c[BATCH * 3];
        CHECK(rlae_mlp_init_orthogonal_d(&m, params, sqrt(2.0), 1.0, &s) == RLAE_OK);
        /* Non-zero biases so their gradients are exercised with a generic point. */
        for (int l = 0; l < m.n_layers; l++)
            for (int o = 0; o < dims[l + 1]; o++)
                params[m.b_off[l] + o] = 0.2 * rlae_rng_normal(&r);
        for (int i = 0; i < BATCH * 5; i++)
            x[i] = rlae_rng_normal(&r);
        for (int i = 0; i < BATCH * 3; i++)
            c[i] = rlae_rng_normal(&r);
        /* Round the point to float so the float comparison below measures only float arithmetic. */
        for (size_t i = 0; i < np; i++)
            params[i] = (float)params[i];
        for (int i = 0; i < BATCH * 5; i++)
            x[i] = (float)x[i];
        for (int i = 0; i < BATCH * 3; i++)
            c[i] = (float)c[i];
        rlae_mlp_forward_d(&m, params, BATCH, x, cache, y);
        rlae_mlp_backward_d(&m, params, BATCH, x, cache, c, grad, dx, scratch);

        fn_ctx f = {&m, x, params, c, 0, malloc(rlae_mlp_cache_size(&m, BATCH) * sizeof(double)), y};
        /* ReLU is piecewise linear, so a tiny step never crosses a kink in practice and the
         * difference quotient is exact up to rounding; tanh takes the usual 1e-4. */
        double h = act ? 1e-6 : 1e-4;
        double ep = rlae_gradcheck(f_loss, &f, params, grad, np, h, 1e-8, NULL);
        f.vary_input = 1;
        double ex = rlae_gradcheck(f_loss, &f, x, dx, BATCH * 5, h, 1e-8, NULL);
        printf("%s MLP 5-16-7-3, batch %d: max rel err vs FD: params %.3g, input %.3g\n", act ? "ReLU" : "tanh",
               BATCH, ep, ex);
        CHECK(ep < 1e-5);
        CHECK(ex < 1e-5);

        /* The backward adds into dparams: a second call doubles the gradient. */
        double *g2 = malloc(np * sizeof(double));
        memcpy(g2, grad, np * sizeof(double));
        rlae_mlp_backward_d(&m, params, BATCH, x, cache, c, g2, NULL, scratch);
        double wr = 0;
        for (size_t i = 0; i < np; i++)
            wr = fmax(wr, fabs(g2[i] - 2 * grad[i]));
        CHECK(wr < 1e-12);

        /* Float against double at the same point: outputs to 1e-5 absolute, gradients to 1e-5
         * relative to the largest gradient entry (single entries can be sums that cancel). */
        float *pf = malloc(np * sizeof(float)), *gf = calloc(np, sizeof(float));
        float *cf = malloc(rlae_mlp_cache_size(&m, BATCH) * sizeof(float));
        float *sf = malloc(rlae_mlp_scratch_size(&m, BATCH) * sizeof(float));
        float xf[BATCH * 5], yf[BATCH * 3], dyf[BATCH * 3], dxf[BATCH * 5];
        for (size_t i = 0; i < np; i++)
            pf[i] = (float)params[i];
        for (int i = 0; i < BATCH * 5; i++)
            xf[i] = (float)x[i];
        for (int i = 0; i < BATCH * 3; i++)
            dyf[i] = (float)c[i];
        rlae_mlp_forward(&m, pf, BATCH, xf, cf, yf);
        rlae_mlp_forward_d(&m, params, BATCH, x, cache, y);
        rlae_mlp_backward(&m, pf, BATCH, xf, cf, dyf, gf, dxf, sf);
        double wy = 0, wg = 0, gmax = 0;
        for (int i = 0; i < BATCH * 3; i++)
            wy = fmax(wy, fabs(yf[i] - y[i]));
        for (size_t i = 0; i < np; i++)
            gmax = fmax(gmax, fabs(grad[i]));
        for (size_t i = 0; i < np; i++)
            wg = fmax(wg, fabs(gf[i] - grad[i]) / gmax);
        for (int i = 0; i < BATCH * 5; i++)
            wg = fmax(wg, fabs(dxf[i] - dx[i]) / gmax);
        printf("  float vs double: outputs %.3g abs, gradients %.3g rel\n", wy, wg);
        CHECK(wy < 1e-5);
        CHECK(wg < 1e-5);

        free(pf);
        free(gf);
        free(cf);
        free(sf);
        free(g2);
        free(f.cache);
        free(params);
        free(grad);
        free(cache);
        free(scratch);
    }

    /* Orthogonal init: each layer's rows (wide) or columns (tall) orthonormal times its gain,
     * biases 0. Layers 5->16 (W 16x5, tall), 16->7 (wide), 7->3 (wide, out gain 0.01). */
    {
        CHECK(rlae_mlp_layout(&m, 3, dims, RLAE_ACT_TANH) == RLAE_OK);
        double *params = malloc(m.n_params * sizeof(double));
        CHECK(rlae_mlp_init_orthogonal_d(&m, params, sqrt(2.0), 0.01, &s) == RLAE_OK);
        double worst = 0;
        for (int l = 0; l < 3; l++) {
            double gain = l == 2 ? 0.01 : sqrt(2.0);
            worst = fmax(worst, ortho_err(params + m.w_off[l], dims[l + 1], dims[l], gain) / (gain * gain));
            for (int o = 0; o < dims[l + 1]; o++)
                CHECK(params[m.b_off[l] + o] == 0.0);
        }
        CHECK_MSG(worst < 1e-13, "orthogonality error %.3g", worst);
        free(params);
        /* A square 256 x 256 layer, where one pass of Gram-Schmidt would lose orthogonality. */
        double *W = malloc(256 * 256 * sizeof(double));
        CHECK(rlae_orthogonal_matrix(256, 256, 1.0, &s, W) == RLAE_OK);
        double e = ortho_err(W, 256, 256, 1.0);
        printf("orthogonal 256x256: max |W W^T - I| = %.3g\n", e);
        CHECK(e < 1e-12);
        free(W);
    }
    return test_summary("test_mlp");
}
