/* The optimiser of the agent (METHOD.md §5): Adam with PyTorch's update and eps 1e-5 (cleanrl,
 * on-policy), an optional linear learning-rate anneal, and global gradient-norm clipping.
 *
 * The agent keeps all parameters in one flat buffer (algorithms/mlp.h), so the optimiser, the
 * gradient clip and the data-parallel all-reduce each see a single vector. The order in an update
 * is: backward -> all-reduce grads -> clip (grad norm is a debug metric) -> Adam step.
 *
 * Adam, step t = 1, 2, ...:  m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
 *                           p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * (PyTorch's form: eps is added to the bias-corrected sqrt(v), as in torch.optim.Adam.)
 * Float functions have plain names, double ones the suffix _d (algorithms/real.h). */
#ifndef RLAE_ALGORITHMS_ADAM_H
#define RLAE_ALGORITHMS_ADAM_H

#include <stddef.h>

#include "algorithms/real.h"
#include "host/core/status.h"

typedef struct {
    double lr;     /* learning rate; the trainer may change it between steps (anneal) */
    double beta1;  /* 0.9 */
    double beta2;  /* 0.999 */
    double eps;    /* 1e-5 */
} rlae_adam_hparams;

/* lr 3e-4 (cleanrl's continuous PPO), betas 0.9 / 0.999, eps 1e-5. */
rlae_adam_hparams rlae_adam_defaults(void);

/* cleanrl's linear anneal: lr0 * (1 - (update - 1) / num_updates) for update = 1..num_updates,
 * so the first update uses lr0 and the last lr0 / num_updates. */
double rlae_lr_linear_anneal(double lr0, long update, long num_updates);

#define RLAE_ADAM_DECLARE(real, RT)                                                                   \
    /* Optimiser state for n parameters. t counts steps taken; m, v are the moment estimates. */    \
    typedef struct {                                                                                  \
        rlae_adam_hparams h;                                                                          \
        long t;                                                                                       \
        size_t n;                                                                                     \
        real *m, *v;                                                                                  \
    } RT(rlae_adam);                                                                                  \
    /* Zero moments, t = 0. RLAE_ERR_NOMEM if the moments cannot be allocated. */                    \
    rlae_status RT(rlae_adam_init)(RT(rlae_adam) *a, size_t n, const rlae_adam_hparams *h);          \
    void RT(rlae_adam_free)(RT(rlae_adam) *a);                                                       \
    /* One step on param[0..n-1] with grad[0..n-1], using a->h.lr. */                                 \
    void RT(rlae_adam_step)(RT(rlae_adam) *a, real *param, const real *grad);                         \
    /* torch.nn.utils.clip_grad_norm_: if the global L2 norm exceeds max_norm, scales grad by        \
     * max_norm / (norm + 1e-6). Returns the norm before clipping. max_norm <= 0 only measures. */   \
    double RT(rlae_grad_clip_norm)(real *grad, size_t n, double max_norm);

RLAE_ADAM_DECLARE(float, RLAE_F)
RLAE_ADAM_DECLARE(double, RLAE_D)

#endif
