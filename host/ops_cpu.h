/* CPU backend of the ops API (host/ops.h): raw-pointer functions that host/ops.c calls after it has
 * validated the tensors. They are also the references the CUDA kernels are tested against, so the
 * CUDA launchers in cuda/launch.h take the same arguments. Sizes are ints/int64 as in ops.h. */
#ifndef RLAE_OPS_CPU_H
#define RLAE_OPS_CPU_H

#include "ops.h"

#include <stdint.h>

void rlae_cpu_matmul(float *y, const float *x, const float *w, const float *bias, int64_t n, int64_t in,
                     int64_t out);
void rlae_cpu_gather_rows(float *out, const float *table, const int32_t *idx, int64_t n, int64_t d);
void rlae_cpu_add(float *y, const float *x, int64_t n);
void rlae_cpu_rmsnorm(float *y, const float *x, const float *weight, int64_t n, int64_t d, float eps);
void rlae_cpu_swiglu(float *out, const float *gate, const float *up, int64_t n);
void rlae_cpu_softmax(float *out, const float *x, int64_t n, int64_t d, float temperature);
void rlae_cpu_logit_stats(const float *x, int64_t n, int64_t d, float *max, float *lse, float *entropy);
void rlae_cpu_rope(float *x, const int32_t *pos, int64_t n, int n_heads, const rlae_rope_params *p);
void rlae_cpu_kv_store(float *cache, const float *rows, const int32_t *slot, const int32_t *pos, int64_t n,
                       int64_t capacity, int64_t kv_dim);
void rlae_cpu_attention(float *out, const float *q, const float *k_cache, const float *v_cache,
                        const int32_t *slot, const int32_t *pos, int64_t n, int64_t capacity, int n_heads,
                        int n_kv_heads, int head_dim);

#endif
