/* Philox uniforms on the device, from the same inline block function as the CPU (core/rng.h), so a
 * kernel's random numbers equal the CPU reference bit for bit. One thread computes one Philox block
 * (4 outputs), matching the word order of rlae_rng. */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"

#include "core/rng.h"

__global__ static void rng_uniform_kernel(float *out, int64_t n, uint32_t k0, uint32_t k1, uint32_t episode,
                                          uint32_t span, uint32_t token)
{
    int64_t block = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    int64_t base = block * 4;
    if (base >= n)
        return;
    const uint32_t key[2] = {k0, k1};
    const uint32_t ctr[4] = {(uint32_t)block, token, span, episode};
    uint32_t w[4];
    rlae_philox4x32_10(ctr, key, w);
    for (int i = 0; i < 4 && base + i < n; i++)
        out[base + i] = rlae_u32_to_unit_float(w[i]);
}

extern "C" rlae_status rlae_cuda_rng_uniform(float *out, int64_t n, uint64_t seed, uint32_t episode, uint32_t span,
                                             uint32_t token, rlae_cuda_stream stream)
{
    if (n <= 0)
        return RLAE_OK;
    /* The block index is a 32-bit counter word, as on the CPU: 2^34 values per key at most. */
    if (n > ((int64_t)1 << 34))
        return rlae_fail(RLAE_ERR_RUNTIME, "rng_uniform: %lld values exceed one key's stream (2^34)", (long long)n);
    int64_t blocks = (n + 3) / 4;
    const int threads = 256;
    unsigned grid = (unsigned)((blocks + threads - 1) / threads);
    rng_uniform_kernel<<<grid, threads, 0, (cudaStream_t)stream>>>(out, n, (uint32_t)seed, (uint32_t)(seed >> 32),
                                                                   episode, span, token);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}
