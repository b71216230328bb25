/* Helpers shared by the gpu tests of the forward ops (test_gpu_ops.c, test_gpu_forward.c): skipping
 * when no GPU is usable, moving host arrays to and from device tensors through the ops API, random
 * fills and error measures. Header-only (static functions), included after test.h. */
#ifndef RLAE_TEST_GPU_OPS_UTIL_H
#define RLAE_TEST_GPU_OPS_UTIL_H

#include "core/device.h"
#include "core/rng.h"
#include "ops.h"

#include <stdint.h>

/* Exits 77 (ctest: skipped) in a CPU-only build or when CUDA finds no GPU. */
static inline void gpu_test_require_gpu(void)
{
    if (!rlae_device_cuda_built()) {
        printf("SKIP: this build has no CUDA backend\n");
        exit(77);
    }
    if (rlae_device_gpu_count() < 1) {
        printf("SKIP: no usable GPU\n");
        exit(77);
    }
}

/* A device tensor holding a copy of host data (or zeros when host is NULL). */
static inline rlae_tensor gpu_upload(const void *host, rlae_dtype dt, int ndim, const int64_t *shape)
{
    rlae_tensor t;
    rlae_status s = rlae_ops_tensor_alloc(&t, dt, RLAE_DEV_CUDA, ndim, shape);
    CHECK_MSG(s == RLAE_OK, "device alloc: %s", rlae_last_error());
    if (s == RLAE_OK && host) {
        rlae_tensor h = rlae_tensor_view((void *)host, dt, RLAE_DEV_CPU, ndim, shape);
        s = rlae_op_copy(&t, &h);
        CHECK_MSG(s == RLAE_OK, "upload: %s", rlae_last_error());
    }
    return t;
}

/* Copies a device tensor into host memory of the same size. */
static inline void gpu_download(void *host, const rlae_tensor *t)
{
    rlae_tensor h = rlae_tensor_view(host, t->dtype, RLAE_DEV_CPU, t->ndim, t->shape);
    rlae_status s = rlae_op_copy(&h, t);
    CHECK_MSG(s == RLAE_OK, "download: %s", rlae_last_error());
}

/* n floats uniform in [lo, hi) from a fixed stream. */
static inline float *gpu_test_rand(size_t n, float lo, float hi, uint32_t key)
{
    rlae_rng r;
    rlae_rng_init(&r, 1234, key, 0, 0);
    float *x = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * rlae_rng_uniform(&r);
    return x;
}

/* Largest |a - b| / (atol + rtol |b|) over n values (<= 1 passes); NaN counts as failing. */
static inline double gpu_test_err(const float *a, const float *b, size_t n, double atol, double rtol, size_t *worst)
{
    double m = 0.0;
    *worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]) / (atol + rtol * fabs((double)b[i]));
        if (!(e <= m)) {
            m = isnan(e) ? INFINITY : e;
            *worst = i;
        }
    }
    return m;
}

#endif
