/* Tensor bookkeeping and half-precision conversions (see tensor.h). */
#include "core/tensor.h"

#include <stdlib.h>
#include <string.h>

size_t rlae_dtype_size(rlae_dtype t)
{
    switch (t) {
    case RLAE_F32: case RLAE_I32: return 4;
    case RLAE_F16: case RLAE_BF16: return 2;
    case RLAE_I64: return 8;
    case RLAE_U8: return 1;
    }
    return 0;
}

const char *rlae_dtype_name(rlae_dtype t)
{
    static const char *names[] = {"f32", "f16", "bf16", "i32", "i64", "u8"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

int64_t rlae_tensor_numel(const rlae_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

size_t rlae_tensor_nbytes(const rlae_tensor *t) { return (size_t)rlae_tensor_numel(t) * rlae_dtype_size(t->dtype); }

rlae_tensor rlae_tensor_view(void *data, rlae_dtype dtype, rlae_device dev, int ndim, const int64_t *shape)
{
    rlae_tensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.dtype = dtype;
    t.device = dev;
    t.ndim = ndim;
    for (int i = 0; i < ndim && i < RLAE_MAX_DIMS; i++)
        t.shape[i] = shape[i];
    return t;
}

void rlae_tensor_free(rlae_tensor *t)
{
    if (t->owned && t->device == RLAE_DEV_CPU)
        free(t->data);
    memset(t, 0, sizeof *t);
}

float rlae_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t rlae_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it a quiet NaN */
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float rlae_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: normalise */
            exp = 127 - 15 + 1;
            while (!(man & 0x400u)) {
                man <<= 1;
                exp--;
            }
            man &= 0x3ffu;
            u = sign | (exp << 23) | (man << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t rlae_f32_to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    int32_t exp = (int32_t)((u >> 23) & 0xffu) - 127 + 15;
    uint32_t man = u & 0x7fffffu;
    if (((u >> 23) & 0xffu) == 0xffu) /* inf or NaN */
        return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0));
    if (exp >= 31)
        return (uint16_t)(sign | 0x7c00u);
    if (exp <= 0) { /* subnormal or zero */
        if (exp < -10)
            return (uint16_t)sign;
        man |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - exp);
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)exp << 10) | (man >> 13), rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1u)))
        half++; /* may carry into the exponent, which is the correct rounding */
    return (uint16_t)half;
}
