/* The agent's MLP (see mlp.h): layout and orthogonal matrices here; forward, backward and
 * initialisation written once in mlp.inc and instantiated for float and double. Accumulations are
 * in double whatever the storage type. */
#include "algorithms/mlp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

rlae_status rlae_mlp_layout(rlae_mlp *m, int n_layers, const int *dims, rlae_activation act)
{
    memset(m, 0, sizeof *m);
    if (n_layers < 1 || n_layers > RLAE_MLP_MAX_LAYERS)
        return rlae_fail(RLAE_ERR_INPUT, "mlp: %d layers requested; 1 to %d are supported", n_layers,
                         RLAE_MLP_MAX_LAYERS);
    if (act != RLAE_ACT_TANH && act != RLAE_ACT_RELU)
        return rlae_fail(RLAE_ERR_INPUT, "mlp: unknown activation %d", (int)act);
    m->n_layers = n_layers;
    m->act = act;
    size_t off = 0;
    for (int l = 0; l <= n_layers; l++) {
        if (dims[l] <= 0)
            return rlae_fail(RLAE_ERR_INPUT, "mlp: layer width %d at position %d must be positive", dims[l], l);
        m->dims[l] = dims[l];
        if (dims[l] > m->max_dim)
            m->max_dim = dims[l];
    }
    for (int l = 0; l < n_layers; l++) {
        m->w_off[l] = off;
        off += (size_t)dims[l] * dims[l + 1];
        m->b_off[l] = off;
        off += (size_t)dims[l + 1];
    }
    m->n_params = off;
    return RLAE_OK;
}

size_t rlae_mlp_cache_size(const rlae_mlp *m, int batch)
{
    size_t n = 0;
    for (int l = 1; l < m->n_layers; l++)
        n += (size_t)batch * m->dims[l];
    return n ? n : 1;
}

size_t rlae_mlp_scratch_size(const rlae_mlp *m, int batch) { return 2 * (size_t)batch * m->max_dim; }

rlae_status rlae_orthogonal_matrix(int rows, int cols, double gain, const rlae_sampler *s, double *out)
{
    /* Work on the tall orientation: a is tm x tn (tm >= tn), column j at a[i * tn + j]. */
    const int wide = rows < cols;
    const int tm = wide ? cols : rows, tn = wide ? rows : cols;
    double *a = rlae_malloc((size_t)tm * tn * sizeof(double));
    if (!a)
        return RLAE_ERR_NOMEM;
    for (size_t i = 0; i < (size_t)tm * tn; i++)
        a[i] = s->normal(s->ctx);
    /* Modified Gram-Schmidt, each projection done twice ("twice is enough", Giraud et al. 2005):
     * one pass loses orthogonality in proportion to the condition number, which for a square
     * Gaussian matrix grows with its size. Normalising a positive-norm column keeps diag(R) > 0,
     * which is torch's sign convention (q *= sign(diag(r))). */
    for (int j = 0; j < tn; j++) {
        for (int pass = 0; pass < 2; pass++)
            for (int k = 0; k < j; k++) {
                double r = 0.0;
                for (int i = 0; i < tm; i++)
                    r += a[(size_t)i * tn + k] * a[(size_t)i * tn + j];
                for (int i = 0; i < tm; i++)
                    a[(size_t)i * tn + j] -= r * a[(size_t)i * tn + k];
            }
        double nrm = 0.0;
        for (int i = 0; i < tm; i++)
            nrm += a[(size_t)i * tn + j] * a[(size_t)i * tn + j];
        nrm = sqrt(nrm);
        if (!(nrm > 0)) { /* a zero column (degenerate sampler): fail loudly rather than emit NaN */
            free(a);
            return rlae_fail(RLAE_ERR_RUNTIME, "mlp: orthogonal init met a zero column; check the normal sampler");
        }
        for (int i = 0; i < tm; i++)
            a[(size_t)i * tn + j] /= nrm;
    }
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            out[(size_t)i * cols + j] = gain * (wide ? a[(size_t)j * tn + i] : a[(size_t)i * tn + j]);
    free(a);
    return RLAE_OK;
}

#define real float
#define RT RLAE_F
#include "algorithms/mlp.inc"
#undef real
#undef RT

#define real double
#define RT RLAE_D
#include "algorithms/mlp.inc"
#undef real
#undef RT
