/* The counter hash behind rlae_op_fill_uniform (host/ops.h): value i of a fill with `seed` is
 * lo + (hi - lo) * u(seed, i), u in [0, 1) with 24 random bits. Header-only and usable from C and
 * CUDA, so the CPU and GPU backends fill bit-identical tensors (random-weight models for benchmarks
 * and tests are the same model on either device). Not the run RNG (core/rng.h): no statistical
 * claims beyond "well mixed" (splitmix64's finaliser). */
#ifndef RLAE_OPS_HASH_H
#define RLAE_OPS_HASH_H

#include <stdint.h>

#ifdef __CUDACC__
#define RLAE_HD __host__ __device__ __forceinline__
#else
#define RLAE_HD static inline
#endif

RLAE_HD float rlae_fill_hash_uniform(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)(z >> 40) * (1.0f / 16777216.0f);
}

#undef RLAE_HD

#endif
