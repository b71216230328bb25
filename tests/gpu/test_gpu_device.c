/* The CUDA device layer on a real GPU: device query, memory round trip, the CUDA_CHECK error path
 * (file:line, device, status), backend resolution, and device Philox uniforms equal to the CPU's
 * bit for bit. Skips (77) in a CPU-only build or when no GPU is visible. */
#include "core/device.h"
#include "core/rng.h"
#include "test.h"

#ifdef RLAE_HAVE_CUDA
#include "cuda/launch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    int n = 0;
    if (rlae_cuda_device_count(&n) != RLAE_OK || n == 0) {
        printf("SKIP: no GPU (%s)\n", rlae_last_error());
        return 77;
    }
    CHECK(rlae_cuda_available());

    rlae_cuda_device_info info;
    CHECK(rlae_cuda_device_query(0, &info) == RLAE_OK);
    printf("device 0: %s, sm_%d%d, %d SMs, %.1f GiB (%.1f free), driver %d, runtime %d\n", info.name,
           info.cc_major, info.cc_minor, info.sm_count, info.total_bytes / 1073741824.0,
           info.free_bytes / 1073741824.0, info.driver_version, info.runtime_version);
    CHECK(info.name[0] != '\0');
    CHECK(info.total_bytes > 0 && info.free_bytes <= info.total_bytes);
    CHECK(info.cc_major >= 5);
    CHECK(info.sm_count > 0);
    CHECK(info.runtime_version > 0 && info.driver_version >= info.runtime_version / 1000 * 1000);

    CHECK(rlae_cuda_device_query(n, &info) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), "does not exist") != NULL);

    /* Memory round trip through a stream. */
    enum { N = 1001 };
    rlae_cuda_stream s = NULL;
    CHECK(rlae_cuda_stream_create(&s) == RLAE_OK);
    unsigned char host[N], back[N];
    for (int i = 0; i < N; i++)
        host[i] = (unsigned char)(i * 7 + 1);
    void *d = NULL, *d2 = NULL;
    CHECK(rlae_cuda_malloc(&d, N) == RLAE_OK && d != NULL);
    CHECK(rlae_cuda_malloc(&d2, N) == RLAE_OK && d2 != NULL);
    CHECK(rlae_cuda_memcpy_h2d(d, host, N, s) == RLAE_OK);
    CHECK(rlae_cuda_memcpy_d2d(d2, d, N, s) == RLAE_OK);
    CHECK(rlae_cuda_memcpy_d2h(back, d2, N, s) == RLAE_OK);
    CHECK(memcmp(host, back, N) == 0);
    CHECK(rlae_cuda_memset(d2, 0xab, 10, s) == RLAE_OK);
    CHECK(rlae_cuda_memcpy_d2h(back, d2, N, s) == RLAE_OK);
    CHECK(back[0] == 0xab && back[9] == 0xab && back[10] == host[10]);

    /* The failure path: an impossible allocation is RLAE_ERR_NOMEM naming this layer's file:line
     * and the device, and does not poison later calls. */
    void *huge = NULL;
    rlae_clear_error();
    CHECK(rlae_cuda_malloc(&huge, (size_t)1 << 60) == RLAE_ERR_NOMEM);
    CHECK(huge == NULL);
    const char *msg = rlae_last_error();
    printf("expected error: %s\n", msg);
    CHECK(strstr(msg, "device.cu:") != NULL);
    CHECK(strstr(msg, "on device 0") != NULL);
    CHECK(strstr(msg, "cudaErrorMemoryAllocation") != NULL);
    CHECK(rlae_cuda_memcpy_d2h(back, d, N, s) == RLAE_OK);
    CHECK(memcmp(host, back, N) == 0);

    /* Device Philox uniforms == CPU stream, odd length. */
    enum { M = 4099 };
    float *du = NULL;
    static float got[M];
    CHECK(rlae_cuda_malloc((void **)&du, sizeof(float) * M) == RLAE_OK);
    CHECK(rlae_cuda_rng_uniform(du, M, 0xfeedbeefcafeULL, 12, 3, 45, s) == RLAE_OK);
    CHECK(rlae_cuda_memcpy_d2h(got, du, sizeof got, s) == RLAE_OK);
    rlae_rng r;
    rlae_rng_init(&r, 0xfeedbeefcafeULL, 12, 3, 45);
    int same = 1;
    for (int i = 0; i < M; i++)
        same &= got[i] == rlae_rng_uniform(&r);
    CHECK(same);

    CHECK(rlae_cuda_free(du) == RLAE_OK);
    CHECK(rlae_cuda_free(d) == RLAE_OK);
    CHECK(rlae_cuda_free(d2) == RLAE_OK);
    CHECK(rlae_cuda_stream_destroy(s) == RLAE_OK);
    CHECK(rlae_cuda_device_sync() == RLAE_OK);

    /* Backend resolution picks the GPU. */
    rlae_device dev;
    CHECK(rlae_device_resolve(RLAE_DEVREQ_AUTO, &dev) == RLAE_OK && dev == RLAE_DEV_CUDA);
    CHECK(rlae_device_resolve(RLAE_DEVREQ_CUDA, &dev) == RLAE_OK && dev == RLAE_DEV_CUDA);
    char desc[400];
    rlae_device_describe(RLAE_DEV_CUDA, desc, sizeof desc);
    printf("%s\n", desc);
    CHECK(strncmp(desc, "cuda:0 ", 7) == 0);
    return test_summary("test_gpu_device");
}

#else

int main(void)
{
    printf("SKIP: this build has no CUDA backend\n");
    return 77;
}

#endif
