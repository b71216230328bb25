/* A small multilayer perceptron for the agent's actor and critic, on the CPU, with a batched
 * forward, the backward pass, and orthogonal initialisation (METHOD.md §5).
 *
 * Layers are y = x W^T + b with W stored [out][in] row-major (PyTorch's nn.Linear layout, so
 * weights can be compared with or imported from it); the hidden activation (tanh, as in cleanrl's
 * continuous PPO, or ReLU) follows every layer but the last, which is linear. All parameters live
 * in one flat buffer that the caller owns, layer by layer (W then b); an agent puts its actor and
 * critic side by side in one buffer so Adam, the gradient clip and the all-reduce see one vector.
 * rlae_mlp is only the layout: it holds no memory and needs no free.
 *
 * Orthogonal initialisation follows torch.nn.init.orthogonal_: a Gaussian matrix (transposed when
 * it is wide) is factored Q R, Q is sign-fixed so diag(R) > 0 (Gram-Schmidt gives that directly),
 * and W = gain * Q. Gains: sqrt(2) for hidden layers, 0.01 for a policy head, 1 for a value head.
 * Biases start at 0. Float functions have plain names, double ones the suffix _d (real.h). */
#ifndef RLAE_ALGORITHMS_MLP_H
#define RLAE_ALGORITHMS_MLP_H

#include <stddef.h>

#include "algorithms/real.h"
#include "algorithms/sampler.h"
#include "host/core/status.h"

#define RLAE_MLP_MAX_LAYERS 8

typedef enum { RLAE_ACT_TANH = 0, RLAE_ACT_RELU = 1 } rlae_activation;

typedef struct {
    int n_layers;                          /* linear layers: hidden layers + the output layer */
    int dims[RLAE_MLP_MAX_LAYERS + 1];     /* dims[0] = input width, dims[n_layers] = output width */
    rlae_activation act;                   /* after every layer except the last */
    size_t w_off[RLAE_MLP_MAX_LAYERS];     /* offsets of W_l and b_l in the parameter buffer */
    size_t b_off[RLAE_MLP_MAX_LAYERS];
    size_t n_params;                       /* parameters in all */
    int max_dim;                           /* widest layer, for scratch sizes */
} rlae_mlp;

/* Fills the layout for n_layers linear layers with widths dims[0..n_layers]. RLAE_ERR_INPUT if
 * n_layers is not in 1..RLAE_MLP_MAX_LAYERS or a width is not positive. */
rlae_status rlae_mlp_layout(rlae_mlp *m, int n_layers, const int *dims, rlae_activation act);
/* Elements of the forward cache (the hidden activations the backward pass needs) for a batch. */
size_t rlae_mlp_cache_size(const rlae_mlp *m, int batch);
/* Elements of the backward scratch for a batch. */
size_t rlae_mlp_scratch_size(const rlae_mlp *m, int batch);

#define RLAE_MLP_DECLARE(real, RT)                                                                    \
    /* y[batch][dims[n_layers]] from x[batch][dims[0]]; cache (rlae_mlp_cache_size elements) keeps  \
     * the hidden activations for the backward pass and is needed even when none will follow. */    \
    void RT(rlae_mlp_forward)(const rlae_mlp *m, const real *params, int batch, const real *x,       \
                              real *cache, real *y);                                                 \
    /* Given dy = d loss / d y, ADDS d loss / d params into dparams (so several heads or chunks can  \
     * accumulate; zero it first) and writes d loss / d x into dx unless dx is NULL. x and cache    \
     * must be those of the matching forward; scratch has rlae_mlp_scratch_size elements. */         \
    void RT(rlae_mlp_backward)(const rlae_mlp *m, const real *params, int batch, const real *x,      \
                               const real *cache, const real *dy, real *dparams, real *dx,          \
                               real *scratch);                                                       \
    /* Orthogonal weights (hidden_gain for hidden layers, out_gain for the last), zero biases,     \
     * Gaussian draws from s->normal. RLAE_ERR_NOMEM if the QR scratch cannot be allocated. */      \
    rlae_status RT(rlae_mlp_init_orthogonal)(const rlae_mlp *m, real *params, double hidden_gain,  \
                                             double out_gain, const rlae_sampler *s);

RLAE_MLP_DECLARE(float, RLAE_F)
RLAE_MLP_DECLARE(double, RLAE_D)

/* A rows x cols matrix (row-major, double) with orthonormal rows (rows <= cols) or columns
 * (rows >= cols) times gain, as torch.nn.init.orthogonal_. Used by rlae_mlp_init_orthogonal. */
rlae_status rlae_orthogonal_matrix(int rows, int cols, double gain, const rlae_sampler *s, double *out);

#endif
