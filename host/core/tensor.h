/* A tensor that knows its dtype and device: the currency of the ops API (host/ops.h).
 * Tensors do not own their memory unless `owned` is set; the owner frees with rlae_tensor_free. */
#ifndef RLAE_CORE_TENSOR_H
#define RLAE_CORE_TENSOR_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stddef.h>
#include <stdint.h>

typedef enum { RLAE_F32 = 0, RLAE_F16, RLAE_BF16, RLAE_I32, RLAE_I64, RLAE_U8 } rlae_dtype;
typedef enum { RLAE_DEV_CPU = 0, RLAE_DEV_CUDA } rlae_device;

#define RLAE_MAX_DIMS 4

typedef struct {
    void *data;
    rlae_dtype dtype;
    rlae_device device;
    int ndim;
    int64_t shape[RLAE_MAX_DIMS]; /* row-major, shape[ndim-1] contiguous */
    int owned;                    /* 1: rlae_tensor_free releases data */
} rlae_tensor;

size_t rlae_dtype_size(rlae_dtype t);
const char *rlae_dtype_name(rlae_dtype t);
int64_t rlae_tensor_numel(const rlae_tensor *t);
size_t rlae_tensor_nbytes(const rlae_tensor *t);
/* A view of existing memory; not owned. */
rlae_tensor rlae_tensor_view(void *data, rlae_dtype dtype, rlae_device dev, int ndim, const int64_t *shape);
void rlae_tensor_free(rlae_tensor *t);

/* fp16/bf16 <-> fp32 conversions (round to nearest even), used by loaders and the CPU backend. */
float rlae_f16_to_f32(uint16_t h);
float rlae_bf16_to_f32(uint16_t h);
uint16_t rlae_f32_to_f16(float f);
uint16_t rlae_f32_to_bf16(float f);

#ifdef __cplusplus
}
#endif

#endif
